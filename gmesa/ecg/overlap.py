"""Beats whose waves overlap their neighbours' (a fast rate, a long QT or PR): the P
wave rides on the previous beat's T, the T wave runs into the next beat's P.

The template (:mod:`gmesa.ecg.template`) tells when: its P wave peaks where its window
begins (the window cut it), or its T wave ends less than
:data:`~gmesa.ecg.beats.T_MARGIN` (40 ms) before the next beat's P begins (a window
holding the T would reach into that P).  Then every beat's window reaches from its P
onset to its T end whatever the neighbours do, and the signal each beat is fitted on
is the signal less its neighbours' P and T waves
as the template fits them (:func:`without_neighbours`: every beat's waves are taken
out of the signal, the beat's own are added back on its window).  The template itself
is fitted once on windows from the previous QRS to the next with the neighbours' waves
tied to its own (:mod:`gmesa.ecg.periodic`: the previous T is the own T moved by one
RR, so the P cannot take it in), with the population prior on the plateau and tails of
P and T, then again on the signal less the neighbours' waves.  Only where that is sound:
the rhythm is regular (the neighbours' waves sit where the template puts them), the P
peaks where the previous T (and U) has fallen (:func:`apart`) and the tied fit leaves
the T where the windows that cut only its tail put it (:func:`same_t`); else the
windows stay as they were, and the onsets and ends they cut are withheld with a reason
(:mod:`gmesa.ecg.beats`).  The joint model's template does the same over its leads
(:func:`~gmesa.ecg.joint_template.overlap_joint`).
Times in s from R, amplitudes in mV.

:data:`APART_TAILS` was set on synthetic records with known waves (sinus rhythm at
115-170/min, first-degree AV block at 100-110/min, P on T at 140/min) and on QTDB sel38
(docs/results.md, session 26, when the template was fitted in damped rounds); the tied
fit was chosen on synthetic records (session 28, ``benchmarks/fast_rates.py``), the U
wave in :func:`apart` after QTDB sel36 (a long QT at 65/min: a P at a PR of 395 ms took
the previous U's tail).  No LUDB record takes this path.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core import mesa_sum
from .beats import PRE_MAX, T_END_GAP, T_MARGIN
from .fiducials import wave_fiducials
from .identity import IDENTITY_NEAR
from .presence import (IRREGULAR_CV, p_is_wave, rr_jumps, rr_variation, template_noise,
                       template_shows)
from .periodic import NEIGHBOUR_WAVES, tied_template
from .template import fitted_template, median_beat

#: a window stays this far (s) from the neighbours' QRS complexes
QRS_GUARD = 0.02

#: a beat's waves are taken out of the signal this far (s) on either side of its R peak
NEIGHBOUR_REACH = 1.0

#: the P must peak this many right tails (past its plateau) after the previous T's center
#: (where a Gaussian tail has fallen to exp(-1.5**2/2), a third of its height)
APART_TAILS = 1.5


def reaching_waves(opts, params):
    """(K, 5) GMF rows of the template fit's waves (``params`` in the layout of
    ``opts``) that reach into a neighbour's window (:data:`NEIGHBOUR_WAVES`)."""
    lay = opts.layout
    rows = [params[lay.wave(w)] for w in NEIGHBOUR_WAVES if w in lay.waves]
    return np.array(rows, dtype=float).reshape(-1, 5)


def own_waves(comps, t):
    """The GMF rows ``comps`` ((K, 5): :func:`reaching_waves`) on the
    times ``t`` (s from R, any shape), mV: what :func:`without_neighbours` took out of a
    beat's own window."""
    t = np.asarray(t, dtype=float)
    if len(comps) == 0:
        return np.zeros_like(t)
    return mesa_sum(t.ravel(), np.ravel(comps), baseline="none").reshape(t.shape)


def without_neighbours(sig, r, fs, comps, reach=NEIGHBOUR_REACH):
    """``sig`` (mV) less the GMF rows ``comps`` placed at every R peak (``r``, samples),
    each within ``reach`` s of it: a beat's window of it plus :func:`own_waves` on the
    window is the signal less the neighbours' waves.  Float32 stays float32 (a whole
    lead of a long record, in the joint model)."""
    out = np.array(sig, dtype=np.result_type(sig, np.float32), copy=True)
    if len(comps) == 0:
        return out
    k = int(round(reach * fs))
    shape = own_waves(comps, np.arange(-k, k + 1) / fs)
    for ri in np.asarray(r, dtype=np.int64):
        lo, hi = max(ri - k, 0), min(ri + k + 1, out.size)
        out[lo:hi] -= shape[lo - (ri - k): hi - (ri - k)]
    return out


