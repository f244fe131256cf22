"""Giving freed memory back to the system between the phases of a long fit.

glibc's allocator keeps freed heap memory for reuse; after the blocks of a 24-hour joint
fit (thousands of mid-sized arrays freed), tens of MiB stay in the process though
nothing uses them, and the next phase (joining and writing the tables) adds its own on
top.  :func:`release_free_memory` asks the allocator to return what it holds free
(``malloc_trim(0)``); elsewhere than glibc it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def _trim():
    """glibc's ``malloc_trim``, or None (another platform or C library)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory():
    """Return the allocator's free memory to the system (glibc); True if it could."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
