"""The template beat: the median of the regular beats, its fit from several starts,
and how much each beat's QRS looks like it.

Times in seconds from R, amplitudes in mV.  The template's fit starts every beat
that looks like it and decides, for a whole record, whether a U wave is modelled; the
hypotheses of the record-level model choice (:mod:`gmesa.ecg.choice`) are fitted here
and scored on the beats (:func:`chosen_template`).
"""
from __future__ import annotations

import math
from dataclasses import replace
import numpy as np

from .._nanstats import nanmedian
from ..core import mesa_sum
from ..solvers import fit_many
from .beatmodel import (QRS_MISFIT_PRD, beat_bounds, best_start, lobe_bounds, span_prd,
                        t_latest, with_steps)
from .beats import T_MARGIN, beat_windows
from .choice import (Stretch, beat_bic, beat_sample, choose_model, constrain, options_for,
                     same_stretch)
from .fiducials import wave_fiducials
from .identity import IDENTITY_NEAR
from .init import clip_into, guess_beat
from .presence import TemplateFit, p_is_wave, template_shows
from .rprime import R_PRIME_APART, R_PRIME_REACH, hold_r_prime, r_prime_bounds, r_prime_cap
from .waves import QTC_TYPICAL, in_layout, observed_extrema, qrs_onset

#: the median beat is taken over at most this many beats
TEMPLATE_BEATS = 400


def median_beat(sig, r, start, end, usable, fs):
    """Median beat on the median window, from up to :data:`TEMPLATE_BEATS` usable
    beats: (t, y, noise2), ``t`` s from R, ``y`` mV and ``noise2`` the variance (mV^2)
    of the noise left in the median (:func:`median_on`).  None when no usable beat fits
    in the signal."""
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return None
    if idx.size > TEMPLATE_BEATS:
        idx = idx[np.linspace(0, idx.size - 1, TEMPLATE_BEATS).astype(int)]
    pre = int(np.median(r[idx] - start[idx]))
    post = int(np.median(end[idx] - r[idx]))
    keep = idx[(r[idx] - pre >= 0) & (r[idx] + post <= sig.size)]
    offs = np.arange(-pre, post)
    med = median_on(sig, r[keep], offs)
    return None if med is None else (offs / fs, *med)


def median_on(sig, r, offs):
    """(y, noise2) of the beats at R peaks ``r`` (samples, each with ``offs`` inside
    ``sig``): ``y`` their median on the sample offsets ``offs`` (mV), ``noise2`` the
    variance (mV^2) of the noise left in it, from the spread of the beats around it
    (1.4826 MAD per sample, its median over the window, squared, times pi/2 over the
    number of beats).  Samples masked in every beat are interpolated.  None without a
    beat or when every sample is masked."""
    if len(r) == 0:
        return None
    segs = sig[np.asarray(r)[:, None] + offs[None, :]]
    tmpl = nanmedian(segs, axis=0)
    gap = ~np.isfinite(tmpl)  # masked in every beat: an artefact locked to R (a pacing spike)
    if gap.all():
        return None
    if gap.any():
        tmpl[gap] = np.interp(np.flatnonzero(gap), np.flatnonzero(~gap), tmpl[~gap])
    dev = segs - tmpl - nanmedian(segs - tmpl, axis=1, keepdims=True)  # beat level apart
    spread = 1.4826 * nanmedian(np.abs(dev), axis=0)
    noise2 = float(np.nanmedian(spread) ** 2 * (math.pi / 2) / len(r))
    return tmpl, noise2


def beat_noise2(noise2, usable):
    """The variance (mV^2) of one beat's noise from the ``noise2`` of a median beat
    (:func:`median_on`) over the ``usable`` beats (bool per beat; :func:`median_beat`
    takes at most :data:`TEMPLATE_BEATS` of them): the spread of the beats about their
    median, squared (``median_on``'s pi/2 over the number of beats undone); 0 where
    ``noise2`` is unknown."""
    n = min(int(np.count_nonzero(usable)), TEMPLATE_BEATS)
    return np.nan_to_num(np.asarray(noise2, dtype=float) * n * 2.0 / math.pi)


