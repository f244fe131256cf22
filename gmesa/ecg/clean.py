"""Zero-phase ECG cleaning: wander removal, power-line notch, low-pass.

*Wander* is the slow drift of the whole signal (breathing, electrode motion), removed
here; the *baseline* is each beat's own polynomial, fitted with its waves.

Every filter runs forwards and backwards (or is a centred median), so waves keep
their timing: a peak stays at the same sample. Signals are 1-D ``(n,)`` or 2-D
``(n, n_leads)`` (filtered along axis 0) in any unit; sampling rates in Hz.

NaN samples (gaps) do not spread: each gap is bridged by linear interpolation before
filtering and set back to NaN afterwards.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, signal as sps

from .._deprecated import module_getattr, renamed_keywords, warn_renamed
from ._filters import butter_sos

__all__ = ["WANDER_METHODS", "remove_wander", "notch", "lowpass", "clean"]

#: valid ``method`` names of :func:`remove_wander`
WANDER_METHODS = ("highpass", "median")

__getattr__ = module_getattr(__name__, {"BASELINE_METHODS": "WANDER_METHODS"}, globals())

_HP_ORDER = 2  # per pass; filtfilt doubles the effective order
_LP_ORDER = 4


def _as_signal(signal, fs) -> tuple[np.ndarray, float]:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"signal must be 1-D (n,) or 2-D (n, n_leads), got shape {x.shape}")
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"fs={fs!r} is not a number (Hz)") from None
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs={fs!r} Hz must be a positive finite sampling rate")
    return x, fs


def fill_gaps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Bridge non-finite samples by linear interpolation (constant at the ends).

    Returns the filled copy (or ``x`` itself when nothing is missing) and the boolean
    mask of the filled samples (``None`` when nothing was missing). An all-NaN column
    is filled with zeros.
    """
    bad = ~np.isfinite(x)
    if not bad.any():
        return x, None
    y = np.array(x, dtype=np.float64, copy=True)
    cols = y[:, None] if y.ndim == 1 else y
    masks = bad[:, None] if bad.ndim == 1 else bad
    for j in range(cols.shape[1]):
        m = masks[:, j]
        if not m.any():
            continue
        good = np.flatnonzero(~m)
        if good.size == 0:
            cols[:, j] = 0.0
        else:
            cols[m, j] = np.interp(np.flatnonzero(m), good, cols[good, j])
    return y, bad


