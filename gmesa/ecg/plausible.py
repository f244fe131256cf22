"""Is a lead an ECG at all?  Evidence from its beats, before any interval is reported.

Noise, a sine, or a channel of another signal still gives "R peaks" (a detector finds
the largest deflections of anything) and fitted "beats".  An ECG's beats share one shape
led by a steep QRS; those do not.  Two measures of the beats around the detected R peaks
(the cleaned lead, mV):

* ``explained``: the median over the beats of the share of each beat's variance that the
  median beat explains (1 - SSE / SST);
* ``qrs_slope``: the median beat's steepest slope within 40 ms of R over its median
  slope (a QRS is far steeper than the rest of a beat, which is mostly flat).

Measured with :func:`beat_evidence` after :func:`~gmesa.ecg.fit_record` on the leads
beside the project (LUDB lead ii, QTDB both leads: 310 leads): ``explained`` 0.33 at the
lowest (QTDB sel104 V2, whose ``qrs_slope`` is 46), 0.49 next; ``qrs_slope`` 7.7 at the
lowest (LUDB 116), median 53.  White, pink and band-limited noise: ``explained``
0.03-0.16 with ``qrs_slope`` 6.4-6.8; a 1.2 Hz sine: ``qrs_slope`` 1.3.
A lead is no ECG when its beats have no QRS (``qrs_slope`` below :data:`MIN_QRS_SLOPE`)
or share no shape and no QRS stands out (``explained`` below :data:`MIN_EXPLAINED` and
``qrs_slope`` below :data:`CLEAR_QRS_SLOPE`).
"""
from __future__ import annotations

import numpy as np

#: a median beat whose QRS is less steep than this many times its median slope has no QRS
MIN_QRS_SLOPE = 3.0
#: beats whose median beat explains less than this share of their variance share no shape
MIN_EXPLAINED = 0.25
#: ... which a QRS this steep (times the median slope) still makes an ECG
CLEAR_QRS_SLOPE = 15.0
#: at most this many beats (evenly spaced) are compared
MAX_BEATS = 300
#: :func:`lead_is_ecg` looks at this many seconds of a lead, from its start
EXCERPT_S = 120.0


def beat_evidence(sig, r, fs):
    """(explained, qrs_slope) of the beats at R peaks ``r`` (samples) of the cleaned lead
    ``sig`` (mV) at ``fs`` Hz, in windows of -0.25 to +0.45 s around R (shorter at fast
    rates: 35% and 60% of the median RR); (NaN, NaN) with fewer than 5 whole windows."""
    sig = np.asarray(sig)  # not copied: a day's lead is hundreds of MiB as float64
    r = np.asarray(r, dtype=np.int64)
    rr = float(np.median(np.diff(r))) / fs if r.size > 1 else 1.0
    before = int(min(0.25, 0.35 * rr) * fs)
    after = int(min(0.45, 0.6 * rr) * fs)
    r = r[(r - before >= 0) & (r + after < sig.size)]
    if r.size > MAX_BEATS:
        r = r[np.linspace(0, r.size - 1, MAX_BEATS).astype(int)]
    segs = (sig[r[:, None] + np.arange(-before, after)[None, :]].astype(np.float64) if r.size
            else np.zeros((0, 1)))
    segs = segs[np.all(np.isfinite(segs), axis=1)]
    if segs.shape[0] < 5 or segs.shape[1] < 10:
        return float("nan"), float("nan")
    median = np.median(segs, axis=0)
    centred = segs - segs.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        explained = 1.0 - np.sum((segs - median) ** 2, axis=1) / np.sum(centred ** 2, axis=1)
    t = (np.arange(-before, after - 1) + 0.5) / fs        # slope sample times, s from R
    slope = np.abs(np.diff(median))
    typical = float(np.median(slope))
    steep = float(slope[np.abs(t) <= 0.04].max()) / typical if typical > 0 else np.inf
    return float(np.nanmedian(explained)), steep


def is_ecg(explained, qrs_slope):
    """Do the measures of :func:`beat_evidence` leave the lead an ECG?  (NaN, too few
    beats to tell: yes.)"""
    if qrs_slope < MIN_QRS_SLOPE:
        return False
    return not (explained < MIN_EXPLAINED and qrs_slope < CLEAR_QRS_SLOPE)


def lead_is_ecg(x, fs):
    """Does the lead ``x`` (samples in any unit) at ``fs`` Hz look like an ECG?  R peaks
    are detected in its first :data:`EXCERPT_S` seconds and its beats judged by
    :func:`beat_evidence` and :func:`is_ecg`: a lead-off line (no beat) or noise says no
    -- before a lead is chosen to set the R peaks of several."""
    from .clean import clean, fill_gaps
    from .rpeaks import detect_rpeaks

    x = np.asarray(x[: int(EXCERPT_S * fs)], dtype=float)
    if not np.isfinite(x).any():
        return False
    r = detect_rpeaks(x, fs)
    if r.size == 0:
        return False
    return is_ecg(*beat_evidence(clean(fill_gaps(x)[0], fs, lowpass=40.0), r, fs))
