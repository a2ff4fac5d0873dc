"""Shared fixtures of the test suite.

``lcl``: the real Low Carbon London fragments in ``../shared/data/lcl`` (paths in :mod:`paths`), skipping the test
when they are absent.

``open_report``: headless Chromium (Playwright) opens a report offline and evaluates JavaScript on it (skips
without a chromium binary; CI installs the Debian package).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from paths import LCL

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _open_report(path: Path, inspect: Callable[[Any], Any]) -> tuple[Any, list[str], list[str]]:
    """Open ``path`` in headless Chromium, wait for plotly, call ``inspect(page)``.

    Returns its result, the problems seen (console errors, page errors, failed requests) and the network
    requests other than the page itself.
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install 'flexpersona[dev]' (playwright)")
    url = path.resolve().as_uri()
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
            result = inspect(page)
        finally:
            browser.close()
    return result, problems, [u for u in requests if u != url and not u.startswith("data:")]


@pytest.fixture
def open_report() -> Callable[[Path, Callable[[Any], Any]], tuple[Any, list[str], list[str]]]:
    """:func:`_open_report`, or a skip when there is no chromium binary."""
    if CHROMIUM is None:
        pytest.skip("no chromium binary (CI installs the Debian package: apt-get install chromium)")
    return _open_report


@pytest.fixture(scope="session")
def lcl() -> Path:
    """``../shared/data/lcl`` (the test is skipped when the shared data is absent)."""
    if not LCL.is_dir():
        pytest.skip("../shared/data/lcl is absent")
    return LCL
