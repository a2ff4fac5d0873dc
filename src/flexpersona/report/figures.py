"""Plotly figure builders of the report, and the browser-free PNG/SVG export of any plotly figure.

Every figure of the report is a plotly figure (interactive in ``report.html``: hover shows the household id
and values). :func:`save_figure` also writes it as ``<stem>.png`` and ``<stem>.svg`` *without a browser*:
:func:`to_matplotlib` redraws the figure's traces with matplotlib (scatter, line, bar, histogram, heatmap,
box and scatterpolar/radar traces; shapes and annotations in data coordinates). Kaleido is not used because
it needs Chrome.

:func:`figure_html` gives the ``<div>`` of one figure for a page that inlines plotly.js once
(:func:`plotlyjs_source`).

Examples
--------
>>> import plotly.graph_objects as go
>>> fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
>>> '<div' in figure_html(fig)
True
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from matplotlib import colors as mcolors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..store import atomic_path

log = logging.getLogger(__name__)

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

#: Plotly config of every interactive figure: no logo, no link to online services.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False}

_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")


# ---------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------
def plotlyjs_source() -> str:
    """The plotly.js bundle shipped with the installed plotly (to inline once per page, no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_html(fig: go.Figure, *, div_id: str | None = None) -> str:
    """The HTML ``<div>`` (plus its drawing script) of one figure, *without* plotly.js.

    The page that includes it must load plotly.js once before (see :func:`plotlyjs_source`); the report
    template does. The div carries the class ``fp-figure`` so that tests can check it rendered.

    Parameters
    ----------
    fig
        The figure.
    div_id
        Id of the figure's container (a stable id makes the page reproducible); default a random one.
    """
    body = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        config=PLOTLY_CONFIG,
        div_id=div_id,
        default_height=f"{int(fig.layout.height or 480)}px",
    )
    return f'<div class="fp-figure">{body}</div>'


