"""The report: one self-contained offline ``report.html`` plus every figure as PNG and SVG.

Public API
----------
:func:`write_report` writes ``report.html`` and ``figures/`` into a run folder;
:func:`save_figure`, :func:`to_matplotlib`, :func:`figure_html`, :func:`plotlyjs_source` and :func:`empty_figure`
live in :mod:`flexpersona.plotting` (below eda and report) and are re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..plotting import empty_figure, figure_html, plotlyjs_source, save_figure, to_matplotlib

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["empty_figure", "figure_html", "plotlyjs_source", "save_figure", "to_matplotlib", "write_report"]


def write_report(run_dir: str | Path, config: Config | None = None) -> Path:
    """Write ``report.html`` and ``figures/*.png|svg`` for a run folder; see :mod:`flexpersona.report.html`."""
    from .html import write_report as _write_report

    return _write_report(run_dir, config)
