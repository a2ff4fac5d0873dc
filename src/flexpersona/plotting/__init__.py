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

from importlib import import_module
from typing import Any

#: Public names and the module that defines them, imported on first use (as the package's own ``_LAZY``): importing
#: :mod:`flexpersona.plotting.pool`, as the pipeline does, does not load matplotlib (~0.8 s that a re-run with
#: unchanged inputs, issue 14's (c), paid for nothing).
_LAZY = {
    "COLORWAY": "convert", "mpl_color": "convert", "PLOTLY_CONFIG": "html", "empty_figure": "html",
    "figure_html": "html", "plotlyjs_source": "html", "drawing_pool": "pool", "save_figure": "render",
    "to_matplotlib": "render",
}  # fmt: skip

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(__all__)
