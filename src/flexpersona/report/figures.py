"""Plotly figure builders of the report, and the browser-free PNG/SVG export of any plotly figure.

Every figure of the report is a plotly figure (interactive in ``report.html``: hover shows the household id
and values). :func:`save_figure` also writes it as ``<stem>.png`` and ``<stem>.svg`` *without a browser*:
:func:`to_matplotlib` redraws the figure's traces with matplotlib (scatter, line, bar, histogram, heatmap,
box and scatterpolar traces; shapes and annotations in data coordinates). Kaleido is not used because
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
import matplotlib
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

            # Text stays text in the SVG (smaller, faster, searchable).
            with matplotlib.rc_context({"svg.hashsalt": "flexpersona", "svg.fonttype": "none"}):
                meta = {"Date": None} if fmt == "svg" else {}
                mfig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
        # The PNG's draw ran the constrained layout; freeze it so the SVG's draw does not repeat it (~1/3 less).
        mfig.set_layout_engine("none")
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
    if isinstance(v, dict) and "bdata" in v:  # plotly's typed-array spec {"dtype", "bdata", "shape"}
        import base64

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
                c, extra = _marker_colors(tr, len(y), line_color)
                size = getattr(tr.marker, "size", None)
                if isinstance(size, (int, float)):
                    s = float(size) ** 2 / 2.0
                elif size is not None and len(np.atleast_1d(_values(size))) == len(y):
                    s = np.asarray(_values(size), dtype=float) ** 2 / 2.0
                else:
                    s = 14
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
    for a, setter in ((xa, ax.set_xlim), (ya, ax.set_ylim)):
        rng = getattr(a, "range", None) if a is not None else None
        if rng is not None and len(rng) == 2 and a.type != "log":
            try:
                setter(float(rng[0]), float(rng[1]))
            except (TypeError, ValueError):  # pragma: no cover - date ranges
                pass
    ax.tick_params(labelsize=7)
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
    xdom = tuple(getattr(xa, "domain", None) or (0.0, 1.0)) if xa is not None else (0.0, 1.0)
    ydom = tuple(getattr(ya, "domain", None) or (0.0, 1.0)) if ya is not None else (0.0, 1.0)
    single = xdom == (0.0, 1.0) and ydom == (0.0, 1.0)
    for ann in layout.annotations or ():
        if ann.text is None or ann.x is None or ann.y is None:
            continue
        text = _strip_html(ann.text)
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


# ---------------------------------------------------------------------------------------------------
# Builders of the report's figures (each takes run tables and returns a plotly figure, or None when the
# table lacks what the figure needs)
# ---------------------------------------------------------------------------------------------------
def _persona_colors(names: Sequence[str]) -> dict[str, str]:
    return {n: COLORWAY[i % len(COLORWAY)] for i, n in enumerate(sorted(set(map(str, names))))}


def caterpillar(features: pd.DataFrame, personas: pd.DataFrame | None = None, *, column: str = "high_response_pct") -> go.Figure | None:
    """Household responses sorted, with their 95% intervals; hover shows the household id [%]."""
    if column not in features.columns:
        return None
    f = features.copy()
    f = f[np.isfinite(f[column].astype(float))].sort_values(column, kind="mergesort").reset_index(drop=True)
    lo, hi = f.get(column.replace("_pct", "_ci_low")), f.get(column.replace("_pct", "_ci_high"))
    rank = np.arange(1, len(f) + 1)
    err = None
    if lo is not None and hi is not None:
        err = {"type": "data", "array": (hi - f[column]).clip(lower=0).to_numpy(),
               "arrayminus": (f[column] - lo).clip(lower=0).to_numpy(), "thickness": 1, "width": 0}
    resp = f["responder"].astype("boolean").fillna(False).astype(bool) if "responder" in f.columns else pd.Series(False, index=f.index)
    fig = go.Figure()
    for flag, name, color in ((True, "significant responder", COLORWAY[0]), (False, "other", "#999999")):
        m = (resp == flag).to_numpy()
        if not m.any():
            continue
        e = None if err is None else {**err, "array": err["array"][m], "arrayminus": err["arrayminus"][m]}
        fig.add_trace(go.Scatter(
            x=rank[m], y=f.loc[m, column], mode="markers", name=name, marker={"color": color, "size": 5},
            error_y=e, customdata=_hover_ids(f.loc[m, "household_id"]),
            hovertemplate="household %{customdata}<br>response %{y:.1f}%<br>rank %{x}<extra></extra>",
        ))
    fig.add_hline(y=0, line={"color": "grey", "dash": "dash", "width": 1})
    fig.update_layout(title="High-price response per household (95% intervals)", height=420,
                      xaxis_title="household (sorted by response)", yaxis_title="response during High [%]")
    return fig


def response_histogram(features: pd.DataFrame) -> go.Figure | None:
    """Distribution of the High and Low responses [%]."""
    cols = [c for c in ("high_response_pct", "low_response_pct") if c in features.columns]
    if not cols:
        return None
    fig = go.Figure()
    for c in cols:
        fig.add_trace(go.Histogram(x=features[c], name=c.split("_")[0].title(), opacity=0.6, nbinsx=30,
                                   hovertemplate="%{x}: %{y} households<extra></extra>"))
    fig.update_layout(barmode="overlay", title="Response distributions", height=360,
                      xaxis_title="response [%] (negative = less load than the counterfactual)", yaxis_title="households")
    return fig


def response_by_persona(features: pd.DataFrame, personas: pd.DataFrame | None) -> go.Figure | None:
    """Box plot of the High response per persona; hover shows household ids."""
    if personas is None or "high_response_pct" not in features.columns:
        return None
    d = features.merge(personas[["household_id", "persona_name"]], on="household_id", how="inner")
    if d.empty:
        return None
    fig = go.Figure()
    colors = _persona_colors(d["persona_name"])
    for name, g in d.groupby("persona_name", sort=True):
        fig.add_trace(go.Box(y=g["high_response_pct"], name=str(name), boxpoints="all", jitter=0.4,
                             marker={"color": colors[str(name)], "size": 4}, customdata=_hover_ids(g["household_id"]),
                             hovertemplate="household %{customdata}<br>%{y:.1f}%<extra></extra>"))
    fig.update_layout(title="High-price response by persona", height=380, yaxis_title="response during High [%]",
                      showlegend=False)
    return fig


def _first(df: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in df.columns), None)


def event_chart(events: pd.DataFrame | None) -> go.Figure | None:
    """Cohort response per tariff event over the trial year, with intervals, by band."""
    if events is None or events.empty:
        return None
    tcol = _first(events, ("start", "ts", "date", "day"))
    ycol = _first(events, ("response_pct", "cohort_response_pct", "mean_response_pct", "response"))
    if ycol is None:
        ycol = next((c for c in events.columns if "response" in c and "ci" not in c and pd.api.types.is_numeric_dtype(events[c])), None)
    if tcol is None or ycol is None:
        return None
    lo = _first(events, ("ci_low", ycol + "_ci_low", "response_ci_low"))
    hi = _first(events, ("ci_high", ycol + "_ci_high", "response_ci_high"))
    band = events["band"].astype(str) if "band" in events.columns else pd.Series("event", index=events.index)
    fig = go.Figure()
    colors = {"High": COLORWAY[1], "Low": COLORWAY[2]}
    for b, g in events.groupby(band, sort=True):
        err = None
        if lo and hi:
            err = {"type": "data", "array": (g[hi] - g[ycol]).clip(lower=0), "arrayminus": (g[ycol] - g[lo]).clip(lower=0),
                   "thickness": 1, "width": 0}
        eid = g["event_id"] if "event_id" in g.columns else g.index
        fig.add_trace(go.Scatter(x=pd.to_datetime(g[tcol]), y=g[ycol], mode="markers", name=str(b), error_y=err,
                                 marker={"color": colors.get(str(b), COLORWAY[3]), "size": 6}, customdata=_hover_ids(eid),
                                 hovertemplate="event %{customdata}<br>%{x}<br>response %{y:.1f}%<extra></extra>"))
    fig.add_hline(y=0, line={"color": "grey", "dash": "dash", "width": 1})
    fig.update_layout(title="Cohort response per tariff event (95% intervals)", height=380,
                      xaxis_title="event start (GMT)", yaxis_title="response [%]")
    return fig


def selection_chart(selection: pd.DataFrame | None) -> go.Figure | None:
    """Elbow (inertia), silhouette and BIC against the number of personas k, one line per algorithm."""
    if selection is None or selection.empty or "k" not in selection.columns:
        return None
    if {"index", "value"} <= set(selection.columns):  # long form: algorithm, k, covariance_type, index, value
        keys = [c for c in ("algorithm", "method", "k", "covariance", "covariance_type") if c in selection.columns]
        selection = selection.pivot_table(index=keys, columns="index", values="value", aggfunc="first", dropna=False)
        selection = selection.reset_index()
        selection.columns.name = None
    metrics = [m for m in ("inertia", "silhouette", "bic", "davies_bouldin", "calinski_harabasz")
               if m in selection.columns and pd.to_numeric(selection[m], errors="coerce").notna().any()]
    if not metrics:
        return None
    from plotly.subplots import make_subplots

    ncols = min(len(metrics), 3)
    nrows = math.ceil(len(metrics) / ncols)
    titles = [{"bic": "BIC (lower = better)", "inertia": "inertia (elbow)", "silhouette": "silhouette (higher = better)",
               "davies_bouldin": "Davies-Bouldin (lower = better)", "calinski_harabasz": "Calinski-Harabasz (higher = better)"}[m]
              for m in metrics]
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles)
    label_cols = [c for c in ("algorithm", "method", "covariance", "covariance_type") if c in selection.columns]
    groups = selection.groupby(label_cols, dropna=False, sort=True) if label_cols else [((("all",)), selection)]
    groups = list(groups)
    shown: set[str] = set()
    for i, m in enumerate(metrics):
        row, col = i // ncols + 1, i % ncols + 1
        for j, (key, g) in enumerate(groups):
            g = g.assign(**{m: pd.to_numeric(g[m], errors="coerce")}).dropna(subset=[m]).sort_values("k")
            if g.empty:
                continue
            name = " ".join(str(x) for x in (key if isinstance(key, tuple) else (key,)) if pd.notna(x) and str(x))
            fig.add_trace(go.Scatter(x=g["k"], y=g[m], mode="lines+markers", name=name, legendgroup=name,
                                     showlegend=name not in shown, line={"color": COLORWAY[j % len(COLORWAY)]},
                                     hovertemplate=f"{name}<br>k=%{{x}}<br>{m} %{{y:.3g}}<extra></extra>"), row, col)
            shown.add(name)
        fig.update_xaxes(title_text="k", row=row, col=col)
    fig.update_layout(title="Selection diagnostics", height=340 * nrows)
    return fig


def pca_map(features: pd.DataFrame, personas: pd.DataFrame | None, columns: Sequence[str]) -> go.Figure | None:
    """Households on the first two principal components of the (z-scored) clustering features.

    Uses the personas stage's ``pc1``/``pc2`` (columns of ``personas``) when present, else computes them.
    """
    cols = [c for c in columns if c in features.columns]
    if len(cols) < 2:
        return None
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    d = features[["household_id", *cols]].replace([np.inf, -np.inf], np.nan).dropna()
    if len(d) < 3:
        return None
    given = personas is not None and {"pc1", "pc2"} <= set(personas.columns)
    if personas is not None:
        keep = ["household_id", "persona_name", *(("pc1", "pc2") if given else ())]
        d = d.merge(personas[keep], on="household_id", how="inner" if given else "left")
    else:
        d["persona_name"] = "all"
    d["persona_name"] = d["persona_name"].fillna("unassigned").astype(str)
    if given:
        d = d.dropna(subset=["pc1", "pc2"])
        xy = d[["pc1", "pc2"]].to_numpy(dtype=float)
        ev = None
    else:
        pca = PCA(n_components=2, random_state=0)
        xy = pca.fit_transform(StandardScaler().fit_transform(d[cols].astype(float)))
        ev = pca.explained_variance_ratio_
    fig = go.Figure()
    colors = _persona_colors(d["persona_name"])
    custom = np.column_stack([d["household_id"].astype(str), *(d[c].round(3).astype(str) for c in cols)])
    hover = "household %{customdata[0]}<br>" + "<br>".join(f"{c} %{{customdata[{i + 1}]}}" for i, c in enumerate(cols))
    for name in sorted(colors):
        m = (d["persona_name"] == name).to_numpy()
        fig.add_trace(go.Scatter(x=xy[m, 0], y=xy[m, 1], mode="markers", name=name, customdata=custom[m],
                                 marker={"color": colors[name], "size": 6}, hovertemplate=hover + "<extra>" + name + "</extra>"))
    fig.update_layout(title="Persona map (PCA of the clustering features)", height=440,
                      xaxis_title="PC1" if ev is None else f"PC1 ({100 * ev[0]:.0f}% of variance)",
                      yaxis_title="PC2" if ev is None else f"PC2 ({100 * ev[1]:.0f}% of variance)")
    return fig


#: Features the persona profile chart and table show when present (response first, then pre-trial load shape).
PROFILE_FEATURES = (
    "high_response_pct", "low_response_pct", "rebound_pct", "high_response_kw", "bill_saving_behavioural_pct",
    "baseload_kwh", "evening_share", "mean_daily_kwh", "weekend_weekday_ratio", "winter_summer_ratio",
    "intrinsic_daily_volatility", "base_peak_to_offpeak_ratio",
)


def persona_profiles(features: pd.DataFrame, personas: pd.DataFrame | None, *,
                     lifestyle: pd.DataFrame | None = None) -> go.Figure | None:
    """Each persona's median of the key features against all households (robust z-score), as grouped bars.

    For feature f and persona p the bar is ``(median_p(f) - median_all(f)) / s(f)``, with ``s`` the
    interquartile range / 1.349 of all households (the standard deviation when that is 0): 0 is the typical
    household, and the bars keep their meaning with any number of personas (two included), unlike a 0-1
    scale across persona medians. ``lifestyle`` fills pre-trial features that ``features`` lacks.
    Hover shows the persona's median and the all-household median in the feature's own units.
    """
    if personas is None or "persona_name" not in personas.columns:
        return None
    d = features.copy()
    if lifestyle is not None:
        extra = [c for c in PROFILE_FEATURES if c in lifestyle.columns and c not in d.columns]
        if extra:
            d = d.merge(lifestyle[["household_id", *extra]], on="household_id", how="left")
    d = d.merge(personas[["household_id", "persona_name"]], on="household_id", how="inner")
    d = d[d["persona_name"].notna() & (d["persona_name"].astype(str) != "unassigned")]
    if d.empty or d["persona_name"].nunique() < 1:
        return None
    rows = []
    for c in PROFILE_FEATURES:
        if c not in d.columns:
            continue
        v = pd.to_numeric(d[c], errors="coerce").replace([np.inf, -np.inf], np.nan)
        if v.notna().sum() < 3:
            continue
        q1, med, q3 = v.quantile([0.25, 0.5, 0.75])
        scale = (q3 - q1) / 1.349
        if not np.isfinite(scale) or scale <= 0:
            scale = v.std(ddof=1)
        if not np.isfinite(scale) or scale <= 0:
            continue
        for name, g in v.groupby(d["persona_name"].astype(str)):
            pm = g.median()
            rows.append((c, name, (pm - med) / scale, pm, med))
    if not rows:
        return None
    z = pd.DataFrame(rows, columns=["feature", "persona", "z", "median", "median_all"])
    feats = list(dict.fromkeys(z["feature"]))
    colors = _persona_colors(z["persona"])
    fig = go.Figure()
    for name in sorted(colors):
        g = z[z["persona"] == name].set_index("feature").reindex(feats)
        fig.add_trace(go.Bar(
            y=feats, x=g["z"], orientation="h", name=name, marker={"color": colors[name]},
            customdata=np.column_stack([g["median"], g["median_all"]]),
            hovertemplate=name + "<br>%{y}: median %{customdata[0]:.3g} (all households %{customdata[1]:.3g})"
                          "<br>%{x:+.2f} robust sd from all households<extra></extra>",
        ))
    fig.add_vline(x=0, line={"color": "grey", "width": 1})
    fig.update_layout(
        title="Persona profiles: each persona's median against all households", barmode="group",
        height=max(360, 28 * len(feats) * max(1, len(colors)) // 2 + 140),
        xaxis_title="(persona median − all-household median) / robust sd of all households",
        yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.2},
    )
    return fig


def performance_potential(features: pd.DataFrame, personas: pd.DataFrame | None,
                          x: str = "base_peak_to_offpeak_ratio", y: str = "peak_reduction_pct_weekday") -> go.Figure | None:
    """Performance-potential matrix: potential (x) against performance (y), split at the medians."""
    if x not in features.columns or y not in features.columns:
        return None
    d = features[["household_id", x, y]].replace([np.inf, -np.inf], np.nan).dropna()
    if d.empty:
        return None
    d = d.merge(personas[["household_id", "persona_name"]], on="household_id", how="left") if personas is not None else d.assign(persona_name="all")
    d["persona_name"] = d["persona_name"].fillna("unassigned").astype(str)
    colors = _persona_colors(d["persona_name"])
    fig = go.Figure()
    for name in sorted(colors):
        g = d[d["persona_name"] == name]
        fig.add_trace(go.Scatter(x=g[x], y=g[y], mode="markers", name=name, marker={"color": colors[name], "size": 6},
                                 customdata=_hover_ids(g["household_id"]),
                                 hovertemplate=f"household %{{customdata}}<br>{x} %{{x:.2f}}<br>{y} %{{y:.1f}}<extra></extra>"))
    mx, my = float(d[x].median()), float(d[y].median())
    fig.add_vline(x=mx, line={"color": "grey", "dash": "dash", "width": 1})
    fig.add_hline(y=my, line={"color": "grey", "dash": "dash", "width": 1})
    fig.update_layout(title="Performance-potential matrix (split at the medians)", height=440, xaxis_title=x, yaxis_title=y)
    return fig


def strategic_map_figure(strategic: pd.DataFrame | None) -> go.Figure | None:
    """Persona means of engagement against constraint, split at the cohort means (survey traits)."""
    if strategic is None or strategic.empty:
        return None
    e = _first(strategic, ("engagement", "trait_engagement_score"))
    c = _first(strategic, ("constraint", "trait_constraint_score"))
    name = _first(strategic, ("persona", "persona_name", "persona_id"))
    if e is None or c is None or name is None:
        return None
    d = strategic.dropna(subset=[e, c])
    if d.empty:
        return None
    w = d[_first(d, ("n_with_traits", "n")) or e].astype(float) if _first(d, ("n_with_traits", "n")) else pd.Series(1.0, index=d.index)
    em, cm = float(np.average(d[e], weights=w)), float(np.average(d[c], weights=w))
    quad = d["quadrant"].astype(str) if "quadrant" in d.columns else pd.Series("", index=d.index)
    size = (10 + 30 * np.sqrt(w / w.max())).to_numpy()
    fig = go.Figure(go.Scatter(
        x=d[c], y=d[e], mode="markers+text", text=d[name].astype(str), textposition="top center",
        marker={"size": size, "color": [COLORWAY[i % len(COLORWAY)] for i in range(len(d))]},
        customdata=np.column_stack([d[name].astype(str), quad]),
        hovertemplate="%{customdata[0]}<br>constraint %{x:.2f}<br>engagement %{y:.2f}<br>%{customdata[1]}<extra></extra>",
    ))
    fig.add_vline(x=cm, line={"color": "grey", "dash": "dash", "width": 1})
    fig.add_hline(y=em, line={"color": "grey", "dash": "dash", "width": 1})
    for qx, qy, text in ((0.02, 0.98, "Willing & Able"), (0.98, 0.98, "Willing but Constrained"),
                         (0.02, 0.02, "Able but Unwilling"), (0.98, 0.02, "Unwilling & Unable")):
        fig.add_annotation(x=qx, y=qy, xref="paper", yref="paper", text=text, showarrow=False,
                           xanchor="left" if qx < 0.5 else "right", font={"color": "grey"})
    for axis, col in (("xaxis", c), ("yaxis", e)):
        lo, hi = float(d[col].min()), float(d[col].max())
        pad = 0.3 * (hi - lo) if hi > lo else 0.5
        fig.update_layout(**{axis: {"range": [lo - pad, hi + pad]}})
    fig.update_layout(title="Strategic persona map (survey traits; lines at the cohort means)", height=440, showlegend=False,
                      xaxis_title="constraint score (higher = more constrained)", yaxis_title="engagement score (higher = more willing)")
    return fig


def barrier_heatmap_figure(heat: pd.DataFrame | None) -> go.Figure | None:
    """Persona × barrier mean agreement (1-5)."""
    if heat is None or heat.empty:
        return None
    name = _first(heat, ("persona", "persona_name", "persona_id"))
    items = [c for c in heat.columns if c != name and pd.api.types.is_numeric_dtype(heat[c])]
    if name is None or not items:
        return None
    z = heat[items].astype(float).to_numpy()
    fig = go.Figure(go.Heatmap(z=z, x=[i.replace("_", " ") for i in items], y=heat[name].astype(str).tolist(),
                               colorscale="Reds", zmin=1, zmax=5, texttemplate="%{z:.1f}",
                               hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(title="Barriers: mean agreement by persona (1 = strongly disagree, 5 = strongly agree)", height=380)
    return fig


def qini_figure(qini: pd.DataFrame | None) -> go.Figure | None:
    """Cumulative kW reduction of the treatment households targeted by the model (ranked by out-of-fold
    predictions), at random and perfectly. When ``qini.csv`` has it, a band: the random line plus the 95%
    interval of the model's gain over random (the band clear of the random line = better than random there)."""
    if qini is None or qini.empty or len(qini) < 2:
        return None
    fig = go.Figure()
    if {"gain_over_random_kw_ci_low", "gain_over_random_kw_ci_high"} <= set(qini.columns):
        x = qini["share_targeted"].tolist()
        hi = (qini["gain_random_kw"] + qini["gain_over_random_kw_ci_high"]).tolist()
        lo = (qini["gain_random_kw"] + qini["gain_over_random_kw_ci_low"]).tolist()
        fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", mode="lines", line={"width": 0},
                                 opacity=0.25, name="model, 95% interval of its gain over random", hoverinfo="skip"))
    for col, name, dash in (("gain_model_kw", "model", None), ("gain_random_kw", "random", "dash"), ("gain_perfect_kw", "perfect", "dot")):
        fig.add_trace(go.Scatter(x=qini["share_targeted"], y=qini[col], mode="lines", name=name, line={"dash": dash},
                                 hovertemplate=f"{name}<br>%{{x:.0%}} targeted<br>%{{y:.3f}} kW<extra></extra>"))
    fig.update_layout(title="Qini / cumulative gain on treatment households, out-of-fold (cross-fitted)", height=380,
                      xaxis_title="share of treatment households targeted", yaxis_title="cumulative kW reduction at High")
    return fig


