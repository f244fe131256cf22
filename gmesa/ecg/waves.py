"""The ECG beat model: wave names, a typical lead-II beat, and physiological bounds.

Times are seconds relative to the R peak, amplitudes in mV (scaled by the beat's own
R amplitude where noted).  Layout per wave: [amplitude, center, half_width,
sigma_left, sigma_right] (see :func:`wave_layout`).
"""
from __future__ import annotations

import numpy as np

from .._deprecated import renamed_keywords
from ..core import Layout

WAVES = ("P", "Q", "R", "S", "T")

#: a typical lead-II beat at 60 beats/min (mV, s relative to R)
TYPICAL_BEAT = {
    "P": (0.15, -0.165, 0.010, 0.022, 0.020),
    "Q": (-0.10, -0.026, 0.000, 0.007, 0.006),
    "R": (1.20, 0.000, 0.002, 0.009, 0.009),
    "S": (-0.25, 0.024, 0.000, 0.006, 0.010),
    "T": (0.30, 0.270, 0.020, 0.055, 0.035),
    "U": (0.05, 0.450, 0.000, 0.040, 0.040),
}

#: (center_min, center_max, sigma_min, sigma_max, half_width_max), seconds from R;
#: the T center range scales with the RR interval (see :func:`bounds`).  ``R2`` is a
#: second deflection of R's sign inside the QRS (an R' or a notch: a fragmented QRS),
#: before or after R; where it sits is read off the template (``gmesa.ecg.rprime``).
REGIONS = {
    "P": (-0.45, -0.05, 0.004, 0.080, 0.060),
    "Q": (-0.09, -0.008, 0.0015, 0.030, 0.020),
    "R": (-0.03, 0.03, 0.0015, 0.050, 0.030),
    "S": (0.008, 0.12, 0.0015, 0.040, 0.030),
    "R2": (-0.10, 0.12, 0.0015, 0.030, 0.020),
    "T": (0.08, 0.70, 0.006, 0.200, 0.200),
    "T2": (0.04, 0.40, 0.006, 0.200, 0.200),
    "U": (0.20, 0.75, 0.010, 0.080, 0.060),
}

#: the latest T peak, s after R per sqrt(RR / 1 s): the cardiologists' T peaks on the
#: LUDB calibration half (odd records, lead ii) reach 0.423 sqrt(RR).  A fitted T
#: later than this is a U wave taken for T (see fit_record's ``u_wave``)
T_LATEST = 0.43

#: the typical QT interval, s per sqrt(RR / 1 s) (Bazett's QTc): the mean over the LUDB
#: calibration half's records (odd numbers, lead ii) of each record's median QTc from the
#: cardiologists' marks, 0.421 s (SD over the records 0.039 s; benchmarks/qtc_prior.py).
#: Where an inverted T's reading with and without its terminal lobe disagree, the one
#: nearer this is kept (:func:`~gmesa.ecg.template.with_t_lobe`)
QTC_TYPICAL = 0.421


#: the P center keeps at least this far (s) before the observed QRS onset, and the Q
#: center at most this far (the slope-read onset can come late on a shallow Q wave)
P_BEFORE_QRS = 0.030
Q_BEFORE_QRS = 0.015


def wave_layout(waves):
    """The :class:`~gmesa.core.Layout` of the mesa components ``waves`` alone: where
    each wave's parameters sit in any beat's parameter vector (the waves come first,
    steps and the baseline after them)."""
    return Layout(waves, (), "none")


def typical_vector(names=WAVES, rr=1.0):
    """Flat vector (no baseline) of the typical beat; T moves with sqrt(RR)."""
    lay = wave_layout(names)
    vec = np.empty(lay.size)
    for n in names:
        vec[lay.wave(n)] = TYPICAL_BEAT[n]
    if "T" in names:
        vec[lay.index("T", "center")] *= np.sqrt(rr)
    return vec


