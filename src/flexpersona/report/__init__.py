"""The report: one self-contained offline ``report.html`` plus every figure as PNG and SVG.

Public API
----------
:func:`write_report` writes ``report.html`` and ``figures/`` into a run folder (:mod:`flexpersona.report.html`).
The figure export (:func:`save_figure`, :func:`to_matplotlib`) and the page parts (:func:`figure_html`,
:func:`plotlyjs_source`, :func:`empty_figure`) live in :mod:`flexpersona.plotting` and are re-exported here.

Modules: ``html`` (build and write the page), ``sections`` / ``trust`` / ``recovery`` (one function per
section), ``first_screen`` (the headline cards), ``figures`` (the report's plotly figures), ``blocks``
(Section, number and table formatting), ``run_tables`` (the tables read from a run folder),
``counterfactual`` (the trial summary's counterfactual sentences).
"""

from ..plotting import empty_figure, figure_html, plotlyjs_source, save_figure, to_matplotlib
from .html import write_report

__all__ = ["empty_figure", "figure_html", "plotlyjs_source", "save_figure", "to_matplotlib", "write_report"]
