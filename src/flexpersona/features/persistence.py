"""Persistence of the response over the trial (METHODS B.11): does it fade, hold or grow?

Per tariff event and group of households (the cohort, or a persona), the response is
``100 · Σ(y − ŷ) / Σŷ`` over the group's households with a reading in the event. A straight line through the
events' responses against time in the trial (months since the first event) gives the trend; its 95%
interval resamples households (multinomial weights, the same draws for every event, so that a household
that drives many events is resampled as one). For High events a positive slope means the reduction fades
(fatigue), a negative one that it grows; for Low events the signs are the other way round.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Days per month of the trend's time axis.
DAYS_PER_MONTH = 30.4375


def _event_matrix(event_households: pd.DataFrame, events: pd.DataFrame, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ(y − ŷ) and Σŷ per household (rows in ``ids`` order) x event (columns in ``events`` order)."""
    H, E = len(ids), len(events)
    D, Y = np.zeros((H, E)), np.zeros((H, E))
    if len(event_households) == 0 or H == 0 or E == 0:
        return D, Y
    hpos = pd.Series(np.arange(H), index=ids)
    epos = pd.Series(np.arange(E), index=events["event_id"].astype("int64").to_numpy())
    r = hpos.reindex(event_households["household_id"].astype(str).to_numpy()).to_numpy()
    c = epos.reindex(event_households["event_id"].astype("int64").to_numpy()).to_numpy()
    ok = ~np.isnan(r.astype(float)) & ~np.isnan(c.astype(float))
    r, c = r[ok].astype(np.int64), c[ok].astype(np.int64)
    sy = event_households["sy"].to_numpy(float)[ok]
    syh = event_households["syh"].to_numpy(float)[ok]
    np.add.at(D, (r, c), sy - syh)
    np.add.at(Y, (r, c), syh)
    return D, Y


def _slope(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(t[ok]) == 0:
        return float("nan"), float("nan")
    b, a = np.polyfit(t[ok], y[ok], 1)
    return float(b), float(a)


def _slopes(t: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of every row of ``Y`` (replicates x events) against ``t`` (NaN events left out)."""
    ok = np.isfinite(Y)
    n = ok.sum(axis=1)
    tt = np.where(ok, t[None, :], 0.0)
    yy = np.where(ok, Y, 0.0)
    tm = tt.sum(axis=1) / np.maximum(n, 1)
    ym = yy.sum(axis=1) / np.maximum(n, 1)
    cov = (np.where(ok, (t[None, :] - tm[:, None]) * (Y - ym[:, None]), 0.0)).sum(axis=1)
    var = (np.where(ok, (t[None, :] - tm[:, None]) ** 2, 0.0)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n >= 3) & (var > 0), cov / var, np.nan)


def verdict(band: str, slope: float, lo: float, hi: float) -> str:
    """The trend in words (per month of the trial)."""
    if not np.isfinite(slope) or not (np.isfinite(lo) and np.isfinite(hi)):
        return "not enough events to tell"
    fades = lo > 0 if band == "High" else hi < 0
    grows = hi < 0 if band == "High" else lo > 0
    if fades:
        return f"fades: the response weakens by {abs(slope):.2f} percentage points a month (95% interval {lo:+.2f} to {hi:+.2f})"
    if grows:
        return f"grows: the response strengthens by {abs(slope):.2f} percentage points a month (95% interval {lo:+.2f} to {hi:+.2f})"
    return f"holds: no trend distinguishable from zero ({slope:+.2f} pp a month, 95% interval {lo:+.2f} to {hi:+.2f})"


def persistence(
    event_households: pd.DataFrame,
    events: pd.DataFrame,
    groups: pd.Series | None = None,
    *,
    replicates: int = 200,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Response per event and its trend over the trial, for the cohort and each group.

    Parameters
    ----------
    event_households
        ``household_id``, ``event_id``, ``sy`` (Σy), ``syh`` (Σŷ) [kWh] of treatment households per event.
    events
        The events table (``event_id``, ``band``, ``start``).
    groups
        ``household_id`` → group label (e.g. persona id); None gives the cohort only.
    replicates, seed
        Household bootstrap of the slopes.

    Returns
    -------
    per_event : pandas.DataFrame
        ``group``, ``band``, ``event_id``, ``start``, ``months`` (since the first event), ``response_pct`` [%],
        ``n_households``.
    trend : dict
        ``group -> band -> {slope_pct_per_month, ci_low, ci_high, intercept_pct, n_events, verdict}``.
    """
    ev = events.sort_values("start").reset_index(drop=True)
    ids = np.unique(event_households["household_id"].astype(str).to_numpy()) if len(event_households) else np.array([], dtype=str)
    D, Y = _event_matrix(event_households, ev, ids)
    start = pd.to_datetime(ev["start"])
    months = ((start - start.min()) / pd.Timedelta(days=1)).to_numpy(dtype=float) / DAYS_PER_MONTH if len(ev) else np.array([])
    labels = {"all": np.ones(len(ids), dtype=bool)}
    if groups is not None:
        g = groups.copy()
        g.index = g.index.astype(str)
        g = g.reindex(ids)
        for k in sorted(str(x) for x in g.dropna().unique()):
            labels[k] = (g == k).to_numpy()
    rng = np.random.default_rng(seed)
    U = rng.multinomial(len(ids), np.full(len(ids), 1.0 / max(len(ids), 1)), size=replicates).astype(float) if len(ids) else np.zeros((replicates, 0))
    rows, trend = [], {}
    for name, sel in labels.items():
        trend[name] = {}
        for band in ("High", "Low"):
            cols = np.flatnonzero(ev["band"].to_numpy() == band)
            if len(cols) == 0 or not sel.any():
                continue
            d, y = D[sel][:, cols], Y[sel][:, cols]
            with np.errstate(invalid="ignore", divide="ignore"):
                resp = np.where(y.sum(axis=0) > 0, 100 * d.sum(axis=0) / y.sum(axis=0), np.nan)
                u = U[:, sel]
                reps = np.where(u @ y > 0, 100 * (u @ d) / (u @ y), np.nan)
            t = months[cols]
            b, a = _slope(t, resp)
            bs = _slopes(t, reps)
            lo, hi = (np.nanpercentile(bs, [2.5, 97.5]) if np.isfinite(bs).sum() >= 10 else (np.nan, np.nan))
            trend[name][band] = {"slope_pct_per_month": b, "ci_low": float(lo), "ci_high": float(hi),
                                 "intercept_pct": a, "n_events": int(np.isfinite(resp).sum()),
                                 "n_households": int(sel.sum()), "verdict": verdict(band, b, float(lo), float(hi))}
            rows.append(pd.DataFrame({"group": name, "band": band, "event_id": ev["event_id"].to_numpy()[cols],
                                      "start": ev["start"].to_numpy()[cols], "months": t, "response_pct": resp,
                                      "n_households": (y > 0).sum(axis=0)}))
    per_event = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["group", "band", "event_id", "start", "months", "response_pct", "n_households"])
    return per_event, trend
