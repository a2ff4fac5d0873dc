"""A dynamic time-of-use (dToU) schedule like the real 2013 LCL one, or a given schedule.

The real 2013 schedule: 17,520 half-hours, 788 High and 1,660 Low; 69 High runs and 92 Low runs of
2-30 h (161 events on 115 days); High mostly in the evening peak, Low mostly at night or in the afternoon.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import BAND_PRICES, BANDS, HALF_HOURS_PER_DAY, HIGH, LOW, NORMAL

log = logging.getLogger(__name__)

#: Real 2013 figures.
N_HIGH_RUNS, N_LOW_RUNS = 69, 92
HIGH_HALF_HOURS, LOW_HALF_HOURS = 788, 1660
EVENT_DAYS = 115
MIN_RUN, MAX_RUN = 4, 60  # half-hours (2 h .. 30 h)


def _run_lengths(rng: np.random.Generator, n: int, total: int, lo: int, hi: int) -> np.ndarray:
    """``n`` integer run lengths in ``[lo, hi]`` summing exactly to ``total`` (right-skewed)."""
    if not n * lo <= total <= n * hi:
        msg = f"cannot split {total} half-hours into {n} runs of {lo}-{hi}"
        raise ValueError(msg)
    lengths = np.full(n, lo)
    extra = total - n * lo
    weights = rng.gamma(0.9, 1.0, n)
    lengths += rng.multinomial(extra, weights / weights.sum())
    while (over := lengths > hi).any():  # move the excess to runs with room
        excess = int((lengths[over] - hi).sum())
        lengths[over] = hi
        room = np.flatnonzero(lengths < hi)
        lengths[room] += rng.multinomial(excess, np.full(len(room), 1.0 / len(room)))
    return lengths


def _preferred_start(rng: np.random.Generator, band: str) -> int:
    """Start slot within the day (0..47) drawn from the band's usual times."""
    u = rng.random()
    if band == HIGH:
        if u < 0.7:
            return int(rng.integers(32, 36))  # 16:00-17:30
        if u < 0.85:
            return int(rng.integers(12, 16))  # 06:00-07:30
        return int(rng.integers(0, HALF_HOURS_PER_DAY))
    if u < 0.5:
        return int(rng.integers(42, 48))  # 21:00-23:30
    if u < 0.85:
        return int(rng.integers(20, 27))  # 10:00-13:00
    return int(rng.integers(0, HALF_HOURS_PER_DAY))


def generate_schedule(
    year: int = 2013,
    *,
    seed: int = 0,
    n_high_runs: int = N_HIGH_RUNS,
    n_low_runs: int = N_LOW_RUNS,
    high_half_hours: int = HIGH_HALF_HOURS,
    low_half_hours: int = LOW_HALF_HOURS,
    event_days: int = EVENT_DAYS,
) -> pd.DataFrame:
    """Generate a dToU schedule for ``year`` with exactly the given run counts and band totals.

    Runs are 2-30 h long and separated by at least one Normal half-hour, so the run counts are exact.
    Deterministic by ``seed``.

    Parameters
    ----------
    year
        Calendar year of the schedule (the trial year).
    seed
        Random seed.
    n_high_runs, n_low_runs
        Number of High and Low runs.
    high_half_hours, low_half_hours
        Total High and Low half-hours.
    event_days
        Days on which events start (about; a few more when a day is full).

    Returns
    -------
    pandas.DataFrame
        Canonical tariff table: ``ts`` (GMT, start of half-hour), ``band``, ``price`` [GBP/kWh], one row per
        half-hour of the year.
    """
    rng = np.random.default_rng([seed, 101])
    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"), dtype="datetime64[D]")
    n_slots = len(days) * HALF_HOURS_PER_DAY
    code = np.zeros(n_slots, dtype=np.int8)  # 0 Normal, 1 High, 2 Low
    events = [(HIGH, int(x)) for x in _run_lengths(rng, n_high_runs, high_half_hours, MIN_RUN, MAX_RUN)]
    events += [(LOW, int(x)) for x in _run_lengths(rng, n_low_runs, low_half_hours, MIN_RUN, MAX_RUN)]
    n_events = len(events)
    chosen = np.sort(rng.choice(len(days) - 2, size=min(event_days, len(days) - 2), replace=False))
    # every chosen day gets one event, some get two
    day_of_event = np.concatenate([chosen, rng.choice(chosen, size=max(0, n_events - len(chosen)), replace=False)])
    day_of_event = day_of_event[:n_events]
    order = np.argsort([-length for _, length in events], kind="stable")
    rng.shuffle(day_of_event)
    for k, i in enumerate(order):
        band, length = events[i]
        day = int(day_of_event[k])
        for attempt in range(400):
            if attempt == 100:  # day is crowded: any day
                day = int(rng.integers(0, len(days) - 1))
            slot = _preferred_start(rng, band) if attempt < 200 else int(rng.integers(0, HALF_HOURS_PER_DAY))
            if attempt >= 100 and attempt % 10 == 0:
                day = int(rng.integers(0, len(days) - 1))
            start = day * HALF_HOURS_PER_DAY + slot
            lo, hi = max(start - 1, 0), start + length + 1
            if start + length > n_slots or code[lo:hi].any():
                continue
            code[start : start + length] = 1 if band == HIGH else 2
            break
        else:  # pragma: no cover - 161 runs in 17,520 half-hours always fit
            msg = "could not place every tariff event"
            raise RuntimeError(msg)
    band = np.array([NORMAL, HIGH, LOW], dtype=object)[code]
    ts = (days.astype("datetime64[us]")[:, None] + np.arange(HALF_HOURS_PER_DAY) * np.timedelta64(30, "m")).ravel()
    price = np.array([BAND_PRICES[NORMAL], BAND_PRICES[HIGH], BAND_PRICES[LOW]])[code]
    return pd.DataFrame({"ts": ts.astype("datetime64[us]"), "band": pd.array(band, dtype="str"), "price": price})


