"""Butterworth filter designs, each made once per (order, cutoff, type, rate).

A long record is cleaned chunk by chunk with the same filters: designing them again for
every chunk cost about 1.5% of a fit.
"""
from __future__ import annotations

from functools import lru_cache

import scipy.signal as sps


@lru_cache(maxsize=64)
def _design(order, cutoff, btype, fs):
    return sps.butter(order, cutoff, btype=btype, fs=fs, output="sos")


def butter_sos(order, cutoff, btype, fs):
    """``scipy.signal.butter(order, cutoff, btype, fs=fs, output="sos")`` (``cutoff`` Hz, a
    float or a (low, high) tuple; ``fs`` Hz), designed once; a copy (scipy's filters want a
    writable array)."""
    return _design(order, cutoff, btype, fs).copy()
