"""The performance–potential matrix: one rule for the personas stage, the exploration and the report.

Potential (x) is how much of a household's load sits where the tariff prices it highest; performance (y) is how
much it reduced there. Both axes are split at the cohort medians into four quadrants; a value equal to the median
counts as low, as the seed's ``>`` comparison did.

Axes: potential = ``base_peak_to_offpeak_ratio`` of the baseline year (the seed's), or, for a trial without a
half-hourly baseline year (LCL 2013 alone), the lifestyle's ``evening_share`` (share of daily kWh in
16:00–19:59 on the trial year's reference days). Performance = the default estimator's ``high_response_pct``
with its sign flipped (control-differenced; positive = reduction), or the seed's ``peak_reduction_pct_weekday``
(vs the baseline year) when there is no default estimate. The seed-compatible personas pass the seed's two
columns explicitly (METHODS, stage 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Potential columns in order of preference, with what each measures.
POTENTIAL_AXES = {
    "base_peak_to_offpeak_ratio": "baseline peak/off-peak ratio",
    "evening_share": "share of daily kWh in 16:00–19:59",
}
#: Performance columns in order of preference, with the sign that makes higher = more reduction.
PERFORMANCE_AXES = {
    "high_response_pct": (-1.0, "High-price reduction [%] (default estimator, sign flipped)"),
    "peak_reduction_pct_weekday": (1.0, "weekday peak reduction vs the baseline year [%]"),
}
#: (high potential, high performance) → quadrant name.
QUADRANTS = {
    (True, True): "High potential, high performance",
    (True, False): "High potential, low performance",
    (False, True): "Low potential, high performance",
    (False, False): "Low potential, low performance",
}
#: Fewest households with both axes for a matrix.
MIN_HOUSEHOLDS = 4


@dataclass
class PerformancePotential:
    """Households placed in the matrix, and how.

    Attributes
    ----------
    assignment
        ``household_id``, ``potential`` (x), ``performance`` (y, higher = more reduction), ``high_potential``,
        ``high_performance``, ``quadrant``; empty when the matrix could not be built.
    x, y
        Feature columns used (None when absent); ``y_sign`` multiplies ``y`` into ``performance``.
    x_median, y_median
        The splits (units of ``potential`` and ``performance``).
    reason
        Why there is no matrix (None when there is one).
    """

    assignment: pd.DataFrame
    x: str | None = None
    y: str | None = None
    y_sign: float = 1.0
    x_median: float | None = None
    y_median: float | None = None
    reason: str | None = None

    @property
    def x_label(self) -> str:
        return POTENTIAL_AXES.get(self.x or "", "potential")

    @property
    def y_label(self) -> str:
        return PERFORMANCE_AXES.get(self.y or "", (1.0, "performance"))[1]

    def counts(self) -> pd.DataFrame:
        """``quadrant``, ``high_potential``, ``high_performance``, ``n``, ``share`` (0–1 of households placed)."""
        a = self.assignment
        rows = [{"quadrant": name, "high_potential": hp, "high_performance": hf,
                 "n": int((a["quadrant"] == name).sum()) if len(a) else 0} for (hp, hf), name in QUADRANTS.items()]
        out = pd.DataFrame(rows)
        out["share"] = out["n"] / len(a) if len(a) else np.nan
        return out

    def by_persona(self, personas: pd.DataFrame) -> pd.DataFrame:
        """Persona × quadrant: ``persona_id``, ``persona_name``, ``quadrant``, ``n``, ``row_pct`` [% of the persona]."""
        cols = ["persona_id", "persona_name", "quadrant", "n", "row_pct"]
        if self.assignment.empty or personas is None or personas.empty:
            return pd.DataFrame(columns=cols)
        d = self.assignment.merge(personas[["household_id", "persona_id", "persona_name"]], on="household_id")
        d = d[d["persona_id"].notna()]
        out = []
        for (pid, pname), sub in d.groupby(["persona_id", "persona_name"], sort=True):
            counts = sub["quadrant"].value_counts()
            out += [{"persona_id": pid, "persona_name": pname, "quadrant": q, "n": int(counts.get(q, 0)),
                     "row_pct": 100.0 * int(counts.get(q, 0)) / len(sub)} for q in QUADRANTS.values()]
        return pd.DataFrame(out, columns=cols)


def _first_axis(features: pd.DataFrame, candidates: dict) -> str | None:
    """The first candidate column with at least :data:`MIN_HOUSEHOLDS` finite values."""
    for c in candidates:
        if c in features.columns and np.isfinite(pd.to_numeric(features[c], errors="coerce")).sum() >= MIN_HOUSEHOLDS:
            return c
    return None


def performance_potential(features: pd.DataFrame, *, x: str | None = None, y: str | None = None) -> PerformancePotential:
    """Place every household with both axes in the performance–potential matrix.

    Parameters
    ----------
    features : DataFrame
        ``household_id`` and the axis columns (the feature table; one row per household).
    x, y : str, optional
        Force the potential / performance column (a key of :data:`POTENTIAL_AXES` / :data:`PERFORMANCE_AXES`
        for ``y``, whose sign it sets); default: the first available of each.

    Returns
    -------
    PerformancePotential
    """
    x = x or _first_axis(features, POTENTIAL_AXES)
    y = y or _first_axis(features, PERFORMANCE_AXES)
    empty = pd.DataFrame(columns=["household_id", "potential", "performance", "high_potential",
                                  "high_performance", "quadrant"])
    if x is None or y is None or x not in features.columns or y not in features.columns:
        missing = [f"no {what} column ({' or '.join(axes)})" for what, col, axes in
                   (("potential", x, POTENTIAL_AXES), ("performance", y, PERFORMANCE_AXES))
                   if col is None or col not in features.columns]
        return PerformancePotential(empty, x, y, reason="; ".join(missing))
    sign = PERFORMANCE_AXES.get(y, (1.0, ""))[0]
    xv = pd.to_numeric(features[x], errors="coerce").astype("float64")
    yv = sign * pd.to_numeric(features[y], errors="coerce").astype("float64")
    keep = np.isfinite(xv) & np.isfinite(yv)
    if int(keep.sum()) < MIN_HOUSEHOLDS:
        return PerformancePotential(empty, x, y, sign, reason=f"only {int(keep.sum())} households have both axes")
    xv, yv = xv[keep], yv[keep]
    xm, ym = float(xv.median()), float(yv.median())
    hp, hf = (xv > xm).to_numpy(), (yv > ym).to_numpy()
    assignment = pd.DataFrame({
        "household_id": features.loc[keep, "household_id"].to_numpy(),
        "potential": xv.to_numpy(), "performance": yv.to_numpy(), "high_potential": hp, "high_performance": hf,
        "quadrant": [QUADRANTS[(bool(a), bool(b))] for a, b in zip(hp, hf, strict=True)],
    })
    return PerformancePotential(assignment, x, y, sign, xm, ym)
