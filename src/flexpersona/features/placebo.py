"""Placebo calibration (METHODS B.2): control households as pseudo-treated give the null distribution.

Each control household is estimated with exactly the estimator of the treatment households, against the
other controls (leave-one-out control mean, in the engine's SQL). Its standardised High response
``z = high_response_pct / se`` (``se`` = bootstrap standard deviation) is one draw of the null. A treatment
household's p-value is the two-sided empirical p against all control z's,
``(1 + #{|z_null| >= |z|}) / (1 + n_null)``; q-values are Benjamini-Hochberg over the treatment households;
``responder = q_high < alpha and high_response_pct < 0``. The false-responder rate applies the identical
procedure to each control against the other controls' null (BH over the controls) and reports the share
labelled responder; that is ~0 by construction (BH over pure nulls rarely rejects), so the rate that matters
is the one **at the p-value cut-off actually used on the treatment households** (METHODS B.8): the share of
controls whose p-value (against the other controls) is at or below the largest p-value labelled responder
and whose response is a reduction, and the expected number of false labels among the treatment households.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..stats import bh_qvalues


def empirical_p(z: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Two-sided empirical p-values of ``z`` against the null sample (finite values only)."""
    z = np.asarray(z, dtype=float)
    a = np.sort(np.abs(null[np.isfinite(null)]))
    n = len(a)
    p = np.full_like(z, np.nan)
    ok = np.isfinite(z)
    if n == 0:
        return p
    ge = n - np.searchsorted(a, np.abs(z[ok]), side="left")
    p[ok] = (1.0 + ge) / (1.0 + n)
    return p


def standardised(pct: np.ndarray, se: np.ndarray) -> np.ndarray:
    pct, se = np.asarray(pct, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = se > 1e-9  # a zero-width bootstrap distribution carries no evidence
        return np.where(ok, pct / np.where(ok, se, 1.0), np.nan)


def calibrate(
    treatment: pd.DataFrame, control: pd.DataFrame, *, alpha: float
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """p-values, q-values and responder labels of treatment households; the controls' placebo table.

    Parameters
    ----------
    treatment, control
        ``household_id``, ``high_pct``, ``high_se`` (and the other response columns).
    alpha
        False discovery rate of the responder label.

    Returns
    -------
    labels : pandas.DataFrame
        ``household_id``, ``z_high``, ``p_high``, ``q_high``, ``responder`` of treatment households.
    placebo : pandas.DataFrame
        ``household_id``, ``z_high``, ``p_high``, ``q_high``, ``responder`` of control households (each
        against the other controls).
    info : dict
        ``false_responder_rate`` (BH over the controls), ``p_cutoff`` (largest treatment p-value labelled
        responder; None without responders), ``false_responder_rate_at_cutoff``, ``expected_false_labels``
        (that rate x the treatment households tested: an upper bound, as if none responded), ``n_null``,
        ``null_z_mean``, ``null_z_sd``, ``n_responders``.
    """
    z0 = standardised(control["high_pct"].to_numpy(), control["high_se"].to_numpy())
    z1 = standardised(treatment["high_pct"].to_numpy(), treatment["high_se"].to_numpy())
    p1 = empirical_p(z1, z0)
    q1 = bh_qvalues(p1)
    resp1 = (q1 < alpha) & (treatment["high_pct"].to_numpy(dtype=float) < 0)
    # each control against the others: drop itself from the null
    p0 = np.full_like(z0, np.nan)
    fin = np.isfinite(z0)
    a = np.sort(np.abs(z0[fin]))
    n = len(a)
    if n >= 2:
        ge = n - np.searchsorted(a, np.abs(z0[fin]), side="left") - 1  # minus itself
        p0[fin] = (1.0 + ge) / n
    q0 = bh_qvalues(p0)
    resp0 = (q0 < alpha) & (control["high_pct"].to_numpy(dtype=float) < 0)
    labels = pd.DataFrame(
        {"household_id": treatment["household_id"].to_numpy(), "z_high": z1, "p_high": p1, "q_high": q1,
         "responder": resp1.astype(bool)}
    )  # fmt: skip
    placebo = pd.DataFrame(
        {"household_id": control["household_id"].to_numpy(), "z_high": z0, "p_high": p0, "q_high": q0,
         "responder": resp0.astype(bool)}
    )  # fmt: skip
    cutoff = float(np.nanmax(p1[resp1])) if resp1.any() else None
    neg0 = control["high_pct"].to_numpy(dtype=float) < 0
    frr_cut = float(((p0 <= cutoff) & neg0)[fin].mean()) if cutoff is not None and fin.any() else 0.0
    n_tested = int(np.isfinite(p1).sum())
    info = {
        "false_responder_rate": float(resp0[fin].mean()) if fin.any() else float("nan"),
        "p_cutoff": cutoff,
        "false_responder_rate_at_cutoff": frr_cut,
        "expected_false_labels": frr_cut * n_tested,
        "n_tested": n_tested,
        "n_null": int(n),
        "null_z_mean": float(np.mean(z0[fin])) if n else float("nan"),
        "null_z_sd": float(np.std(z0[fin], ddof=1)) if n >= 2 else float("nan"),
        "n_responders": int(resp1.sum()),
        "alpha": alpha,
    }
    return labels, placebo, info
