"""Unit tests of the calendar, bootstrap weights, placebo calibration and bill decomposition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexpersona.config import Config
from flexpersona.errors import ConfigError
from flexpersona.features.bills import bill_decomposition
from flexpersona.features.calendar import build_calendar, tod_of_slot
from flexpersona.features.placebo import bh_qvalues, calibrate, empirical_p
from flexpersona.features.response import block_weights


def _tariff(rows: list[tuple[str, str]]) -> pd.DataFrame:
    ts = pd.to_datetime([r[0] for r in rows])
    return pd.DataFrame({"ts": ts, "band": [r[1] for r in rows], "price": 0.1})


def test_calendar_events_rebound_and_categories():
    tariff = _tariff(
        [("2013-01-02 17:00", "High"), ("2013-01-02 17:30", "High"), ("2013-01-02 18:00", "High"),
         ("2013-01-03 01:00", "Low"), ("2013-01-03 01:30", "Low"), ("2013-01-05 07:00", "High")]
    )  # fmt: skip
    cfg = Config().replace(features={"reference_days": "all"})
    cal = build_calendar(tariff, cfg, reference="within_trial", lifestyle_source="halfhourly")
    t = cal.table
    assert len(t) == 17568 + 17520  # 2012 is a leap year
    ev = cal.events
    assert ev["band"].tolist() == ["High", "Low", "High"]
    assert ev["n_halfhours"].tolist() == [3, 2, 1]
    assert ev["end"].iat[0] == pd.Timestamp("2013-01-02 18:30")
    row = t.set_index("ts")
    # 17:00 starts inside the default system-peak window 16:00-20:00, 07:00 outside it
    assert row.loc[pd.Timestamp("2013-01-02 17:00"), "cat"] == "high_evening_pk"
    assert row.loc[pd.Timestamp("2013-01-05 07:00"), "cat"] == "high_morning"
    assert cal.info["high_halfhours_in_system_peak"] == 3
    late = build_calendar(tariff, Config().replace(features={"system_peak_hours": (18.0, 20.0)}),
                          reference="within_trial", lifestyle_source="halfhourly").table.set_index("ts")
    assert late.loc[pd.Timestamp("2013-01-02 17:30"), "cat"] == "high_evening"
    assert late.loc[pd.Timestamp("2013-01-02 18:00"), "cat"] == "high_evening_pk"
    assert row.loc[pd.Timestamp("2013-01-05 07:00"), "wkend"] == 1  # a Saturday
    # rebound: the 6 Normal half-hours after the first High run, not counted in the reference
    reb = row.loc["2013-01-02 18:30":"2013-01-02 21:00", "cat"]
    # (a Normal half-hour of an event day is "spill"; reference_days = all counts it in the reference)
    assert (reb == "rebound").all() and row.loc[pd.Timestamp("2013-01-02 21:30"), "cat"] == "spill"
    assert row.loc[pd.Timestamp("2013-01-02 18:30"), "ref"] == 0
    assert row.loc[pd.Timestamp("2013-01-02 21:30"), "ref"] == 1
    assert row.loc[pd.Timestamp("2013-01-04 21:30"), ["cat", "ref"]].tolist() == ["normal", 1]
    assert t.loc[t["is_base"] == 1, "ref"].sum() == 0
    assert cal.info["tariff_halfhours_missing_as_normal"] == 17520 - 6
    assert row.loc[pd.Timestamp("2012-06-01 08:00"), "peak"] == 1
    assert row.loc[pd.Timestamp("2012-06-01 09:00"), "peak"] == 0


def test_calendar_bank_holidays_and_bad_options():
    tariff = _tariff([("2013-01-02 17:00", "High")])
    cfg = Config().replace(data={"bank_holidays_as_weekend": True})
    t = build_calendar(tariff, cfg, reference="baseline", lifestyle_source="halfhourly").table.set_index("ts")
    assert t.loc[pd.Timestamp("2013-01-01 12:00"), "wkend"] == 1  # New Year's Day
    assert t.loc[pd.Timestamp("2013-01-02 12:00"), "wkend"] == 0
    with pytest.raises(ConfigError, match="reference_period"):
        build_calendar(tariff, Config().replace(features={"reference_period": "week"}), reference="baseline",
                       lifestyle_source="halfhourly")  # fmt: skip


def test_time_placebo_days_avoid_events():
    tariff = _tariff([("2013-01-02 17:00", "High"), ("2013-01-02 17:30", "High")])
    cfg = Config().replace(features={"time_placebo_days": 30})
    t = build_calendar(tariff, cfg, reference="within_trial", lifestyle_source="halfhourly").table
    ps = t[t["cat"] == "pseudo"]
    assert ps["day"].nunique() == 30
    assert (ps["slot"].isin([34, 35])).all()  # the High run's window
    assert (ps["ref"] == 0).all()
    assert pd.Timestamp("2013-01-02").toordinal() - pd.Timestamp("1970-01-01").toordinal() not in set(ps["day"])


def test_tod_boundaries():
    assert tod_of_slot(np.array([0, 11, 12, 23, 24, 33, 34, 47])).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_block_weights_shape_and_blocks():
    w = block_weights(20, 7, 50, np.random.default_rng(0))
    assert w.shape == (50, 20)
    assert (w[:, :7] == w[:, [0]]).all()  # one weight per block
    assert (w[:, 14:] == w[:, [14]]).all()
    assert np.allclose(w[:, [0, 7, 14]].sum(axis=1), 3)  # 3 blocks drawn


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
@settings(max_examples=50, deadline=None)
def test_bh_qvalues_properties(p):
    p = np.array(p)
    q = bh_qvalues(p)
    assert (q >= p - 1e-12).all() and (q <= 1).all()
    order = np.argsort(p)
    assert (np.diff(q[order]) >= -1e-12).all()


def test_bh_known_values():
    q = bh_qvalues(np.array([0.01, 0.04, 0.03, 0.5, np.nan]))
    # sorted p 0.01, 0.03, 0.04, 0.5 -> 0.04, 0.06, 0.0533, 0.5 -> running minimum from the top
    np.testing.assert_allclose(q[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert np.isnan(q[4])


def test_empirical_p_and_calibration():
    null = np.array([-2.0, -1.0, 0.5, 1.5, 3.0])
    np.testing.assert_allclose(empirical_p(np.array([0.0, 2.5, -10.0]), null), [6 / 6, 2 / 6, 1 / 6])
    rng = np.random.default_rng(1)
    ctl = pd.DataFrame({"household_id": [f"N{i}" for i in range(400)], "high_pct": rng.normal(0, 3, 400),
                        "high_se": 3.0})  # fmt: skip
    trt = pd.DataFrame({"household_id": ["D0", "D1", "D2"], "high_pct": [-30.0, 30.0, -1.0], "high_se": 3.0})
    labels, plac, info = calibrate(trt, ctl, alpha=0.05)
    assert labels["responder"].tolist() == [True, False, False]  # a large increase is not a responder
    assert info["false_responder_rate"] <= 0.01 and len(plac) == 400


def test_bills_decompose_the_saving():
    per = pd.DataFrame(
        {"household_id": ["a"], "high_kwh": [-1.0], "high_yhat_kwh": [10.0], "low_kwh": [2.0], "low_yhat_kwh": [20.0],
         "normal_kwh": [0.0], "normal_yhat_kwh": [70.0], "rebound_kwh": [np.nan], "rebound_yhat_kwh": [np.nan],
         "pseudo_kwh": [np.nan], "pseudo_yhat_kwh": [np.nan]}
    )  # fmt: skip
    cfg = Config()
    b = bill_decomposition(per, cfg).iloc[0]
    d = cfg.data
    flat_yh = 100 * d.flat_price
    dyn_yh = 10 * d.high_price + 20 * d.low_price + 70 * d.normal_price
    dyn_y = 9 * d.high_price + 22 * d.low_price + 70 * d.normal_price
    assert b["bill_dynamic_gbp"] == pytest.approx(dyn_y)
    assert b["bill_flat_gbp"] == pytest.approx(101 * d.flat_price)
    assert b["bill_saving_structural_pct"] == pytest.approx(100 * (flat_yh - dyn_yh) / flat_yh)
    assert b["bill_saving_behavioural_pct"] == pytest.approx(100 * (dyn_yh - dyn_y) / flat_yh)


def test_same_day_adjustment_scales_non_normal_categories():
    from dataclasses import replace

    from flexpersona.features.calendar import CATEGORIES, INTERVAL_CATS
    from flexpersona.features.response import DayArrays, day_adjustment

    H, D = 2, 3
    ones = np.ones((H, D))
    y = {c: ones.copy() for c in CATEGORIES}
    yhat = {c: ones.copy() for c in CATEGORIES}
    n = {c: ones.copy() * 4 for c in CATEGORIES}
    y["normal"] = np.array([[2.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    n["normal"][0, 2] = 0  # no Normal half-hour that day -> factor 1
    # a day's Normal half-hours are "normal" (event-free day) or "spill" (event day), never both: here "normal"
    y["spill"], yhat["spill"], n["spill"] = (np.zeros((H, D)) for _ in range(3))
    arr = DayArrays(households=np.array(["a", "b"]), groups=np.array(["treatment", "control"]),
                    wkend=np.zeros(D, bool), period=np.ones(D, int), day=np.arange(D), y=y, yhat=yhat, n=n,
                    ref_wkend=np.zeros(D, bool), ref_period=np.ones(D, int),
                    e={c: np.zeros((H, D)) for c in INTERVAL_CATS}, ref_in_trial=None)  # fmt: skip
    adj, a = day_adjustment(arr, shrink=0.0)
    np.testing.assert_allclose(a, [[2.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(adj.yhat["high_evening"], a)
    np.testing.assert_allclose(adj.yhat["normal"], yhat["normal"])
    # on an event day the Normal half-hours are "spill": the factor comes from them the same way
    swap = {"normal": "spill", "spill": "normal"}
    ev = replace(arr, **{k: {swap.get(c, c): v for c, v in d.items()} for k, d in (("y", y), ("yhat", yhat), ("n", n))})
    adj2, a2 = day_adjustment(ev, shrink=0.0)
    np.testing.assert_allclose(a2, a)
    np.testing.assert_allclose(adj2.yhat["spill"], ones)
    _, a5 = day_adjustment(arr, shrink=4.0)  # 4 pseudo half-hours at the day's mean ŷ (0.25 each)
    assert a5[0, 0] == pytest.approx((2.0 + 1.0) / (1.0 + 1.0))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 6), st.sampled_from(["low", "normal", "high_night"]),
                          st.floats(-5, 5) | st.just(float("nan")), st.integers(1, 48)), max_size=60))
def test_day_arrays_sum_rows_per_household_day_and_category(rows):
    """``day_arrays`` places every row of a known household on a trial day in its category's household x day
    cell (NaN counts as 0) and skips the others, summing in the order of the table (as ``np.add.at``)."""
    from flexpersona.features.calendar import CATEGORIES
    from flexpersona.features.response import day_arrays

    hh = pd.DataFrame({"household_id": ["a", "b", "c"], "grp": ["treatment", "control", "control"]})
    cal = pd.DataFrame({"day": [1, 2, 4, 5], "is_trial": [1, 1, 1, 0], "ref": [0, 0, 0, 1], "wkend": 0, "period": 1})
    codes = {c: i for i, c in enumerate(CATEGORIES)}
    agg = pd.DataFrame(rows, columns=["hid", "day", "cat", "sy", "n"]).astype({"hid": "int32", "day": "int32"})
    agg = agg.assign(cat=agg["cat"].map(codes).astype("int16"), syh=agg["sy"] * 2, lvl=np.int16(1))
    ref = pd.DataFrame({"hid": np.array([0, 2, 9], dtype="int32"), "day": np.array([5, 5, 5], dtype="int32"),
                        **{f"e_{c}": [1.0, 2.0, 3.0] for c in CATEGORIES[:-1]}})
    arr = day_arrays(agg, ref, hh, cal, within_trial=False)
    tdays = [1, 2, 4]
    for c in ("low", "normal", "high_night"):
        want = np.zeros((3, 3))
        n = np.zeros((3, 3))
        for h, d, cat, sy, k in rows:
            if cat == c and 0 <= h < 3 and d in tdays:
                np.add.at(want, (h, tdays.index(d)), 0.0 if np.isnan(sy) else sy)
                n[h, tdays.index(d)] += k
        np.testing.assert_array_equal(arr.y[c], want)
        np.testing.assert_array_equal(arr.yhat[c], np.where(np.isnan(want), 0, want) * 2)
        np.testing.assert_array_equal(arr.n[c], n)
    np.testing.assert_array_equal(arr.e["low"], [[1.0], [0.0], [2.0]])  # hid 9 is no household: skipped


def test_cell_levels_count_trial_half_hours_per_group_and_level():
    from flexpersona.features.stage import _cell_levels

    hh = pd.DataFrame({"household_id": ["a", "b", "c"], "grp": ["treatment", "control", "control"]})
    agg = pd.DataFrame({"hid": [0, 1, 2, 2, 0], "lvl": np.array([1, 1, 3, 1, 2], dtype="int16"), "n": [5, 7, 2, 1, 4]})
    cov = pd.DataFrame({"grp": ["treatment", "control", "control"], "n_trial": [12, 7, 4]})
    out = _cell_levels(agg, hh, cov)
    assert out == {"control_period": 8, "control_all_months": 2, "treatment_period": 5, "treatment_season": 4,
                   "control_no_reference": 1, "treatment_no_reference": 3}
    assert list(out)[:4] == ["control_period", "control_all_months", "treatment_period", "treatment_season"]


def test_measures_sharing_their_categories_share_one_sum_with_the_same_results():
    """``estimate_responses`` sums each set of categories once for every measure of it (issue 14): its columns,
    cohort and replicates are, in :data:`MEASURES` order, those of each measure computed on its own sums."""
    from flexpersona.features.calendar import CATEGORIES, INTERVAL_CATS
    from flexpersona.features.response import (
        MEASURES,
        REPLICATE_MEASURES,
        DayArrays,
        _in_category_order,
        _one_measure,
        _sum_cats,
        day_masks,
        estimate_responses,
        make_weights,
    )

    order = _in_category_order()
    assert sorted(order) == sorted(MEASURES)
    seen = [MEASURES[m][0] for m in order]
    assert all(seen.index(c) == i or seen[i - 1] == c for i, c in enumerate(seen))  # equal categories adjacent

    rng = np.random.default_rng(3)
    H, D, R = 7, 42, 20
    y = {c: rng.gamma(2.0, 0.2, (H, D)) for c in CATEGORIES}
    yhat = {c: rng.gamma(2.0, 0.2, (H, D)) for c in CATEGORIES}
    n = {c: rng.integers(0, 4, (H, D)).astype(np.int16) for c in CATEGORIES}
    groups = np.array(["treatment", "control"] * 3 + ["treatment"])
    arr = DayArrays(households=np.array([f"h{i}" for i in range(H)]), groups=groups,
                    wkend=np.arange(D) % 7 >= 5, period=np.arange(D) // 21, day=np.arange(D) + 100, y=y, yhat=yhat, n=n,
                    ref_wkend=np.arange(30) % 7 >= 5, ref_period=np.arange(30) // 15,
                    e={c: rng.normal(0, 0.01, (H, 30)) for c in INTERVAL_CATS}, ref_in_trial=None)  # fmt: skip
    weights = make_weights(arr, replicates=R, block_days=7, seed=1)
    per, cohort, reps = estimate_responses(arr, weights)

    dead = np.zeros(H, bool)
    masks = day_masks(arr)
    assert list(per.columns[3:]) == [f"{m}_{k}" for m in MEASURES
                                     for k in ("pct", "ci_low", "ci_high", "se", "kwh", "yhat_kwh", "n")]
    assert list(reps) == [m for m in MEASURES if m in REPLICATE_MEASURES]
    for m, (cats, day_filter) in MEASURES.items():
        totals = {k: _sum_cats(getattr(arr, k), cats) for k in ("y", "yhat", "n")}
        totals["e"] = _sum_cats(arr.e, cats) if all(c in arr.e for c in cats) else None
        cols, groups, kept = _one_measure(arr, weights, totals, masks[day_filter], dead, keep=m in REPLICATE_MEASURES)
        for k, v in cols.items():
            np.testing.assert_array_equal(per[f"{m}_{k}"].to_numpy(), v)
        for g, values in groups.items():
            assert cohort[g][m] == values
        if kept is not None:
            np.testing.assert_array_equal(reps[m]["pct"], kept["pct"])
            np.testing.assert_array_equal(reps[m]["kw"], kept["kw"])
