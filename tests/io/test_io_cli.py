"""``flexpersona ingest`` and ``flexpersona quality`` from the command line."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from flexpersona.cli import main


def make_inputs(tmp_path):
    ts = pd.date_range("2013-01-01", periods=17520, freq="30min")
    lines = ["LCLid,stdorToU,DateTime,KWH/hh (per half hour) "]
    for hid, grp, n in (("MAC1", "ToU", 17520), ("MAC2", "Std", 17520), ("MAC3", "Std", 100)):
        lines += [f"{hid},{grp},{t:%Y-%m-%d %H:%M:%S}.0000000, 0.1 " for t in ts[:n]]
    f = tmp_path / "LCL-June2015v2_0.csv"
    f.write_text("\n".join(lines) + "\n")
    return f


def test_ingest_then_quality(tmp_path):
    f = make_inputs(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["ingest", str(f), "--store", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "datastore: 35,140 rows read = 35,140 kept + 0 rejected" in res.output
    assert "excluded: insufficient_trial 1" in res.output
    res = runner.invoke(main, ["ingest", str(f), "--store", str(tmp_path / "s")])
    assert "nothing re-read" in res.output
    res = runner.invoke(main, ["quality", str(tmp_path / "s")])
    assert res.exit_code == 0
    assert "insufficient_trial" in res.output and "treatment" in res.output


def test_ingest_error_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a;b;c\n1;2;3\n")
    res = CliRunner().invoke(main, ["ingest", str(bad), "--store", str(tmp_path / "s")])
    assert res.exit_code == 2
    assert "x.csv, line 1" in res.output and "Traceback" not in res.output


def test_quality_without_ledger(tmp_path):
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(main, ["quality", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "ingest it first" in res.output


def bad_rows_file(tmp_path):
    f = tmp_path / "LCL-June2015v2_0.csv"
    f.write_text("LCLid,stdorToU,DateTime,KWH/hh (per half hour) \n"
                 "MAC1,Std,2013-01-01 00:00:00.0000000, 0.1 \n\n"
                 "MAC1,Std,2013-01-01 00:30:00.0000000\n"
                 "MAC1,Std,2013-01-01 01:00:00.0000000, 0.2 \n")
    return f


def test_bad_rows_are_counted_and_strict_stops_at_the_first(tmp_path):
    f = bad_rows_file(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["ingest", str(f), "--store", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "datastore: 4 rows read = 2 kept + 2 rejected (blank_line 1, missing_field 1)" in res.output
    assert "issues.parquet" in res.output
    for store in ("s", "t"):  # an unchanged store is checked from its issues; a new one while reading
        res = runner.invoke(main, ["ingest", str(f), "--store", str(tmp_path / store), "--strict"])
        assert res.exit_code == 2
        assert f"{f}, line 3: a blank line" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "t" / "ledger.parquet").exists()


def test_run_strict_stops_before_any_stage_output(tmp_path):
    f = bad_rows_file(tmp_path)
    res = CliRunner().invoke(main, ["run", str(f), "--out", str(tmp_path / "run"), "--strict"])
    assert res.exit_code == 2
    assert f"{f}, line 3" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "run" / "ledger.parquet").exists()


def test_run_strict_rechecks_an_ingest_it_would_reuse(tmp_path):
    """A lenient run, then the same run with --strict: the ingest stage is not silently re-used."""
    f = bad_rows_file(tmp_path)
    runner = CliRunner()
    args = ["run", str(f), "--out", str(tmp_path / "run"), "--to", "ingest"]
    assert runner.invoke(main, args).exit_code == 0
    res = runner.invoke(main, [*args, "--strict"])
    assert res.exit_code == 2 and f"{f}, line 3" in res.output
    assert runner.invoke(main, args).output.startswith("ran: -; re-used: ingest")
