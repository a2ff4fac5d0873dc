"""Browser-free PNG/SVG export of any plotly figure.

:func:`save_figure` writes a plotly figure as ``<stem>.png`` and ``<stem>.svg`` *without a browser*:
:func:`to_matplotlib` redraws the figure's traces with matplotlib (scatter, line, bar, histogram, heatmap,
box and scatterpolar traces; shapes and annotations in data coordinates). Kaleido is not used because it
needs Chrome.

Examples
--------
>>> import plotly.graph_objects as go
>>> mfig = to_matplotlib(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])))
>>> len(mfig.axes[0].patches)
2
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib import colors as mcolors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..store import atomic_path
from .cache import figure_key, saved_key
from .convert import (
    COLORWAY,
    Categories,
    axis_layout,
    colormap,
    error_bars,
    is_numeric,
    marker_colors,
    mpl_color,
    plotly_text,
    strip_html,
    trace_values,
)
from .pool import active_pool

log = logging.getLogger(__name__)


def save_figure(fig: go.Figure, stem: str | Path, *, dpi: int = 110) -> list[Path]:
    """Write a plotly figure as ``<stem>.png`` and ``<stem>.svg`` (static, drawn with matplotlib).

    Parameters
    ----------
    fig
        The plotly figure.
    stem
        Target path without suffix, e.g. ``run/figures/pca_map``; parent folders are created.
    dpi
        Resolution of the PNG [dots per inch].

    Returns
    -------
    list of Path
        The PNG and the SVG written (atomically); inside a :func:`~flexpersona.plotting.pool.drawing_pool`
        block, to be written by a worker process by the time the block ends.

    Notes
    -----
    A figure is drawn once: the SVG carries the figure's key (:func:`~flexpersona.plotting.cache.figure_key`:
    its JSON, ``dpi`` and the drawing code), and when both files exist and the SVG carries this figure's key
    they are kept as they are (a re-run of a stage whose figures did not change draws nothing); a figure already
    handed to the active pool for the same files is not handed over again.
    """
    stem = Path(stem)
    png, svg = stem.with_name(f"{stem.name}.png"), stem.with_name(f"{stem.name}.svg")
    key = figure_key(fig, dpi)
    pool = active_pool()
    if pool is not None and pool.pending_key(stem) == key:
        return [png, svg]  # being drawn from this very figure
    if png.exists() and saved_key(svg) == key and (pool is None or pool.pending_key(stem) is None):
        return [png, svg]  # drawn before from this very figure by this very code: the same bytes
    if pool is not None:
        pool.submit(_draw, fig, stem, dpi, key)
    else:
        _draw(fig, stem, dpi, key)
    return [png, svg]


def _draw(fig: go.Figure, stem: Path, dpi: int, key: str) -> None:
    """Draw ``fig`` as ``<stem>.png`` and ``<stem>.svg`` (the SVG carrying ``key``); in this process or a
    :mod:`~flexpersona.plotting.pool` worker."""
    png, svg = stem.with_name(f"{stem.name}.png"), stem.with_name(f"{stem.name}.svg")
    mfig = to_matplotlib(fig)
    for fmt, target in (("png", png), ("svg", svg)):
        with atomic_path(target) as tmp:
            # metadata=None-Date and a fixed hash salt keep the SVG byte-stable between runs.

            # Text stays text in the SVG (smaller, faster, searchable).
            with matplotlib.rc_context({"svg.hashsalt": "flexpersona", "svg.fonttype": "none"}):
                meta = {"Date": None, "Identifier": key} if fmt == "svg" else {}
                mfig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
        # The PNG's draw ran the constrained layout; drop the engine (None, not "none": any engine, even the
        # "none" placeholder, makes savefig draw the figure once more before drawing it) so that the SVG is
        # drawn once, at the PNG's layout.
        with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            mfig.set_layout_engine(None)


def to_matplotlib(fig: go.Figure | dict[str, Any]) -> Figure:
    """Redraw a plotly figure's traces on a matplotlib :class:`~matplotlib.figure.Figure` (no pyplot).

    Traces sharing a plotly subplot (``xaxis``/``yaxis`` pair, or polar ``subplot``) share a matplotlib
    axes; several subplots are laid out in a grid. Unsupported trace types are skipped with a log line.
    """
    if not isinstance(fig, go.Figure):
        fig = go.Figure(fig)
    layout = fig.layout
    panels = _panels(fig)
    n = len(panels)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    width = (layout.width or (720 if n == 1 else 360 * ncols)) / 100
    height = (layout.height or 480) / 100
    if n > 1 and not layout.height:
        height = 3.4 * nrows
    mfig = Figure(figsize=(max(width, 4.0), max(height, 3.0)), layout="constrained")
    FigureCanvasAgg(mfig)
    color_index = 0
    for i, (key, traces) in enumerate(panels.items()):
        polar = key.startswith("polar:")
        ax = mfig.add_subplot(nrows, ncols, i + 1, projection="polar" if polar else None)
        if polar:
            color_index = _draw_polar(ax, traces, layout, key.split(":", 1)[1], color_index)
        else:
            color_index = _draw_cartesian(ax, traces, layout, key, color_index, mfig)
        handles, labels = ax.get_legend_handles_labels()
        if labels and layout.showlegend is not False and len(labels) > 1:
            ax.legend(fontsize=7, loc="best", frameon=False)
    title = plotly_text(layout.title)
    if title:
        mfig.suptitle(strip_html(title), fontsize=11)
    return mfig


def _panels(fig: go.Figure) -> dict[str, list[Any]]:
    """The figure's traces by subplot: ``"x|y"`` (axis pair) or ``"polar:<subplot>"``, in order of appearance."""
    panels: dict[str, list[Any]] = {}
    for tr in fig.data:
        if tr.type in ("scatterpolar", "barpolar", "scatterpolargl"):
            key = "polar:" + (tr.subplot or "polar")
        else:
            key = f"{getattr(tr, 'xaxis', None) or 'x'}|{getattr(tr, 'yaxis', None) or 'y'}"
        panels.setdefault(key, []).append(tr)
    if not panels:
        panels["x|y"] = []
    return panels


