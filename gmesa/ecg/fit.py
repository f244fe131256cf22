"""Fit P, Q, R, S, T mesa components to every beat of a record.

Pipeline: lead -> zero-phase cleaning -> R peaks -> RR-adaptive beat windows ->
median template and its fit -> every beat warm-started from the template fit (beats
unlike the template start from their own guess) -> compiled batch solver -> a
second start for beats whose P may sit on the wrong feature -> fiducials, intervals,
fit quality and a status per beat.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import __version__
from .._kernels import mesa_sum_rows_into
from .._deprecated import module_getattr, renamed_keywords
from ..solvers import SOLVER_STATUS, fit_least_squares, fit_many
from .clean import clean as clean_signal
from .fiducials import intervals, merge_t_lobes, wave_fiducials
from .init import clip_into, guess_beat
from .io import Record, ecg_lead_index
from .presence import PR_SEGMENT_MIN, TemplateFit, p_edges, p_is_wave, wave_presence
from .options import BEAT_STATUS, FitOptions
from .result import FIDUCIAL_COLUMNS, INTERVAL_COLUMNS, RecordFit
from .rpeaks import detect_rpeaks, rpeaks_from_annotations
from .waves import T_LATEST, WAVES, bounds, observed_extrema, qrs_onset

__getattr__ = module_getattr(__name__, {"STATUS": "BEAT_STATUS"}, globals())

#: a beat started from the template whose P is no P wave is fitted again with its P
#: center at most this far (s) from the template's
P_NEAR_TEMPLATE = 0.080

#: the template's P started on an upward bump over a sloping baseline, when it runs into
#: the QRS, is fitted again with its center this close (s) to its start and plateau
#: and tails at most this wide (see _p_on_a_slope)
P_HOLD = 0.030

#: ST level shift component (a tanh step) bounds: center, scale (s, relative to R)
ST_REGION = (0.03, 0.25, 0.004, 0.08)


# ---------------------------------------------------------------------------------
def _windows(r, n, fs):
    """RR-adaptive windows [start, end) in samples, so neither a long PR interval nor
    the T wave is cut at a fixed offset: before R the larger of 0.4 RR and RR - 0.5
    sqrt(RR) (where the previous T wave has ended; 0.2-0.6 s), after R 0.62 RR
    (0.3-0.75 s)."""
    rr = np.diff(r) / fs
    med = float(np.median(rr)) if rr.size else 1.0
    rr_prev = np.concatenate([[med], rr]) if rr.size else np.array([med])
    rr_next = np.concatenate([rr, [med]]) if rr.size else np.array([med])
    pre = np.clip(np.maximum(0.40 * rr_prev, rr_prev - 0.5 * np.sqrt(rr_prev)), 0.20, 0.60)
    post = np.clip(0.62 * rr_next, 0.30, 0.75)
    start = r - np.round(pre * fs).astype(np.int64)
    end = r + np.round(post * fs).astype(np.int64) + 1
    rr_out = np.concatenate([[np.nan], rr]) if rr.size else np.array([np.nan])
    return start, end, rr_out, med


def _template(sig, r, start, end, usable, fs):
    """Median beat on the median window, from up to 400 usable beats: (t, y, noise2),
    ``t`` s from R, ``y`` mV and ``noise2`` the variance (mV^2) of the noise left in the
    median, from the spread of the beats around it (1.4826 MAD per sample, its median
    over the window, squared, times pi/2 over the number of beats)."""
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return None
    if idx.size > 400:
        idx = idx[np.linspace(0, idx.size - 1, 400).astype(int)]
    pre = int(np.median(r[idx] - start[idx]))
    post = int(np.median(end[idx] - r[idx]))
    keep = idx[(r[idx] - pre >= 0) & (r[idx] + post <= sig.size)]
    if keep.size == 0:
        return None
    offs = np.arange(-pre, post)
    segs = sig[r[keep, None] + offs[None, :]]
    tmpl = np.nanmedian(segs, axis=0)
    dev = segs - tmpl - np.nanmedian(segs - tmpl, axis=1, keepdims=True)  # beat level apart
    spread = 1.4826 * np.nanmedian(np.abs(dev), axis=0)
    noise2 = float(np.nanmedian(spread) ** 2 * (math.pi / 2) / keep.size)
    return offs / fs, tmpl, noise2


def _corr_rows(segs, tmpl):
    a = segs - np.nanmean(segs, axis=1, keepdims=True)
    b = tmpl - np.mean(tmpl)
    num = np.nansum(a * b, axis=1)
    den = np.sqrt(np.nansum(a * a, axis=1) * np.sum(b * b)) + 1e-30
    return num / den


def _beat_bounds(opts, extrema, t0, t1, rr, qrs_on=None):
    """Bounds for beats (scalars -> (P,), arrays of N beats -> (N, P))."""
    r_amp, q, s = extrema
    lo, hi = bounds(opts.waves, r_amp, t0, t1, n_baseline=0, q_depth=q, s_depth=s,
                    qrs_on=qrs_on, t_latest=_t_latest(rr))
    lo, hi = np.atleast_2d(lo), np.atleast_2d(hi)
    if "T" in opts.waves:  # T stays before the next beat's P
        j = 5 * opts.waves.index("T") + 1
        hi[:, j] = np.minimum(hi[:, j], np.maximum(0.6 * np.asarray(rr), lo[:, j] + 0.05))
    cols_lo, cols_hi = [lo], [hi]
    if opts.st_step:
        cmin, cmax, smin, smax = ST_REGION
        amp = np.atleast_1d(np.abs(r_amp) * 0.5 + 0.1)[:, None]
        one = np.ones_like(amp)
        cols_lo.append(np.hstack([-amp, cmin * one, smin * one]))
        cols_hi.append(np.hstack([amp, cmax * one, smax * one]))
    inf = np.full((lo.shape[0], opts.n_baseline), np.inf)
    lo, hi = np.hstack(cols_lo + [-inf]), np.hstack(cols_hi + [inf])
    return (lo[0], hi[0]) if np.ndim(r_amp) == 0 else (lo, hi)


def _t_latest(rr):
    """The latest T peak (s after R) at RR interval(s) ``rr`` (s)."""
    return T_LATEST * np.sqrt(np.asarray(rr, dtype=float))


def _best_start(params, cost, waves, qrs_on, t_start):
    """Index of the start whose fit has the lowest cost, preferring fits whose P is a
    P wave by :func:`~gmesa.ecg.presence.p_is_wave` (window from ``t_start``, QRS onset
    ``qrs_on``, s).  ``params`` (S, P) and ``cost`` (S,) give one index; (S, N, P) and
    (S, N), with ``qrs_on``/``t_start`` scalars or (N,), give one per beat."""
    params = np.asarray(params, dtype=float)
    single = params.ndim == 2
    if single:
        params, cost = params[:, None, :], np.asarray(cost, dtype=float)[:, None]
    n_starts, n, n_p = params.shape
    cost = np.where(np.isfinite(cost), cost, np.inf)
    if "P" in waves:
        per_row = [np.tile(np.broadcast_to(np.asarray(v, dtype=float), (n,)), n_starts)
                   for v in (qrs_on, t_start)]
        apart = p_is_wave(params.reshape(-1, n_p), waves, *per_row).reshape(n_starts, n)
        use = np.any(apart & np.isfinite(cost), axis=0)
        cost = np.where(use & ~apart, np.inf, cost)
    best = np.argmin(cost, axis=0)
    return int(best[0]) if single else best


def _refit_better(idx, start, lo, hi, opts, X, Y, lengths, qrs_on, params, cost, nit, code):
    """Fit beats ``idx`` again from ``start`` within [``lo``, ``hi``] and keep the new
    fit where :func:`_best_start` prefers it (``params``, ``cost``, ``nit``, ``code``
    are updated in place)."""
    if len(idx) == 0:
        return
    p, c, it, s = _solve(opts, X[idx], Y[idx], lengths[idx], clip_into(start, lo, hi), lo, hi)
    second = _best_start(np.stack([params[idx], p]), np.stack([cost[idx], c]), opts.waves,
                         qrs_on[idx], X[idx, 0]) == 1
    i = idx[second]
    params[i], cost[i], nit[i], code[i] = p[second], c[second], it[second], s[second]


def _second_starts(opts, template_vec, own, warm, P0, LO, HI, fit_args):
    """Second starts for beats whose P may sit on the wrong feature (``fit_args`` of
    :func:`_refit_better`; its arrays are updated in place).  Beats unlike the template
    (``own``: ectopic QRS, or R taken at another point of the QRS) mostly keep the
    template's atrial rhythm, and their own guess can take the PR segment's sag: their
    P also starts from the template's.  Beats started from the template (``warm``)
    whose P came out as no P wave (running into the QRS, starting before the window, a
    long plateau) are fitted again with their P held near the template's and no wider."""
    _, X, _, _, qrs_on, params, _, _, _ = fit_args
    o = 5 * opts.waves.index("P")
    alt = np.flatnonzero(own)
    from_template = P0[alt].copy()
    from_template[:, o:o + 5] = template_vec[o:o + 5]
    _refit_better(alt, from_template, LO[alt], HI[alt], *fit_args)
    warm_i = np.flatnonzero(warm)
    bad = warm_i[~p_is_wave(params[warm_i], opts.waves, qrs_on[warm_i], X[warm_i, 0])]
    near_lo, near_hi = LO[bad].copy(), HI[bad].copy()
    near_lo[:, o + 1] = np.maximum(near_lo[:, o + 1], template_vec[o + 1] - P_NEAR_TEMPLATE)
    near_hi[:, o + 1] = np.minimum(near_hi[:, o + 1], template_vec[o + 1] + P_NEAR_TEMPLATE)
    near_hi[:, o + 2] = np.minimum(near_hi[:, o + 2], max(template_vec[o + 2], 0.005))
    _refit_better(bad, P0[bad], near_lo, near_hi, *fit_args)


