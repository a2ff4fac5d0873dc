"""Draw a figure once: the key of a saved PNG/SVG pair, so that :func:`~flexpersona.plotting.save_figure` can
skip a figure whose files were drawn from the very same figure by the very same drawing code.

The key is a SHA-256 over the plotly figure's JSON (keys sorted), the PNG resolution, the matplotlib version and default
font file, and the source of this package's modules; it is written into the SVG's metadata
(``<dc:identifier>``) and read back from the first bytes of the file. Any change of the figure's data or
layout, of the drawing code or of matplotlib gives a new key and the figure is drawn again.

Examples
--------
>>> import plotly.graph_objects as go
>>> fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
>>> figure_key(fig, 110) == figure_key(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), 110)
True
>>> figure_key(fig, 110) == figure_key(fig, 120)
False
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import matplotlib
import plotly.io as pio

#: Prefix of the key in the SVG's ``<dc:identifier>``.
KEY_PREFIX = "flexpersona-figure:"
#: How much of the SVG's start is searched for the key (the metadata precedes the drawing).
_HEAD_BYTES = 4096


@functools.cache
def _code_digest() -> str:
    """Digest of what draws a figure besides the figure itself: this package's modules (all of them, so that a
    new drawing module is never missed), matplotlib's version and the font file matplotlib resolves for its
    default family."""
    from matplotlib import font_manager

    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(matplotlib.__version__.encode())
    h.update(str(font_manager.findfont(font_manager.FontProperties())).encode())
    return h.hexdigest()


def figure_key(fig: Any, dpi: int) -> str:
    """The key of ``fig`` drawn at ``dpi`` (a plotly figure or its dict)."""
    h = hashlib.sha256(_code_digest().encode())
    h.update(f"dpi={dpi}".encode())
    # keys sorted: a copy of a figure (go.Figure(fig)) orders its template's keys differently
    canonical = json.dumps(json.loads(pio.to_json(fig, validate=False)), sort_keys=True, separators=(",", ":"))
    h.update(canonical.encode())
    return KEY_PREFIX + h.hexdigest()


def saved_key(svg: Path) -> str | None:
    """The key written into ``svg`` by :func:`~flexpersona.plotting.save_figure`; None when absent."""
    try:
        with open(svg, "rb") as fh:
            head = fh.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    start = head.find(KEY_PREFIX)
    if start < 0:
        return None
    end = head.find("<", start)
    return head[start:end] if end > 0 else None
