"""kW per 1,000 households with honest intervals (METHODS B.10), cross-fitted for personas (B.9).

The point estimate of a group's kW reduction per 1,000 households is ``1000 × mean over its households of
−high_response_kw`` (the mean kW change per High half-hour, ``2·Σ(y − ŷ)/n``). Its interval adds, in every
replicate ``r``, three independent errors of that mean (:func:`group_kw`):

- **households**: multinomial weights over the group's households and their point estimates;
- **day blocks shared by households**: the group mean of the households' kW under replicate ``r``'s day-block
  weights (``replicates.parquet``, written by the feature stage with the same day weights for every
  household), keeping only the variance households share (a day that moves many households moves them
  together, which resampling households cannot see);
- **control households**, which make every counterfactual: the control group's placebo response (load-
  weighted) under a multinomial resample of the controls, ``δ_r``, minus its mean; it moves every treatment
  household's counterfactual by ``δ_r`` %, i.e. its kW change by ``−baseline_kw · δ_r / 100``.

A persona's (or segment's) numbers are **cross-fitted**: its households are assigned on one half of the
events (alternating weeks) and measured on the other, both ways (``personas.parquet`` ``persona_id_wa`` /
``persona_id_wb``; features ``high_response_kw_wa`` / ``_wb``). The in-sample mean over the full-trial
assignment is reported beside it (``*_insample``) to show the regression to the mean it avoids.

Measures: ``high`` (every High half-hour), ``high_peak`` (High half-hours in the system-peak window,
``features.system_peak_hours``) and ``high_<time of day>`` (night, morning, afternoon, evening).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..features.calendar import TOD_NAMES

#: Measure -> (features column of the kW change, features column of the baseline kW).
KW_MEASURES = {
    "high": ("high_response_kw", "high_baseline_kw"),
    "high_peak": ("high_response_kw_peak", "high_baseline_kw_peak"),
    **{f"high_{t}": (f"high_response_kw_{t}", f"high_baseline_kw_{t}") for t in TOD_NAMES},
}
#: Cross-fitted measures: measure -> replicate measure of half ``{h}``.
CROSSFIT_KW = {"high": "high_{h}", "high_peak": "high_peak_{h}"}
HALVES = ("wa", "wb")


@dataclass
class ReplicateSet:
    """Bootstrap replicates of one measure as dense arrays.

    ``kw_t`` (treatment households x R, kW change), ``pct_c`` (control households x R, placebo %),
    ``base_t``/``base_c`` (baseline kW of each household), ``ids_t`` (treatment ids in row order).
    """

    ids_t: np.ndarray
    kw_t: np.ndarray
    base_t: np.ndarray
    pct_c: np.ndarray
    base_c: np.ndarray


class ReplicateTable:
    """The ``replicates`` table indexed once for :func:`replicate_set`.

    For each group and household order it keeps where every row of the table goes in the dense
    (households x R) arrays, so that a measure's arrays are one column gather instead of a string filter and a
    household-id lookup over the whole table (a toolkit run asks for 24 of them: ~0.3 s each at full LCL size).
    """

    def __init__(self, replicates: pd.DataFrame) -> None:
        self.table = replicates
        self.R = int(replicates["replicate"].max()) + 1
        self._groups: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._where: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _group(self, group: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row numbers of ``group`` in the table, their household ids (str) and replicate numbers."""
        if group not in self._groups:
            t = self.table
            rows = np.flatnonzero((t["group"] == group).to_numpy(dtype=bool, na_value=False))
            sub = t.iloc[rows]
            self._groups[group] = (rows, sub["household_id"].astype(str).to_numpy(), sub["replicate"].to_numpy())
        return self._groups[group]

    def dense(self, group: str, column: str, ids: np.ndarray) -> np.ndarray:
        """``column`` of ``group``'s rows as (households in ``ids`` order) x R; NaN where the table has no row."""
        key = (group, tuple(ids))
        if key not in self._where:
            rows, hh, rep = self._group(group)
            pos = pd.Series(np.arange(len(ids)), index=ids).reindex(hh).to_numpy()
            ok = ~np.isnan(pos.astype(float))
            self._where[key] = (rows[ok], pos[ok].astype(np.int64), rep[ok])
        table_rows, out_rows, out_cols = self._where[key]
        out = np.full((len(ids), self.R), np.nan)
        out[out_rows, out_cols] = self.table[column].to_numpy(dtype=float)[table_rows]
        return out


