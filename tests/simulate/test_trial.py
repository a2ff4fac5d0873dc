"""Planted truth of the in-memory simulator: determinism, shares, effects, load calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.schema import HALF_HOURS_PER_DAY
from flexpersona.simulate import simulate_trial
from flexpersona.simulate.personas import CENTRES


@pytest.fixture(scope="module")
def small():
    return simulate_trial(40, 20, seed=3, start="2012-11-01", end="2013-03-31")


def test_deterministic_by_seed(small):
    again = simulate_trial(40, 20, seed=3, start="2012-11-01", end="2013-03-31")
    pd.testing.assert_frame_equal(small.readings, again.readings)
    pd.testing.assert_frame_equal(small.truth, again.truth)
    pd.testing.assert_frame_equal(small.survey, again.survey)
    other = simulate_trial(40, 20, seed=4, start="2012-11-01", end="2013-03-31")
    assert not np.array_equal(small.readings["kwh"].to_numpy()[:1000], other.readings["kwh"].to_numpy()[:1000])


def test_tables_follow_the_canonical_schema(small):
    assert list(small.readings.columns) == ["household_id", "ts", "kwh"]
    assert str(small.readings["ts"].dtype) == "datetime64[us]"
    assert list(small.households.columns) == ["household_id", "group", "acorn", "acorn_grouped"]
    assert list(small.tariff.columns) == ["ts", "band", "price"]
    assert len(small.tariff) == 365 * HALF_HOURS_PER_DAY
    assert set(small.households["group"]) == {"treatment", "control"}
    assert (small.households["group"] == "treatment").sum() == 40
    assert small.readings["household_id"].str.match(r"^MAC\d{6}$").all()
    assert (small.readings["kwh"].dropna() >= 0).all()
    # missing is missing (NaN), never zero-filled; about 1 %
    share = small.readings["kwh"].isna().mean()
    assert 0.005 < share < 0.02


def test_controls_have_no_effect_and_persona_control(small):
    c = small.truth[small.truth["group"] == "control"]
    assert (c["persona"] == "control").all()
    assert (c["high_effect_pct"] == 0).all() and (c["low_effect_pct"] == 0).all()


def test_planted_persona_shares_and_effects():
    t = simulate_trial(200, 10, seed=8, start="2013-01-01", end="2013-01-02", survey=False, daily=False).truth
    treat = t[t["group"] == "treatment"]
    counts = treat["persona"].value_counts().to_dict()
    assert counts == {"moderate_reducer": 60, "inert": 60, "engaged_shifter": 50, "contrarian": 30}
    for persona, (high, low) in CENTRES.items():
        g = treat[treat["persona"] == persona]
        assert abs(g["high_effect_pct"].mean() - high) < 1.5, persona
        assert abs(g["low_effect_pct"].mean() - low) < 1.5, persona
        assert 1.5 < g["high_effect_pct"].std() < 3.5
    # the four groups are well separated in (High, Low) response space
    centres = treat.groupby("persona")[["high_effect_pct", "low_effect_pct"]].mean()
    d = np.sqrt(((centres.to_numpy()[:, None, :] - centres.to_numpy()[None, :, :]) ** 2).sum(-1))
    assert d[~np.eye(4, dtype=bool)].min() > 9


def test_unimodal_personas_none():
    t = simulate_trial(400, 4, seed=2, personas="none", start="2013-01-01", end="2013-01-01", daily=False).truth
    treat = t[t["group"] == "treatment"]
    assert (treat["persona"] == "none").all()
    assert abs(treat["high_effect_pct"].mean() + 8) < 1.0 and abs(treat["high_effect_pct"].std() - 6) < 1.0
    assert abs(treat["low_effect_pct"].mean() - 5) < 1.0 and abs(treat["low_effect_pct"].std() - 5) < 1.0


def test_effects_applied_exactly_in_high_and_low_half_hours():
    from dataclasses import replace

    from flexpersona.simulate.trial import generate_block, plan_trial

    plan = plan_trial(8, 2, seed=4, start="2013-01-01", end="2013-03-31", missing_share=0.0, late_joiner_share=0)
    flat = replace(plan, truth=plan.truth.assign(high_effect_pct=0.0, low_effect_pct=0.0))
    idx = np.arange(plan.n)
    y, _ = generate_block(plan, idx)
    y0, _ = generate_block(flat, idx)
    high, low, normal = plan.band_code == 1, plan.band_code == 2, plan.band_code == 0
    assert high.sum() > 50 and low.sum() > 50
    np.testing.assert_array_equal(y[:, normal], y0[:, normal])
    for i in idx:
        h, lo = plan.truth.loc[i, ["high_effect_pct", "low_effect_pct"]]
        est_h = 100 * (y[i, high].sum() - y0[i, high].sum()) / y0[i, high].sum()
        est_l = 100 * (y[i, low].sum() - y0[i, low].sum()) / y0[i, low].sum()
        assert abs(est_h - h) < 0.5 and abs(est_l - lo) < 0.5


def test_volatility_effect_and_predictable_traits():
    from scipy.stats import spearmanr

    t = simulate_trial(120, 30, seed=6, volatility_effect=6.0, predictable=True, start="2012-03-01",
                       end="2012-04-30", survey=False)
    truth = t.truth.set_index("household_id")
    treat = truth[truth["group"] == "treatment"]
    assert spearmanr(treat["volatility_trait"], treat["high_effect_pct"])[0] > 0.4
    # the trait raises the spread of daily totals (relative to the household's mean)
    d = t.daily[t.daily["n_readings"] == 48].groupby("household_id")["kwh_sum"]
    cv = (d.std() / d.mean()).reindex(truth.index)
    assert spearmanr(truth["volatility_trait"], cv)[0] > 0.4
    # predictable: engaged shifters have a higher pre-trial lifestyle trait than contrarians
    m = treat.groupby("persona")["lifestyle_trait"].mean()
    assert m["engaged_shifter"] > m["moderate_reducer"] > m["contrarian"]
    plain = simulate_trial(120, 30, seed=6, start="2012-01-01", end="2012-01-02", daily=False).truth
    tp = plain[plain["group"] == "treatment"]
    assert abs(spearmanr(tp["volatility_trait"], tp["high_effect_pct"])[0]) < 0.3


def test_late_joiners_start_later(small):
    first = small.readings.groupby("household_id")["ts"].min()
    truth = small.truth.set_index("household_id")
    assert (first == truth["first_ts"].reindex(first.index)).all()
    late = first > pd.Timestamp("2012-11-01")
    assert 1 <= late.sum() <= 8  # 5 % of 60


def test_load_calibration_against_lcl():
    """Household levels, daily shape, weekend and seasonal ratios, noise (README calibration facts)."""
    from flexpersona.simulate.trial import generate_block, plan_trial

    plan = plan_trial(0, 200, seed=12, start="2012-01-01", end="2012-12-31", survey=False, missing_share=0,
                      late_joiner_share=0)
    y, _ = generate_block(plan, np.arange(plan.n))  # (200, T)
    hh_mean = y.mean(axis=1)
    p5, p50, p95 = np.percentile(hh_mean, [5, 50, 95])
    assert 0.03 < p5 < 0.08 and 0.13 < p50 < 0.22 and 0.35 < p95 < 0.7
    rel = (y / hh_mean[:, None]).reshape(plan.n, -1, 48)  # (n, D, 48)
    weekend = plan.axis.weekend
    prof = rel[:, ~weekend].mean(axis=(0, 1)).reshape(12, 4).mean(axis=1)
    target = np.array([0.81, 0.57, 0.52, 0.70, 1.04, 0.97, 0.99, 0.95, 1.08, 1.44, 1.50, 1.27])
    assert np.abs(prof / prof.mean() - target).max() < 0.15
    assert 0.98 < rel[:, weekend].mean() / rel[:, ~weekend].mean() < 1.10
    month = plan.axis.days.astype("datetime64[M]").astype(int) % 12 + 1
    winter = rel[:, np.isin(month, [1, 2, 12])].mean() / rel[:, np.isin(month, [6, 7, 8])].mean()
    assert 1.3 < winter < 1.75
    cv = np.median(rel.std(axis=1, ddof=1) / rel.mean(axis=1))  # within household and slot
    assert 0.55 < cv < 0.95
    daily = y.reshape(plan.n, -1, 48).sum(axis=2)
    assert 0.2 < np.median(daily.std(axis=1, ddof=1) / daily.mean(axis=1)) < 0.45
    assert np.percentile(y, 99.9) < 5


def test_persona_shares_are_planted_exactly_and_checked():
    from flexpersona.errors import ConfigError
    from flexpersona.simulate import plan_trial

    kw = {"seed": 5, "start": "2013-01-01", "end": "2013-01-02", "survey": False}
    shares = {"engaged_shifter": 0.12, "moderate_reducer": 0.25, "inert": 0.55, "contrarian": 0.08}
    plan = plan_trial(200, 2, persona_shares=shares, **kw)
    counts = plan.truth[plan.truth["group"] == "treatment"]["persona"].value_counts().to_dict()
    assert counts == {"inert": 110, "moderate_reducer": 50, "engaged_shifter": 24, "contrarian": 16}
    assert plan.info["persona_shares"] == shares
    none = plan_trial(50, 2, persona_shares={**shares, "contrarian": 0.0, "inert": 0.63}, **kw)
    assert "contrarian" not in set(none.truth["persona"])
    with pytest.raises(ConfigError, match="missing: contrarian"):
        plan_trial(4, 2, persona_shares={k: v for k, v in shares.items() if k != "contrarian"}, **kw)
    with pytest.raises(ConfigError, match="sum to 1"):
        plan_trial(4, 2, persona_shares={**shares, "inert": 0.9}, **kw)
    with pytest.raises(ConfigError, match="personas='four'"):
        plan_trial(4, 2, personas="none", persona_shares=shares, **kw)
