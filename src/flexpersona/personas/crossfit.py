"""Personas free of selection bias (METHODS B.9): membership on posteriors, effects cross-fitted.

A group picked because its households' estimates are extreme regresses to the mean when measured again: the
households that *look* most responsive include those whose noise happened to point that way. So:

- membership comes from the households' posterior means (:mod:`flexpersona.features.posterior`), not from
  their raw estimates;
- every persona's reported response and kW are **cross-fitted**: the events are split into two halves
  (alternating weeks of the trial, ``_wa``/``_wb``), each household is assigned to a persona by its
  posterior on one half and measured (raw estimate) on the other half, and vice versa; a persona's effect
  is the mean over both directions. The noise that put a household into a persona is then independent of
  the noise in what is reported for it;
- the same halves give the **persona agreement** (ARI between the two halves' assignments), and the first
  and second half of the trial (``_h1``/``_h2``) the temporal agreement used in ``validation.json``.

Without persona structure, households are put into **segments** by their posterior mean High response
(expected cut above 5 %, up to 5 %, no cut), cross-fitted the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

#: Raw response columns measured for a persona on the held-out half (``{col}_{half}`` in the features).
CROSSFIT_MEASURES = {
    "high_response_pct": "high_response_pct",
    "low_response_pct": "low_response_pct",
    "high_response_kw": "high_response_kw",
    "high_response_kw_peak": "high_response_kw_peak",
}
WEEK_HALVES = ("wa", "wb")
YEAR_HALVES = ("h1", "h2")
#: Segments of the continuum: (id, name, rule on the posterior mean High response [%]).
SEGMENTS = (
    ("S1", "Segment: expected cut above 5%", -np.inf, -5.0),
    ("S2", "Segment: expected cut up to 5%", -5.0, 0.0),
    ("S3", "Segment: no expected cut", 0.0, np.inf),
)


def posterior_columns(cols: list[str]) -> list[str]:
    """The posterior-mean column of each raw response column (``high_response_pct`` → ``high_response_post``)."""
    return [c.replace("_response_pct", "_response_post") if c.endswith("_response_pct") else c for c in cols]


def half_matrix(features: pd.DataFrame, cols: list[str], half: str) -> np.ndarray | None:
    """``features[{c}_{half}]`` for the columns, or None when a column is absent."""
    names = [f"{c}_{half}" for c in cols]
    if not all(n in features.columns for n in names):
        return None
    return features[names].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()


def assign_halves(model: Any, features: pd.DataFrame, cols: list[str], halves: tuple[str, str]) -> dict[str, np.ndarray]:
    """Persona index (or -1) of every household by each half's posterior means, with the full-data model."""
    out = {}
    for h in halves:
        X = half_matrix(features, cols, h)
        lab = np.full(len(features), -1, dtype=int)
        if X is not None:
            ok = np.isfinite(X).all(axis=1)
            if ok.any():
                lab[ok] = model.predict(X[ok])
        out[h] = lab
    return out


def segment_labels(post_high: np.ndarray) -> np.ndarray:
    """Segment index (0..2, -1 when missing) of posterior mean High responses [%]."""
    v = np.asarray(post_high, dtype=float)
    lab = np.full(len(v), -1, dtype=int)
    for i, (_, _, lo, hi) in enumerate(SEGMENTS):
        lab[(v >= lo) & (v < hi)] = i
    return lab


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """ARI and share of identical labels between two assignments (households assigned in both)."""
    ok = (a >= 0) & (b >= 0)
    if ok.sum() < 2:
        return {"ari": None, "same_share": None, "n": int(ok.sum())}
    return {"ari": float(adjusted_rand_score(a[ok], b[ok])), "same_share": float(np.mean(a[ok] == b[ok])),
            "n": int(ok.sum())}


def crossfit_effects(features: pd.DataFrame, labels_by_half: dict[str, np.ndarray], n_groups: int) -> pd.DataFrame:
    """Per group: the cross-fitted mean of each :data:`CROSSFIT_MEASURES` measure.

    Households assigned on half ``wa`` are measured on ``wb`` and vice versa; each (household, direction) pair
    counts once. ``crossfit_n`` is the number of pairs with a value of ``high_response_pct``.
    """
    a, b = WEEK_HALVES
    rows = []
    for k in range(n_groups):
        row: dict[str, Any] = {"group": k}
        for name, col in CROSSFIT_MEASURES.items():
            vals = []
            for assign_on, measure_on in ((a, b), (b, a)):
                c = f"{col}_{measure_on}"
                if c not in features.columns:
                    continue
                sel = labels_by_half[assign_on] == k
                vals.append(pd.to_numeric(features.loc[sel, c], errors="coerce").astype(float).to_numpy())
            v = np.concatenate(vals) if vals else np.array([])
            v = v[np.isfinite(v)]
            row[f"crossfit_{name}"] = float(v.mean()) if len(v) else np.nan
            if name == "high_response_pct":
                row["crossfit_n"] = int(len(v))
        rows.append(row)
    return pd.DataFrame(rows)


def naive_effects(features: pd.DataFrame, labels: np.ndarray, n_groups: int) -> pd.DataFrame:
    """Per group: the in-sample mean of the full-trial raw estimates of the same households (selection-biased:
    reported only next to the cross-fitted numbers, to show the regression to the mean)."""
    rows = []
    for k in range(n_groups):
        sel = labels == k
        row: dict[str, Any] = {"group": k}
        for name, col in CROSSFIT_MEASURES.items():
            v = pd.to_numeric(features.loc[sel, col], errors="coerce").astype(float) if col in features.columns else pd.Series(dtype=float)
            row[f"insample_{name}"] = float(v.mean()) if v.notna().any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
