"""Start values for mesa fits read off the data (peaks, plateaus, half-maximum widths)."""
from __future__ import annotations

import numpy as np

#: D at half maximum: exp(-D**2/2) = 1/2
HALF_MAX_D = np.sqrt(2.0 * np.log(2.0))


def _half_max_edge(y, i0, step, level):
    """First index from i0 (walking by step) where y falls below level; clipped to the array."""
    i = i0
    n = y.size
    while 0 <= i + step < n and y[i + step] > level:
        i += step
    return i


def peak_params(x, y, min_width=None):
    """(amplitude, center, half_width, sigma_left, sigma_right) of the largest |y| bump.

    The plateau is the stretch around the extremum within 2% of its height; each
    tail width comes from where y falls to half the extremum.  ``y`` should have its
    baseline removed.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    i = int(np.argmax(np.abs(y)))
    amp = float(y[i])
    s = np.sign(amp) or 1.0
    ys = s * y
    dx = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    min_width = dx if min_width is None else min_width
    top_l = _half_max_edge(ys, i, -1, 0.98 * ys[i])
    top_r = _half_max_edge(ys, i, 1, 0.98 * ys[i])
    half_l = _half_max_edge(ys, top_l, -1, 0.5 * ys[i])
    half_r = _half_max_edge(ys, top_r, 1, 0.5 * ys[i])
    center = 0.5 * (x[top_l] + x[top_r])
    half_width = 0.5 * (x[top_r] - x[top_l])
    sigma_left = max((x[top_l] - x[half_l] + dx / 2) / HALF_MAX_D, min_width)
    sigma_right = max((x[half_r] - x[top_r] + dx / 2) / HALF_MAX_D, min_width)
    return amp, float(center), float(half_width), float(sigma_left), float(sigma_right)


def greedy_guess(x, y, n_components, baseline_size=1):
    """Start vector for ``n_components`` GMFs + baseline by peeling off the largest bumps.

    The baseline starts at the median of y (constant term only); each component is
    fitted to the largest remaining bump by :func:`peak_params` and subtracted.
    Components are returned in order of their centers.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    from .lineshapes import gmf

    base = float(np.median(y)) if baseline_size else 0.0
    rest = y - base
    rows = []
    for _ in range(n_components):
        row = peak_params(x, rest)
        rows.append(row)
        rest = rest - gmf(x, *row)
    rows.sort(key=lambda r: r[1])
    coeffs = [base] + [0.0] * (baseline_size - 1) if baseline_size else []
    return np.array([v for r in rows for v in r] + coeffs, dtype=float)
