"""Responder-sign comparison, super-responders and the performance-potential matrix on planted data."""

import numpy as np
import pandas as pd
import pytest
from _eda_synth import make_features

from flexpersona.eda.responders import (
    mann_whitney,
    performance_potential,
    responder_sign_comparison,
    super_responders,
)
from flexpersona.eda.summary import resolve_inputs
from flexpersona.features.potential import QUADRANTS


def test_rank_biserial_is_plus_minus_one_on_separated_groups():
    assert mann_whitney(np.arange(10) + 100, np.arange(10))["rank_biserial"] == pytest.approx(1.0)
    assert mann_whitney(np.arange(10), np.arange(10) + 100)["rank_biserial"] == pytest.approx(-1.0)
    same = mann_whitney(np.arange(20.0), np.arange(20.0))
    assert same["rank_biserial"] == pytest.approx(0.0) and same["p_value"] > 0.9
    empty = mann_whitney(np.array([np.nan]), np.arange(3.0))
    assert empty["n_a"] == 0 and np.isnan(empty["p_value"])


def test_positive_responders_have_the_planted_higher_volatility():
    frame, res = resolve_inputs(make_features(300, 4, volatility_effect=6.0))
    table, long, reason = responder_sign_comparison(frame, res)
    assert reason is None
    vol = table.set_index("metric").loc["intrinsic_daily_volatility"]
    assert vol["rank_biserial"] > 0.1 and vol["p_value"] < 0.01
    n_pos = int((frame["weekday_response_pct"] > 0).sum())
    assert vol["n_a"] == n_pos and vol["n_b"] == len(frame) - n_pos
    assert set(long["sign"]) == {"positive", "negative"}
    assert set(long["metric"]) == set(table["metric"])


def test_one_signed_responses_skip_the_comparison():
    df = make_features(40, 1)
    df["peak_reduction_pct_weekday"] = np.abs(df["peak_reduction_pct_weekday"]) + 1
    frame, res = resolve_inputs(df)
    table, _, reason = responder_sign_comparison(frame, res)
    assert table.empty and "0 negative" in reason


def test_super_responders_are_the_top_decile_and_the_planted_feature_stands_out():
    df = make_features(400, 9)
    top = df["peak_reduction_pct_weekday"].rank(ascending=False) <= 40
    df.loc[top, "evening_share"] += 0.2  # planted: super-responders are evening-heavy
    frame, res = resolve_inputs(df)
    table, is_super, reason = super_responders(frame, res)
    assert reason is None and int(is_super.sum()) == 40
    assert set(frame.loc[is_super, "household_id"]) == set(df.loc[top, "household_id"])
    t = table.set_index("feature")
    assert t.loc["evening_share", "significant"] and t.loc["evening_share", "rank_biserial"] > 0.5
    assert t.loc["evening_share", "median_super"] > t.loc["evening_share", "median_all"]
    assert not t.loc["winter_summer_ratio", "significant"]
    assert t["q_value"].ge(t["p_value"]).all()  # BH never lowers a p-value
    assert set(t["kind"]) == {"lifestyle", "financial"}


def test_performance_potential_quadrants_on_planted_points():
    df = pd.DataFrame({
        "household_id": [f"h{i}" for i in range(8)],
        "base_peak_to_offpeak_ratio": [1, 2, 3, 4, 5, 6, 7, 8],
        "peak_reduction_pct_weekday": [10, 20, -5, -6, 30, 40, -7, -8],
    })
    frame, res = resolve_inputs(df)
    counts, assignment, splits, reason = performance_potential(frame, res)
    assert reason is None and splits["x_median"] == 4.5 and splits["y_median"] == 2.5
    c = counts.set_index("quadrant")["n"]
    assert c[QUADRANTS[(True, True)]] == 2 and c[QUADRANTS[(False, True)]] == 2
    assert c[QUADRANTS[(True, False)]] == 2 and c[QUADRANTS[(False, False)]] == 2
    assert assignment.set_index("household_id").loc["h5", "quadrant"] == QUADRANTS[(True, True)]
    assert counts["share"].sum() == pytest.approx(1.0)


def test_performance_potential_uses_trial_year_axes_without_a_baseline():
    """2013-only data (no baseline year): the matrix is built on the evening share and the default response."""
    features = make_features(50, 1, real_shaped=True)
    frame, res = resolve_inputs(features)
    counts, _, splits, reason = performance_potential(frame, res)
    assert reason is None and (splits["x"], splits["y"]) == ("evening_share", "high_response_pct")
    assert counts["n"].sum() == 50
    frame, res = resolve_inputs(features.drop(columns=["evening_share"]))
    counts, _, _, reason = performance_potential(frame, res)
    assert counts.empty and "base_peak_to_offpeak_ratio" in reason and "evening_share" in reason
