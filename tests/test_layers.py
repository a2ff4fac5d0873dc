"""The one-way flow of the architecture: no module imports from a stage above it (issue 13).

io → quality → features → personas → explain → toolkit → eda → plotting/report → pipeline/CLI. Every import of
``flexpersona`` modules is checked, at the top of a module or inside a function alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "flexpersona"

#: Layer of each top-level module or package (a module may import from its own layer and those below).
LAYERS = {
    "_version": 0, "errors": 0, "schema": 0, "config": 0, "contracts": 0, "stats": 0, "store": 0, "runfolder": 0,
    "io": 1, "quality": 1, "sufficiency": 1, "simulate": 1,
    "features": 2, "personas": 3, "explain": 4, "toolkit": 5, "eda": 6, "plotting": 6, "report": 7,
    "pipeline": 8, "demo": 8, "summary": 8, "bench": 8, "cli": 9, "__main__": 9, "__init__": 9,
}  # fmt: skip


def _top(module: Path) -> str:
    rel = module.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported(module: Path) -> list[tuple[int, str]]:
    """``flexpersona`` top-level names a module imports (absolute or relative), with their line."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    pkg = module.relative_to(SRC).parent.parts
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg[: len(pkg) - node.level + 1]) if node.level > 1 else list(pkg)
                parts = base + (node.module.split(".") if node.module else [])
                if not parts:  # ``from . import x`` at the package root
                    parts = [a.name for a in node.names]
                out.append((node.lineno, parts[0] if parts else ""))
            elif node.module and node.module.split(".")[0] == "flexpersona":
                names = node.module.split(".")[1:] or [a.name for a in node.names]
                out.append((node.lineno, names[0]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("flexpersona."):
                    out.append((node.lineno, a.name.split(".")[1]))
    return out


def _violations() -> list[str]:
    bad = []
    for module in sorted(SRC.rglob("*.py")):
        here = _top(module)
        for line, name in _imported(module):
            name = name.removesuffix(".py")
            if name in LAYERS and LAYERS[name] > LAYERS.get(here, 9):
                bad.append(f"{module.relative_to(SRC)}:{line} imports {name} (layer {LAYERS[name]} > {here}'s {LAYERS[here]})")
    return bad


def test_every_module_has_a_layer():
    tops = {_top(m) for m in SRC.rglob("*.py")}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


def test_no_module_imports_from_a_stage_above_it():
    assert _violations() == []


@pytest.mark.parametrize(("module", "line"), [("features/stage.py", "from ..toolkit import build_toolkit")])
def test_the_scan_finds_an_upward_import(tmp_path, monkeypatch, module, line):
    """The scan itself can fail: an upward import planted in a copy of the tree is reported."""
    import shutil

    copy = tmp_path / "flexpersona"
    shutil.copytree(SRC, copy)
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "SRC", copy)
    assert any("imports toolkit" in v for v in _violations())
