"""docs/api.md and examples/quickstart.ipynb run as written (issue 13): every code block / cell, in order."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(blocks: list[str], where: Path, monkeypatch) -> dict:
    matplotlib.use("Agg")
    monkeypatch.chdir(where)
    namespace: dict = {"__name__": "__main__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"<block {i}>", "exec"), namespace)
    return namespace


def test_api_md_runs_as_written(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    ns = _run(blocks, tmp_path, monkeypatch)
    assert ns["report"].exists() and ns["feats"].features["high_response_post"].notna().all()
    assert ns["toolkit"].toolkit["total"]["kw_per_1000_ci_low"] is not None


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    nb = json.loads((ROOT / "examples" / "quickstart.ipynb").read_text(encoding="utf-8"))
    blocks = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(blocks) >= 5
    ns = _run(blocks, tmp_path, monkeypatch)
    assert ns["personas"].structure_found
    assert (ns["out"] / "report.html").exists()
