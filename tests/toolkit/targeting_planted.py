"""Planted-truth tables for the targeting tests and ``benchmarks/bench_targeting.py``.

The truth comes from the trial simulator's plan (:func:`flexpersona.simulate.plan_trial`, no load curves, so
it is fast): persona membership and each treatment household's planted High effect [%]; with
``predictable=True`` membership follows the pre-trial ``lifestyle_trait`` (evening-peak weight).

Stage-1 estimates are stood in by the planted effect plus estimation noise at the real LCL level (per-household
standard error ``se_pct`` ≈ 5.5 pp). kW = % × ``KW_AT_HIGH`` (one number for every household), so that
household *size* carries no targeting signal: the only pre-trial signal is the one ``predictable`` plants.
The control households get placebo responses: the same noise around a planted effect of 0 (plus
``placebo_bias_kw`` × the standardised evening trait when a test plants a leak).

Pre-trial features: the 11 lifestyle columns of the features stage; ``evening_share`` carries the planted
trait through measurement noise, ``baseload_kwh`` drives the bill (high baseload pays more on the dynamic
tariff), the rest are noise around plausible values. Acorn groups come from the plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flexpersona.simulate import plan_trial

#: Mean load during High half-hours standing in for every household [kW].
KW_AT_HIGH = 0.6


def planted_targeting(
    n_treatment: int = 200,
    n_control: int = 160,
    *,
    seed: int = 0,
    predictable: bool = True,
    se_pct: float = 5.5,
    placebo_bias_kw: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``features`` (treatment), ``lifestyle`` (all), ``households``, ``placebo`` (control), ``truth``."""
    plan = plan_trial(n_treatment, n_control, seed=seed, predictable=predictable, survey=False)
    truth = plan.truth
    rng = np.random.default_rng([seed, 77])
    n = len(truth)
    trait = truth["lifestyle_trait"].to_numpy(dtype=float)
    level = truth["level_kwh"].to_numpy(dtype=float)
    baseload = level * rng.uniform(0.2, 0.6, n)
    life = pd.DataFrame({
        "household_id": truth["household_id"].astype(str),
        "group": truth["group"].astype(str),
        "baseload_kwh": baseload,
        "evening_share": 0.3 + 0.1 * (trait + rng.normal(0, 0.1, n)),
        "weekend_weekday_ratio": rng.normal(1.04, 0.08, n),
        "winter_summer_ratio": rng.normal(1.5, 0.2, n),
        "morning_evening_peak_ratio": rng.lognormal(-0.4, 0.3, n),
        "mean_daily_kwh": 48 * level * rng.lognormal(0, 0.05, n),
        "intrinsic_daily_volatility": 48 * level * rng.uniform(0.2, 0.45, n),
        "intrinsic_load_factor": rng.uniform(0.3, 0.7, n),
        "base_peak_to_offpeak_ratio": rng.lognormal(0.4, 0.25, n),
        "base_day_to_night_ratio": rng.lognormal(0.2, 0.2, n),
        "base_morning_vs_evening_peak_ratio": rng.lognormal(0, 0.2, n),
        "lifestyle_source": "halfhourly",
    })  # fmt: skip
    treat = (truth["group"] == "treatment").to_numpy()
    t, c = truth[treat], truth[~treat]
    pct = t["high_effect_pct"].to_numpy(dtype=float) + rng.normal(0, se_pct, len(t))
    kw = pct / 100 * KW_AT_HIGH
    flat = life.loc[treat, "mean_daily_kwh"].to_numpy() * 365 * 0.14228
    pays_more = baseload[treat] > np.median(baseload)
    dyn = flat * (np.where(pays_more, 1.05, 0.94) + rng.normal(0, 0.01, len(t)))
    features = pd.DataFrame({
        "household_id": t["household_id"].astype(str).to_numpy(),
        "high_response_pct": pct,
        "high_response_kw": kw,
        "high_response_se": se_pct,
        "bill_dynamic_gbp": dyn,
        "bill_flat_gbp": flat,
    })  # fmt: skip
    zc = (trait[~treat] - trait.mean()) / trait.std()
    pct_c = rng.normal(0, se_pct, len(c)) + 100 * placebo_bias_kw * zc / KW_AT_HIGH
    placebo = pd.DataFrame({
        "household_id": c["household_id"].astype(str).to_numpy(),
        "high_response_pct": pct_c,
        "high_response_kw": pct_c / 100 * KW_AT_HIGH,
        "high_response_se": se_pct,
    })  # fmt: skip
    households = plan.households[["household_id", "group", "acorn_grouped"]].astype(str)
    return features, life, households, placebo, truth
