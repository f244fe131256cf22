"""R-peak detection.

``detect_rpeaks(signal, fs)`` returns the sample index of each beat's R peak: the
extremum of the QRS complex in the cleaned signal (0.5 Hz zero-phase high-pass and
40 Hz low-pass), positive or negative according to ``polarity``.

The default ``method="gmesa"`` is a Pan-Tompkins-style detector:

1. samples that carry no signal (NaN, or constant for >= 0.25 s) are bridged by
   linear interpolation and masked: nothing is detected inside them, and no RR
   interval spans them;
2. zero-phase 5-20 Hz Butterworth band-pass, derivative, square, centred moving-window
   integration (120 ms), raised to the power 0.75 (a smaller dynamic range keeps wide,
   low-slope ectopic beats above threshold);
3. local maxima at least ``refractory_s`` apart are candidates; adaptive signal/noise
   levels decide which are beats (threshold = noise + 0.25 (signal - noise)), with
   - a T-wave check: a candidate within 360 ms of the last beat whose steepest slope
     is under half that beat's is a T wave;
   - a P-wave check: a candidate within 250 ms of the last beat that is over twice as
     steep replaces it;
   - a search-back at half the threshold when no beat came for 1.66 mean RR intervals;
   - one artefact raises the signal level by at most 3x, and after 2.5 s (and 3 RR)
     without a beat the levels halve, down to 20 % of the record's typical QRS level
     (amplitude drops are followed, long pauses do not turn P/T waves into beats);
4. each beat is moved to the extremum of the cleaned signal within +-``search_s``
   (the middle of a clipped, flat top), with the polarity chosen by a majority vote
   over beats (``polarity="auto"``), so ``-x`` gives the same samples as ``x``.

Everything but the sequential threshold loop (small ``@njit`` kernels over the
candidates) is vectorised: about 0.1-0.2 s for 30 minutes at 360 Hz.

Scored on MIT-BIH 100 (MLII, 50 ms window): Se = PPV = 100 % (2271 beats), inverted too
(:func:`gmesa.ecg.evaluate.score_rpeaks`).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, signal as sps

from gmesa.config import njit
from gmesa.ecg._filters import butter_sos
from gmesa.ecg.clean import clean, fill_gaps
from gmesa.ecg.io import MIN_FS
# reference beats and R-peak scoring live in gmesa.ecg.evaluate; these two names stay importable
# from here for the callers that take given beats instead of detecting them (gmesa.ecg.fit)
from gmesa.ecg.evaluate import WFDB_BEAT_SYMBOLS, rpeaks_from_annotations  # noqa: F401

__all__ = ["METHODS", "POLARITIES", "detect_rpeaks"]

#: valid ``method`` names of :func:`detect_rpeaks`
METHODS = ("gmesa", "xqrs")
#: valid ``polarity`` names of :func:`detect_rpeaks`
POLARITIES = ("auto", "beat", "positive", "negative")

# detector constants (seconds / Hz / fractions)
_BAND_HZ = (5.0, 20.0)
_MWI_S = 0.12
_FLAT_S = 0.25
_TWAVE_S = 0.36
_PR_S = 0.25
_INIT_S = 2.0  # block length for the initial signal level
_DECAY_S = 2.5  # no beat for this long (and > 3 RR): lower the levels
_FLOOR = 0.2  # ... down to this fraction of the record's typical QRS level
_FEATURE_POWER = 0.75  # compresses the range: wide ectopic beats still pass


# ---------------------------------------------------------------------------------
# compiled kernels
# ---------------------------------------------------------------------------------
@njit
def _max_abs_around(d, pos, half):
    """Steepest |slope| within +-half samples of each candidate."""
    n = d.size
    out = np.empty(pos.size)
    for k in range(pos.size):
        lo = max(pos[k] - half, 0)
        hi = min(pos[k] + half + 1, n)
        m = 0.0
        for i in range(lo, hi):
            v = abs(d[i])
            if v > m:
                m = v
        out[k] = m
    return out


@njit
def _search_back(pos, val, slope, keep, last, upto, thr2, refractory, twave):
    """Best (highest) rejected candidate in (last, upto) above thr2, or -1."""
    best = -1
    best_val = thr2
    for j in range(last + 1, upto):
        if keep[j]:
            continue
        dt = pos[j] - pos[last]
        if dt < refractory:
            continue
        if dt < twave and slope[j] < 0.5 * slope[last]:
            continue
        if val[j] > best_val:
            best_val = val[j]
            best = j
    return best


@njit
def _push_rr(rr_buf, rr_n, rr, fs):
    """Add an RR interval (samples) to the ring buffer; return count and new mean."""
    rr_buf[rr_n % 8] = rr
    rr_n += 1
    k = min(rr_n, 8)
    return rr_n, rr_buf[:k].mean()


@njit
def _decide(pos, val, slope, seg, seg_end, fs, spk, npk, floor, refractory, twave, preq, decay_after):
    """Pan-Tompkins decision over sorted candidates; returns a keep mask.

    A candidate within ``twave`` of the last beat is a T wave when its steepest slope
    is under half the beat's; one within ``preq`` (P-to-R distance) replaces the beat
    when it is over twice as steep (the "beat" was a P wave).
    Signal/noise levels (spk/npk) follow accepted/rejected peaks; a peak raises spk
    by at most 3x its current value (one artefact does not blind the detector).
    When no beat is found for ``decay_after`` samples (and > 3 mean RR), the levels
    halve, down to ``floor``, and the search-back is repeated.
    """
    n = pos.size
    keep = np.zeros(n, dtype=np.bool_)
    rr_buf = np.zeros(8)
    rr_n = 0
    rr_avg = fs  # 1 s until intervals are known
    last = -1
    thr = npk + 0.25 * (spk - npk)
    i = 0
    while i <= n:
        if i < n:
            p = pos[i]
            new_segment = last >= 0 and seg[i] != seg[last]
        else:
            p = 0
            new_segment = last >= 0
        if last >= 0:
            # search back over the candidates since the last beat
            limit = seg_end[seg[last]] if new_segment else p
            while limit - pos[last] > 1.66 * rr_avg:
                j = _search_back(pos, val, slope, keep, last, i, 0.5 * thr, refractory, twave)
                if j < 0:
                    if limit - pos[last] > max(decay_after, 3.0 * rr_avg) and spk > floor:
                        spk = max(0.5 * spk, floor)
                        npk = min(0.5 * npk, 0.5 * spk)
                        thr = npk + 0.25 * (spk - npk)
                        continue
                    break
                keep[j] = True
                spk = 0.25 * min(val[j], 3.0 * spk) + 0.75 * spk
                rr = pos[j] - pos[last]
                if rr < 3.0 * fs:
                    rr_n, rr_avg = _push_rr(rr_buf, rr_n, rr, fs)
                last = j
                thr = npk + 0.25 * (spk - npk)
            if new_segment:
                last = -1
        if i == n:
            break
        if last >= 0 and p - pos[last] < refractory:
            i += 1
            continue
        v = val[i]
        if v > thr:
            if last >= 0 and p - pos[last] < twave and slope[i] < 0.5 * slope[last]:
                npk = 0.125 * v + 0.875 * npk  # a T wave
            elif last >= 0 and p - pos[last] < preq and slope[i] > 2.0 * slope[last]:
                # the last "beat" was a P wave or a bump before this QRS: replace it
                keep[last] = False
                keep[i] = True
                spk = 0.125 * min(v, 3.0 * spk) + 0.875 * spk
                if rr_n > 0:
                    rr_buf[(rr_n - 1) % 8] += p - pos[last]
                    rr_avg = rr_buf[: min(rr_n, 8)].mean()
                last = i
            else:
                keep[i] = True
                spk = 0.125 * min(v, 3.0 * spk) + 0.875 * spk
                if last >= 0:
                    rr = p - pos[last]
                    if rr < 3.0 * fs:
                        rr_n, rr_avg = _push_rr(rr_buf, rr_n, rr, fs)
                last = i
        else:
            npk = 0.125 * v + 0.875 * npk
        thr = npk + 0.25 * (spk - npk)
        i += 1
    return keep


@njit
def _window_extrema(c, lo, hi):
    """(index, value) of the maximum and of the minimum of c[lo:hi], NaN skipped;
    indices -1 when the window holds no finite sample."""
    imax = -1
    imin = -1
    vmax = -np.inf
    vmin = np.inf
    for i in range(lo, hi):
        v = c[i]
        if v != v:
            continue
        if v > vmax:
            vmax = v
            imax = i
        if v < vmin:
            vmin = v
            imin = i
    return imax, vmax, imin, vmin


@njit
def _refine(c, pos, half, polarity):
    """Extremum of c within +-half samples of each position.

    polarity: +1 maximum, -1 minimum, 0 whichever has the larger magnitude. The
    middle of a flat (clipped) top is returned. -1 where the window holds no finite
    sample.
    """
    n = c.size
    out = np.empty(pos.size, dtype=np.int64)
    for k in range(pos.size):
        hi = min(pos[k] + half + 1, n)
        imax, vmax, imin, vmin = _window_extrema(c, max(pos[k] - half, 0), hi)
        if imax < 0:
            out[k] = -1
            continue
        if polarity > 0:
            use_max = True
        elif polarity < 0:
            use_max = False
        else:
            use_max = abs(vmax) >= abs(vmin)
        j = imax if use_max else imin
        target = vmax if use_max else vmin
        # plateau: walk to the end of the run of equal values and take the middle
        e = j
        while e + 1 < hi and c[e + 1] == target:
            e += 1
        out[k] = (j + e) // 2
    return out


@njit
def _enforce_refractory(peaks, size, refractory):
    """Keep mask so that kept peaks are >= refractory apart, the larger one winning."""
    keep = np.ones(peaks.size, dtype=np.bool_)
    last = 0
    for k in range(1, peaks.size):
        if peaks[k] - peaks[last] < refractory:
            if size[k] > size[last]:
                keep[last] = False
                last = k
            else:
                keep[k] = False
        else:
            last = k
    return keep


@njit
def _extrema(c, pos, half):
    """Largest and (minus) smallest value of c within +-half samples of each position."""
    n = c.size
    hi_v = np.zeros(pos.size)
    lo_v = np.zeros(pos.size)
    for k in range(pos.size):
        _, vmax, _, vmin = _window_extrema(c, max(pos[k] - half, 0), min(pos[k] + half + 1, n))
        if vmax >= vmin:
            hi_v[k] = vmax
            lo_v[k] = -vmin
    return hi_v, lo_v


# ---------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------
def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the True runs of a boolean array."""
    d = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _no_signal_mask(x: np.ndarray, fs: float, flat_s: float) -> np.ndarray:
    """True where x is not finite or constant for at least flat_s seconds."""
    bad = ~np.isfinite(x)
    if x.size < 2:
        return bad
    same = np.zeros(x.size, dtype=bool)
    eq = x[1:] == x[:-1]
    same[1:] |= eq
    same[:-1] |= eq
    starts, stops = _runs(same)
    long_ = (stops - starts) >= max(2, int(round(flat_s * fs)))
    for a, b in zip(starts[long_], stops[long_]):
        bad[a:b] = True
    return bad


