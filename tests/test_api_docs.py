"""Every public name is in docs/api.md and has a docstring (issue 15)."""
import importlib
import inspect
import re
from pathlib import Path

import pytest

API = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
MODULES = ("gmesa", "gmesa.ecg", "gmesa.plot", "gmesa.batch", "gmesa.datasets")


def _exports(name):
    mod = importlib.import_module(name)
    return [(n, getattr(mod, n)) for n in mod.__all__]


@pytest.mark.parametrize("module", MODULES)
def test_every_export_is_listed_in_the_api_page(module):
    missing = [n for n, _ in _exports(module) if not re.search(rf"`{re.escape(n)}\b", API)]
    assert not missing, f"{module}: not in docs/api.md: {missing}"


@pytest.mark.parametrize("module", MODULES)
def test_every_exported_function_and_class_has_a_docstring(module):
    bare = [n for n, obj in _exports(module)
            if (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj))
            and not (inspect.getdoc(obj) or "").strip()]
    assert not bare, f"{module}: no docstring: {bare}"
