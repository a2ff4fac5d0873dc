"""Response estimates (METHODS B.1) and their day-block bootstrap, on per household x day aggregates.

The engine reduces the readings to, per household and trial day and response category, Σy, Σŷ and the
number of half-hours (``day_agg``), and, per household and reference day, the linearised influence of that
day's reference readings on Σŷ (``ref_influence``; see :mod:`flexpersona.features.definitions`). Everything
here is numpy on those small arrays, identical for both engines.

Response of a household in a set of half-hours b: ``100 · Σ_b (y − ŷ) / Σ_b ŷ`` [%] (negative =
reduction). Bootstrap replicate r reweights trial days by day-block weights ``w`` and reference days by ``v``
(the same blocks when the reference is within the trial year, independent blocks of the baseline year
otherwise): ``Σy* = Σ_d w_d Y_d``, ``Σŷ* = Σ_d w_d Ŷ_d + Σ_d' v_d' E_d'``. 95% percentile intervals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..stats import row_percentiles
from .calendar import CATEGORIES, HIGH_CATS, INTERVAL_CATS, PEAK_CATS, TOD_NAMES

logger = logging.getLogger(__name__)

#: Measures reported per household: name -> (categories, day filter). Day filters: None (every trial day),
#: ``weekday``/``weekend``, ``h1``/``h2`` (first/second half of the observed trial days: temporal validation),
#: ``wa``/``wb`` (alternating weeks of the trial: the two halves of the events used for cross-fitting).
MEASURES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "high": (HIGH_CATS, None),
    "high_weekday": (HIGH_CATS, "weekday"),
    "high_weekend": (HIGH_CATS, "weekend"),
    **{f"high_{t}": (tuple(c for c in HIGH_CATS if c.startswith(f"high_{t}")), None) for t in TOD_NAMES},
    "high_peak": (PEAK_CATS, None),
    "low": (("low",), None),
    "rebound": (("rebound",), None),
    "pseudo": (("pseudo",), None),
    # Normal half-hours of event days: the spillover with the event-free reference (docs/counterfactual.md)
    "spill": (("spill",), None),
    # the Normal band (outside rebound/pseudo windows), and its half-hours on event-free days only
    "normal": (("normal", "spill"), None),
    "normal_free": (("normal",), None),
    **{f"{m}_{h}": (HIGH_CATS if m == "high" else ("low",), h) for m in ("high", "low") for h in ("h1", "h2", "wa", "wb")},
    **{f"high_peak_{h}": (PEAK_CATS, h) for h in ("wa", "wb")},
}
#: The two halves of each split: (first, second).
SPLITS = {"year": ("h1", "h2"), "weeks": ("wa", "wb")}
#: Measures whose bootstrap replicates are kept per household (toolkit kW intervals, cross-fitted kW).
REPLICATE_MEASURES = (
    "high", "high_peak", *(f"high_{t}" for t in TOD_NAMES), "high_wa", "high_wb", "high_peak_wa", "high_peak_wb",
)


def block_weights(n_days: int, block_days: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Day weights of a block bootstrap: blocks of ``block_days`` consecutive days drawn with replacement.

    Returns
    -------
    numpy.ndarray
        ``(replicates, n_days)`` counts; each row sums to about ``n_days``.
    """
    block = np.arange(n_days) // max(int(block_days), 1)
    nb = int(block.max()) + 1 if n_days else 0
    draws = rng.integers(nb, size=(replicates, nb))
    counts = np.zeros((replicates, nb))
    np.add.at(counts, (np.repeat(np.arange(replicates), nb), draws.ravel()), 1.0)
    return counts[:, block]


@dataclass
class DayArrays:
    """Per household x day sums of one engine run (rows follow ``households``)."""

    households: np.ndarray
    groups: np.ndarray
    wkend: np.ndarray  # per trial day
    period: np.ndarray  # per trial day: the reference cell's period (month or season)
    day: np.ndarray  # per trial day: days since 1970-01-01
    y: dict[str, np.ndarray]
    yhat: dict[str, np.ndarray]
    n: dict[str, np.ndarray]  # half-hour counts (int16 when small, see _counts)
    ref_wkend: np.ndarray  # per reference day
    ref_period: np.ndarray  # per reference day
    e: dict[str, np.ndarray]
    ref_in_trial: np.ndarray | None  # index of each reference day among trial days (within-trial reference)


