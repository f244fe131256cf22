"""gmesa._memory: freed memory handed back to the system (glibc), a no-op elsewhere."""
from __future__ import annotations

import sys

import numpy as np

from gmesa import _memory


def test_release_free_memory_runs_and_says_whether_it_could():
    blocks = [np.ones(100_000) for _ in range(50)]  # 40 MB in mid-sized arrays, freed
    del blocks
    done = _memory.release_free_memory()
    assert done is (_memory._trim() is not None)
    if sys.platform.startswith("linux"):
        import platform
        if platform.libc_ver()[0] == "glibc":
            assert done


def test_release_free_memory_is_a_no_op_without_malloc_trim(monkeypatch):
    monkeypatch.setattr(_memory, "_trim", lambda: None)
    assert _memory.release_free_memory() is False
