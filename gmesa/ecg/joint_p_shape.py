"""The joint model's shared P wave's shape by MAP, as :mod:`gmesa.ecg.p_shape` gives one
lead's: a small P's tails, which the samples hardly fix, held to the population's.

Unlike one lead's, the beats chosen are those whose shared P can be a P wave by its
place (:func:`~gmesa.ecg.presence.p_is_wave`), before presence is decided: deciding
it first and reading every lead's table twice cost the 24-hour two-lead Holter 15%
(session 31), and the presence tests, run on the refitted P, keep LUDB's P PPV
(docs/joint.md).  Times in s from R, amplitudes in each lead's mV.
"""
from __future__ import annotations

import numpy as np

from ..solvers import fit_shared, join_shared, split_shared
from .beatmodel import rows_model
from .init import clip_into
from .joint_template import ridge, split_index
from .priors import shape_prior


def map_shared_p_shape(opts, jt, X, Y, usable, lengths, theta, coef, lo, hi, rr_prev):
    """The shared P of beats that can be a P wave, fitted again by MAP with the
    population P shape prior (:func:`~gmesa.ecg.priors.shape_prior`, spreads in s: the
    leads' residuals are in noise units), as :mod:`gmesa.ecg.p_shape` does for one lead:
    its place free, and each lead's P amplitude and baseline, fitted to each lead's
    samples less its other waves and ST step (held).  Returns (ok, theta, coef, data
    cost) of the beats whose fit succeeded (``ok``) with their P and baselines
    replaced, or None."""
    lay = opts.layout
    k, m, nb = lay.n_waves, lay.n_steps, lay.n_baseline
    t_p = slice(split_index(lay, "P", "center"), split_index(lay, "P", "sigma_right") + 1)
    c_p = np.r_[lay.waves.index("P"), np.arange(k + m, coef.shape[2])]  # P height, baseline
    target = np.empty((X.shape[0], Y.shape[0], X.shape[1]))
    for li in range(Y.shape[0]):  # each lead less its other waves and ST step
        others = coef[:, li].copy()
        others[:, c_p] = 0.0
        target[:, li] = Y[li] - rows_model(X, join_shared(theta, others, k, m), lengths,
                                           k, m, nb)
    mean, sd = (split_shared(v, k, m)[0][:, t_p]
                for v in shape_prior(lay, rr_prev, 1.0, ("P",)))
    res = fit_shared(X, target, clip_into(theta[:, t_p], lo[:, t_p], hi[:, t_p]),
                     lo[:, t_p], hi[:, t_p], baseline=opts.baseline,
                     channel_weights=jt.weights, weights=usable.astype(float),
                     max_iter=opts.max_iter, ftol=opts.tol, xtol=opts.tol, gtol=opts.tol,
                     threads=opts.threads, ridge=ridge(X[0]), prior=(mean, sd))
    ok = (res.status > 0) & np.all(np.isfinite(res.theta), axis=1)
    if not ok.any():
        return None
    theta, coef = theta[ok], coef[ok]  # copies (boolean indexing)
    theta[:, t_p] = res.theta[ok]
    coef[:, :, c_p] = res.coef[ok]
    return ok, theta, coef, res.data_cost[ok]