def day_arrays(
    day_agg: pd.DataFrame,
    ref_influence: pd.DataFrame,
    households: pd.DataFrame,
    calendar: pd.DataFrame,
    *,
    within_trial: bool,
) -> DayArrays:
    """Pivot the engine's aggregates to dense household x day arrays (missing = 0).

    ``day_agg`` (``hid``, ``day``, ``cat`` = code of :data:`CATEGORIES`, ``sy``, ``syh``, ``n``) and
    ``ref_influence`` (``hid``, ``day``, ``e_*``) are keyed by the household's position in ``households``
    (:data:`~flexpersona.features.definitions.DAY_AGG`, :data:`~flexpersona.features.definitions.REF_INFLUENCE`);
    rows of one cell are added in the order of the table.
    """
    hh = households.reset_index(drop=True)
    cols = ["day", "wkend", "period"]
    tcal = calendar.loc[calendar["is_trial"] == 1, cols].drop_duplicates("day").sort_values("day")
    tdays = tcal["day"].to_numpy()
    rcal = calendar.loc[calendar["ref"] == 1, cols].drop_duplicates("day").sort_values("day")
    rdays = rcal["day"].to_numpy()
    H = len(hh)
    cat = day_agg["cat"].to_numpy()
    a: dict[str, dict[str, np.ndarray]] = {"sy": {}, "syh": {}, "n": {}}
    grid = _Grid(day_agg, tdays, H)
    for code, c in enumerate(CATEGORIES):
        d = grid.sums(["sy", "syh", "n"], cat == code)
        d["n"] = _counts(d["n"])
        for k in a:
            a[k][c] = d[k]
    e = _Grid(ref_influence, rdays, H).sums([f"e_{c}" for c in INTERVAL_CATS])
    ref_in_trial = None
    if within_trial:
        ref_in_trial = np.searchsorted(tdays, rdays)
    return DayArrays(
        households=hh["household_id"].to_numpy(),
        groups=hh["grp"].to_numpy(),
        wkend=tcal["wkend"].to_numpy() == 1,
        period=tcal["period"].to_numpy(),
        day=tdays,
        y=a["sy"],
        yhat=a["syh"],
        n=a["n"],
        ref_wkend=rcal["wkend"].to_numpy() == 1,
        ref_period=rcal["period"].to_numpy(),
        e={c: e[f"e_{c}"] for c in INTERVAL_CATS},
        ref_in_trial=ref_in_trial,
    )


def _counts(n: np.ndarray) -> np.ndarray:
    """Half-hour counts (whole numbers) as ``int16`` when they are small (a day has 48; memory, issue 14): every
    use adds them in floating point or to each other (at most 13 categories), so the values are the same."""
    return n.astype(np.int16) if n.max(initial=0) <= 1024 else n


