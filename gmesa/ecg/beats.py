"""Beat windows around R peaks, and the beats as rows of samples."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


def beat_windows(r, n, fs):
    """RR-adaptive windows [start, end) in samples around R peaks ``r`` (samples of a
    signal of ``n`` samples at ``fs`` Hz), so neither a long PR interval nor the T wave
    is cut at a fixed offset: before R the larger of 0.4 RR and RR - 0.5 sqrt(RR)
    (where the previous T wave has ended; 0.2-0.6 s), after R 0.62 RR (0.3-0.75 s).
    Returns (start, end, RR before each beat in s (NaN for the first), median RR s)."""
    rr = np.diff(r) / fs
    med = float(np.median(rr)) if rr.size else 1.0
    rr_prev = np.concatenate([[med], rr]) if rr.size else np.array([med])
    rr_next = np.concatenate([rr, [med]]) if rr.size else np.array([med])
    pre = np.clip(np.maximum(0.40 * rr_prev, rr_prev - 0.5 * np.sqrt(rr_prev)), 0.20, 0.60)
    post = np.clip(0.62 * rr_next, 0.30, 0.75)
    start = r - np.round(pre * fs).astype(np.int64)
    end = r + np.round(post * fs).astype(np.int64) + 1
    rr_out = np.concatenate([[np.nan], rr]) if rr.size else np.array([np.nan])
    return start, end, rr_out, med


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


def beat_rows(sig, r, start, end, fs):
    """(:class:`BeatRows`, status, reason) of the windows [``start``, ``end``) around R
    peaks ``r`` (samples): windows past the signal's ends, with NaN samples or flat get
    their status here; the others are "ok" (to be fitted)."""
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
    Y = np.where(valid, sig[np.minimum(st[:, None] + cols[None, :], n - 1)], 0.0)
    X = (st[:, None] + cols[None, :] - r[:, None]) / fs
    nan_count = np.sum(valid & ~np.isfinite(Y), axis=1)
    bad_nan = (nan_count > 0) & ~edge
    status[bad_nan] = "nan"
    reason[bad_nan] = [f"{c} NaN samples in the beat window" for c in nan_count[bad_nan]]
    Y[~np.isfinite(Y)] = 0.0
    Xv, Yv = np.where(valid, X, np.nan), np.where(valid, Y, np.nan)
    flat = (np.nanmax(Yv, axis=1) - np.nanmin(Yv, axis=1) < 1e-3) & (status == "ok")
    status[flat] = "flat"
    reason[flat] = "signal range below 0.001 in the beat window"
    return BeatRows(X, Y, Xv, Yv, valid, lengths), status, reason
