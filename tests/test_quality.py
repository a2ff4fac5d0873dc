"""The quality ledger: status and reasons from planted per-household counts."""

from __future__ import annotations

import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.quality import build_ledger, half_hours_in_year, input_households, kept_households, summarize_ledger


def stats(rows):
    base = {"source_layout": "datastore", "n_duplicates": 0, "n_conflicting": 0, "n_negative": 0,
            "n_above_cap": 0, "n_unparseable_timestamp": 0, "n_unparseable_value": 0, "n_off_grid": 0}
    out = []
    for hid, vb, vt in rows:
        first = pd.Timestamp("2012-01-01") if vb else pd.Timestamp("2013-01-01")
        n = vb + vt
        out.append({**base, "household_id": hid, "first_reading": first,
                    "last_reading": first + pd.Timedelta(minutes=30 * (max(n, 1) - 1)),
                    "n_readings": n, "n_values": n, "values_baseline": vb, "values_trial": vt,
                    "readings_2012": vb, "readings_2013": vt})
    return pd.DataFrame(out)


HH = pd.DataFrame({"household_id": ["a", "b", "c", "d", "e", "f"],
                   "group": ["treatment", "control", "treatment", None, "control", "control"],
                   "acorn": [None] * 6, "acorn_grouped": [None] * 6})


def test_status_and_reasons_in_order():
    cfg = Config()
    full_b, full_t = half_hours_in_year(2012), half_hours_in_year(2013)
    s = stats([("a", full_b, full_t), ("b", 100, full_t), ("c", full_b, 100), ("d", full_b, full_t),
               ("e", full_b, full_t), ("f", 0, 0)])
    led = build_ledger(s, HH, cfg, in_both_groups={"e"}).set_index("household_id")
    assert full_b == 17568 and full_t == 17520
    assert led["reason"].to_dict() == {"a": None, "b": "insufficient_baseline", "c": "insufficient_trial",
                                       "d": "unknown_group", "e": "in_both_groups", "f": "no_readings"}
    assert led.loc["a", "status"] == "kept" and (led.drop("a")["status"] == "excluded").all()
    assert led.loc["a", "coverage_baseline"] == pytest.approx(1.0)
    assert list(kept_households(led.reset_index())["household_id"]) == ["a"]


def test_no_halfhourly_baseline_anywhere_excludes_nobody_for_it():
    s = stats([("a", 0, half_hours_in_year(2013)), ("b", 0, 9000)])
    led = build_ledger(s, HH, Config())
    assert led["status"].tolist() == ["kept", "kept"]
    assert not led["has_halfhourly_baseline"].any()


def test_thresholds_come_from_config():
    s = stats([("a", 0, 9000)])
    assert build_ledger(s, HH, Config())["status"].item() == "kept"
    strict = Config().replace(data={"min_trial_coverage": 0.6})
    assert build_ledger(s, HH, strict)["reason"].item() == "insufficient_trial"


def test_missing_share_counts_gaps_between_first_and_last():
    s = stats([("a", 0, 10)])
    s.loc[0, "last_reading"] = s.loc[0, "first_reading"] + pd.Timedelta(minutes=30 * 19)  # 20 slots, 10 values
    led = build_ledger(s, HH, Config())
    assert (led.loc[0, "n_missing"], led.loc[0, "missing_share"]) == (10, 0.5)


def test_summary_counts_households_and_values():
    s = stats([("a", 0, 17520), ("b", 0, 17520), ("d", 0, 5)])
    summ = summarize_ledger(build_ledger(s, HH, Config()))
    rows = {(r.group, r.status, r.reason): (r.households, r.values) for r in summ.itertuples()}
    assert rows == {("treatment", "kept", "-"): (1, 17520), ("control", "kept", "-"): (1, 17520),
                    ("-", "excluded", "unknown_group"): (1, 5)}


def test_input_households_are_those_of_the_readings():
    """A households file may list the whole trial (5,566 LCL households): the ingest and the in-memory features
    keep the rows of the ledger's households only, so that both count the same control group (issue 13)."""
    led = build_ledger(stats([("a", 10, 10), ("b", 10, 10), ("f", 0, 0)]), HH, Config())
    kept = input_households(HH, led)
    assert list(kept["household_id"]) == ["a", "b", "f"] and list(kept.index) == [0, 1, 2]
    assert (kept["group"] == "control").sum() == 2
