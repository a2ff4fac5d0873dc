"""The exploration's views, one function each, in the order :func:`flexpersona.eda.explore` runs them.

Each takes the :class:`~flexpersona.eda.result.EdaResult` being filled, the resolved feature frame
(:func:`flexpersona.eda.summary.resolve_inputs`) and what it needs, and adds its tables, figures, captions and
summary entries; a view whose inputs are missing records why in ``skipped`` (view name -> reason) instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import figures as figs
from .hypotheses import finite_pairs, run_hypotheses
from .responders import SUPER_SHARE, performance_potential, responder_sign_comparison, super_responders
from .result import EdaResult
from .summary import (
    FEATURE_UNITS,
    KEY_FEATURES,
    RESPONSE,
    SAVINGS,
    ResolvedInputs,
    available,
    correlation_matrix,
    feature_summary,
    numeric_columns,
)

#: False-discovery rate of the hypothesis views and the super-responder battery.
FDR_ALPHA = 0.05


def _fmt_p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


def _matrix_table(matrix: pd.DataFrame) -> pd.DataFrame:
    out = matrix.copy()
    out.insert(0, "feature", out.index.astype(str))
    return out.reset_index(drop=True)


def summary_view(res: EdaResult, frame: pd.DataFrame, resolved: ResolvedInputs) -> pd.DataFrame:
    """1. Summary statistics of every feature with units (``feature_summary``); returns that table."""
    table = feature_summary(frame)
    res.tables["feature_summary"] = table
    res.captions["feature_summary"] = (
        f"Summary statistics of {len(table)} features over {len(frame)} treatment households (count = finite values; "
        f"share_missing = missing or infinite). {resolved.notes['response']}")
    return table


def distribution_views(res: EdaResult, frame: pd.DataFrame, resolved: ResolvedInputs, table: pd.DataFrame,
                       skipped: dict[str, str]) -> list[str]:
    """2. A histogram with density of every key feature, and the seed's 2 x 2 panel; returns the key features."""
    keys = [c for c in KEY_FEATURES if available(frame, c)]
    for c in keys:
        res.figures[f"hist_{c}"] = figs.histogram_density(frame[c], c)
        row = table.loc[table["feature"] == c].iloc[0]
        res.captions[f"hist_{c}"] = (
            f"Distribution of {c} [{FEATURE_UNITS.get(c, '')}]: n = {int(row['count'])}, median "
            f"{row['median']:.3g}, interquartile range {row['q25']:.3g} to {row['q75']:.3g}.")
    panels = [
        ("Weekday peak reduction", resolved.response, resolved.notes.get("response", "")),
        ("Baseline peak-to-off-peak ratio", resolved.peak_ratio, resolved.notes.get("peak_ratio", "")),
        ("Daily volatility", resolved.volatility, resolved.notes.get("volatility", "")),
        ("Economic rationality", resolved.rationality, resolved.notes.get("rationality", "")),
    ]
    if any(p[1] for p in panels):
        res.figures["seed_panel"] = figs.seed_panel(frame, panels)
        missing = "; ".join(f"{t}: {note}" for t, col, note in panels if col is None)
        res.captions["seed_panel"] = (
            "The seed's 2 x 2 panel (histogram as density with a kernel density line). "
            + (f"Not available -- {missing}" if missing else "All four panels available."))
    else:
        skipped["seed_panel"] = "none of the four seed panel features has values"
    return keys


def correlation_views(res: EdaResult, frame: pd.DataFrame, keys: list[str], method: str,
                      skipped: dict[str, str]) -> None:
    """3. Correlation heatmaps of all features and of the key ones (``method``: spearman | pearson)."""
    # all features as written by the run (the harmonised copies RESPONSE/SAVINGS would only repeat a source)
    all_cols = [c for c in numeric_columns(frame) if available(frame, c) and c not in (RESPONSE, SAVINGS)]
    corr_all = correlation_matrix(frame, all_cols, method)
    corr_key = correlation_matrix(frame, keys, method)
    for name, matrix, short in (("corr_all", corr_all, False), ("corr_key", corr_key, True)):
        if matrix.shape[0] < 2:
            skipped[name] = "fewer than two non-constant features with values"
            continue
        res.tables[name] = _matrix_table(matrix)
        res.figures[name] = figs.correlation_heatmap(
            matrix, method, short=short,
            title=f"{method.capitalize()} correlations ({'key features' if short else 'all features'})")
        tri = matrix.where(np.triu(np.ones(matrix.shape, dtype=bool), k=1)).stack().dropna()
        strongest = tri.abs().idxmax() if len(tri) else None
        res.captions[name] = (
            f"{method.capitalize()} correlations (pairwise complete) of {matrix.shape[0]} features"
            + (f"; strongest pair {strongest[0]} / {strongest[1]}: r = {tri[strongest]:.2f}." if strongest else "."))


