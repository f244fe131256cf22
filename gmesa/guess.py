"""Start values for mesa fits read off the data (peaks, plateaus, half-maximum widths)."""
from __future__ import annotations

import numpy as np

from ._deprecated import renamed_keywords
from .core import Layout, baseline_spec
from .lineshapes import HALF_MAX, gmf


def _half_max_edge(y, i0, step, level):
    """First index from i0 (walking by step) where y falls below level; clipped to the array."""
    i = i0
    n = y.size
    while 0 <= i + step < n and y[i + step] > level:
        i += step
    return i


def peak_params(x, y, min_width=None, robust=True):
    """(amplitude, center, half_width, sigma_left, sigma_right) of the largest |y| bump.

    With ``robust`` (default), ``y`` (baseline removed) is first smoothed with a short
    moving average and the plateau is the stretch around the extremum within
    max(2%, 3 noise SDs) of its height; otherwise within 2% of the raw extremum (for
    low-noise input such as a median beat).  Each tail width comes from where y falls
    to half the extremum.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    dx = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    min_width = dx if min_width is None else min_width
    width = max(1, min(9, x.size // 60) | 1) if robust else 1
    ys_raw = np.convolve(y, np.ones(width) / width, mode="same") if width > 1 else y
    i = int(np.argmax(np.abs(ys_raw)))
    amp = float(ys_raw[i])
    s = np.sign(amp) or 1.0
    ys = s * ys_raw
    noise = 1.4826 * float(np.median(np.abs(np.diff(y)))) / np.sqrt(2.0) / np.sqrt(width)
    top = min(0.5, max(0.02, 3.0 * noise / max(abs(amp), 1e-300))) if robust else 0.02
    top_l = _half_max_edge(ys, i, -1, (1.0 - top) * ys[i])
    top_r = _half_max_edge(ys, i, 1, (1.0 - top) * ys[i])
    half_l = _half_max_edge(ys, top_l, -1, 0.5 * ys[i])
    half_r = _half_max_edge(ys, top_r, 1, 0.5 * ys[i])
    center = 0.5 * (x[top_l] + x[top_r])
    half_width = 0.5 * (x[top_r] - x[top_l])
    sigma_left = max((x[top_l] - x[half_l] + dx / 2) / HALF_MAX, min_width)
    sigma_right = max((x[half_r] - x[top_r] + dx / 2) / HALF_MAX, min_width)
    return amp, float(center), float(half_width), float(sigma_left), float(sigma_right)


@renamed_keywords(baseline_size="n_baseline")
def greedy_guess(x, y, n_components, n_baseline=1):
    """Start vector for ``n_components`` GMFs + ``n_baseline`` baseline coefficients by
    peeling off the largest bumps.

    The baseline starts at the median of y (constant term only); each component is
    fitted to the largest remaining bump by :func:`peak_params` and subtracted.
    Components are returned in order of their centers.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    lay = Layout(n_components, steps=0, baseline=baseline_spec(n_baseline))
    base = float(np.median(y)) if n_baseline else 0.0
    rest = y - base
    rows = []
    for _ in range(n_components):
        row = peak_params(x, rest)
        rows.append(row)
        rest = rest - gmf(x, *row)
    rows.sort(key=lambda row: row[1])  # by center
    vec = np.zeros(lay.size)
    for i, row in enumerate(rows):
        vec[lay.wave(i)] = row
    if n_baseline:
        vec[lay.baseline_slice.start] = base
    return vec
