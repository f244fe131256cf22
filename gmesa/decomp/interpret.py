"""When is a pulse's decomposition *interpretable*?  (issue 19; docs/decompose.md)

A pulse's fitted components ``c1..cK`` -- fitted from a template's components in the
template's order -- are **interpretable** when all of these hold:

1. every component's amplitude is at least 5% of the pulse's range (max - min of its
   samples): none has vanished;
2. every centre lies inside the pulse (0 <= center <= duration, time from its onset);
3. the centres keep the template's order (c1 < c2 < ... < cK), so no component took
   another's place, and neighbouring centres are at least 20 ms apart;
4. no plateau (2 * half_width) is longer than a quarter of the pulse's duration.

:func:`interpretability` applies the rules to many pulses at once and says which rule
each failing pulse breaks.
"""
from __future__ import annotations

import numpy as np

#: smallest amplitude, as a fraction of the pulse's range
MIN_AMPLITUDE = 0.05
#: smallest distance between neighbouring centres, s
MIN_SEPARATION_S = 0.020
#: longest plateau (2 * half_width), as a fraction of the pulse's duration
MAX_PLATEAU = 0.25


def _reasons(row_flags, names):
    """One reason string from a pulse's failing rules."""
    out = []
    vanished, outside, swapped, close, plateau = row_flags
    for k in np.flatnonzero(vanished):
        out.append(f"{names[k]} vanished (amplitude below {MIN_AMPLITUDE:.0%} of the pulse range)")
    for k in np.flatnonzero(outside):
        out.append(f"{names[k]} centre outside the pulse")
    for k in np.flatnonzero(swapped):
        out.append(f"{names[k]} and {names[k + 1]} out of the template's order")
    for k in np.flatnonzero(close):
        out.append(f"{names[k]} and {names[k + 1]} centres closer than "
                   f"{MIN_SEPARATION_S * 1000:.0f} ms")
    for k in np.flatnonzero(plateau):
        out.append(f"{names[k]} plateau longer than {MAX_PLATEAU:.0%} of the pulse")
    return "; ".join(out)


def interpretability(params, duration, pulse_range, n_components, names=None):
    """Apply the rules of this module to N pulses.

    Parameters
    ----------
    params : (N, P) or (P,) fitted vectors (K components first, in the template's order,
        then anything else, e.g. baseline coefficients).
    duration : (N,) or scalar, each pulse's duration, s (centres are s from its onset).
    pulse_range : (N,) or scalar, max - min of each pulse's samples.
    n_components : K.
    names : component names for the reasons (default ``c1..cK``).

    Returns ``(ok, reasons)``: a boolean array (N,) and a list of N strings ("" when ok,
    else the broken rules separated by "; ").  Rows with non-finite parameters are not
    interpretable ("not fitted").
    """
    p = np.atleast_2d(np.asarray(params, dtype=np.float64))
    k = int(n_components)
    if k < 1 or p.shape[1] < 5 * k:
        raise ValueError(f"params have {p.shape[1]} values per row, fewer than 5 per "
                         f"component for {k} components")
    names = tuple(names) if names is not None else tuple(f"c{i + 1}" for i in range(k))
    n = p.shape[0]
    dur = np.broadcast_to(np.asarray(duration, dtype=float), (n,))
    rng = np.broadcast_to(np.asarray(pulse_range, dtype=float), (n,))
    g = p[:, :5 * k].reshape(n, k, 5)
    amp, cen, half = g[..., 0], g[..., 1], g[..., 2]
    fitted = np.all(np.isfinite(g.reshape(n, -1)), axis=1)
    gap = np.diff(cen, axis=1)
    with np.errstate(invalid="ignore"):
        flags = (np.abs(amp) < MIN_AMPLITUDE * rng[:, None],
                 (cen < 0) | (cen > dur[:, None]),
                 gap <= 0,
                 (gap > 0) & (gap < MIN_SEPARATION_S),
                 2 * half > MAX_PLATEAU * dur[:, None])
    bad = np.zeros(n, dtype=bool)
    for f in flags:
        bad |= f.any(axis=1)
    ok = fitted & ~bad
    reasons = [""] * n
    for i in np.flatnonzero(~ok):
        reasons[i] = _reasons([f[i] for f in flags], names) if fitted[i] else "not fitted"
    return ok, reasons