def extents(opts, params):
    """(P or QRS onset, QRS onset, QRS offset, T end), s from R, of one template fit
    ``params`` (layout of ``opts``): the first wave's onset is the P's where the model
    has one, the T end the later of T's and a T2 lobe's."""
    fid = wave_fiducials(params[None, opts.layout.waves_slice], opts.waves)
    first = fid["P_on"][0] if "P_on" in fid and np.isfinite(fid["P_on"][0]) else fid["QRS_on"][0]
    t_end = np.fmax(fid["T_off"], fid.get("T2_off", np.nan))[0]
    return float(first), float(fid["QRS_on"][0]), float(fid["QRS_off"][0]), float(t_end)


def overlaps(opts, tmpl_fit, reach, rr, bw):
    """Do the template's waves overlap the neighbours' (``reach``: (T end, lead-in) s of
    :func:`~gmesa.ecg.template.template_reach`; ``rr`` the beats' RR intervals, s;
    ``bw`` the noise bandwidth)?  Where the rhythm is regular (neither the RR intervals'
    coefficient of variation nor their jumps over
    :data:`~gmesa.ecg.presence.IRREGULAR_CV`: P waves keep one place before R, and the
    neighbours' do too) and the template shows a P wave
    (:func:`~gmesa.ecg.presence.template_shows`, :func:`~gmesa.ecg.presence.p_is_wave`),
    when that P peaks within :data:`~gmesa.ecg.beats.T_END_GAP` of the template's
    window start (the window cut it), or the T end lies less than
    :data:`~gmesa.ecg.beats.T_MARGIN` before the next beat's P onset (the window that
    holds the T would reach into that P)."""
    if tmpl_fit is None or reach is None or "P" not in opts.waves:
        return False
    if max(rr_variation(rr), rr_jumps(rr)) > IRREGULAR_CV:
        return False
    lay, p = opts.layout, tmpl_fit.params
    fid = wave_fiducials(p[None, lay.waves_slice], opts.waves)
    if not (template_shows(tmpl_fit, "P", opts.waves, bw, opts.wave_snr)
            and p_is_wave(p[None, lay.waves_slice], opts.waves, fid["QRS_on"], -np.inf)[0]):
        return False
    cut = fid["P_peak"][0] < tmpl_fit.t[0] + T_END_GAP
    return bool(cut or reach[0] + T_MARGIN > np.nanmedian(rr) + fid["P_on"][0])


def overlap_windows(r, n, fs, extent):
    """[start, end) per beat (samples; R peaks ``r`` of a signal of ``n`` samples at
    ``fs`` Hz) reaching from the template's first onset to its T end (``extent``:
    :func:`extents`) plus :data:`~gmesa.ecg.beats.T_MARGIN`, at most
    :data:`~gmesa.ecg.beats.PRE_MAX` before R, and never into a neighbour's QRS
    (within :data:`QRS_GUARD` of it)."""
    first, qrs_on, qrs_off, t_end = extent
    gaps = np.diff(r) / fs
    med = float(np.median(gaps)) if gaps.size else 1.0
    rr_prev = np.concatenate([[med], gaps])
    rr_next = np.concatenate([gaps, [med]])
    pre = np.minimum(min(-first + T_MARGIN, PRE_MAX), rr_prev - qrs_off - QRS_GUARD)
    post = np.minimum(t_end + T_MARGIN, rr_next + qrs_on - QRS_GUARD)
    start = r - np.round(pre * fs).astype(np.int64)
    end = r + np.round(post * fs).astype(np.int64) + 1
    return start, end


def apart(opts, params, rr):
    """Can the template's P (``params``, layout of ``opts``) be told from the previous
    beat's T (``rr`` s before), and from its terminal lobe and U wave where the model has
    them?  The P peaks after each has fallen to a third of its height (its plateau and
    :data:`APART_TAILS` right tails past its center); nearer, how the two split what
    they share is the fit's guess."""
    lay = opts.layout
    if "T" not in lay.waves or "P" not in lay.waves:
        return False
    p_peak = params[lay.index("P", "center")]
    for wave in ("T", "T2", "U"):
        if wave in lay.waves:
            c, h, r = (params[lay.index(wave, k)] for k in ("center", "half_width",
                                                            "sigma_right"))
            if not p_peak > c + h + APART_TAILS * r - rr:
                return False
    return True


