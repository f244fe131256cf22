"""Conversions between gmesa's parameters and other notations.

gmesa: ``[amplitude, center, half_width, sigma_left, sigma_right]`` per component.
Original GMF papers (Dubois et al. 2007, Badilini-style ECG wave models):
``[amplitude, mu, sigma_1, sigma_2, sigma_L]`` with left width sigma_1, right width
sigma_2 and plateau *length* ``sigma_L = 2 * half_width``.
"""
from __future__ import annotations

import numpy as np

from .lineshapes import GMF_PARAMS

#: values per component, in either notation
PER_COMPONENT = len(GMF_PARAMS)


def _rows(params, width):
    p = np.asarray(params, dtype=float)
    if p.shape[-1] != width:
        raise ValueError(f"expected the last axis to hold {width} values per component, "
                         f"got shape {p.shape}")
    return p


def to_original(params):
    """gmesa rows (..., 5) -> original GMF rows [A, mu, sigma_1 (left), sigma_2 (right), sigma_L]."""
    p = _rows(params, PER_COMPONENT)
    a, mu, h, sl, sr = np.moveaxis(p, -1, 0)
    return np.stack([a, mu, sl, sr, 2.0 * h], axis=-1)


def from_original(params):
    """Original GMF rows [A, mu, sigma_1, sigma_2, sigma_L] -> gmesa rows (..., 5)."""
    p = _rows(params, PER_COMPONENT)
    a, mu, s1, s2, length = np.moveaxis(p, -1, 0)
    if np.any(length < 0):
        raise ValueError(f"plateau length sigma_L must be >= 0, got {length}")
    return np.stack([a, mu, 0.5 * length, s1, s2], axis=-1)


def from_gaussian(amplitude, center, sigma):
    """Symmetric Gaussian (A, mu, sigma) -> gmesa row [A, mu, 0, sigma, sigma]."""
    return np.array([amplitude, center, 0.0, sigma, sigma], dtype=float)


def to_gaussian(params, rtol=1e-12):
    """gmesa row -> (A, mu, sigma) when it is a Gaussian (no plateau, equal widths)."""
    a, mu, h, sl, sr = _rows(params, PER_COMPONENT)
    if h != 0 or not np.isclose(sl, sr, rtol=rtol, atol=0):
        raise ValueError(f"not a symmetric Gaussian: half_width={h}, sigma_left={sl}, "
                         f"sigma_right={sr} (need half_width = 0 and equal widths)")
    return float(a), float(mu), float(sl)
