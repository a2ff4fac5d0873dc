"""Headless Chromium opens report.html: no console errors, no network requests, every figure rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (CI installs the Debian package: apt-get install chromium)")
def test_report_renders_offline_without_errors(written_report):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'flexpersona[dev]' (playwright)")
    url = written_report.resolve().as_uri()
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(url, wait_until="load")
            page.wait_for_function("() => typeof Plotly !== 'undefined'")
            page.wait_for_timeout(300)
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
        finally:
            browser.close()
    external = [u for u in requests if u != url and not u.startswith("data:")]
    assert not problems, problems
    assert not external, f"network requests: {external}"
    assert n_figures >= 12
    assert not missing, f"figures that did not render: {missing}"
    assert n_exploration >= 4, "the Exploration (EDA) section has no rendered figures"
    assert "household D" in hover
