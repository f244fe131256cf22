"""The beat model: bounds and starts of every beat, the solve with its engines, second
starts for a misplaced P wave, and the fit quality with its per-beat status.

Times in seconds from each beat's R peak, amplitudes in mV.  A beat's parameter vector
has the :class:`~gmesa.core.Layout` of its :class:`~gmesa.ecg.options.FitOptions`
(``opts.layout``): the waves, the ST step, the baseline polynomial.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels import mesa_sum_rows_into
from .._nanstats import nanmedian
from ..core import Layout
from ..solvers import SOLVER_STATUS, fit_least_squares, fit_many
from ..solvers._lm import GTOL, MAX_ITER, NONFINITE_MODEL
from .beats import BeatRows, add_reason
from .identity import IDENTITY_NEAR, negligible
from .init import clip_into, guess_beat
from .options import FitOptions
from .presence import p_is_wave
from .rprime import hold_r_prime
from .priors import prior_arrays
from .waves import T_LATEST, bounds, observed_extrema, qrs_onset

#: solver status the per-beat engines (scipy, lmfit) give a converged fit: they do not
#: say which test passed, the code of the gradient test stands for all
CONVERGED = GTOL

#: a beat started from the template whose P is no P wave is fitted again with its P
#: center at most this far (s) from the template's
P_NEAR_TEMPLATE = 0.080

#: the residual SD (mV) priors are scaled by when no template says what it is
PRIOR_NOISE = 0.05

#: ST level shift component (a tanh step) bounds: center, scale (s, relative to R)
ST_REGION = (0.03, 0.25, 0.004, 0.08)

#: the ST step's start: no shift (mV), center and scale (s)
ST_START = (0.0, 0.12, 0.02)


def t_latest(rr):
    """The latest T peak (s after R) at RR interval(s) ``rr`` (s)."""
    return T_LATEST * np.sqrt(np.asarray(rr, dtype=float))


def beat_bounds(opts, extrema, t0, t1, rr, qrs_on=None, t_late=None):
    """Bounds for beats (scalars -> (P,), arrays of N beats -> (N, P)): ``extrema`` the
    observed (R amplitude, Q depth, S depth) in mV, [``t0``, ``t1``] the window (s),
    ``rr`` the RR interval before the beat (s), ``qrs_on`` the observed QRS onset (s).
    The T center stays before 0.6 ``rr`` or, when later, ``t_late`` (s after R: the
    template's T center plus :data:`~gmesa.ecg.identity.IDENTITY_NEAR`, so a late T
    of the template is reached at a high heart rate)."""
    r_amp, q, s = extrema
    lay = opts.layout
    wave_lo, wave_hi = bounds(opts.waves, r_amp, t0, t1, n_baseline=0, q_depth=q,
                              s_depth=s, qrs_on=qrs_on, t_latest=t_latest(rr))
    wave_lo, wave_hi = np.atleast_2d(wave_lo), np.atleast_2d(wave_hi)
    if "T" in opts.waves:  # T stays before the next beat's P
        j = lay.index("T", "center")
        cap = 0.6 * np.asarray(rr) if t_late is None else np.fmax(0.6 * np.asarray(rr), t_late)
        wave_hi[:, j] = np.minimum(wave_hi[:, j], np.maximum(cap, wave_lo[:, j] + 0.05))
    lo, hi = np.empty((wave_lo.shape[0], lay.size)), np.empty((wave_lo.shape[0], lay.size))
    lo[:, lay.waves_slice], hi[:, lay.waves_slice] = wave_lo, wave_hi
    if opts.st_step:
        cmin, cmax, smin, smax = ST_REGION
        amp = np.atleast_1d(np.abs(r_amp) * 0.5 + 0.1)[:, None]
        one = np.ones_like(amp)
        lo[:, lay.step("ST")] = np.hstack([-amp, cmin * one, smin * one])
        hi[:, lay.step("ST")] = np.hstack([amp, cmax * one, smax * one])
    lo[:, lay.baseline_slice], hi[:, lay.baseline_slice] = -np.inf, np.inf
    return (lo[0], hi[0]) if np.ndim(r_amp) == 0 else (lo, hi)


#: a terminal lobe (``T2`` after an inverted T): plateau half-width and tails at most (s)
LOBE_HALF_WIDTH = 0.04
LOBE_TAIL = 0.06


def lobe_bounds(lay, lo, hi, c_min, c_max):
    """Bounds ``lo``/``hi`` (rows of layout ``lay``, changed in place) of a terminal
    lobe: the ``T2`` component upright, its center in [``c_min``, ``c_max``] (s), its
    plateau and tails compact (:data:`LOBE_HALF_WIDTH`, :data:`LOBE_TAIL`)."""
    a, c = lay.index("T2", "amplitude"), lay.index("T2", "center")
    lo[..., a] = np.maximum(lo[..., a], 0.0)
    lo[..., c] = np.maximum(lo[..., c], c_min)
    for j, cap in ((c, c_max), (lay.index("T2", "half_width"), LOBE_HALF_WIDTH),
                   (lay.index("T2", "sigma_left"), LOBE_TAIL),
                   (lay.index("T2", "sigma_right"), LOBE_TAIL)):
        hi[..., j] = np.maximum(np.minimum(hi[..., j], cap), lo[..., j])
    return lo, hi


def with_steps(vec, opts):
    """A start vector of the waves and the baseline (no steps, as from
    :func:`~gmesa.ecg.init.guess_beat`) with the ST step's start (:data:`ST_START`)."""
    if not opts.st_step:
        return vec
    lay = opts.layout
    bare = Layout(opts.waves, (), opts.baseline)
    out = np.empty(lay.size)
    out[lay.waves_slice] = vec[bare.waves_slice]
    out[lay.step("ST")] = ST_START
    out[lay.baseline_slice] = vec[bare.baseline_slice]
    return out


