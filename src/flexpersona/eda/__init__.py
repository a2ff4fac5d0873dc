"""Exploratory analysis of a run's feature table: the report's "Exploration" section.

:func:`explore` takes the feature table (one row per treatment household) and a :class:`~flexpersona.config.Config`
and returns tables, plotly figures and captions built from those tables' numbers:

1. summary statistics of every feature with units (``feature_summary``);
2. distributions of the key features and the seed's 2 x 2 panel;
3. correlation heatmaps, all features and the key ones (``config.report.correlation``: spearman | pearson);
4. the seed's four hypothesis views (Spearman's rho on all points, OLS line with 95 % band, BH across views);
5. positive vs negative weekday responders (Mann-Whitney, rank-biserial r);
6. super-responders (top 10 %) vs the rest on lifestyle and financial features (Mann-Whitney, BH);
7. the baseline performance-potential matrix (median splits).

A view whose inputs are missing (e.g. the seed columns on 2013-only data) is skipped, and ``summary["skipped"]``
and the captions say why. :func:`explore_run` is the run-folder wrapper behind ``flexpersona eda RUN``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..config import Config
from ..errors import InputError
from ..plotting import save_figure
from . import figures as figs
from .hypotheses import finite_pairs, run_hypotheses
from .responders import SUPER_SHARE, performance_potential, responder_sign_comparison, super_responders
from .summary import (
    FEATURE_UNITS,
    KEY_FEATURES,
    RESPONSE,
    SAVINGS,
    available,
    check_features,
    check_method,
    correlation_matrix,
    feature_summary,
    fill_from_lifestyle,
    numeric_columns,
    resolve_inputs,
)

logger = logging.getLogger(__name__)

__all__ = ["FEATURE_UNITS", "EdaResult", "explore", "explore_run", "save_eda"]

#: False-discovery rate of the hypothesis views and the super-responder battery.
FDR_ALPHA = 0.05


@dataclass
class EdaResult:
    """What the exploration found.

    Attributes
    ----------
    tables
        Name -> table (written as ``RUN/eda/<name>.csv``).
    figures
        Name -> plotly figure (saved as ``RUN/figures/eda_<name>.png/.svg``).
    captions
        Figure or table name -> caption built from the tables' numbers.
    summary
        JSON-able digest: inputs used, counts, test results, skipped views with reasons.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, go.Figure] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _fmt_p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


def _matrix_table(matrix: pd.DataFrame) -> pd.DataFrame:
    out = matrix.copy()
    out.insert(0, "feature", out.index.astype(str))
    return out.reset_index(drop=True)


def explore(features: pd.DataFrame, config: Config, *, lifestyle: pd.DataFrame | None = None) -> EdaResult:
    """Explore a run's feature table.

    Parameters
    ----------
    features
        The run's ``features.parquet`` (one row per treatment household, columns as in
        ``docs/architecture.md``); seed-compatible, default or both feature sets.
    config
        Run configuration; ``config.report.correlation`` (``spearman`` | ``pearson``) picks the correlation.
    lifestyle
        Optional ``lifestyle.parquet``: pre-trial features missing in ``features`` are filled from it (never
        replaced); ``summary["filled_from_lifestyle"]`` counts the values taken.

    Returns
    -------
    EdaResult
        Tables, figures, captions and summary (see the module docstring).

    Raises
    ------
    InputError
        When ``features`` has no ``household_id`` or repeats one.
    ConfigError
        When the correlation method is unknown.
    """
    method = check_method(config.report.correlation)
    check_features(features)
    features, filled = fill_from_lifestyle(features, lifestyle)
    frame, resolved = resolve_inputs(features)
    res = EdaResult()
    skipped: dict[str, str] = {}
    n = len(frame)
    res.summary = {
        "n_households": int(n),
        "correlation_method": method,
        "fdr_alpha": FDR_ALPHA,
        "inputs": resolved.as_dict(),
        "response_source": resolved.response_source,
        "response_note": resolved.notes["response"],
        "filled_from_lifestyle": filled,
        "skipped": skipped,
    }
    if n == 0:
        msg = "the feature table has no households"
        raise InputError("features.parquet", msg, "check the features stage's ledger: every household was excluded")

    # 1. summary statistics -----------------------------------------------------------------------------
    table = feature_summary(frame)
    res.tables["feature_summary"] = table
    res.captions["feature_summary"] = (
        f"Summary statistics of {len(table)} features over {n} treatment households (count = finite values; "
        f"share_missing = missing or infinite). {resolved.notes['response']}")

    # 2. distributions -----------------------------------------------------------------------------------
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

    # 3. correlations -------------------------------------------------------------------------------------
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

    # 4. hypothesis views ---------------------------------------------------------------------------------
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

    # 5. responder sign -------------------------------------------------------------------------------------
    sign_table, long, reason = responder_sign_comparison(frame, resolved)
    if reason:
        skipped["responders_box"] = reason
    else:
        res.tables["responder_sign"] = sign_table
        res.figures["responders_box"] = figs.responder_boxes(long, sign_table)
        parts = [f"{r.metric}: medians {r.median_positive:.3g} vs {r.median_negative:.3g}, p = {_fmt_p(r.p_value)}, "
                 f"r_rb = {r.rank_biserial:.2f}" for r in sign_table.itertuples(index=False)]
        first = sign_table.iloc[0]
        res.captions["responders_box"] = (
            f"Positive ({int(first['n_a'])}) vs negative ({int(first['n_b'])}) weekday responders "
            f"(Mann-Whitney, rank-biserial r positive = higher among positive responders). " + "; ".join(parts) + ".")
        res.summary["responder_sign"] = sign_table.to_dict(orient="records")

    # 6. super-responders --------------------------------------------------------------------------------
    sup, is_super, reason = super_responders(frame, resolved, share=SUPER_SHARE, alpha=FDR_ALPHA)
    if reason:
        skipped["super_responders"] = reason
    else:
        res.tables["super_responders"] = sup
        res.figures["super_responders"] = figs.super_responder_medians(sup, SUPER_SHARE)
        sig = sup.loc[sup["significant"], "feature"].tolist()
        res.captions["super_responders"] = (
            f"{int(is_super.sum())} super-responders (top {SUPER_SHARE:.0%} of weekday response) vs the other "
            f"{int(sup['n_b'].max())}: medians side by side, Mann-Whitney per feature, Benjamini-Hochberg across "
            f"{len(sup)} features; significant at {FDR_ALPHA:.0%} FDR: {', '.join(sig) if sig else 'none'}.")
        res.summary["super_responders"] = {"n_super": int(is_super.sum()), "n_features": int(len(sup)),
                                           "significant": sig}

    # 7. performance-potential matrix --------------------------------------------------------------------
    counts, assignment, splits, reason = performance_potential(frame, resolved)
    if reason:
        skipped["performance_potential"] = reason
    else:
        res.tables["performance_potential"] = counts
        res.tables["performance_potential_households"] = assignment
        res.figures["performance_potential"] = figs.performance_potential_scatter(assignment, counts, splits)
        res.captions["performance_potential"] = (
            f"Performance-potential matrix: {splits['x']} split at its median {splits['x_median']:.3g}, weekday "
            f"response split at {splits['y_median']:.3g}; " + "; ".join(
                f"{r.quadrant}: {r.n} ({r.share:.0%})" for r in counts.itertuples(index=False)) + ".")
        res.summary["performance_potential"] = {**splits, "counts": dict(zip(counts["quadrant"], counts["n"]))}
    for name, why in skipped.items():
        res.captions.setdefault(name, f"Skipped: {why}")
    logger.info("eda: %d tables, %d figures, %d skipped", len(res.tables), len(res.figures), len(skipped))
    return res