def _corr_rows(segs, tmpl):
    a = segs - np.nanmean(segs, axis=1, keepdims=True)
    b = tmpl - np.mean(tmpl)
    num = np.nansum(a * b, axis=1)
    den = np.sqrt(np.nansum(a * a, axis=1) * np.sum(b * b)) + 1e-30
    return num / den


def qrs_corr(sig, r, fs, tt, ty):
    """Correlation of each beat's QRS (+-100 ms around R peaks ``r``, samples) with the
    median beat's (``tt`` s from R, ``ty`` mV)."""
    core = np.arange(-int(0.1 * fs), int(0.1 * fs) + 1)
    ci = np.clip(r[:, None] + core[None, :], 0, sig.size - 1)
    core_t = np.clip(core + int(round(-tt[0] * fs)), 0, ty.size - 1)
    return _corr_rows(np.where(np.isfinite(sig[ci]), sig[ci], np.nan), ty[core_t])


def _fit_rows(opts, t, y, starts, lo, hi):
    """The template ``y`` fitted from each row of ``starts`` within [``lo``, ``hi``]
    (tight tolerances: one curve, fitted once)."""
    return fit_many(t, np.tile(y, (len(starts), 1)), starts, lo, hi, steps=len(opts.steps),
                    max_iter=400, baseline=opts.baseline, ftol=1e-10, xtol=1e-10,
                    gtol=1e-10, check=False, stderr=False)


def _starts(opts, t, y, rr, qrs_on, lo, hi, held=None):
    """(params, costs) of the template ``y`` fitted within [``lo``, ``hi``] from the
    largest P bump, the largest upward and the largest downward one, and from ``held``
    (a parameter vector of ``opts``' layout; None: none)."""
    def start(p_sign):
        guess = guess_beat(t, y, opts.waves, opts.n_baseline, qrs_on, p_sign,
                           float(t_latest(rr)))
        return with_steps(guess, opts)

    rows = [start(ps) for ps in (0.0, 1.0, -1.0)] + ([] if held is None else [held])
    res = _fit_rows(opts, t, y, clip_into(np.array(rows), lo, hi), lo, hi)
    return res.params, res.cost


def fit_template(opts, t, y, rr, qrs_on, noise2=np.nan, hyp=None, cache=None, near=None,
                 held=None):
    """Fit the template beat (``t`` s from R, ``y`` mV; median RR ``rr`` s, observed
    QRS onset ``qrs_on`` s, noise variance ``noise2`` mV^2) and return its
    :class:`TemplateFit`.  The fit starts from several places (:func:`_starts`);
    :func:`~gmesa.ecg.beatmodel.best_start` picks among them.  ``hyp``: a
    :class:`~gmesa.ecg.choice.Hypothesis` (None: none): the starts are fitted free of
    its signs (an absent P stays absent) and the best fit that has its signs is kept;
    when none has, the starts are fitted again within its signs.  ``cache``: a dict
    keeping the free fits for the other hypotheses of one template.  ``near``: a
    template fit (of ``opts``) whose R' this one keeps, as the beats do
    (:func:`~gmesa.ecg.rprime.hold_r_prime`).  ``held``: the parameter vector (of
    ``opts``' layout) of the template fit of the choice in force, one more start."""
    ext, *base = template_bounds(opts, t, y, rr, qrs_on)
    if near is not None and "R2" in opts.waves:
        hold_r_prime(opts.layout, *base, near.params, ext[0])
    lo, hi = base if hyp is None else constrain(opts, hyp, *base)
    free = None if hyp is None else hyp._replace(p="absent" if hyp.p == "absent" else "free",
                                                 t="free")
    key = (free, opts.waves)
    if cache is None or key not in cache:
        f_lo, f_hi = base if free is None else constrain(opts, free, *base)
        found = _starts(opts, t, y, rr, qrs_on, f_lo, f_hi, held)
        cache = {} if cache is None else cache
        cache[key] = found
    params, costs = cache[key]
    inside = np.all((params >= lo) & (params <= hi), axis=1)
    if inside.any():
        params, costs = params[inside], costs[inside]
    else:
        params, costs = _starts(opts, t, y, rr, qrs_on, lo, hi, held)
    best = best_start(params, costs, opts.waves, qrs_on, t[0])
    return _template_fit(t, params[best], costs[best], noise2, lo, hi)