def _restore(y: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is not None:
        y[mask] = np.nan
    return y


def _filtfilt_sos(sos: np.ndarray, x: np.ndarray, fs: float, slowest_hz: float) -> np.ndarray:
    """Zero-phase SOS filtering along axis 0 with padding long enough for slow poles."""
    n = x.shape[0]
    if n < 2:
        return x.copy()
    pad = max(3 * (2 * len(sos) + 1), int(math.ceil(2.0 * fs / slowest_hz)))
    return sps.sosfiltfilt(sos, x, axis=0, padlen=min(pad, n - 1))


def _highpass(x: np.ndarray, fs: float, cutoff: float) -> np.ndarray:
    if not 0 < cutoff < fs / 2:
        raise ValueError(f"cutoff={cutoff!r} Hz must lie between 0 and fs/2 = {fs / 2:g} Hz")
    sos = butter_sos(_HP_ORDER, float(cutoff), "highpass", float(fs))
    return _filtfilt_sos(sos, x, fs, cutoff)


def _median_wander(x: np.ndarray, fs: float) -> np.ndarray:
    w1 = max(1, int(round(0.2 * fs))) | 1  # odd window lengths, samples
    w2 = max(1, int(round(0.6 * fs))) | 1
    size1 = (w1,) if x.ndim == 1 else (w1, 1)
    size2 = (w2,) if x.ndim == 1 else (w2, 1)
    drift = ndimage.median_filter(x, size=size1, mode="nearest")
    drift = ndimage.median_filter(drift, size=size2, mode="nearest")
    return x - drift


def remove_wander(signal, fs: float, method: str = "highpass", cutoff: float = 0.5) -> np.ndarray:
    """Remove wander (slow drift of the signal), zero-phase.

    Parameters
    ----------
    signal : array (n,) or (n, n_leads)
        ECG in its unit (e.g. mV); NaN gaps are kept as NaN.
    fs : float
        Sampling rate, Hz.
    method : {"highpass", "median"}
        ``"highpass"``: Butterworth high-pass at ``cutoff`` Hz run forwards and
        backwards (``scipy.signal.sosfiltfilt``). ``"median"``: the wander is a
        200 ms median filter followed by a 600 ms median filter, subtracted.
    cutoff : float
        High-pass corner frequency in Hz (``"highpass"`` only).

    Returns
    -------
    ndarray, same shape, float64.
    """
    x, fs = _as_signal(signal, fs)
    if method not in WANDER_METHODS:
        raise ValueError(f"unknown wander method {method!r}; valid methods: {', '.join(WANDER_METHODS)}")
    y, mask = fill_gaps(x)
    if method == "highpass":
        out = _highpass(y, fs, float(cutoff))
    else:
        out = _median_wander(y, fs)
    return _restore(np.asarray(out, dtype=np.float64), mask)


def remove_baseline(signal, fs: float, method: str = "highpass", cutoff: float = 0.5) -> np.ndarray:
    """Deprecated name of :func:`remove_wander`."""
    warn_renamed("gmesa.ecg.clean.remove_baseline", "gmesa.ecg.clean.remove_wander")
    return remove_wander(signal, fs, method=method, cutoff=cutoff)


def notch(signal, fs: float, freq: float = 50.0, quality: float = 30.0) -> np.ndarray:
    """Remove power-line interference at ``freq`` Hz with a zero-phase IIR notch.

    ``quality`` is the notch's Q (centre frequency / -3 dB bandwidth). Uses
    ``scipy.signal.iirnotch`` and ``filtfilt``; NaN gaps are kept as NaN.
    """
    x, fs = _as_signal(signal, fs)
    freq, quality = float(freq), float(quality)
    if not 0 < freq < fs / 2:
        raise ValueError(f"notch freq={freq:g} Hz must lie between 0 and fs/2 = {fs / 2:g} Hz")
    if not quality > 0:
        raise ValueError(f"quality={quality!r} must be positive")
    y, mask = fill_gaps(x)
    b, a = sps.iirnotch(freq, quality, fs=fs)
    n = y.shape[0]
    if n < 2:
        return _restore(y.copy(), mask)
    # the notch rings for about Q / freq seconds: pad at least that long
    pad = max(3 * max(len(a), len(b)), int(math.ceil(3 * fs * quality / freq)))
    out = sps.filtfilt(b, a, y, axis=0, padlen=min(pad, n - 1))
    return _restore(np.asarray(out, dtype=np.float64), mask)


def lowpass(signal, fs: float, cutoff: float = 40.0) -> np.ndarray:
    """Zero-phase Butterworth low-pass at ``cutoff`` Hz (must be below fs/2)."""
    x, fs = _as_signal(signal, fs)
    y, mask = fill_gaps(x)
    return _restore(_lowpass(y, fs, float(cutoff)), mask)


def _lowpass(y: np.ndarray, fs: float, cutoff: float) -> np.ndarray:
    if not 0 < cutoff < fs / 2:
        raise ValueError(f"lowpass cutoff={cutoff:g} Hz must lie between 0 and fs/2 = {fs / 2:g} Hz")
    sos = butter_sos(_LP_ORDER, float(cutoff), "lowpass", float(fs))
    return _filtfilt_sos(sos, y, fs, cutoff)


@renamed_keywords(baseline="wander")
def clean(signal, fs: float, wander: str | None = "highpass", powerline: float | None = None,
          lowpass: float | None = None, cutoff: float = 0.5) -> np.ndarray:
    """Clean an ECG: wander removal, optional power-line notch and low-pass, all zero-phase.

    Parameters
    ----------
    signal : array (n,) or (n, n_leads)
        ECG in its unit (mV); NaN gaps stay NaN and do not spread.
    fs : float
        Sampling rate, Hz.
    wander : {"highpass", "median", None}
        Wander method of :func:`remove_wander` (``cutoff`` Hz for ``"highpass"``);
        ``None`` keeps the wander.  (Was called ``baseline``: deprecated.)
    powerline : float, optional
        Mains frequency to notch out (50 or 60 Hz); skipped when >= fs/2.
    lowpass : float, optional
        Low-pass corner in Hz (e.g. 40); skipped when >= 0.45 fs.
    cutoff : float
        High-pass corner in Hz for ``wander="highpass"`` (default 0.5).

    Returns
    -------
    ndarray, same shape, float64.
    """
    x, fs = _as_signal(signal, fs)
    if wander is not None and wander not in WANDER_METHODS:
        raise ValueError(
            f"unknown wander method {wander!r}; valid methods: {', '.join(WANDER_METHODS)} or None"
        )
    y, mask = fill_gaps(x)
    if y is x:
        y = x.copy()
    if wander is not None:
        y = remove_wander(y, fs, method=wander, cutoff=cutoff)
    if powerline is not None and float(powerline) < fs / 2:
        y = notch(y, fs, freq=float(powerline))
    if lowpass is not None:
        lp = float(lowpass)
        if lp <= 0:
            raise ValueError(f"lowpass={lowpass!r} Hz must be positive")
        if lp < 0.45 * fs:
            y = _lowpass(y, fs, lp)
    return _restore(np.asarray(y, dtype=np.float64), mask)