# -- cartesian subplots ----------------------------------------------------------------------------------
@dataclass
class _Panel:
    """One cartesian subplot being drawn: its axes, categorical axes and the bar/box layout of its traces."""

    ax: Any
    mfig: Figure
    layout: Any
    traces: list[Any]
    yref: str
    xcat: Categories = field(default_factory=Categories)
    ycat: Categories = field(default_factory=Categories)
    bar_i: int = 0
    stack_base: dict[tuple[str, float], float] = field(default_factory=dict)

    @property
    def n_bars(self) -> int:
        return sum(t.type == "bar" for t in self.traces)

    @property
    def boxes(self) -> list[Any]:
        return [t for t in self.traces if t.type == "box"]


def _draw_cartesian(ax: Any, traces: list[Any], layout: Any, key: str, color_index: int, mfig: Figure) -> int:
    """Draw the traces of one ``x|y`` subplot; returns the colour index after them."""
    xref, yref = key.split("|")
    panel = _Panel(ax, mfig, layout, traces, yref)
    for tr in traces:
        marker_color = getattr(getattr(tr, "marker", None), "color", None)
        color = mpl_color(marker_color if isinstance(marker_color, str) else None, COLORWAY[color_index % len(COLORWAY)])
        label = strip_html(tr.name) if tr.name and tr.showlegend is not False else None
        draw = _TRACE_DRAWERS.get(tr.type)
        if draw is None:
            log.info("PNG/SVG export: trace type %s is not drawn", tr.type)
        elif draw(panel, tr, color, label):
            color_index += 1
    panel.xcat.apply(ax, "x")
    panel.ycat.apply(ax, "y")
    _decorate(ax, layout, xref, yref)
    return color_index


def _draw_scatter(p: _Panel, tr: Any, color: Any, label: str | None) -> bool:
    """Markers, lines, fills, error bars and text of a scatter trace; True when drawn (uses a colour)."""
    ax = p.ax
    x, y = trace_values(tr.x), trace_values(tr.y)
    if y is None:
        return False
    if x is None:
        x = np.arange(len(y), dtype=float)
    xp = x if is_numeric(x) else p.xcat.pos(x)
    yp = y if is_numeric(y) else p.ycat.pos(y)
    mode = tr.mode or ("lines+markers" if len(y) < 20 else "lines")
    line_color = mpl_color(getattr(tr.line, "color", None), color) if tr.line is not None else color
    if tr.fill in ("toself", "tonext") and "markers" not in mode:
        ax.fill(xp, yp, color=line_color, alpha=0.25, label=label, linewidth=0)
        label = None
    elif tr.fill == "tozeroy":
        ax.fill_between(xp, yp, color=line_color, alpha=0.25)
    xerr, yerr = error_bars(tr.error_x, len(y)), error_bars(tr.error_y, len(y))
    if xerr is not None or yerr is not None:
        ax.errorbar(xp, yp, xerr=xerr, yerr=yerr, fmt="none", ecolor=line_color, alpha=0.5, linewidth=0.8)
    if "lines" in mode and tr.fill not in ("toself",):
        dash = {"dash": "--", "dot": ":", "dashdot": "-."}.get(getattr(tr.line, "dash", None) or "", "-")
        ax.plot(xp, yp, color=line_color, linestyle=dash, linewidth=1.4, label=label)
        label = None
    if "markers" in mode:
        _draw_markers(p, tr, xp, yp, line_color, label)
    if "text" in mode and tr.text is not None:
        texts = np.atleast_1d(np.asarray(tr.text, dtype=object))
        for xi, yi, t in zip(xp, yp, texts):
            ax.annotate(strip_html(str(t)), (xi, yi), fontsize=7, ha="center", va="bottom")
    return True


