"""Plotly figure builders of the report's Exploration section.

Each builder takes tables the exploration computed (never raw readings) and returns a
:class:`plotly.graph_objects.Figure`; points carry ``household_id`` in ``customdata`` so hovering names the
household. Only plain traces (Histogram, Scatter, Box, Heatmap, Bar) are used so that
:func:`flexpersona.plotting.save_figure` can redraw them as PNG/SVG without a browser.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats

from .summary import FEATURE_UNITS, SHORT_LABELS

POINT_COLOR = "#1f77b4"
LINE_COLOR = "#d62728"
BAND_COLOR = "rgba(214, 39, 40, 0.2)"


def axis_label(feature: str) -> str:
    """``feature [unit]`` for an axis title."""
    unit = FEATURE_UNITS.get(feature, "")
    return f"{feature} [{unit}]" if unit else feature


def _density_traces(values: np.ndarray, name: str, show_legend: bool = True) -> list[go.BaseTraceType]:
    """Histogram of counts (explicit equal bins) and the kernel density scaled to households per bin.

    Counts rather than plotly's ``histnorm`` keep the interactive figure and its static PNG/SVG redraw
    identical; the density line is ``n * bin width * KDE``, i.e. the density in the histogram's scale.
    """
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    lo, hi = float(values.min()), float(values.max())
    nbins = int(min(40, max(5, np.ceil(np.sqrt(values.size)))))
    size = (hi - lo) / nbins if hi > lo else 1.0
    traces: list[go.BaseTraceType] = [
        go.Histogram(x=values, xbins={"start": lo, "end": hi + 1e-9 * max(abs(hi), 1.0), "size": size},
                     nbinsx=nbins, autobinx=False, name=f"{name} (households per bin)", marker_color=POINT_COLOR,
                     opacity=0.6, showlegend=show_legend)
    ]
    if values.size >= 3 and np.unique(values).size >= 2:
        try:
            kde = stats.gaussian_kde(values)
        except np.linalg.LinAlgError:  # pragma: no cover - degenerate spread
            return traces
        grid = np.linspace(lo, hi, 200)
        traces.append(go.Scatter(x=grid, y=kde(grid) * values.size * size, mode="lines",
                                 name=f"{name} (kernel density)", line={"color": LINE_COLOR}, showlegend=show_legend))
    return traces


def histogram_density(values: pd.Series, feature: str, *, title: str | None = None) -> go.Figure:
    """Histogram of one feature (households per bin) with its Gaussian kernel density in the same scale.

    Parameters
    ----------
    values
        The feature's values (NaN ignored).
    feature
        Its name (axis label with unit).
    title
        Figure title; defaults to the feature name and count.
    """
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    fig = go.Figure(_density_traces(x, SHORT_LABELS.get(feature, feature)))
    fig.update_layout(title=title or f"Distribution of {feature} (n = {int(np.isfinite(x).sum())})",
                      xaxis_title=axis_label(feature), yaxis_title="households per bin", bargap=0.02)
    return fig


def seed_panel(frame: pd.DataFrame, panels: list[tuple[str, str | None, str]]) -> go.Figure:
    """The seed's 2 x 2 panel of distributions.

    Parameters
    ----------
    frame
        Feature table.
    panels
        Four ``(title, column or None, note)``; a ``None`` column draws the note (why it is missing) instead.
    """
    fig = make_subplots(rows=2, cols=2, horizontal_spacing=0.1, vertical_spacing=0.15)
    for i, (title, column, note) in enumerate(panels):
        r, c = divmod(i, 2)
        if column is None:
            fig.add_trace(go.Scatter(x=[0.5], y=[0.5], mode="text", text=[_wrap(f"{title}: {note}")],
                                     showlegend=False, hoverinfo="skip"), row=r + 1, col=c + 1)
            fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title_text=f"{title}: not available",
                             range=[0, 1], row=r + 1, col=c + 1)
            fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, range=[0, 1], row=r + 1, col=c + 1)
            continue
        x = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for trace in _density_traces(x, SHORT_LABELS.get(column, column), show_legend=False):
            fig.add_trace(trace, row=r + 1, col=c + 1)
        unit = FEATURE_UNITS.get(column, "")
        fig.update_xaxes(title_text=f"{title} [{unit}]" if unit else title, row=r + 1, col=c + 1)
        fig.update_yaxes(title_text="households per bin", row=r + 1, col=c + 1)
    fig.update_layout(title="Seed panel: distributions of the key features", height=700,
                      bargap=0.02)
    return fig


def _wrap(text: str, width: int = 45) -> str:
    import textwrap

    return "<br>".join(textwrap.wrap(text, width))


def correlation_heatmap(matrix: pd.DataFrame, method: str, *, short: bool = False, title: str = "") -> go.Figure:
    """Heatmap of a correlation matrix (diverging colours, fixed to [-1, 1]).

    Parameters
    ----------
    matrix
        Square correlation matrix (dimensionless).
    method
        ``spearman`` or ``pearson`` (shown in the title and hover).
    short
        Use the short labels of :data:`~flexpersona.eda.summary.SHORT_LABELS` and print the values in cells.
    """
    labels = [SHORT_LABELS.get(c, c) if short else c for c in matrix.columns]
    z = matrix.to_numpy(dtype=float)
    heat = go.Heatmap(z=z, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                      colorbar={"title": f"{method} r"},
                      hovertemplate="%{y} vs %{x}<br>r = %{z:.2f}<extra></extra>")
    if short:
        heat.update(text=np.round(z, 2).astype(str), texttemplate="%{text}")
    fig = go.Figure(heat)
    size = max(450, 22 * len(labels) + 200)
    fig.update_layout(title=title or f"{method.capitalize()} correlations", width=size,
                      height=size, yaxis={"autorange": "reversed"})
    return fig


def hypothesis_scatter(pairs: pd.DataFrame, line: pd.DataFrame, row: pd.Series) -> go.Figure:
    """Scatter of one hypothesis view with its OLS line, 95 % band and Spearman's rho in the title.

    Parameters
    ----------
    pairs
        ``household_id``, ``x``, ``y`` (all tested households).
    line
        OLS line and band (``x``, ``fit``, ``lower``, ``upper``).
    row
        The view's row of the hypotheses table (``x``, ``y``, ``rho``, ``p_value``, ``q_value``, ``n``,
        ``x_lo`` .. ``y_hi``).
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=pairs["x"], y=pairs["y"], mode="markers", name="households", customdata=pairs["household_id"],
        marker={"color": POINT_COLOR, "size": 5, "opacity": 0.6},
        hovertemplate="%{customdata}<br>" + f"{row['x']}" + " = %{x:.3g}<br>" + f"{row['y']}" + " = %{y:.3g}"
        + "<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=np.concatenate([line["x"], line["x"][::-1]]), y=np.concatenate([line["upper"], line["lower"][::-1]]),
        mode="lines", fill="toself", fillcolor=BAND_COLOR, line={"width": 0, "color": BAND_COLOR},
        name="95 % interval of the OLS line", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=line["x"], y=line["fit"], mode="lines", line={"color": LINE_COLOR},
                             name=f"OLS fit (slope {row['slope']:.3g})"))
    fig.update_layout(
        title=(f"{row['title']}<br><sup>Spearman rho = {row['rho']:.2f}, p = {row['p_value']:.2g}, "
               f"BH q = {row['q_value']:.2g}, n = {int(row['n'])} (all points; axes 1st-99th percentile)</sup>"),
        xaxis={"title": axis_label(str(row["x"])), "range": _padded(row["x_lo"], row["x_hi"])},
        yaxis={"title": axis_label(str(row["y"])), "range": _padded(row["y_lo"], row["y_hi"])},
    )
    return fig


