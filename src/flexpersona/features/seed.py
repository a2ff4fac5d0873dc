"""Seed-compatible features (METHODS A), reproduced exactly from the engine's conditional sums.

Quirks kept on purpose for parity: the trial's High half-hours (any time of day) are compared with the
baseline's fixed peak windows; ``1e-6`` is added to denominators; daily volatility is a ddof-1 standard
deviation of daily totals (days with at least one reading in the baseline year); and
``base_morning_vs_evening_peak_ratio`` is weekday peak / weekend peak, as the seed computed it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import contracts
from ..schema import CONTROL, TREATMENT
from .definitions import SEED_MEANS

EPS = 1e-6

SEED_COLUMNS = contracts.SEED_COLUMNS


def conditional_means(sums: pd.DataFrame, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Mean kWh per subset from the engine's ``{name}_sum`` / ``{name}_n`` columns (NaN when empty)."""
    out = {}
    for name in names:
        s = pd.to_numeric(sums[f"{name}_sum"], errors="coerce").to_numpy(dtype=float)
        n = pd.to_numeric(sums[f"{name}_n"], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(n > 0, s / np.where(n > 0, n, 1.0), np.nan)
    return pd.DataFrame(out, index=sums.index)


def seed_features(
    household_means: pd.DataFrame, seed_daily: pd.DataFrame, *, flat_price: float
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Seed columns (METHODS A) of the treatment households and the control-change scalars.

    Parameters
    ----------
    household_means
        One row per household (``household_id``, ``grp``, ``{subset}_sum``/``_n`` for
        :data:`~flexpersona.features.definitions.SEED_MEANS`, ``trial_kwh``, ``trial_cost_dynamic``,
        ``trial_kwh_high``, ``trial_kwh_low``).
    seed_daily
        ``household_id``, ``daily_sd``, ``daily_mean``, ``daily_max`` of baseline-year daily totals [kWh].
    flat_price
        Flat tariff [GBP/kWh].

    Returns
    -------
    features : pandas.DataFrame
        ``household_id`` and :data:`SEED_COLUMNS` for treatment households.
    scalars : dict
        ``cc_peak_wd``, ``cc_peak_we``, ``cc_offpeak_wd`` [kWh per half-hour].
    """
    hm = household_means.reset_index(drop=True)
    means = conditional_means(hm, list(SEED_MEANS))
    means.insert(0, "household_id", hm["household_id"].to_numpy())
    grp = hm["grp"].to_numpy()
    ctl = means[grp == CONTROL]
    cc = {
        "cc_peak_wd": float(ctl["trial_weekday_peak"].mean() - ctl["base_weekday_peak"].mean()),
        "cc_peak_we": float(ctl["trial_weekend_peak"].mean() - ctl["base_weekend_peak"].mean()),
        "cc_offpeak_wd": float(ctl["trial_weekday_offpeak"].mean() - ctl["base_weekday_offpeak"].mean()),
    }
    t = means[grp == TREATMENT].reset_index(drop=True)
    ht = hm[grp == TREATMENT].reset_index(drop=True)
    f = t[["household_id"]].copy()
    for c in SEED_COLUMNS[:10]:
        f[c] = t[c].to_numpy()
    f["peak_reduction_weekday"] = -((f["trial_weekday_high"] - f["base_weekday_peak"]) - cc["cc_peak_wd"])
    f["peak_reduction_weekend"] = -((f["trial_weekend_high"] - f["base_weekend_peak"]) - cc["cc_peak_we"])
    f["load_shift_weekday"] = (f["trial_weekday_low"] - f["base_weekday_offpeak"]) - cc["cc_offpeak_wd"]
    f["peak_reduction_pct_weekday"] = 100 * f["peak_reduction_weekday"] / (f["base_weekday_peak"] + EPS)
    f["peak_reduction_pct_weekend"] = 100 * f["peak_reduction_weekend"] / (f["base_weekend_peak"] + EPS)
    d = seed_daily.set_index("household_id").reindex(f["household_id"].to_numpy())
    f["intrinsic_daily_volatility"] = pd.to_numeric(d["daily_sd"], errors="coerce").to_numpy(dtype=float)
    f["intrinsic_load_factor"] = (
        pd.to_numeric(d["daily_mean"], errors="coerce").to_numpy(dtype=float)
        / (pd.to_numeric(d["daily_max"], errors="coerce").to_numpy(dtype=float) + EPS)
    )
    f["base_peak_to_offpeak_ratio"] = f["base_weekday_peak"] / (f["base_weekday_offpeak"] + EPS)
    f["base_day_to_night_ratio"] = t["base_daytime"] / (t["base_nighttime"] + EPS)
    f["base_morning_vs_evening_peak_ratio"] = f["base_weekday_peak"] / (f["base_weekend_peak"] + EPS)
    kwh = pd.to_numeric(ht["trial_kwh"], errors="coerce").to_numpy(dtype=float)
    dyn = pd.to_numeric(ht["trial_cost_dynamic"], errors="coerce").to_numpy(dtype=float)
    flat = kwh * flat_price
    f["estimated_cost_savings_pct"] = 100 * (flat - dyn) / (flat + EPS)
    low = np.nan_to_num(pd.to_numeric(ht["trial_kwh_low"], errors="coerce").to_numpy(dtype=float))
    high = np.nan_to_num(pd.to_numeric(ht["trial_kwh_high"], errors="coerce").to_numpy(dtype=float))
    has_trial = np.isfinite(kwh)
    f["economic_rationality_score"] = np.where(has_trial, low / (high + EPS), np.nan)
    return f, cc