def toolkit_kw_figure(toolkit: dict[str, Any] | None) -> go.Figure | None:
    """Expected kW reduction at High per 1,000 households, per persona, with intervals, coloured by lever."""
    if not toolkit or not toolkit.get("personas"):
        return None
    d = pd.DataFrame(toolkit["personas"])
    lo = (d["kw_per_1000"] - d["kw_per_1000_ci_low"]).clip(lower=0).fillna(0)
    hi = (d["kw_per_1000_ci_high"] - d["kw_per_1000"]).clip(lower=0).fillna(0)
    lever_colors = {lv: COLORWAY[i] for i, lv in enumerate(("automation", "enabling technology", "price signal", "information", "exclude"))}
    fig = go.Figure(go.Bar(
        y=d["persona_name"].astype(str), x=d["kw_per_1000"], orientation="h",
        marker={"color": [lever_colors.get(lv, "#999999") for lv in d["lever"]]},
        error_x={"type": "data", "array": hi, "arrayminus": lo},
        customdata=np.column_stack([d["lever"].astype(str), d["n_households"].astype(str)]),
        hovertemplate="%{y}<br>%{x:.1f} kW per 1,000<br>lever %{customdata[0]}<br>%{customdata[1]} households<extra></extra>",
    ))
    fig.update_layout(title="Expected kW reduction at High per 1,000 households (95% intervals; colour = lever)",
                      height=120 + 50 * len(d), xaxis_title="kW per 1,000 households")
    return fig
