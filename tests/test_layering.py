"""The package's structure, read from the source (issue 13).

Layering: the plotting renderer sits below eda and report, and eda below report, so no module imports upward
(at the top of a file or inside a function). And in the packages restructured so far, ``__init__.py`` only
re-exports and no function is longer than :data:`MAX_FUNCTION_LINES`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flexpersona

SRC = Path(flexpersona.__file__).parent

#: The stages and everything that runs them: the plotting package may import none of them.
STAGES = ("features", "personas", "explain", "toolkit", "eda", "report", "pipeline", "cli", "simulate", "demo")

#: Packages whose ``__init__.py`` only re-exports and whose functions are short.
RESTRUCTURED = ("plotting", "eda", "report")

#: The longest function allowed (docstring included) in :data:`RESTRUCTURED`.
MAX_FUNCTION_LINES = 80


def imported_modules(path: Path, root: Path = SRC) -> set[str]:
    """Every module a file imports, relative imports resolved (``from .. import eda`` counts as ``<pkg>.eda``)."""
    package = list(path.relative_to(root.parent).with_suffix("").parts)[:-1]  # a module's or __init__'s package
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def upward_imports(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """File → the modules of ``forbidden`` (``flexpersona.<name>``) it imports, for every file of ``package``."""
    bad = {}
    for path in sorted((SRC / package).rglob("*.py")):
        hits = sorted(m for m in imported_modules(path)
                      if any(m == f"flexpersona.{f}" or m.startswith(f"flexpersona.{f}.") for f in forbidden))
        if hits:
            bad[str(path.relative_to(SRC))] = hits
    return bad


def test_the_scan_sees_relative_absolute_and_function_level_imports(tmp_path):
    pkg = tmp_path / "flexpersona" / "plotting"
    pkg.mkdir(parents=True)
    (pkg / "mod.py").write_text("from ..report.figures import x\nimport flexpersona.eda\n"
                                "def f():\n    from .. import toolkit\n")
    (pkg / "__init__.py").write_text("from .mod import f\nfrom ..store import atomic_path\n")
    found = imported_modules(pkg / "mod.py", root=tmp_path / "flexpersona")
    assert {"flexpersona.report.figures", "flexpersona.eda", "flexpersona.toolkit"} <= found
    assert {"flexpersona.plotting.mod", "flexpersona.store"} <= imported_modules(pkg / "__init__.py", root=tmp_path / "flexpersona")


@pytest.mark.parametrize(("package", "forbidden"), [
    ("plotting", STAGES),  # the renderer knows no stage: eda and report both use it
    ("eda", ("report", "pipeline", "cli")),  # the exploration is a section of the report, not the other way round
])
def test_no_upward_imports(package, forbidden):
    assert (SRC / package).is_dir()
    assert upward_imports(package, forbidden) == {}


@pytest.mark.parametrize("package", RESTRUCTURED)
def test_init_only_reexports(package):
    tree = ast.parse((SRC / package / "__init__.py").read_text(encoding="utf-8"))
    other = [type(node).__name__ for node in tree.body
             if not isinstance(node, (ast.Import, ast.ImportFrom))
             and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # the docstring
             and not (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"])]
    assert other == []


@pytest.mark.parametrize("package", RESTRUCTURED)
def test_no_long_functions(package):
    long = {}
    for path in sorted((SRC / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.lineno} {node.name}"] = n
    assert long == {}
