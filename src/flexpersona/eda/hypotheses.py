"""The seed's hypothesis views: pairs of features with an OLS line, Spearman's rho and BH across views.

Each view relates two household features (e.g. daily volatility vs weekday peak reduction). The test --
Spearman's rank correlation -- and the OLS line use **all** households with both values finite; clipping to
the 1st-99th percentile (as the seed did) only sets the plot axes, never the test. Benjamini-Hochberg
adjusts the p-values across the views that ran.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS  # not statsmodels.api: it imports every model (~0.4 s)
from statsmodels.tools.tools import add_constant

from ..stats import bh_qvalues as benjamini_hochberg
from .summary import MIN_VALUES, ResolvedInputs

logger = logging.getLogger(__name__)

#: Percentiles that set the plotted axes (seed: 1st-99th).
CLIP_QUANTILES = (0.01, 0.99)


@dataclass(frozen=True)
class HypothesisView:
    """One hypothesis view: ``y`` against ``x`` (both feature columns)."""

    name: str
    title: str
    x_role: str
    y_role: str
    x: str | None
    y: str | None
    expectation: str


def hypothesis_views(resolved: ResolvedInputs) -> list[HypothesisView]:
    """The four seed views, with the columns resolved for this run (``None`` where unavailable)."""
    specs = [
        ("volatility_response", "Daily volatility vs weekday peak reduction", "volatility", "response",
         "more volatile homes have more to shift"),
        ("peakratio_response", "Peak-to-off-peak ratio vs weekday peak reduction", "peak_ratio", "response",
         "peakier homes have more to shift"),
        ("response_savings", "Weekday peak reduction vs estimated savings", "response", "savings",
         "reducing at peak saves money"),
        ("peakratio_savings", "Peak-to-off-peak ratio vs estimated savings", "peak_ratio", "savings",
         "peakier homes save more"),
    ]
    return [
        HypothesisView(name, title, xr, yr, resolved.column(xr), resolved.column(yr), expectation)
        for name, title, xr, yr, expectation in specs
    ]


def finite_pairs(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """``household_id``, ``x``, ``y`` of the households where both values are finite."""
    out = pd.DataFrame(
        {
            "household_id": frame["household_id"].astype(str),
            "x": pd.to_numeric(frame[x], errors="coerce").astype("float64"),
            "y": pd.to_numeric(frame[y], errors="coerce").astype("float64"),
        }
    )
    mask = np.isfinite(out["x"].to_numpy()) & np.isfinite(out["y"].to_numpy())
    return out.loc[mask].reset_index(drop=True)


def clip_bounds(values: np.ndarray) -> tuple[float, float]:
    """Axis range: the :data:`CLIP_QUANTILES` of ``values`` (seed parity)."""
    lo, hi = np.quantile(values, CLIP_QUANTILES)
    return float(lo), float(hi)


def ols_band(x: np.ndarray, y: np.ndarray, grid: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """OLS line of ``y`` on ``x`` and its (1 - alpha) confidence band of the mean, evaluated on ``grid``.

    Returns
    -------
    DataFrame
        ``x``, ``fit``, ``lower``, ``upper`` (in the unit of ``y``).
    """
    model = OLS(y, add_constant(x, has_constant="add")).fit()
    pred = model.get_prediction(add_constant(grid, has_constant="add")).summary_frame(alpha=alpha)
    return pd.DataFrame(
        {"x": grid, "fit": pred["mean"].to_numpy(), "lower": pred["mean_ci_lower"].to_numpy(),
         "upper": pred["mean_ci_upper"].to_numpy()}
    )


def spearman_ols(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Spearman's rho with its two-sided p-value and the OLS slope/intercept/R² of ``y`` on ``x``.

    Parameters
    ----------
    x, y
        Paired finite values (at least :data:`~flexpersona.eda.summary.MIN_VALUES`, neither constant).
    """
    rho, p = stats.spearmanr(x, y)
    model = OLS(y, add_constant(x, has_constant="add")).fit()
    return {
        "rho": float(rho),
        "p_value": float(p),
        "slope": float(model.params[1]),
        "intercept": float(model.params[0]),
        "r2": float(model.rsquared),
    }


