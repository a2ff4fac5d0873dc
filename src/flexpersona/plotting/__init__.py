"""Plotly figures as static files and as parts of an offline page, below both :mod:`flexpersona.eda` and
:mod:`flexpersona.report` (it imports neither).

- :mod:`~flexpersona.plotting.render`: :func:`save_figure` (PNG + SVG) through :func:`to_matplotlib`, a
  browser-free redraw of a plotly figure with matplotlib;
- :mod:`~flexpersona.plotting.convert`: plotly colours, colour scales and trace data in matplotlib's terms;
- :mod:`~flexpersona.plotting.html`: :func:`figure_html` (a figure's ``<div>``), :func:`plotlyjs_source`
  (plotly.js, inlined once per page), :func:`empty_figure`;
- :mod:`~flexpersona.plotting.pool`: :func:`drawing_pool`, a block in which :func:`save_figure` draws in worker
  processes (the pipeline's run is one).
"""

from .convert import COLORWAY, mpl_color
from .html import PLOTLY_CONFIG, empty_figure, figure_html, plotlyjs_source
from .pool import drawing_pool
from .render import save_figure, to_matplotlib

__all__ = [
    "COLORWAY", "PLOTLY_CONFIG", "drawing_pool", "empty_figure", "figure_html", "mpl_color", "plotlyjs_source", "save_figure",
    "to_matplotlib",
]