# ---------------------------------------------------------------------------------------------------
# PNG / SVG without a browser
# ---------------------------------------------------------------------------------------------------
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
        The PNG and the SVG written (atomically).
    """
    stem = Path(stem)
    mfig = to_matplotlib(fig)
    out = []
    for fmt in ("png", "svg"):
        target = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(target) as tmp:
            # metadata=None-Date and a fixed hash salt keep the SVG byte-stable between runs.
            import matplotlib

            with matplotlib.rc_context({"svg.hashsalt": "flexpersona"}):
                meta = {"Date": None} if fmt == "svg" else {}
                mfig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
        out.append(target)
    return out


def to_matplotlib(fig: go.Figure | dict[str, Any]) -> Figure:
    """Redraw a plotly figure's traces on a matplotlib :class:`~matplotlib.figure.Figure` (no pyplot).

    Traces sharing a plotly subplot (``xaxis``/``yaxis`` pair, or polar ``subplot``) share a matplotlib
    axes; several subplots are laid out in a grid. Unsupported trace types are skipped with a log line.
    """
    if not isinstance(fig, go.Figure):
        fig = go.Figure(fig)
    layout = fig.layout
    panels: dict[str, list[Any]] = {}
    for tr in fig.data:
        if tr.type in ("scatterpolar", "barpolar", "scatterpolargl"):
            key = "polar:" + (tr.subplot or "polar")
        else:
            key = f"{getattr(tr, 'xaxis', None) or 'x'}|{getattr(tr, 'yaxis', None) or 'y'}"
        panels.setdefault(key, []).append(tr)
    if not panels:
        panels["x|y"] = []
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
    title = _text(layout.title)
    if title:
        mfig.suptitle(_strip_html(title), fontsize=11)
    return mfig


# -- helpers -------------------------------------------------------------------------------------------
def _text(title: Any) -> str:
    if title is None:
        return ""
    if isinstance(title, str):
        return title
    return getattr(title, "text", None) or ""


def _strip_html(s: str) -> str:
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


def _cmap(scale: Any) -> Any:
    """A matplotlib colormap for a plotly colorscale (name or list of ``(position, colour)``)."""
    import matplotlib

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


def _values(v: Any) -> np.ndarray | None:
    """Trace data as an array: dates become datetime64, numbers float, anything else object."""
    if v is None:
        return None
    if isinstance(v, dict):  # plotly "typed array" spec {"dtype":..., "bdata":...}
        from plotly.io._json import from_json_plotly  # pragma: no cover

        v = from_json_plotly(v)  # pragma: no cover
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


def _is_numeric(a: np.ndarray | None) -> bool:
    return a is not None and a.dtype.kind in "fiuM"


class _Categories:
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
        labels = [_strip_html(k) for k in self.index]
        if axis == "x":
            ax.set_xticks(ticks, labels, rotation=45 if len(ticks) > 6 else 0, ha="right" if len(ticks) > 6 else "center", fontsize=7)
        else:
            ax.set_yticks(ticks, labels, fontsize=7)


def _axis_layout(layout: Any, ref: str, kind: str) -> Any:
    """``layout.xaxis2`` for ``ref='x2'`` and so on."""
    name = kind + "axis" + ref[1:]
    return getattr(layout, name, None) if hasattr(layout, name) else None


def _marker_colors(tr: Any, n: int, fallback: Any) -> tuple[Any, dict[str, Any]]:
    """``(c, kwargs)`` for ``ax.scatter`` from ``trace.marker.color``."""
    marker = getattr(tr, "marker", None)
    col = getattr(marker, "color", None) if marker is not None else None
    if col is None or isinstance(col, str):
        return mpl_color(col, fallback), {}
    arr = _values(col)
    if arr is not None and arr.dtype.kind == "f" and len(arr) == n:
        return arr, {"cmap": _cmap(getattr(marker, "colorscale", None))}
    if arr is not None and len(arr) == n:
        return [mpl_color(c, fallback) for c in arr], {}
    return fallback, {}


def _err(spec: Any, n: int) -> np.ndarray | None:
    if spec is None or getattr(spec, "visible", None) is False:
        return None
    plus = _values(getattr(spec, "array", None))
    if plus is None:
        return None
    minus = _values(getattr(spec, "arrayminus", None))
    if minus is None or getattr(spec, "symmetric", None) is True:
        minus = plus
    if len(plus) != n:
        return None
    return np.vstack([np.nan_to_num(minus.astype(float)), np.nan_to_num(plus.astype(float))])


def _draw_cartesian(ax: Any, traces: list[Any], layout: Any, key: str, color_index: int, mfig: Figure) -> int:
    xref, yref = key.split("|")
    xcat, ycat = _Categories(), _Categories()
    bars = [t for t in traces if t.type == "bar"]
    n_bars = len(bars)
    bar_i = 0
    stack_base: dict[tuple[str, float], float] = {}
    barmode = layout.barmode or "group"
    boxes = [t for t in traces if t.type == "box"]
    for tr in traces:
        color = mpl_color(getattr(getattr(tr, "marker", None), "color", None) if isinstance(getattr(getattr(tr, "marker", None), "color", None), str) else None, COLORWAY[color_index % len(COLORWAY)])
        label = _strip_html(tr.name) if tr.name and tr.showlegend is not False else None
        kind = tr.type
        if kind in ("scatter", "scattergl"):
            x, y = _values(tr.x), _values(tr.y)
            if y is None:
                continue
            if x is None:
                x = np.arange(len(y), dtype=float)
            xp = x if _is_numeric(x) else xcat.pos(x)
            yp = y if _is_numeric(y) else ycat.pos(y)
            mode = tr.mode or ("lines+markers" if len(y) < 20 else "lines")
            line_color = mpl_color(getattr(tr.line, "color", None), color) if tr.line is not None else color
            if tr.fill in ("toself", "tonext") and "markers" not in mode:
                ax.fill(xp, yp, color=line_color, alpha=0.25, label=label, linewidth=0)
                label = None
            elif tr.fill == "tozeroy":
                ax.fill_between(xp, yp, color=line_color, alpha=0.25)
            xerr, yerr = _err(tr.error_x, len(y)), _err(tr.error_y, len(y))
            if xerr is not None or yerr is not None:
                ax.errorbar(xp, yp, xerr=xerr, yerr=yerr, fmt="none", ecolor=line_color, alpha=0.5, linewidth=0.8)
            if "lines" in mode and tr.fill not in ("toself",):
                dash = {"dash": "--", "dot": ":", "dashdot": "-."}.get(getattr(tr.line, "dash", None) or "", "-")
                ax.plot(xp, yp, color=line_color, linestyle=dash, linewidth=1.4, label=label)
                label = None
            if "markers" in mode:
                c, extra = _marker_colors(tr, len(y), color)
                size = getattr(tr.marker, "size", None)
                s = (float(size) ** 2 / 2.0) if isinstance(size, (int, float)) else 14
                sc = ax.scatter(xp, yp, c=c, s=s, label=label, alpha=0.85, linewidths=0, **extra)
                if extra.get("cmap") is not None and getattr(tr.marker, "showscale", None):
                    mfig.colorbar(sc, ax=ax, shrink=0.8)
            if "text" in mode and tr.text is not None:
                texts = np.atleast_1d(np.asarray(tr.text, dtype=object))
                for xi, yi, t in zip(xp, yp, texts):
                    ax.annotate(_strip_html(str(t)), (xi, yi), fontsize=7, ha="center", va="bottom")
            color_index += 1
        elif kind == "bar":
            horizontal = tr.orientation == "h"
            cat_raw, val = (_values(tr.y), _values(tr.x)) if horizontal else (_values(tr.x), _values(tr.y))
            if val is None:
                continue
            if cat_raw is None:
                cat_raw = np.arange(len(val), dtype=float)
            cats = (ycat if horizontal else xcat).pos(cat_raw) if not _is_numeric(cat_raw) else cat_raw.astype(float)
            val = np.nan_to_num(val.astype(float))
            c, _ = _marker_colors(tr, len(val), color)
            if barmode in ("stack", "relative"):
                width, offset = 0.8, 0.0
                base = np.array([stack_base.get((str(np.sign(v)), p), 0.0) for p, v in zip(cats, val)])
                for p, v, b in zip(cats, val, base):
                    stack_base[(str(np.sign(v)), p)] = b + v
            else:
                width = 0.8 / max(n_bars, 1) if barmode == "group" else 0.8
                offset = (bar_i - (n_bars - 1) / 2) * width if barmode == "group" else 0.0
                base = np.zeros(len(val))
            err = _err(tr.error_x if horizontal else tr.error_y, len(val))
            if horizontal:
                ax.barh(cats + offset, val, height=width, left=base, color=c, label=label, xerr=err, error_kw={"linewidth": 0.8})
            else:
                ax.bar(cats + offset, val, width=width, bottom=base, color=c, label=label, yerr=err, error_kw={"linewidth": 0.8})
            bar_i += 1
            color_index += 1
        elif kind == "histogram":
            horizontal = tr.y is not None and tr.x is None
            data = _values(tr.y if horizontal else tr.x)
            if data is None:
                continue
            data = data[np.isfinite(data.astype(float))] if _is_numeric(data) else data
            nb = tr.nbinsx or tr.nbinsy or "auto"
            ax.hist(data, bins=nb, color=color, alpha=0.6 if len(traces) > 1 else 0.9, label=label, orientation="horizontal" if horizontal else "vertical")
            color_index += 1
        elif kind == "box":
            y = _values(tr.y)
            if y is None:
                continue
            x = _values(tr.x)
            if x is not None and len(x) == len(y):
                groups = pd.Series(y.astype(float)).groupby(pd.Series(x.astype(str)), sort=False)
                names, data = list(groups.groups), [g.dropna().to_numpy() for _, g in groups]
            else:
                names, data = [tr.name or str(len(xcat.index))], [y[np.isfinite(y.astype(float))]]
            pos = xcat.pos(np.array(names, dtype=object))
            offset = 0.0
            if len(boxes) > 1 and x is not None:
                j = boxes.index(tr)
                offset = (j - (len(boxes) - 1) / 2) * (0.8 / len(boxes))
            bp = ax.boxplot(data, positions=pos + offset, widths=0.6 / max(len(boxes) if x is not None else 1, 1), patch_artist=True, manage_ticks=False)
            for patch in bp["boxes"]:
                patch.set_facecolor(mcolors.to_rgba(color, 0.4) if not isinstance(color, tuple) else color)
            if label:
                ax.plot([], [], color=color, label=label, linewidth=6, alpha=0.5)
            color_index += 1
        elif kind == "heatmap":
            z = _values(tr.z)
            if z is None:
                continue
            z = np.asarray(z, dtype=float)
            im = ax.imshow(z, aspect="auto", cmap=_cmap(tr.colorscale), origin="lower", interpolation="nearest",
                           vmin=tr.zmin, vmax=tr.zmax)
            xs, ys = _values(tr.x), _values(tr.y)
            if xs is not None and len(xs) == z.shape[1]:
                ax.set_xticks(range(len(xs)), [_strip_html(str(v)) for v in xs], rotation=45 if z.shape[1] > 4 else 0, ha="right" if z.shape[1] > 4 else "center", fontsize=7)
            if ys is not None and len(ys) == z.shape[0]:
                ax.set_yticks(range(len(ys)), [_strip_html(str(v)) for v in ys], fontsize=7)
            if z.size <= 300 and (tr.texttemplate or tr.text is not None):
                for (r, cidx), v in np.ndenumerate(z):
                    if np.isfinite(v):
                        ax.text(cidx, r, f"{v:.2g}", ha="center", va="center", fontsize=6)
            if tr.showscale is not False:
                mfig.colorbar(im, ax=ax, shrink=0.8)
            if getattr(_axis_layout(layout, yref, "y"), "autorange", None) == "reversed":
                ax.invert_yaxis()
        else:
            log.info("PNG/SVG export: trace type %s is not drawn", kind)
    xcat.apply(ax, "x")
    ycat.apply(ax, "y")
    _decorate(ax, layout, xref, yref)
    return color_index


def _decorate(ax: Any, layout: Any, xref: str, yref: str) -> None:
    xa, ya = _axis_layout(layout, xref, "x"), _axis_layout(layout, yref, "y")
    if xa is not None:
        ax.set_xlabel(_strip_html(_text(xa.title)), fontsize=8)
        if xa.type == "log":
            ax.set_xscale("log")
    if ya is not None:
        ax.set_ylabel(_strip_html(_text(ya.title)), fontsize=8)
        if ya.type == "log":
            ax.set_yscale("log")
    ax.tick_params(labelsize=7)
    for shape in layout.shapes or ():
        if (shape.xref or "x") != xref and shape.xref != "paper":
            continue
        if shape.type == "line":
            x0, x1 = shape.x0, shape.x1
            y0, y1 = shape.y0, shape.y1
            if shape.xref == "paper":
                ax.axhline(float(y0), color="grey", linestyle="--", linewidth=0.8)
            elif shape.yref == "paper":
                ax.axvline(float(x0), color="grey", linestyle="--", linewidth=0.8)
            else:
                try:
                    ax.plot([x0, x1], [y0, y1], color="grey", linestyle="--", linewidth=0.8)
                except (TypeError, ValueError):  # pragma: no cover - exotic coordinates
                    pass
    for ann in layout.annotations or ():
        if ann.text is None or ann.x is None or ann.y is None:
            continue
        if (ann.xref or "x") == xref and (ann.yref or "y") == yref:
            try:
                ax.annotate(_strip_html(ann.text), (ann.x, ann.y), fontsize=7, ha="center")
            except (TypeError, ValueError):  # pragma: no cover
                pass
        elif ann.xref == "paper" and ann.yref == "paper" and xref == "x":
            ax.annotate(_strip_html(ann.text), (ann.x, ann.y), xycoords="axes fraction", fontsize=7, ha="center")


def _draw_polar(ax: Any, traces: list[Any], layout: Any, subplot: str, color_index: int) -> int:
    theta_labels: list[str] = []
    for tr in traces:
        r = _values(tr.r)
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
        ax.plot(ang_c, r_c, color=color, linewidth=1.4, label=_strip_html(tr.name) if tr.name else None)
        if tr.fill:
            ax.fill(ang_c, r_c, color=color, alpha=0.15)
        color_index += 1
    if theta_labels:
        ax.set_xticks([2 * np.pi * i / len(theta_labels) for i in range(len(theta_labels))], [_strip_html(t) for t in theta_labels], fontsize=7)
    ax.tick_params(labelsize=6)
    return color_index


def empty_figure(message: str, *, title: str = "") -> go.Figure:
    """A figure that only says why there is nothing to show (e.g. no survey in this run)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=260)
    return fig


def _hover_ids(ids: Sequence[Any]) -> np.ndarray:
    return np.asarray([str(i) for i in ids], dtype=object)