def _padded(lo: float, hi: float) -> list[float]:
    pad = 0.03 * (hi - lo) if hi > lo else 1.0
    return [float(lo - pad), float(hi + pad)]


def responder_boxes(long: pd.DataFrame, table: pd.DataFrame) -> go.Figure:
    """Box plots (with every household as a point) of positive vs negative weekday responders per metric."""
    metrics = list(table["metric"])
    titles = [f"p = {p:.2g}, r_rb = {r:.2f}" for p, r in zip(table["p_value"], table["rank_biserial"])]
    fig = make_subplots(rows=1, cols=len(metrics), horizontal_spacing=0.12)
    colors = {"positive": "#2ca02c", "negative": "#9467bd"}
    for j, m in enumerate(metrics, start=1):
        part = long[long["metric"] == m]
        for sign in ("positive", "negative"):
            sub = part[part["sign"] == sign]
            fig.add_trace(go.Box(
                y=sub["value"], x=[sign] * len(sub), name=f"{sign} responders", boxpoints="all", jitter=0.4,
                pointpos=0, marker={"color": colors[sign], "size": 3}, customdata=sub["household_id"],
                hovertemplate="%{customdata}<br>%{y:.3g}<extra></extra>", showlegend=j == 1,
                legendgroup=sign), row=1, col=j)
        fig.update_yaxes(title_text=axis_label(m), row=1, col=j)
        fig.update_xaxes(title_text=titles[j - 1], row=1, col=j)
    fig.update_layout(height=480, width=max(500, 330 * len(metrics)),
                      title="Positive vs negative weekday responders (Mann-Whitney, rank-biserial r)")
    return fig


