"""The building blocks of the report's sections: :class:`Section`, numbers as text (:func:`fmt`) and tables
as compact HTML (:func:`table_html`)."""

from __future__ import annotations

import html as _html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_TABLE_ROWS = 25


@dataclass
class Section:
    """One section of the page and what it adds to the report.

    Attributes
    ----------
    id, title
        Anchor id and heading.
    paragraphs, notes
        Text (escaped by the template); notes say what the run lacks.
    figures
        Figure name → plotly figure, in page order (saved as ``figures/<name>.png|svg``, shown as ``fig-<name>``).
    tables
        ``(caption, HTML table)`` pairs.
    facts
        Name → formatted number, for the first-screen cards (:mod:`flexpersona.report.first_screen`).
    """

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: dict[str, go.Figure] = field(default_factory=dict)
    tables: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def add_figure(self, name: str, fig: go.Figure | None) -> bool:
        """Add ``fig`` under ``name`` unless it is None (the run lacked what it needs); True when added."""
        if fig is None:
            return False
        self.figures[name] = fig
        return True


def fmt(x: Any, spec: str = ",.1f") -> str:
    """A number for the text ("n/a" for missing)."""
    if x is None:
        return "n/a"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not np.isfinite(v):
        return "n/a"
    return format(int(round(v)), spec) if spec.endswith("d") else format(v, spec)


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or (not isinstance(v, str) and pd.isna(v) is True):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.3g}"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    return str(v)


def table_html(df: pd.DataFrame | None, *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A DataFrame as a compact escaped HTML table (first ``max_rows`` rows, with a note when cut).

    No row is taller than two lines of text: each cell's text is clamped to two lines (the full text is its
    tooltip), and column names may break after an underscore.
    """
    if df is None or df.empty:
        return '<p class="note">(empty table)</p>'
    shown = df.head(max_rows)
    esc = _html.escape
    head = "".join(
        f'<th title="{esc(str(c))}"><div class="c">{esc(str(c)).replace("_", "_<wbr>")}</div></th>' for c in shown.columns
    )
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = []
        for v in rec:
            text = esc(_cell_text(v))
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            cls = ' class="n"' if num else ""
            cells.append(f'<td{cls} title="{text}"><div class="c">{text}</div></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = f'<table class="tbl"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    if len(df) > max_rows:
        body += f'<p class="note">showing {max_rows} of {len(df):,} rows</p>'
    return body


def flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted.key, value)`` of a nested dict; short lists of scalars become one comma-joined value, others go."""
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += flatten(v, key + ".")
        elif isinstance(v, list):
            if all(not isinstance(x, (dict, list)) for x in v) and len(v) <= 12:
                out.append((key, ", ".join(map(str, v))))
        else:
            out.append((key, v))
    return out
