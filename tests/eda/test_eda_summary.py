"""Input resolution, units, summary statistics and correlations of the exploration."""

import numpy as np
import pandas as pd
import pytest
from _eda_synth import make_features

from flexpersona.eda.summary import (
    FEATURE_UNITS,
    RESPONSE,
    SAVINGS,
    correlation_matrix,
    feature_summary,
    resolve_inputs,
)
from flexpersona.errors import ConfigError, InputError

#: The features.parquet contract of docs/architecture.md (without household_id).
CONTRACT = """base_weekday_peak base_weekday_offpeak base_weekend_peak base_weekend_offpeak trial_weekday_high
trial_weekday_low trial_weekday_normal trial_weekend_high trial_weekend_low trial_weekend_normal peak_reduction_weekday
peak_reduction_weekend load_shift_weekday peak_reduction_pct_weekday peak_reduction_pct_weekend
intrinsic_daily_volatility intrinsic_load_factor base_peak_to_offpeak_ratio base_day_to_night_ratio
base_morning_vs_evening_peak_ratio estimated_cost_savings_pct economic_rationality_score high_response_pct
high_response_ci_low high_response_ci_high low_response_pct low_response_ci_low low_response_ci_high
high_response_kwh_per_event low_response_kwh_per_event high_response_kw high_response_pct_weekday
high_response_pct_weekend high_response_pct_night high_response_pct_morning high_response_pct_afternoon
high_response_pct_evening rebound_pct p_high q_high responder bill_dynamic_gbp bill_flat_gbp
bill_saving_structural_pct bill_saving_behavioural_pct baseload_kwh evening_share weekend_weekday_ratio
winter_summer_ratio morning_evening_peak_ratio mean_daily_kwh""".split()


def test_every_contract_feature_has_a_unit():
    missing = [c for c in CONTRACT if not FEATURE_UNITS.get(c)]
    assert missing == []


def test_seed_response_is_used_when_present():
    df = make_features(50, 1)
    frame, res = resolve_inputs(df)
    assert res.response_source == "peak_reduction_pct_weekday" and res.response_sign == 1
    np.testing.assert_allclose(frame[RESPONSE], df["peak_reduction_pct_weekday"])
    assert res.savings_source == "estimated_cost_savings_pct"
    np.testing.assert_allclose(frame[SAVINGS], df["estimated_cost_savings_pct"])
    assert "seed" in res.notes["response"]


def test_default_response_is_sign_flipped_when_seed_columns_are_missing():
    df = make_features(50, 2, real_shaped=True)
    frame, res = resolve_inputs(df)
    assert res.response_source == "high_response_pct_weekday" and res.response_sign == -1
    np.testing.assert_allclose(frame[RESPONSE], -df["high_response_pct_weekday"])
    assert res.savings_source == "bill_saving_behavioural_pct"
    assert res.peak_ratio is None and res.rationality is None and res.volatility == "intrinsic_daily_volatility"
    assert "flipped" in res.notes["response"] and "peak_ratio" in res.notes
    # the columns may also be absent altogether
    frame2, res2 = resolve_inputs(df.drop(columns=["peak_reduction_pct_weekday", "base_peak_to_offpeak_ratio"]))
    assert res2.response_source == "high_response_pct_weekday" and res2.peak_ratio is None


def test_no_response_at_all_is_stated_not_raised():
    df = make_features(30, 3).drop(columns=["peak_reduction_pct_weekday", "high_response_pct_weekday"])
    frame, res = resolve_inputs(df)
    assert res.response is None and RESPONSE not in frame
    assert res.notes["response"].startswith("No weekday response")


def test_feature_table_must_name_households_once():
    df = make_features(10, 0)
    with pytest.raises(InputError, match="household_id"):
        resolve_inputs(df.drop(columns=["household_id"]))
    with pytest.raises(InputError, match="more than once"):
        resolve_inputs(pd.concat([df, df.iloc[:1]]))


