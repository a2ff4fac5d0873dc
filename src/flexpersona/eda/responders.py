"""Group comparisons of the exploration: responder sign, super-responders, performance-potential matrix.

All tests are two-sided Mann-Whitney U tests with the rank-biserial correlation as effect size,
``r = 2 U_a / (n_a n_b) - 1`` = P(a > b) - P(a < b) for a household drawn from each group (ties count half):
+1 when every household of group ``a`` lies above every household of group ``b``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..features import potential
from .hypotheses import benjamini_hochberg
from .summary import (
    FEATURE_UNITS,
    FINANCIAL_FEATURES,
    LIFESTYLE_FEATURES,
    ResolvedInputs,
    available,
)

logger = logging.getLogger(__name__)

#: Share of households, by weekday response, called super-responders.
SUPER_SHARE = 0.10


def mann_whitney(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Two-sided Mann-Whitney U test of ``a`` vs ``b`` and the rank-biserial effect size.

    Parameters
    ----------
    a, b
        Values of the two groups (NaN and infinities dropped).

    Returns
    -------
    dict
        ``n_a``, ``n_b``, ``u`` (U of ``a``), ``p_value`` and ``rank_biserial`` in [-1, 1] (positive = ``a``
        tends to be larger); NaN statistics when a group has fewer than 1 value or all values tie.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out: dict[str, float] = {"n_a": int(a.size), "n_b": int(b.size), "u": np.nan, "p_value": np.nan,
                             "rank_biserial": np.nan}
    if a.size == 0 or b.size == 0 or np.unique(np.concatenate([a, b])).size < 2:
        return out
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    out.update(u=float(res.statistic), p_value=float(res.pvalue),
               rank_biserial=float(2 * res.statistic / (a.size * b.size) - 1))
    return out


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return values.where(np.isfinite(values))


def responder_sign_comparison(
    frame: pd.DataFrame, resolved: ResolvedInputs
) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """Positive vs negative weekday responders: volatility, peak ratio and savings compared.

    Positive = the household reduced its weekday peak use (response > 0); households with a response of exactly
    0 or missing belong to neither group.

    Returns
    -------
    table
        One row per metric: ``metric``, ``unit``, ``median_positive``, ``median_negative``, ``n_a`` (positive),
        ``n_b`` (negative), ``u``, ``p_value``, ``q_value`` (BH across the metrics), ``rank_biserial``
        (positive = higher among positive responders).
    long
        ``household_id``, ``sign`` (``positive`` | ``negative``), ``metric``, ``value`` (for box plots).
    reason
        Why the comparison was skipped (``None`` when it ran).
    """
    empty = pd.DataFrame(columns=["household_id", "sign", "metric", "value"])
    if resolved.response is None:
        return pd.DataFrame(), empty, resolved.notes.get("response", "no weekday response")
    response = _values(frame, resolved.response)
    sign = pd.Series(np.where(response > 0, "positive", np.where(response < 0, "negative", None)),
                     index=frame.index, dtype="object")
    counts = sign.value_counts()
    if counts.get("positive", 0) < 1 or counts.get("negative", 0) < 1:
        return pd.DataFrame(), empty, (
            f"needs both signs of weekday response; found {counts.get('positive', 0)} positive and "
            f"{counts.get('negative', 0)} negative households")
    metrics = [c for c in (resolved.volatility, resolved.peak_ratio, resolved.savings) if c]
    if not metrics:
        return pd.DataFrame(), empty, "volatility, peak ratio and savings are all unavailable"
    rows, parts = [], []
    for m in metrics:
        v = _values(frame, m)
        pos, neg = v[sign == "positive"], v[sign == "negative"]
        rows.append({"metric": m, "unit": FEATURE_UNITS.get(m, ""), "median_positive": float(pos.median()),
                     "median_negative": float(neg.median()), **mann_whitney(pos.to_numpy(), neg.to_numpy())})
        keep = sign.notna() & v.notna()
        parts.append(pd.DataFrame({"household_id": frame.loc[keep, "household_id"].astype(str).to_numpy(),
                                   "sign": sign[keep].to_numpy(), "metric": m, "value": v[keep].to_numpy()}))
    table = pd.DataFrame(rows)
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float))
    cols = ["metric", "unit", "median_positive", "median_negative", "n_a", "n_b", "u", "p_value", "q_value",
            "rank_biserial"]
    return table[cols], pd.concat(parts, ignore_index=True), None


def super_responders(
    frame: pd.DataFrame, resolved: ResolvedInputs, *, share: float = SUPER_SHARE, alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.Series, str | None]:
    """Super-responders (top ``share`` of weekday response) against the rest on lifestyle and financial features.

    Parameters
    ----------
    frame
        Feature table after :func:`~flexpersona.eda.summary.resolve_inputs`.
    resolved
        Its resolved inputs.
    share
        Share of households (by weekday response, largest reductions) called super-responders (0-1).
    alpha
        False-discovery rate of ``significant``.

    Returns
    -------
    table
        One row per available feature: ``feature``, ``kind`` (lifestyle | financial), ``unit``,
        ``median_super``, ``median_all``, ``median_rest``, ``n_a`` (super), ``n_b`` (rest), ``u``, ``p_value``,
        ``q_value`` (BH across this battery), ``significant``, ``rank_biserial`` (positive = higher among
        super-responders).
    is_super
        Boolean per row of ``frame`` (False where the response is missing).
    reason
        Why the battery was skipped (``None`` when it ran).
    """
    is_super = pd.Series(False, index=frame.index)
    if resolved.response is None:
        return pd.DataFrame(), is_super, resolved.notes.get("response", "no weekday response")
    response = _values(frame, resolved.response)
    finite = response.dropna()
    n_super = int(np.ceil(share * len(finite)))
    if n_super < 1 or len(finite) - n_super < 1:
        return pd.DataFrame(), is_super, f"too few households with a weekday response ({len(finite)})"
    top = finite.sort_values(ascending=False, kind="stable").index[:n_super]
    is_super.loc[top] = True
    features = [(c, "lifestyle") for c in LIFESTYLE_FEATURES if available(frame, c)]
    features += [(c, "financial") for c in FINANCIAL_FEATURES if available(frame, c)]
    if not features:
        return pd.DataFrame(), is_super, "no lifestyle or financial feature has values"
    has_response = response.notna()
    rows = []
    for c, kind in features:
        v = _values(frame, c)
        sup, rest = v[is_super], v[has_response & ~is_super]
        rows.append({"feature": c, "kind": kind, "unit": FEATURE_UNITS.get(c, ""),
                     "median_super": float(sup.median()), "median_all": float(v[has_response].median()),
                     "median_rest": float(rest.median()), **mann_whitney(sup.to_numpy(), rest.to_numpy())})
    table = pd.DataFrame(rows)
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float))
    table["significant"] = (table["q_value"] < alpha).astype(bool)
    logger.info("eda: %d super-responders, %d features tested", n_super, len(table))
    cols = ["feature", "kind", "unit", "median_super", "median_all", "median_rest", "n_a", "n_b", "u",
            "p_value", "q_value", "significant", "rank_biserial"]
    return table[cols], is_super, None


def performance_potential(
    frame: pd.DataFrame, resolved: ResolvedInputs
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], str | None]:
    """The performance-potential matrix of :func:`flexpersona.features.potential.performance_potential`.

    Returns
    -------
    counts
        ``quadrant``, ``high_potential``, ``high_performance``, ``n``, ``share`` (0-1 of the households placed).
    assignment
        ``household_id``, ``potential`` (x), ``performance`` (y, higher = more reduction), ``quadrant``.
    splits
        ``x``, ``y`` (columns), ``x_median``, ``y_median`` (units of x and y).
    reason
        Why the matrix was skipped (``None`` when it ran).
    """
    pp = potential.performance_potential(frame)
    if pp.reason:
        return pd.DataFrame(), pd.DataFrame(), {}, pp.reason
    splits = {"x": pp.x, "y": pp.y, "x_median": pp.x_median, "y_median": pp.y_median}
    assignment = pp.assignment[["household_id", "potential", "performance", "quadrant"]]
    return pp.counts(), assignment, splits, None