def _draw_markers(p: _Panel, tr: Any, xp: np.ndarray, yp: np.ndarray, color: Any, label: str | None) -> None:
    """A scatter trace's markers: colours (or a colour scale with its bar) and sizes."""
    c, extra = marker_colors(tr, len(yp), color)
    size = getattr(tr.marker, "size", None)
    if isinstance(size, (int, float)):
        s = float(size) ** 2 / 2.0
    elif size is not None and len(np.atleast_1d(trace_values(size))) == len(yp):
        s = np.asarray(trace_values(size), dtype=float) ** 2 / 2.0
    else:
        s = 14
    sc = p.ax.scatter(xp, yp, c=c, s=s, label=label, alpha=0.85, linewidths=0, **extra)
    if extra.get("cmap") is not None and getattr(tr.marker, "showscale", None):
        p.mfig.colorbar(sc, ax=p.ax, shrink=0.8)


def _draw_bar(p: _Panel, tr: Any, color: Any, label: str | None) -> bool:
    """A bar trace, grouped, overlaid or stacked as ``layout.barmode`` says; True when drawn."""
    horizontal = tr.orientation == "h"
    cat_raw, val = (trace_values(tr.y), trace_values(tr.x)) if horizontal else (trace_values(tr.x), trace_values(tr.y))
    if val is None:
        return False
    if cat_raw is None:
        cat_raw = np.arange(len(val), dtype=float)
    cats = (p.ycat if horizontal else p.xcat).pos(cat_raw) if not is_numeric(cat_raw) else cat_raw.astype(float)
    val = np.nan_to_num(val.astype(float))
    c, _ = marker_colors(tr, len(val), color)
    barmode = p.layout.barmode or "group"
    if barmode in ("stack", "relative"):
        width, offset = 0.8, 0.0
        base = np.array([p.stack_base.get((str(np.sign(v)), q), 0.0) for q, v in zip(cats, val)])
        for q, v, b in zip(cats, val, base):
            p.stack_base[(str(np.sign(v)), q)] = b + v
    else:
        n_bars = p.n_bars
        width = 0.8 / max(n_bars, 1) if barmode == "group" else 0.8
        offset = (p.bar_i - (n_bars - 1) / 2) * width if barmode == "group" else 0.0
        base = np.zeros(len(val))
    err = error_bars(tr.error_x if horizontal else tr.error_y, len(val))
    if horizontal:
        p.ax.barh(cats + offset, val, height=width, left=base, color=c, label=label, xerr=err, error_kw={"linewidth": 0.8})
    else:
        p.ax.bar(cats + offset, val, width=width, bottom=base, color=c, label=label, yerr=err, error_kw={"linewidth": 0.8})
    p.bar_i += 1
    return True


def _draw_histogram(p: _Panel, tr: Any, color: Any, label: str | None) -> bool:
    """A histogram trace (matplotlib bins the raw values); True when drawn."""
    horizontal = tr.y is not None and tr.x is None
    data = trace_values(tr.y if horizontal else tr.x)
    if data is None:
        return False
    data = data[np.isfinite(data.astype(float))] if is_numeric(data) else data
    nb = tr.nbinsx or tr.nbinsy or "auto"
    p.ax.hist(data, bins=nb, color=color, alpha=0.6 if len(p.traces) > 1 else 0.9, label=label,
              orientation="horizontal" if horizontal else "vertical")
    return True


