"""Read one pulse channel (PPG, arterial pressure) from a record file for ``fit_pulses``.

:func:`read_pulse_signal` reads through :func:`gmesa.ecg.read_record` (WFDB, EDF, CSV,
NPY; a WFDB channel at its own rate) and repairs one converter fault: a channel whose
values overflowed the converter's range and *wrapped around* (e.g. PhysioNet v102s
PLETH, stored in 12 bits, jumps from +1.64 to -1.64 NU at every pulse).  When a WFDB
header gives the converter's resolution, such a channel is unwrapped with
:func:`unwrap`; the number of wraps is reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: bits per sample of the WFDB storage formats
WFDB_FORMAT_BITS = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16,
                    "212": 12, "310": 10, "311": 10}
#: a jump between neighbouring samples larger than this fraction of the channel's range
#: is a wrap-around, not a signal
WRAP_JUMP = 0.8


def count_wraps(signal):
    """Number of jumps between neighbouring finite samples larger than 80% of the range."""
    s = np.asarray(signal, float)
    s = s[np.isfinite(s)]
    if s.size < 3:
        return 0
    return int(np.count_nonzero(np.abs(np.diff(s)) > WRAP_JUMP * np.ptp(s)))


def unwrap(signal, period):
    """Undo wrap-around: add multiples of ``period`` (the converter's full range in the
    signal's unit) so neighbouring finite samples never differ by more than half of it.
    NaN samples stay NaN and are stepped over."""
    s = np.array(signal, dtype=np.float64)
    ok = np.isfinite(s)
    if not (np.isfinite(period) and period > 0):
        raise ValueError(f"period={period!r}: give the converter's range (> 0)")
    s[ok] = np.unwrap(s[ok], period=float(period))
    return s


def adc_period(path, lead):
    """The converter's full range (2**bits / gain) of a WFDB channel, or None."""
    import wfdb

    base = Path(path)
    base = base.with_suffix("") if base.suffix in (".hea", ".dat") else base
    if not Path(str(base) + ".hea").is_file():
        return None
    try:
        h = wfdb.rdheader(str(base))
        names = [str(n).lower() for n in h.sig_name]
        i = int(lead) if isinstance(lead, int) else names.index(str(lead).lower())
        bits = (int(h.adc_res[i]) if h.adc_res and h.adc_res[i]
                else WFDB_FORMAT_BITS.get(str(h.fmt[i])))
        gain = float(h.adc_gain[i])
    except (ValueError, IndexError, TypeError, AttributeError):
        return None
    return 2.0 ** bits / gain if bits and gain > 0 else None


def read_pulse_signal(path, lead, fs=None):
    """(signal, fs, info) of one channel; ``info`` holds record, lead, unit, ``wraps``
    (how many wrap-arounds were undone, 0 if none) and ``note`` (what was done, or why
    a wrapped channel was left as it is: unwrapping that drifts over more than 3
    converter ranges is not trusted)."""
    from ..ecg import read_record
    from ..ecg.io import RecordError

    rec = None
    if str(path).lower().endswith((".npy", ".csv", ".tsv", ".txt")):
        try:  # a pulse channel without a declared unit is in arbitrary units, not mV
            rec = read_record(path, lead=lead, fs=fs, units="a.u.")
        except RecordError as exc:
            if "units row" not in str(exc):
                raise
    rec = rec if rec is not None else read_record(path, lead=lead, fs=fs)
    sig = np.asarray(rec.signal, dtype=np.float64)
    name = rec.leads[0] if rec.leads else str(lead)
    units = rec.units if isinstance(rec.units, (tuple, list)) else (rec.units,)
    info = {"record": rec.name, "lead": name, "unit": str(units[0]) if units else "",
            "wraps": 0, "note": ""}
    n_wraps = count_wraps(sig)
    if n_wraps >= 3:
        period = adc_period(rec.path or path, name)
        if period is None:
            info["note"] = (f"{name} jumps across its whole range {n_wraps} times (wrap-around?) "
                            "and the file gives no converter range to unwrap it")
            return sig, float(rec.fs), info
        fixed = unwrap(sig, period)
        if np.nanmax(fixed) - np.nanmin(fixed) > 3 * period:
            info["note"] = (f"{name} wraps around its converter range {n_wraps} times but "
                            "unwrapping drifts (too fast for the sampling rate): left as read")
        else:
            sig = fixed
            info["wraps"] = n_wraps
            info["note"] = f"{name} wrapped around its converter range {n_wraps} times: unwrapped"
    return sig, float(rec.fs), info