def schedule_runs(tariff: pd.DataFrame) -> pd.DataFrame:
    """The runs (events) of a tariff table: ``band``, ``start`` (ts), ``n_half_hours``; Normal excluded."""
    t = tariff.sort_values("ts").reset_index(drop=True)
    b = t["band"].to_numpy(dtype=object)
    gap = np.diff(t["ts"].to_numpy()) != np.timedelta64(30, "m")
    new = np.r_[True, (b[1:] != b[:-1]) | gap]
    run_id = np.cumsum(new) - 1
    runs = pd.DataFrame({"band": b[new], "start": t["ts"].to_numpy()[new], "n_half_hours": np.bincount(run_id)})
    return runs[runs["band"] != NORMAL].reset_index(drop=True)


def trial_year_tariff(schedule: pd.DataFrame | str | Path, year: int) -> pd.DataFrame:
    """A canonical tariff table for every half-hour of ``year`` from a given schedule.

    ``schedule`` is a canonical tariff DataFrame (``ts``, ``band``, optional ``price``) or a file read with
    ``flexpersona.io.read_tariff`` (``Tariffs.xlsx``/``.csv`` with ``TariffDateTime, Tariff``). Half-hours
    of the year the schedule lacks are Normal.
    """
    if not isinstance(schedule, pd.DataFrame):
        schedule = _read_schedule_file(Path(schedule))
    missing_cols = {"ts", "band"} - set(schedule.columns)
    if missing_cols:
        msg = f"the schedule table lacks {sorted(missing_cols)}; give a canonical tariff table (ts, band, price)"
        raise InputError("<schedule>", msg, "pass a DataFrame with columns ts, band (High|Normal|Low)")
    bad = set(schedule["band"].dropna().unique()) - set(BANDS)
    if bad:
        raise InputError("<schedule>", f"unknown tariff bands {sorted(bad)}", "use High, Normal or Low")
    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"), dtype="datetime64[D]")
    ts = (days.astype("datetime64[us]")[:, None] + np.arange(HALF_HOURS_PER_DAY) * np.timedelta64(30, "m")).ravel()
    full = pd.DataFrame({"ts": ts.astype("datetime64[us]")})
    given = schedule[["ts", "band"]].assign(ts=pd.to_datetime(schedule["ts"]).astype("datetime64[us]"))
    given = given.drop_duplicates("ts")
    out = full.merge(given, on="ts", how="left")
    n_gap = int(out["band"].isna().sum())
    if n_gap:
        log.info("schedule lacks %d half-hours of %d; they are Normal", n_gap, year)
    out["band"] = out["band"].fillna(NORMAL).astype("str")
    out["price"] = out["band"].map(BAND_PRICES).astype("float64")
    return out


def _read_schedule_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(path, "the schedule file does not exist", "give the path of Tariffs.xlsx or Tariffs.csv")
    try:
        from ..io import read_tariff  # the project's reader, when present
    except ImportError:
        read_tariff = None
    if read_tariff is not None:
        result = read_tariff(path)
        return getattr(result, "tariff", result)
    # fallback: London Datastore layout (TariffDateTime, Tariff)
    if path.suffix.lower() in {".xlsx", ".xls"}:
        raw = pd.read_excel(path)
    else:
        raw = pd.read_csv(path, encoding="utf-8-sig")
    if not {"TariffDateTime", "Tariff"} <= set(raw.columns):
        raise InputError(path, f"expected columns TariffDateTime, Tariff, found {list(raw.columns)}",
                         "give a London Datastore tariff file")
    ts = pd.to_datetime(raw["TariffDateTime"], format="mixed", dayfirst=False)
    return pd.DataFrame({"ts": ts, "band": raw["Tariff"].astype("str").str.strip()})