def _draw_box(p: _Panel, tr: Any, color: Any, label: str | None) -> bool:
    """A box trace, one box per x category (side by side with the panel's other box traces); True when drawn."""
    y = trace_values(tr.y)
    if y is None:
        return False
    x = trace_values(tr.x)
    boxes = p.boxes
    if x is not None and len(x) == len(y):
        groups = pd.Series(y.astype(float)).groupby(pd.Series(x.astype(str)), sort=False)
        names, data = list(groups.groups), [g.dropna().to_numpy() for _, g in groups]
    else:
        names, data = [tr.name or str(len(p.xcat.index))], [y[np.isfinite(y.astype(float))]]
    pos = p.xcat.pos(np.array(names, dtype=object))
    offset = 0.0
    if len(boxes) > 1 and x is not None:
        j = boxes.index(tr)
        offset = (j - (len(boxes) - 1) / 2) * (0.8 / len(boxes))
    bp = p.ax.boxplot(data, positions=pos + offset, widths=0.6 / max(len(boxes) if x is not None else 1, 1),
                      patch_artist=True, manage_ticks=False)
    for patch in bp["boxes"]:
        patch.set_facecolor(mcolors.to_rgba(color, 0.4) if not isinstance(color, tuple) else color)
    if label:
        p.ax.plot([], [], color=color, label=label, linewidth=6, alpha=0.5)
    return True


def _draw_heatmap(p: _Panel, tr: Any, color: Any, label: str | None) -> bool:
    """A heatmap trace with its tick labels, cell values (small grids) and colour bar; uses no colour."""
    z = trace_values(tr.z)
    if z is None:
        return False
    ax = p.ax
    z = np.asarray(z, dtype=float)
    # "none": the PNG is resampled as with "nearest" (same pixels), the SVG embeds the z × z cells as they are
    # (drawn pixelated) instead of a resampled image of the whole axes.
    im = ax.imshow(z, aspect="auto", cmap=colormap(tr.colorscale), origin="lower", interpolation="none",
                   vmin=tr.zmin, vmax=tr.zmax)
    xs, ys = trace_values(tr.x), trace_values(tr.y)
    if xs is not None and len(xs) == z.shape[1]:
        ax.set_xticks(range(len(xs)), [strip_html(str(v)) for v in xs], rotation=45 if z.shape[1] > 4 else 0,
                      ha="right" if z.shape[1] > 4 else "center", fontsize=7)
    if ys is not None and len(ys) == z.shape[0]:
        ax.set_yticks(range(len(ys)), [strip_html(str(v)) for v in ys], fontsize=7)
    if z.size <= 300 and (tr.texttemplate or tr.text is not None):
        for (r, cidx), v in np.ndenumerate(z):
            if np.isfinite(v):
                ax.text(cidx, r, f"{v:.2g}", ha="center", va="center", fontsize=6)
    if tr.showscale is not False:
        p.mfig.colorbar(im, ax=ax, shrink=0.8)
    if getattr(axis_layout(p.layout, p.yref, "y"), "autorange", None) == "reversed":
        ax.invert_yaxis()
    return False


#: How each cartesian trace type is drawn; each returns True when it used a colour of the cycle.
_TRACE_DRAWERS: dict[str, Callable[[_Panel, Any, Any, str | None], bool]] = {
    "scatter": _draw_scatter, "scattergl": _draw_scatter, "bar": _draw_bar, "histogram": _draw_histogram,
    "box": _draw_box, "heatmap": _draw_heatmap,
}


# -- axes, shapes and annotations ------------------------------------------------------------------------------
def _decorate(ax: Any, layout: Any, xref: str, yref: str) -> None:
    """Axis titles, scales and ranges, line shapes and annotations of one cartesian subplot."""
    xa, ya = axis_layout(layout, xref, "x"), axis_layout(layout, yref, "y")
    _axes(ax, xa, ya)
    _line_shapes(ax, layout, xref, yref)
    _annotations(ax, layout, xa, ya, xref, yref)


def _axes(ax: Any, xa: Any, ya: Any) -> None:
    if xa is not None:
        ax.set_xlabel(strip_html(plotly_text(xa.title)), fontsize=8)
        if xa.type == "log":
            ax.set_xscale("log")
    if ya is not None:
        ax.set_ylabel(strip_html(plotly_text(ya.title)), fontsize=8)
        if ya.type == "log":
            ax.set_yscale("log")
    for a, setter in ((xa, ax.set_xlim), (ya, ax.set_ylim)):
        rng = getattr(a, "range", None) if a is not None else None
        if rng is not None and len(rng) == 2 and a.type != "log":
            try:
                setter(float(rng[0]), float(rng[1]))
            except (TypeError, ValueError):  # pragma: no cover - date ranges
                pass
    ax.tick_params(labelsize=7)