def no_signal(x, fs: float) -> np.ndarray:
    """True where the lead ``x`` carries no signal: NaN, or constant for at least 0.25 s
    (a lead-off line, a zero-filled gap), as :func:`detect_rpeaks` judges it."""
    return _no_signal_mask(np.asarray(x, dtype=np.float64), float(fs), _FLAT_S)


def _validate(signal, fs) -> tuple[np.ndarray, float]:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.ravel()
    if x.ndim != 1:
        raise ValueError(
            f"detect_rpeaks needs one lead (1-D signal), got shape {x.shape}; pass record.lead(name)"
        )
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"fs={fs!r} is not a number (Hz)") from None
    if not math.isfinite(fs) or fs < MIN_FS:
        raise ValueError(f"sampling rate fs={fs!r} Hz is not supported: gmesa needs >= {MIN_FS:g} Hz")
    return x, fs


def _polarity_code(polarity: str, c: np.ndarray, pos: np.ndarray, half: int) -> int:
    if polarity == "positive":
        return 1
    if polarity == "negative":
        return -1
    if polarity == "beat":
        return 0
    hi_v, lo_v = _extrema(c, pos, half)
    # majority vote over beats (robust to amplitude changes); ties by total size
    votes = int(np.sum(hi_v > lo_v)) - int(np.sum(lo_v > hi_v))
    if votes == 0:
        return 1 if hi_v.sum() >= lo_v.sum() else -1
    return 1 if votes > 0 else -1


