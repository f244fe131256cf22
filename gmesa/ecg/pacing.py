"""Pacemaker spikes: found on the raw lead, bridged before cleaning, reported per beat.

A pacing pulse lasts 0.1-2 ms.  Sampled at 500 Hz or more without heavy filtering, it is
a departure of a few samples from a flat baseline and back, far sharper than any wave
of the heart: the narrowest QRS still spans several samples on either side of its
peak, and its flanks are slopes, not a flat line.  Left in the lead, the low-pass smears
the spike into a narrow bump that the fit takes for a P wave (ventricular pacing: a
"P" locked 20-40 ms before every paced QRS) or into the QRS onset.

A sample ``k`` is a spike's centre when, with ``w`` the widest spike (:data:`SPIKE_WIDTH`,
at least one sample) and ``m = w + 1``:

* it departs from the mean of its flanks ``x[k-m]``, ``x[k+m]`` by more than
  :data:`SPIKE_NOISE` times the lead's sample-to-sample noise (and 0.05 mV);
* the flanks lie at one level (they differ by less than a quarter of the departure) and
  the baseline around them is quiet (no step there exceeds a tenth of it);
* at most ``w`` samples lie beyond half the departure, and ``k`` is the largest
  departure within ``m`` samples.

Found spikes are bridged (the samples within ``w`` of the centre replaced by the line
between the flanks) before the lead is cleaned; nothing else of the lead changes.
Spikes are sought only at :data:`SPIKE_MIN_FS` and above: at 250-360 Hz the converter's
anti-alias filter smears a pulse over several samples (QTDB's paced records sel102 and
sel104, 250 Hz, show none), and what is left that narrow is noise; there, as after an
analogue filter, the spike's trace stays in the lead.
"""
from __future__ import annotations

import numpy as np

#: a spike departs from its flanks by more than this many times the lead's noise (the
#: robust SD of the sample-to-sample differences).  LUDB lead ii: the unipolar pacing
#: spikes of records 34 and 74 stand at 300-500 times it, the one clear spike of record
#: 8 at 116; the sharpest departure that passes the shape tests in the 154 other records
#: at 33 (odd and even together: set on the shape, not on the boundaries)
SPIKE_NOISE = 50.0

#: ... and by at least this much (mV): a quantised, nearly noiseless lead has no scale
SPIKE_MIN_MV = 0.05

#: the widest spike (s) at half its height; at least one sample.  A pacing pulse lasts
#: 0.1-2 ms; the recorded artefact, with the amplifier's response and the pulse's
#: recharge, a few samples more (a QRS peak's half-height width is 10 ms or more)
SPIKE_WIDTH = 0.004

#: the lowest sampling rate (Hz) at which spikes are sought
SPIKE_MIN_FS = 450.0

_CHUNK = 1_000_000


def _width(fs):
    return max(1, int(round(SPIKE_WIDTH * fs)))


def lead_noise(x):
    """Robust SD (mV) of the sample-to-sample differences of ``x`` (NaN left out), at least
    its smallest step (the converter's resolution)."""
    d = np.diff(x)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return 0.0
    step = np.abs(d[d != 0])
    sd = 1.4826 * float(np.median(np.abs(d - np.median(d))))
    return max(sd, float(step.min()) if step.size else 0.0)


