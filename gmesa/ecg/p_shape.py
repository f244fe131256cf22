"""The P wave's shape by MAP once the P is found: a small P's tails, which the samples
hardly fix, held to the population's.

A P wave is found (or not) by the beat's fit without priors
(:func:`~gmesa.ecg.presence.wave_presence`): a prior would itself put a P-like bump at
the usual place in every beat, and the presence tests, which ask that the P waves keep
one place, would then pass atrial fibrillation (LUDB 38 and 96).  Where it is found and
seen whole (its onset read: not cut by the window, not on the previous T), its plateau
and tails are fitted again by MAP with the population P prior (:mod:`gmesa.ecg.priors`;
its place and height free, the baseline line free, the other waves held), and its
onset, peak and offset read from that fit.  The prior's spreads are divided by the
stretch's noise, so a P that stands out of the noise keeps its own shape; a small one
(0.03-0.1 mV in leads V1-V6) takes the usual shape instead of tails that run into the
baseline.  LUDB odd, P on |mean| + SD: lead v2 37.8 -> 31.7 ms, v5 28.7 -> 24.9, ii 13.3
-> 12.5, with the fiducial map's P rows learned again on such fits (docs/results.md,
session 27).  The P's center has no prior: a long PR (first-degree AV block) keeps its
place.

Times in seconds from each beat's R peak, amplitudes in mV.
"""
from __future__ import annotations

import numpy as np

from ..solvers import fit_many
from ..solvers._lm import NONFINITE_MODEL
from .beatmodel import PRIOR_NOISE, baseline_level, residuals, rows_model
from .fiducials import wave_fiducials
from .init import clip_into
from .priors import SHAPE, shape_prior
from .spread import with_spread

#: the P parameters held to the population prior (the amplitude has none)
P_SHAPE_LABELS = tuple(f"P_{k}" for k in SHAPE)

#: the P boundaries read again from the MAP fit
P_FIDUCIALS = ("P_on", "P_peak", "P_off")


def map_p_shape(fit, idx, rr_prev, noise, resid=None):
    """The P wave of beats ``idx`` of ``fit`` (a
    :class:`~gmesa.ecg.beatmodel.SegmentFit`, updated in place) fitted again by MAP with
    the population prior on :data:`P_SHAPE_LABELS` (spreads divided by ``noise``, mV),
    from its fit: the P and the baseline polynomial free (a small P's tails trade
    against the baseline: LUDB even lead v2, P on 43.4 -> 39.0 ms with the baseline
    free than held, before the map's P rows were learned again), the other waves held:
    the P and the baseline are fitted to the samples less the other waves and the ST
    step (the same fit, seven parameters instead of the beat's thirty), by the compiled
    solver whatever ``opts.engine`` (the engines reach the same MAP, docs/priors.md).
    ``rr_prev``: the RR before each beat of ``fit`` (s).  ``resid``: the beats'
    (residual, signal less the baseline) (N, n) mV of
    :func:`~gmesa.ecg.beatmodel.residuals` (None: computed here), which the P and the
    baseline are put back into (no model of the other waves to evaluate) and which are
    brought up to date for the beats changed.  Beats whose new
    fit fails keep their own.  Returns the beats changed."""
    opts, rows = fit.opts, fit.rows
    lay = opts.layout
    idx = np.asarray(idx, dtype=np.int64)
    if not idx.size:
        return idx
    if resid is None:
        resid = residuals(fit, np.isin(np.arange(len(fit.params)), idx))
    p, base = lay.wave("P"), lay.baseline_slice
    n_p = p.stop - p.start
    free = np.r_[np.arange(p.start, p.stop), np.arange(base.start, base.stop)]
    X, lengths = np.ascontiguousarray(rows.X[idx]), rows.lengths[idx]
    own = fit.params[idx][:, free]
    # the samples less the other waves and the ST step: the residual, P and baseline back
    target = resid[0][idx] + rows_model(X, own, lengths, 1, 0, lay.n_baseline)
    lower, upper = fit.lower[idx][:, free], fit.upper[idx][:, free]
    mean, sd = shape_prior(lay, rr_prev[idx], max(float(noise), 1e-4), ("P",))
    res = fit_many(X, target, clip_into(own, lower, upper), lower, upper,
                   baseline=opts.baseline, lengths=lengths, max_iter=opts.max_iter,
                   ftol=opts.tol, xtol=opts.tol, gtol=opts.tol, threads=opts.threads,
                   check=False, prior=(mean[:, free], sd[:, free]), stderr=False)
    ok = np.all(np.isfinite(res.params), axis=1) & (res.status != NONFINITE_MODEL)
    changed, new, X = idx[ok], res.params[ok], X[ok]
    fit.params[changed[:, None], free[None, :]] = new
    # the residual and the signal less the baseline, of the new fit
    valid = rows.valid[changed]
    fitted = rows_model(X, new, lengths[ok], 1, 0, lay.n_baseline)
    resid[0][changed] = np.where(valid, target[ok] - fitted, 0.0)
    level = baseline_level(own[ok][:, n_p:], X) - baseline_level(new[:, n_p:], X)
    resid[1][changed] = np.where(valid, resid[1][changed] + level, 0.0)
    return changed


def p_shape_wanted(opts):
    """Is a found P's shape fitted again by MAP (``opts.p_shape_prior``, a P in the
    model, and no P prior in the beats' fit already)?"""
    return bool(opts.p_shape_prior and "P" in opts.waves and not (
        opts.priors is True or "P" in (opts.priors or ())))


def p_shape_by_map(opts, fit, fid, fid_sd, rmse, rr, rr_prev, noise, template=None,
                   resid=None):
    """With ``opts.p_shape_prior`` (and no P prior in the beats' fit already): the P of
    the beats of ``fit`` whose P onset was read (a P wave, seen whole in its window:
    ``fid["P_on"]`` finite, s from R) fitted again by :func:`map_p_shape` (``rr_prev``:
    the RR before each beat, s; ``noise``: the stretch's, mV, None:
    :data:`~gmesa.ecg.beatmodel.PRIOR_NOISE`), and its onset, peak and offset, with
    their SDs (``fid_sd``, s, plus the ``template``'s split-half spread), read again
    from it into ``fid`` (noise ``rmse`` mV and RR ``rr`` s per beat, as
    :func:`~gmesa.ecg.fiducials.wave_fiducials` reads them).  A P cut by its window
    or on the previous T keeps the fit that found it: the prior would pull it into the
    window.  ``resid``: the beats' residuals, passed on to :func:`map_p_shape` and
    brought up to date there.  Returns the beats changed."""
    none = np.zeros(0, dtype=np.int64)
    if not p_shape_wanted(opts):
        return none
    scale = PRIOR_NOISE if noise is None or not np.isfinite(noise) else noise
    changed = map_p_shape(fit, np.flatnonzero(np.isfinite(fid["P_on"])), rr_prev, scale,
                          resid)
    if not changed.size:
        return changed
    # the P alone read as wave_fiducials reads it in the beat (its offset by the QRS onset)
    new, new_sd = wave_fiducials(fit.params[changed][:, opts.layout.wave("P")], ("P",),
                                 method=opts.fiducials, noise=rmse[changed], rr=rr[changed],
                                 with_sd=True)
    new["P_off"] = np.fmin(new["P_off"], fid["QRS_on"][changed])
    spread = None if template is None else template.spread
    new_sd = with_spread({k: v for k, v in new_sd.items() if k in fid_sd}, spread)
    for key in P_FIDUCIALS:
        fid[key][changed] = new[key]
        if key in new_sd:
            fid_sd[key][changed] = new_sd[key]
    return changed
