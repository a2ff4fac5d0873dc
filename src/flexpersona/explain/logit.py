"""Multinomial logit of persona on pre-trial variables (statsmodels), reported as odds ratios.

Predictors: the numeric predictors given (median-imputed, z-scored, so an odds ratio is per standard
deviation) plus dummies of one categorical variable (Acorn group; levels with fewer than
:data:`MIN_LEVEL` households pooled into ``other``; reference = the most common level). Reference persona =
the largest persona. Columns without variance are dropped. Odds ratio ``exp(beta)`` with a 95% Wald interval.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from statsmodels.discrete.discrete_model import MNLogit  # not statsmodels.api: it imports every model (~0.4 s)
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning
from statsmodels.tools.tools import add_constant

logger = logging.getLogger(__name__)

MIN_LEVEL = 10
LOGIT_COLUMNS = [
    "variable",
    "persona",
    "reference",
    "coefficient",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p",
    "converged",
]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=LOGIT_COLUMNS)


def multinomial_logit(
    frame: pd.DataFrame, numeric: list[str], categorical: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Fit persona ~ predictors by multinomial logit.

    Parameters
    ----------
    frame
        One row per household with ``persona`` and the predictor columns.
    numeric
        Numeric predictors (standardised; odds ratio per SD).
    categorical
        Optional categorical predictor expanded into dummies.

    Returns
    -------
    table, note
        :data:`LOGIT_COLUMNS` (one row per variable x non-reference persona) and a one-line note on the fit.
    """
    if frame["persona"].nunique() < 2:
        return _empty(), "multinomial logit not fitted: fewer than two personas"
    X = pd.DataFrame(index=frame.index)
    for c in numeric:
        v = frame[c].astype("float64")
        v = v.fillna(v.median())
        sd = v.std()
        if np.isfinite(sd) and sd > 0:
            X[c] = (v - v.mean()) / sd
    if categorical is not None and categorical in frame.columns:
        lev = frame[categorical].astype(str)
        counts = lev.value_counts()
        lev = lev.where(lev.map(counts) >= MIN_LEVEL, "other")
        ref_level = lev.value_counts().index[0]
        for level in sorted(set(lev) - {ref_level}):
            X[f"{categorical}={level}"] = (lev == level).astype(float)
    if X.shape[1] == 0:
        return _empty(), "multinomial logit not fitted: no predictor varies"
    X = add_constant(X, has_constant="add")
    counts = frame["persona"].astype(str).value_counts()
    reference = str(counts.index[0])
    order = [reference] + sorted(set(counts.index) - {reference})
    y = frame["persona"].astype(str).map({p: i for i, p in enumerate(order)}).to_numpy()
    converged = True
    with warnings.catch_warnings(record=True) as caught:
        # Separation / non-convergence are facts about the data: recorded in the table and the note.
        warnings.simplefilter("always")
        try:
            res = MNLogit(y, X).fit(method="newton", maxiter=100, disp=False)
            converged = bool(res.mle_retvals.get("converged", True))
            params = np.asarray(res.params)
            bse = np.asarray(res.bse)
            pvals = np.asarray(res.pvalues)
        except (np.linalg.LinAlgError, ValueError) as exc:
            logger.info("multinomial logit failed: %s", exc)
            return _empty(), f"multinomial logit could not be fitted ({exc})"
    bad = [w for w in caught if issubclass(w.category, (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning, RuntimeWarning))]
    if bad:
        converged = False
        logger.info("multinomial logit warnings: %s", "; ".join(str(w.message) for w in bad[:3]))
    for w in caught:
        if w not in bad:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    names = list(X.columns)
    with np.errstate(over="ignore"):  # separation gives huge coefficients: exp -> inf, shown as such
        return _table(order, reference, names, params, bse, pvals, converged)


def _table(order, reference, names, params, bse, pvals, converged) -> tuple[pd.DataFrame, str]:
    rows = []
    for j, persona in enumerate(order[1:]):
        for i, var in enumerate(names):
            if var == "const":
                continue
            b, se = float(params[i, j]), float(bse[i, j])
            rows.append(
                {
                    "variable": var,
                    "persona": persona,
                    "reference": reference,
                    "coefficient": b,
                    "odds_ratio": float(np.exp(b)),
                    "ci_low": float(np.exp(b - 1.959964 * se)),
                    "ci_high": float(np.exp(b + 1.959964 * se)),
                    "p": float(pvals[i, j]),
                    "converged": converged,
                }
            )
    note = (
        f"multinomial logit on {len(names) - 1} predictors, reference persona {reference}"
        + ("" if converged else " (did not converge cleanly: read odds ratios with care)")
    )
    return pd.DataFrame(rows, columns=LOGIT_COLUMNS), note
