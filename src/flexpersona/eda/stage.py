"""The eda stage: :func:`explore` a feature table, :func:`save_eda` / :func:`load_eda` its output in a run
folder, and :func:`explore_run` (the run-folder wrapper behind ``flexpersona eda RUN``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import plotly.io as pio

from ..config import Config
from ..errors import InputError
from ..plotting import save_figure
from ..store import read_json, read_optional_table, run_features_path, write_csv, write_json, write_text
from .result import EdaResult
from .summary import check_features, check_method, fill_from_lifestyle, resolve_inputs
from .views import (
    FDR_ALPHA,
    correlation_views,
    distribution_views,
    hypothesis_views,
    performance_potential_view,
    responder_sign_view,
    summary_view,
    super_responder_view,
)

logger = logging.getLogger(__name__)


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
        Tables, figures, captions and summary (see :mod:`flexpersona.eda`).

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
    table = summary_view(res, frame, resolved)
    keys = distribution_views(res, frame, resolved, table, skipped)
    correlation_views(res, frame, keys, method, skipped)
    hypothesis_views(res, frame, resolved, skipped)
    responder_sign_view(res, frame, resolved, skipped)
    super_responder_view(res, frame, resolved, skipped)
    performance_potential_view(res, frame, resolved, skipped)
    for name, why in skipped.items():
        res.captions.setdefault(name, f"Skipped: {why}")
    logger.info("eda: %d tables, %d figures, %d skipped", len(res.tables), len(res.figures), len(skipped))
    return res


def save_eda(result: EdaResult, run_dir: str | Path) -> list[Path]:
    """Write an :class:`EdaResult` into a run folder.

    Writes ``RUN/eda/<table>.csv``, ``RUN/eda/summary.json`` (the summary plus ``captions`` and the table and
    figure names in order), each figure as plotly JSON ``RUN/eda/figures/<name>.json`` (read back by
    :func:`load_eda`) and as ``RUN/figures/eda_<name>.png`` and ``.svg`` through
    :func:`flexpersona.plotting.save_figure` (all writes are atomic).

    Returns
    -------
    list of Path
        The files written.
    """
    run = Path(run_dir)
    written = [write_csv(table, run / "eda" / f"{name}.csv") for name, table in result.tables.items()]
    # the figures themselves, so that the report shows exactly this stage's exploration (load_eda)
    written += [write_text(fig.to_json(), run / "eda" / "figures" / f"{name}.json")
                for name, fig in result.figures.items()]
    for name, fig in result.figures.items():
        written += save_figure(fig, run / "figures" / f"eda_{name}")
    doc = result.artifacts()["eda_summary"]
    result.summary.update({k: doc[k] for k in ("tables", "figures", "figures_saved")})
    written.append(write_json(doc, run / "eda" / "summary.json"))
    logger.info("eda: wrote %d files under %s", len(written), run)
    return written


def load_eda(run_dir: str | Path) -> EdaResult | None:
    """The exploration :func:`save_eda` wrote into a run folder; None when absent, incomplete or older than
    ``features.parquet`` (then it no longer describes the run's features).
    """
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
    run = Path(run_dir)
    path = run_features_path(run, then=f", then flexpersona eda {run}")
    result = explore(pd.read_parquet(path), config, lifestyle=read_optional_table(run / "lifestyle.parquet"))
    save_eda(result, run)
    return result