def replicate_set(replicates: pd.DataFrame | ReplicateTable, features: pd.DataFrame, placebo: pd.DataFrame | None,
                  measure: str, base_col: str) -> ReplicateSet | None:
    """Dense replicates of ``measure`` (``{measure}_kw`` of treatment, ``{measure}_pct`` of control)."""
    table = replicates.table if isinstance(replicates, ReplicateTable) else replicates
    if table is None or table.empty or f"{measure}_kw" not in table.columns:
        return None
    rt = replicates if isinstance(replicates, ReplicateTable) else ReplicateTable(table)
    ids_t = features["household_id"].astype(str).to_numpy()
    kw_t = rt.dense("treatment", f"{measure}_kw", ids_t)
    base_t = pd.to_numeric(features.get(base_col), errors="coerce").to_numpy(dtype=float) if base_col in features else np.full(len(ids_t), np.nan)
    if placebo is not None and not placebo.empty and base_col in placebo.columns:
        ids_c = placebo["household_id"].astype(str).to_numpy()
        pct_c = rt.dense("control", f"{measure}_pct", ids_c)
        base_c = pd.to_numeric(placebo[base_col], errors="coerce").to_numpy(dtype=float)
    else:
        pct_c, base_c = np.zeros((0, kw_t.shape[1])), np.zeros(0)
    return ReplicateSet(ids_t, kw_t, base_t, pct_c, base_c)


def control_shift(rs: ReplicateSet, rng: np.random.Generator) -> np.ndarray:
    """``δ_r`` [%]: the controls' load-weighted placebo response in each replicate (controls resampled), minus
    its mean over replicates; zeros without control replicates."""
    R = rs.kw_t.shape[1]
    if rs.pct_c.shape[0] < 2:
        return np.zeros(R)
    ok = np.isfinite(rs.base_c) & (rs.base_c > 0)
    pc, bc = rs.pct_c[ok], rs.base_c[ok]
    V = rng.multinomial(len(bc), np.full(len(bc), 1.0 / len(bc)), size=R).astype(float)  # (R, Hc)
    w = V * bc[None, :]
    val = np.where(np.isfinite(pc.T), pc.T, 0.0)
    fin = np.isfinite(pc.T)
    delta = (w * val).sum(axis=1) / np.maximum((w * fin).sum(axis=1), 1e-12)
    return delta - np.nanmean(delta)


def group_kw(
    kw_point: np.ndarray,
    kw_reps: np.ndarray,
    base: np.ndarray,
    owner: np.ndarray,
    delta: np.ndarray,
    rng: np.random.Generator,
    n_households: int,
) -> dict[str, float]:
    """kW reduction per 1,000 households of a group with its joint bootstrap interval.

    Replicate ``r`` adds three independent errors of the group mean:

    - **households**: the mean of the members' point estimates under multinomial household weights (its spread
      already holds each household's own estimation noise);
    - **common day blocks**: the group mean of the members' day-block replicates minus its mean over
      replicates, shrunk so that its variance is only the part that households share (the total minus the
      members' own replicate variances over their number): re-adding each household's own noise would count it
      twice;
    - **controls**: ``−mean baseline kW × δ_r / 100``.

    Parameters
    ----------
    kw_point
        Point kW change of each member (or cross-fit pair) [kW].
    kw_reps
        Its day-block replicates (members x R).
    base
        Baseline kW of each member (scales the control shift).
    owner
        Index of the household each member belongs to (a household resampled k times counts k times).
    delta
        Control shift of each replicate [%].
    n_households
        Households the resampling draws from.
    """
    ok = np.isfinite(kw_point)
    nan = float("nan")
    if ok.sum() < 2:
        return {"kw_per_1000": 1000 * float(-np.nanmean(kw_point)) if ok.any() else nan, "ci_low": nan,
                "ci_high": nan, "n": int(ok.sum())}
    kw_point, kw_reps, base, owner = kw_point[ok], kw_reps[ok], base[ok], owner[ok]
    R = kw_reps.shape[1]
    U = rng.multinomial(n_households, np.full(n_households, 1.0 / n_households), size=R).astype(float)
    u = U[:, owner]  # (R, members)
    households = (u * kw_point[None, :]).sum(axis=1) / np.maximum(u.sum(axis=1), 1e-12)
    with np.errstate(invalid="ignore"):
        group_rep = np.nanmean(kw_reps, axis=0)  # (R,) the group mean under each replicate's day weights
        common = group_rep - np.nanmean(group_rep)
        own = np.nanmean(np.nanvar(kw_reps, axis=1, ddof=1)) / len(kw_point)
    total = float(np.nanvar(common, ddof=1)) if np.isfinite(common).sum() > 1 else 0.0
    shrink = np.sqrt(max(total - own, 0.0) / total) if total > 0 else 0.0
    b = np.where(np.isfinite(base), base, 0.0)
    mean_base = (u * b[None, :]).sum(axis=1) / np.maximum(u.sum(axis=1), 1e-12)
    value = households + shrink * np.nan_to_num(common) - mean_base * delta / 100.0
    lo, hi = np.nanpercentile(-1000.0 * value, [2.5, 97.5])
    return {"kw_per_1000": float(-1000.0 * kw_point.mean()), "ci_low": float(lo), "ci_high": float(hi),
            "n": int(len(kw_point)), "common_day_share": float(1 - own / total) if total > 0 else 0.0}