def hypothesis_views(res: EdaResult, frame: pd.DataFrame, resolved: ResolvedInputs, skipped: dict[str, str]) -> None:
    """4. The seed's four hypothesis views: Spearman's rho on all points, OLS line with 95 % band, BH across views."""
    hyp, lines = run_hypotheses(frame, resolved, alpha=FDR_ALPHA)
    res.tables["hypotheses"] = hyp
    views: dict[str, Any] = {}
    for row in hyp.itertuples(index=False):
        rec = row._asdict()
        if row.status != "ok":
            skipped[f"hyp_{row.view}"] = row.reason
            views[row.view] = {"status": "skipped", "reason": row.reason}
            continue
        pairs = finite_pairs(frame, row.x, row.y)
        res.figures[f"hyp_{row.view}"] = figs.hypothesis_scatter(pairs, lines[row.view], pd.Series(rec))
        verdict = "significant" if row.significant else "not significant"
        res.captions[f"hyp_{row.view}"] = (
            f"{row.title}: Spearman rho = {row.rho:.2f} (p = {_fmt_p(row.p_value)}, BH q = {_fmt_p(row.q_value)}, "
            f"{verdict} at {FDR_ALPHA:.0%} FDR across the views), n = {row.n} households, all used in the test and "
            f"the OLS line (95 % band); axes clipped to the 1st-99th percentile ({row.n_in_view} points inside).")
        views[row.view] = {"status": "ok", "x": row.x, "y": row.y, "n": int(row.n), "rho": row.rho,
                           "p_value": row.p_value, "q_value": row.q_value, "significant": bool(row.significant),
                           "slope": row.slope}
    res.summary["hypotheses"] = views


def responder_sign_view(res: EdaResult, frame: pd.DataFrame, resolved: ResolvedInputs, skipped: dict[str, str]) -> None:
    """5. Positive vs negative weekday responders (Mann-Whitney, rank-biserial r)."""
    sign_table, long, reason = responder_sign_comparison(frame, resolved)
    if reason:
        skipped["responders_box"] = reason
        return
    res.tables["responder_sign"] = sign_table
    res.figures["responders_box"] = figs.responder_boxes(long, sign_table)
    parts = [f"{r.metric}: medians {r.median_positive:.3g} vs {r.median_negative:.3g}, p = {_fmt_p(r.p_value)}, "
             f"r_rb = {r.rank_biserial:.2f}" for r in sign_table.itertuples(index=False)]
    first = sign_table.iloc[0]
    res.captions["responders_box"] = (
        f"Positive ({int(first['n_a'])}) vs negative ({int(first['n_b'])}) weekday responders "
        f"(Mann-Whitney, rank-biserial r positive = higher among positive responders). " + "; ".join(parts) + ".")
    res.summary["responder_sign"] = sign_table.to_dict(orient="records")


def super_responder_view(res: EdaResult, frame: pd.DataFrame, resolved: ResolvedInputs, skipped: dict[str, str]) -> None:
    """6. Super-responders (top 10 %) vs the rest on lifestyle and financial features (Mann-Whitney, BH)."""
    sup, is_super, reason = super_responders(frame, resolved, share=SUPER_SHARE, alpha=FDR_ALPHA)
    if reason:
        skipped["super_responders"] = reason
        return
    res.tables["super_responders"] = sup
    res.figures["super_responders"] = figs.super_responder_medians(sup, SUPER_SHARE)
    sig = sup.loc[sup["significant"], "feature"].tolist()
    res.captions["super_responders"] = (
        f"{int(is_super.sum())} super-responders (top {SUPER_SHARE:.0%} of weekday response) vs the other "
        f"{int(sup['n_b'].max())}: medians side by side, Mann-Whitney per feature, Benjamini-Hochberg across "
        f"{len(sup)} features; significant at {FDR_ALPHA:.0%} FDR: {', '.join(sig) if sig else 'none'}.")
    res.summary["super_responders"] = {"n_super": int(is_super.sum()), "n_features": int(len(sup)),
                                       "significant": sig}


def performance_potential_view(res: EdaResult, frame: pd.DataFrame, resolved: ResolvedInputs,
                               skipped: dict[str, str]) -> None:
    """7. The performance-potential matrix (median splits; :mod:`flexpersona.features.potential`)."""
    counts, assignment, splits, reason = performance_potential(frame, resolved)
    if reason:
        skipped["performance_potential"] = reason
        return
    res.tables["performance_potential"] = counts
    res.tables["performance_potential_households"] = assignment
    res.figures["performance_potential"] = figs.performance_potential_scatter(assignment, counts, splits)
    res.captions["performance_potential"] = (
        f"Performance-potential matrix: {splits['x']} split at its median {splits['x_median']:.3g}, "
        f"{splits['y']} (as a reduction) split at {splits['y_median']:.3g}; " + "; ".join(
            f"{r.quadrant}: {r.n} ({r.share:.0%})" for r in counts.itertuples(index=False)) + ".")
    res.summary["performance_potential"] = {**splits, "counts": dict(zip(counts["quadrant"], counts["n"]))}
