"""Is a P or T wave there?  Deciding from the fitted components, not inventing waves.

A wave counts as present when the evidence says so (:func:`evident`), or (P only) when
the record's template beat shows it and the beat's P looks like the template's, or
when most beats put a P wave at one place with one sign (:func:`steady_p`); then the P
waves of a stretch must keep their usual place and sign (:func:`consistent_p`).
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from .._kernels import mesa_sum_rows_into
from ..core import gmf, mesa_sum
from .fiducials import RULE, component_edges
from .waves import wave_layout

#: the longest P wave (onset to offset, s) taken for one; LUDB's longest is 0.25 s,
#: its 99th percentile 0.16 s
P_LONGEST = 0.25

#: a P wave reaches at least this fraction of the beat's R amplitude
P_MIN_OF_R = 0.02

#: RR intervals varying more than this (coefficient of variation) make a rhythm
#: irregular
IRREGULAR_CV = 0.10

#: a P wave ends at least this long (s) before the QRS onset (the PR segment)
PR_SEGMENT_MIN = 0.015

#: in an irregular rhythm, a P wave is locked to the QRS: over the beats, its
#: coefficient in the samples (:func:`p_lock`) has a mean at least this many standard
#: deviations (97.7% of beats share its sign).  Fibrillation waves are not locked: the
#: LUDB odd records whose RR jumps (atrial fibrillation or flutter, all) reach 1.44
P_LOCK = 2.0

#: the lock must be shown at this one-sided confidence: its estimate from a few beats
#: is uncertain, so what is compared with :data:`P_LOCK` is its lower confidence bound
LOCK_CONFIDENCE = 0.95
_LOCK_Z = NormalDist().inv_cdf(LOCK_CONFIDENCE)


class TemplateFit(NamedTuple):
    """The template beat's fit: sample times (s from R), parameter vector, residual
    variance per degree of freedom (mV^2), RMSE (mV) and the variance of the noise
    left in the template (mV^2; NaN: unknown, the residual variance stands in), the
    bounds it was fitted within, the summary of the model choice
    (:func:`~gmesa.ecg.choice.choose_model`; None: not made), the choice in force
    (a :class:`~gmesa.ecg.choice.Stretch`) and how far its reading of each boundary
    moves between halves of its beats ({boundary: s}, :mod:`gmesa.ecg.spread`; None:
    not measured) and the GMF rows (K, 5) taken out of every beat's neighbours' windows
    (:mod:`gmesa.ecg.overlap`; None: none)."""
    t: np.ndarray
    params: np.ndarray
    sigma2: float
    rmse: float
    noise2: float = np.nan
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    choice: dict | None = None
    stretch: tuple | None = None
    spread: dict | None = None
    neighbours: np.ndarray | None = None


def template_noise(fit, bandwidth):
    """The noise SD (mV) a template fit (:class:`TemplateFit`) says its beats carry: its
    residual RMSE over the square root of ``bandwidth`` (the low-pass share of Nyquist:
    correlated noise counts that share of its samples).  The population priors' spreads
    are divided by it (:mod:`gmesa.ecg.priors`)."""
    return fit.rmse / np.sqrt(bandwidth)


def like_template_p(amp, center, tp_amp, tp_center, near=0.040):
    """Beats whose P (``amp`` mV, ``center`` s from R) is the template's (``tp_amp``,
    ``tp_center``): within ``near`` s of its place, a third to three times its size."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = amp / tp_amp
    return (ratio >= 1 / 3) & (ratio <= 3) & (np.abs(center - tp_center) <= near)


def p_edges(params, waves):
    """(onset, offset) of the P component per row by the fiducial rule (s)."""
    _, c, h, sl, sr = params[:, wave_layout(waves).wave("P")].T
    (f_on, s_on), (f_off, s_off) = RULE["P_on"], RULE["P_off"]
    on, _ = component_edges(c, h, sl, sr, f_on, f_on)
    _, off = component_edges(c, h, sl, sr, f_off, f_off)
    return on + s_on, off + s_off