def _template_fit(t, params, cost, noise2, lo, hi):
    """The :class:`TemplateFit` of ``params`` fitted on the grid ``t`` within [``lo``,
    ``hi``] at ``cost`` (0.5 SSE, mV^2): residual variance per degree of freedom (the
    free parameters counted) and RMSE."""
    cost = float(cost)
    dof = max(t.size - int(np.sum(hi > lo)), 1)
    return TemplateFit(t, params, 2.0 * cost / dof, math.sqrt(2.0 * cost / t.size),
                       noise2, lo, hi)


def template_bounds(opts, t, y, rr, qrs_on):
    """(observed (R, Q, S) extrema mV, lower, upper) of the median beat ``y`` (mV, ``t``
    s from R; median RR ``rr`` s, observed QRS onset ``qrs_on`` s) in the layout of
    ``opts``: the beats' bounds (:func:`~gmesa.ecg.beatmodel.beat_bounds`) over its window."""
    ext = [v[0] for v in observed_extrema(t, y - np.median(y))]
    return (ext, *beat_bounds(opts, ext, t[0], t[-1], rr, qrs_on))


def _fit_from(opts, t, y, start, lo, hi, noise2):
    """The :class:`TemplateFit` of the median beat ``y`` fitted once from ``start``
    within [``lo``, ``hi``] (noise variance ``noise2`` mV^2)."""
    res = _fit_rows(opts, t, y, clip_into(start, lo, hi)[None], lo, hi)
    return _template_fit(t, res.params[0], res.cost[0], noise2, lo, hi)


def chosen_template(opts, median, beats, rr, qrs_on, bw, stretch=None, kept=False,
                    less=False):
    """(options, :class:`TemplateFit`) of the hypothesis the beats choose
    (:func:`~gmesa.ecg.choice.choose_model`): each is fitted on the median beat
    ``median`` ((t s from R, y mV, noise variance mV^2); median RR ``rr`` s, observed
    QRS onset ``qrs_on`` s), then scored by the BIC of ``beats`` (rows on its grid, mV)
    fitted from that fit; ``bw`` the share of the Nyquist band the low-pass leaves.  The
    chosen model then gains a U wave (:func:`with_u_wave`) and a terminal T lobe
    (:func:`with_t_lobe`) where the template asks for them.
    ``stretch``: the choice in force from an earlier chunk
    (:class:`~gmesa.ecg.choice.Stretch`; None: none): while the median beat still looks
    like its own (:func:`~gmesa.ecg.choice.same_stretch`) its whole model is kept (the
    hypothesis, its U wave and its lobe) and only that one is fitted; where it does not,
    the beats choose again and the U wave and the lobe are decided again (``kept``: it is
    kept whatever the median beat looks like); the kept model is fitted from the choice's
    own template fit too (that of the signal less the neighbours' waves when ``less``,
    :mod:`gmesa.ecg.overlap`).  The fit carries
    the summary of the choice (``choice``) and the choice in force (``stretch``); the
    options are the model fitted (the U wave, the lobe ``T2``)."""
    t, y, noise2 = median
    if stretch is not None and (kept or same_stretch(stretch, t, y, opts.model_choice)):
        used = options_for(opts, stretch.hyp)
        fit = fit_template(used, t, y, rr, qrs_on, noise2, stretch.hyp,
                           held=stretch.held("less" if less else "cut", used.layout))
        if stretch.lobe:
            used, fit = with_t_lobe(replace(used, t_lobe=True), fit, t, y, rr, qrs_on,
                                    noise2, bw)
        if stretch.r_prime:
            used, fit = with_r_prime(replace(used, r_prime=True), fit, t, y, rr, qrs_on,
                                     noise2, bw)
        return used, fit._replace(choice=stretch.summary, stretch=stretch)
    hyp, fit, summary = _choose(opts, median, beats, rr, qrs_on, bw)
    used, fit = with_u_wave(options_for(opts, hyp), fit, t, y, rr, qrs_on, noise2, hyp)
    used, fit = with_t_lobe(used, fit, t, y, rr, qrs_on, noise2, bw)
    used, fit = with_r_prime(used, fit, t, y, rr, qrs_on, noise2, bw)
    hyp = hyp._replace(u="U" in used.waves)
    summary["hypothesis"].update(U=hyp.u, T2="T2" in used.waves, R2="R2" in used.waves)
    stretch = Stretch(hyp, t, y, summary, lobe="T2" in used.waves,
                      r_prime="R2" in used.waves, fit={"cut": (used.layout, fit.params)})
    return used, fit._replace(choice=summary, stretch=stretch)