def observed_extrema(t, y, sign=None):
    """(r, q, s): the R extremum within 30 ms of t = 0 and the deepest opposite-sign
    deflections 3-90 ms before and 3-120 ms after it, per row of ``y`` (mV, baseline
    removed).  ``t`` (s from R) and ``y`` are (N, n) or (n,); NaN marks unused samples.
    ``sign`` is the R polarity per row (default: the sign of the larger extremum)."""
    t = np.atleast_2d(t)
    y = np.atleast_2d(y)
    near = np.abs(t) <= 0.03
    top = np.nanmax(np.where(near, y, -np.inf), axis=1)
    bottom = np.nanmin(np.where(near, y, np.inf), axis=1)
    if sign is None:
        sign = np.where(np.abs(top) >= np.abs(bottom), 1.0, -1.0)
    sign = np.broadcast_to(np.asarray(sign, dtype=float), top.shape)
    ys = y * sign[:, None]
    r = np.where(sign > 0, top, bottom)
    q = np.nanmin(np.where((t >= -0.09) & (t <= -0.003), ys, np.inf), axis=1)
    s = np.nanmin(np.where((t >= 0.003) & (t <= 0.12), ys, np.inf), axis=1)
    q = np.where(np.isfinite(q), np.minimum(q, 0.0), 0.0) * sign
    s = np.where(np.isfinite(s), np.minimum(s, 0.0), 0.0) * sign
    return r, q, s


def qrs_onset(t, y, fraction=0.10, quiet_s=0.012, earliest_s=-0.15):
    """Start of the QRS complex (s from R) per row, read off the slope: walking left
    from the QRS's first steep slope (30% of the steepest within 60 ms of R, so a flat
    R or S top is not taken for it), the first sample after the last ``quiet_s``
    stretch whose slope stays below ``fraction`` of the steepest QRS slope.  P waves
    rise far more slowly than the QRS, so the onset separates them.  ``t`` (s from R)
    and ``y`` (mV) are (N, n) or (n,) rows sampled at one rate; NaN marks unused
    samples.  No quiet stretch after ``earliest_s`` gives ``earliest_s``."""
    t = np.atleast_2d(np.asarray(t, dtype=float))
    y = np.atleast_2d(np.asarray(y, dtype=float))
    dt = float(np.nanmedian(np.diff(t, axis=1)))
    slope = np.abs(np.diff(y, axis=1)) / dt
    slope = np.where(np.isfinite(slope), slope, 0.0)
    tm = 0.5 * (t[:, 1:] + t[:, :-1])  # slope sample times
    with np.errstate(invalid="ignore"):
        near_r = np.abs(tm) <= 0.06
        steep = np.max(np.where(near_r, slope, 0.0), axis=1, keepdims=True)
        first = np.min(np.where(near_r & (slope >= 0.3 * steep), tm, 0.0), axis=1,
                       keepdims=True)
        candidate = (tm < first) & (tm >= earliest_s)
    quiet = (slope < fraction * steep).astype(np.int64)
    k = max(int(round(quiet_s / dt)), 1)
    run = np.cumsum(quiet, axis=1)
    before = np.concatenate([np.zeros((run.shape[0], 1), np.int64), run[:, :-k]], axis=1)
    full = np.zeros(quiet.shape, dtype=bool)   # the k slopes ending here are all quiet
    full[:, k - 1:] = (run[:, k - 1:] - before[:, :run.shape[1] - k + 1]) == k
    ok = full & candidate
    last = ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    rows = np.arange(ok.shape[0])
    found = np.minimum(tm[rows, last] + 0.5 * dt, 0.0)
    return np.where(ok.any(axis=1), found, float(earliest_s))


