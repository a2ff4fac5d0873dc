"""Plotly values in matplotlib's terms: colours, colour scales, trace data, categorical axes, error bars.

The pieces :mod:`flexpersona.plotting.render` redraws a plotly figure with; each takes what a plotly trace or
layout holds (a colour string, a typed array, an ``error_y`` spec) and returns what matplotlib takes.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors

#: Plotly's default colour cycle (the ``plotly`` template), used for traces without a colour.
COLORWAY = (
    "#636efa",
    "#EF553B",
    "#00cc96",
    "#ab63fa",
    "#FFA15A",
    "#19d3f3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
)

_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")


def plotly_text(title: Any) -> str:
    """The text of a plotly title (a string or an object with ``.text``), "" when there is none."""
    if title is None:
        return ""
    if isinstance(title, str):
        return title
    return getattr(title, "text", None) or ""


def strip_html(s: str) -> str:
    """Plotly's HTML-ish label text as plain text (``<br>`` becomes a line break, other tags go)."""
    return re.sub(r"<br\s*/?>", "\n", re.sub(r"<(?!br)[^>]+>", "", s))


def mpl_color(c: Any, default: str = COLORWAY[0]) -> Any:
    """Convert a plotly colour (hex, name, ``rgb()``/``rgba()``) to a matplotlib colour."""
    if c is None:
        return default
    if isinstance(c, str):
        m = _RGB.fullmatch(c.strip())
        if m:
            r, g, b = (float(m.group(k)) / 255 for k in (1, 2, 3))
            a = float(m.group(4)) if m.group(4) is not None else 1.0
            return (r, g, b, a)
        return c if mcolors.is_color_like(c) else default
    return default


def colormap(scale: Any) -> Any:
    """A matplotlib colormap for a plotly colorscale (name or list of ``(position, colour)``)."""
    if scale is None:
        return matplotlib.colormaps["viridis"]
    if isinstance(scale, str):
        name = scale.replace("_r", "")
        for cand in (scale, scale.lower(), name, name.lower()):
            if cand in matplotlib.colormaps:
                return matplotlib.colormaps[cand]
        return matplotlib.colormaps["viridis"]
    try:
        stops = [(float(p), mpl_color(col)) for p, col in scale]
        return mcolors.LinearSegmentedColormap.from_list("plotly", stops)
    except (TypeError, ValueError):
        return matplotlib.colormaps["viridis"]


def trace_values(v: Any) -> np.ndarray | None:
    """Trace data as an array: dates become datetime64, numbers float, anything else object."""
    if v is None:
        return None
    if isinstance(v, dict) and "bdata" in v:  # plotly's typed-array spec {"dtype", "bdata", "shape"}
        shape = v.get("shape")
        v = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v.get("dtype", "f8")))
        if shape:
            v = v.reshape([int(x) for x in str(shape).split(",")] if isinstance(shape, str) else shape)
    arr = np.asarray(v)
    if arr.dtype.kind in "fiub" or arr.dtype.kind == "M":
        return arr.astype(float) if arr.dtype.kind in "iub" else arr
    flat = arr.ravel()
    numeric = pd.to_numeric(pd.Series(flat, dtype=object), errors="coerce")
    if flat.size and numeric.notna().sum() == sum(x is not None and x == x for x in flat):
        return numeric.to_numpy(dtype=float).reshape(arr.shape)
    if flat.size and all(isinstance(x, str) for x in flat) and all(re.match(r"^\d{4}-\d{2}-\d{2}", x) for x in flat):
        return pd.to_datetime(pd.Series(flat), format="ISO8601").to_numpy().reshape(arr.shape)
    return np.array([str(x) for x in flat], dtype=object).reshape(arr.shape)


def is_numeric(a: np.ndarray | None) -> bool:
    """Numbers or dates (drawn at their value), not categories."""
    return a is not None and a.dtype.kind in "fiuM"


class Categories:
    """Maps categorical axis values to positions 0..n-1 in order of appearance."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def pos(self, values: np.ndarray) -> np.ndarray:
        out = np.empty(len(values), dtype=float)
        for i, v in enumerate(values):
            out[i] = self.index.setdefault(str(v), len(self.index))
        return out

    def apply(self, ax: Any, axis: str) -> None:
        if not self.index:
            return
        ticks = list(self.index.values())
        labels = [strip_html(k) for k in self.index]
        if axis == "x":
            ax.set_xticks(ticks, labels, rotation=45 if len(ticks) > 6 else 0, ha="right" if len(ticks) > 6 else "center", fontsize=7)
        else:
            ax.set_yticks(ticks, labels, fontsize=7)


def axis_layout(layout: Any, ref: str, kind: str) -> Any:
    """``layout.xaxis2`` for ``ref='x2'`` and so on."""
    name = kind + "axis" + ref[1:]
    return getattr(layout, name, None) if hasattr(layout, name) else None


def marker_colors(tr: Any, n: int, fallback: Any) -> tuple[Any, dict[str, Any]]:
    """``(c, kwargs)`` for ``ax.scatter`` from ``trace.marker.color``."""
    marker = getattr(tr, "marker", None)
    col = getattr(marker, "color", None) if marker is not None else None
    if col is None or isinstance(col, str):
        return mpl_color(col, fallback), {}
    arr = trace_values(col)
    if arr is not None and arr.dtype.kind == "f" and len(arr) == n:
        return arr, {"cmap": colormap(getattr(marker, "colorscale", None))}
    if arr is not None and len(arr) == n:
        return [mpl_color(c, fallback) for c in arr], {}
    return fallback, {}


def error_bars(spec: Any, n: int) -> np.ndarray | None:
    """A ``2 x n`` array (minus, plus) for matplotlib from a plotly ``error_x``/``error_y``, or None."""
    if spec is None or getattr(spec, "visible", None) is False:
        return None
    plus = trace_values(getattr(spec, "array", None))
    if plus is None:
        return None
    minus = trace_values(getattr(spec, "arrayminus", None))
    if minus is None or getattr(spec, "symmetric", None) is True:
        minus = plus
    if len(plus) != n:
        return None
    return np.vstack([np.nan_to_num(minus.astype(float)), np.nan_to_num(plus.astype(float))])