def _choose(opts, median, beats, rr, qrs_on, bw):
    """(hypothesis, its template fit, summary) of the choice the ``beats`` make
    (:func:`chosen_template`)."""
    t, y, noise2 = median
    rows = beats if len(beats) else y[None, :]
    fits, cache = {}, {}

    def evaluate(hyp):
        used = options_for(opts, hyp)
        fits[hyp] = fit = fit_template(used, t, y, rr, qrs_on, noise2, hyp, cache)
        return beat_bic(used, t, rows, y, fit.params, fit.lower, fit.upper, bw)

    hyp, summary = choose_model(opts, evaluate)
    if hyp not in fits:  # nothing to choose
        fits[hyp] = fit_template(options_for(opts, hyp), t, y, rr, qrs_on, noise2, hyp, cache)
    summary["n_beats"] = len(beats)
    return hyp, fits[hyp], summary


def with_u_wave(opts, tmpl_fit, t, y, rr, qrs_on, noise2, hyp=None):
    """(options, template fit), with a U wave added when ``opts.u_wave`` is "auto" and
    the template's T peaks later than the latest T (:data:`~gmesa.ecg.waves.T_LATEST`):
    that late bump is a U wave, and the template is fitted again with T before it and
    U after (under the constraints of ``hyp``)."""
    if opts.u_wave != "auto" or "T" not in opts.waves or "U" in opts.waves:
        return opts, tmpl_fit
    if tmpl_fit.params[opts.layout.index("T", "center")] <= t_latest(rr):
        return opts, tmpl_fit
    opts = replace(opts, u_wave=True)  # FitOptions adds the U wave
    return opts, fit_template(opts, t, y, rr, qrs_on, noise2, hyp)


#: the terminal lobe's center lies at most this long (s) after the inverted T's
LOBE_REACH = 0.25


def read_as_beats(opts, params, noise, rr):
    """{fiducial: s} of one parameter vector ``params`` (layout of ``opts``, a template
    fit) read as the beats are read (``opts.fiducials``; ``noise`` mV and ``rr`` s its
    features)."""
    fid = wave_fiducials(params[None, opts.layout.waves_slice], opts.waves,
                         method=opts.fiducials, noise=np.array([noise]), rr=np.array([rr]))
    return {k: float(v[0]) for k, v in fid.items()}


def _qtc(opts, params, noise, rr):
    """Bazett's QTc (s) of one template fit ``params`` read as the beats are read: its
    T end (the later of T's and a T2 lobe's) from the QRS onset, over sqrt(RR)."""
    fid = read_as_beats(opts, params, noise, rr)
    t_off = np.fmax(fid["T_off"], fid.get("T2_off", np.nan))
    return float((t_off - fid["QRS_on"]) / math.sqrt(rr))