def best_start(params, cost, waves, qrs_on, t_start):
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


def solve(opts, X, Y, L, P0, LO, HI, prior=None):
    """(params, cost, nit, solver status) of beats ``X``/``Y`` (rows, the first ``L``
    samples used) fitted from ``P0`` within [``LO``, ``HI``] by ``opts.engine``;
    ``prior``: None or ``(mean, sd)`` (N, P) for a MAP fit (cost then includes it)."""
    if opts.engine == "batch":
        res = fit_many(X, Y, P0, LO, HI, steps=len(opts.steps), lengths=L,
                       baseline=opts.baseline, max_iter=opts.max_iter, ftol=opts.tol,
                       xtol=opts.tol, gtol=opts.tol, threads=opts.threads, check=False,
                       prior=prior, stderr=False)
        return res.params, res.cost, res.nit, res.status
    return _solve_each(opts, X, Y, L, P0, LO, HI, prior)


def _solve_each(opts, X, Y, L, P0, LO, HI, prior=None):
    """:func:`solve` one beat at a time with SciPy or lmfit."""
    params = P0.copy()
    cost = np.full(len(Y), np.nan)
    nit = np.zeros(len(Y), dtype=np.int64)
    status = np.full(len(Y), NONFINITE_MODEL, dtype=np.int64)
    if opts.engine == "lmfit":
        from ..models import MesaSumModel
        model = MesaSumModel(names=opts.waves, steps=opts.steps, baseline=opts.baseline)
    for i in range(len(Y)):
        x, y = X[i, :L[i]], Y[i, :L[i]]
        pri = None if prior is None else (prior[0][i], prior[1][i])
        try:
            if opts.engine == "scipy":
                r = fit_least_squares(x, y, P0[i], LO[i], HI[i], steps=len(opts.steps),
                                      ftol=opts.tol, baseline=opts.baseline, xtol=opts.tol,
                                      gtol=opts.tol, max_nfev=opts.max_iter * 5,
                                      prior=pri)
                params[i], cost[i], nit[i] = r.params, r.cost, r.nfev
                status[i] = CONVERGED if r.status > 0 else MAX_ITER
            else:
                pars = model.params_from_vector(P0[i])
                for name, lo_, hi_ in zip(model.param_names, LO[i], HI[i]):
                    pars[name].set(min=lo_, max=hi_)
                named = None if pri is None else {
                    n: (m, sd) for n, m, sd in zip(model.param_names, *pri) if np.isfinite(sd)}
                r = model.fit(y, pars, x=x, method="least_squares", max_nfev=opts.max_iter * 5,
                              prior=named)
                params[i] = model.vector(r.params)
                cost[i], nit[i] = 0.5 * r.chisqr, r.nfev
                status[i] = CONVERGED if r.success else MAX_ITER
        except (ValueError, np.linalg.LinAlgError):
            status[i] = NONFINITE_MODEL
    return params, cost, nit, status