def _line_shapes(ax: Any, layout: Any, xref: str, yref: str) -> None:
    """Line shapes: horizontal/vertical lines across the subplot (``add_hline``/``add_vline``) or segments."""
    for shape in layout.shapes or ():
        if shape.type != "line":
            continue
        sx, sy = shape.xref or "x", shape.yref or "y"
        x_frac = sx == "paper" or sx.endswith("domain")
        y_frac = sy == "paper" or sy.endswith("domain")
        ax_x, ax_y = sx.split(" ")[0], sy.split(" ")[0]
        style = {"color": "grey", "linestyle": "--", "linewidth": 0.8}
        try:
            if x_frac and not y_frac and ax_y == yref:
                ax.axhline(float(shape.y0), **style)
            elif y_frac and not x_frac and ax_x == xref:
                ax.axvline(float(shape.x0), **style)
            elif not x_frac and not y_frac and ax_x == xref and ax_y == yref:
                ax.plot([shape.x0, shape.x1], [shape.y0, shape.y1], **style)
        except (TypeError, ValueError):  # pragma: no cover - exotic coordinates
            pass


def _annotations(ax: Any, layout: Any, xa: Any, ya: Any, xref: str, yref: str) -> None:
    """Annotations in data coordinates, paper annotations of a single plot, and subplot titles."""
    xdom = tuple(getattr(xa, "domain", None) or (0.0, 1.0)) if xa is not None else (0.0, 1.0)
    ydom = tuple(getattr(ya, "domain", None) or (0.0, 1.0)) if ya is not None else (0.0, 1.0)
    single = xdom == (0.0, 1.0) and ydom == (0.0, 1.0)
    for ann in layout.annotations or ():
        if ann.text is None or ann.x is None or ann.y is None:
            continue
        text = strip_html(ann.text)
        if (ann.xref or "x") == xref and (ann.yref or "y") == yref:
            try:
                ax.annotate(text, (ann.x, ann.y), fontsize=7, ha="center")
            except (TypeError, ValueError):  # pragma: no cover
                pass
        elif ann.xref == "paper" and ann.yref == "paper":
            x, y = float(ann.x), float(ann.y)
            if single:
                ha = {"left": "left", "right": "right"}.get(ann.xanchor or "", "center")
                va = "top" if y > 0.9 else "bottom" if y < 0.1 else "center"
                ax.annotate(text, (x, y), xycoords="axes fraction", fontsize=8, ha=ha, va=va, color="grey")
            elif xdom[0] <= x <= xdom[1] and ydom[1] - 0.01 <= y <= ydom[1] + 0.15:
                ax.set_title(text, fontsize=8)  # a subplot title (make_subplots)


# -- polar subplots ------------------------------------------------------------------------------------------
def _draw_polar(ax: Any, traces: list[Any], layout: Any, subplot: str, color_index: int) -> int:
    """Draw scatterpolar traces (closed outlines, optionally filled) on a polar axes; returns the colour index."""
    theta_labels: list[str] = []
    for tr in traces:
        r = trace_values(tr.r)
        if r is None:
            continue
        r = np.asarray(r, dtype=float)
        theta = tr.theta if tr.theta is not None else [str(i) for i in range(len(r))]
        theta = [str(t) for t in theta]
        if not theta_labels:
            theta_labels = list(dict.fromkeys(theta))
        for t in theta:
            if t not in theta_labels:
                theta_labels.append(t)
        if len(theta) > 1 and theta[0] == theta[-1]:
            theta, r = theta[:-1], r[:-1]
        ang = np.array([2 * np.pi * theta_labels.index(t) / max(len(theta_labels), 1) for t in theta])
        color = mpl_color(getattr(tr.line, "color", None) if tr.line is not None else None, COLORWAY[color_index % len(COLORWAY)])
        ang_c, r_c = np.append(ang, ang[:1]), np.append(r, r[:1])
        ax.plot(ang_c, r_c, color=color, linewidth=1.4, label=strip_html(tr.name) if tr.name else None)
        if tr.fill:
            ax.fill(ang_c, r_c, color=color, alpha=0.15)
        color_index += 1
    if theta_labels:
        ax.set_xticks([2 * np.pi * i / len(theta_labels) for i in range(len(theta_labels))], [strip_html(t) for t in theta_labels], fontsize=7)
    ax.tick_params(labelsize=6)
    return color_index