def with_t_lobe(opts, tmpl_fit, t, y, rr, qrs_on, noise2, bw):
    """(options, template fit), with a terminal lobe (an upright ``T2`` right after an
    inverted T, its center within :data:`LOBE_REACH` of T's, compact:
    :func:`~gmesa.ecg.beatmodel.lobe_bounds`) where ``opts.t_lobe`` is "auto", the
    template's T is inverted and shown, the lobe stands out of the template
    (:func:`~gmesa.ecg.presence.template_shows`) and the QT read with the lobe lies
    nearer the typical one (:data:`~gmesa.ecg.waves.QTC_TYPICAL` times sqrt(RR ``rr``
    s)) than the QT read without it.  A biphasic T, or a depressed ST segment ending in
    a small upright T, ends where the upright part ends; an inverted T that a small
    bump merely follows ends before it (the lobe alone tells them apart in neither
    direction, session 19; the QT does in most).  With ``opts.t_lobe`` True (a later
    chunk of the stretch whose template had the lobe) the lobe is fitted whatever it
    shows."""
    if opts.t_lobe is False or "T" not in opts.waves or "T2" in opts.waves:
        return opts, tmpl_fit
    lay, tv = opts.layout, tmpl_fit.params
    a, c = tv[lay.index("T", "amplitude")], tv[lay.index("T", "center")]
    forced = opts.t_lobe is True
    if not forced and not (a < 0 and template_shows(tmpl_fit, "T", opts.waves, bw,
                                                    opts.wave_snr)):
        return opts, tmpl_fit
    used = replace(opts, waves=opts.waves + ("T2",), t_lobe=True)
    lay2 = used.layout
    _, lo, hi = template_bounds(used, t, y, rr, qrs_on)
    if a < 0:  # the T stays inverted
        j = lay2.index("T", "amplitude")
        hi[j] = min(hi[j], 0.0)
    lobe_bounds(lay2, lo, hi, c, c + LOBE_REACH)
    start = in_layout(tv[None], lay, lay2)[0]
    h, sr = tv[lay.index("T", "half_width")], tv[lay.index("T", "sigma_right")]
    start[lay2.wave("T2")] = (0.25 * abs(a), c + h + 2.0 * sr, 0.0, 0.02, 0.02)
    fit = _fit_from(used, t, y, start, lo, hi, noise2)
    if forced:
        return used, fit
    if not template_shows(fit, "T2", used.waves, bw, used.wave_snr):
        return opts, tmpl_fit
    without = _qtc(opts, tv, tmpl_fit.rmse, rr)
    with_lobe = _qtc(used, fit.params, tmpl_fit.rmse, rr)
    if abs(with_lobe - QTC_TYPICAL) < abs(without - QTC_TYPICAL):
        return used, fit
    return opts, tmpl_fit


def qrs_misfit(opts, params, t, y, noise, rr, reach=0.0):
    """(QRS PRD %, residual mV, the QRS's samples) of one template fit ``params`` (layout
    of ``opts``) of the median beat ``y`` (mV, ``t`` s from R): the PRD over its QRS
    (:func:`~gmesa.ecg.beatmodel.span_prd`) from the onset to the offset read as the
    beats' are (``noise`` mV and ``rr`` s their features), both ``reach`` (s) further out."""
    lay = opts.layout
    resid = y - mesa_sum(t, params, baseline=opts.baseline, steps=len(opts.steps))
    level = np.polynomial.polynomial.polyval(t, params[lay.baseline_slice])
    fid = read_as_beats(opts, params, noise, rr)
    on, off = fid["QRS_on"] - reach, fid["QRS_off"] + reach
    prd, _ = span_prd(t, resid, y - level, on, off)
    return float(prd[0]), resid, (t >= on) & (t <= off)