# ---------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------
def detect_rpeaks(
    signal,
    fs: float,
    method: str = "gmesa",
    *,
    polarity: str = "auto",
    search_s: float = 0.06,
    refractory_s: float = 0.2,
) -> np.ndarray:
    """Detect R peaks in one ECG lead.

    Parameters
    ----------
    signal : array (n,)
        One ECG lead in its unit (mV); NaN marks missing samples, where nothing is
        detected. Flat stretches (constant for >= 0.25 s) count as missing too.
    fs : float
        Sampling rate in Hz (>= 100 Hz).
    method : {"gmesa", "xqrs"}
        ``"gmesa"``: the compiled Pan-Tompkins-style detector of this module.
        ``"xqrs"``: ``wfdb.processing.xqrs_detect`` (slower), refined the same way.
    polarity : {"auto", "beat", "positive", "negative"}
        Which extremum of each QRS is returned. ``"auto"``: the record's dominant
        polarity (majority vote over beats: is the largest positive deflection bigger
        than the largest negative one?), so an inverted ECG gives the same beats;
        ``"beat"``: per beat, the extremum
        with the larger magnitude; ``"positive"``/``"negative"``: maximum/minimum.
    search_s : float
        Half-width in seconds of the window in which a detection is moved to the
        QRS extremum of the cleaned signal.
    refractory_s : float
        Shortest RR interval in seconds: no second beat within it.

    Returns
    -------
    ndarray of int64: sorted sample indices of the R peaks.
    """
    x, fs = _validate(signal, fs)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    if polarity not in POLARITIES:
        raise ValueError(f"unknown polarity {polarity!r}; valid: {', '.join(POLARITIES)}")
    n = x.size
    empty = np.zeros(0, dtype=np.int64)
    if n < int(0.3 * fs):
        return empty
    invalid = _no_signal_mask(x, fs, _FLAT_S)
    if invalid.all():
        return empty
    xf = x.copy()
    if invalid.any():
        xf[invalid] = np.nan
    xf, _ = fill_gaps(xf)

    refractory = max(1, int(round(refractory_s * fs)))
    if method == "gmesa":
        pos = _detect_pt(xf, fs, invalid, ~np.isfinite(x), refractory)
    else:
        pos = _detect_xqrs(xf, fs, invalid)
    if pos.size == 0:
        return empty

    # move each detection to the QRS extremum of the cleaned signal
    c = clean(xf, fs, wander="highpass", lowpass=40.0)
    c[invalid] = np.nan
    half = max(1, int(round(search_s * fs)))
    code = _polarity_code(polarity, c, pos, half)
    peaks = _refine(c, pos, half, code)
    peaks = np.unique(peaks[peaks >= 0])
    if peaks.size > 1 and np.any(np.diff(peaks) < refractory):
        # refinement moved two detections closer than the refractory period:
        # keep the larger deflection of each such pair
        size = np.abs(c[peaks])
        peaks = peaks[_enforce_refractory(peaks, size, refractory)]
    return peaks.astype(np.int64)


