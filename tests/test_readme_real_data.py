"""The README's "Real data" commands, run as written on files laid out as each public release names them.

- London Datastore: ``Small LCL Data/LCL-June2015v2_0.csv`` (and ``_1``) in the release's long form
  (``LCLid, stdorToU, DateTime, KWH/hh (per half hour)``, ``.0000000`` fractions, padded values), written at test
  time from the real Kaggle half-hourly fragments and the real households file (the shared London Datastore
  fragment lacks the ``stdorToU`` column the release has), plus the real ``Tariffs.xlsx``.
- Kaggle: ``halfhourly_dataset/block_N.csv`` symlinked to the real fragments, ``informations_households.csv``
  and ``Tariffs.xlsx`` symlinked.
- UK Data Service SN 7857: not among the shared fragments; the simulator writes that layout.

Each command is taken from README.md (``$DATA`` set to the laid-out folder, run from tmp_path) and must finish
with a report and the terminal summary.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from flexpersona.cli import main

ROOT = Path(__file__).resolve().parents[1]
from paths import LCL  # noqa: E402

pytestmark = [pytest.mark.skipif(not (LCL / "kaggle_halfhourly").is_dir(), reason="../shared/data/lcl is absent"),
              pytest.mark.slow]


def readme_commands() -> dict[str, str]:
    """``{release: command}`` from the sh blocks of README.md's "Real data" section (continuations joined)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Real data", 1)[1].split("\n## ", 1)[0]
    out = {}
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        lines = block.replace("\\\n", " ").splitlines()
        release = lines[0].lstrip("# ").split(":")[0]
        cmds = [ln for ln in lines[1:] if ln.startswith(".venv/bin/flexpersona run")]
        assert len(cmds) == 1, block
        out[release] = cmds[0]
    return out


def run_readme_command(command: str, data: Path, cwd: Path, monkeypatch) -> tuple[str, Path]:
    """Run one README command through the CLI with ``$DATA`` = ``data``; (output, run folder)."""
    args = shlex.split(command.replace("$DATA", str(data)))
    assert args[:2] == [".venv/bin/flexpersona", "run"]
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == 0, result.output
    out = cwd / args[args.index("--out") + 1]
    return result.output, out


def check_finished(output: str, run: Path) -> pd.DataFrame:
    assert (run / "report.html").exists()
    ledger = pd.read_parquet(run / "ledger.parquet")
    kept = ledger[ledger["status"] == "kept"]
    assert set(kept["group"]) == {"treatment", "control"}
    assert f"households: {len(kept):,} kept" in output
    assert "cohort High response:" in output and f"report: {(run / 'report.html').resolve()}" in output
    return ledger


def test_readme_names_a_command_per_release():
    assert set(readme_commands()) == {"London Datastore", "Kaggle", "UK Data Service SN 7857"}


def fragments(n_per_group: int) -> tuple[list[Path], pd.DataFrame]:
    hh = pd.read_csv(LCL / "households" / "informations_households.csv")
    files = sorted((LCL / "kaggle_halfhourly").glob("MAC*.csv"))
    groups = hh.set_index("LCLid")["stdorToU"]
    pick = [f for g in ("Std", "ToU") for f in [f for f in files if groups.get(f.stem) == g][:n_per_group]]
    return pick, hh


def test_london_datastore_command(tmp_path, monkeypatch):
    data = tmp_path / "lcl-datastore"
    pieces = data / "Small LCL Data"
    pieces.mkdir(parents=True)
    files, hh = fragments(12)
    groups = hh.set_index("LCLid")["stdorToU"]
    frames = []
    for f in files:
        d = pd.read_csv(f, dtype=str)
        frames.append(pd.DataFrame({
            "LCLid": d["LCLid"], "stdorToU": d["LCLid"].map(groups),
            "DateTime": d["tstp"].str.strip() + ".0000000",
            "KWH/hh (per half hour) ": " " + d["energy(kWh/hh)"].str.strip().replace({"": "Null"}).fillna("Null") + " ",
        }))
    for i, part in enumerate((frames[: len(frames) // 2], frames[len(frames) // 2 :])):
        pd.concat(part).to_csv(pieces / f"LCL-June2015v2_{i}.csv", index=False)
    (data / "Tariffs.xlsx").symlink_to(LCL / "tariffs" / "Tariffs.xlsx")
    output, run = run_readme_command(readme_commands()["London Datastore"], data, tmp_path, monkeypatch)
    ledger = check_finished(output, run)
    assert set(ledger["household_id"]) == {f.stem for f in files}
    assert set(ledger["source_layout"]) == {"datastore"}


def test_kaggle_command(tmp_path, monkeypatch):
    data = tmp_path / "smart-meters-in-london"
    half = data / "halfhourly_dataset"
    half.mkdir(parents=True)
    files, _ = fragments(12)
    for i, f in enumerate(files):
        (half / f"block_{i}.csv").symlink_to(f)
    (data / "informations_households.csv").symlink_to(LCL / "households" / "informations_households.csv")
    (data / "Tariffs.xlsx").symlink_to(LCL / "tariffs" / "Tariffs.xlsx")
    output, run = run_readme_command(readme_commands()["Kaggle"], data, tmp_path, monkeypatch)
    ledger = check_finished(output, run)
    assert set(ledger["household_id"]) == {f.stem for f in files}
    assert set(ledger["source_layout"]) == {"kaggle_halfhourly"}


def test_uk_data_service_command(tmp_path, monkeypatch):
    from flexpersona.simulate import simulate_trial, write_trial

    data = tmp_path / "UKDA-7857"
    trial = simulate_trial(14, 14, seed=3, start="2012-07-01", end="2013-12-31", survey=True)
    write_trial(trial, data, "ukds")
    for name in ("consumption_d.csv", "consumption_n.csv", "tariff_d.csv", "survey_answers.csv"):
        assert (data / name).is_file(), name
    output, run = run_readme_command(readme_commands()["UK Data Service SN 7857"], data, tmp_path, monkeypatch)
    check_finished(output, run)
    assert (run / "store" / "survey.parquet").exists()
