"""WFDB records (``.hea`` with ``.dat`` or ``.mat``, one or several segments): every
signal at its own sampling rate, in physical units (voltages in mV), and annotations
beside the record (``.atr``, ``.q1c``, ...)."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .kind import ecg_lead_index
from .record import (Record, RecordError, RecordNotFoundError, check_file_fs, check_fs_agrees,
                     lead_index)
from .units import to_millivolts
from .wfdb_header import WfdbSignals, read_wfdb_header
from ..._warn import warn


def _choose(s: WfdbSignals, lead: Any, hea: Path) -> tuple[list[int], int]:
    """(signals to read, the one whose rate the record takes): the lead asked for, or
    every signal sampled at the rate of the first ECG lead (a warning names the others)."""
    if lead is not None:
        i = lead_index(s.names, lead, hea)
        return [i], i
    ref = ecg_lead_index(s.names, s.units)
    fs = s.fs
    keep = [i for i in range(len(s.names)) if math.isclose(fs[i], fs[ref], rel_tol=1e-9)]
    dropped = [f"{s.names[i]} ({fs[i]:g} Hz)" for i in range(len(s.names)) if i not in keep]
    if dropped:
        warn(
             f"{hea}: signals {', '.join(dropped)} have another sampling rate than "
             f"{s.names[ref]!r} ({fs[ref]:g} Hz) and were left out (a Record holds one rate); "
             "read one of them with lead=...", RuntimeWarning)
    return keep, ref


def read_wfdb(base: Path, lead: Any, annotator: Any, fs_arg: float | None) -> Record:
    """Read a WFDB record: one lead, or (``lead=None``) every signal sampled at the rate
    of the first ECG lead.  Each signal keeps its own rate (samples per frame > 1 are
    not averaged); a multi-segment record is read as one, NaN where a segment lacks a
    signal and in gaps."""

    hea = Path(str(base) + ".hea")
    h, s = read_wfdb_header(base)
    keep, ref = _choose(s, lead, hea)
    if not s.fs_stated:  # WFDB then assumes 250 Hz: the caller's rate, or say so
        if fs_arg is not None:
            s = replace(s, frame_fs=float(fs_arg) / s.samples_per_frame[ref])
        else:
            warn(f"{hea}: the header gives no sampling rate; WFDB's default of "
                 f"{s.frame_fs:g} Hz is assumed (pass fs=, or --fs, if that is "
                 "wrong)", RuntimeWarning)
    fs = float(s.fs[ref])
    multi_rate = len(set(s.samples_per_frame)) > 1
    check_file_fs(fs, hea, f" (signal {s.names[ref]!r})" if multi_rate else "")
    check_fs_agrees(fs_arg, fs, hea)
    rec, sig = _read_signals(base, keep, s)
    limits = _adc_limits(rec, [s.units[i] for i in keep])
    sig, units = to_millivolts(sig, [s.units[i] for i in keep], copy=False)
    start = getattr(h, "base_datetime", None)
    if start is not None and not isinstance(start, datetime):
        start = None
    ann = _read_wfdb_annotations(base, annotator, fs, s.frame_fs)
    return Record(sig, fs, leads=tuple(s.names[i] for i in keep), units=units,
                  start_time=start, annotations=ann, name=base.name, path=str(hea),
                  adc_limits=limits)


#: frames read per call of ``wfdb.rdrecord``: a long record is read block by block into
#: its final array, so reading it costs little more memory than the result
READ_BLOCK_FRAMES = 1 << 20


def _read_signals(base: Path, keep: list[int], s: WfdbSignals):
    """(the last ``wfdb`` record read, the signals ``keep`` as float64, (n,) for one
    and (n, len(keep)) for several), read ``READ_BLOCK_FRAMES`` frames at a time;
    ``keep`` share one number of samples per frame."""
    import wfdb

    k = s.samples_per_frame[keep[0]]
    n = s.n_frames or None
    blocks = [(0, None)] if not n else [(a, min(a + READ_BLOCK_FRAMES, n))
                                        for a in range(0, n, READ_BLOCK_FRAMES)]
    out = None
    try:
        for a, b in blocks:
            rec = wfdb.rdrecord(str(base), sampfrom=a, sampto=b, channels=keep, physical=True,
                                return_res=64, smooth_frames=False)
            cols = rec.e_p_signal or []
            if not cols or cols[0].size == 0:
                raise RecordError(f"{base}: WFDB record holds no samples")
            if out is None:
                out = np.empty(((n or cols[0].size // k) * k, len(keep)))
            for j, x in enumerate(cols):
                out[a * k:a * k + x.size, j] = x
    except RecordError:
        raise
    except Exception as exc:
        raise RecordError(
            f"{base}: cannot read WFDB signals ({type(exc).__name__}: {exc}); the data file "
            "may be truncated or malformed"
        ) from None
    return rec, (out.reshape(-1) if len(keep) == 1 else out)


def _adc_limits(rec, units):
    """Per signal, the physical range (low, high) in mV (or the signal's own non-voltage
    unit) of the converter, from the header's ADC resolution, zero, baseline and gain;
    None where the header does not say (resolution 0) or for multi-segment records.  The
    lowest digital value is left out: WFDB formats use it to mark a missing sample."""
    res = getattr(rec, "adc_res", None)
    if not res:
        return None
    zero, base, gain = rec.adc_zero, rec.baseline, rec.adc_gain
    lo, hi = np.full(len(res), np.nan), np.full(len(res), np.nan)
    for i, (r, z, b, g) in enumerate(zip(res, zero, base, gain)):
        if r and g:
            lo[i] = (z - 2 ** (int(r) - 1) + 1 - b) / g
            hi[i] = (z + 2 ** (int(r) - 1) - 1 - b) / g
    (lo, hi), _ = to_millivolts(np.vstack([lo, hi]), units)
    return tuple(None if np.isnan(a) else (float(a), float(b)) for a, b in zip(lo, hi))


def _read_wfdb_annotations(base: Path, annotator: Any, fs: float,
                           frame_fs: float) -> pd.DataFrame | None:
    """Annotations as sample indices at ``fs`` (Hz): WFDB counts them in frames (or at
    the annotation file's own resolution), which differs for a signal with several
    samples per frame."""
    if annotator is False:
        return None
    explicit = annotator not in (None, True)
    ext = str(annotator).lstrip(".") if explicit else "atr"
    fpath = Path(f"{base}.{ext}")
    if not fpath.is_file():
        if explicit:
            raise RecordNotFoundError(f"{fpath}: annotation file not found (annotator={ext!r})")
        return None
    import wfdb

    try:
        ann = wfdb.rdann(str(base), ext)
    except Exception as exc:
        raise RecordError(f"{fpath}: malformed WFDB annotation file ({type(exc).__name__}: {exc})") from None
    sample = np.asarray(ann.sample, dtype=np.int64)
    tick_fs = float(ann.fs) if getattr(ann, "fs", None) else frame_fs
    if not math.isclose(tick_fs, fs, rel_tol=1e-9):
        sample = np.round(sample * (fs / tick_fs)).astype(np.int64)
    aux = ann.aux_note if ann.aux_note is not None else [""] * len(ann.sample)
    return pd.DataFrame({
        "sample": sample,
        "symbol": [str(s) for s in ann.symbol],
        "aux": [str(a).rstrip("\x00") if a else "" for a in aux],
    })