@dataclass
class SegmentFit:
    """The beats of one stretch of signal, being fitted: the problem and the solver's
    results, one row per beat.

    ``opts``: the :class:`FitOptions`; ``rows``: the beat windows (:class:`BeatRows`);
    ``qrs_on``: observed QRS onsets (s from R); ``start``/``lower``/``upper``: start
    values and bounds (N, P); ``prior``: None or the beats' ``(mean, sd)`` (N, P) of a
    MAP fit (:mod:`gmesa.ecg.priors`); ``params`` (N, P), ``cost`` (0.5 SSE, mV^2), ``nit`` and
    ``code`` (solver status, :data:`~gmesa.SOLVER_STATUS`): NaN/0 for beats not fitted.
    """
    opts: FitOptions
    rows: BeatRows
    qrs_on: np.ndarray
    start: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    prior: tuple = None
    params: np.ndarray = None
    cost: np.ndarray = None
    nit: np.ndarray = None
    code: np.ndarray = None

    def __post_init__(self):
        n, n_p = self.start.shape
        if self.params is None:
            self.params = np.full((n, n_p), np.nan)
            self.cost = np.full(n, np.nan)
            self.nit = np.zeros(n, dtype=np.int64)
            self.code = np.zeros(n, dtype=np.int64)

    def solve(self, idx, start=None, lower=None, upper=None, prior=None):
        """Fit beats ``idx`` from ``start`` within [``lower``, ``upper``] (rows for
        ``idx``; default this fit's own; ``prior``: ``(mean, sd)`` rows for ``idx``,
        default this fit's own) and return (params, cost, nit, code)."""
        r = self.rows
        start = self.start[idx] if start is None else start
        lower = self.lower[idx] if lower is None else lower
        upper = self.upper[idx] if upper is None else upper
        if prior is None and self.prior is not None:
            prior = (self.prior[0][idx], self.prior[1][idx])
        return solve(self.opts, r.X[idx], r.Y[idx], r.lengths[idx], start, lower, upper, prior)

    def keep(self, idx, result):
        """Store ``result`` (params, cost, nit, code) for beats ``idx``."""
        self.params[idx], self.cost[idx], self.nit[idx], self.code[idx] = result