def _spikes_in(x, fs, noise):
    """Centres (indices into ``x``) and departures (mV) of the spikes of one stretch."""
    w = _width(fs)
    m = w + 1
    n = x.size
    if n < 6 * m + 1:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    k = np.arange(3 * m, n - 3 * m)
    left, right = x[k - m], x[k + m]
    amp = x[k] - 0.5 * (left + right)
    size = np.abs(amp)
    with np.errstate(invalid="ignore"):
        keep = ((size > max(SPIKE_NOISE * noise, SPIKE_MIN_MV))
                & (np.abs(left - right) < 0.25 * size))
    k, amp, size = k[keep], amp[keep], size[keep]
    if k.size == 0:
        return k, amp
    offs = np.arange(-m, m + 1)
    near = x[k[:, None] + offs]
    base = 0.5 * (near[:, 0] + near[:, -1])
    wide = np.sum(np.sign(amp)[:, None] * (near - base[:, None]) > 0.5 * size[:, None], axis=1)
    flank = np.concatenate([np.arange(-3 * m, -m + 1), np.arange(m, 3 * m + 1)])
    steps = np.abs(np.diff(x[k[:, None] + flank], axis=1))
    steps[:, 2 * m] = 0.0          # the jump from the left flank to the right one
    quiet = np.nanmax(steps, axis=1) < 0.1 * size
    ok = (wide <= w) & quiet
    k, amp, size = k[ok], amp[ok], size[ok]
    # the largest departure within m samples
    order = np.argsort(-size, kind="stable")
    taken = np.zeros(n, dtype=bool)
    best = []
    for i in order:
        if not taken[k[i]]:
            best.append(i)
            taken[max(k[i] - m, 0):k[i] + m + 1] = True
    best = np.sort(np.array(best, dtype=np.int64))
    return k[best], amp[best]


def find_spikes(x, fs, skip=None):
    """Pacing spikes of one lead ``x`` (mV, NaN where missing; ``skip``: a boolean mask of
    samples to leave out, such as glitches) sampled at ``fs`` Hz: (centres in samples,
    departures in mV).  The noise scale is taken per stretch of a million samples, so a
    day-long lead is read in pieces.  See the module docstring."""
    x = np.asarray(x)
    fs = float(fs)
    if fs < SPIKE_MIN_FS or x.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    pad = 6 * _width(fs) + 6
    centres, amps = [], []
    for a in range(0, x.size, _CHUNK):
        lo, hi = max(a - pad, 0), min(a + _CHUNK + pad, x.size)
        part = np.array(x[lo:hi], dtype=np.float64)
        if skip is not None:
            part[skip[lo:hi]] = np.nan
        c, v = _spikes_in(part, fs, lead_noise(part))
        c = c + lo
        mine = (c >= a) & (c < a + _CHUNK)
        centres.append(c[mine])
        amps.append(v[mine])
    return np.concatenate(centres), np.concatenate(amps)


def spike_samples(centres, fs, n):
    """Indices of the samples (of a lead of ``n``) within the spike width of ``centres``:
    those :func:`bridge` replaces."""
    w = _width(fs)
    idx = (np.asarray(centres, dtype=np.int64)[:, None] + np.arange(-w, w + 1)).ravel()
    return idx[(idx >= 0) & (idx < n)]


def bridge(x, centres, fs):
    """A copy of ``x`` with the samples within the spike width of each of ``centres``
    replaced by the line between the spike's flanks."""
    y = np.array(x, dtype=np.float64, copy=True)
    w = _width(fs)
    m = w + 1
    for c in np.asarray(centres, dtype=np.int64):
        a, b = c - m, c + m
        if a < 0 or b >= y.size:
            continue
        y[a + 1:b] = np.linspace(y[a], y[b], b - a + 1)[1:-1]
    return y


def spike_before_r(r_peak_s, window_start_s, spike_s):
    """Per beat: the time (s from its R peak ``r_peak_s``, s) of the latest pacing spike
    between its window start ``window_start_s`` and the R peak, NaN where none
    (``spike_s``: the spikes' times, s, sorted)."""
    r = np.asarray(r_peak_s, dtype=float)
    spike_s = np.asarray(spike_s, dtype=float)
    out = np.full(r.shape, np.nan)
    if spike_s.size == 0 or r.size == 0:
        return out
    j = np.searchsorted(spike_s, r, side="right") - 1
    has = j >= 0
    t = np.where(has, spike_s[np.maximum(j, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        inside = has & (t >= np.asarray(window_start_s, dtype=float))
    out[inside] = t[inside] - r[inside]
    return out

