"""Plotly figures in an offline HTML page: one ``<div>`` per figure, plotly.js inlined once by the page.

Examples
--------
>>> import plotly.graph_objects as go
>>> fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
>>> '<div' in figure_html(fig)
True
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

#: Plotly config of every interactive figure: no logo, no link to online services.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False}


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


def empty_figure(message: str, *, title: str = "") -> go.Figure:
    """A figure that only says why there is nothing to show (e.g. no survey in this run)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=260)
    return fig