@renamed_keywords(n_base="n_baseline")
def bounds(names, r_amplitude, window_start, window_end, n_baseline=1, q_depth=None,
           s_depth=None, qrs_on=None, t_latest=None):
    """Lower/upper bounds for beat windows [window_start, window_end] (s), the
    components ``names`` and ``n_baseline`` free baseline coefficients.

    Amplitudes are tied to what the beat shows, so components cannot cancel each
    other: R keeps the sign of ``r_amplitude`` (the observed R extremum) and stays
    within 0.5-1.4 times it (a second lobe ``R2``, an R', keeps R's sign and at most
    1.4 times it); Q and S take the opposite sign and at most 1.5 times the
    observed depth (``q_depth``/``s_depth``, mV) + 5% of R; P and T may take either
    sign, at most |R| + 0.2 mV.  Centers stay in their physiological region clipped
    to the window; given the observed QRS onset ``qrs_on`` (s, see :func:`qrs_onset`)
    the P center stays 30 ms before it and the Q center at most 15 ms before it, so P
    cannot join the QRS complex (NaN: no such limit).  Given ``t_latest`` (s) and a U
    wave among ``names``, the T center stays before it and the U center after it.
    Scalars give (P,) vectors; arrays of N beats give (N, P).
    """
    r_amplitude = np.asarray(r_amplitude, dtype=float)
    scalar = r_amplitude.ndim == 0
    r = np.atleast_1d(r_amplitude)
    t0 = np.broadcast_to(np.asarray(window_start, dtype=float), r.shape)
    t1 = np.broadcast_to(np.asarray(window_end, dtype=float), r.shape)
    ra = np.abs(r) + 1e-3
    neg = r < 0
    zero = np.zeros_like(r)
    lo, hi = [], []
    for n in names:
        cmin, cmax, smin, smax, hmax = REGIONS[n]
        if n == "R":
            alo, ahi = 0.5 * ra, 1.4 * ra
        elif n == "R2":
            alo, ahi = zero, 1.4 * ra
        elif n in ("Q", "S"):
            depth = q_depth if n == "Q" else s_depth
            cap = 1.5 * ra if depth is None else 1.5 * np.abs(depth) + 0.05 * ra
            alo, ahi = -cap, zero
        else:
            alo, ahi = -(ra + 0.2), ra + 0.2
        if n in ("R", "R2", "Q", "S"):
            alo, ahi = np.where(neg, -ahi, alo), np.where(neg, -alo, ahi)
        clo, chi = np.maximum(cmin, t0 + smin), np.minimum(cmax, t1 - smin)
        if qrs_on is not None and n == "P":
            chi = np.fmax(np.fmin(chi, np.asarray(qrs_on) - P_BEFORE_QRS), clo + 0.02)
        if qrs_on is not None and n == "Q":
            clo = np.fmin(np.fmax(clo, np.asarray(qrs_on) - Q_BEFORE_QRS), chi - 0.005)
        if t_latest is not None and "U" in names and n == "T":
            chi = np.fmax(np.fmin(chi, t_latest), clo + 0.02)
        if t_latest is not None and n == "U":
            clo = np.fmin(np.fmax(clo, t_latest), chi - 0.02)
        lo += [alo, clo, zero, zero + smin, zero + smin]
        hi += [ahi, chi, zero + hmax, zero + smax, zero + smax]
    lo += [zero - np.inf] * n_baseline
    hi += [zero + np.inf] * n_baseline
    lo, hi = np.stack(lo, axis=-1), np.stack(hi, axis=-1)
    return (lo[0], hi[0]) if scalar else (lo, hi)


def null_component(wave):
    """A component of ``wave`` that adds nothing (amplitude 0, no plateau, its region's
    least tails): where a chunk did not model a wave that another chunk of the record
    did."""
    cmin, cmax, smin = REGIONS[wave][:3]
    return np.array([0.0, 0.5 * (cmin + cmax), 0.0, smin, smin])


def in_layout(params, lay_from, lay_to):
    """``params`` (N, P) of layout ``lay_from`` in layout ``lay_to``: shared labels
    copied, a wave ``lay_from`` lacks a :func:`null_component`, any other label 0 (NaN in
    rows that are not finite: beats not fitted)."""
    out = np.zeros((params.shape[0], lay_to.size))
    index = {k: i for i, k in enumerate(lay_from.labels)}
    for w in lay_to.waves:
        if w not in lay_from.waves:
            out[:, lay_to.wave(w)] = null_component(w)
    for j, k in enumerate(lay_to.labels):
        if k in index:
            out[:, j] = params[:, index[k]]
    out[~np.all(np.isfinite(params), axis=1)] = np.nan
    return out
