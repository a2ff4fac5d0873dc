"""The package's structure, read from the source (issue 13).

The one-way flow: io → quality → features → personas → explain → toolkit → eda → report → pipeline/CLI, with the
plotting renderer and the progress bar below every stage. Every import of ``flexpersona`` modules is checked, at the
top of a module or inside a function alike. ``__init__.py`` files only re-export, and no function is longer than
:data:`MAX_FUNCTION_LINES` (docstring excluded; SQL text is built by named helpers, not inline).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "flexpersona"

#: Layer of each top-level module or package (a module may import from its own layer and those below).
LAYERS = {
    "_version": 0, "plotting": 0, "errors": 0, "schema": 0, "config": 0, "contracts": 0, "stats": 0, "store": 0, "runfolder": 0,
    "threads": 0,  # one BLAS/OpenMP thread for the small model fits (personas, explain)
    "allocator": 0,  # large arrays from the C heap (the CLI sets it at start)
    "progress": 0,  # the terminal's progress bar (ingest, features)
    "io": 1, "quality": 1, "sufficiency": 1, "simulate": 1,
    "features": 2, "personas": 3, "explain": 4, "toolkit": 5, "eda": 6, "trialdesign": 6, "report": 7,
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


#: The longest function allowed, docstring excluded (issue 13: "no function over ~80 lines except SQL text").
MAX_FUNCTION_LINES = 80


def _function_lengths(root: Path = SRC) -> dict[str, int]:
    """``path:line name`` → lines of every function of the package, its docstring excluded."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = node.body[0]
                doc = (first.end_lineno - first.lineno + 1
                       if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                       and isinstance(first.value.value, str) else 0)
                out[f"{path.relative_to(root)}:{node.lineno} {node.name}"] = node.end_lineno - node.lineno + 1 - doc
    return out


def test_no_long_functions():
    lengths = _function_lengths()
    assert len(lengths) > 500  # the scan sees the package
    assert {k: n for k, n in lengths.items() if n > MAX_FUNCTION_LINES} == {}


def _non_reexports(init: Path) -> list[str]:
    """Statements of an ``__init__.py`` other than its docstring, imports, ``__all__`` and lazy re-exports."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    return [f"{type(node).__name__}:{node.lineno}" for node in tree.body
            if not isinstance(node, (ast.Import, ast.ImportFrom))
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            and not (isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                     and {getattr(t, "id", None) for t in getattr(node, "targets", [getattr(node, "target", None)])}
                     <= {"__all__", "_LAZY"})
            and not (isinstance(node, ast.FunctionDef) and node.name in ("__getattr__", "__dir__"))]


@pytest.mark.parametrize("init", sorted(p.relative_to(SRC).as_posix() for p in SRC.rglob("__init__.py")))
def test_init_only_reexports(init):
    assert _non_reexports(SRC / init) == []


def test_the_reexport_scan_can_fail(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text('"""Doc."""\nfrom .x import y\n__all__ = ["y"]\n\ndef helper():\n    return 1\n')
    assert _non_reexports(init) == ["FunctionDef:5"]


def test_the_pipeline_does_not_load_the_figure_renderer():
    """A re-run with unchanged inputs imports the pipeline and draws nothing: matplotlib (~0.8 s) stays unloaded
    until a figure is drawn (issue 14's (c))."""
    import subprocess
    import sys

    code = ("import sys, flexpersona.pipeline, flexpersona.cli; print('matplotlib' in sys.modules); "
            "from flexpersona.plotting import save_figure; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
