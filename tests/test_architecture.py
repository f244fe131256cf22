"""House rules of the package, checked on its source (issue 15).

Every module of ``gmesa/`` is at most 500 lines, every function at most 100 lines (the
compiled kernels included: they split into ``@njit`` helpers), no module imports a private
name (``_x``) from another module, and no module names a machine path such as ``../shared``.
Private *modules* (``_kernels``, ``_lm``, ...) may be imported inside the package: that is
what the underscore on a module means.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gmesa"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 100


def _rel(p: Path) -> str:
    return str(p.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_module_is_small(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{_rel(path)} has {n} lines (limit {MAX_MODULE_LINES})"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_functions_are_short(path):
    tree = ast.parse(path.read_text())
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{_rel(path)}: functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_no_private_names_from_other_modules(path):
    tree = ast.parse(path.read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = alias.name
                # `from . import _kernels` imports a private module of the package: allowed.
                if node.module is None:
                    continue
                if name.startswith("_") and not name.startswith("__"):
                    bad.append(f"line {node.lineno}: from {'.' * node.level}{node.module} import {name}")
    assert not bad, f"{_rel(path)} imports private names of other modules: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_no_machine_paths(path):
    text = path.read_text()
    assert "../shared" not in text and '"shared"' not in text, \
        f"{_rel(path)} names a machine path (../shared): data is found through gmesa.datasets"
