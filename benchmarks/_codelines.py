"""How much code a part of gmesa is: lines that hold code, without docstrings, comments
and blank lines (what issue 17 counts when it asks that the code deciding waves shrink).

``part`` names a module of :mod:`gmesa.ecg` (``"choice"``) or top-level functions and
classes in one (``"template:with_t_lobe"``).  A line is counted once however many parts
name it.
"""
from __future__ import annotations

import ast
import io
import tokenize
from functools import lru_cache
from pathlib import Path

#: the folder of gmesa.ecg's modules
ECG = Path(__file__).resolve().parents[1] / "gmesa" / "ecg"

#: the modules whose code decides which waves a beat has and where (issue 17's count:
#: 337 code lines when it was filed)
DECIDING = ("template", "presence", "identity", "choice")


@lru_cache(maxsize=None)
def _module(name):
    """(code line numbers, {top-level name: (first line, last line)}) of gmesa.ecg.``name``."""
    path = ECG / f"{name}.py"
    if not path.is_file():
        raise ValueError(f"no module gmesa.ecg.{name} ({path})")
    src = path.read_text()
    tree = ast.parse(src)
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            docs.update(range(body[0].lineno, body[0].end_lineno + 1))
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER)
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type not in skip:
            lines.update(k for k in range(tok.start[0], tok.end[0] + 1) if k not in docs)
    spans = {node.name: (node.lineno, node.end_lineno) for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return frozenset(lines), spans


def _lines_of(part):
    """The set of (module, line) that ``part`` names."""
    module, _, name = part.partition(":")
    lines, spans = _module(module)
    if not name:
        return {(module, k) for k in lines}
    if name not in spans:
        raise ValueError(f"gmesa.ecg.{module} has no top-level {name!r}")
    first, last = spans[name]
    return {(module, k) for k in lines if first <= k <= last}


def code_lines(*parts):
    """Code lines of the ``parts`` together (each line once)."""
    got = set()
    for part in parts:
        got |= _lines_of(part)
    return len(got)


def deciding_lines():
    """Code lines of the modules that decide waves (:data:`DECIDING`)."""
    return code_lines(*DECIDING)
