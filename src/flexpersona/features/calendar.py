"""The half-hour calendar of the baseline and trial years: every attribute a feature definition needs.

All calendar logic (slot, day type, month, season, tariff band and price, seed peak windows, time of day,
tariff events, rebound windows, time-placebo windows, reference and lifestyle selections) lives here, in one
small pandas table of one row per half-hour (35,088 rows for two years). The feature SQL
(:mod:`flexpersona.features.definitions`) only joins readings to this table on ``ts`` and aggregates, so
the same SQL runs unchanged on DuckDB and Spark.

Columns of the calendar
-----------------------
``ts`` (GMT start of the half-hour), ``is_base``/``is_trial`` (0/1), ``day`` (days since 1970-01-01),
``slot`` (0..47), ``wkend`` (1 = Saturday, Sunday, or bank holiday when configured), ``month`` (1..12),
``period`` (the reference cell's period: the month, or the season, by ``features.reference_period``),
``season`` (1 DJF, 2 MAM, 3 JJA, 4 SON), ``band`` (trial year: High/Normal/Low; baseline: null), ``price``
[GBP/kWh] (band price from ``Config.data``; baseline: null), ``peak`` (seed peak windows 07:00-09:00 and
16:00-20:00), ``daytime`` (07:00-18:59), ``cat`` (response category of a trial half-hour, see
:data:`CATEGORIES`; ``catc`` its position there), ``event_id`` (index of the tariff event, a run of consecutive
High or Low half-hours; null otherwise), ``ref`` (1 if the half-hour belongs to the counterfactual reference),
``life`` (1 if it feeds the half-hourly lifestyle features), ``life_w`` (1 on the trial year's event-free days: the
``within_trial_normal`` lifestyle selection, whatever the source), ``mwin``/``ewin`` (windows 07:00-08:59
and 16:00-19:59 by slot), ``cell`` (integer key of the reference cell, ``slot + 48·wkend + 96·(period − 1)``)
and ``cls`` (integer code of the combination of :data:`CLASS_COLUMNS`).

Time of day of High half-hours (by the start of the half-hour): night 00:00-05:59, morning 06:00-11:59,
afternoon 12:00-16:59, evening 17:00-23:59.

Event days are trial days with at least one High or Low half-hour. Their other Normal half-hours (outside
rebound and time-placebo windows) are the ``spill`` category (where all-day conservation, pre-loading or
rebound beyond the window would show); ``normal`` is the Normal half-hours of the other days. The within-trial
reference (``features.reference_days``) is ``normal`` + ``spill`` (``all``) or ``normal`` on days at least
``features.reference_margin_days`` + 1 days from any event day (``event_free``); see ``docs/counterfactual.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import ConfigError
from ..schema import HIGH, LOW, NORMAL

logger = logging.getLogger(__name__)

#: England and Wales bank holidays (gov.uk), used when ``Config.data.bank_holidays_as_weekend`` is set.
BANK_HOLIDAYS = tuple(
    pd.Timestamp(d)
    for d in (
        "2011-01-03 2011-04-22 2011-04-25 2011-04-29 2011-05-02 2011-05-30 2011-08-29 2011-12-26 2011-12-27 "
        "2012-01-02 2012-04-06 2012-04-09 2012-05-07 2012-06-04 2012-06-05 2012-08-27 2012-12-25 2012-12-26 "
        "2013-01-01 2013-03-29 2013-04-01 2013-05-06 2013-05-27 2013-08-26 2013-12-25 2013-12-26 "
        "2014-01-01 2014-04-18 2014-04-21 2014-05-05 2014-05-26 2014-08-25 2014-12-25 2014-12-26"
    ).split()
)
BANK_HOLIDAY_YEARS = (2011, 2012, 2013, 2014)

TOD_NAMES = ("night", "morning", "afternoon", "evening")
#: Response categories of trial half-hours. High half-hours are split by time of day and by whether they fall
#: in the system-peak window (``features.system_peak_hours``, suffix ``_pk``); ``rebound`` is a Normal
#: half-hour within ``rebound_hours`` after a High event; ``pseudo`` a time-placebo half-hour; ``spill`` a
#: Normal half-hour of an event day (any other); ``normal`` a Normal half-hour of another day.
HIGH_CATS = tuple(f"high_{t}{p}" for t in TOD_NAMES for p in ("", "_pk"))
#: High half-hours inside the system-peak window.
PEAK_CATS = tuple(c for c in HIGH_CATS if c.endswith("_pk"))
CATEGORIES = (*HIGH_CATS, "low", "rebound", "pseudo", "spill", "normal")
#: Categories that get bootstrap intervals (``normal`` gets a point estimate only).
INTERVAL_CATS = CATEGORIES[:-1]

REFERENCES = ("auto", "baseline", "within_trial")
#: Days whose Normal half-hours make the within-trial reference (``features.reference_days``).
REFERENCE_DAYS = ("event_free", "all")
#: Number of integer cell keys ``cell = slot + 48·wkend + 96·(period − 1)`` (period <= 12).
CELL_KEYS = 1152
#: Calendar columns that define a class of half-hours (``cls``).
CLASS_COLUMNS = ("is_base", "is_trial", "wkend", "season", "band", "price", "peak", "daytime", "mwin", "ewin", "life_w")


def tod_of_slot(slot: np.ndarray) -> np.ndarray:
    """Time-of-day index (0 night, 1 morning, 2 afternoon, 3 evening) of half-hour slots 0..47."""
    hour = np.asarray(slot) // 2
    return np.select([hour < 6, hour < 12, hour < 17], [0, 1, 2], default=3)


def season_of_month(month: np.ndarray) -> np.ndarray:
    """Season (1 DJF, 2 MAM, 3 JJA, 4 SON) of months 1..12."""
    return (np.asarray(month) % 12) // 3 + 1


@dataclass
class TariffCalendar:
    """The calendar table plus what was learned while building it (goes to ``FeatureResult.info``)."""

    table: pd.DataFrame
    events: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def _year_frame(year: int) -> pd.DataFrame:
    ts = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="30min", inclusive="left", unit="us")
    return pd.DataFrame({"ts": ts})


def build_calendar(
    tariff: pd.DataFrame,
    config: Config,
    *,
    reference: str,
    lifestyle_source: str,
    reference_days: str | None = None,
) -> TariffCalendar:
    """Build the half-hour calendar of the baseline and trial years.

    Parameters
    ----------
    tariff
        Canonical tariff table (``ts``, ``band``, ``price``); half-hours of the trial year it lacks are Normal.
    config
        Run configuration (years, prices, bank holidays, rebound window, time placebo).
    reference
        ``baseline`` (reference = every baseline-year half-hour) or ``within_trial`` (reference = the trial
        year's Normal half-hours outside rebound and time-placebo windows, of the days ``reference_days`` says).
    lifestyle_source
        ``halfhourly`` (lifestyle from the baseline year), ``within_trial_normal`` (from the trial year's
        event-free days) or ``daily`` (no half-hour feeds the half-hourly lifestyle features).
    reference_days
        ``event_free`` or ``all`` (see the module docstring); None takes ``config.features.reference_days``.

    Returns
    -------
    TariffCalendar
        ``table`` (one row per half-hour, columns in the module docstring) and ``events`` (one row per
        tariff event: ``event_id``, ``band``, ``start``, ``end`` (end of the last half-hour), ``n_halfhours``).
    """
    f = config.features
    info: dict[str, Any] = {}
    cal = _half_hours(tariff, config, info)
    is_t = cal["is_trial"].to_numpy() == 1
    band = cal["band"].to_numpy(dtype=object)
    event_id, events, rebound, high_windows = _events(cal, is_t, band, f.rebound_hours)
    pseudo = _time_placebo(cal, is_t, band, rebound, high_windows, f, info)
    cat, event_days, in_peak = _categories(cal, is_t, band, rebound, pseudo, f.system_peak_hours)
    cal["cat"] = cat
    # its code (the position in CATEGORIES): the engine groups the trial readings by it (integers hash and compare
    # faster than strings; full LCL size: the trial pass 14.0-14.4 -> 12.2-12.6 s)
    codes = pd.Categorical(cat, categories=list(CATEGORIES)).codes
    cal["catc"] = pd.array(np.where(codes >= 0, codes, 0), dtype="Int16")
    cal.loc[codes < 0, "catc"] = pd.NA
    cal["band"] = np.where(is_t, band, None)
    cal["event_id"] = pd.array(np.where(event_id >= 0, event_id, 0), dtype="Int64")
    cal.loc[event_id < 0, "event_id"] = pd.NA
    ref_days = f.reference_days if reference_days is None else reference_days
    cal["ref"] = _reference(cal, is_t, cat, event_days, reference, ref_days, int(f.reference_margin_days), info)
    cal["life_w"], cal["life"] = _lifestyle_selection(cal, is_t, cat, lifestyle_source)
    cal["band"] = cal["band"].astype(object)
    # integer code of the class of half-hours (every attribute a seed, lifestyle or bill condition tests)
    cal["cls"] = cal.groupby(list(CLASS_COLUMNS), dropna=False, sort=True).ngroup().astype("int64")
    pk_lo, pk_hi = f.system_peak_hours
    info["n_events"] = {HIGH: int((events["band"] == HIGH).sum()), LOW: int((events["band"] == LOW).sum())}
    info["trial_halfhours_by_band"] = {b: int(((band == b) & is_t).sum()) for b in (HIGH, NORMAL, LOW)}
    info["rebound_halfhours"] = int(rebound.sum())
    info["system_peak_hours"] = [float(pk_lo), float(pk_hi)]
    info["high_halfhours_in_system_peak"] = int((is_t & (band == HIGH) & in_peak).sum())
    cols = [
        "ts", "t", "is_base", "is_trial", "day", "slot", "wkend", "month", "period", "season", "band", "price", "peak",
        "daytime", "cat", "catc", "event_id", "ref", "life", "life_w", "cell", "cls", "mwin", "ewin",
    ]  # fmt: skip
    return TariffCalendar(table=cal[cols], events=events, info=info)


def _half_hours(tariff: pd.DataFrame, config: Config, info: dict[str, Any]) -> pd.DataFrame:
    """Every half-hour of the baseline and trial years with its day, slot, day type, period, cell, seed windows,
    band (trial year; a half-hour the schedule lacks is Normal) and price."""
    d, f = config.data, config.features
    if d.baseline_year == d.trial_year:
        msg = f"data.baseline_year and data.trial_year are both {d.trial_year}; set two different years"
        raise ConfigError(msg)
    base = _year_frame(d.baseline_year).assign(is_base=1, is_trial=0)
    trial = _year_frame(d.trial_year).assign(is_base=0, is_trial=1)
    tar = tariff[["ts", "band"]].copy()
    tar["ts"] = pd.to_datetime(tar["ts"]).astype("datetime64[us]")
    tar = tar.drop_duplicates("ts")
    trial = trial.merge(tar, on="ts", how="left")
    info["tariff_halfhours_missing_as_normal"] = int(trial["band"].isna().sum())
    trial["band"] = trial["band"].fillna(NORMAL).astype(object)
    info["tariff_halfhours_outside_trial_year"] = int((~tar["ts"].isin(trial["ts"])).sum())
    cal = pd.concat([base, trial], ignore_index=True)
    ts = cal["ts"]
    cal["day"] = ((ts - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).astype("int64")
    # integer key of the half-hour (its number since 1970): the same in every calendar of a run
    cal["t"] = ((ts - pd.Timestamp("1970-01-01")) // pd.Timedelta(minutes=30)).astype("int64")
    cal["slot"] = (ts.dt.hour * 2 + ts.dt.minute // 30).astype("int64")
    wk = (ts.dt.day_of_week >= 5).to_numpy()
    if d.bank_holidays_as_weekend:
        if not {d.baseline_year, d.trial_year} <= set(BANK_HOLIDAY_YEARS):
            logger.warning("bank holidays are known for %s only; other years use weekends only", BANK_HOLIDAY_YEARS)
        wk = wk | ts.dt.normalize().isin(BANK_HOLIDAYS).to_numpy()
    cal["wkend"] = wk.astype("int64")
    cal["month"] = ts.dt.month.astype("int64")
    cal["season"] = season_of_month(cal["month"].to_numpy()).astype("int64")
    cal["period"] = cal["month"] if f.reference_period == "month" else cal["season"]
    # integer key of the reference cell (slot x day type x period), dense in 0..CELL_KEYS-1
    cal["cell"] = cal["slot"] + 48 * cal["wkend"] + 96 * (cal["period"] - 1)
    hour = ts.dt.hour
    cal["peak"] = hour.isin([7, 8, 16, 17, 18, 19]).astype("int64")
    cal["daytime"] = ((hour >= 7) & (hour <= 18)).astype("int64")
    slot_v = cal["slot"].to_numpy()
    cal["mwin"] = ((slot_v >= 14) & (slot_v < 18)).astype("int64")
    cal["ewin"] = ((slot_v >= 32) & (slot_v < 40)).astype("int64")
    prices = {HIGH: d.high_price, NORMAL: d.normal_price, LOW: d.low_price}
    cal["price"] = cal["band"].map(prices).astype("float64")
    return cal


def _events(cal: pd.DataFrame, is_t: np.ndarray, band: np.ndarray, rebound_hours: float):
    """Tariff events (runs of consecutive High or Low half-hours of the trial year).

    Returns each half-hour's event index (-1 outside events), the events table, the rebound mask (Normal
    half-hours within ``rebound_hours`` after a High event) and each High event's (first slot, length).
    """
    n = len(cal)
    event_id = np.full(n, -1, dtype=np.int64)
    idx_t = np.flatnonzero(is_t)
    tb = band[idx_t]
    change = np.ones(len(tb), dtype=bool)
    change[1:] = tb[1:] != tb[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(tb))
    rebound = np.zeros(n, dtype=bool)
    reb_n = int(round(rebound_hours * 2))
    ev_rows, high_windows = [], []
    for s, e in zip(starts, ends):
        b = tb[s]
        if b == NORMAL:
            continue
        event_id[idx_t[s:e]] = len(ev_rows)
        ev_rows.append({"event_id": len(ev_rows), "band": b, "start": cal["ts"].iat[idx_t[s]],
                        "end": cal["ts"].iat[idx_t[e - 1]] + pd.Timedelta(minutes=30), "n_halfhours": int(e - s)})
        if b == HIGH:
            high_windows.append((int(cal["slot"].iat[idx_t[s]]), int(e - s)))
            rebound[idx_t[e : min(e + reb_n, len(tb))]] = True
    rebound &= band == NORMAL
    events = pd.DataFrame(ev_rows, columns=["event_id", "band", "start", "end", "n_halfhours"])
    return event_id, events, rebound, high_windows


def _time_placebo(cal: pd.DataFrame, is_t: np.ndarray, band: np.ndarray, rebound: np.ndarray,
                  high_windows: list[tuple[int, int]], f: Any, info: dict[str, Any]) -> np.ndarray:
    """Time placebo: ``time_placebo_days`` event-free trial days drawn (seeded) with a High event's window."""
    pseudo = np.zeros(len(cal), dtype=bool)
    if f.time_placebo_days <= 0:
        return pseudo
    day = cal["day"].to_numpy()
    tdays = np.unique(day[is_t])
    busy = np.unique(day[is_t & ((band != NORMAL) | rebound)])
    free = np.setdiff1d(tdays, busy)
    rng = np.random.default_rng(f.seed + 7919)
    k = min(f.time_placebo_days, len(free))
    chosen = np.sort(rng.choice(free, size=k, replace=False)) if k else np.array([], dtype=np.int64)
    windows = high_windows or [(34, 6)]
    slot = cal["slot"].to_numpy()
    for dd in chosen:
        s0, ln = windows[int(rng.integers(len(windows)))]
        pseudo |= is_t & (day == dd) & (slot >= s0) & (slot < min(s0 + ln, 48))
    info["time_placebo_days"] = int(k)
    info["time_placebo_halfhours"] = int(pseudo.sum())
    return pseudo


