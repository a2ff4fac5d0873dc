"""The ``flexpersona simulate`` command."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from flexpersona.cli import main


def test_simulate_command_writes_layout_and_truth(tmp_path):
    out = tmp_path / "trial"
    args = ["simulate", str(out), "--treatment", "3", "--control", "2", "--seed", "4", "--layout", "day48",
            "--start", "2012-12-30", "--end", "2013-01-02", "--personas", "none"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    truth = pd.read_csv(out / "truth.csv")
    assert len(truth) == 5 and set(truth.loc[truth["group"] == "treatment", "persona"]) == {"none"}
    assert list(out.glob("block*sep.csv")) and (out / "Tariffs.csv").exists()
    again = CliRunner().invoke(main, ["simulate", str(tmp_path / "again"), *args[2:]])
    assert again.exit_code == 0
    assert (out / "block0sep.csv").read_bytes() == (tmp_path / "again" / "block0sep.csv").read_bytes()


def test_simulate_command_reports_bad_period(tmp_path):
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "x"), "--start", "2013-02-01", "--end", "2013-01-01"])
    assert result.exit_code == 2
    assert "before its start" in result.output
