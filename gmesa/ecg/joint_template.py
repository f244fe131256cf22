"""The joint model's first steps: every lead cleaned as :func:`~gmesa.ecg.fit_record`
cleans one, and the joint template, the median beat of every lead fitted with shared
wave timing (:func:`gmesa.fit_shared`) from each lead's own template fit.

Times in seconds from R, amplitudes in mV.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core import mesa_sum
from ..solvers import fit_shared, join_shared, split_shared
from .artefacts import find_artefacts
from .beats import beat_windows
from .beatmodel import beat_bounds, best_start, t_latest, with_steps
from .identity import IDENTITY_BIC, IDENTITY_NEAR, negligible
from .fit import cleaned_chunks
from .lead import lead_signal, mv_limits
from .init import clip_into, guess_beat
from .io import ecg_lead_mv
from .overlap import (apart, extents, own_waves, overlap_windows, reaching_waves, same_t,
                      without_neighbours)
from .periodic import tied_template
from .presence import TemplateFit, template_noise
from .rprime import r_prime_bounds, r_prime_coef_bounds
from .template import beat_noise2, fit_template, median_beat
from .waves import qrs_onset

#: the joint P's largest half-width and tails (s): the single-lead bounds (0.06, 0.08)
#: let a P shared by many leads widen into a baseline shape longer than any P wave
#: (P_LONGEST, 0.25 s; PTB s0010_re); these keep it under 0.21 s by the fiducial rule
P_SHAPE_MAX = (0.030, 0.050)

#: the ridge on the leads' amplitudes, in seconds of a unit-amplitude component's
#: energy (``sum(shape**2) / fs``): 20 us, so a real wave (energy of a few ms and more)
#: shrinks by under 1 %, while Q and R taking the same shape with opposite amplitudes of
#: tens of mV (seen on LUDB 26 without it) cost far more than they gain
RIDGE_S = 2e-5

#: the joint T's largest half-width and tails (s), against the single-lead 0.2 and 0.2:
#: a T shared by many leads widened into the window's end while the ST step and the
#: leads' baselines took the T wave (LUDB 84, 136)
T_SHAPE_MAX = (0.100, 0.160)

#: iterations of the short fits from each start of the joint template
START_ITER = 40

#: besides the primary lead, the leads of most variation before the QRS (where P is)
#: whose own guess starts the joint template
GUESS_LEADS = 3

#: a lead's weight in the joint template's fit is 1 / (its template RMSE), in the beats'
#: 1 / sqrt(template RMSE^2 + its beats' noise^2), that scale at least this many mV
MIN_LEAD_SD = 0.005


def clean_lead(record, lead, opts, force_ecg=False):
    """(the cleaned ``lead`` of ``record`` as float32 mV, NaN at artefacts, its name):
    artefacts masked and the lead cleaned chunk by chunk as :func:`fit_record` does."""
    raw, name = lead_signal(record, lead)
    raw, unit = ecg_lead_mv(record, name, raw, force_ecg)
    fs = float(record.fs)
    artefacts = None
    if opts.artefacts:
        artefacts = find_artefacts(raw, fs, mv_limits(record, name, unit),
                                   pacing=opts.pacing_spikes)
        artefacts = artefacts if artefacts.any else None
    out = np.empty(raw.size, dtype=np.float32)
    for a, b, lo, _, cs, _ in cleaned_chunks(raw, fs, opts, artefacts):
        out[a:b] = cs[a - lo:a - lo + (b - a)]
    return out, name


class JointTemplate(NamedTuple):
    """The joint template: sample times ``t`` (s from R), median beats ``Y`` (L, n mV),
    shared timing ``theta``, each lead's linear coefficients ``coef`` (L, m), the
    beats' lead weights ``weights`` (1/mV: :data:`MIN_LEAD_SD`), their :class:`TemplateFit` (the joint model seen
    in each lead) ``fits``, the earliest QRS onset over the leads ``qrs_on`` (s) and
    which leads show the beat (``shows``, (L,) bool: :func:`shows_beat`)."""
    t: np.ndarray
    Y: np.ndarray
    theta: np.ndarray
    coef: np.ndarray
    weights: np.ndarray
    fits: list
    qrs_on: float
    shows: np.ndarray | None = None


def shows_beat(opts, coef, beat_sd):
    """(L,) bool: the leads whose joint template (linear coefficients ``coef`` (L, m))
    has a QRS component (Q, R, S, R') larger than ``opts.wave_snr`` times the beats'
    noise SD in that lead (``beat_sd``, mV), as a wave must stand out of one beat's RMSE
    (:func:`~gmesa.ecg.presence.evident`); all of them where none does.  A lead that
    carries no ECG (an electrode off, noise alone) shows none."""
    qrs = [opts.layout.waves.index(w) for w in ("Q", "R", "S", "R2") if w in opts.waves]
    size = np.max(np.abs(coef[:, qrs]), axis=1)
    shows = size > opts.wave_snr * np.asarray(beat_sd, dtype=float)
    return shows if shows.any() else np.ones_like(shows)


def timing_bounds(opts, t0, t1, rr, qrs_on, t_late=None, r_prime_at=None):
    """(lower, upper) of the shared timing (:func:`~gmesa.split_shared` order) of beats
    in windows [``t0``, ``t1``] (s), RR before ``rr`` (s), QRS onset ``qrs_on`` (s):
    the single-lead bounds of :func:`~gmesa.ecg.beatmodel.beat_bounds` (amplitudes
    aside: each lead's are free), the P and T shapes within :data:`P_SHAPE_MAX`,
    :data:`T_SHAPE_MAX`, and an R' (``R2``) near ``r_prime_at`` (s, the primary lead's
    template's: :func:`~gmesa.ecg.rprime.r_prime_bounds`)."""
    shape = np.shape(t0)
    lo, hi = beat_bounds(opts, (np.ones(shape), np.zeros(shape), np.zeros(shape)), t0, t1,
                         rr, qrs_on, t_late)
    lay = opts.layout
    if r_prime_at is not None:
        r_prime_bounds(lay, lo, hi, r_prime_at, np.inf)
    lo, hi = (split_shared(lo, lay.n_waves, lay.n_steps)[0],
              split_shared(hi, lay.n_waves, lay.n_steps)[0])
    for wave, (hw, sig) in (("P", P_SHAPE_MAX), ("T", T_SHAPE_MAX)):
        if wave in opts.waves:
            k = 4 * lay.waves.index(wave)
            hi[..., k + 1] = np.minimum(hi[..., k + 1], hw)
            hi[..., k + 2:k + 4] = np.minimum(hi[..., k + 2:k + 4], sig)
            lo[..., k + 1:k + 4] = np.minimum(lo[..., k + 1:k + 4], hi[..., k + 1:k + 4])
    return lo, hi


def split_index(lay, wave, param):
    """Position of ``wave``'s ``param`` (a timing parameter) in the shared vector."""
    return lay.waves.index(wave) * 4 + ("center", "half_width", "sigma_left",
                                        "sigma_right").index(param)


def r_prime_center(opts, theta):
    """The R' center (s) of the shared timing ``theta`` (None without an R')."""
    if "R2" not in opts.waves:
        return None
    return float(theta[split_index(opts.layout, "R2", "center")])


def ridge(t):
    """The ridge of :func:`gmesa.fit_shared` for beats sampled at times ``t`` (s):
    :data:`RIDGE_S` times the sampling rate."""
    return RIDGE_S / float(np.median(np.diff(t)))


def r_prime_signs(opts, t, Y, theta):
    """(lower, upper) (L, m) of each lead's linear coefficients in the joint template
    (median beats ``Y`` at ``t`` s, shared timing ``theta``): an R' (``R2``) of the sign
    of that lead's deflection at R and at most :func:`~gmesa.ecg.rprime.r_prime_cap` of
    its deflection at the R' and at R (mV, from the lead's median), as one lead's R' keeps
    R's sign and size; the rest free.  (None, None) without an R'."""
    if "R2" not in opts.waves:
        return None, None
    lay = opts.layout
    level = np.median(Y, axis=1)
    at_r, at_r2 = (np.array([np.interp(theta[split_index(lay, w, "center")], t, y)
                             for y in Y]) - level for w in ("R", "R2"))
    return r_prime_coef_bounds(lay.n_waves + lay.n_steps + lay.n_baseline,
                               lay.waves.index("R2"), at_r, at_r, at_r2)


def _solve(opts, t, Y, thetas, lo, hi, weights, tol=1e-10, max_iter=None, coef=(None, None)):
    lay = opts.layout
    S = thetas.shape[0]
    return fit_shared(t, np.broadcast_to(Y, (S,) + Y.shape), clip_into(thetas, lo, hi),
                      lo, hi, steps=lay.n_steps, baseline=opts.baseline,
                      channel_weights=weights, max_iter=max_iter or opts.max_iter, ftol=tol,
                      xtol=tol, gtol=tol, threads=opts.threads, ridge=ridge(t),
                      coef_lower=coef[0], coef_upper=coef[1])


def joint_template(opts, sigs, r, start, end, fs, usable, rr_med, primary=0, first=None,
                   owns=None, follow=()):
    """The :class:`JointTemplate` of leads ``sigs`` (cleaned, mV) from the ``usable``
    beats (R peaks ``r``, windows [``start``, ``end``), samples); None when no median
    beat can be built.  The primary lead's template fit (``first``, a parameter vector;
    None: fitted here) and the guesses (:func:`guess_beat`) of the primary lead and of
    the :data:`GUESS_LEADS` leads of most variation before the QRS are the starts
    (a short fit from each, to ``opts.tol``); the joint fit with the lowest cost whose P
    is a P wave by its place wins, fitted first with equal lead weights, then again with
    each lead weighted by 1/(its RMSE there).  An R' keeps each lead's R sign and size
    (:func:`r_prime_signs`).  ``owns``: per lead, the GMF rows taken out of its signal at
    every beat (:func:`~gmesa.ecg.overlap.without_neighbours`), given back to its median
    beat (None: none).  ``follow``: the waves whose identity the joint template takes from
    ``first`` (:func:`follow_primary`)."""
    meds = [median_beat(s, r, start, end, usable, fs) for s in sigs]
    if any(m is None for m in meds):
        return None
    t = meds[0][0]
    Y = np.stack([m[1] for m in meds])
    if owns is not None:
        Y = Y + np.stack([own_waves(c, t) for c in owns])
    noise2 = np.array([m[2] for m in meds])
    ons = np.array([float(qrs_onset(t, y)[0]) for y in Y])
    on = float(np.min(ons))
    lay = opts.layout
    if first is None:
        first = fit_template(opts, t, Y[primary], rr_med, ons[primary], noise2[primary]).params
    late = float(t_latest(rr_med))
    p_region = (t > on - 0.3) & (t < on - 0.03)
    spread = np.array([np.std(y[p_region]) if p_region.any() else 0.0 for y in Y])
    spread[primary] = -1.0
    guess = [primary] + [int(i) for i in np.argsort(-spread)[:GUESS_LEADS]]
    starts = [first] + [with_steps(guess_beat(t, Y[i], opts.waves, lay.n_baseline, ons[i], 0.0,
                                              late), opts) for i in guess]
    thetas = np.array([split_shared(v, lay.n_waves, lay.n_steps)[0] for v in starts])
    lo, hi = timing_bounds(opts, t[0], t[-1], rr_med, on,
                           r_prime_at=r_prime_center(opts, thetas[0]))
    signs = r_prime_signs(opts, t, Y, thetas[0])
    res = _solve(opts, t, Y, thetas, lo, hi, np.ones(len(Y)), opts.tol, START_ITER, signs)
    view = res.params[:, primary]
    best = int(best_start(view, res.data_cost, opts.waves, on, t[0]))
    rmse = _rmse(opts, t, Y, res.params[best])
    weights = 1.0 / np.maximum(rmse, MIN_LEAD_SD)
    again = _solve(opts, t, Y, res.theta[best:best + 1], lo, hi, weights, coef=signs)
    again = follow_primary(opts, t, Y, again, first, (lo, hi), weights, signs, primary,
                           opts.bandwidth(fs), follow)
    theta, coef = again.theta[0], again.coef[0]
    params = join_shared(theta, coef, lay.n_waves, lay.n_steps)
    rmse = _rmse(opts, t, Y, params)
    dof = max(t.size - lay.size, 1)
    sse = rmse ** 2 * t.size
    fits = [TemplateFit(t, params[i], float(sse[i] / dof), float(rmse[i]), float(noise2[i]))
            for i in range(len(Y))]
    # the beats' noise in each lead: the spread of the beats about their median; a
    # beat's residual there is the model's misfit (the template's RMSE) and that noise
    beat2 = beat_noise2(noise2, usable)
    beat_weights = 1.0 / np.maximum(np.sqrt(rmse ** 2 + beat2), MIN_LEAD_SD)
    return JointTemplate(t, Y, theta, coef, beat_weights, fits, on,
                         shows_beat(opts, coef, np.sqrt(beat2)))


#: the waves whose identity the joint template may take from the primary lead's template
FOLLOWED = ("P", "T")

#: ... where the primary lead's own pipeline found that wave in at least this share of
#: its fitted beats (a template's P that the beats do not confirm is no P wave to follow:
#: a paced rhythm's, atrial fibrillation's)
FOLLOW_SHARE = 0.5


def follow_primary(opts, t, Y, fitted, first, bounds, weights, signs, primary, bw,
                   follow=FOLLOWED):
    """The joint template fit ``fitted`` (of median beats ``Y``, L leads, at ``t`` s), or
    one whose ``follow`` waves (P, T) are the primary lead's: where the primary
    lead's template fit (``first``, a parameter vector) has the wave (not
    :func:`~gmesa.ecg.identity.negligible` beside its R) and the joint fit puts it more than :data:`~gmesa.ecg.identity.IDENTITY_NEAR` away, or of the other
    sign in the primary lead, the joint template is fitted again from the primary's
    timing of those waves (a T with its ST step), their centers held within that
    distance and their signs in the primary lead held, then once more from there set
    free; as a beat follows its template (:func:`~gmesa.ecg.identity.follow_template`),
    the held fit is kept unless the better free one explains the leads (in noise units,
    ``weights``; ``bw`` the share of the Nyquist band the low-pass leaves) by more than
    :data:`~gmesa.ecg.identity.IDENTITY_BIC` ln(n_eff) per held wave in chi-square.  (The
    primary lead chose its waves by its beats' likelihood, :mod:`gmesa.ecg.choice`; a
    wave shared by two leads that show it apart can settle on neither, or on another
    deflection: LUDB odd, lead ii with v1, records 179 and 67, T off 100 and 60 ms early;
    LUDB even, ii with v5, record 78, the P on 190 ms early.)"""
    lay = opts.layout
    r_first = first[lay.index("R", "amplitude")]
    theta, coef = fitted.theta[0], fitted.coef[0, primary]
    r_joint = coef[lay.waves.index("R")]
    held = []
    for w in follow:
        if w not in opts.waves:
            continue
        a0, c0 = first[lay.index(w, "amplitude")], first[lay.index(w, "center")]
        k, c = lay.waves.index(w), split_index(lay, w, "center")
        if negligible(a0, r_first):
            continue
        flip = np.sign(coef[k]) != np.sign(a0) and not negligible(coef[k], r_joint)
        if flip or abs(theta[c] - c0) > IDENTITY_NEAR:
            held.append(w)
    if not held:
        return fitted
    lo, hi = bounds
    own = split_shared(first, lay.n_waves, lay.n_steps)[0]
    start, h_lo, h_hi = theta.copy(), lo.copy(), hi.copy()
    m = fitted.coef.shape[2]
    c_lo = np.full((len(Y), m), -np.inf) if signs[0] is None else signs[0].copy()
    c_hi = np.full((len(Y), m), np.inf) if signs[1] is None else signs[1].copy()
    for w in held:
        k, c = lay.waves.index(w), split_index(lay, w, "center")
        a0, c0 = first[lay.index(w, "amplitude")], first[lay.index(w, "center")]
        start[c:c + 4] = own[c:c + 4]
        if w == "T" and "ST" in lay.steps:  # the ST step shares the T wave's identity
            st = 4 * lay.n_waves + 2 * lay.steps.index("ST")
            start[st:st + 2] = own[st:st + 2]
        h_lo[c], h_hi[c] = max(lo[c], c0 - IDENTITY_NEAR), min(hi[c], c0 + IDENTITY_NEAR)
        if a0 > 0:
            c_lo[primary, k] = max(c_lo[primary, k], 0.0)
        else:
            c_hi[primary, k] = min(c_hi[primary, k], 0.0)
    if not np.all(h_lo <= h_hi):
        return fitted
    kept = _solve(opts, t, Y, start[None], h_lo, h_hi, weights, coef=(c_lo, c_hi))
    free = _solve(opts, t, Y, kept.theta, lo, hi, weights, coef=signs)
    if free.data_cost[0] < fitted.data_cost[0]:
        fitted = free
    if not np.isfinite(kept.data_cost[0]):
        return fitted
    n_eff = max(bw * t.size * len(Y), 2.0)
    excess = 2.0 * (kept.data_cost[0] - fitted.data_cost[0]) * bw
    return kept if excess <= IDENTITY_BIC * len(held) * np.log(n_eff) else fitted


def _rmse(opts, t, Y, params):
    """RMSE (mV) of each lead's model ``params`` (L, P) of the median beats ``Y``."""
    lay = opts.layout
    model = np.stack([mesa_sum(t, p, baseline=opts.baseline, steps=lay.n_steps)
                      for p in params])
    return np.sqrt(np.mean((Y - model) ** 2, axis=1))


def overlap_joint(opts, sigs, r, start, end, fs, usable, rr_med, primary, first, follow=()):
    """The joint template of beats whose waves overlap their neighbours' (the primary
    lead's own fit took them out: :mod:`gmesa.ecg.overlap`), as one lead's is fitted:
    a joint fit on the windows that cut the waves (:func:`~gmesa.ecg.beats.beat_windows`),
    then each lead's median beat on windows from the previous QRS to the next fitted from
    its view of that fit with the neighbours' waves tied to its own
    (:func:`~gmesa.ecg.periodic.tied_template`), those waves taken out of each lead and
    the joint template fitted on the leads less them, in the windows [``start``,
    ``end``) of the primary's fit.  Returns (joint template, the leads less their
    neighbours' waves (float32 as the leads are), the GMF rows taken out of each); None
    when no template is built, the P is too near the previous T or U in the primary lead
    (:func:`~gmesa.ecg.overlap.apart`) or the tied fit moved its T
    (:func:`~gmesa.ecg.overlap.same_t`)."""
    n = sigs[0].size
    jt = joint_template(opts, sigs, r, *beat_windows(r, n, fs)[:2], fs, usable, rr_med,
                        primary, first, follow=follow)
    if jt is None:
        return None
    qrs = extents(opts, jt.fits[primary].params)[1:3]
    wide = overlap_windows(r, n, fs, (-np.inf, *qrs, np.inf))
    comps = []
    for sig, fit in zip(sigs, jt.fits):
        med = median_beat(sig, r, *wide, usable, fs)
        if med is None:
            return None
        params = tied_template(opts, fit, med[0], med[1], rr_med,
                               noise=template_noise(fit, opts.bandwidth(fs)))
        if params is None:
            return None
        comps.append(reaching_waves(opts, params))
    less = [without_neighbours(s, r, fs, c) for s, c in zip(sigs, comps)]
    made = joint_template(opts, less, r, start, end, fs, usable, rr_med, primary, first,
                          owns=comps, follow=follow)
    if made is None or not (apart(opts, made.fits[primary].params, rr_med)
                            and same_t(opts, jt.fits[primary].params, opts,
                                       made.fits[primary].params)):
        return None
    return made, less, comps