def _fit_template(opts, t, y, rr, qrs_on, noise2=np.nan):
    """Fit the template beat (``t`` s from R, ``y`` mV; median RR ``rr`` s, observed
    QRS onset ``qrs_on`` s, noise variance ``noise2`` mV^2) and return its
    :class:`TemplateFit`.  P may point either way: the fit starts from the largest P
    bump, the largest upward and the largest downward one (and, see
    :func:`_p_on_a_slope`, perhaps a P held near an upward bump on a sloping
    baseline); :func:`_best_start` picks among them."""
    nb = opts.n_baseline
    ext = [v[0] for v in observed_extrema(t, y - np.median(y))]
    lo, hi = _beat_bounds(opts, ext, t[0], t[-1], rr, qrs_on)

    def start(p_sign, chord=False):
        return clip_into(_with_steps(guess_beat(t, y, opts.waves, nb, qrs_on, p_sign,
                                                float(_t_latest(rr)), chord=chord), opts),
                         lo, hi)

    res = _fit_rows(opts, t, y, np.array([start(ps) for ps in (0.0, 1.0, -1.0)]), lo, hi)
    params, costs = res.params, res.cost
    if "P" in opts.waves:
        lowest = float(np.min(np.where(np.isfinite(costs), costs, np.inf)))
        held = _p_on_a_slope(opts, t, y, start(1.0, chord=True), lo, hi, qrs_on, lowest)
        if held is not None:
            params, costs = np.vstack([params, held.params]), np.append(costs, held.cost)
    best = _best_start(params, costs, opts.waves, qrs_on, t[0])
    cost = float(costs[best])
    dof = max(t.size - int(np.sum(hi > lo)), 1)
    return TemplateFit(t, params[best], 2.0 * cost / dof, math.sqrt(2.0 * cost / t.size),
                       noise2)


