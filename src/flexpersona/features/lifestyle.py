"""Intrinsic (pre-trial) lifestyle features of every household, treatment and control.

Sources, in order of preference (``lifestyle_source``):

``halfhourly``
    the baseline year's half-hourly readings (all features);
``daily``
    the Kaggle daily table of the baseline year, complete days only (``n_readings == 48``): volatility,
    load factor, mean daily kWh, weekend/weekday and winter/summer ratios; the features that need half-hours
    are NaN and ``info["lifestyle_missing"]`` says why;
``within_trial_normal``
    the trial year's event-free days (no High/Low half-hour) when there is no baseline at all (not strictly
    pre-trial: labelled so).

Definitions (half-hourly): ``mean_daily_kwh`` = 48 x mean kWh per half-hour [kWh/day]; ``baseload_kwh`` =
mean over days of the minimum half-hour 00:00-04:59 [kWh per half-hour]; ``evening_share`` = share of kWh
in 16:00-19:59; ``weekend_weekday_ratio`` = mean kWh weekend / weekday; ``winter_summer_ratio`` = mean kWh
DJF / JJA; ``morning_evening_peak_ratio`` = weekday mean 07:00-08:59 / weekday mean 16:00-19:59; and the
seed's intrinsic ones (see :mod:`flexpersona.features.seed`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import contracts
from .definitions import LIFE_MEANS
from .seed import EPS, conditional_means

LIFESTYLE_COLUMNS = contracts.LIFESTYLE_COLUMNS
DAILY_COMPUTABLE = (
    "intrinsic_daily_volatility",
    "intrinsic_load_factor",
    "mean_daily_kwh",
    "weekend_weekday_ratio",
    "winter_summer_ratio",
)


def _ratio(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def lifestyle_from_halfhourly(
    household_means: pd.DataFrame, daily_stats: pd.DataFrame, *, source: str
) -> pd.DataFrame:
    """Lifestyle features from the engine's ``life_*`` conditional sums and daily statistics."""
    hm = household_means.reset_index(drop=True)
    m = conditional_means(hm, list(LIFE_MEANS))
    d = daily_stats.set_index("household_id").reindex(hm["household_id"].to_numpy())
    num = lambda s: pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    out = pd.DataFrame({"household_id": hm["household_id"].to_numpy(), "group": hm["grp"].to_numpy()})
    out["lifestyle_source"] = source
    out["baseload_kwh"] = num(d["baseload_kwh"])
    out["evening_share"] = _ratio(num(hm["life_evening_sum"]), num(hm["life_all_sum"]))
    out["weekend_weekday_ratio"] = _ratio(m["life_weekend"], m["life_weekday"])
    out["winter_summer_ratio"] = _ratio(m["life_winter"], m["life_summer"])
    out["morning_evening_peak_ratio"] = _ratio(m["life_weekday_morning"], m["life_weekday_evening"])
    out["mean_daily_kwh"] = 48.0 * m["life_all"].to_numpy()
    out["intrinsic_daily_volatility"] = num(d["daily_sd"])
    out["intrinsic_load_factor"] = num(d["daily_mean"]) / (num(d["daily_max"]) + EPS)
    out["base_peak_to_offpeak_ratio"] = m["life_weekday_peak"].to_numpy() / (
        m["life_weekday_offpeak"].to_numpy() + EPS
    )
    out["base_day_to_night_ratio"] = m["life_daytime"].to_numpy() / (m["life_nighttime"].to_numpy() + EPS)
    out["base_morning_vs_evening_peak_ratio"] = m["life_weekday_peak"].to_numpy() / (
        m["life_weekend_peak"].to_numpy() + EPS
    )
    return out


def lifestyle_from_daily(
    daily: pd.DataFrame, households: pd.DataFrame, *, year: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Lifestyle features from the Kaggle daily table (complete days of ``year`` only).

    Parameters
    ----------
    daily
        Canonical daily table (``household_id``, ``day``, ``kwh_sum`` [kWh], ``n_readings``).
    households
        ``household_id``, ``grp`` of the kept households.
    year
        The baseline year.
    """
    dd = daily[["household_id", "day", "kwh_sum", "n_readings"]].copy()
    dd["day"] = pd.to_datetime(dd["day"])
    dd = dd[(dd["day"].dt.year == year) & (dd["n_readings"] == 48) & dd["kwh_sum"].notna()]
    dd = dd[dd["household_id"].isin(households["household_id"])]
    dd["wkend"] = dd["day"].dt.day_of_week >= 5
    month = dd["day"].dt.month
    g = dd.groupby("household_id")["kwh_sum"]
    stats = pd.DataFrame(
        {
            "sd": g.std(ddof=1),
            "mean": g.mean(),
            "max": g.max(),
            "we": dd[dd["wkend"]].groupby("household_id")["kwh_sum"].mean(),
            "wd": dd[~dd["wkend"]].groupby("household_id")["kwh_sum"].mean(),
            "winter": dd[month.isin([12, 1, 2])].groupby("household_id")["kwh_sum"].mean(),
            "summer": dd[month.isin([6, 7, 8])].groupby("household_id")["kwh_sum"].mean(),
        }
    )
    hh = households.reset_index(drop=True)
    s = stats.reindex(hh["household_id"].to_numpy())
    out = pd.DataFrame({"household_id": hh["household_id"].to_numpy(), "group": hh["grp"].to_numpy()})
    out["lifestyle_source"] = "daily"
    for c in LIFESTYLE_COLUMNS:
        out[c] = np.nan
    out["intrinsic_daily_volatility"] = s["sd"].to_numpy(dtype=float)
    out["intrinsic_load_factor"] = s["mean"].to_numpy(dtype=float) / (s["max"].to_numpy(dtype=float) + EPS)
    out["mean_daily_kwh"] = s["mean"].to_numpy(dtype=float)
    out["weekend_weekday_ratio"] = _ratio(s["we"], s["wd"])
    out["winter_summer_ratio"] = _ratio(s["winter"], s["summer"])
    missing = {
        c: "needs half-hourly baseline readings; only the daily table covers the baseline year"
        for c in LIFESTYLE_COLUMNS
        if c not in DAILY_COMPUTABLE
    }
    info = {"lifestyle_missing": missing, "lifestyle_daily_households": int(s["mean"].notna().sum())}
    return out, info
