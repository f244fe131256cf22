"""A regular rhythm's template fitted with its neighbours' waves tied to its own.

Where the beats' waves overlap their neighbours' (:mod:`gmesa.ecg.overlap`), the median
beat on windows that reach into the neighbouring beats holds, besides the beat's own
waves, the previous beat's T (T2, U) and the next beat's P.  In a regular rhythm those
are the beat's own waves one RR (``period``) earlier and later, so the median beat is
modelled as

    y(t) = m(t; p) + sum over w in NEIGHBOUR_WAVES of g(t + period; p_w) + g(t - period; p_w)

with ``m`` the beat model (waves, ST step, baseline) and ``g`` one GMF: the previous T is
the own T moved, so a P cannot take it in (nor the T the next P), and no rounds of
fitting on a signal less a guess of the neighbours are needed.  Times in s from R,
amplitudes in mV.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from ..core import mesa_sum_and_jacobian
from .beatmodel import best_start
from .choice import constrain
from .priors import shape_prior
from .template import template_bounds
from .waves import qrs_onset

#: the waves of a beat that reach into its neighbours' windows
NEIGHBOUR_WAVES = ("P", "T", "T2", "U")

#: the P of the extra starts is at least this share of R (mV/mV)
START_P = 0.05


def periodic_model(opts, t, params, period):
    """(value (n,), Jacobian (n, P)) of the beat model ``params`` (layout of ``opts``)
    plus its :data:`NEIGHBOUR_WAVES` one ``period`` (s) before and after, at ``t`` (s
    from R)."""
    lay = opts.layout
    f, jac = mesa_sum_and_jacobian(t, params, baseline=opts.baseline, steps=lay.n_steps)
    jac = np.array(jac)
    for wave in NEIGHBOUR_WAVES:
        if wave not in lay.waves:
            continue
        part = lay.wave(wave)
        for shift in (period, -period):
            g, jg = mesa_sum_and_jacobian(t + shift, params[part], baseline="none")
            f = f + g
            jac[:, part] += jg
    return f, jac


def fit_periodic(opts, t, y, start, lower, upper, period, prior=None, tol=1e-10,
                 max_nfev=400):
    """(params, cost = 0.5 SSE mV^2, the prior's share included) of the median beat ``y``
    (mV at ``t`` s from R) fitted by :func:`periodic_model` from ``start`` within
    [``lower``, ``upper``] (parameters with equal bounds held); ``prior``: None or
    ``(mean, sd)`` (P,) of a MAP fit (``sd`` in the residuals' units, inf: none)."""
    free = upper > lower
    p = np.clip(np.asarray(start, dtype=float), lower, upper)
    if prior is None:
        mean, inv = np.zeros(p.size), np.zeros(p.size)
    else:
        mean = np.asarray(prior[0], dtype=float)
        inv = np.where(np.isfinite(prior[1]), 1.0 / np.asarray(prior[1], dtype=float), 0.0)
    pinned = free & (inv > 0)  # the free parameters with a prior

    def full(q):
        out = p.copy()
        out[free] = q
        return out

    last = {}

    def model(q):  # SciPy asks for the residual and then the Jacobian at one point
        if last.get("q") is None or not np.array_equal(last["q"], q):
            last.update(q=np.array(q), fj=periodic_model(opts, t, full(q), period))
        return last["fj"]

    prior_rows = np.zeros((int(pinned.sum()), int(free.sum())))
    prior_rows[np.arange(prior_rows.shape[0]), np.flatnonzero(pinned[free])] = inv[pinned]

    def resid(q):
        v = full(q)
        return np.concatenate([model(q)[0] - y, (v[pinned] - mean[pinned]) * inv[pinned]])

    def jac(q):
        return np.vstack([model(q)[1][:, free], prior_rows])

    if not free.any():
        return p, 0.5 * float(np.sum(resid(p[free]) ** 2))
    res = least_squares(resid, p[free], jac=jac, bounds=(lower[free], upper[free]),
                        method="trf", x_scale="jac", ftol=tol, xtol=tol, gtol=tol,
                        max_nfev=max_nfev)
    return full(res.x), float(res.cost)


def tied_template(opts, fit0, t, y, rr, hyp=None, noise=0.05, also=None):
    """Parameters (layout of ``opts``) of the median beat ``y`` (mV at ``t`` s from R,
    on windows reaching the neighbouring beats; median RR ``rr`` s) fitted by
    :func:`fit_periodic` with the population prior on the plateau and tails of P and
    T (:func:`~gmesa.ecg.priors.shape_prior`; spreads over ``noise``, mV).  Bounds: the
    template's (:func:`~gmesa.ecg.template.template_bounds`) under the hypothesis ``hyp``
    (None: none), the lobe's and the R''s as the template fit ``fit0`` (of the windows
    that cut the waves) had them, and what ``fit0`` held (an absent P) held.  Starts:
    ``fit0``'s parameters, and the same with an upright and with an inverted P of the
    prior's place and shape (at least :data:`START_P` of R), and ``also`` (a vector of
    ``opts``' layout: an earlier chunk's fit of the stretch; None: none); the lowest
    cost whose P is a P wave by its place wins
    (:func:`~gmesa.ecg.beatmodel.best_start`).  None when no start can be fitted (a
    median beat that is not finite)."""
    if not np.all(np.isfinite(y)):
        return None
    lay = opts.layout
    on = float(qrs_onset(t, y)[0])
    _, lo, hi = template_bounds(opts, t, y, rr, on)
    if hyp is not None:
        lo, hi = constrain(opts, hyp, lo, hi)
    if fit0.lower is not None:  # a joint template's view of one lead has no bounds
        for wave in ("T2", "R2"):
            if wave in lay.waves:
                part = lay.wave(wave)
                lo[part], hi[part] = fit0.lower[part], fit0.upper[part]
        fixed = fit0.lower == fit0.upper
        lo[fixed] = hi[fixed] = fit0.lower[fixed]
    hi = np.maximum(hi, lo)
    mean, sd = shape_prior(lay, rr, max(float(noise), 1e-4), ("P", "T"))
    starts = [np.asarray(fit0.params, dtype=float)]
    if "P" in lay.waves and hi[lay.index("P", "amplitude")] > lo[lay.index("P", "amplitude")]:
        part = lay.wave("P")
        size = max(abs(fit0.params[part][0]),
                   START_P * abs(fit0.params[lay.index("R", "amplitude")]))
        for sign in (1.0, -1.0):
            s = starts[0].copy()
            s[part] = mean[part]
            s[part.start] = sign * size
            starts.append(np.clip(s, lo, hi))
    if also is not None:
        starts.append(np.clip(np.asarray(also, dtype=float), lo, hi))
    fits = []
    for s in starts:
        try:
            fits.append(fit_periodic(opts, t, y, s, lo, hi, rr, (mean, sd)))
        except (ValueError, np.linalg.LinAlgError):  # a median beat the model cannot take
            fits.append((s, np.inf))
    costs = np.array([f[1] for f in fits])
    if not np.isfinite(costs).any():
        return None
    best = best_start(np.array([f[0] for f in fits]), costs, opts.waves, on, t[0])
    return fits[best][0]