def _fit_rows(opts, t, y, starts, lo, hi):
    """The template ``y`` fitted from each row of ``starts`` within [``lo``, ``hi``]
    (tight tolerances: one curve, fitted once)."""
    return fit_many(t, np.tile(y, (len(starts), 1)), starts, lo, hi, steps=len(opts.steps),
                    max_iter=400, baseline=opts.n_baseline - 1, ftol=1e-10, xtol=1e-10,
                    gtol=1e-10, check=False)


def _p_on_a_slope(opts, t, y, start, lo, hi, qrs_on, lowest):
    """The template's fit from ``start``, a P started on the largest upward bump over
    the chord across the P region: a P riding on a sloping baseline (the previous
    beat's descending tail, QTDB sel45).  Fitted freely, such a P can merge with the
    PR segment's sag and run into the QRS; it is then fitted again with its center
    held within ``P_HOLD`` of its start and its plateau and tails at most ``P_HOLD``
    wide.  Returns that held fit (params (1, P), cost (1,)) when its P is a P wave and
    it fits the template no worse than the ``lowest`` cost of the other starts, else
    None.  (Downward bumps over the chord are mostly the T-P trough and the PR
    segment's sag: a held downward start took those in LUDB 37 and QTDB sel221.)"""
    free = _fit_rows(opts, t, y, start[None, :], lo, hi)
    _, p_off = p_edges(free.params, opts.waves)
    if not p_off[0] > qrs_on - PR_SEGMENT_MIN:
        return None
    o = 5 * opts.waves.index("P")
    hold_lo, hold_hi = lo.copy(), hi.copy()
    hold_lo[o + 1] = max(lo[o + 1], start[o + 1] - P_HOLD)
    hold_hi[o + 1] = min(hi[o + 1], start[o + 1] + P_HOLD)
    hold_hi[o + 2:o + 5] = np.minimum(hi[o + 2:o + 5], P_HOLD)
    hold_lo = np.minimum(hold_lo, hold_hi)
    held = _fit_rows(opts, t, y, clip_into(start, hold_lo, hold_hi)[None, :], hold_lo,
                     hold_hi)
    if held.cost[0] > lowest or not p_is_wave(held.params, opts.waves, qrs_on, t[0])[0]:
        return None
    return held


