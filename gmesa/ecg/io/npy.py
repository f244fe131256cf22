"""NumPy ``.npy`` records: numeric arrays only (pickles are never loaded)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .record import Record, RecordError
from .units import settle_units


def read_npy(p: Path, lead: Any, fs: float | None, units: Any = None) -> Record:
    """Read a ``.npy`` array (n,), (n, n_leads), (n_leads, n) or structured (one field
    per lead); ``fs`` in Hz, ``units`` the unit of the leads (taken as mV when None)."""
    if fs is None:
        raise RecordError(f"{p}: a .npy file holds no sampling rate: pass fs= (Hz), e.g. "
                          f"read_record({str(p)!r}, fs=500), or --fs 500 on the command line")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise RecordError(f"{p}: cannot read ({exc})") from None
    if magic != b"\x93NUMPY":
        raise RecordError(f"{p}: not a NumPy .npy file (it does not begin with the .npy "
                          "format's magic string); a text table is read as .csv/.txt")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        msg = str(exc)
        if "pickle" in msg.lower():
            raise RecordError(f"{p}: the array holds Python objects; gmesa reads only numeric "
                              "arrays (pickle is never loaded)") from None
        raise RecordError(f"{p}: truncated or malformed .npy file ({msg})") from None
    except Exception as exc:
        raise RecordError(f"{p}: truncated or malformed .npy file ({type(exc).__name__}: {exc})") from None
    leads = None
    if arr.dtype.names:
        leads = tuple(arr.dtype.names)
        try:
            arr = np.column_stack([np.asarray(arr[n], dtype=np.float64).ravel() for n in leads])
        except (TypeError, ValueError):
            raise RecordError(f"{p}: structured array fields must be numeric") from None
    if arr.dtype.kind not in "iuf":
        raise RecordError(f"{p}: array dtype {arr.dtype} is not numeric")
    if arr.size == 0:
        raise RecordError(f"{p}: empty array (shape {arr.shape})")
    if arr.ndim == 2 and arr.shape[1] > arr.shape[0]:
        arr = arr.T  # (n_leads, n) -> (n, n_leads)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim not in (1, 2):
        raise RecordError(f"{p}: array must be 1-D or 2-D, got shape {arr.shape}")
    rec = Record(np.ascontiguousarray(arr, dtype=np.float64), fs, leads=leads, name=p.stem, path=str(p))
    if lead is not None:
        rec = rec.select(lead)
    sig, out_units = settle_units(rec.signal, rec.leads, units, p,
                                  "declare it with read_record(..., units='uV')")
    return Record(sig, fs, leads=rec.leads, units=out_units, name=p.stem, path=str(p))