class _Grid:
    """The rows of a table keyed by ``hid`` and ``day`` placed on the dense household x day grid of ``days``
    (rows of other households or days are skipped), located once for all the columns and row selections summed
    from it (:func:`day_arrays` places its two tables once each instead of once per category and table: 2 instead of 14)."""

    def __init__(self, df: pd.DataFrame, days: np.ndarray, H: int) -> None:
        self.df, self.shape = df, (H, len(days))
        rows, day = df["hid"].to_numpy(), df["day"].to_numpy()
        cidx = np.searchsorted(days, day)
        ok = (rows >= 0) & (rows < H) & (cidx < len(days))
        ok[ok] &= days[cidx[ok]] == day[ok]
        self.ok = ok
        # the flat cell index (meaningful where ok), in 32 bits when the grid allows (memory, issue 14)
        itype = np.int32 if H * len(days) < 2**31 else np.int64
        self.flat = rows.astype(itype) * itype(len(days)) + cidx.astype(itype)

    def sums(self, cols: list[str], sel: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """``(H, len(days))`` arrays of ``cols`` summed over the rows ``sel`` (all: None) by ``hid`` and ``day``."""
        keep = self.ok if sel is None else self.ok & sel
        flat = self.flat[keep]
        out = {}
        for c in cols:
            # only the kept rows in float (no copy of the whole column: memory, issue 14); bincount adds the rows
            # in order as np.add.at does (the same sums, bit for bit), ~10x faster
            v = np.nan_to_num(self.df[c].to_numpy()[keep].astype(float))
            out[c] = np.bincount(flat, weights=v, minlength=self.shape[0] * self.shape[1]).reshape(self.shape)
        return out


def day_adjustment(arr: DayArrays, *, shrink: float) -> tuple[DayArrays, np.ndarray]:
    """Same-day adjusted counterfactual: ŷ of non-Normal categories times the day's Normal ratio.

    ``A_hd = (Σ_N y + k·m) / (Σ_N ŷ + k·m)`` over household h's Normal half-hours of day d (rebound and
    time-placebo half-hours are not Normal), with ``m`` the mean ŷ per Normal half-hour of that day and
    ``k = shrink`` pseudo half-hours that pull A towards 1; ``A = 1`` on a day without Normal half-hours.
    The Normal categories (``normal``, and ``spill`` on event days) are left unadjusted (they define A).
    Returns the adjusted arrays and A.
    """
    yn, yhn, nn = (arr.y["normal"] + arr.y["spill"], arr.yhat["normal"] + arr.yhat["spill"],
                   arr.n["normal"] + arr.n["spill"])
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(nn > 0, yhn / np.where(nn > 0, nn, 1.0), 0.0)
        num, den = yn + shrink * m, yhn + shrink * m
        a = np.where((nn > 0) & (den > 0), num / np.where(den > 0, den, 1.0), 1.0)
    yhat = {c: (v if c in ("normal", "spill") else v * a) for c, v in arr.yhat.items()}
    return replace(arr, yhat=yhat), a


@dataclass
class Weights:
    w: np.ndarray  # (R, trial days)
    v: np.ndarray  # (R, reference days)
    u: np.ndarray  # (R, households) multinomial household weights (cohort intervals)


def make_weights(arr: DayArrays, *, replicates: int, block_days: int, seed: int) -> Weights:
    """Seeded bootstrap weights for the trial days, the reference days and the households."""
    rng = np.random.default_rng(seed)
    D = len(arr.wkend)
    w = block_weights(D, block_days, replicates, rng)
    if arr.ref_in_trial is not None:
        v = w[:, arr.ref_in_trial]
    else:
        v = block_weights(len(arr.ref_wkend), block_days, replicates, rng)
    H = len(arr.households)
    u = rng.multinomial(H, np.full(H, 1.0 / H), size=replicates).astype(float) if H else np.zeros((replicates, 0))
    return Weights(w=w, v=v, u=u)


def _sum_cats(d: dict[str, np.ndarray], cats: tuple[str, ...]) -> np.ndarray:
    # in float64 whatever the dtype of the parts (counts are int16)
    return sum((d[c] for c in cats), start=np.zeros(next(iter(d.values())).shape))


def _masked(total: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """A :func:`_sum_cats` ``total`` with each day's column times ``mask`` (None: all days, ``total`` itself)."""
    return total if mask is None else total * mask[None, :]


def _in_category_order() -> list[str]:
    """:data:`MEASURES` with the measures of the same categories next to each other (stable within them), so that
    one sum over their categories serves them all (the High categories: seven measures)."""
    first = {}
    for cats, _ in MEASURES.values():
        first.setdefault(cats, len(first))
    return sorted(MEASURES, key=lambda m: first[MEASURES[m][0]])


def _pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 100.0 * num / np.where(den > 0, den, 1.0), np.nan)


def day_masks(arr: DayArrays) -> dict[str | None, np.ndarray | None]:
    """Trial-day selection of every day filter of :data:`MEASURES` (None = every day)."""
    D = len(arr.wkend)
    idx = np.arange(D)
    # halves of the observed trial period (the days with any reading), split at its middle day
    observed = np.flatnonzero(sum(arr.n[c].sum(axis=0) for c in CATEGORIES) > 0)
    cut = int(observed[len(observed) // 2]) if len(observed) else D // 2
    week = (arr.day - arr.day[0]) // 7 if D else idx
    return {
        None: None,
        "weekday": ~arr.wkend,
        "weekend": arr.wkend.copy(),
        "h1": idx < cut,
        "h2": idx >= cut,
        "wa": week % 2 == 0,
        "wb": week % 2 == 1,
    }


def reference_share(arr: DayArrays, mask: np.ndarray | None) -> np.ndarray | None:
    """Weight of each reference day's influence on a measure restricted to the trial days ``mask``.

    A reference day informs the reference cells of its period and day type; its influence on a measure is
    scaled by the share of that (period, day type)'s trial days the measure keeps (1 = all of them, so the
    weekday/weekend split is exact and a half-year split nearly so; alternating weeks give about 1/2).
    """
    if mask is None:
        return None
    key_t = arr.period.astype(np.int64) * 2 + arr.wkend.astype(np.int64)
    key_r = arr.ref_period.astype(np.int64) * 2 + arr.ref_wkend.astype(np.int64)
    size = int(max(key_t.max(initial=0), key_r.max(initial=0))) + 1
    kept = np.bincount(key_t, weights=mask.astype(float), minlength=size)
    total = np.bincount(key_t, minlength=size).astype(float)
    share = np.divide(kept, total, out=np.zeros(size), where=total > 0)
    return share[key_r]


def estimate_responses(
    arr: DayArrays, weights: Weights
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """Per-household responses with 95% day-block intervals, and the cohort response per group.

    Returns
    -------
    per_household : pandas.DataFrame
        ``household_id``, ``grp`` and, per measure m of :data:`MEASURES`: ``{m}_pct`` [%], ``{m}_ci_low``,
        ``{m}_ci_high``, ``{m}_se`` [%] (bootstrap standard deviation), ``{m}_kwh`` (Σ(y−ŷ) [kWh]),
        ``{m}_yhat_kwh`` (Σŷ [kWh]), ``{m}_n`` (half-hours).
    cohort : dict
        Per group and measure: ``pct``, ``ci_low``, ``ci_high`` (households and day blocks resampled).
    replicates : dict
        Per measure of :data:`REPLICATE_MEASURES`: ``kw`` (mean kW change per half-hour of the measure,
        ``2·Σ(y−ŷ)/n``) and ``pct`` [%] of every household in every day-block replicate, ``(H, R)`` arrays
        (NaN where the replicate drew none of its half-hours); the same day weights for every household.
    """
    out: dict[str, Any] = {"household_id": arr.households, "grp": arr.groups}
    cohort: dict[str, Any] = {}
    replicates: dict[str, dict[str, np.ndarray]] = {}
    # a meter that reads zero over the whole trial (dead or disconnected) has no measurable response
    total_y = sum(arr.y[c].sum(axis=1) for c in CATEGORIES)
    total_n = sum(arr.n[c].sum(axis=1) for c in CATEGORIES)
    dead = (total_n > 0) & (total_y <= 0)
    out["all_zero_trial"] = dead
    masks = day_masks(arr)
    results = {}
    last, totals = None, {}
    for m in _in_category_order():
        cats, day_filter = MEASURES[m]
        if cats != last:  # Σ over the categories once for the measures that share them
            last, totals = cats, {k: _sum_cats(getattr(arr, k), cats) for k in ("y", "yhat", "n")}
            totals["e"] = _sum_cats(arr.e, cats) if all(c in arr.e for c in cats) else None
        results[m] = _one_measure(arr, weights, totals, masks[day_filter], dead, keep=m in REPLICATE_MEASURES)
    for m in MEASURES:  # columns, cohort and replicates in the order of MEASURES
        cols, by_group, reps = results[m]
        out.update({f"{m}_{k}": v for k, v in cols.items()})
        for g, values in by_group.items():
            cohort.setdefault(g, {})[m] = values
        if reps is not None:
            replicates[m] = reps
    return pd.DataFrame(out), cohort, replicates


def _one_measure(
    arr: DayArrays, weights: Weights, totals: dict[str, np.ndarray | None], dmask: np.ndarray | None,
    dead: np.ndarray, *, keep: bool,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]], dict[str, np.ndarray] | None]:
    """One measure of :func:`estimate_responses` from its categories' unmasked sums ``totals`` (``y``, ``yhat``,
    ``n``, and ``e`` or None) on the trial days ``dmask``: its per-household columns (named without the
    measure's ``{m}_`` prefix), its cohort per group, and (``keep``) its replicates."""
    mask = None if dmask is None else dmask.astype(float)
    Y, YH, Nd = (_masked(totals[k], mask) for k in ("y", "yhat", "n"))
    N = Nd.sum(axis=1)
    N[dead] = 0
    sy, syh = Y.sum(axis=1), YH.sum(axis=1)
    pct = _pct(sy - syh, syh)
    pct[N == 0] = np.nan
    ys = Y @ weights.w.T
    yhs = YH @ weights.w.T
    yhs_trial = yhs
    if totals["e"] is not None:
        yhs = yhs + _masked(totals["e"], reference_share(arr, dmask)) @ weights.v.T
    reps = _pct(ys - yhs, yhs)
    reps[yhs_trial <= 0] = np.nan  # no half-hour of the measure drawn in this replicate
    reps[N == 0] = np.nan
    lo, hi = row_percentiles(reps, [2.5, 97.5])
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(reps)
        cnt = finite.sum(axis=1)
        r0 = np.where(finite, reps, 0.0)
        mean = r0.sum(axis=1) / np.maximum(cnt, 1)
        var = (np.where(finite, reps - mean[:, None], 0.0) ** 2).sum(axis=1) / np.maximum(cnt - 1, 1)
    se = np.where(cnt >= 2, np.sqrt(var), np.nan)
    cols = {"pct": pct, "ci_low": lo, "ci_high": hi, "se": se, "kwh": np.where(N > 0, sy - syh, np.nan),
            "yhat_kwh": np.where(N > 0, syh, np.nan), "n": N}
    kept = None
    if keep:
        ns = Nd @ weights.w.T
        with np.errstate(invalid="ignore", divide="ignore"):
            kw = np.where(ns > 0, 2.0 * (ys - yhs) / np.where(ns > 0, ns, 1.0), np.nan)
        kw[N == 0] = np.nan
        kept = {"kw": kw, "pct": reps}
    groups: dict[str, dict[str, Any]] = {}
    for g in np.unique(arr.groups):
        sel = (arr.groups == g) & (N > 0)
        if not sel.any():
            continue
        u = weights.u[:, sel]
        u = u * (sel.sum() / np.maximum(u.sum(axis=1, keepdims=True), 1e-12))
        num = (u * (ys[sel] - yhs[sel]).T).sum(axis=1)
        den = (u * yhs[sel].T).sum(axis=1)
        cr = _pct(num, den)
        cr[(u * yhs_trial[sel].T).sum(axis=1) <= 0] = np.nan
        c_lo, c_hi = row_percentiles(cr[None, :], [2.5, 97.5])[:, 0]
        groups[str(g)] = {
            "pct": float(_pct(np.array([(sy - syh)[sel].sum()]), np.array([syh[sel].sum()]))[0]),
            "ci_low": float(c_lo),
            "ci_high": float(c_hi),
            "n_households": int(sel.sum()),
        }
    return cols, groups, kept


def adjust_events(
    event_agg: pd.DataFrame, events: pd.DataFrame, arr: DayArrays, factor: np.ndarray, trial_days: np.ndarray
) -> pd.DataFrame:
    """Apply the same-day factor of each event's first day to the per household x event Σŷ."""
    if len(event_agg) == 0:
        return event_agg
    start_day = (pd.to_datetime(events["start"]) - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)
    day_of = pd.Series(np.searchsorted(trial_days, start_day.to_numpy()), index=events["event_id"].to_numpy())
    pos = pd.Series(np.arange(len(arr.households)), index=arr.households)
    r = pos.reindex(event_agg["household_id"].to_numpy()).to_numpy()
    d = day_of.reindex(event_agg["event_id"].astype("int64").to_numpy()).to_numpy()
    ok = ~np.isnan(r.astype(float))
    f = np.ones(len(event_agg))
    f[ok] = factor[r[ok].astype(np.int64), d[ok].astype(np.int64)]
    return event_agg.assign(syh=event_agg["syh"].to_numpy(dtype=float) * f)


def event_table(
    event_agg: pd.DataFrame, events: pd.DataFrame, *, replicates: int, seed: int
) -> pd.DataFrame:
    """One row per tariff event: the treatment cohort's response with a household-bootstrap 95% interval.

    Returns
    -------
    pandas.DataFrame
        ``event_id``, ``band``, ``start``, ``end``, ``n_halfhours``, ``n_households`` (with a reading in
        the event), ``response_pct`` [%], ``ci_low``, ``ci_high``, ``kwh_change`` (Σ(y−ŷ) over the cohort
        [kWh]), ``mean_kw_change`` (mean over households of the mean (y−ŷ) per half-hour x 2 [kW]).
    """
    ev = events.copy()
    cols = ["n_households", "response_pct", "ci_low", "ci_high", "kwh_change", "mean_kw_change"]
    if len(ev) == 0:
        for c in cols:
            ev[c] = pd.Series(dtype="float64")
        return ev
    agg = event_agg.copy()
    agg["event_id"] = agg["event_id"].astype("int64")
    hids = np.unique(agg["household_id"].to_numpy())
    E = len(ev)
    eidx = pd.Series(np.arange(E), index=ev["event_id"].to_numpy())
    hpos = pd.Series(np.arange(len(hids)), index=hids)
    r = hpos.reindex(agg["household_id"].to_numpy()).to_numpy()
    c = eidx.reindex(agg["event_id"].to_numpy()).to_numpy()
    D = np.zeros((len(hids), E))
    YH = np.zeros((len(hids), E))
    Nn = np.zeros((len(hids), E))
    sy = agg["sy"].to_numpy(float)
    syh = agg["syh"].to_numpy(float)
    np.add.at(D, (r, c), sy - syh)
    np.add.at(YH, (r, c), syh)
    np.add.at(Nn, (r, c), agg["n"].to_numpy(float))
    rng = np.random.default_rng(seed + 1)
    H = len(hids)
    U = rng.multinomial(H, np.full(H, 1.0 / H), size=replicates).astype(float) if H else np.zeros((replicates, 0))
    num = U @ D
    den = U @ YH
    reps = _pct(num, den)
    ev["n_households"] = (Nn > 0).sum(axis=0)
    ev["response_pct"] = _pct(D.sum(axis=0), YH.sum(axis=0))
    lo, hi = row_percentiles(reps.T, [2.5, 97.5])
    ev["ci_low"], ev["ci_high"] = lo, hi
    ev["kwh_change"] = D.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kw = np.where(Nn > 0, 2.0 * D / np.where(Nn > 0, Nn, 1.0), np.nan)
    cnt = np.isfinite(kw).sum(axis=0)
    ev["mean_kw_change"] = np.where(cnt > 0, np.nansum(kw, axis=0) / np.maximum(cnt, 1), np.nan)
    return ev


def events_per_household(event_agg: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Number of High and Low events with at least one reading, per treatment household."""
    if len(event_agg) == 0:
        return pd.DataFrame({"household_id": pd.Series(dtype="str"), "n_high_events": [], "n_low_events": []})
    bands = events.set_index("event_id")["band"]
    agg = event_agg.assign(band=bands.reindex(event_agg["event_id"].astype("int64").to_numpy()).to_numpy())
    out = (
        agg.assign(hi=(agg["band"] == "High").astype(int), lo=(agg["band"] == "Low").astype(int))
        .groupby("household_id", as_index=False)[["hi", "lo"]]
        .sum()
        .rename(columns={"hi": "n_high_events", "lo": "n_low_events"})
    )
    return out
