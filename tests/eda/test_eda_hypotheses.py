"""Hypothesis views on synthetic feature tables with planted truth."""

import numpy as np
import pandas as pd
import pytest
from _eda_synth import make_features

from flexpersona.eda.hypotheses import benjamini_hochberg, ols_band, run_hypotheses
from flexpersona.eda.summary import resolve_inputs


def _view(df, name="volatility_response"):
    frame, res = resolve_inputs(df)
    table, lines = run_hypotheses(frame, res)
    return table.set_index("view").loc[name], table, lines


@pytest.mark.parametrize("effect", [3.0, -3.0])
@pytest.mark.parametrize("real_shaped", [False, True])
def test_planted_volatility_effect_is_found_with_its_sign(effect, real_shaped):
    row, _, _ = _view(make_features(300, 11, volatility_effect=effect, real_shaped=real_shaped))
    assert row["status"] == "ok" and row["significant"]
    assert np.sign(row["rho"]) == np.sign(effect)
    assert row["q_value"] < 0.05


def test_unrelated_volatility_is_not_significant_in_nine_of_ten_seeds():
    significant = [bool(_view(make_features(300, seed, volatility_effect=0.0))[0]["significant"])
                   for seed in range(10)]
    assert sum(significant) <= 1
    significant_real = [bool(_view(make_features(300, seed, real_shaped=True))[0]["significant"])
                        for seed in range(10)]
    assert sum(significant_real) <= 1


def test_other_views_follow_their_planted_truth():
    _, table, _ = _view(make_features(300, 5))
    t = table.set_index("view")
    assert t.loc["response_savings", "significant"] and t.loc["response_savings", "rho"] > 0.5
    assert not t.loc["peakratio_response", "significant"]


def test_clipping_sets_axes_only_and_the_test_uses_all_points():
    df = make_features(200, 7, volatility_effect=3.0)
    df.loc[0, "intrinsic_daily_volatility"] = 500.0  # one wild outlier
    df.loc[10, "peak_reduction_pct_weekday"] = np.nan
    row, _, _ = _view(df)
    assert row["n"] == 199  # every household with both values, outliers included
    vol = df.loc[df["peak_reduction_pct_weekday"].notna(), "intrinsic_daily_volatility"]
    assert row["x_hi"] == pytest.approx(np.quantile(vol, 0.99))
    assert row["x_hi"] < 500 and row["n_in_view"] < row["n"]
    assert "all households" in row["test_uses"]


def test_views_without_inputs_are_skipped_with_a_reason():
    _, table, lines = _view(make_features(100, 1, real_shaped=True))
    t = table.set_index("view")
    for name in ("peakratio_response", "peakratio_savings"):
        assert t.loc[name, "status"] == "skipped"
        assert "base_peak_to_offpeak_ratio" in t.loc[name, "reason"]
        assert name not in lines
    assert np.isnan(t.loc["peakratio_response", "q_value"])
    # nothing at all available: every view skipped, no crash
    bare = pd.DataFrame({"household_id": ["a", "b", "c", "d"], "mean_daily_kwh": [1.0, 2.0, 3.0, 4.0]})
    frame, res = resolve_inputs(bare)
    table, lines = run_hypotheses(frame, res)
    assert (table["status"] == "skipped").all() and lines == {}


def test_constant_input_is_skipped_not_warned():
    df = make_features(50, 3)
    df["intrinsic_daily_volatility"] = 2.0
    row, _, _ = _view(df)
    assert row["status"] == "skipped" and "constant" in row["reason"]


def test_ols_band_recovers_a_planted_line():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 400)
    y = 2.0 + 0.5 * x + rng.normal(0, 0.3, 400)
    band = ols_band(x, y, np.array([0.0, 5.0, 10.0]))
    np.testing.assert_allclose(band["fit"], [2.0, 4.5, 7.0], atol=0.1)
    assert (band["lower"] < band["fit"]).all() and (band["fit"] < band["upper"]).all()
    assert band["lower"][1] < 4.5 < band["upper"][1] or abs(band["fit"][1] - 4.5) < 0.05


def test_benjamini_hochberg_known_values():
    q = benjamini_hochberg([0.01, 0.04, 0.03, np.nan, 0.5])
    np.testing.assert_allclose(q[[0, 1, 2, 4]], [0.04, 0.05333333, 0.05333333, 0.5])
    assert np.isnan(q[3])