def beat_problem(opts, rows, qrs_on, rr_prev, own, warm, template_vec=None,
                 median_beat=None, noise=None):
    """The :class:`SegmentFit` of beats ``rows`` before solving: bounds per beat from
    what it shows (observed QRS onset ``qrs_on`` s, RR before it ``rr_prev`` s; the T
    center may reach the template's, :func:`beat_bounds`) and starts: beats ``own``
    from their own guess, beats ``warm`` from the template's fit (``template_vec``, the
    level moved from the median beat's (``median_beat``: t s, y mV) to the beat's).
    With ``opts.priors`` the beats get the population priors, their spreads divided by
    ``noise`` (mV, the residual SD the data term is measured in; default
    :data:`PRIOR_NOISE`)."""
    lay = opts.layout
    n = rows.X.shape[0]
    ext = observed_extrema(rows.Xv, rows.Yv - np.median(rows.Y, axis=1, keepdims=True))
    t_first = rows.X[:, 0]
    t_last = rows.X[np.arange(n), np.maximum(rows.lengths - 1, 0)]
    t_late = None
    if template_vec is not None and "T" in opts.waves:
        t_late = template_vec[lay.index("T", "center")] + IDENTITY_NEAR
    LO, HI = beat_bounds(opts, ext, t_first, t_last, rr_prev, qrs_on, t_late)
    if opts.t_lobe is True and "T2" in opts.waves and template_vec is not None:
        c2 = template_vec[lay.index("T2", "center")]
        lobe_bounds(lay, LO, HI, c2 - IDENTITY_NEAR, c2 + IDENTITY_NEAR)
    if "R2" in opts.waves and template_vec is not None:  # the template's R', as large
        hold_r_prime(lay, LO, HI, template_vec, ext[0])
    if opts.st_step and template_vec is not None:
        # a step of (almost) no height has no place: when the template shows no ST
        # shift, hold the step's center and scale at the template's and fit its height
        if negligible(template_vec[lay.index("ST", "amplitude")],
                      template_vec[lay.index("R", "amplitude")]):
            for j in (lay.index("ST", "center"), lay.index("ST", "scale")):
                LO[:, j] = HI[:, j] = template_vec[j]
    P0 = np.zeros((n, lay.size))
    P0[own] = own_guesses(opts, rows, np.flatnonzero(own), qrs_on, rr_prev)
    if warm.any():
        level = nanmedian(rows.Yv[warm], axis=1)
        c0 = lay.baseline_slice.start
        P0[warm] = template_vec
        P0[warm, lay.baseline_slice] = 0.0
        P0[warm, c0] = level - (np.median(median_beat[1]) - template_vec[c0])
    fit_me = own | warm
    P0[fit_me] = clip_into(P0[fit_me], LO[fit_me], HI[fit_me])
    prior = None
    if opts.priors:
        sigma = PRIOR_NOISE if noise is None or not np.isfinite(noise) else noise
        parts = None if opts.priors is True else tuple(opts.priors)
        prior = prior_arrays(lay, rr_prev, max(float(sigma), 1e-4), parts=parts)
    return SegmentFit(opts, rows, qrs_on, P0, LO, HI, prior)


def own_guesses(opts, rows, idx, qrs_on, rr_prev):
    """Start vectors (len(``idx``), P) of beats ``idx`` of ``rows`` from their own
    samples (:func:`~gmesa.ecg.init.guess_beat`; observed QRS onset ``qrs_on`` s and RR
    before each beat ``rr_prev`` s, per beat of ``rows``)."""
    out = np.zeros((len(idx), opts.layout.size))
    for k, i in enumerate(idx):
        n_i = rows.lengths[i]
        out[k] = with_steps(guess_beat(rows.X[i, :n_i], rows.Y[i, :n_i], opts.waves,
                                       opts.n_baseline, qrs_on[i], 0.0,
                                       float(t_latest(rr_prev[i]))), opts)
    return out


#: a beat started from the template whose residual RMSE is over this many times the
#: median of those beats' is started again from its own guess: its waves may not be the
#: template's (a T that inverts within the chunk the template was built on)
MISFIT_RATIO = 3.0


def restart_misfits(fit, warm, rr_prev):
    """Beats ``warm`` (started from the template) of ``fit`` (a :class:`SegmentFit`,
    updated in place) that it describes far worse than the others (RMSE over
    :data:`MISFIT_RATIO` times their median) fitted again from their own guess (QRS
    onset read off each beat, ``rr_prev`` the RR before each, s); the new fit is kept
    where :func:`best_start` prefers it.  Returns the beats fitted again."""
    w = np.flatnonzero(warm & np.isfinite(fit.cost))
    if w.size < 3:
        return w[:0]
    rmse = np.sqrt(2.0 * fit.cost[w] / np.maximum(fit.rows.lengths[w], 1))
    bad = w[rmse > MISFIT_RATIO * np.median(rmse)]
    if bad.size:
        qrs_on = np.array(fit.qrs_on, dtype=float)
        qrs_on[bad] = qrs_onset(fit.rows.Xv[bad], fit.rows.Yv[bad])
        start = own_guesses(fit.opts, fit.rows, bad, qrs_on, rr_prev)
        refit_better(fit, bad, start, fit.lower[bad], fit.upper[bad])
    return bad


