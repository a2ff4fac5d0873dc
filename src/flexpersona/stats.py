"""Multiple-testing corrections shared by every stage (one definition, used by features, explain and eda).

statsmodels' ``multipletests`` gives the same numbers but forces a full garbage collection on every call,
which made batteries of tests several times slower; these are tested against it.
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
