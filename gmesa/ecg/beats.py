"""Beat windows around R peaks, and the beats as rows of samples."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


#: the window after R reaches this far (s) past the template's T off, where the next beat
#: allows it: the T component there has fallen below about 1% of its amplitude
T_MARGIN = 0.040

#: the window before R is at most this long (s)
PRE_MAX = 0.60

#: a T off (the fiducial rule's) closer than this (s) to the window's last sample is the
#: window's end, not the T wave's: no T off, QT or QTc is reported
T_END_GAP = 0.010


def beat_windows(r, n, fs, reach=None):
    """RR-adaptive windows [start, end) in samples around R peaks ``r`` (samples of a
    signal of ``n`` samples at ``fs`` Hz), so neither a long PR interval nor the T wave
    is cut at a fixed offset: before R the larger of 0.4 RR and RR - 0.5 sqrt(RR)
    (where the previous T wave has ended; 0.2-0.6 s), after R 0.62 RR (0.3-0.75 s).
    ``reach`` (t_end, lead_in[, back]), s, from the template (:func:`~gmesa.ecg.
    template.template_and_reach`): the window after R also reaches ``t_end`` +
    :data:`T_MARGIN` where the next beat allows it, up to its :func:`room` (its R peak
    less ``lead_in``), and never past the signal's end where it did not before; with
    ``back`` (s; a long PR interval), the window before R reaches back to it where the
    previous beat allows: up to its T wave's end (the RR before less ``t_end``), at
    most :data:`PRE_MAX`.
    Returns (start, end, RR before each beat in s (NaN for the first), median RR s)."""
    rr = np.diff(r) / fs
    med = float(np.median(rr)) if rr.size else 1.0
    rr_prev = np.concatenate([[med], rr]) if rr.size else np.array([med])
    pre = np.clip(np.maximum(0.40 * rr_prev, rr_prev - 0.5 * np.sqrt(rr_prev)), 0.20, PRE_MAX)
    post = np.clip(0.62 * next_rr(r, fs), 0.30, 0.75)
    if reach is not None and len(reach) > 2 and reach[2] > 0:
        back = np.minimum(reach[2], rr_prev - reach[0])
        pre = np.maximum(pre, np.minimum(back, PRE_MAX))
    start = r - np.round(pre * fs).astype(np.int64)
    end = r + np.round(post * fs).astype(np.int64) + 1
    if reach is not None:
        t_end, lead_in = reach[:2]
        longer = np.maximum(post, np.minimum(t_end + T_MARGIN, room(r, fs, lead_in)))
        end_long = r + np.round(longer * fs).astype(np.int64) + 1
        end = np.where(end <= n, np.minimum(end_long, n), end)
    rr_out = np.concatenate([[np.nan], rr]) if rr.size else np.array([np.nan])
    return start, end, rr_out, med


def next_rr(r, fs):
    """RR interval after each beat (s) of R peaks ``r`` (samples); the median RR for the
    last beat (1 s for a lone one)."""
    rr = np.diff(r) / fs
    med = float(np.median(rr)) if rr.size else 1.0
    return np.concatenate([rr, [med]])


def room(r, fs, lead_in):
    """Where (s after each R peak ``r``, samples) the next beat's waves begin: its R
    peak less ``lead_in`` (s, the template's first wave onset before R)."""
    return next_rr(r, fs) - lead_in


def t_end_seen(t_off, t_last, t_room):
    """(cut, note) per beat: is the T off ``t_off`` (s from R) no T wave's end but the
    window's?  It is when it lies within :data:`T_END_GAP` of the window's last sample
    ``t_last`` or beyond, or more than :data:`T_END_GAP` past ``t_room``, where the
    next beat's waves begin (the T runs into them: the model of this beat does not hold
    the next one's P; a T off touching the next P onset, as at a fast rate, is kept)."""
    with np.errstate(invalid="ignore"):
        at_end = t_off > t_last - T_END_GAP
        into_next = (t_off > t_room + T_END_GAP) & ~at_end
    note = np.where(at_end, "T wave runs to the window end",
                    np.where(into_next, "T wave runs into the next beat", ""))
    return at_end | into_next, note


def p_start_seen(p_peak, t_first):
    """(cut, note) per beat: does the P wave's peak ``p_peak`` (s from R) lie before the
    beat's window begins (``t_first``, its first sample, s from R), or within
    :data:`T_END_GAP` of it?  Then the window holds no rise of the P wave and its onset
    is the model's extrapolation into the previous beat (at a fast rate the P rides on
    the previous T): no P on, so no PR interval, is reported.  (An onset a little
    before the window, with the peak inside, is read from the rise: kept.)"""
    with np.errstate(invalid="ignore"):
        cut = p_peak < t_first + T_END_GAP
    return cut, np.where(cut, "P wave peaks at the window start", "")


def p_after_previous_t(p_on, t_off, rr):
    """(cut, note) per beat: does the P wave start (``p_on``, s from its R) before the
    previous beat's fitted T wave ends (``t_off`` of each beat, s from its own R; ``rr``
    the RR interval before each beat, s)?  Two waves that overlap cannot be told apart
    where they do, so the P's onset read there is no onset: no P on (no PR interval) is
    reported.  At a fast rate, or a long PR, the P rides on the previous T (a synthetic
    first-degree AV block at 100/min: PR read 209 ms for 317, on 92 of 99 beats)."""
    prev_end = np.concatenate([[np.nan], np.asarray(t_off, dtype=float)[:-1]]) - rr
    with np.errstate(invalid="ignore"):
        cut = np.asarray(p_on) < prev_end
    return cut, np.where(cut, "P wave starts before the previous T wave ends", "")


def add_reason(reason, mask, note):
    """Append ``note`` (a string, or one per beat) to ``reason`` where ``mask``, after a
    semicolon when a beat already has one."""
    note = np.broadcast_to(np.asarray(note, dtype=object), reason.shape)
    for i in np.flatnonzero(mask):
        reason[i] = note[i] if not reason[i] else f"{reason[i]}; {note[i]}"


def window_edge_check(fid, rows, fitted, t_room, reason, rr=None):
    """No T off (so no QT, QTc) where the window, not the T wave, ends it: T off within
    :data:`T_END_GAP` of the window's last sample, or past where the
    next beat begins (``t_room``, s from R; None: not known); and no P on (so no PR)
    where the P wave peaks where the window begins (:func:`p_start_seen`)
    or, given the RR intervals ``rr`` (s), starts before the previous beat's fitted T
    wave ends (:func:`p_after_previous_t`).  The reason says which."""
    last = rows.X[np.arange(rows.X.shape[0]), np.maximum(rows.lengths - 1, 0)]
    t_room = np.inf if t_room is None else t_room
    checks = [("P_on", p_after_previous_t(fid["P_on"], fid["T_off"], rr))] if rr is not None else []
    for key, (cut, note) in checks + [("T_off", t_end_seen(fid["T_off"], last, t_room)),
                                      ("P_on", p_start_seen(fid["P_peak"], rows.X[:, 0]))]:
        cut &= fitted
        fid[key] = np.where(cut, np.nan, fid[key])
        add_reason(reason, cut, note)


class BeatRows(NamedTuple):
    """Beat windows as rows: sample times ``X`` (s from R) and samples ``Y`` (mV; 0 past
    each row's ``lengths`` and where the signal is NaN); ``Xv``/``Yv`` the same with
    NaN past each row's length; ``valid`` marks the samples within it."""
    X: np.ndarray
    Y: np.ndarray
    Xv: np.ndarray
    Yv: np.ndarray
    valid: np.ndarray
    lengths: np.ndarray


#: a beat whose window is masked (glitches, clipping) beyond this fraction is not fitted
MAX_MASKED = 0.25


def beat_rows(sig, r, start, end, fs, artefacts=None):
    """(:class:`BeatRows`, status, reason) of the windows [``start``, ``end``) around R
    peaks ``r`` (samples): windows past the signal's ends, with NaN samples or flat get
    their status here; the others are "ok" (to be fitted).  ``artefacts``
    (:class:`~gmesa.ecg.artefacts.Artefacts` of ``sig``, whose masked samples are NaN):
    a window with masked samples is fitted without them (its row holds the other samples,
    at their own times) and says so in ``reason``; beyond :data:`MAX_MASKED` of the
    window it is not fitted (status "artefact")."""
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
    idx = np.minimum(st[:, None] + cols[None, :], n - 1)
    Y = np.where(valid, sig[idx], 0.0)
    X = (st[:, None] + cols[None, :] - r[:, None]) / fs
    if artefacts is not None and artefacts.masked:
        X, Y, valid, lengths = _without_artefacts(X, Y, valid, artefacts.mask[idx], edge,
                                                  status, reason)
        hit, note = artefacts.in_windows(st, en)
        hit &= ~edge
        reason[hit] = note[hit]
    nan_count = np.sum(valid & ~np.isfinite(Y), axis=1)
    bad_nan = (nan_count > 0) & (status == "ok")
    status[bad_nan] = "nan"
    reason[bad_nan] = [f"{c} NaN samples in the beat window" for c in nan_count[bad_nan]]
    Y[~np.isfinite(Y)] = 0.0
    Xv, Yv = np.where(valid, X, np.nan), np.where(valid, Y, np.nan)
    flat = (np.nanmax(Yv, axis=1) - np.nanmin(Yv, axis=1) < 1e-3) & (status == "ok")
    status[flat] = "flat"
    reason[flat] = "signal range below 0.001 in the beat window"
    return BeatRows(X, Y, Xv, Yv, valid, lengths), status, reason


def _without_artefacts(X, Y, valid, masked, edge, status, reason):
    """Rows with their masked samples left out (the rest moved left, times kept); windows
    masked beyond :data:`MAX_MASKED` get status "artefact"."""
    masked = masked & valid
    n_masked = masked.sum(axis=1)
    too_many = (n_masked > MAX_MASKED * valid.sum(axis=1)) & ~edge
    status[too_many] = "artefact"
    some = (n_masked > 0) & ~too_many & ~edge
    if some.any():
        keep = valid[some] & ~masked[some]
        order = np.argsort(~keep, axis=1, kind="stable")
        X, Y, valid = X.copy(), Y.copy(), valid.copy()
        X[some] = np.take_along_axis(X[some], order, axis=1)
        Y[some] = np.take_along_axis(Y[some], order, axis=1)
        valid[some] = np.take_along_axis(keep, order, axis=1)
    lengths = valid.sum(axis=1).astype(np.int64)
    Y = np.where(valid, Y, 0.0)
    return X, Y, valid, lengths