def refit_better(fit, idx, start, lower, upper):
    """Fit beats ``idx`` of ``fit`` (a :class:`SegmentFit`) again from ``start`` within
    [``lower``, ``upper``] and keep the new fit where :func:`best_start` prefers it."""
    if len(idx) == 0:
        return
    p, c, it, s = fit.solve(idx, clip_into(start, lower, upper), lower, upper)
    second = best_start(np.stack([fit.params[idx], p]), np.stack([fit.cost[idx], c]),
                        fit.opts.waves, fit.qrs_on[idx], fit.rows.X[idx, 0]) == 1
    fit.keep(idx[second], (p[second], c[second], it[second], s[second]))


def second_starts(fit, template_vec, own, warm):
    """Second starts for beats whose P may sit on the wrong feature (``fit`` a
    :class:`SegmentFit`, updated in place).  Beats unlike the template (``own``:
    ectopic QRS, or R taken at another point of the QRS) mostly keep the template's
    atrial rhythm, and their own guess can take the PR segment's sag: their P also
    starts from the template's (``template_vec``).  Beats started from the template
    (``warm``) whose P came out as no P wave (running into the QRS, starting before the
    window, a long plateau) are fitted again with their P held near the template's and
    no wider."""
    lay = fit.opts.layout
    p_wave = lay.wave("P")
    center, half_width = lay.index("P", "center"), lay.index("P", "half_width")
    alt = np.flatnonzero(own)
    from_template = fit.start[alt].copy()
    from_template[:, p_wave] = template_vec[p_wave]
    refit_better(fit, alt, from_template, fit.lower[alt], fit.upper[alt])
    warm_i = np.flatnonzero(warm)
    bad = warm_i[~p_is_wave(fit.params[warm_i], fit.opts.waves, fit.qrs_on[warm_i],
                            fit.rows.X[warm_i, 0])]
    near_lo, near_hi = fit.lower[bad].copy(), fit.upper[bad].copy()
    near_lo[:, center] = np.maximum(near_lo[:, center], template_vec[center] - P_NEAR_TEMPLATE)
    near_hi[:, center] = np.minimum(near_hi[:, center], template_vec[center] + P_NEAR_TEMPLATE)
    near_hi[:, half_width] = np.minimum(near_hi[:, half_width],
                                        max(template_vec[half_width], 0.005))
    refit_better(fit, bad, fit.start[bad], near_lo, near_hi)


def residuals(fit, good):
    """(residual, signal less the beat's baseline polynomial), mV, (N, n) like the rows
    of ``fit`` (a :class:`SegmentFit`): 0 outside each beat's valid samples; on the beats
    not ``good`` the model is not evaluated (the residual is the signal)."""
    lay, rows, params = fit.opts.layout, fit.rows, fit.params
    X, Y, valid = rows.X, rows.Y, rows.valid
    model = np.zeros_like(Y)
    if good.any():
        model[good] = rows_model(X[good], params[good], rows.lengths[good], lay.n_waves,
                                 lay.n_steps, lay.n_baseline)
    # NaN parameters leave NaN (no PRD, no verdict)
    base = baseline_level(params[:, lay.baseline_slice], X)
    return np.where(valid, Y - model, 0.0), np.where(valid, Y - base, 0.0)


