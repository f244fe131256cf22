"""WFDB records (``.hea`` + ``.dat``): header checks, samples in physical units, and
annotations beside the record (``.atr``, ``.q1c``, ...)."""
from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .record import (Record, RecordError, RecordNotFoundError, check_file_fs, check_fs_agrees,
                     lead_index)

_FMT_BITS = {"8": 8, "80": 8, "16": 16, "61": 16, "160": 16, "212": 12, "24": 24, "32": 32,
             "310": 32 / 3, "311": 32 / 3}
_WFDB_FORMATS = ("8", "16", "24", "32", "61", "80", "160", "212", "310", "311", "508", "516", "524")
_NUM = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_FS_FIELD = re.compile(rf"^{_NUM}(/{_NUM}(\({_NUM}\))?)?$")




def _snip(text, width=40):
    """A short, printable excerpt of untrusted header text for error messages."""
    text = str(text)
    return repr(text[:width] + ("..." if len(text) > width else ""))


def _check_wfdb_header_text(hea: Path) -> None:
    """Catch header errors that wfdb.rdheader silently accepts (bad fs, missing lines)."""
    try:
        text = hea.read_text(encoding="latin-1")
    except OSError as exc:
        raise RecordError(f"{hea}: cannot read WFDB header ({exc})") from None
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise RecordError(f"{hea}: malformed WFDB header: no record line")
    tok = lines[0].split()
    if len(tok) < 2 or not re.fullmatch(r"\d+", tok[1]):
        raise RecordError(f"{hea}: malformed WFDB header: record line {_snip(lines[0])} lacks the signal count")
    if len(tok) >= 3 and not _FS_FIELD.match(tok[2]):
        raise RecordError(
            f"{hea}: malformed WFDB header: sampling frequency field {_snip(tok[2])} is not a number"
        )
    if len(tok) >= 4 and not re.fullmatch(r"\d+", tok[3]):
        raise RecordError(f"{hea}: malformed WFDB header: signal length field {_snip(tok[3])} is not an integer")
    n_sig = int(tok[1])
    if "/" not in tok[0] and len(lines) - 1 < n_sig:
        raise RecordError(
            f"{hea}: truncated WFDB header: the record line announces {n_sig} signal(s) "
            f"but {len(lines) - 1} signal line(s) follow"
        )


def read_wfdb(base: Path, lead: Any, annotator: Any, fs_arg: float | None) -> Record:
    import wfdb

    hea = Path(str(base) + ".hea")
    if hea.stat().st_size == 0:
        raise RecordError(f"{hea}: empty file (0 bytes)")
    _check_wfdb_header_text(hea)
    try:
        h = wfdb.rdheader(str(base))
    except Exception as exc:
        raise RecordError(f"{hea}: malformed WFDB header ({type(exc).__name__}: {exc})") from None
    names = [str(s) for s in (h.sig_name or [])]
    if not names or not h.n_sig:
        raise RecordError(f"{hea}: WFDB header lists no signals")
    fs_file = float(h.fs)
    check_file_fs(fs_file, hea)
    check_fs_agrees(fs_arg, fs_file, hea)
    channels = None
    if lead is not None:
        channels = [lead_index(names, lead, hea)]

    if isinstance(h, wfdb.MultiRecord):
        pass  # segments are checked by wfdb itself
    else:
        _check_wfdb_data_files(h, base, hea)

    try:
        rec = wfdb.rdrecord(str(base), channels=channels, physical=True, return_res=64)
    except Exception as exc:
        raise RecordError(
            f"{base}: cannot read WFDB signals ({type(exc).__name__}: {exc}); the data file "
            "may be truncated or malformed"
        ) from None
    sig = np.asarray(rec.p_signal, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[0] == 0:
        raise RecordError(f"{base}: WFDB record holds no samples")
    leads = tuple(str(s) for s in rec.sig_name)
    units = tuple(str(u) if u else "mV" for u in (rec.units or ["mV"] * len(leads)))
    if sig.shape[1] == 1:
        sig = sig[:, 0]
    start = getattr(rec, "base_datetime", None)
    if start is not None and not isinstance(start, datetime):
        start = None
    ann = _read_wfdb_annotations(base, annotator)
    return Record(sig, fs_file, leads=leads, units=units, start_time=start, annotations=ann,
                  name=base.name, path=str(hea))


def _check_wfdb_data_files(h: Any, base: Path, hea: Path) -> None:
    files: dict[str, dict] = {}
    spf = h.samps_per_frame or [1] * h.n_sig
    for i, fname in enumerate(h.file_name):
        if str(h.fmt[i]) not in _WFDB_FORMATS:
            raise RecordError(
                f"{hea}: malformed WFDB header: unknown storage format {h.fmt[i]!r} for signal "
                f"{h.sig_name[i]!r} (WFDB formats: {', '.join(_WFDB_FORMATS)})"
            )
        d = files.setdefault(fname, {"bits": 0.0, "offset": 0, "known": True})
        bits = _FMT_BITS.get(str(h.fmt[i]))
        if bits is None:
            d["known"] = False
        else:
            d["bits"] += bits * (spf[i] or 1)
        off = (h.byte_offset or [None] * h.n_sig)[i]
        if off:
            d["offset"] = max(d["offset"], int(off))
    for fname, d in files.items():
        if fname in ("~", ""):
            continue
        fpath = base.parent / fname
        if not fpath.is_file():
            raise RecordNotFoundError(f"{fpath}: WFDB data file named in {hea.name} not found")
        size = fpath.stat().st_size
        if size == 0:
            raise RecordError(f"{fpath}: empty WFDB data file (0 bytes)")
        if d["known"] and h.sig_len:
            expected = d["offset"] + math.ceil(h.sig_len * d["bits"] / 8)
            if size < expected:
                raise RecordError(
                    f"{fpath}: truncated WFDB data file: {size} bytes, {hea.name} implies {expected} "
                    f"({h.sig_len} samples per signal)"
                )


def _read_wfdb_annotations(base: Path, annotator: Any) -> pd.DataFrame | None:
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
    aux = ann.aux_note if ann.aux_note is not None else [""] * len(ann.sample)
    return pd.DataFrame({
        "sample": np.asarray(ann.sample, dtype=np.int64),
        "symbol": [str(s) for s in ann.symbol],
        "aux": [str(a).rstrip("\x00") if a else "" for a in aux],
    })