def _grow(mask: np.ndarray, k: int) -> np.ndarray:
    """Widen the True runs of mask by k samples on each side."""
    if k < 1 or not mask.any():
        return mask
    return ndimage.maximum_filter1d(mask.view(np.uint8), 2 * k + 1, mode="constant").astype(bool)


def _detect_pt(xf: np.ndarray, fs: float, invalid: np.ndarray, missing: np.ndarray,
               refractory: int) -> np.ndarray:
    n = xf.size
    hi = min(_BAND_HZ[1], 0.45 * fs)
    sos = butter_sos(2, (float(_BAND_HZ[0]), float(hi)), "bandpass", float(fs))
    bp = sps.sosfiltfilt(sos, xf, padlen=min(n - 1, int(fs)))
    d = np.gradient(bp)
    w = max(1, int(round(_MWI_S * fs)))
    mwi = ndimage.uniform_filter1d(d * d, w, mode="nearest")
    if _FEATURE_POWER != 1.0:
        mwi = np.power(np.maximum(mwi, 0.0), _FEATURE_POWER)
    if invalid.any():
        # no candidates in a stretch without signal, nor within half an integration
        # window of a NaN gap (20 ms of a flat run: a QRS may follow a flat line)
        flat = invalid & ~missing
        grown = _grow(missing, w // 2) | _grow(flat, int(round(0.02 * fs)))
        mwi[grown] = 0.0
        d = d.copy()
        d[grown] = 0.0
    else:
        grown = invalid
    top = float(mwi.max())
    if not top > 0:
        return np.zeros(0, dtype=np.int64)
    pos, _ = sps.find_peaks(mwi, height=top * 1e-9, distance=refractory)
    if pos.size == 0:
        return pos.astype(np.int64)
    pos = pos.astype(np.int64)
    val = mwi[pos]
    slope = _max_abs_around(d, pos, w // 2)

    # segments of valid signal: a beat never pairs with one across a gap
    starts, stops = _runs(~grown)
    seg_of_sample = np.cumsum(np.concatenate(([0], (np.diff(grown.view(np.int8)) == -1))))
    seg = seg_of_sample[pos].astype(np.int64)
    # index seg_end by the same numbering (a segment's id = number of gap ends before it)
    seg_end = np.full(int(seg_of_sample[-1]) + 1, n, dtype=np.int64)
    for a, b in zip(starts, stops):
        seg_end[seg_of_sample[a]] = b

    # initial levels: median of 2 s block maxima over the first ~20 s with signal;
    # the floor for decaying levels: _FLOOR (20 %) of that median over the whole record
    blk = max(1, int(_INIT_S * fs))
    valid_idx = np.flatnonzero(~grown)
    vals = mwi[valid_idx]
    nb_all = vals.size // blk
    if nb_all >= 1:
        block_max = vals[: nb_all * blk].reshape(nb_all, blk).max(axis=1)
        spk = float(np.median(block_max[:10]))
        level = float(np.median(block_max))
    else:
        spk = level = float(vals.max())
    npk = float(np.median(vals[: 10 * blk]))
    spk = max(spk, 2.0 * npk, top * 1e-9)
    floor = _FLOOR * max(level, top * 1e-9)
    keep = _decide(pos, val, slope, seg, seg_end, float(fs), spk, npk, floor, refractory,
                   int(round(_TWAVE_S * fs)), int(round(_PR_S * fs)), float(_DECAY_S * fs))
    return pos[keep]


def _detect_xqrs(xf: np.ndarray, fs: float, invalid: np.ndarray) -> np.ndarray:
    from wfdb import processing

    pos = np.asarray(processing.xqrs_detect(sig=xf, fs=fs, verbose=False), dtype=np.int64)
    return pos[~invalid[pos]] if pos.size else pos