class Overlap(NamedTuple):
    """The beats of a record whose waves overlap: the template fit on the signal less
    the neighbours' waves (``opts`` its options, ``fit``, ``median``, ``qrs_on`` as
    :func:`~gmesa.ecg.template.fitted_template` gives them), the GMF rows taken out at
    every beat (``comps``), the signal less them (``sig``: :func:`without_neighbours`)
    and the windows ``start``, ``end`` (samples)."""
    opts: object
    fit: object
    median: tuple
    qrs_on: float
    comps: np.ndarray
    sig: np.ndarray
    start: np.ndarray
    end: np.ndarray


def overlap_template(opts, first, sig, r, fs, fit_me, regular, rr_med, stretch=None):
    """:class:`Overlap` of the beats at R peaks ``r`` (samples of ``sig``, mV, at ``fs``
    Hz): the median beat on windows from the previous QRS to the next (less
    :data:`QRS_GUARD`) is fitted with the neighbours' waves tied to its own
    (:mod:`gmesa.ecg.periodic`), from the template fit ``first`` ((options, fit) of the
    windows that cut the waves) and from the stretch's earlier chunk's fit on the signal
    less its neighbours' waves, where one was made, under the choice in force
    (``stretch``, else the one
    ``first`` made: the hypothesis, U wave, lobe and R'; taking the neighbours' waves
    out changes the median beat, not the record's waves).  Those neighbours' waves are
    then taken out of the signal (:func:`without_neighbours`) and the template fitted
    again on it from the caller's options ``opts``, on windows reaching its first onset
    and T end (:func:`overlap_windows`).  None when that leaves no template, when the P
    wave lies too near the previous beat's T or U to be told from it (:func:`apart`) or
    the tied fit moved the T (:func:`same_t`)."""
    held = stretch if stretch is not None else first[1].stretch  # chosen on ``first``
    used, fit0 = first[0], first[1]
    _, qrs_on, qrs_off, _ = extents(used, fit0.params)
    start, end = overlap_windows(r, sig.size, fs, (-np.inf, qrs_on, qrs_off, np.inf))
    usable = fit_me & regular if (fit_me & regular).any() else fit_me
    med = median_beat(sig, r, start, end, usable, fs)
    if med is None:
        return None
    t, y, _ = med
    params = tied_template(used, fit0, t, y, rr_med, None if held is None else held.hyp,
                           template_noise(fit0, used.bandwidth(fs)),
                           None if held is None else held.held("less", used.layout))
    if params is None:
        return None
    comps = reaching_waves(used, params)
    start, end = overlap_windows(r, sig.size, fs, extents(used, params))
    less = without_neighbours(sig, r, fs, comps)
    made = fitted_template(opts, less, r, start, end, fs, fit_me, regular, rr_med, held,
                           own=lambda tt: own_waves(comps, tt), kept=held is not None)
    if made[1] is None:
        return None
    now, fit, median, on = made
    if not (apart(now, fit.params, rr_med) and same_t(used, fit0.params, now, fit.params)):
        return None
    if held is not None and held.fit is not None:  # later chunks of the stretch start here too
        held.fit.setdefault("less", (now.layout, fit.params))
    return Overlap(now, fit, median, on, comps, less, start, end)


def same_t(opts0, params0, opts1, params1):
    """Do two template fits (parameters in the layouts of ``opts0`` and ``opts1``) place
    the T wave alike, its center within :data:`~gmesa.ecg.identity.IDENTITY_NEAR`?  A
    fit with the neighbours' waves that moves the T far from where the windows cut
    only the T's tail traded that T for the next beat's P."""
    if "T" not in opts0.waves or "T" not in opts1.waves:
        return True
    c0 = params0[opts0.layout.index("T", "center")]
    c1 = params1[opts1.layout.index("T", "center")]
    return bool(abs(c1 - c0) <= IDENTITY_NEAR)


def with_own(rows, comps):
    """The :class:`~gmesa.ecg.beats.BeatRows` ``rows`` (cut from the signal less every
    beat's ``comps``) with each beat's own added back on its valid samples."""
    Y = np.where(rows.valid, rows.Y + own_waves(comps, rows.X), 0.0)
    return rows._replace(Y=Y, Yv=np.where(rows.valid, Y, np.nan))
