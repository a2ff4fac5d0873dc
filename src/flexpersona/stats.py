"""Statistics shared by every stage (one definition each).

- Multiple-testing corrections (:func:`bh_qvalues`, :func:`holm`; features, explain and eda). statsmodels'
  ``multipletests`` gives the same numbers but forces a full garbage collection on every call, which made
  batteries of tests several times slower; these are tested against it.
- Percentiles of bootstrap replicates (:func:`row_percentiles`; the features' and the toolkit's intervals):
  numpy's ``nanpercentile`` values without its Python loop over rows.
"""

from __future__ import annotations

import numpy as np


def _adjust(p: np.ndarray | list[float], step) -> np.ndarray:
    """Apply ``step(sorted finite p-values, m) -> adjusted`` and return them in the input order (NaN stays NaN
    and does not count towards the number of tests ``m``)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    res = np.empty(m)
    res[order] = step(pv[order], m)
    out[ok] = res
    return out


def _bh_step(sorted_p: np.ndarray, m: int) -> np.ndarray:
    ranked = sorted_p * m / np.arange(1, m + 1)
    return np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)


def _holm_step(sorted_p: np.ndarray, m: int) -> np.ndarray:
    return np.minimum(np.maximum.accumulate(sorted_p * (m - np.arange(m))), 1.0)


def bh_qvalues(p: np.ndarray | list[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) in the input order.

    NaN p-values stay NaN and do not count towards the number of tests.
    """
    return _adjust(p, _bh_step)


def holm(p: np.ndarray | list[float]) -> np.ndarray:
    """Holm step-down adjusted p-values in the input order (NaN stays NaN and does not count)."""
    return _adjust(p, _holm_step)


def row_percentiles(x: np.ndarray, q: list[float], *, min_finite: int = 2) -> np.ndarray:
    """Percentiles ``q`` [%] of every row of ``x`` over its finite values (NaN for a row with fewer than
    ``min_finite``; ±inf counts as missing).

    One sort of the whole array instead of :func:`numpy.nanpercentile`'s Python loop over rows (~20x faster on
    bootstrap replicates), with its ``linear`` method's arithmetic step for step, so the values are identical.
    Returns ``(len(q), rows)``.
    """
    out = np.full((len(q), x.shape[0]), np.nan)
    n = np.isfinite(x).sum(axis=1)
    ok = n >= max(min_finite, 1)
    if not ok.any():
        return out
    xs = np.sort(np.where(np.isfinite(x[ok]), x[ok], np.nan), axis=1)  # NaN sorts last
    n = n[ok]
    qs = np.true_divide(np.asarray(q, dtype=float), 100)[:, None]
    vi = (n - 1) * qs  # numpy's virtual index of the linear method
    prev = np.floor(vi)
    above, below = vi >= n - 1, vi < 0
    prev = np.where(above, -1, np.where(below, 0, prev))
    lo = np.where(above, n - 1, prev).astype(np.intp)
    hi = np.where(above, n - 1, np.where(below, 0, prev + 1)).astype(np.intp)
    rows = np.arange(len(n))
    a, b = xs[rows, lo], xs[rows, hi]
    t = vi - prev
    d = b - a
    out[:, ok] = np.where(t >= 0.5, b - d * (1 - t), a + d * t)  # numpy's _lerp
    return out