def p_is_wave(params, waves, qrs_on, t_start, edges=None):
    """Per row: is the fitted P component a P wave by its place?  It must start inside
    the beat window (from ``t_start``, s), end ``PR_SEGMENT_MIN`` before the QRS onset
    ``qrs_on`` (s) and last at most ``P_LONGEST``: a P 'wave' running into the QRS is
    the PR segment's sag, one starting before the window the previous T wave's tail, a
    very long one a baseline feature.  NaN ``qrs_on`` gives False.  ``edges``: the
    rows' :func:`p_edges`, when already at hand."""
    on, off = p_edges(params, waves) if edges is None else edges
    with np.errstate(invalid="ignore"):
        return ((off <= np.asarray(qrs_on) - PR_SEGMENT_MIN) & (on >= np.asarray(t_start))
                & (off - on <= P_LONGEST))


def evident(X, comp, lengths, sigma2, bw, rmse, snr):
    """Is one fitted component (``comp``: (N, 5) GMF rows) a wave rather than noise?
    Its energy must pass a BIC test against the residual variance ``sigma2`` (noise
    low-passed to ``bw`` of Nyquist is correlated: independent samples are counted)
    and its amplitude must exceed ``snr`` times the beat's RMSE (mV)."""
    shape = np.zeros(X.shape)
    mesa_sum_rows_into(np.ascontiguousarray(X), np.ascontiguousarray(comp), lengths,
                       0, 1, 0, 0, shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        evidence = np.sum(shape ** 2, axis=1) / sigma2 * bw
    n_eff = np.maximum(lengths * bw, 2.0)
    return (evidence > 5.0 * np.log(n_eff)) & (np.abs(comp[:, 0]) > snr * rmse)


def template_shows(template, wave, waves, bw, snr):
    """Does the template (a :class:`TemplateFit` of a beat with components ``waves``)
    show ``wave``?  The template's residual is mostly the model's misfit, not noise: the
    wave must stand out of that misfit (amplitude over ``snr`` times its RMSE), its
    energy pass the BIC test of :func:`evident` against the noise left in the median
    beat, and (P) reach :data:`P_MIN_OF_R` of R."""
    lay = wave_layout(waves)
    comp = template.params[lay.wave(wave)]
    if wave == "P" and abs(comp[0]) <= P_MIN_OF_R * abs(template.params[lay.index("R", "amplitude")]):
        return False
    noise2 = template.noise2 if np.isfinite(template.noise2) else template.sigma2
    return bool(evident(template.t[None, :], comp[None, :], np.array([template.t.size]),
                        noise2, bw, template.rmse, snr)[0])


def p_lock(X, Y, good, template, waves):
    """How firmly the template's P wave is locked to R over the ``good`` beats (sample
    times ``X``, s from R, and samples ``Y``, mV): each beat's samples over the wave's
    extent (center +- half width + 2.5 tails, from where half the windows start) are
    regressed on a line, the template's P shape and its other waves (Q, R, ... as one
    shape); the mean of the P coefficients over their standard deviation ``d``,
    positive where the beats share the template P's sign, less its standard error
    ``sqrt(1/n + d^2 / 2n)`` over ``n`` beats times the normal quantile of
    :data:`LOCK_CONFIDENCE` (the bound the lock is known to exceed).  NaN with fewer
    than 3 beats."""
    lay = wave_layout(waves)
    a, c, h, sl, sr = template.params[lay.wave("P")]
    lo = max(c - h - 2.5 * sl, float(np.median(X[good, 0])) if good.any() else -np.inf)
    hi = c + h + 2.5 * sr
    t = template.t[(template.t >= lo) & (template.t <= hi)]
    covers = good & (X[:, 0] <= t[0] + 1e-9) if t.size > 3 else np.zeros_like(good)
    if covers.sum() < 3:
        return np.nan
    rows = np.flatnonzero(covers)
    i0 = np.rint((t[0] - X[rows, 0]) / (X[rows, 1] - X[rows, 0])).astype(int)
    idx = np.minimum(i0[:, None] + np.arange(t.size), X.shape[1] - 1)
    same = np.all(np.abs(X[rows[:, None], idx] - t) < 1e-6, axis=1)  # no masked gap
    if same.sum() < 3:
        return np.nan
    y = Y[rows[same][:, None], idx[same]]
    others = np.delete(template.params[lay.waves_slice].reshape(-1, 5), lay.waves.index("P"), 0)
    design = np.stack([np.ones_like(t), t - t.mean(), gmf(t, 1.0, c, h, sl, sr),
                       mesa_sum(t, others.ravel(), baseline="none")], axis=1)
    coef = np.linalg.lstsq(design, y.T, rcond=None)[0][2] * np.sign(a)
    sd = np.std(coef, ddof=1)
    if not sd > 0:
        return np.inf
    d, n = float(np.mean(coef) / sd), coef.size
    return d - _LOCK_Z * math.sqrt(1.0 / n + d * d / (2.0 * n))


def rr_variation(rr):
    """Coefficient of variation of the finite RR intervals (0 with fewer than 3)."""
    ok = rr[np.isfinite(rr)]
    return float(np.std(ok) / np.mean(ok)) if ok.size > 2 else 0.0


def rr_jumps(rr):
    """Median change from one RR interval to the next over the median RR (0 with
    fewer than 3 changes): large where the rhythm is irregularly irregular, small in
    sinus arrhythmia, whose RR drifts."""
    d = np.abs(np.diff(rr))
    d = d[np.isfinite(d)]
    return float(np.median(d) / np.nanmedian(rr)) if d.size > 2 else 0.0


def usual_place(centers):
    """The usual place (s) of P centers ``centers``: the one with the most others within
    +-20 ms (the earliest of ties)."""
    c = np.sort(centers)
    density = np.searchsorted(c, c + 0.020, "right") - np.searchsorted(c, c - 0.020, "left")
    return float(c[int(np.argmax(density))])


def steady_p(amp, center, candidate, n_fitted, window=0.040, share=0.5, t_min=5.0):
    """Beats whose P wave is too small for their own evidence but belongs to a steady
    atrial rhythm: when at least ``share`` of the ``n_fitted`` beats have a
    ``candidate`` P (mV ``amp``, ``center`` s from R) within ``window`` of one place
    (the center with the most others within +-20 ms) and their amplitudes differ from
    zero (mean over its standard error beyond ``t_min``), those of the common sign and
    within a third to three times their median amplitude have a P wave."""
    none = np.zeros(amp.shape, dtype=bool)
    if np.count_nonzero(candidate) < 5:
        return none
    near = candidate & (np.abs(center - usual_place(center[candidate])) <= window)
    a = amp[near]
    if a.size < max(5, share * n_fitted) or not np.std(a) > 0:
        return none
    mean = float(np.mean(a))
    if abs(mean) * np.sqrt(a.size) / np.std(a, ddof=1) <= t_min:
        return none
    size = np.abs(amp) / np.median(np.abs(a[np.sign(a) == np.sign(mean)]))
    return near & (np.sign(amp) == np.sign(mean)) & (size >= 1 / 3) & (size <= 3)


def consistent_p(center, present, rr, window=0.040, amplitude=None, n_fitted=None,
                 lock=lambda: np.inf):
    """P waves keep their place before R in sinus rhythm; fitted 'P' components that
    wander (atrial fibrillation/flutter waves, noise, the previous T) are not P waves.

    Among beats with evidence for P, the usual P position is the center with the most
    others within +-20 ms.  A beat's P counts only within 40 ms of it (and, given
    ``amplitude``, with the sign most P waves there have).  When fewer than half the
    ``n_fitted`` beats (default: of the P candidates) have their P there and the rhythm
    is irregular (RR coefficient of variation > ``IRREGULAR_CV``), the stretch has no
    P waves at all: fibrillation waves land near any one place in a few beats only.
    Nor has it when the RR intervals jump (:func:`rr_jumps` > ``IRREGULAR_CV``), or
    fewer than half the beats have their P there in any rhythm, and ``lock()``
    (:func:`p_lock`) is below :data:`P_LOCK`: the template's P is not locked to the QRS
    (AV dissociation: the sinus P waves of a complete AV block under ventricular pacing
    fall anywhere before the paced QRS; LUDB 34, 74 and 8).
    Returns (present, reason for beats without P).
    """
    if np.count_nonzero(present) < 3:
        return present, "no P wave: no evidence above the noise"
    near = np.abs(center - usual_place(center[present])) <= window
    if amplitude is not None:  # and their usual sign
        sign = np.sign(np.sum(np.sign(amplitude[present & near])))
        near &= np.sign(amplitude) == sign if sign else True
    share = float(np.sum(near & present)) / max(n_fitted or present.sum(), 1)
    cv = rr_variation(rr)
    jumps = rr_jumps(rr)
    sparse, irregular = share < 0.5, max(cv, jumps) > IRREGULAR_CV
    if (sparse and cv > IRREGULAR_CV) or ((sparse or jumps > IRREGULAR_CV) and lock() < P_LOCK):
        why = (f"irregular rhythm (RR CV {cv:.2f}, jumps {jumps:.2f})" if irregular else
               f"P waves at one place before the QRS in {100 * share:.0f}% of the beats")
        return np.zeros_like(present), (
            f"no P wave: {why} and no consistent P position or P locked to the QRS")
    return present & near, "no P wave: no evidence, or not at the usual P position"


def wave_presence(X, params, lengths, good, sigma2, rmse, rr, waves, bw, snr, p_window,
                  template=None, qrs_on=None, Y=None, like=None):
    """Presence of P, T (and T2, U, R2) per beat, and the reason given for beats without P.

    ``X``, ``params``, ``lengths``: the beats' sample times (s from R), fitted
    parameter rows and lengths; ``good``: beats with a finite fit; ``sigma2``/``rmse``:
    residual variance per degree of freedom (mV^2) and RMSE (mV); ``rr``: RR intervals
    (s); ``bw``: the low-pass bandwidth as a fraction of Nyquist; ``snr``: the
    amplitude-to-RMSE ratio a wave needs; ``p_window``: how far (s) a P may sit from
    the usual P position; ``template``: the :class:`TemplateFit`, or None;
    ``qrs_on``: the fitted QRS onset per beat (s from R), or None; ``Y``: the beats'
    samples (mV), or None; ``like``: the beats like the template (None: all), over
    which the lock of the template's P is measured (:func:`p_lock`) -- where the
    template shows a P wave, over the beats whose P looks like it instead (measured
    over the beats like the template, LUDB odd's P PPV is 0.946 against 0.955, the
    other sets the same; session 16).

    A P wave that stands out in the template (the median beat, far less noisy than one
    beat; its P must also reach 2% of R) is taken as present in every beat whose
    fitted P looks like it: same sign, a third to three times its amplitude, center
    within 40 ms.  So is a P wave of a steady atrial rhythm (:func:`steady_p`, among
    beats whose P is a P wave by its place, :func:`p_is_wave`, given ``qrs_on``).  A P
    wave must reach 2% of the beat's R and last at most ``P_LONGEST``.
    """
    nb = len(params)
    lay = wave_layout(waves)
    present = {}
    for w in ("P", "T", "T2", "U", "R2"):
        present[w] = np.zeros(nb, dtype=bool)
        if w not in waves or not good.any():
            continue
        present[w][good] = evident(X[good], params[good][:, lay.wave(w)], lengths[good],
                                   sigma2[good], bw, rmse[good], snr)
    if "P" not in waves:
        return present, ""
    choice = None if template is None else template.choice
    if choice is not None and choice["hypothesis"]["P"] == "absent":
        present["P"][:] = False
        return present, (f"no P wave: the record's model choice ({choice['chosen']}; "
                         f"delta-BIC {choice['factor_margins']['P']:.0f})")
    o, r = lay.index("P", "amplitude"), lay.index("R", "amplitude")
    c = lay.index("P", "center")
    big_enough = np.abs(params[:, o]) >= P_MIN_OF_R * np.abs(params[:, r])
    present["P"] &= big_enough
    p_on, p_off = edges = p_edges(params, waves)
    steady = np.zeros(nb, dtype=bool)
    if qrs_on is not None:
        shaped = good & big_enough & p_is_wave(params, waves, qrs_on, X[:, 0], edges)
        steady = steady_p(params[:, o], params[:, c], shaped, int(good.sum()))
        present["P"] |= steady
    if template is not None and template_shows(template, "P", waves, bw, snr):
        like = good & like_template_p(params[:, o], params[:, c], template.params[o],
                                      template.params[c])
        present["P"] |= like
    present["P"] &= p_off - p_on <= P_LONGEST
    # a steady P place in at least half the beats is the consistent position an
    # irregular rhythm is asked for (sinus arrhythmia, AV block, ectopic beats)
    # ... and so is the template's P locked to the QRS (unless the steady place is P's)
    like = good if like is None else good & like
    lock = ((lambda: p_lock(X, Y, like, template, waves))
            if template is not None and Y is not None and not steady.any()
            else (lambda: np.inf))
    present["P"], note = consistent_p(params[:, c], present["P"], rr, p_window, params[:, o],
                                      None if steady.any() else int(good.sum()), lock)
    return present, note