def test_summary_statistics_on_planted_values():
    df = pd.DataFrame({
        "household_id": list("abcde"),
        "mean_daily_kwh": [1.0, 2.0, 3.0, 4.0, np.nan],
        "rebound_pct": [np.inf, 10.0, 10.0, 10.0, 10.0],
        "responder": [True, False, True, True, False],
        "acorn": ["A", "B", "C", "D", "E"],
    })
    s = feature_summary(df).set_index("feature")
    assert list(s.index) == ["mean_daily_kwh", "rebound_pct", "responder"]  # text columns left out
    row = s.loc["mean_daily_kwh"]
    assert row["unit"] == "kWh/day" and row["count"] == 4 and row["share_missing"] == pytest.approx(0.2)
    assert row["mean"] == pytest.approx(2.5) and row["median"] == pytest.approx(2.5)
    assert row["sd"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert row["q25"] == pytest.approx(1.75) and row["min"] == 1 and row["max"] == 4
    assert s.loc["rebound_pct", "count"] == 4  # infinity counts as missing
    assert s.loc["rebound_pct", "sd"] == 0
    assert s.loc["responder", "mean"] == pytest.approx(0.6)


def test_correlation_methods_differ_on_a_monotone_curve():
    x = np.linspace(0.1, 5, 60)
    df = pd.DataFrame({"household_id": range(60), "a": x, "b": np.exp(x), "const": 1.0, "empty": np.nan})
    sp = correlation_matrix(df, ["a", "b", "const", "empty"], "spearman")
    pe = correlation_matrix(df, ["a", "b", "const", "empty"], "pearson")
    assert list(sp.columns) == ["a", "b"]  # constant and empty columns left out
    assert sp.loc["a", "b"] == pytest.approx(1.0)
    assert pe.loc["a", "b"] < 0.9
    with pytest.raises(ConfigError, match="spearman"):
        correlation_matrix(df, ["a", "b"], "kendall")


def test_lifestyle_fills_only_missing_pre_trial_values():
    from flexpersona.eda.summary import fill_from_lifestyle

    feats = pd.DataFrame({"household_id": ["a", "b", "c"], "intrinsic_daily_volatility": [1.0, np.nan, np.nan],
                          "high_response_pct": [np.nan, 1.0, 2.0]})
    life = pd.DataFrame({"household_id": ["a", "b", "x"], "group": "treatment",
                         "intrinsic_daily_volatility": [9.0, 2.0, 7.0], "mean_daily_kwh": [5.0, 6.0, 7.0],
                         "high_response_pct": [3.0, 3.0, 3.0]})
    out, filled = fill_from_lifestyle(feats, life)
    np.testing.assert_array_equal(out["intrinsic_daily_volatility"], [1.0, 2.0, np.nan])  # a kept, b filled
    np.testing.assert_array_equal(out["mean_daily_kwh"], [5.0, 6.0, np.nan])  # absent column added
    assert np.isnan(out.loc[0, "high_response_pct"])  # trial outcomes are never taken from lifestyle
    assert filled == {"intrinsic_daily_volatility": 1, "mean_daily_kwh": 2}
    assert fill_from_lifestyle(feats, None)[1] == {}


def test_one_set_of_lifestyle_features_across_stages():
    """Stage 2 and the exploration use exactly the lifestyle columns the feature stage produces."""
    from flexpersona.eda.summary import LIFESTYLE_FEATURES as eda_life
    from flexpersona.explain.variables import LIFESTYLE_FEATURES as explain_life
    from flexpersona.features import LIFESTYLE_COLUMNS

    assert eda_life is explain_life
    assert sorted(explain_life) == sorted(LIFESTYLE_COLUMNS) and len(set(explain_life)) == len(explain_life)


def test_as_float_of_a_wide_table_does_not_warn():
    """features.parquet has ~150 numeric columns since the posterior columns: one frame, no PerformanceWarning."""
    import warnings

    from flexpersona.eda.summary import as_float

    wide = pd.DataFrame({f"c{i}": np.arange(5, dtype="int64") for i in range(200)})
    wide = wide.assign(flag=[True, False, True, False, True], inf=[1.0, np.inf, 2.0, np.nan, -np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = as_float(wide, list(wide.columns))
    assert list(out.columns) == list(wide.columns) and (out.dtypes == "float64").all()
    assert out["flag"].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert out["inf"].isna().tolist() == [False, True, False, True, True]