def _with_steps(vec, opts):
    """Insert the ST step's start values (no shift) before the baseline coefficient."""
    if not opts.st_step:
        return vec
    nb = opts.n_baseline
    return np.concatenate([vec[:-nb], [0.0, 0.12, 0.02], vec[-nb:]])


def _solve(opts, X, Y, L, P0, LO, HI):
    m = len(opts.steps)
    if opts.engine == "batch":
        res = fit_many(X, Y, P0, LO, HI, steps=m, lengths=L, baseline=opts.n_baseline - 1,
                       max_iter=opts.max_iter,
                       ftol=opts.tol, xtol=opts.tol, gtol=opts.tol, threads=opts.threads,
                       check=False)
        return res.params, res.cost, res.nit, res.status
    params = P0.copy()
    cost = np.full(len(Y), np.nan)
    nit = np.zeros(len(Y), dtype=np.int64)
    status = np.full(len(Y), -3, dtype=np.int64)
    if opts.engine == "lmfit":
        from ..models import MesaSumModel
        model = MesaSumModel(names=opts.waves, steps=opts.steps, baseline=opts.n_baseline - 1)
    for i in range(len(Y)):
        x, y = X[i, :L[i]], Y[i, :L[i]]
        try:
            if opts.engine == "scipy":
                r = fit_least_squares(x, y, P0[i], LO[i], HI[i], steps=m, ftol=opts.tol,
                                      baseline=opts.n_baseline - 1,
                                      xtol=opts.tol, gtol=opts.tol, max_nfev=opts.max_iter * 5)
                params[i], cost[i], nit[i] = r.params, r.cost, r.nfev
                status[i] = 1 if r.status > 0 else -1
            else:
                pars = model.params_from_vector(P0[i])
                for name, lo_, hi_ in zip(model.param_names, LO[i], HI[i]):
                    pars[name].set(min=lo_, max=hi_)
                r = model.fit(y, pars, x=x, method="least_squares", max_nfev=opts.max_iter * 5)
                params[i] = model.vector(r.params)
                cost[i], nit[i] = 0.5 * r.chisqr, r.nfev
                status[i] = 1 if r.success else -1
        except (ValueError, np.linalg.LinAlgError):
            status[i] = -3
    return params, cost, nit, status


def _with_u_wave(opts, tmpl_fit, t, y, rr, qrs_on, noise2):
    """(options, template fit), with a U wave added when ``opts.u_wave`` is "auto" and
    the template's T peaks later than the latest T (:data:`T_LATEST`): that late bump
    is a U wave, and the template is fitted again with T before it and U after."""
    if opts.u_wave != "auto" or "T" not in opts.waves or "U" in opts.waves:
        return opts, tmpl_fit
    if tmpl_fit.params[5 * opts.waves.index("T") + 1] <= _t_latest(rr):
        return opts, tmpl_fit
    opts = replace(opts, u_wave=True)  # FitOptions adds the U wave
    return opts, _fit_template(opts, t, y, rr, qrs_on, noise2)


class _Rows(NamedTuple):
    """Beat windows as rows: sample times ``X`` (s from R) and samples ``Y`` (mV; 0 past
    each row's ``lengths`` and where the signal is NaN); ``Xv``/``Yv`` the same with
    NaN past each row's length; ``valid`` marks the samples within it."""
    X: np.ndarray
    Y: np.ndarray
    Xv: np.ndarray
    Yv: np.ndarray
    valid: np.ndarray
    lengths: np.ndarray


