"""Reference days, the spillover category and the no-control pieces (issue 17), unit level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.errors import ConfigError
from flexpersona.features import compute_features
from flexpersona.features.calendar import build_calendar
from flexpersona.features.counterfactual import alternative_reference, compare_references, spillover
from flexpersona.features.nocontrol import cost_statement, temperature_deviation

from .conftest import make_trial


def _tariff(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.to_datetime([r[0] for r in rows]), "band": [r[1] for r in rows], "price": 0.1})


TARIFF = _tariff([("2013-01-09 17:00", "High"), ("2013-01-09 17:30", "High"), ("2013-01-16 02:00", "Low")])


def _cal(**features):
    cfg = Config().replace(features=features)
    return build_calendar(TARIFF, cfg, reference="within_trial", lifestyle_source="daily")


def _day(s: str) -> int:
    return (pd.Timestamp(s) - pd.Timestamp("1970-01-01")).days


def test_event_days_are_spill_and_out_of_the_event_free_reference():
    ef, al = _cal(reference_days="event_free"), _cal(reference_days="all")
    for cal in (ef, al):
        t = cal.table.set_index("ts")
        assert t.loc[pd.Timestamp("2013-01-09 12:00"), "cat"] == "spill"  # High event day, before the event
        assert t.loc[pd.Timestamp("2013-01-16 12:00"), "cat"] == "spill"  # Low event day
        assert t.loc[pd.Timestamp("2013-01-10 12:00"), "cat"] == "normal"
        assert cal.info["event_days"] == 2
    e, a = ef.table.set_index("ts")["ref"], al.table.set_index("ts")["ref"]
    assert e.loc[pd.Timestamp("2013-01-09 12:00")] == 0 and a.loc[pd.Timestamp("2013-01-09 12:00")] == 1
    assert e.loc[pd.Timestamp("2013-01-10 12:00")] == 1 and a.loc[pd.Timestamp("2013-01-10 12:00")] == 1
    # the event-free reference is the all-days reference minus the two event days' Normal half-hours
    n_spill = int((al.table["cat"] == "spill").sum())
    assert n_spill == 2 * 48 - 2 - 6 - 1  # two days, minus 2 High, 6 rebound, 1 Low half-hours
    assert int(al.table["ref"].sum()) - int(ef.table["ref"].sum()) == n_spill
    assert ef.info["reference_day_count"] == 363 and al.info["reference_day_count"] == 365
    assert ef.info["reference_event_day_share"] == 0.0
    assert al.info["reference_event_day_share"] == pytest.approx(n_spill / int(al.table["ref"].sum()))


def test_margin_days_leave_the_neighbours_out():
    cal = _cal(reference_days="event_free", reference_margin_days=2)
    ref_days = set(cal.table.loc[cal.table["ref"] == 1, "day"])
    for d in ("2013-01-07", "2013-01-08", "2013-01-09", "2013-01-10", "2013-01-11", "2013-01-14", "2013-01-18"):
        assert _day(d) not in ref_days, d
    assert _day("2013-01-06") in ref_days and _day("2013-01-12") in ref_days and _day("2013-01-19") in ref_days
    assert cal.info["reference_day_count"] == 365 - 10  # 9..11 Jan around the first event day, 14..18 around the second
    assert cal.info["reference_margin_days"] == 2


@pytest.mark.parametrize(
    ("features", "match"),
    [({"reference_days": "weekdays"}, "reference_days"), ({"reference_margin_days": -1}, "reference_margin_days"),
     ({"counterfactual": "synthetic"}, "counterfactual"), ({"no_control_placebo_days": 0}, "no_control_placebo_days")],
)
def test_bad_options_are_clear_errors(features, match, small_trial):
    with pytest.raises(ConfigError, match=match):
        compute_features(small_trial.store, Config().replace(features=features))


def test_alternative_and_comparison_labels():
    assert alternative_reference("within_trial", "event_free") == ("within_trial", "all")
    assert alternative_reference("within_trial", "all") == ("within_trial", "event_free")
    assert alternative_reference("baseline", "event_free") == ("within_trial", "event_free")
    a = {"treatment": {"high": {"pct": -5.0, "ci_low": -6, "ci_high": -4, "n_households": 3},
                       "spill": {"pct": -2.0, "ci_low": -3.0, "ci_high": -1.0, "n_households": 3}}}
    b = {"treatment": {"high": {"pct": -3.5, "ci_low": -5, "ci_high": -2, "n_households": 3}}}
    c = compare_references(("within_trial_event_free", a), ("within_trial_all", b), treatment="treatment")
    assert c["used"] == "within_trial_event_free" and c["compared"] == "within_trial_all"
    assert c["high_difference_pct"] == pytest.approx(-1.5)
    s = spillover(("within_trial_event_free", a), treatment="treatment", control="control", has_events=True)
    assert s["pct"] == -2.0 and s["significant"] is True
    assert spillover(None, treatment="treatment", control="control", has_events=True)["pct"] is None


def test_temperature_deviation_is_relative_to_the_cells_reference_days():
    cal = _cal(reference_days="event_free").table
    days = pd.date_range("2013-01-01", "2013-12-31", freq="D")
    temp = np.where(days == pd.Timestamp("2013-01-09"), 0.0, 5.0)  # the event day is cold
    temp = np.where(days.month == 2, 8.0, temp)
    w = pd.DataFrame({"ts": days.repeat(24) + pd.to_timedelta(np.tile(np.arange(24), len(days)), unit="h"),
                      "temperature_c": np.repeat(temp, 24)})
    tdev = temperature_deviation(cal, w).set_index("ts")["tdev"]
    assert len(tdev) == 17520
    assert tdev.loc[pd.Timestamp("2013-01-09 17:00")] == pytest.approx(-5.0)
    assert tdev.loc[pd.Timestamp("2013-01-10 17:00")] == pytest.approx(0.0)
    assert tdev.loc[pd.Timestamp("2013-02-10 17:00")] == pytest.approx(0.0)  # a month's own reference mean
    # a day without weather has no row (ΔT = 0 in the SQL)
    assert pd.Timestamp("2013-03-01 00:00") in tdev.index
    short = temperature_deviation(cal, w[w["ts"] < "2013-03-01"])
    assert short["ts"].max() < pd.Timestamp("2013-03-01")


def test_cost_statement_names_what_is_lost():
    s = cost_statement(temperature=False, placebo_days=40)
    assert "No control group" in s and "not differenced out" in s and "40 event-free days" in s
    assert "temperature" not in s
    assert "plus temperature" in cost_statement(temperature=True, placebo_days=40)


@pytest.fixture(scope="module")
def nc_trial(tmp_path_factory):
    tr = make_trial(tmp_path_factory.mktemp("nc") / "store", n_treatment=16, n_control=0, seed=3, baseline=False)
    return tr


def test_no_control_households_switch_the_counterfactual_on(nc_trial):
    res = compute_features(nc_trial.store, Config().replace(features={"bootstrap_replicates": 30}))
    info = res.info
    cfi = info["counterfactual"]
    assert cfi["method"] == "no_control" and cfi["requested"] == "auto"
    assert cfi["reason"] == "the input holds no control households" and cfi["input_control_households"] == 0
    assert "No control group" in cfi["statement"] and cfi["weather"]["temperature"] is False
    assert info["reference"] == "within_trial" and info["time_placebo_days"] == 40
    assert info["placebo"]["null_source"] == "pseudo_events" and info["placebo"]["n_null"] == 16
    p = res.placebo
    assert len(p) == 16 and set(p["household_id"]) == set(res.features["household_id"])
    assert (p["null_source"] == "pseudo_events").all() and p["high_response_pct"].notna().all()
    assert "control" not in info["cohort_response"]
    assert len(res.features) == 16 and res.features["high_response_pct"].notna().all()
    # planted effects come through (mean -8 %, sd 12.5 pp over 16 households; noise a few pp)
    f = res.features.merge(nc_trial.truth, on="household_id")
    assert np.corrcoef(f["high_response_pct"], f["high_effect_pct"])[0, 1] > 0.8


def test_no_control_refuses_the_baseline_reference(nc_trial):
    cfg = Config().replace(features={"reference": "baseline", "bootstrap_replicates": 30})
    with pytest.raises(ConfigError, match="needs a control group"):
        compute_features(nc_trial.store, cfg)


def test_significant_spillover_under_the_all_days_reference_gives_advice():
    a = {"treatment": {"spill": {"pct": -4.0, "ci_low": -5.5, "ci_high": -2.5, "n_households": 3}}}
    s = spillover(("within_trial_event_free", a), treatment="treatment", control="control", has_events=True,
                  used="within_trial_all", all_days_share=0.3)
    assert s["bias_pct"] == pytest.approx(1.2)
    assert "understates the High reduction by about 1.2 pp" in s["advice"] and "event_free" in s["advice"]
    s2 = spillover(("within_trial_event_free", a), treatment="treatment", control="control", has_events=True,
                   used="within_trial_event_free", all_days_share=0.3)
    assert "advice" not in s2


def test_features_command_no_control_flag_on_data_with_controls(small_trial, tmp_path):
    import json

    from click.testing import CliRunner

    from flexpersona.cli import main

    out = tmp_path / "f"
    r = CliRunner().invoke(main, ["features", str(small_trial.store.path), "--out", str(out), "--replicates", "30",
                                  "--no-control", "--reference-days", "event_free"])
    assert r.exit_code == 0, r.output
    assert "no control group (set by features.counterfactual (--no-control))" in r.output
    assert "cohort High response by reference: within_trial_event_free" in r.output
    assert "event-day spillover" in r.output
    man = json.loads((out / "manifest.json").read_text())  # the run folder's manifest schema (issue 13)
    mode = man["stages"]["features"]["counts"]["info"]["counterfactual"]
    assert mode["method"] == "no_control" and mode["input_control_households"] == 30
    # the control households, run through the same no-control model: the bias a missing control group brings
    assert mode["control_households_high_pct"]["n_households"] == 30
    assert man["config"]["features"]["reference_days"] == "event_free"
    placebo = pd.read_parquet(out / "placebo.parquet")
    assert (placebo["null_source"] == "pseudo_events").all() and len(placebo) == 20
