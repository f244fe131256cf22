"""Pulse onsets (feet) of a pulsatile signal -- PPG, arterial pressure -- and its period.

Method (``find_onsets``):

1. Missing samples (NaN) are filled by linear interpolation and the signal is
   low-pass filtered (zero-phase 2nd-order Butterworth, ``lowpass_hz``, default 8 Hz):
   for detection only, the fits use the samples as they are.
2. **Dominant period** T: the shortest lag, between 0.25 s and 2.5 s (240 to 24
   pulses/min), whose autocorrelation peak (of the detrended signal) reaches 80% of the
   highest there, so that T is not a multiple of the true period (a regular rhythm has
   peaks of about the same height at T, 2T, 3T).  Its height, the *periodicity* (1 =
   perfectly periodic), must reach ``min_periodicity`` (0.3).
3. **Systolic upstrokes**: maxima of the first derivative at least 0.5 T apart, kept
   when at least 35% of the median of the strongest ones.
4. **Foot** of each upstroke by *intersecting tangents*: the tangent at the point of
   steepest rise meets the horizontal line through the diastolic minimum (*valley*):
   the local minimum reached walking back down the upstroke (at most 0.5 T).  The onset is the sample nearest that
   intersection; :func:`detect_pulses` also returns the valleys (where
   :func:`gmesa.fit_pulses` starts each pulse's window).
"""
from __future__ import annotations

import numbers

import numpy as np

#: shortest and longest period considered, s (240 and 24 pulses per minute)
PERIOD_RANGE = (0.25, 2.5)
#: a shorter lag whose autocorrelation peaks at this share of the period's is the
#: shortest interval between pulses (an irregular but repeating rhythm: bigeminy with
#: RR 0.6 and 1.2 s peaks at 0.29 and 0.30 of the 1.8 s period's; the regular PPG and
#: ABP records beside the project, 03700181 and v102s in 60-s windows, have no peak
#: between 0.25 s and 90% of the period)
SUB_PERIOD = 0.2
#: pulses that fall this many times faster than they rise (:func:`fall_over_rise`) say
#: that the channel is upside down
INVERTED_ABOVE = 1.0


def _fill_nan(sig):
    bad = ~np.isfinite(sig)
    if not bad.any():
        return sig
    good = np.flatnonzero(~bad)
    if good.size < 2:
        raise ValueError("the signal has fewer than 2 finite samples; nothing to detect")
    out = sig.copy()
    out[bad] = np.interp(np.flatnonzero(bad), good, sig[good])
    return out


def _check(signal, fs):
    sig = np.asarray(signal, dtype=np.float64)
    if sig.ndim != 1:
        raise ValueError(f"signal has shape {sig.shape}; give one channel as a 1-D array")
    if not isinstance(fs, numbers.Real) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs={fs!r}: give the sampling rate in Hz (> 0)")
    fs = float(fs)
    if sig.size < 3 * PERIOD_RANGE[1] * fs:
        raise ValueError(f"the signal is {sig.size / fs:.2f} s long; finding pulses needs at "
                         f"least {3 * PERIOD_RANGE[1]:g} s (three of the longest periods)")
    return _fill_nan(sig), fs


def smooth(signal, fs, lowpass_hz=8.0):
    """The signal low-pass filtered (zero phase) for detection; NaN filled linearly, and
    samples far outside its range (beyond half the 0.5-99.5 percentile span: a glitch,
    an artefact) clipped first, so that one cannot swamp the pulses."""
    from scipy.signal import butter, sosfiltfilt

    sig, fs = _check(signal, fs)
    lo, hi = np.percentile(sig, [0.5, 99.5])
    sig = np.clip(sig, lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo))
    cut = min(float(lowpass_hz), 0.45 * fs)
    sos = butter(2, cut, fs=fs, output="sos")
    return sosfiltfilt(sos, sig)


def _autocorrelation(signal, fs, lowpass_hz):
    """The unbiased autocorrelation (lag 0 = 1) of the smoothed, detrended signal; None
    when the signal does not vary."""
    s = smooth(signal, fs, lowpass_hz)
    d = s - np.convolve(s, np.ones(int(fs)) / int(fs), mode="same")  # remove slow drift
    d = d[int(fs):-int(fs)] if d.size > 4 * fs else d
    n = d.size
    spec = np.fft.rfft(d - d.mean(), 2 * n)
    acf = np.fft.irfft(np.abs(spec) ** 2)[:n]
    if acf[0] <= 0:
        return None
    return acf / acf[0] * n / np.maximum(n - np.arange(n), 1)


def dominant_period(signal, fs, *, lowpass_hz=8.0):
    """(period in s, periodicity in [0, 1]) from the autocorrelation (see the module)."""
    fs = float(fs)
    return _period(_autocorrelation(signal, fs, lowpass_hz), fs)