def _beat_rows(sig, r, start, end, fs):
    """(:class:`_Rows`, status, reason) of the windows [``start``, ``end``) around R
    peaks ``r`` (samples): windows past the signal's ends, with NaN samples or flat get
    their status here; the others are "ok" (to be fitted)."""
    n, nb = sig.size, r.size
    status = np.array(["ok"] * nb, dtype=object)
    reason = np.array([""] * nb, dtype=object)
    edge = (start < 0) | (end > n)
    status[edge] = "edge"
    reason[edge] = "beat window runs past the signal's start or end"
    st, en = np.clip(start, 0, n), np.clip(end, 0, n)
    lengths = (en - st).astype(np.int64)
    width = int(lengths.max()) if nb else 1
    cols = np.arange(width)
    valid = cols[None, :] < lengths[:, None]
    Y = np.where(valid, sig[np.minimum(st[:, None] + cols[None, :], n - 1)], 0.0)
    X = (st[:, None] + cols[None, :] - r[:, None]) / fs
    nan_count = np.sum(valid & ~np.isfinite(Y), axis=1)
    bad_nan = (nan_count > 0) & ~edge
    status[bad_nan] = "nan"
    reason[bad_nan] = [f"{c} NaN samples in the beat window" for c in nan_count[bad_nan]]
    Y[~np.isfinite(Y)] = 0.0
    Xv, Yv = np.where(valid, X, np.nan), np.where(valid, Y, np.nan)
    flat = (np.nanmax(Yv, axis=1) - np.nanmin(Yv, axis=1) < 1e-3) & (status == "ok")
    status[flat] = "flat"
    reason[flat] = "signal range below 0.001 in the beat window"
    return _Rows(X, Y, Xv, Yv, valid, lengths), status, reason


def _fitted_template(opts, sig, r, start, end, fs, fit_me, regular, rr_med):
    """(options, :class:`TemplateFit`, median beat (t s from R, y mV), its observed QRS
    onset s) from the regular fitted beats (all fitted beats if none is regular); the
    options gain a U wave where the template asks for one (:func:`_with_u_wave`).
    No beat to build it from: (options, None, None, NaN)."""
    tmpl = _template(sig, r, start, end, fit_me & regular, fs)
    if tmpl is None:
        tmpl = _template(sig, r, start, end, fit_me, fs)
    if tmpl is None:
        return opts, None, None, np.nan
    tt, ty, noise2 = tmpl
    on = float(qrs_onset(tt, ty)[0])
    fit = _fit_template(opts, tt, ty, rr_med, on, noise2)
    opts, fit = _with_u_wave(opts, fit, tt, ty, rr_med, on, noise2)
    return opts, fit, (tt, ty), on


def _qrs_corr(sig, r, fs, tt, ty):
    """Correlation of each beat's QRS (+-100 ms around R) with the median beat's."""
    core = np.arange(-int(0.1 * fs), int(0.1 * fs) + 1)
    ci = np.clip(r[:, None] + core[None, :], 0, sig.size - 1)
    core_t = np.clip(core + int(round(-tt[0] * fs)), 0, ty.size - 1)
    return _corr_rows(np.where(np.isfinite(sig[ci]), sig[ci], np.nan), ty[core_t])


def _starts(opts, rows, own, warm, qrs_on, rr_prev, template_vec, median_beat):
    """(start, lower, upper) per beat: beats ``own`` start from their own guess, beats
    ``warm`` from the template's fit (``template_vec``, level moved to the beat's)."""
    nb, nb_ = rows.X.shape[0], opts.n_baseline
    n_p = len(list(opts.layout.labels))
    ext = observed_extrema(rows.Xv, rows.Yv - np.median(rows.Y, axis=1, keepdims=True))
    t_first = rows.X[:, 0]
    t_last = rows.X[np.arange(nb), np.maximum(rows.lengths - 1, 0)]
    LO, HI = _beat_bounds(opts, ext, t_first, t_last, rr_prev, qrs_on)
    if opts.st_step and template_vec is not None:
        # a step of (almost) no height has no place: when the template shows no ST
        # shift, hold the step's center and scale at the template's and fit its height
        o = 5 * len(opts.waves)
        r_amp = abs(template_vec[5 * opts.waves.index("R")])
        if abs(template_vec[o]) < max(0.01, 0.01 * r_amp):
            for j in (o + 1, o + 2):
                LO[:, j] = HI[:, j] = template_vec[j]
    P0 = np.zeros((nb, n_p))
    for i in np.flatnonzero(own):
        n_i = rows.lengths[i]
        P0[i] = _with_steps(guess_beat(rows.X[i, :n_i], rows.Y[i, :n_i], opts.waves, nb_,
                                       qrs_on[i], 0.0, float(_t_latest(rr_prev[i]))), opts)
    if warm.any():
        level = np.nanmedian(rows.Yv[warm], axis=1)
        P0[warm] = template_vec
        P0[warm, n_p - nb_:] = 0.0
        P0[warm, n_p - nb_] = level - (np.median(median_beat[1]) - template_vec[n_p - nb_])
    fit_me = own | warm
    P0[fit_me] = clip_into(P0[fit_me], LO[fit_me], HI[fit_me])
    return P0, LO, HI


