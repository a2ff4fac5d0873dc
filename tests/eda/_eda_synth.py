"""Synthetic feature tables with planted truth for the exploration tests (seeded, no files)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED_ONLY = (
    "peak_reduction_pct_weekday",
    "peak_reduction_pct_weekend",
    "peak_reduction_weekday",
    "base_peak_to_offpeak_ratio",
    "base_day_to_night_ratio",
    "estimated_cost_savings_pct",
    "economic_rationality_score",
)


def make_features(n: int = 400, seed: int = 0, *, volatility_effect: float = 0.0,
                  real_shaped: bool = False) -> pd.DataFrame:
    """A features.parquet-like table.

    ``volatility_effect`` is the planted change of the weekday reduction [percentage points] per standard
    deviation of daily volatility (0 = unrelated). ``real_shaped`` blanks the seed columns, as on 2013-only data.
    """
    rng = np.random.default_rng(seed)
    mean_daily = rng.lognormal(np.log(8.0), 0.5, n)
    volatility = mean_daily * rng.lognormal(np.log(0.32), 0.3, n)
    z_vol = (volatility - volatility.mean()) / volatility.std()
    peak_ratio = rng.lognormal(np.log(1.8), 0.25, n)
    reduction = 5.0 + volatility_effect * z_vol + rng.normal(0, 10.0, n)  # %, positive = reduction
    savings = 3.0 + 0.4 * reduction + rng.normal(0, 2.0, n)
    df = pd.DataFrame({
        "household_id": [f"D{i:04d}" for i in range(n)],
        "peak_reduction_pct_weekday": reduction,
        "peak_reduction_pct_weekend": reduction * 0.5 + rng.normal(0, 5, n),
        "peak_reduction_weekday": reduction / 100 * 0.3,
        "intrinsic_daily_volatility": volatility,
        "intrinsic_load_factor": rng.uniform(0.2, 0.6, n),
        "base_peak_to_offpeak_ratio": peak_ratio,
        "base_day_to_night_ratio": rng.lognormal(0.3, 0.2, n),
        "estimated_cost_savings_pct": savings,
        "economic_rationality_score": rng.lognormal(np.log(2.5), 0.4, n),
        "high_response_pct": -reduction + rng.normal(0, 2, n),
        "high_response_pct_weekday": -reduction + rng.normal(0, 1, n),
        "low_response_pct": rng.normal(5, 8, n),
        "p_high": rng.uniform(0, 1, n),
        "responder": rng.uniform(0, 1, n) < 0.3,
        "bill_saving_behavioural_pct": 0.4 * reduction + rng.normal(0, 2.0, n),
        "bill_dynamic_gbp": rng.normal(500, 80, n),
        "mean_daily_kwh": mean_daily,
        "weekend_weekday_ratio": rng.lognormal(np.log(1.04), 0.1, n),
        "winter_summer_ratio": rng.lognormal(np.log(1.5), 0.2, n),
        "evening_share": rng.uniform(0.2, 0.4, n),
    })
    if real_shaped:
        for c in SEED_ONLY:
            df[c] = np.nan
    return df
