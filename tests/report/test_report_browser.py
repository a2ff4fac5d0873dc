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