def skip_reason(frame: pd.DataFrame, view: HypothesisView, resolved: ResolvedInputs) -> str | None:
    """Why a view cannot run (``None`` when it can)."""
    for col, role in ((view.x, view.x_role), (view.y, view.y_role)):
        if col is None:
            return resolved.notes.get(role, f"No {role} column.")
    pairs = finite_pairs(frame, view.x, view.y)  # type: ignore[arg-type]
    if len(pairs) < MIN_VALUES:
        return f"only {len(pairs)} households have both {view.x} and {view.y}"
    if pairs["x"].nunique() < 2 or pairs["y"].nunique() < 2:
        return f"{view.x} or {view.y} is constant across households"
    return None


def run_hypotheses(
    frame: pd.DataFrame, resolved: ResolvedInputs, *, alpha: float = 0.05
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Test every hypothesis view and adjust across them (Benjamini-Hochberg).

    Parameters
    ----------
    frame
        Feature table after :func:`~flexpersona.eda.summary.resolve_inputs`.
    resolved
        Its resolved inputs.
    alpha
        False-discovery rate for ``significant`` and 1 - confidence of the OLS band.

    Returns
    -------
    table
        One row per view: ``view``, ``title``, ``x``, ``y``, ``status`` (``ok`` | ``skipped``), ``reason``,
        ``n`` (households tested: all finite pairs), ``rho``, ``p_value``, ``q_value`` (BH across the views that
        ran), ``significant`` (q < alpha), ``slope`` [unit of y per unit of x], ``intercept``, ``r2``,
        ``x_lo``, ``x_hi``, ``y_lo``, ``y_hi`` (axis range, 1st-99th percentile), ``n_in_view`` (points inside
        both ranges), ``test_uses``.
    lines
        View name -> OLS line with band on a grid over the clipped x range (``x``, ``fit``, ``lower``,
        ``upper``).
    """
    rows: list[dict[str, Any]] = []
    lines: dict[str, pd.DataFrame] = {}
    for view in hypothesis_views(resolved):
        row: dict[str, Any] = {"view": view.name, "title": view.title, "x": view.x, "y": view.y,
                               "expectation": view.expectation}
        reason = skip_reason(frame, view, resolved)
        if reason:
            row.update(status="skipped", reason=reason, n=0)
            logger.info("eda view %s skipped: %s", view.name, reason)
            rows.append(row)
            continue
        pairs = finite_pairs(frame, view.x, view.y)  # type: ignore[arg-type]
        x, y = pairs["x"].to_numpy(), pairs["y"].to_numpy()
        x_lo, x_hi = clip_bounds(x)
        y_lo, y_hi = clip_bounds(y)
        inside = (x >= x_lo) & (x <= x_hi) & (y >= y_lo) & (y <= y_hi)
        row.update(status="ok", reason="", n=int(len(pairs)), **spearman_ols(x, y), x_lo=x_lo, x_hi=x_hi,
                   y_lo=y_lo, y_hi=y_hi, n_in_view=int(inside.sum()),
                   test_uses="all households with both values (clipping sets the axes only)")
        grid = np.linspace(x_lo, x_hi, 50) if x_hi > x_lo else np.array([x_lo])
        lines[view.name] = ols_band(x, y, grid, alpha=alpha)
        rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("rho", "p_value", "slope", "intercept", "r2", "x_lo", "x_hi", "y_lo", "y_hi"):
        if col not in table.columns:
            table[col] = np.nan
    if "n_in_view" not in table.columns:
        table["n_in_view"] = 0
    table["n_in_view"] = table["n_in_view"].fillna(0).astype(int)
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float))
    table["significant"] = (table["q_value"] < alpha).astype(bool)
    order = ["view", "title", "x", "y", "status", "reason", "n", "rho", "p_value", "q_value", "significant",
             "slope", "intercept", "r2", "x_lo", "x_hi", "y_lo", "y_hi", "n_in_view", "expectation", "test_uses"]
    if "test_uses" not in table.columns:
        table["test_uses"] = ""
    return table[order], lines
