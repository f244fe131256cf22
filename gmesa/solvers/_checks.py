"""Validation shared by the fitting engines (public boundary only)."""
from __future__ import annotations

import numpy as np

from ..core import Layout

#: default lower bound of a tail width or step scale when the caller gives none
MIN_WIDTH = 1e-9


def width_columns(lay):
    """Positions of every width that must stay > 0: tail widths and step scales."""
    return ([lay.index(w, p) for w in lay.waves for p in ("sigma_left", "sigma_right")]
            + [lay.index(s, "scale") for s in lay.steps])


def default_bounds(n_params, baseline="constant", steps=0):
    """Bounds that only keep a model valid: widths > 0, half-widths >= 0."""
    lay = Layout.of_size(n_params, baseline, steps)
    lo = np.full(n_params, -np.inf)
    hi = np.full(n_params, np.inf)
    lo[[lay.index(w, "half_width") for w in lay.waves]] = 0.0
    lo[width_columns(lay)] = MIN_WIDTH
    return lo, hi


def check_bounds(p0, lower, upper, baseline="constant", steps=0, curve=None):
    """Check p0 (N, P) against lower/upper (N or 1, P); raise ValueError naming the curve."""
    lay = Layout.of_size(p0.shape[-1], baseline, steps)
    labels = lay.labels
    where = (lambda c: "" if curve is None and c == 0 and p0.shape[0] == 1 else f"curve {c}: ")
    lo_b = np.broadcast_to(lower, p0.shape)
    hi_b = np.broadcast_to(upper, p0.shape)
    checks = (
        (~np.isfinite(p0), lambda c, j: f"p0[{j}] ({labels[j]}) = {float(p0[c, j])!r} is not finite"),
        (np.isnan(lo_b) | np.isnan(hi_b),
         lambda c, j: f"bound of {labels[j]} is NaN; use -inf/inf for no bound"),
        (lo_b > hi_b, lambda c, j: f"lower > upper for {labels[j]}: "
                                   f"{float(lo_b[c, j])!r} > {float(hi_b[c, j])!r}"),
        ((p0 < lo_b) | (p0 > hi_b),
         lambda c, j: f"p0[{j}] ({labels[j]}) = {float(p0[c, j])!r} is outside its bounds "
                      f"[{float(lo_b[c, j])!r}, {float(hi_b[c, j])!r}]"),
    )
    for bad, message in checks:
        if bad.any():
            c, j = np.argwhere(bad)[0]
            raise ValueError(where(c if curve is None else curve) + message(c, j))
    for j in width_columns(lay):
        if np.any(lo_b[:, j] < np.finfo(np.float64).tiny):
            c = int(np.argmax(lo_b[:, j] < np.finfo(np.float64).tiny))
            raise ValueError(where(c if curve is None else curve)
                             + f"lower bound of {labels[j]} is {float(lo_b[c, j])!r}; widths must "
                             f"stay > 0, so give a positive lower bound (e.g. {MIN_WIDTH})")
    for j in (lay.index(w, "half_width") for w in lay.waves):
        if np.any(lo_b[:, j] < 0):
            c = int(np.argmax(lo_b[:, j] < 0))
            raise ValueError(where(c if curve is None else curve)
                             + f"lower bound of {labels[j]} is {float(lo_b[c, j])!r}; a half-width "
                             "must stay >= 0")
    return lay.n_waves