def with_r_prime(opts, tmpl_fit, t, y, rr, qrs_on, noise2, bw):
    """(options, template fit), with an R' (``R2``: a second lobe of R's sign inside the
    QRS, before or after R) where ``opts.r_prime`` is "auto", the template's QRS PRD
    (:func:`qrs_misfit`) is above :data:`~gmesa.ecg.beatmodel.QRS_MISFIT_PRD` (the
    model leaves part of the QRS out: a notched or fragmented QRS), the R' (started on
    the residual's largest deflection of R's sign inside the QRS, at least
    :data:`~gmesa.ecg.rprime.R_PRIME_APART` from R; held within
    :data:`~gmesa.ecg.rprime.R_PRIME_NEAR` of it, at most 1.5 times that deflection
    plus 5% of R: :func:`~gmesa.ecg.rprime.r_prime_bounds`; the other parameters
    within the template fit's bounds) stands out of the template
    (:func:`~gmesa.ecg.presence.template_shows`) and the QRS PRD with it is at most half
    the PRD without.  With ``opts.r_prime`` True (a later chunk of the stretch whose
    template had it) the R' is fitted whatever it shows."""
    if opts.r_prime is False or "R2" in opts.waves:
        return opts, tmpl_fit
    lay, tv = opts.layout, tmpl_fit.params
    before, resid, span = qrs_misfit(opts, tv, t, y, tmpl_fit.rmse, rr, R_PRIME_REACH)
    forced = opts.r_prime is True
    if not forced and not before > QRS_MISFIT_PRD:
        return opts, tmpl_fit
    sign = 1.0 if tv[lay.index("R", "amplitude")] >= 0 else -1.0
    inside = np.flatnonzero(span & (np.abs(t) >= R_PRIME_APART))
    if inside.size == 0:
        return opts, tmpl_fit
    k = inside[np.argmax(sign * resid[inside])]
    if not sign * resid[k] > 0:
        return opts, tmpl_fit
    used = replace(opts, waves=opts.waves + ("R2",), r_prime=True)
    lay2 = used.layout
    ext, lo, hi = template_bounds(used, t, y, rr, qrs_on)
    kept = [lay2.labels.index(name) for name in lay.labels]  # the hypothesis, the lobe
    lo[kept], hi[kept] = tmpl_fit.lower, tmpl_fit.upper
    r_prime_bounds(lay2, lo, hi, t[k], r_prime_cap(resid[k], ext[0]))
    start = in_layout(tv[None], lay, lay2)[0]
    start[lay2.wave("R2")] = (resid[k], t[k], 0.0, 0.004, 0.004)
    fit = _fit_from(used, t, y, start, lo, hi, noise2)
    if forced:
        return used, fit
    after = qrs_misfit(used, fit.params, t, y, tmpl_fit.rmse, rr, R_PRIME_REACH)[0]
    if template_shows(fit, "R2", used.waves, bw, used.wave_snr) and after <= 0.5 * before:
        return used, fit
    return opts, tmpl_fit


def fitted_template(opts, sig, r, start, end, fs, fit_me, regular, rr_med, stretch=None,
                    own=None, kept=False):
    """(options, :class:`TemplateFit`, median beat (t s from R, y mV), its observed QRS
    onset s) from the regular fitted beats (all fitted beats if none is regular); the
    waves the record shows are chosen on those beats, or kept from the choice in force
    ``stretch`` (:func:`chosen_template`).  ``own``: a function of the times (s from R)
    added to every beat cut from ``sig`` (a signal less every beat's waves gets its own
    back: :mod:`gmesa.ecg.overlap`); ``kept``: as :func:`chosen_template` takes it.
    No beat to build it from: (options, None, None, NaN)."""
    usable = fit_me & regular
    tmpl = median_beat(sig, r, start, end, usable, fs)
    if tmpl is None:
        usable = fit_me
        tmpl = median_beat(sig, r, start, end, usable, fs)
    if tmpl is None:
        return opts, None, None, np.nan
    if own is not None:
        tmpl = (tmpl[0], tmpl[1] + own(tmpl[0]), tmpl[2])
    tt, ty, _ = tmpl
    on = float(qrs_onset(tt, ty)[0])
    beats = beat_sample(sig, r, tt, fs, usable)
    if own is not None:
        beats = beats + own(tt)[None, :]
    opts, fit = chosen_template(opts, tmpl, beats, rr_med, on, opts.bandwidth(fs), stretch,
                                kept, less=own is not None)
    return opts, fit, (tt, ty), on