def rows_model(X, params, lengths, n_waves, n_steps, n_base):
    """(N, n) mV: each row's model (``params`` in the usual layout: ``n_waves`` GMFs,
    ``n_steps`` steps, ``n_base`` baseline coefficients) at its sample times ``X`` (s),
    on its first ``lengths`` samples, 0 past them."""
    out = np.zeros(np.shape(X))
    mesa_sum_rows_into(np.ascontiguousarray(X), np.ascontiguousarray(params), lengths, 0,
                       n_waves, n_steps, n_base, out)
    return out


def baseline_level(coef, X):
    """(N, n) mV: the baseline polynomial of each row (coefficients ``coef`` (N, m),
    ``sum_j c_j x**j``) at its sample times ``X`` (s)."""
    return sum(coef[:, j][:, None] * X ** j for j in range(coef.shape[1]))


#: local PRD of a wave: its span from onset to offset, widened by this on each side (s),
#: so that a deflection just outside the fitted edges (a notch the model left out) counts
WAVE_PRD_MARGIN = 0.010


def wave_prd(fit, good, fid, waves=("P", "QRS", "T"), resid=None):
    """{``{wave}_prd``: % per beat}: the PRD of each wave's stretch of the beat, from its
    fitted onset to its offset (``fid``, s from R, widened by :data:`WAVE_PRD_MARGIN`):
    100 sqrt(sum residual^2 / sum (y - baseline)^2) there.  Where the whole beat's PRD
    is fine but one wave's is high, the model left part of that wave out (a notched or
    fragmented QRS, a T with two humps).  NaN where the wave has no boundaries or the
    beat is not ``good``.  ``resid``: :func:`residuals` of ``fit`` and ``good`` when
    already at hand (:func:`quality` gives them)."""
    res, ydm = residuals(fit, good) if resid is None else resid
    out = {}
    for w in waves:
        v, seen = span_prd(fit.rows.X, res, ydm, fid[f"{w}_on"], fid[f"{w}_off"],
                           fit.rows.valid)
        out[f"{w}_prd"] = np.where(good & seen, v, np.nan)
    return out


def span_prd(X, res, ydm, on, off, valid=True):
    """(PRD %, any sample inside) per row of the stretch from ``on`` to ``off`` (s, per
    row) widened by :data:`WAVE_PRD_MARGIN`: 100 sqrt(sum ``res``^2 / sum ``ydm``^2)
    there (``res`` the residual, ``ydm`` the signal less its baseline, mV, rows of
    sample times ``X`` s; ``valid`` the samples that count)."""
    X, res, ydm = np.atleast_2d(X), np.atleast_2d(res), np.atleast_2d(ydm)
    lo = np.reshape(on, (-1, 1)) - WAVE_PRD_MARGIN
    hi = np.reshape(off, (-1, 1)) + WAVE_PRD_MARGIN
    inside = (X >= lo) & (X <= hi) & valid
    with np.errstate(invalid="ignore", divide="ignore"):
        v = 100.0 * np.sqrt(np.sum(np.where(inside, res ** 2, 0.0), axis=1)
                            / np.sum(np.where(inside, ydm ** 2, 0.0), axis=1))
    return v, np.any(inside, axis=1)


#: a beat's QRS is misfit above this QRS PRD (%, :func:`wave_prd`): about the 97th
#: percentile of the ok beats of LUDB's calibration half (odd records, lead ii; 12.7% is
#: the 95th, 20.4% the 99th), and most beats of a fragmented QRS (PTB s0010_re lead ii,
#: median 16.9%)
QRS_MISFIT_PRD = 15.0
#: the signal's own QRS onset is looked for at most this long before R (s); none found
#: there, the model's stays
SIGNAL_ONSET_REACH = 0.15