def _categories(cal: pd.DataFrame, is_t: np.ndarray, band: np.ndarray, rebound: np.ndarray, pseudo: np.ndarray,
                peak_hours: tuple[float, float]):
    """Response category of every trial half-hour (:data:`CATEGORIES`), the event days, and the system-peak
    mask."""
    day = cal["day"].to_numpy()
    tod = tod_of_slot(cal["slot"].to_numpy())
    pk_lo, pk_hi = peak_hours
    hours = cal["slot"].to_numpy() / 2.0
    in_peak = (hours >= pk_lo) & (hours < pk_hi)
    event_days = np.unique(day[is_t & (band != NORMAL)])
    cat = np.full(len(cal), None, dtype=object)
    cat[is_t] = "normal"
    cat[is_t & np.isin(day, event_days)] = "spill"
    cat[is_t & rebound] = "rebound"
    cat[is_t & pseudo] = "pseudo"
    cat[is_t & (band == LOW)] = "low"
    for i, t in enumerate(TOD_NAMES):
        cat[is_t & (band == HIGH) & (tod == i) & ~in_peak] = f"high_{t}"
        cat[is_t & (band == HIGH) & (tod == i) & in_peak] = f"high_{t}_pk"
    return cat, event_days, in_peak


def _reference(cal: pd.DataFrame, is_t: np.ndarray, cat: np.ndarray, event_days: np.ndarray, reference: str,
               ref_days: str, margin: int, info: dict[str, Any]) -> np.ndarray:
    """The counterfactual's reference half-hours (0/1): the baseline year, or the trial year's Normal half-hours
    of all days or of event-free days (± ``margin`` days)."""
    if ref_days not in REFERENCE_DAYS:
        msg = f"features.reference_days must be one of {', '.join(REFERENCE_DAYS)}, got {ref_days!r}"
        raise ConfigError(msg)
    day = cal["day"].to_numpy()
    info["event_days"] = int(len(event_days))
    if reference == "baseline":
        ref = cal["is_base"].to_numpy() == 1
    elif reference == "within_trial":
        near = np.unique((event_days[:, None] + np.arange(-margin, margin + 1)[None, :]).ravel())
        if ref_days == "all":
            ref = is_t & np.isin(cat, ("normal", "spill"))
        else:
            ref = is_t & (cat == "normal") & ~np.isin(day, near)
        info["reference_days"] = ref_days
        info["reference_margin_days"] = margin if ref_days == "event_free" else 0
        info["reference_day_count"] = int(len(np.unique(day[ref])))
        # share of the reference's half-hours on event days (the all-days reference's exposure to spillover)
        info["reference_event_day_share"] = float((cat[ref] == "spill").mean()) if ref.any() else 0.0
    else:
        msg = f"reference must be baseline or within_trial here, got {reference!r}"
        raise ConfigError(msg)
    return ref.astype("int64")


def _lifestyle_selection(cal: pd.DataFrame, is_t: np.ndarray, cat: np.ndarray, lifestyle_source: str):
    """``life_w`` (the trial year's event-free days) and ``life`` (the half-hours of the lifestyle source), 0/1."""
    day = cal["day"].to_numpy()
    busy_days = np.unique(day[is_t & (cat != "normal")])
    life_w = is_t & ~np.isin(day, busy_days)
    if lifestyle_source == "halfhourly":
        life = cal["is_base"].to_numpy() == 1
    elif lifestyle_source == "within_trial_normal":
        life = life_w
    else:
        life = np.zeros(len(cal), dtype=bool)
    return life_w.astype("int64"), life.astype("int64")
