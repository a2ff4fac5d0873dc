"""The trial simulator: a plan (everything but the half-hourly noise, cheap and deterministic by seed) and
the half-hourly load of any block of its households (each household has its own random stream, so a
household's readings do not depend on how households are chunked)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ConfigError
from ..schema import CONTROL, HALF_HOURS_PER_DAY, HIGH, LOW, TREATMENT
from . import personas as _personas
from .profiles import (
    KWH_MAX,
    CommonFactors,
    LoadParams,
    TimeAxis,
    common_factors,
    counterfactual_load,
    draw_load_params,
    temperature_frame,
    time_axis,
)
from .schedule import generate_schedule, trial_year_tariff
from .survey import simulate_survey

log = logging.getLogger(__name__)

#: Acorn categories with their share among LCL households (informations_households.csv).
ACORN_SHARES = {
    "ACORN-A": 157, "ACORN-B": 25, "ACORN-C": 151, "ACORN-D": 292, "ACORN-E": 1567, "ACORN-F": 684,
    "ACORN-G": 205, "ACORN-H": 455, "ACORN-I": 51, "ACORN-J": 112, "ACORN-K": 165, "ACORN-L": 342,
    "ACORN-M": 113, "ACORN-N": 152, "ACORN-O": 103, "ACORN-P": 110, "ACORN-Q": 831, "ACORN-U": 49,
}  # fmt: skip
ACORN_GROUP = {
    **{f"ACORN-{c}": "Affluent" for c in "ABCDE"},
    **{f"ACORN-{c}": "Comfortable" for c in "FGHIJ"},
    **{f"ACORN-{c}": "Adversity" for c in "KLMNOPQ"},
    "ACORN-U": "ACORN-U",
}
TRUTH_COLUMNS = (
    "household_id", "group", "persona", "high_effect_pct", "low_effect_pct", "volatility_trait",
    "lifestyle_trait", "level_kwh", "first_ts",
)  # fmt: skip


@dataclass
class SimulatedTrial:
    """A simulated trial: canonical tables (:mod:`flexpersona.schema`) plus the planted truth.

    Attributes
    ----------
    readings
        ``household_id``, ``ts`` (GMT, start of half-hour), ``kwh`` [kWh] (NaN = missing), sorted by
        household and time; a late joiner has no rows before its first reading.
    households
        ``household_id``, ``group``, ``acorn``, ``acorn_grouped``.
    tariff
        ``ts``, ``band``, ``price`` [GBP/kWh]: one row per half-hour of the trial year.
    survey
        ``household_id`` and ``Q..`` answer texts, or None.
    truth
        ``household_id``, ``group``, ``persona``, ``high_effect_pct``, ``low_effect_pct`` [%],
        ``volatility_trait`` (z, raises the spread of daily totals), ``lifestyle_trait`` (evening-peak weight;
        drives persona membership when ``predictable``), ``level_kwh`` (planted mean [kWh per half-hour]),
        ``first_ts`` (first half-hour with a reading).
    daily
        Daily aggregates of the readings (``household_id``, ``day``, ``kwh_sum``, ``n_readings``,
        ``kwh_mean``, ``kwh_max``, ``kwh_min``, ``kwh_std``), as the Kaggle ``daily_dataset`` gives them.
    weather
        Hourly ``ts``, ``temperature`` [°C] that explains the common weather factor
        (:func:`flexpersona.simulate.profiles.temperature_frame`), like the Kaggle DarkSky file.
    """

    readings: pd.DataFrame
    households: pd.DataFrame
    tariff: pd.DataFrame
    survey: pd.DataFrame | None
    truth: pd.DataFrame
    daily: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)
    weather: pd.DataFrame | None = None


@dataclass
class TrialPlan:
    """Everything about a trial except the half-hourly noise (cheap; index ``i`` = household order by id)."""

    seed: int
    axis: TimeAxis
    common: CommonFactors
    params: LoadParams
    households: pd.DataFrame
    truth: pd.DataFrame
    tariff: pd.DataFrame
    band_code: np.ndarray  # (T,) 0 Normal, 1 High, 2 Low over the whole axis
    join_index: np.ndarray  # (N,) first half-hour index with a reading
    missing_share: float
    survey: pd.DataFrame | None
    info: dict
    #: Normal half-hours of event days (days with a High or Low half-hour): treatment load x (1 + this/100).
    spillover_pct: float = 0.0

    @property
    def n(self) -> int:
        return len(self.households)

    @property
    def event_days(self) -> np.ndarray:
        """Days of the axis with at least one High or Low half-hour (bool, length ``D``)."""
        return (self.band_code.reshape(self.axis.n_days, HALF_HOURS_PER_DAY) != 0).any(axis=1)

    @property
    def weather(self) -> pd.DataFrame:
        """Hourly temperature explaining the common weather factor (see :func:`temperature_frame`)."""
        return temperature_frame(self.axis, self.common)


def _parse_period(start, end, baseline_year: int, trial_year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    s = pd.Timestamp(f"{baseline_year}-01-01") if start is None else pd.Timestamp(start)
    e = pd.Timestamp(f"{trial_year}-12-31") if end is None else pd.Timestamp(end)
    if e.normalize() < s.normalize():
        msg = f"simulation end {e.date()} is before its start {s.date()}; give --start before --end"
        raise ConfigError(msg)
    return s.normalize(), e.normalize()


def _check_plan_options(
    n_treatment: int,
    n_control: int,
    *,
    personas: str,
    missing_share: float,
    late_joiner_share: float,
    persona_centres: dict[str, tuple[float, float]] | None,
    persona_spread: float | None,
    persona_shares: dict[str, float] | None,
    noise_scale: float,
    spillover_pct: float,
    common_shock_pct: float | None,
    event_day_shock_pct: float,
) -> None:
    """Raise :class:`ConfigError` naming the first trial option out of its range (before any draw)."""
    if n_treatment < 0 or n_control < 0 or n_treatment + n_control == 0:
        msg = f"need at least one household (got --treatment {n_treatment}, --control {n_control})"
        raise ConfigError(msg)
    if not 0.0 <= missing_share < 1.0 or not 0.0 <= late_joiner_share <= 1.0:
        msg = "missing_share must be in [0, 1) and late_joiner_share in [0, 1]"
        raise ConfigError(msg)
    if personas not in _personas.KINDS:
        msg = f"unknown personas={personas!r}; use one of {', '.join(_personas.KINDS)}"
        raise ConfigError(msg)
    if personas not in _personas.PERSONA_SETS and (persona_centres is not None or persona_spread is not None
                                                   or persona_shares is not None):
        msg = ("persona_centres, persona_spread and persona_shares apply to planted personas only: use "
               "personas='four' or 'three'")
        raise ConfigError(msg)
    if personas in _personas.PERSONA_SETS:
        _personas.resolve_centres(persona_centres, persona_spread, personas)  # fail early on a bad override
        _personas.resolve_shares(persona_shares, personas)
    if not np.isfinite(noise_scale) or noise_scale <= 0:
        msg = f"noise_scale = {noise_scale!r}: give a positive factor (1 = the calibrated noise)"
        raise ConfigError(msg)
    if common_shock_pct is not None and common_shock_pct < 0:
        msg = f"common_shock_pct is a standard deviation [%] and must be >= 0, got {common_shock_pct}"
        raise ConfigError(msg)
    if spillover_pct <= -100 or event_day_shock_pct <= -100:
        msg = (f"spillover_pct and event_day_shock_pct must be above -100 % (got {spillover_pct}, "
               f"{event_day_shock_pct}): a load cannot fall below zero")
        raise ConfigError(msg)


def _band_codes(axis: TimeAxis, tariff: pd.DataFrame) -> np.ndarray:
    """Tariff band of every half-hour of the axis: 0 Normal (also outside the tariff), 1 High, 2 Low."""
    band_code = np.zeros(axis.n, dtype=np.int8)
    pos = np.searchsorted(axis.ts, tariff["ts"].to_numpy())
    ok = (pos < axis.n) & (axis.ts[np.minimum(pos, axis.n - 1)] == tariff["ts"].to_numpy())
    code = np.select([tariff["band"].to_numpy() == HIGH, tariff["band"].to_numpy() == LOW], [1, 2], 0)
    band_code[pos[ok]] = code[ok]
    return band_code


def _draw_households(rng: np.random.Generator, n: int, n_treatment: int) -> pd.DataFrame:
    """Households with MAC ids (sorted), exactly ``n_treatment`` in treatment, and LCL-shared Acorn categories."""
    numbers = np.sort(rng.choice(np.arange(2, 2 + max(n * 2, 6000)), size=n, replace=False))
    ids = np.array([f"MAC{k:06d}" for k in numbers], dtype=object)
    is_treat = np.zeros(n, dtype=bool)
    is_treat[rng.choice(n, size=n_treatment, replace=False)] = True
    names = list(ACORN_SHARES)
    p = np.array(list(ACORN_SHARES.values()), dtype=float)
    acorn = np.asarray(names, dtype=object)[rng.choice(len(names), size=n, p=p / p.sum())]
    acorn_grouped = np.array([ACORN_GROUP[a] for a in acorn], dtype=object)
    return pd.DataFrame(
        {
            "household_id": pd.array(ids, dtype="str"),
            "group": pd.array(np.where(is_treat, TREATMENT, CONTROL), dtype="str"),
            "acorn": pd.array(acorn, dtype="str"),
            "acorn_grouped": pd.array(acorn_grouped, dtype="str"),
        }
    )


def _planted_effects(
    prng: np.random.Generator,
    is_treat: np.ndarray,
    personas: str,
    *,
    lifestyle_trait: np.ndarray,
    volatility_trait: np.ndarray,
    predictable: bool,
    volatility_effect: float,
    persona_centres: dict[str, tuple[float, float]] | None,
    persona_spread: float | None,
    persona_shares: dict[str, float] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Persona and planted High and Low effects [%] of every household (control: no persona, no effect)."""
    n = len(is_treat)
    persona = np.full(n, _personas.CONTROL, dtype=object)
    high = np.zeros(n)
    low = np.zeros(n)
    t_idx = np.flatnonzero(is_treat)
    persona[t_idx] = _personas.assign_personas(
        prng, len(t_idx), personas, lifestyle_trait=lifestyle_trait[t_idx] if predictable else None,
        shares=persona_shares,
    )
    high[t_idx], low[t_idx] = _personas.draw_effects(
        prng, persona[t_idx], centres=persona_centres, spread=persona_spread,
        kind=personas if personas in _personas.PERSONA_SETS else "four",
    )
    if volatility_effect and len(t_idx) > 1:
        v = volatility_trait[t_idx]
        high[t_idx] += volatility_effect * (v - v.mean()) / (v.std() + 1e-12)
    return persona, high, low