def misfit_qrs_onset(fid, qrs_prd, rows, reason):
    """Where the model leaves part of the QRS out (``qrs_prd`` above
    :data:`QRS_MISFIT_PRD`), the QRS onset (``fid["QRS_on"]``, s from R, changed in
    place, and the P offset kept before it) is the earlier of the model's and the
    signal's own (:func:`~gmesa.ecg.waves.qrs_onset` on the beat's samples ``rows``): a
    first deflection the components do not hold starts the complex all the same.  The
    beats so read say it in ``reason``.  (LUDB even, lead ii: QRS on |mean|+SD 10.2 ->
    8.9 ms; only the onset: the offset read off the signal the same way was worse there,
    13.6 -> 13.8; docs/results.md, session 21.)"""
    mis = np.flatnonzero(np.isfinite(fid["QRS_on"]) & (qrs_prd > QRS_MISFIT_PRD))
    if not mis.size:
        return
    seen = qrs_onset(rows.Xv[mis], rows.Yv[mis], earliest_s=-SIGNAL_ONSET_REACH)
    earlier = (seen < fid["QRS_on"][mis]) & (seen > -SIGNAL_ONSET_REACH)  # found
    fid["QRS_on"][mis] = np.where(earlier, seen, fid["QRS_on"][mis])
    fid["P_off"] = np.where(fid["QRS_on"] < fid["P_off"], fid["QRS_on"], fid["P_off"])
    note = np.full(len(reason), "", dtype=object)
    note[mis[earlier]] = [f"QRS onset read off the signal (QRS PRD {v:.0f}%)"
                          for v in qrs_prd[mis[earlier]]]
    add_reason(reason, note != "", note)


def quality(fit, fitted, status, reason, with_residuals=False):
    """(good, rmse mV, prd %, r2, sse mV^2) per beat of ``fit`` (a :class:`SegmentFit`):
    ``good`` marks the ``fitted`` beats with finite parameters, the measures are NaN
    elsewhere.  Solver failures, iteration limits and a PRD over ``opts.prd_limit`` set
    ``status``/``reason``.  ``with_residuals=True`` adds :func:`residuals` (for
    :func:`wave_prd`, so the model is evaluated once)."""
    opts, code = fit.opts, fit.code
    good = fitted & np.all(np.isfinite(fit.params), axis=1)
    rmse, prd, r2, sse, resid = measures(fit, good)
    for code_value, name in ((NONFINITE_MODEL, "failed"), (MAX_ITER, "max_iter")):
        hit = fitted & (code == code_value)
        status[hit] = name
        reason[hit] = SOLVER_STATUS[code_value]
    lost = fitted & ~good & (status == "ok")
    status[lost] = "failed"
    add_reason(reason, lost, "the fit gave parameters that are not finite")
    poor = (status == "ok") & (prd > opts.prd_limit)
    status[poor] = "poor_fit"
    add_reason(reason, poor, np.array([f"PRD {v:.1f}% above {opts.prd_limit:g}%" if p else ""
                                       for v, p in zip(prd, poor)], dtype=object))
    if with_residuals:
        return good, rmse, prd, r2, sse, resid
    return good, rmse, prd, r2, sse


def measures(fit, good, resid=None):
    """(rmse mV, prd %, r2, sse mV^2, (residual, signal less baseline)) per beat of
    ``fit`` (a :class:`SegmentFit`); rmse, prd and r2 NaN on the beats not ``good``.
    ``resid``: the (residual, signal less baseline) of :func:`residuals`, when at hand."""
    rows = fit.rows
    Y, valid = rows.Y, rows.valid
    res, ydm = residuals(fit, good) if resid is None else resid
    nval = np.maximum(rows.lengths, 1)
    sse = np.sum(res ** 2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt(sse / nval)
        prd = 100.0 * np.sqrt(sse / np.sum(ydm ** 2, axis=1))
        ym = np.sum(np.where(valid, Y, 0), axis=1) / nval
        sst = np.sum(np.where(valid, (Y - ym[:, None]) ** 2, 0), axis=1)
        r2 = 1.0 - sse / sst
    rmse[~good] = prd[~good] = r2[~good] = np.nan
    return rmse, prd, r2, sse, (res, ydm)
