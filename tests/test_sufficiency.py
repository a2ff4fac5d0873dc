"""Nothing to analyse: each case stops ``flexpersona run`` with exit code 2, no traceback, and a message that
names the cause and the flag or file that fixes it (issue 16).

Real LCL fragments for the group-label cases; small London Datastore files made in tmp_path for the others.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flexpersona.cli import main
from flexpersona.config import Config
from flexpersona.sufficiency import NothingToAnalyse, find_problems
from paths import LCL

needs_lcl = pytest.mark.skipif(not (LCL / "hh2013").is_dir(), reason="../shared/data/lcl is absent")
TARIFF = LCL / "tariffs" / "Tariffs.xlsx"
HOUSEHOLDS = LCL / "households" / "informations_households.csv"
STD_PIECE = LCL / "hh2013" / "block2sep.csv"  # Std households
TOU_PIECE = LCL / "hh2013" / "block137sep.csv"  # ToU households


def run_cli(*args: str | Path):
    result = CliRunner().invoke(main, ["run", *map(str, args), "--to", "features"])
    return result


def assert_stops(result, *needles: str) -> str:
    """Exit code 2, no traceback, the message holds every needle."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    msg = result.output
    assert msg.startswith("Error: nothing to analyse"), msg
    for n in needles:
        assert n in msg, f"{n!r} not in {msg!r}"
    return msg


def datastore_file(path: Path, households: dict[str, tuple[str, str, str]]) -> Path:
    """A London Datastore piece: ``{id: (stdorToU, first day, last day)}``, one value per half-hour."""
    rng = np.random.default_rng(1)
    parts = []
    for hid, (grp, start, end) in households.items():
        ts = pd.date_range(start, pd.Timestamp(end) + pd.Timedelta("23:30:00"), freq="30min")
        parts.append(pd.DataFrame({"LCLid": hid, "stdorToU": grp, "DateTime": ts.strftime("%Y-%m-%d %H:%M:%S.0000000"),
                                   "KWH/hh (per half hour) ": np.round(rng.uniform(0.05, 0.5, len(ts)), 3)}))
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(parts).to_csv(path, index=False)
    return path


def tariff_file(path: Path, high_days: list[str]) -> Path:
    """A London Datastore tariff (TariffDateTime, Tariff): High 17:00-19:30 on ``high_days``, else Normal."""
    rows = []
    for d in high_days:
        for t in pd.date_range(f"{d} 17:00", f"{d} 19:30", freq="30min"):
            rows.append((t.strftime("%Y-%m-%d %H:%M:%S"), "High"))
    pd.DataFrame(rows, columns=["TariffDateTime", "Tariff"]).to_csv(path, index=False)
    return path


@needs_lcl
def test_day48_without_households_names_the_households_file(tmp_path):
    msg = assert_stops(run_cli(STD_PIECE, TOU_PIECE, "--tariff", TARIFF, "--out", tmp_path / "r"),
                       "has a group label", "unknown_group", "--households", "informations_households.csv",
                       "LCLid, stdorToU")
    n = len(set(pd.read_csv(STD_PIECE, usecols=["LCLid"])["LCLid"]) | set(pd.read_csv(TOU_PIECE, usecols=["LCLid"])["LCLid"]))
    assert f"none of the {n:,} households" in msg
    assert "day × 48" in msg


@needs_lcl
def test_kaggle_halfhourly_without_households_names_the_households_file(tmp_path):
    files = sorted((LCL / "kaggle_halfhourly").glob("MAC*.csv"))[:4]
    assert_stops(run_cli(*files, "--tariff", TARIFF, "--out", tmp_path / "r"), "has a group label",
                 "Kaggle half-hourly", "--households informations_households.csv")


@needs_lcl
def test_no_control_in_the_data_names_households_and_no_control(tmp_path):
    # without a control group the feature stage runs the no-control counterfactual on its own (issue 17,
    # features.counterfactual = "auto"); a control group asked for explicitly stops with the fix
    cfg = tmp_path / "control.toml"
    cfg.write_text('[features]\ncounterfactual = "control_group"\n')
    msg = assert_stops(run_cli(TOU_PIECE, "--tariff", TARIFF, "--households", HOUSEHOLDS, "--out", tmp_path / "r",
                               "--config", cfg),
                       "no control (Std) household", "--households", "--no-control")
    assert "ledger excluded" not in msg


@needs_lcl
def test_no_treatment_in_the_data(tmp_path):
    assert_stops(run_cli(STD_PIECE, "--tariff", TARIFF, "--households", HOUSEHOLDS, "--out", tmp_path / "r"),
                 "no treatment (ToU) household", "stdorToU = ToU")