def template_reach(opts, tmpl_fit, qrs_on, bw):
    """(t_end, lead_in) of the template's fit (``tmpl_fit``, a :class:`TemplateFit`;
    ``qrs_on`` the median beat's observed QRS onset), s: where its T wave ends after R
    (the fiducial rule's T off) and how long before R its first wave begins (the P
    onset when the template shows a P wave, else the QRS onset); ``bw`` the noise
    bandwidth (:meth:`FitOptions.bandwidth`).  None when the template shows no T wave."""
    waves = opts.waves
    if tmpl_fit is None or "T" not in waves or not template_shows(tmpl_fit, "T", waves, bw,
                                                                  opts.wave_snr):
        return None
    params = tmpl_fit.params[None, opts.layout.waves_slice]
    fid = wave_fiducials(params, waves)
    t_end = float(np.fmax(fid["T_off"], fid.get("T2_off", np.nan))[0])
    first = fid["QRS_on"][0]
    if ("P" in waves and template_shows(tmpl_fit, "P", waves, bw, opts.wave_snr)
            and p_is_wave(params, waves, qrs_on, -np.inf)[0]):  # it may start before the window
        first = fid["P_on"][0]
    if not (np.isfinite(t_end) and np.isfinite(first)):
        return None
    return t_end, -float(first)


def template_and_reach(opts, sig, r, start, end, fs, fit_me, regular, rr_med, stretch=None):
    """:func:`fitted_template` and its :func:`template_reach` (None without a template
    or its T wave): (options, template fit, median beat, QRS onset s, reach), reach
    (t_end, lead_in, back) in s as :func:`~gmesa.ecg.beats.beat_windows` takes it.
    When the template's T off plus :data:`~gmesa.ecg.beats.T_MARGIN` lies past the
    median beat's end, the T wave ran out of the windows: the template is built again on
    windows reaching as far as the next beat allows (:func:`~gmesa.ecg.beats.room`), and
    its T off taken from that template.  When its first wave's onset less the same
    margin lies before the median beat's start (a long PR interval), the windows also
    reach ``back`` to it, as far as the previous beat's T wave allows, and the lead-in is
    read off the template built on them, if that template still shows the first one's P
    wave (:func:`same_p`; else the windows do not reach back, ``back`` 0).
    ``stretch``: the choice in force from an earlier chunk (:func:`chosen_template`),
    given to every template."""
    bw = opts.bandwidth(fs)
    first = fitted_template(opts, sig, r, start, end, fs, fit_me, regular, rr_med, stretch)
    reach = template_reach(first[0], first[1], first[3], bw)
    if reach is None:
        return (*first, None)
    t_end, lead_in = reach
    later = t_end + T_MARGIN > first[2][0][-1]        # the T wave runs out of the windows
    back = lead_in + T_MARGIN if lead_in + T_MARGIN > -first[2][0][0] else 0.0
    last = beat_windows(r, sig.size, fs, reach=(np.inf, lead_in))[1] if later else end
    for b in ((back, 0.0) if back else (0.0,)):      # reaching back first, then not
        if not (later or b):
            break
        early = beat_windows(r, sig.size, fs, reach=(t_end, lead_in, b))[0]
        made = fitted_template(opts, sig, r, early, last, fs, fit_me, regular, rr_med, stretch)
        if b and not same_p(first[0].layout, first[1].params, made[0].layout, made[1].params):
            continue
        again = template_reach(made[0], made[1], made[3], bw)
        if again is None:
            return (*made, None)
        # the lead-in is read again only where the windows reach further back
        return (*made, (again[0] if later else t_end, again[1] if b else lead_in, b))
    return (*first, (t_end, lead_in, 0.0))


def same_p(lay_old, old, lay_new, new):
    """Is the P wave of the template fit ``new`` (parameter vector of layout ``lay_new``)
    the one of ``old`` (of ``lay_old``): the same sign, its center within
    :data:`~gmesa.ecg.identity.IDENTITY_NEAR`?"""
    if "P" not in lay_old.waves or "P" not in lay_new.waves:
        return "P" not in lay_old.waves and "P" not in lay_new.waves
    a, b = old[lay_old.index("P", "amplitude")], new[lay_new.index("P", "amplitude")]
    c, d = old[lay_old.index("P", "center")], new[lay_new.index("P", "center")]
    return bool(np.sign(a) == np.sign(b) and abs(c - d) <= IDENTITY_NEAR)
