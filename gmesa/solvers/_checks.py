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


def check_prior(prior, labels, n_curves=None):
    """Validate ``prior = (mean, sd)``; return ``(mean, 1/sd)`` as float64 arrays of shape
    (1, P) (or (N, P) per curve when ``n_curves`` is given and the arrays have N rows), or
    None when there is no prior (``prior`` None, or every sd infinite).

    ``sd = inf`` means no prior on that parameter.  Raises ValueError naming the parameter
    (and the curve) for a wrong shape, sd <= 0 or NaN, or a non-finite mean.
    """
    if prior is None:
        return None
    try:
        mean, sd = prior
    except (TypeError, ValueError):
        raise ValueError("prior must be a pair (mean, sd) of arrays with one value per "
                         f"parameter ({len(labels)}); sd = inf for no prior") from None
    size = len(labels)
    rows = (1,) if n_curves is None else (1, n_curves)
    out = []
    for name, a in (("mean", mean), ("sd", sd)):
        given = np.shape(a)
        a = np.asarray(a, dtype=np.float64)
        a = a[None, :] if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[1] != size or a.shape[0] not in rows:
            shapes = f"({size},)" + ("" if n_curves is None else f" or ({n_curves}, {size})")
            raise ValueError(f"prior {name} has shape {given}; expected {shapes}: one value "
                             f"per parameter ({', '.join(labels[:3])}, ...)")
        out.append(a)
    mean, sd = out
    where = (lambda c: "" if mean.shape[0] == sd.shape[0] == 1 else f"curve {c}: ")
    for bad, what, arr in ((~(sd > 0), "sd", sd), (~np.isfinite(mean), "mean", mean)):
        if bad.any():
            c, j = np.argwhere(bad)[0]
            need = ("must be > 0 (inf for no prior)" if what == "sd"
                    else "must be finite (give sd = inf for no prior)")
            raise ValueError(f"{where(c)}prior {what} of {labels[j]} is {float(arr[c, j])!r}; "
                             f"it {need}")
    inv_sd = 1.0 / sd
    if not inv_sd.any():
        return None
    n = max(mean.shape[0], sd.shape[0])
    return (np.ascontiguousarray(np.broadcast_to(mean, (n, size))),
            np.ascontiguousarray(np.broadcast_to(inv_sd, (n, size))))


def prior_cost(params, free, prior):
    """``0.5 * sum(((p - mean)/sd)**2)`` over the free parameters, per row of ``params``
    (N, P); ``free`` (1 or N, P) boolean; ``prior`` as returned by :func:`check_prior`."""
    if prior is None:
        return np.zeros(params.shape[0])
    mean, inv_sd = prior
    d = np.where(free, (params - mean) * inv_sd, 0.0)
    return 0.5 * np.sum(d * d, axis=1)


def curve_rows(a, n_curves, width, name, dtype=np.float64):
    """``a`` as a C-contiguous (1 or ``n_curves``, ``width``) array: one row for every curve
    or one per curve; ValueError naming ``name`` and the shapes expected otherwise."""
    given = np.shape(a)
    a = np.asarray(a, dtype=dtype)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] not in (1, n_curves):
        raise ValueError(f"{name} has shape {given}; expected ({width},) or "
                         f"({n_curves}, {width})")
    return np.ascontiguousarray(a)