def test_controls_all_excluded_gives_the_ledgers_top_reasons(tmp_path):
    """Control households are in the data, but each has readings for January only (insufficient_trial)."""
    f = datastore_file(tmp_path / "in" / "LCL-June2015v2_0.csv", {
        "MAC1": ("ToU", "2013-01-01", "2013-12-31"), "MAC2": ("ToU", "2013-01-01", "2013-12-31"),
        "MAC3": ("Std", "2013-01-01", "2013-01-31"), "MAC4": ("Std", "2013-01-01", "2013-01-31"),
        "MAC5": ("Std", "2013-01-01", "2013-01-20"),
    })
    t = tariff_file(tmp_path / "Tariffs.csv", ["2013-01-15", "2013-06-10"])
    msg = assert_stops(run_cli(f, "--tariff", t, "--out", tmp_path / "r"),
                       "the ledger excluded all 3 control (Std) households", "insufficient_trial 3",
                       "ledger.parquet", "min_trial_coverage", "--config")
    assert "--no-control" not in msg  # control households exist: not the no-control case


def test_both_groups_excluded_for_the_same_reason_is_said_once(tmp_path):
    f = datastore_file(tmp_path / "in" / "LCL-June2015v2_0.csv", {
        "MAC1": ("ToU", "2012-11-01", "2013-12-31"), "MAC2": ("Std", "2012-11-01", "2013-12-31"),
        "MAC3": ("Std", "2012-12-01", "2013-12-31"),
    })
    t = tariff_file(tmp_path / "Tariffs.csv", ["2013-01-15", "2013-06-10"])
    msg = assert_stops(run_cli(f, "--tariff", t, "--out", tmp_path / "r"),
                       "the ledger excluded all 1 treatment (ToU) and all 2 control (Std) households",
                       "insufficient_baseline 3", "min_baseline_coverage")
    assert "(1)" not in msg


def test_no_tariff_events_inside_the_readings_period(tmp_path):
    f = datastore_file(tmp_path / "in" / "LCL-June2015v2_0.csv", {
        "MAC1": ("ToU", "2013-01-01", "2013-05-31"), "MAC2": ("Std", "2013-01-01", "2013-05-31"),
    })
    t = tariff_file(tmp_path / "Tariffs.csv", ["2013-10-01", "2013-11-05"])
    assert_stops(run_cli(f, "--tariff", t, "--out", tmp_path / "r"),
                 "no tariff event falls inside the readings' period", "2013-01-01 00:00 to 2013-05-31 23:30",
                 "from 2013-10-01 to 2013-11-05", "--tariff")


def test_readings_and_tariff_in_different_years(tmp_path):
    f = datastore_file(tmp_path / "in" / "LCL-June2015v2_0.csv", {
        "MAC1": ("ToU", "2012-01-01", "2012-12-31"), "MAC2": ("Std", "2012-01-01", "2012-12-31"),
    })
    t = tariff_file(tmp_path / "Tariffs.csv", ["2013-03-01", "2013-04-01"])
    msg = assert_stops(run_cli(f, "--tariff", t, "--out", tmp_path / "r"), "different years", "readings hold values in 2012",
                       "High/Low half-hours are in 2013", "--tariff", "trial_year")
    assert "ledger excluded" not in msg  # the year mismatch is the cause, not the exclusions it brings


def test_readings_and_tariff_of_another_trial_year_name_the_config(tmp_path):
    f = datastore_file(tmp_path / "in" / "LCL-June2015v2_0.csv", {
        "MAC1": ("ToU", "2014-01-01", "2014-06-30"), "MAC2": ("Std", "2014-01-01", "2014-06-30"),
    })
    t = tariff_file(tmp_path / "Tariffs.csv", ["2014-03-01", "2014-04-01"])
    assert_stops(run_cli(f, "--tariff", t, "--out", tmp_path / "r"), "meet in 2014", "trial year is 2013",
                 "--config", "[data] trial_year = 2014")


def test_no_tariff_names_the_flag(tmp_path):
    f = datastore_file(tmp_path / "in" / "LCL-June2015v2_0.csv", {
        "MAC1": ("ToU", "2013-01-01", "2013-12-31"), "MAC2": ("Std", "2013-01-01", "2013-12-31"),
    })
    assert_stops(run_cli(f, "--out", tmp_path / "r"), "no tariff schedule", "--tariff Tariffs.xlsx", "tariff_d.csv")


def test_find_problems_reports_every_problem_at_once_and_nothing_when_fine():
    ledger = pd.DataFrame({
        "household_id": ["a", "b"], "group": [None, None], "status": "excluded", "reason": "unknown_group",
        "source_layout": "day48", "first_reading": pd.Timestamp("2013-01-01"),
        "last_reading": pd.Timestamp("2013-12-31 23:30"), "readings_2013": [17_000, 17_000],
    })
    problems = find_problems(ledger, None, Config())
    assert [p.code for p in problems] == ["no_group_labels", "no_tariff"]
    err = NothingToAnalyse(problems)
    assert "(1) none of the 2 households" in str(err) and "(2) no tariff schedule" in str(err)
    ok = ledger.assign(group=["treatment", "control"], status="kept", reason=None)
    tariff = pd.DataFrame({"ts": pd.date_range("2013-01-01", "2013-12-31 23:30", freq="30min"), "band": "Normal"})
    tariff.loc[100:105, "band"] = "High"
    assert find_problems(ok, tariff, Config()) == []
    # a run without a control group (issue 17's --no-control) does not need control households
    only_t = ok.iloc[:1]
    assert [p.code for p in find_problems(only_t, tariff, Config())] == ["no_control"]
    assert find_problems(only_t, tariff, Config(), need_control=False) == []