def _quality(opts, rows, params, fitted, code, status, reason):
    """(good, rmse mV, prd %, r2, sse mV^2) per beat: ``good`` marks the ``fitted``
    beats with finite parameters, the measures are NaN elsewhere.  Solver failures,
    iteration limits and a PRD over ``opts.prd_limit`` set ``status``/``reason``."""
    nb_ = opts.n_baseline
    k, m, n_p = len(opts.waves), len(opts.steps), params.shape[1]
    X, Y, valid, lengths = rows.X, rows.Y, rows.valid, rows.lengths
    model = np.zeros_like(Y)
    good = fitted & np.all(np.isfinite(params), axis=1)
    if good.any():
        sub = np.zeros((good.sum(), Y.shape[1]))
        mesa_sum_rows_into(np.ascontiguousarray(X[good]), np.ascontiguousarray(params[good]),
                           lengths[good], 0, k, m, nb_, sub)
        model[good] = sub
    res = np.where(valid, Y - model, 0.0)
    nval = np.maximum(lengths, 1)
    sse = np.sum(res ** 2, axis=1)
    base = sum(params[:, n_p - nb_ + j][:, None] * X ** j for j in range(nb_))
    ydm = np.where(valid, Y - base, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt(sse / nval)
        prd = 100.0 * np.sqrt(sse / np.sum(ydm ** 2, axis=1))
        ym = np.sum(np.where(valid, Y, 0), axis=1) / nval
        sst = np.sum(np.where(valid, (Y - ym[:, None]) ** 2, 0), axis=1)
        r2 = 1.0 - sse / sst
    for code_value, name in ((-3, "failed"), (-1, "max_iter")):
        hit = fitted & (code == code_value)
        status[hit] = name
        reason[hit] = SOLVER_STATUS[code_value]
    poor = (status == "ok") & (prd > opts.prd_limit)
    status[poor] = "poor_fit"
    reason[poor] = [f"PRD {v:.1f}% above {opts.prd_limit:g}%" for v in prd[poor]]
    rmse[~good] = prd[~good] = r2[~good] = np.nan
    return good, rmse, prd, r2, sse


def _fit_segment(sig, fs, r, opts, offset):
    """Fit every beat with R peak samples ``r`` (indices into ``sig``); return a table,
    the parameter matrix, the template's parameters and the options used (a U wave may
    have been added, see :func:`_with_u_wave`).  ``offset`` (samples) is added to
    every time column."""
    start, end, rr, rr_med = _windows(r, sig.size, fs)
    nb = r.size
    rows, status, reason = _beat_rows(sig, r, start, end, fs)
    X, Y, lengths = rows.X, rows.Y, rows.lengths
    fit_me = status == "ok"

    rr_prev = np.where(np.isfinite(rr), rr, rr_med)
    regular = np.abs(rr_prev / rr_med - 1.0) < 0.2
    opts, tmpl_fit, median_beat, tmpl_qrs_on = _fitted_template(opts, sig, r, start, end, fs,
                                                                fit_me, regular, rr_med)
    template_vec = None if tmpl_fit is None else tmpl_fit.params
    qrs_on = np.full(nb, tmpl_qrs_on)  # observed QRS onset (s from R): template's, or own
    corr = np.full(nb, np.nan)
    flagged = np.ones(nb, dtype=bool)
    if tmpl_fit is not None:
        corr = _qrs_corr(sig, r, fs, *median_beat)
        flagged = (corr < opts.template_corr) | (rr_prev < opts.premature * rr_med)
    own = fit_me & flagged
    warm = fit_me & ~own
    if own.any():
        qrs_on[own] = qrs_onset(rows.Xv[own], rows.Yv[own])
    P0, LO, HI = _starts(opts, rows, own, warm, qrs_on, rr_prev, template_vec, median_beat)
    n_p = P0.shape[1]
    fi = np.flatnonzero(fit_me)
    params = np.full((nb, n_p), np.nan)
    cost = np.full(nb, np.nan)
    nit = np.zeros(nb, dtype=np.int64)
    code = np.zeros(nb, dtype=np.int64)
    if fi.size:
        p, c, it, s = _solve(opts, X[fi], Y[fi], lengths[fi], P0[fi], LO[fi], HI[fi])
        params[fi], cost[fi], nit[fi], code[fi] = p, c, it, s
    if template_vec is not None and "P" in opts.waves and fi.size:
        _second_starts(opts, template_vec, own, warm, P0, LO, HI,
                       (opts, X, Y, lengths, qrs_on, params, cost, nit, code))
    good, rmse, prd, r2, sse = _quality(opts, rows, params, fit_me, code, status, reason)
    # presence of P and T: BIC evidence of the component against the residual noise
    k = len(opts.waves)
    sigma2 = sse / np.maximum(lengths - np.sum(HI > LO, axis=1), 1)
    bw = min(1.0, 2.0 * opts.lowpass / fs) if opts.lowpass else 1.0
    fid = wave_fiducials(params[:, :5 * k], opts.waves)
    present, p_note = wave_presence(X, params, lengths, good, sigma2, rmse, rr, opts.waves,
                                    bw, opts.wave_snr, opts.p_window_s, tmpl_fit,
                                    fid["QRS_on"])
    if "P" in opts.waves:
        reason[fit_me & ~present["P"] & (reason == "")] = p_note
    if "T2" in opts.waves:
        amp_of = {w: params[:, 5 * opts.waves.index(w)] for w in ("T", "T2")}
        fid = merge_t_lobes(fid, present["T"], present["T2"], amp_of["T"], amp_of["T2"])
        present["T"] = present["T"] | present["T2"]
    for w in ("P", "T"):
        for part in ("on", "peak", "off"):
            fid[f"{w}_{part}"] = np.where(present[w], fid[f"{w}_{part}"], np.nan)
    t_r = (r + offset) / fs
    table = {"beat": np.arange(nb), "r_peak_s": t_r, "rr_s": rr}
    for j, name in enumerate(list(opts.layout.labels)):
        table[name] = params[:, j]
    for key, v in fid.items():
        table[f"{key}_s"] = v + t_r
    for key, v in intervals(fid, rr).items():
        table[key] = v
    if "U" in opts.waves:
        table["U_present"] = present["U"]
    table.update(P_present=present["P"], T_present=present["T"], rmse=rmse, prd=prd, r2=r2,
                 cost=cost, nit=nit, solver_status=code, flagged=flagged,
                 template_corr=corr, start=np.where(flagged, "own", "template"),
                 window_start_s=(start + offset) / fs, window_end_s=(end + offset) / fs,
                 status=status, reason=reason)
    return pd.DataFrame(table), params, template_vec, opts


def _lead_unit(record, lead_name):
    units = record.units
    if isinstance(units, str) or units is None:
        return units or "mV"
    names = list(record.leads or [])
    return units[names.index(lead_name)] if lead_name in names else units[0]


def _lead_signal(record, lead):
    if record.signal.ndim == 1 or record.signal.shape[1] == 1:
        if lead not in (None, 0, -1) and record.lead_index(lead) != 0:
            record.lead(lead)
        return record.lead(0), record.leads[0]
    if lead is None:
        lead = ecg_lead_index(record.leads)
    i = record.lead_index(lead)
    return record.lead(i), record.leads[i]


@renamed_keywords(clean="wander")
def fit_record(record, lead=None, *, waves=WAVES, rpeaks=None, st_step=True,
               engine="batch", wander="highpass", powerline=None, lowpass=40.0,
               max_iter=400, tol=1e-6, threads=None, chunk_s=600.0, **options):
    """Fit P, Q, R, S, T mesa components to every beat of one lead of ``record``.

    Parameters
    ----------
    record : :class:`~gmesa.ecg.io.Record` (from ``read_record`` or ``Record(signal, fs)``)
    lead : lead name or index (default: the first lead whose name looks like an ECG
        lead, else the first lead).
    waves : wave names to model, from P, Q, R, S, T, T2 (a second T lobe), U (a U wave
        after T in every record; by default, ``u_wave="auto"``, one is added to a
        record whose template T would peak later than ``T_LATEST`` sqrt(RR)).
    rpeaks : None (detect), ``"annotations"`` (the record's beat annotations) or an
        array of R-peak sample indices.
    st_step : add a tanh level shift (ST segment) component.
    engine : ``"batch"`` (compiled batch solver), ``"scipy"`` or ``"lmfit"`` (per beat).
    wander, powerline, lowpass : cleaning (see :func:`gmesa.ecg.clean.clean`); ``wander``
        was called ``clean`` (deprecated).
    max_iter, tol : solver iteration limit and tolerance.
    threads : Numba threads for the batch solver.
    chunk_s : records longer than this are processed in chunks of this many seconds,
        each beat in exactly one chunk (its R peak decides), with 10 s of overlap.

    Returns :class:`RecordFit`.
    """
    if not isinstance(record, Record):
        raise TypeError(f"record must be a gmesa.ecg.Record, got {type(record).__name__}; "
                        "use read_record(path) or Record(signal, fs)")
    opts = FitOptions(waves=waves, st_step=st_step, engine=engine, wander=wander,
                      powerline=powerline, lowpass=lowpass, max_iter=max_iter, tol=tol,
                      threads=threads, chunk_s=chunk_s, **options)
    raw, lead_name = _lead_signal(record, lead)
    fs = float(record.fs)
    if not np.any(np.isfinite(raw)):
        raise ValueError(f"{record.name}: lead {lead_name!r} holds no finite samples")
    if isinstance(rpeaks, str):
        if rpeaks != "annotations":
            raise ValueError(f"rpeaks={rpeaks!r}; use None, 'annotations' or an array")
        if record.annotations is None:
            raise ValueError(f"{record.name}: rpeaks='annotations' but the record has none")
        given = rpeaks_from_annotations(record.annotations)
    elif rpeaks is not None:
        given = np.unique(np.asarray(rpeaks, dtype=np.int64))
        if given.size and (given[0] < 0 or given[-1] >= raw.size):
            raise ValueError(f"rpeaks must be sample indices in [0, {raw.size}), got "
                             f"[{given[0]}, {given[-1]}]")
    else:
        given = None
    n = raw.size
    chunk = max(int(opts.chunk_s * fs), int(60 * fs))
    pad = int(10 * fs)
    tables, params = [], []
    clean_sig = np.empty(n, dtype=np.float32)  # kept for plots; fits use float64 chunks
    template = None
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        lo, hi = max(a - pad, 0), min(b + pad, n)
        seg = raw[lo:hi]
        cs = clean_signal(seg, fs, wander=opts.wander, powerline=opts.powerline,
                          lowpass=opts.lowpass, cutoff=opts.highpass_hz) if (opts.wander or opts.powerline
                                                    or opts.lowpass) else seg.copy()
        clean_sig[a:b] = cs[a - lo:a - lo + (b - a)]
        if given is None:
            r = detect_rpeaks(cs, fs) if np.any(np.isfinite(cs)) else np.zeros(0, np.int64)
        else:
            r = given[(given >= lo) & (given < hi)] - lo
        r = np.asarray(r, dtype=np.int64)
        if r.size == 0:
            continue
        table, p, tv, used = _fit_segment(cs, fs, r, opts, lo)
        if opts.u_wave == "auto" and tv is not None:  # the first template decides for all
            opts = replace(used, u_wave="U" in used.waves)
        own = (r + lo >= a) & (r + lo < b)
        tables.append(table[own])
        params.append(p[own])
        template = tv if template is None else template
    names = list(opts.layout.labels)
    if tables:
        beats = pd.concat(tables, ignore_index=True)
        beats["beat"] = np.arange(len(beats))
        rr = np.diff(beats["r_peak_s"].to_numpy())
        beats["rr_s"] = np.concatenate([[np.nan], rr])
        pmat = np.concatenate(params)
    else:
        beats = pd.DataFrame(columns=["beat", "r_peak_s", "rr_s"] + names + [
            *FIDUCIAL_COLUMNS] + list(INTERVAL_COLUMNS) + ["status", "reason"])
        pmat = np.zeros((0, len(names)))
    n_ok = int((beats["status"] == "ok").sum()) if len(beats) else 0
    info = {
        "record": record.name, "path": record.path, "lead": lead_name,
        "units": _lead_unit(record, lead_name),
        "sampling_rate": fs, "method": f"gmesa-{opts.engine}", "gmesa_version": __version__,
        "n_beats": int(len(beats)), "n_ok": n_ok,
        "rpeaks": "given" if given is not None else "detected",
        "waves": list(opts.waves), "st_step": opts.st_step, "wander": opts.wander,
        "highpass_hz": opts.highpass_hz, "baseline": opts.baseline, "n_baseline": opts.n_baseline,
        "powerline": opts.powerline, "lowpass": opts.lowpass,
        "duration_s": n / fs,
        "template_params": None if template is None else dict(zip(names, map(float, template))),
    }
    if len(beats) == 0:
        info["warning"] = "no beats detected"
    return RecordFit(beats, clean_sig, fs, info, opts.waves, opts.steps, pmat, opts.n_baseline)
