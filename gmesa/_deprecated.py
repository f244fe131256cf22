"""Old public names kept working for one release, each with a DeprecationWarning.

``module_getattr`` gives a module a ``__getattr__`` that serves renamed attributes
(``STATUS`` -> ``SOLVER_STATUS``); ``renamed_keywords`` lets a function take a renamed
keyword argument (``n_base=`` -> ``n_baseline=``).
"""
from __future__ import annotations

import functools

from ._warn import warn


def warn_renamed(old: str, new: str):
    """Emit the DeprecationWarning for ``old`` now being called ``new``."""
    warn(f"{old} is deprecated and will be removed in the next release; use {new}",
         DeprecationWarning)


def module_getattr(module: str, renamed: dict, namespace: dict):
    """A module ``__getattr__`` serving each old name of ``renamed`` (old -> new name in
    ``namespace``, the module's globals) with a DeprecationWarning."""
    def __getattr__(name):
        if name in renamed:
            new = renamed[name]
            warn_renamed(f"{module}.{name}", f"{module}.{new}")
            return namespace[new]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__


def renamed_keywords(**old_to_new):
    """Decorator: keyword ``old`` still works as ``new`` (with a DeprecationWarning);
    giving both is a TypeError."""
    def wrap(func):
        @functools.wraps(func)
        def inner(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{func.__name__}() got both {old}= (deprecated) "
                                        f"and {new}=")
                    warn_renamed(f"{func.__name__}({old}=...)", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)
        return inner
    return wrap