def super_responder_medians(table: pd.DataFrame, share: float) -> go.Figure:
    """Medians of super-responders and of all households side by side, one small panel per feature."""
    n = len(table)
    cols = 4
    rows = max(1, math.ceil(n / cols))
    titles = [f"{SHORT_LABELS.get(f, f)} (q = {q:.2g})" for f, q in zip(table["feature"], table["q_value"])]
    fig = make_subplots(rows=rows, cols=cols, vertical_spacing=0.15, horizontal_spacing=0.08)
    for i, rec in enumerate(table.itertuples(index=False)):
        r, c = divmod(i, cols)
        fig.add_trace(go.Bar(
            x=[f"top {share:.0%}", "all"], y=[rec.median_super, rec.median_all],
            marker_color=["#ff7f0e", "#7f7f7f"], showlegend=False,
            hovertemplate=f"{rec.feature}" + "<br>%{x}: median %{y:.3g}" + f" [{rec.unit}]<extra></extra>"),
            row=r + 1, col=c + 1)
        fig.update_xaxes(title_text=titles[i], title_font_size=10, row=r + 1, col=c + 1)
        fig.update_yaxes(title_text=f"median [{rec.unit}]" if rec.unit else "median", title_font_size=9,
                         row=r + 1, col=c + 1)
    fig.update_layout(height=260 * rows + 80,
                      title=f"Super-responders (top {share:.0%} of weekday response) vs all households: medians "
                            "(Mann-Whitney vs the rest, BH q)")
    return fig


def performance_potential_scatter(assignment: pd.DataFrame, counts: pd.DataFrame, splits: dict) -> go.Figure:
    """The performance-potential matrix: households, the two median lines and the quadrant counts."""
    fig = go.Figure()
    palette = ["#2ca02c", "#ff7f0e", "#1f77b4", "#7f7f7f"]
    for color, rec in zip(palette, counts.itertuples(index=False)):
        sub = assignment[assignment["quadrant"] == rec.quadrant]
        fig.add_trace(go.Scatter(
            x=sub["potential"], y=sub["performance"], mode="markers", name=f"{rec.quadrant} ({rec.n})",
            customdata=sub["household_id"], marker={"color": color, "size": 5, "opacity": 0.7},
            hovertemplate="%{customdata}<br>potential %{x:.3g}<br>performance %{y:.3g}<extra></extra>"))
    x, y = assignment["potential"], assignment["performance"]
    xm, ym = splits["x_median"], splits["y_median"]
    fig.add_trace(go.Scatter(x=[xm, xm], y=[float(y.min()), float(y.max())], mode="lines", name="median split",
                             line={"color": "black", "dash": "dash"}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[float(x.min()), float(x.max())], y=[ym, ym], mode="lines", showlegend=False,
                             line={"color": "black", "dash": "dash"}, hoverinfo="skip"))
    fig.update_layout(title="Performance-potential matrix (median splits)",
                      xaxis_title=f"potential: {axis_label(splits['x'])}",
                      yaxis_title=f"performance: {axis_label(splits['y'])}")
    return fig
