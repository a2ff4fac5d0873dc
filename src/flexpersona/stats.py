"""Multiple-testing corrections shared by every stage (one definition, used by features, explain and eda).

statsmodels' ``multipletests`` gives the same numbers but forces a full garbage collection on every call,
which made batteries of tests several times slower; these are tested against it.
"""

from __future__ import annotations

import numpy as np


def bh_qvalues(p: np.ndarray | list[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) in the input order.

    NaN p-values stay NaN and do not count towards the number of tests.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    qq = np.empty(m)
    qq[order] = np.minimum(ranked, 1.0)
    q[ok] = qq
    return q


def holm(p: np.ndarray | list[float]) -> np.ndarray:
    """Holm step-down adjusted p-values in the input order (NaN stays NaN and does not count)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    adj = np.minimum(np.maximum.accumulate(pv[order] * (m - np.arange(m))), 1.0)
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out