def indexed(replicates: pd.DataFrame | ReplicateTable | None) -> ReplicateTable | None:
    """``replicates`` as a :class:`ReplicateTable` (None when absent or empty)."""
    if replicates is None or isinstance(replicates, ReplicateTable):
        return replicates
    return None if replicates.empty else ReplicateTable(replicates)


def cohort_kw(features: pd.DataFrame, placebo: pd.DataFrame | None,
              replicates: pd.DataFrame | ReplicateTable | None, *, seed: int) -> dict[str, dict[str, float]]:
    """Every treatment household's kW reduction per 1,000 for each measure of :data:`KW_MEASURES`."""
    out = {}
    replicates = indexed(replicates)
    for m, (col, base_col) in KW_MEASURES.items():
        if col not in features.columns:
            continue
        rs = replicate_set(replicates, features, placebo, m, base_col)
        if rs is None:
            continue
        rng = np.random.default_rng([seed, len(out)])
        point = pd.to_numeric(features[col], errors="coerce").to_numpy(dtype=float)
        delta = control_shift(rs, rng)
        owner = np.arange(len(point))
        out[m] = group_kw(point, rs.kw_t, rs.base_t, owner, delta, rng, len(point))
    return out


def persona_kw(
    features: pd.DataFrame,
    personas: pd.DataFrame,
    placebo: pd.DataFrame | None,
    replicates: pd.DataFrame | ReplicateTable | None,
    *,
    seed: int,
) -> pd.DataFrame:
    """Per persona (or segment): cross-fitted and in-sample kW reduction per 1,000 with joint intervals.

    Returns
    -------
    pandas.DataFrame
        ``persona_id``, and for ``high`` and ``high_peak``: ``{m}_kw_per_1000`` (cross-fitted),
        ``{m}_kw_per_1000_ci_low/high``, ``{m}_crossfit_n`` (household x half pairs),
        ``{m}_kw_per_1000_insample`` (mean over the full-trial assignment, selection-biased).
    """
    replicates = indexed(replicates)
    f = features.assign(household_id=features["household_id"].astype(str)).reset_index(drop=True)
    p = personas.assign(household_id=personas["household_id"].astype(str)).set_index("household_id")
    p = p.reindex(f["household_id"].to_numpy())
    pids = sorted(str(x) for x in p["persona_id"].dropna().unique())
    rows = []
    for k, pid in enumerate(pids):
        row: dict[str, Any] = {"persona_id": pid}
        for m, template in CROSSFIT_KW.items():
            col, base_col = KW_MEASURES[m]
            full = pd.to_numeric(f.get(col), errors="coerce") if col in f.columns else pd.Series(np.nan, index=f.index)
            row[f"{m}_kw_per_1000_insample"] = float(-1000 * full[(p["persona_id"] == pid).to_numpy()].mean())
            points, reps, bases, owners = [], [], [], []
            for assign_on, measure_on in (("wa", "wb"), ("wb", "wa")):
                a_col = f"persona_id_{assign_on}"
                kw_col = f"{col}_{measure_on}" if m == "high" else f"high_response_kw_peak_{measure_on}"
                if a_col not in p.columns or kw_col not in f.columns:
                    continue
                sel = np.flatnonzero((p[a_col] == pid).to_numpy())
                rs = replicate_set(replicates, f, placebo, template.format(h=measure_on), base_col)
                if rs is None:
                    continue
                points.append(pd.to_numeric(f[kw_col], errors="coerce").to_numpy(dtype=float)[sel])
                reps.append(rs.kw_t[sel])
                bases.append(rs.base_t[sel])
                owners.append(sel)
            if not points:
                row.update({f"{m}_kw_per_1000": np.nan, f"{m}_kw_per_1000_ci_low": np.nan,
                            f"{m}_kw_per_1000_ci_high": np.nan, f"{m}_crossfit_n": 0})
                continue
            rng = np.random.default_rng([seed, 100 + k, len(row)])
            rs_full = replicate_set(replicates, f, placebo, m, base_col)
            delta = control_shift(rs_full, rng) if rs_full is not None else np.zeros(reps[0].shape[1])
            res = group_kw(np.concatenate(points), np.vstack(reps), np.concatenate(bases), np.concatenate(owners),
                           delta, rng, len(f))
            row.update({f"{m}_kw_per_1000": res["kw_per_1000"], f"{m}_kw_per_1000_ci_low": res["ci_low"],
                        f"{m}_kw_per_1000_ci_high": res["ci_high"], f"{m}_crossfit_n": res["n"]})
        rows.append(row)
    return pd.DataFrame(rows)