def _join_index(rng: np.random.Generator, n: int, axis: TimeAxis, late_joiner_share: float,
                trial_year: int) -> np.ndarray:
    """First half-hour with a reading per household: 0, or a random half-hour of the baseline for late joiners."""
    join = np.zeros(n, dtype=np.int64)
    n_late = int(round(late_joiner_share * n))
    if n_late and axis.n_days > 2:
        late = rng.choice(n, size=n_late, replace=False)
        trial_day0 = int(np.searchsorted(axis.days, np.datetime64(f"{trial_year}-01-01", "D")))
        lo = min(14, axis.n_days // 10)
        hi = trial_day0 - 60 if trial_day0 - 60 > lo + 1 else max(lo + 1, axis.n_days // 2)
        join[late] = rng.integers(lo, hi, n_late) * HALF_HOURS_PER_DAY + rng.integers(0, HALF_HOURS_PER_DAY, n_late)
    return join


def _truth_frame(
    households: pd.DataFrame,
    *,
    persona: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    volatility_trait: np.ndarray,
    lifestyle_trait: np.ndarray,
    level_kwh: np.ndarray,
    first_ts: np.ndarray,
) -> pd.DataFrame:
    """The planted truth per household (:data:`TRUTH_COLUMNS`): persona, effects [%], traits, level [kWh]."""
    return pd.DataFrame(
        {
            "household_id": households["household_id"],
            "group": households["group"],
            "persona": pd.array(persona, dtype="str"),
            "high_effect_pct": high,
            "low_effect_pct": low,
            "volatility_trait": volatility_trait,
            "lifestyle_trait": lifestyle_trait,
            "level_kwh": level_kwh,
            "first_ts": first_ts,
        }
    )


def _plan_info(
    *,
    seed: int,
    period: tuple[pd.Timestamp, pd.Timestamp],
    baseline_year: int,
    trial_year: int,
    personas: str,
    volatility_effect: float,
    predictable: bool,
    missing_share: float,
    late_joiner_share: float,
    trend_pct: float,
    noise_scale: float,
    persona_centres: dict[str, tuple[float, float]] | None,
    persona_spread: float | None,
    persona_shares: dict[str, float] | None,
    spillover_pct: float,
    common_shock_pct: float | None,
    event_day_shock_pct: float,
    n_event_days: int,
) -> dict:
    """The trial's settings as JSON-able ``info`` (overrides and shocks only when they were given)."""
    s, e = period
    info = {
        "seed": seed, "start": str(s.date()), "end": str(e.date()), "baseline_year": baseline_year,
        "trial_year": trial_year, "personas": personas, "volatility_effect": volatility_effect,
        "predictable": predictable, "missing_share": missing_share, "late_joiner_share": late_joiner_share,
        "trend_pct": trend_pct, "noise_scale": noise_scale,
    }  # fmt: skip
    if persona_centres is not None or persona_spread is not None:
        cen, sd = _personas.resolve_centres(persona_centres, persona_spread, personas)
        info["persona_centres"] = {k: list(v) for k, v in cen.items()}
        info["persona_spread"] = sd
    if persona_shares is not None:
        info["persona_shares"] = _personas.resolve_shares(persona_shares, personas)
    if spillover_pct or common_shock_pct is not None or event_day_shock_pct:
        info.update(spillover_pct=spillover_pct, common_shock_pct=common_shock_pct,
                    event_day_shock_pct=event_day_shock_pct, n_event_days=n_event_days)
    return info


def plan_trial(
    n_treatment: int = 120,
    n_control: int = 120,
    *,
    seed: int = 0,
    baseline_year: int = 2012,
    trial_year: int = 2013,
    start=None,
    end=None,
    personas: str = "four",
    schedule: pd.DataFrame | str | Path | None = None,
    volatility_effect: float = 0.0,
    predictable: bool = False,
    survey: bool = True,
    missing_share: float = 0.01,
    late_joiner_share: float = 0.05,
    trend_pct: float = -3.0,
    persona_centres: dict[str, tuple[float, float]] | None = None,
    persona_spread: float | None = None,
    noise_scale: float = 1.0,
    persona_shares: dict[str, float] | None = None,
    spillover_pct: float = 0.0,
    common_shock_pct: float | None = None,
    event_day_shock_pct: float = 0.0,
) -> TrialPlan:
    """Draw everything of a trial but the half-hourly load (see :func:`simulate_trial` for parameters)."""
    _check_plan_options(
        n_treatment, n_control, personas=personas, missing_share=missing_share,
        late_joiner_share=late_joiner_share, persona_centres=persona_centres, persona_spread=persona_spread,
        persona_shares=persona_shares, noise_scale=noise_scale, spillover_pct=spillover_pct,
        common_shock_pct=common_shock_pct, event_day_shock_pct=event_day_shock_pct,
    )  # fmt: skip
    s, e = _parse_period(start, end, baseline_year, trial_year)
    axis = time_axis(s, e)
    n = n_treatment + n_control
    # Random streams: [seed, 1] households, load parameters and late joiners (in this order), [seed, 2] the
    # common factors, [seed, 3] personas and effects, [seed, 4] the survey; the generated tariff has its own.
    rng = np.random.default_rng([seed, 1])

    # tariff over the trial year, band codes over the whole axis (its own stream: drawn first or last alike)
    tariff = generate_schedule(trial_year, seed=seed) if schedule is None else trial_year_tariff(schedule, trial_year)
    band_code = _band_codes(axis, tariff)
    event_days = (band_code.reshape(axis.n_days, HALF_HOURS_PER_DAY) != 0).any(axis=1)
    common = common_factors(
        axis, np.random.default_rng([seed, 2]), trial_year=trial_year, trend_pct=trend_pct,
        shock_sd_pct=common_shock_pct, event_days=event_days, event_day_shock_pct=event_day_shock_pct,
    )  # fmt: skip

    households = _draw_households(rng, n, n_treatment)
    is_treat = households["group"].to_numpy() == TREATMENT
    volatility_trait = rng.normal(0.0, 1.0, n)
    params = draw_load_params(
        rng, n, volatility_trait, households["acorn_grouped"].to_numpy(dtype=object), noise_scale=noise_scale
    )
    lifestyle_trait = params.evening.copy()
    persona, high, low = _planted_effects(
        np.random.default_rng([seed, 3]), is_treat, personas, lifestyle_trait=lifestyle_trait,
        volatility_trait=volatility_trait, predictable=predictable, volatility_effect=volatility_effect,
        persona_centres=persona_centres, persona_spread=persona_spread, persona_shares=persona_shares,
    )  # fmt: skip
    join = _join_index(rng, n, axis, late_joiner_share, trial_year)

    truth = _truth_frame(
        households, persona=persona, high=high, low=low, volatility_trait=volatility_trait,
        lifestyle_trait=lifestyle_trait, level_kwh=params.level, first_ts=axis.ts[np.minimum(join, axis.n - 1)],
    )  # fmt: skip
    surv = simulate_survey(np.random.default_rng([seed, 4]), truth) if survey else None
    info = _plan_info(
        seed=seed, period=(s, e), baseline_year=baseline_year, trial_year=trial_year, personas=personas,
        volatility_effect=volatility_effect, predictable=predictable, missing_share=missing_share,
        late_joiner_share=late_joiner_share, trend_pct=trend_pct, noise_scale=noise_scale,
        persona_centres=persona_centres, persona_spread=persona_spread, persona_shares=persona_shares,
        spillover_pct=spillover_pct, common_shock_pct=common_shock_pct, event_day_shock_pct=event_day_shock_pct,
        n_event_days=int(event_days.sum()),
    )  # fmt: skip
    return TrialPlan(seed, axis, common, params, households, truth, tariff, band_code, join, missing_share, surv, info,
                     spillover_pct=float(spillover_pct))


def generate_block(plan: TrialPlan, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-hourly kWh of the households ``idx`` of a plan.

    Returns
    -------
    kwh : numpy.ndarray
        ``(n, T)`` [kWh], rounded to 3 decimals (as LCL); NaN where missing or before the first reading.
    present : numpy.ndarray
        ``(n, T)`` bool: the half-hour has a row (on or after the household's first reading).
    """
    idx = np.asarray(idx, dtype=np.int64)
    rngs = [np.random.default_rng([plan.seed, 5, int(h)]) for h in idx]
    y = counterfactual_load(plan.axis, plan.common, plan.params, idx, rngs)
    high = plan.truth["high_effect_pct"].to_numpy()[idx]
    low = plan.truth["low_effect_pct"].to_numpy()[idx]
    is_high = plan.band_code == 1
    is_low = plan.band_code == 2
    treated = (high != 0) | (low != 0)
    if treated.any() and (is_high.any() or is_low.any()):
        y[:, is_high] *= (1.0 + high / 100.0)[:, None]
        y[:, is_low] *= (1.0 + low / 100.0)[:, None]
    if plan.spillover_pct:  # all-day change of treatment households on event days, outside the events
        spill = np.repeat(plan.event_days, HALF_HOURS_PER_DAY) & (plan.band_code == 0)
        treat = plan.households["group"].to_numpy()[idx] == TREATMENT
        y[np.ix_(treat, spill)] *= 1.0 + plan.spillover_pct / 100.0
    np.clip(y, 0.0, KWH_MAX, out=y)
    y = np.round(y, 3)
    t = np.arange(plan.axis.n)
    present = t[None, :] >= plan.join_index[idx][:, None]
    for i, rng in enumerate(rngs):  # continue each household's own stream
        miss = rng.random(plan.axis.n) < plan.missing_share
        y[i, miss] = np.nan
    y[~present] = np.nan
    return y, present


def planted_cohort_response(plan: TrialPlan, *, chunk_households: int = 250) -> dict[str, float]:
    """The cohort responses a plan plants, load-weighted as the estimator measures them [%].

    ``100 · Σ(y − y0) / Σ y0`` over the treatment households' readings of each category, with ``y`` the
    simulated load and ``y0`` the same households' load without any effect or spillover (same random
    streams): ``high`` and ``low`` (the bands' half-hours), ``spill`` (Normal half-hours of event days).
    """
    from dataclasses import replace

    zero = plan.truth.assign(high_effect_pct=0.0, low_effect_pct=0.0)
    plan0 = replace(plan, truth=zero, spillover_pct=0.0)
    idx_t = np.flatnonzero(plan.households["group"].to_numpy() == TREATMENT)
    masks = {
        "high": plan.band_code == 1,
        "low": plan.band_code == 2,
        "spill": np.repeat(plan.event_days, HALF_HOURS_PER_DAY) & (plan.band_code == 0),
    }
    num = dict.fromkeys(masks, 0.0)
    den = dict.fromkeys(masks, 0.0)
    for k in range(0, len(idx_t), chunk_households):
        idx = idx_t[k : k + chunk_households]
        y, _ = generate_block(plan, idx)
        y0, _ = generate_block(plan0, idx)
        for name, m in masks.items():
            a, b = y[:, m], y0[:, m]
            ok = ~np.isnan(a) & ~np.isnan(b)
            num[name] += float((a - b)[ok].sum())
            den[name] += float(b[ok].sum())
    return {name: 100.0 * num[name] / den[name] if den[name] > 0 else float("nan") for name in masks}


def readings_frame(ids: np.ndarray, ts: np.ndarray, kwh: np.ndarray, present: np.ndarray) -> pd.DataFrame:
    """Canonical readings from dense ``(n, T)`` arrays (rows where ``present``), households in ``ids`` order."""
    n, t = kwh.shape
    mask = present.ravel()
    codes = np.repeat(np.arange(n, dtype=np.int32), t)[mask]
    hh = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(ids), pa.string())).cast(pa.string())
    table = pa.table(
        {
            "household_id": hh,
            "ts": pa.array(np.tile(ts, n)[mask], pa.timestamp("us")),
            "kwh": pa.array(kwh.ravel()[mask], pa.float64(), from_pandas=True),
        }
    )
    return table.to_pandas()


def daily_arrays(kwh: np.ndarray, *, median: bool = False) -> dict[str, np.ndarray]:
    """Daily aggregates of ``(n, T)`` kWh (NaN = missing): each ``(n, D)``; NaN where a day has no value.

    Keys ``count``, ``sum``, ``mean``, ``max``, ``min``, ``std`` (ddof 1) and, when asked, ``median``.
    """
    n, t = kwh.shape
    x = kwh.reshape(n, t // HALF_HOURS_PER_DAY, HALF_HOURS_PER_DAY)
    valid = ~np.isnan(x)
    count = valid.sum(axis=2)
    has = count > 0
    safe = np.maximum(count, 1)
    total = np.where(valid, x, 0.0).sum(axis=2)
    mean = total / safe
    dev = np.where(valid, x - mean[:, :, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt((dev**2).sum(axis=2) / (count - 1))
    std[count < 2] = np.nan
    mx = np.where(valid, x, -np.inf).max(axis=2)
    mn = np.where(valid, x, np.inf).min(axis=2)
    out = {"count": count, "sum": total, "mean": mean, "max": mx, "min": mn, "std": std}
    if median:  # NaN sort last: the median sits at (count-1)//2 and count//2
        srt = np.sort(x, axis=2)
        lo = np.take_along_axis(srt, np.maximum((count - 1) // 2, 0)[:, :, None], axis=2)[:, :, 0]
        hi = np.take_along_axis(srt, np.minimum(count // 2, HALF_HOURS_PER_DAY - 1)[:, :, None], axis=2)[:, :, 0]
        out["median"] = np.where(has, (lo + hi) / 2.0, np.nan)
    for k in ("sum", "mean", "max", "min"):
        out[k] = np.where(has, out[k], np.nan)
    return out


def daily_frame(ids: np.ndarray, days: np.ndarray, kwh: np.ndarray) -> pd.DataFrame:
    """Canonical daily table (household-days with at least one value) from dense ``(n, T)`` kWh."""
    a = daily_arrays(kwh)
    has = a["count"] > 0
    hi, di = np.nonzero(has)
    return pd.DataFrame(
        {
            "household_id": pd.array(np.asarray(ids, dtype=object)[hi], dtype="str"),
            "day": pd.Series(days[di].astype("datetime64[s]")).dt.date,
            "kwh_sum": a["sum"][has],
            "n_readings": a["count"][has].astype("int64"),
            "kwh_mean": a["mean"][has],
            "kwh_max": a["max"][has],
            "kwh_min": a["min"][has],
            "kwh_std": a["std"][has],
        }
    )


def simulate_trial(
    n_treatment: int = 120,
    n_control: int = 120,
    *,
    seed: int = 0,
    baseline_year: int = 2012,
    trial_year: int = 2013,
    start=None,
    end=None,
    personas: str = "four",
    schedule: pd.DataFrame | str | Path | None = None,
    volatility_effect: float = 0.0,
    predictable: bool = False,
    survey: bool = True,
    missing_share: float = 0.01,
    late_joiner_share: float = 0.05,
    trend_pct: float = -3.0,
    daily: bool = True,
    persona_centres: dict[str, tuple[float, float]] | None = None,
    persona_spread: float | None = None,
    noise_scale: float = 1.0,
    persona_shares: dict[str, float] | None = None,
    spillover_pct: float = 0.0,
    common_shock_pct: float | None = None,
    event_day_shock_pct: float = 0.0,
) -> SimulatedTrial:
    """Simulate a dynamic-pricing trial with planted personas (in memory).

    Parameters
    ----------
    n_treatment, n_control
        Households on the dToU tariff and on the flat tariff.
    seed
        Random seed; the result is a deterministic function of all arguments.
    baseline_year, trial_year
        Calendar years; the tariff schedule covers the trial year.
    start, end
        First and last simulated day (inclusive; date-like); default 1 Jan of the baseline year to 31 Dec of
        the trial year.
    personas
        ``"four"`` or ``"three"`` (planted personas, see :mod:`flexpersona.simulate.personas`), ``"none"``
        (one normal population) or ``"continuum"`` (one heavy-tailed population).
    schedule
        A canonical tariff table or a schedule file; default a generated schedule like the real 2013 one.
    volatility_effect
        Added to each treatment household's High effect per standard deviation of its
        ``volatility_trait`` [percentage points]; 0 makes volatility independent of response.
    predictable
        Persona membership follows the pre-trial ``lifestyle_trait`` (evening-peak weight).
    survey
        Simulate the household survey.
    missing_share
        Share of half-hours whose value is missing (NULL).
    late_joiner_share
        Share of households whose first reading comes later than ``start``.
    trend_pct
        Trial-year trend common to all households [%] (mean over the trial year).
    daily
        Also compute the daily aggregates.
    persona_centres
        Overrides of the planted persona centres, ``persona -> (High %, Low %)`` (some or all of the four);
        None keeps :data:`flexpersona.simulate.personas.CENTRES`. Only with ``personas="four"``.
    persona_spread
        Standard deviation of household effects around their persona centre [percentage points]; None keeps
        :data:`flexpersona.simulate.personas.SPREAD_PCT` (2.5). Only with ``personas="four"``.
    noise_scale
        Multiplies each household's half-hourly noise CV and day-shock sd (1 = calibrated to LCL's median CV;
        about 1.6 gives per-household response standard errors of 5-6 pp, like real LCL households).
    persona_shares
        Shares of the planted personas among treatment households (``persona -> share``, every persona of the
        set, summing to 1); None keeps the set's shares (:data:`flexpersona.simulate.personas.SHARES` for
        ``"four"``). Only with planted personas (``"four"``, ``"three"``).
    spillover_pct
        Event-day spillover [%]: every treatment household's Normal half-hours on event days (days with a High
        or Low half-hour) are multiplied by ``1 + spillover_pct/100`` (negative = all-day conservation);
        High and Low half-hours keep their planted effects, relative to the counterfactual load.
    common_shock_pct
        Stationary standard deviation of the day-level log shock common to all households [%] (the weather a
        control group differences out); None keeps the default ≈ 7.7 %, 0 removes it.
    event_day_shock_pct
        A common shock on event days [%]: every household (treatment and control) uses this much more on
        days with an event, as when events are called on cold days. It is part of the common weather factor,
        so the simulated temperature (``SimulatedTrial.weather``) is lower on those days.

    Returns
    -------
    SimulatedTrial

    Examples
    --------
    >>> trial = simulate_trial(4, 4, seed=1, start="2012-12-01", end="2013-01-31")
    >>> sorted(trial.truth["group"].unique())
    ['control', 'treatment']
    """
    plan = plan_trial(
        n_treatment, n_control, seed=seed, baseline_year=baseline_year, trial_year=trial_year, start=start,
        end=end, personas=personas, schedule=schedule, volatility_effect=volatility_effect,
        predictable=predictable, survey=survey, missing_share=missing_share,
        late_joiner_share=late_joiner_share, trend_pct=trend_pct, persona_centres=persona_centres,
        persona_spread=persona_spread, noise_scale=noise_scale, persona_shares=persona_shares,
        spillover_pct=spillover_pct, common_shock_pct=common_shock_pct, event_day_shock_pct=event_day_shock_pct,
    )  # fmt: skip
    idx = np.arange(plan.n)
    kwh, present = generate_block(plan, idx)
    ids = plan.households["household_id"].to_numpy(dtype=object)
    readings = readings_frame(ids, plan.axis.ts, kwh, present)
    day_table = daily_frame(ids, plan.axis.days, kwh) if daily else None
    log.info("simulated %d households, %d readings", plan.n, len(readings))
    return SimulatedTrial(
        readings=readings,
        households=plan.households.copy(),
        tariff=plan.tariff.copy(),
        survey=plan.survey,
        truth=plan.truth.copy(),
        daily=day_table,
        info=dict(plan.info),
        weather=plan.weather,
    )