def save_eda(result: EdaResult, run_dir: str | Path) -> list[Path]:
    """Write an :class:`EdaResult` into a run folder.

    Writes ``RUN/eda/<table>.csv``, ``RUN/eda/summary.json`` (the summary plus ``captions`` and the table and
    figure names in order), each figure as plotly JSON ``RUN/eda/figures/<name>.json`` (read back by
    :func:`load_eda`) and as ``RUN/figures/eda_<name>.png`` and ``.svg`` through :func:`flexpersona.plotting.save_figure` (all writes
    are atomic).

    Returns
    -------
    list of Path
        The files written.
    """
    from ..store import write_csv, write_json, write_text

    run = Path(run_dir)
    written = [write_csv(table, run / "eda" / f"{name}.csv") for name, table in result.tables.items()]
    # the figures themselves, so that the report shows exactly this stage's exploration (load_eda)
    written += [write_text(fig.to_json(), run / "eda" / "figures" / f"{name}.json")
                for name, fig in result.figures.items()]
    result.summary["tables"] = list(result.tables)
    result.summary["figures"] = list(result.figures)
    saved: list[str] = []
    for name, fig in result.figures.items():
        written += save_figure(fig, run / "figures" / f"eda_{name}")
        saved.append(f"eda_{name}")
    result.summary["figures_saved"] = saved
    written.append(write_json({**result.summary, "captions": result.captions}, run / "eda" / "summary.json"))
    logger.info("eda: wrote %d files under %s", len(written), run)
    return written


def load_eda(run_dir: str | Path) -> EdaResult | None:
    """The exploration :func:`save_eda` wrote into a run folder; None when absent, incomplete or older than
    ``features.parquet`` (then it no longer describes the run's features).
    """
    import plotly.io as pio

    from ..store import read_json

    run = Path(run_dir)
    summary_path, features = run / "eda" / "summary.json", run / "features.parquet"
    if not summary_path.exists() or (features.exists() and summary_path.stat().st_mtime < features.stat().st_mtime):
        return None
    summary = read_json(summary_path)
    if "tables" not in summary or "figures" not in summary:
        return None  # written before the figures were saved as JSON
    paths = {**{f"t:{n}": run / "eda" / f"{n}.csv" for n in summary["tables"]},
             **{f"f:{n}": run / "eda" / "figures" / f"{n}.json" for n in summary["figures"]}}
    if not all(p.exists() for p in paths.values()):
        return None
    res = EdaResult(captions=dict(summary.pop("captions", {})), summary=summary)
    res.tables = {n: pd.read_csv(paths[f"t:{n}"]) for n in summary["tables"]}
    res.figures = {n: pio.from_json(paths[f"f:{n}"].read_text()) for n in summary["figures"]}
    return res


def explore_run(run_dir: str | Path, config: Config) -> EdaResult:
    """Run :func:`explore` on a finished run folder and write its outputs there (:func:`save_eda`).

    Pre-trial features missing in ``features.parquet`` are filled from ``lifestyle.parquet`` when present.

    Parameters
    ----------
    run_dir
        The run folder; must hold ``features.parquet``.
    config
        Run configuration (``config.report.correlation`` picks the correlation).

    Raises
    ------
    StageError
        When the run has no ``features.parquet``.
    """
    from ..store import read_optional_table, run_features_path

    run = Path(run_dir)
    path = run_features_path(run, then=f", then flexpersona eda {run}")
    result = explore(pd.read_parquet(path), config, lifestyle=read_optional_table(run / "lifestyle.parquet"))
    save_eda(result, run)
    return result
