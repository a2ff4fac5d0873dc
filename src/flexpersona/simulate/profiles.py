"""Load shapes of the simulator: the time axis, the common (all-household) day factors and the
per-household counterfactual load.

The counterfactual kWh of household ``h`` in half-hour ``t`` (day ``d``, slot ``s``) is::

    y0 = level_h · P_h(daytype(d), s) · S(d)^γ_h · W(d)^β_h · T(d) · I_h(d) · ε_h(t)

with ``P_h`` the household's daily shape (mean 1 on weekdays), ``S`` the seasonal factor (winter/summer
≈ 1.5), ``W`` the day-level weather shock shared by all households, ``T`` the trial-year trend shared by all,
``I_h`` the household's own day-level shock (its spread is raised by the planted ``volatility_trait``) and
``ε_h`` gamma noise of mean 1. Calibration targets come from ``../shared/data/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..schema import HALF_HOURS_PER_DAY

#: Weekday load relative to the household mean, mean of each 2-hour window from 00:00 (LCL 2013).
WEEKDAY_PROFILE_2H = np.array([0.81, 0.57, 0.52, 0.70, 1.04, 0.97, 0.99, 0.95, 1.08, 1.44, 1.50, 1.27])
#: Weekend shape: later, broader morning, same evening (scaled to weekend/weekday ≈ 1.04 below).
WEEKEND_PROFILE_2H = np.array([0.86, 0.62, 0.53, 0.58, 0.82, 1.12, 1.16, 1.05, 1.08, 1.38, 1.45, 1.28])
WEEKEND_OVER_WEEKDAY = 1.04
#: Amplitude of the seasonal cosine: (1 + a) / (1 - a) ≈ 1.5 between mid-winter and mid-summer means.
SEASON_AMPLITUDE = 0.215
#: Largest simulated half-hourly value [kWh] (real 99.9th percentile 2.65, max 7.57).
KWH_MAX = 8.0
#: Largest share of flat base load mixed into a household's shape.
MAX_FLATNESS = 0.25


def interpolate_profile(points_2h: np.ndarray) -> np.ndarray:
    """Periodic linear interpolation of twelve 2-hour window means to 48 half-hour slots (mean 1).

    Parameters
    ----------
    points_2h
        Twelve values, the mean of each 2-hour window from 00:00 [relative to the daily mean].

    Returns
    -------
    numpy.ndarray
        48 values [relative to the daily mean], normalised to mean 1.
    """
    x = np.arange(12) * 4 + 1.5
    s = np.arange(HALF_HOURS_PER_DAY)
    target = np.asarray(points_2h, dtype=float)
    pts = target.copy()
    for _ in range(30):  # adjust the knots so that the 2-hour means of the interpolation match the target
        prof = np.interp(s, x, pts, period=HALF_HOURS_PER_DAY)
        pts = pts + (target - prof.reshape(12, 4).mean(axis=1))
    prof = np.clip(np.interp(s, x, pts, period=HALF_HOURS_PER_DAY), 0.05, None)
    return prof / prof.mean()


def _bump(centre_slot: float, width_slots: float) -> np.ndarray:
    s = np.arange(HALF_HOURS_PER_DAY)
    d = np.minimum(np.abs(s - centre_slot), HALF_HOURS_PER_DAY - np.abs(s - centre_slot))
    return np.exp(-0.5 * (d / width_slots) ** 2)


MORNING_BUMP = _bump(15.0, 3.0)  # around 07:30
EVENING_BUMP = _bump(37.0, 4.0)  # around 18:30


@dataclass(frozen=True)
class TimeAxis:
    """Every half-hour of the simulated period.

    Attributes
    ----------
    ts
        Start of each half-hour (GMT), ``datetime64[us]``, length ``T``.
    days
        Each day, ``datetime64[D]``, length ``D`` (``T = 48 D``).
    """

    ts: np.ndarray
    days: np.ndarray

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def n(self) -> int:
        return len(self.ts)

    @property
    def weekend(self) -> np.ndarray:
        """Saturday or Sunday, per day (bool)."""
        # 1970-01-01 was a Thursday: weekday index (Mon=0) = (days + 3) % 7
        return ((self.days.astype("int64") + 3) % 7) >= 5

    @property
    def year(self) -> np.ndarray:
        return self.days.astype("datetime64[Y]").astype(int) + 1970

    @property
    def day_of_year(self) -> np.ndarray:
        return (self.days - self.days.astype("datetime64[Y]")).astype(int)


def time_axis(start: pd.Timestamp, end: pd.Timestamp) -> TimeAxis:
    """Half-hours from the day of ``start`` to the day of ``end`` (both days complete, inclusive)."""
    d0 = np.datetime64(start.date(), "D")
    d1 = np.datetime64(end.date(), "D")
    days = np.arange(d0, d1 + 1, dtype="datetime64[D]")
    ts = (days.astype("datetime64[us]")[:, None] + np.arange(HALF_HOURS_PER_DAY) * np.timedelta64(30, "m")).ravel()
    return TimeAxis(ts=ts.astype("datetime64[us]"), days=days)


@dataclass(frozen=True)
class CommonFactors:
    """Day-level factors shared by every household (length ``D`` each)."""

    season: np.ndarray
    weather: np.ndarray
    trend: np.ndarray


#: Innovation sd and persistence of the AR(1) log day shock common to all households (weather); its
#: stationary sd is 0.055 / sqrt(1 - 0.7²) ≈ 7.7 %.
SHOCK_INNOVATION_SD = 0.055
SHOCK_AR = 0.7


def common_factors(
    axis: TimeAxis,
    rng: np.random.Generator,
    *,
    trial_year: int,
    trend_pct: float,
    shock_sd_pct: float | None = None,
    event_days: np.ndarray | None = None,
    event_day_shock_pct: float = 0.0,
) -> CommonFactors:
    """Seasonality, day-level weather shocks (AR(1), shared) and the trial-year trend.

    The trend ramps linearly through the trial year so that its trial-year mean is ``trend_pct`` [%] and
    holds its end value after the trial year; before the trial year it is 1.

    Parameters
    ----------
    shock_sd_pct
        Stationary standard deviation of the common log day shock [%]; None keeps ≈ 7.7 % (0 = no shock).
    event_days, event_day_shock_pct
        Days (bool, length ``D``) on which every household's load is also multiplied by
        ``1 + event_day_shock_pct/100`` (a common shock that coincides with events, e.g. events called on
        cold days; it is part of the weather factor, so the simulated temperature shows it too).
    """
    doy = axis.day_of_year
    season = 1.0 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (doy - 15) / 365.25)
    n = axis.n_days
    shocks = np.empty(n)
    eps = rng.normal(0.0, SHOCK_INNOVATION_SD, n)
    if shock_sd_pct is not None:
        eps *= (shock_sd_pct / 100.0) * np.sqrt(1.0 - SHOCK_AR**2) / SHOCK_INNOVATION_SD
    prev = 0.0
    for i in range(n):  # AR(1) over a few hundred days
        prev = SHOCK_AR * prev + eps[i]
        shocks[i] = prev
    weather = np.exp(shocks - shocks.mean())
    if event_days is not None and event_day_shock_pct:
        weather = np.where(event_days, weather * (1.0 + event_day_shock_pct / 100.0), weather)
    year = axis.year
    trend = np.ones(n)
    in_trial = year == trial_year
    frac = np.clip((doy + 0.5) / 365.0, 0.0, 1.0)
    trend[in_trial] = 1.0 + 2.0 * trend_pct / 100.0 * frac[in_trial]
    trend[year > trial_year] = 1.0 + 2.0 * trend_pct / 100.0
    return CommonFactors(season=season, weather=weather, trend=trend)


@dataclass(frozen=True)
class LoadParams:
    """Per-household load parameters (arrays of length ``N``)."""

    level: np.ndarray  # mean kWh per half-hour (before season/noise)
    morning: np.ndarray  # morning peak weight
    evening: np.ndarray  # evening peak weight (the lifestyle trait)
    flatness: np.ndarray  # share of flat base load in the shape
    season_sens: np.ndarray  # exponent on the seasonal factor
    weather_sens: np.ndarray  # exponent on the weather shock
    day_sigma: np.ndarray  # sd of the household's own log day shock
    noise_shape: np.ndarray  # gamma shape of the half-hourly noise (CV = 1/sqrt(shape))


def draw_load_params(
    rng: np.random.Generator, n: int, volatility_trait: np.ndarray, acorn_grouped: np.ndarray, *,
    noise_scale: float = 1.0,
) -> LoadParams:
    """Draw the load parameters of ``n`` households.

    Household mean level is lognormal (5/50/95th percentiles ≈ 0.05/0.17/0.5 kWh per half-hour), a bit higher
    for Affluent and lower for Adversity Acorn groups. ``noise_scale`` multiplies the half-hourly noise CV
    (gamma shape / scale²); the random draws are the same for every scale.
    """
    acorn_factor = np.select([acorn_grouped == "Affluent", acorn_grouped == "Adversity"], [1.1, 0.9], 1.0)
    level = 0.17 * np.exp(rng.normal(0.0, 0.62, n)) * acorn_factor
    morning = np.clip(rng.normal(0.0, 0.3, n), -0.7, None)
    evening = np.clip(rng.normal(0.0, 0.3, n), -0.7, None)
    flatness = rng.uniform(0.0, MAX_FLATNESS, n)
    season_sens = rng.uniform(0.5, 1.5, n)
    weather_sens = rng.uniform(0.5, 1.5, n)
    day_sigma = np.minimum(0.2 * np.exp(0.7 * volatility_trait), 0.8)
    noise_shape = np.exp(rng.normal(np.log(2.3), 0.3, n)) / noise_scale**2
    return LoadParams(level, morning, evening, flatness, season_sens, weather_sens, day_sigma, noise_shape)


def household_shapes(params: LoadParams, idx: np.ndarray) -> np.ndarray:
    """Daily shapes of the households ``idx``: array ``(n, 2, 48)`` (weekday, weekend) [relative to mean].

    Weekday shapes have mean 1; weekend shapes mean :data:`WEEKEND_OVER_WEEKDAY`; both are then divided by
    the overall weekly mean so that ``level`` is the household's mean.
    """
    # sharpen by the mean flat share so that the cohort's mean shape matches the LCL shape
    fbar = MAX_FLATNESS / 2
    base = np.stack([interpolate_profile(WEEKDAY_PROFILE_2H), interpolate_profile(WEEKEND_PROFILE_2H)])
    base = np.clip((base - fbar) / (1 - fbar), 0.05, None)
    m = params.morning[idx][:, None, None]
    e = params.evening[idx][:, None, None]
    f = params.flatness[idx][:, None, None]
    shape = base[None] * (1.0 + m * MORNING_BUMP + e * EVENING_BUMP)
    shape = shape / shape.mean(axis=2, keepdims=True)
    shape = (1.0 - f) * shape + f
    shape[:, 1, :] *= WEEKEND_OVER_WEEKDAY
    return shape / ((5.0 + 2.0 * WEEKEND_OVER_WEEKDAY) / 7.0)


def counterfactual_load(
    axis: TimeAxis,
    common: CommonFactors,
    params: LoadParams,
    idx: np.ndarray,
    rngs: list[np.random.Generator],
) -> np.ndarray:
    """Counterfactual half-hourly kWh of the households ``idx``: array ``(n, T)`` [kWh], values ≥ 0.

    ``rngs[i]`` is household ``idx[i]``'s own generator, so a household's load does not depend on which
    other households are simulated with it.
    """
    n, nd = len(idx), axis.n_days
    shapes = household_shapes(params, idx)  # (n, 2, 48)
    daytype = axis.weekend.astype(int)
    day = (
        params.level[idx][:, None]
        * common.season[None, :] ** params.season_sens[idx][:, None]
        * common.weather[None, :] ** params.weather_sens[idx][:, None]
        * common.trend[None, :]
    )  # (n, D)
    own = np.empty((n, nd))
    noise = np.empty((n, nd * HALF_HOURS_PER_DAY))
    for i, (h, rng) in enumerate(zip(idx, rngs, strict=True)):
        sig = params.day_sigma[h]
        own[i] = np.exp(rng.normal(-0.5 * sig * sig, sig, nd))
        k = params.noise_shape[h]
        noise[i] = rng.gamma(k, 1.0 / k, nd * HALF_HOURS_PER_DAY)
    y = (day * own)[:, :, None] * shapes[:, daytype, :]  # (n, D, 48)
    y = y.reshape(n, -1)
    y *= noise
    return y


#: Simulated temperature: seasonal mean [°C] (mid-January ≈ 4.5, mid-July ≈ 17.5) ...
TEMP_MEAN_C = 11.0
TEMP_SEASON_C = 6.5
#: ... minus the common weather shock at this load sensitivity: a day 1 °C colder than its season carries
#: a common load factor ``exp(0.03)`` (households scale it by their own ``weather_sens``).
LOAD_PER_DEGREE = 0.03
#: Amplitude of the daily temperature cycle [°C] (warmest at 15:00).
TEMP_DIURNAL_C = 3.0


def temperature_frame(axis: TimeAxis, common: CommonFactors) -> pd.DataFrame:
    """Hourly temperature [°C] that explains the common weather factor (the DarkSky file's role).

    ``T = 11 − 6.5·cos(2π(doy − 15)/365.25) − log(W(d))/0.03 + 3·cos(2π(hour − 15)/24)``: the day mean
    deviates from its season exactly as the common log weather shock ``log W(d)`` (including any event-day
    shock) says, so a temperature model of a household's load can recover the common shock.

    Returns
    -------
    pandas.DataFrame
        ``ts`` (start of each hour, GMT) and ``temperature`` [°C].
    """
    doy = axis.day_of_year
    day_t = TEMP_MEAN_C - TEMP_SEASON_C * np.cos(2 * np.pi * (doy - 15) / 365.25) - np.log(common.weather) / LOAD_PER_DEGREE
    hours = np.arange(24)
    cycle = TEMP_DIURNAL_C * np.cos(2 * np.pi * (hours - 15) / 24)
    ts = (axis.days.astype("datetime64[us]")[:, None] + hours * np.timedelta64(1, "h")).ravel()
    temp = (day_t[:, None] + cycle[None, :]).ravel()
    return pd.DataFrame({"ts": ts.astype("datetime64[us]"), "temperature": np.round(temp, 2)})
