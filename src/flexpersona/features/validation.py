"""How far to trust the household numbers: temporal validation on held-out time (METHODS B.9).

The trial's observed days are split at their middle (``_h1``: first half, ``_h2``: second half). Each half's
raw responses are estimated on that half alone; each half's posteriors come from a prior fitted on that
half alone. Then:

- **split-half correlation** of the raw estimates (Pearson and Spearman): how reproducible a household's
  number is at all;
- **MSE of predicting the second half** from the first half's raw estimate and from its posterior mean (and
  the other way round): the posterior should predict held-out time better, since it does not chase noise;
- the **cohort response in each half** (response fading or not, see also :mod:`.persistence`).

Persona agreement between the halves is added by the personas stage (``validation.json``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def _mse(target: np.ndarray, pred: np.ndarray) -> float:
    ok = np.isfinite(target) & np.isfinite(pred)
    return float(np.mean((target[ok] - pred[ok]) ** 2)) if ok.any() else float("nan")


def band_validation(features: pd.DataFrame, band: str) -> dict[str, Any]:
    """Split-half numbers of one band (``high`` or ``low``) from the features table's half columns."""
    cols = [f"{band}_response_pct_h1", f"{band}_response_pct_h2", f"{band}_response_post_h1", f"{band}_response_post_h2"]
    if not all(c in features.columns for c in cols):
        return {"available": False, "note": f"the features table lacks {', '.join(c for c in cols if c not in features)}"}
    x1, x2, p1, p2 = (pd.to_numeric(features[c], errors="coerce").to_numpy(dtype=float) for c in cols)
    ok = np.isfinite(x1) & np.isfinite(x2) & np.isfinite(p1) & np.isfinite(p2)
    if ok.sum() < 5:
        return {"available": False, "note": f"only {int(ok.sum())} households have estimates in both halves"}
    x1, x2, p1, p2 = x1[ok], x2[ok], p1[ok], p2[ok]
    raw_12, post_12 = _mse(x2, x1), _mse(x2, p1)
    raw_21, post_21 = _mse(x1, x2), _mse(x1, p2)
    return {
        "available": True,
        "n": int(ok.sum()),
        "pearson": float(np.corrcoef(x1, x2)[0, 1]),
        "spearman": float(spearmanr(x1, x2)[0]),
        "mse_second_from_first_raw": raw_12,
        "mse_second_from_first_posterior": post_12,
        "mse_reduction_second_from_first": float(1 - post_12 / raw_12) if raw_12 > 0 else float("nan"),
        "mse_first_from_second_raw": raw_21,
        "mse_first_from_second_posterior": post_21,
        "mse_reduction_first_from_second": float(1 - post_21 / raw_21) if raw_21 > 0 else float("nan"),
        "posterior_first_vs_raw_second_pearson": float(np.corrcoef(p1, x2)[0, 1]),
    }


def temporal_validation(features: pd.DataFrame, cohort: dict[str, Any] | None) -> dict[str, Any]:
    """The feature stage's part of ``validation.json`` (treatment households).

    Parameters
    ----------
    features
        The treatment households' table with ``{band}_response_pct_h1/_h2`` and ``{band}_response_post_h1/_h2``.
    cohort
        ``features_info["cohort_response"]["treatment"]`` (its ``high_h1``, ``high_h2``, ``low_h1``, ``low_h2``).
    """
    c = cohort or {}
    return {
        "split": "first vs second half of the trial's observed days; each half estimated, and its prior fitted, alone",
        "high": band_validation(features, "high"),
        "low": band_validation(features, "low"),
        "cohort": {k: c.get(k) for k in ("high_h1", "high_h2", "low_h1", "low_h2")},
    }


def trust_summary(validation: dict[str, Any]) -> list[str]:
    """Plain sentences for the report's "How far to trust this" section."""
    out = []
    hv = validation.get("high", {})
    if hv.get("available"):
        out.append(
            f"A household's High response measured in the first half of the trial and again in the second half "
            f"correlates {hv['pearson']:.2f} (Spearman {hv['spearman']:.2f}, {hv['n']} households): roughly "
            f"{100 * (1 - max(min(hv['pearson'], 1.0), 0.0)):.0f}% of the spread between households' numbers is noise."
        )
        red = hv.get("mse_reduction_second_from_first")
        if red is not None and np.isfinite(red):
            out.append(
                f"Predicting each household's second half from its first, the posterior (shrunk) estimate has "
                f"{100 * red:.0f}% {'lower' if red >= 0 else 'higher'} squared error than the raw one: "
                f"{'use the posterior numbers for individual households' if red > 0 else 'shrinkage did not help here'}."
            )
    ch = validation.get("cohort", {})
    h1, h2 = ch.get("high_h1"), ch.get("high_h2")
    if h1 and h2 and h1.get("pct") is not None and h2.get("pct") is not None:
        out.append(
            f"The cohort's High response was {h1['pct']:+.1f}% (95% interval {h1['ci_low']:+.1f} to "
            f"{h1['ci_high']:+.1f}) in the first half and {h2['pct']:+.1f}% ({h2['ci_low']:+.1f} to "
            f"{h2['ci_high']:+.1f}) in the second."
        )
    pa = validation.get("personas", {})
    if pa.get("agreement_year_halves", {}).get("ari") is not None:
        w = pa.get("agreement_weeks", {})
        out.append(
            f"Households assigned to {pa.get('kind', 'personas')} on the first and on the second half of the trial "
            f"agree with ARI {pa['agreement_year_halves']['ari']:.2f} (alternate weeks: ARI "
            f"{w.get('ari') if w.get('ari') is None else format(w['ari'], '.2f')}); the persona numbers reported are "
            "cross-fitted: measured on other events than those that assigned the households."
        )
    return out