def _period(acf, fs):
    """:func:`dominant_period` from the autocorrelation ``acf`` (None: no variation)."""
    from scipy.signal import find_peaks

    if acf is None:
        return float("nan"), 0.0
    lo, hi = int(PERIOD_RANGE[0] * fs), min(int(PERIOD_RANGE[1] * fs), acf.size - 1)
    peaks, _ = find_peaks(acf[:hi + 1])
    peaks = peaks[peaks >= lo]
    if peaks.size == 0 or not acf[peaks].max() > 0:  # no lag where the signal repeats
        return float("nan"), 0.0
    top = acf[peaks].max()
    best = int(peaks[acf[peaks] >= 0.8 * top].min())   # the shortest lag nearly as high
    return best / fs, float(np.clip(acf[best], 0.0, 1.0))


def shortest_interval(signal, fs, period, *, lowpass_hz=8.0):
    """The shortest interval (s) between pulses that the autocorrelation shows: its
    shortest peak lag from 0.25 s up to 90% of ``period`` (s) that reaches
    :data:`SUB_PERIOD` of the autocorrelation at ``period``.  In bigeminy (RR 0.6 and
    1.2 s) the rhythm repeats every 1.8 s while pulses come 0.6 s apart.  ``period``
    when no such lag."""
    fs = float(fs)
    return _shortest(_autocorrelation(signal, fs, lowpass_hz), fs, period)


def _shortest(acf, fs, period):
    """:func:`shortest_interval` from the autocorrelation ``acf`` (None: no variation)."""
    from scipy.signal import find_peaks

    at = int(round(period * fs))
    if acf is None or not at < acf.size:
        return period
    peaks, _ = find_peaks(acf[:at + 1])
    peaks = peaks[(peaks >= int(PERIOD_RANGE[0] * fs)) & (peaks <= 0.9 * at)]
    peaks = peaks[acf[peaks] >= SUB_PERIOD * acf[at]]
    return float(peaks.min()) / fs if peaks.size else period


def detect_pulses(signal, fs, *, lowpass_hz=8.0, min_periodicity=0.3):
    """``(feet, valleys, period_s, periodicity)``: sample indices of the pulse onsets
    (feet, by intersecting tangents) and of the diastolic minima before them (the
    horizontal tangents' points); see the module docstring.

    Raises ValueError when the signal is too short or not periodic enough (its
    periodicity is below ``min_periodicity``): give the onsets yourself then.
    """
    from scipy.signal import find_peaks

    s = smooth(signal, fs, lowpass_hz)
    fs = float(fs)
    acf = _autocorrelation(signal, fs, lowpass_hz)  # once, for the period and the gap
    period, strength = _period(acf, fs)
    if not strength >= min_periodicity:
        raise ValueError(
            f"the signal is not periodic enough to find pulses: periodicity "
            f"{strength:.2f} < {min_periodicity:g} (autocorrelation between "
            f"{PERIOD_RANGE[0]:g} and {PERIOD_RANGE[1]:g} s); is it a pulse signal? Give "
            "onsets= (sample indices) if you know them")
    ds = np.gradient(s) * fs
    gap = _shortest(acf, fs, period)
    up, props = find_peaks(ds, distance=max(1, int(0.5 * gap * fs)), height=0.0)
    h = props["peak_heights"]
    n_expect = max(1, int(s.size / (gap * fs)))
    strong = np.sort(h)[::-1][:n_expect]
    up = up[h >= 0.35 * np.median(strong)]
    back = max(2, int(0.5 * gap * fs))
    feet, valleys = [], []
    for u in up:
        a = max(0, u - back)
        if u - a < 2:
            continue
        m = u                      # walk down the upstroke to its local minimum
        while m > a and s[m - 1] < s[m]:
            m -= 1
        foot = u - (s[u] - s[m]) / ds[u] * fs if ds[u] > 0 else m
        feet.append(int(round(min(max(foot, m), u))))
        valleys.append(m)
    feet, keep = np.unique(np.asarray(feet, dtype=np.int64), return_index=True)
    valleys = np.asarray(valleys, dtype=np.int64)[keep]
    rising = np.r_[True, np.diff(valleys) > 0]
    return feet[rising], valleys[rising], period, strength


def fall_over_rise(signal, fs, valleys, *, lowpass_hz=8.0):
    """The median over the pulses (from one valley to the next) of the steepest fall
    over the steepest rise of the smoothed signal.  Pulses rise faster than they fall
    (03700181 ABP 0.67, v102s PLETH 0.53); above :data:`INVERTED_ABOVE` the channel is
    likely upside down (the same two: 1.49, 1.88).  NaN with fewer than 2 pulses."""
    s = smooth(signal, fs, lowpass_hz)
    d = np.gradient(s)
    ratios = [-d[a:b].min() / d[a:b].max() for a, b in zip(valleys[:-1], valleys[1:])
              if b - a > 2 and d[a:b].max() > 0]
    return float(np.median(ratios)) if ratios else float("nan")


def find_onsets(signal, fs, *, lowpass_hz=8.0, min_periodicity=0.3):
    """Sample indices of the pulse onsets (feet) of ``signal``: see :func:`detect_pulses`."""
    return detect_pulses(signal, fs, lowpass_hz=lowpass_hz, min_periodicity=min_periodicity)[0]
