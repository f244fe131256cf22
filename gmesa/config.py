"""One place for the Numba settings every compiled kernel uses.

``cache=True`` keeps compile time out of the hot path (the machine code is stored
beside the module and reused by later processes).  ``fastmath`` is limited to the
flags that let reductions vectorise and contract to FMA; NaN/Inf semantics
(``nnan``/``ninf``) are kept so non-finite guards in the solvers still work.
"""
from __future__ import annotations

import numba

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: keyword arguments for ``numba.njit`` on a serial kernel
NJIT = dict(cache=True, fastmath=set(FASTMATH), nogil=True, error_model="numpy")
#: keyword arguments for ``numba.njit`` on a kernel that uses ``prange`` over curves
NJIT_PARALLEL = dict(NJIT, parallel=True)


def njit(func=None, **overrides):
    """``numba.njit`` with the project settings (usable bare or with overrides)."""
    opts = dict(NJIT, **overrides)
    if func is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(func)
