"""Headless Chromium opens report.html: no console errors, no network requests, every figure rendered."""

from __future__ import annotations

import pytest


@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_offline_without_errors(written_report, open_report):
    def inspect(page):
        n_figures = page.evaluate("document.querySelectorAll('.fp-figure').length")
        missing = page.evaluate(
            "Array.from(document.querySelectorAll('.fp-figure'))"
            ".filter(d => !d.querySelector('.js-plotly-plot .main-svg'))"
            ".map(d => (d.querySelector('[id]') || {}).id)"
        )
        n_exploration = page.evaluate(
            "document.querySelectorAll('#exploration .fp-figure .js-plotly-plot .main-svg').length")
        page.evaluate("Plotly.Fx.hover('fig-caterpillar', [{curveNumber: 0, pointNumber: 0}])")
        page.wait_for_timeout(200)
        hover = page.evaluate("document.querySelector('#fig-caterpillar .hoverlayer').textContent")
        return n_figures, missing, n_exploration, hover

    (n_figures, missing, n_exploration, hover), problems, external = open_report(written_report, inspect)
    assert not problems, problems
    assert not external, f"network requests: {external}"
    assert n_figures >= 12
    assert not missing, f"figures that did not render: {missing}"
    assert n_exploration >= 4, "the Exploration (EDA) section has no rendered figures"
    assert "household D" in hover


#: JavaScript: open every folded table, then list the table rows taller than two lines of text (the row's
#: height against two line-heights of its cells plus their vertical padding and borders).
TALL_ROWS = """() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const bad = [];
  let n = 0;
  document.querySelectorAll('table.tbl tr').forEach(tr => {
    n += 1;
    let allowed = 0;
    for (const cell of tr.children) {
      const cs = getComputedStyle(cell);
      const lh = parseFloat(cs.lineHeight);
      const extra = parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom)
                  + parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth);
      allowed = Math.max(allowed, 2 * lh + extra + 1);
    }
    const h = tr.getBoundingClientRect().height;
    if (h > allowed) bad.push([tr.closest('details').querySelector('summary').textContent, Math.round(h), Math.round(allowed)]);
  });
  return {rows: n, bad: bad};
}"""

#: JavaScript: every first-screen card with its position and the colours of its label and background.
CARDS = """() => Array.from(document.querySelectorAll('header .keynum')).map(c => {
  const label = c.querySelector('.label');
  const r = c.getBoundingClientRect();
  return {id: c.id, top: r.top, bottom: r.bottom, text: c.textContent,
          fg: getComputedStyle(label).color, bg: getComputedStyle(c).backgroundColor};
})"""


def _luminance(rgb: str) -> float:
    vals = [float(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in vals]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb(...)`` colours."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_of_known_colours():
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast("rgb(255, 255, 255)", "rgb(232, 238, 244)") < 1.3  # the old cards: white text on light blue


@pytest.mark.browser
@pytest.mark.slow
def test_first_screen_has_readable_cards_and_compact_tables(written_report, open_report):
    def inspect(page):
        page.set_viewport_size({"width": 1280, "height": 800})
        return page.evaluate(CARDS), page.evaluate("window.innerHeight"), page.evaluate(TALL_ROWS)

    (cards, height, tables), problems, _ = open_report(written_report, inspect)
    assert not problems, problems
    ids = [c["id"] for c in cards]
    assert {"card-households", "card-high_response", "card-kw"} <= set(ids), ids
    assert height == 800 and all(c["bottom"] <= height for c in cards), "a card lies below the first screen"
    high = next(c for c in cards if c["id"] == "card-high_response")
    assert "median" in high["text"]
    for c in cards:
        assert contrast(c["fg"], c["bg"]) >= 4.5, (c["id"], c["fg"], c["bg"])  # WCAG AA for text
    assert tables["rows"] > 50
    assert not tables["bad"], f"table rows taller than two lines: {tables['bad'][:10]}"
