"""Warnings that point at the caller's line, not at gmesa's.

``warnings.warn(..., stacklevel=N)`` with a fixed ``N`` names the wrong line as soon as
a call goes through one more gmesa function (a decorator, a reader, a wrapper):
:func:`warn` walks up the stack past gmesa's own modules instead, so the warning
names the first frame outside the package (the user's script, a test, the CLI's caller).
"""
from __future__ import annotations

import os
import sys
import warnings

#: the package folder: frames in files below it are gmesa's own
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """:func:`warnings.warn` ``message`` (``category``), attributed to the first caller
    outside gmesa."""
    frame, level = sys._getframe(1), 2     # level 2: the gmesa function calling this
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
