"""Delimited text records (CSV, TSV, TXT): a header row of lead names (optional), a
units row (optional) and a time column (recognised and left out)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .record import Record, RecordError, lead_index

# column names that hold time, not a lead, in CSV/TSV files
_TIME_COLUMN = re.compile(
    r"^(time|t|sec|secs|second|seconds|s|ms|timestamp|elapsed|elapsed[ _]?time|sample|samples|index)"
    r"(\s*[\[(]?\s*(s|sec|seconds|ms|hh:mm:ss(\.\w+)?)\s*[\])]?|_s|_ms|_sec)?$"
)


def _is_number(tok: str) -> bool:
    t = tok.strip().strip("'\"")
    if t == "":
        return True  # an empty cell is a missing value, not a name
    try:
        float(t)
        return True
    except ValueError:
        return False


def _split(line: str, delim: str | None) -> list[str]:
    return line.split() if delim is None else line.split(delim)


def read_text(p: Path, lead: Any, fs: float | None, column: Any, delimiter: str | None) -> Record:
    ext = p.suffix.lower() or "text"
    if fs is None:
        raise RecordError(f"{p}: a {ext} file holds no sampling rate: pass fs= (Hz), e.g. "
                          f"read_record({str(p)!r}, fs=500)")
    try:
        with open(p, encoding="utf-8-sig", errors="replace") as fh:
            head = []
            for line in fh:
                s = line.strip()
                if s and not s.startswith("#"):
                    head.append(s)
                if len(head) >= 3:
                    break
    except OSError as exc:
        raise RecordError(f"{p}: cannot read ({exc})") from None
    if not head:
        raise RecordError(f"{p}: empty file (no data rows)")
    delim = delimiter
    if delim is None:
        if ext == ".tsv":
            delim = "\t"
        else:
            sample = head[-1]
            for cand in (",", "\t", ";"):
                if cand in sample:
                    delim = cand
                    break
    first = _split(head[0], delim)
    has_header = not all(_is_number(t) for t in first)
    units_row = False
    if has_header and len(head) > 1:
        second = _split(head[1], delim)
        units_row = not all(_is_number(t) for t in second)
    sep = r"\s+" if delim is None else delim
    try:
        df = pd.read_csv(p, sep=sep, header=0 if has_header else None, comment="#",
                         skiprows=[1] if units_row else None, skipinitialspace=True,
                         dtype=str, keep_default_na=False, engine="c")
    except Exception as exc:
        raise RecordError(f"{p}: malformed {ext} file ({type(exc).__name__}: {exc})") from None
    if df.shape[0] == 0:
        raise RecordError(f"{p}: no data rows")
    if has_header:
        names = [str(c).strip().strip("'\"") for c in df.columns]
    else:
        names = [f"lead{i}" for i in range(df.shape[1])]
    units_all = None
    if units_row:
        units_all = [t.strip().strip("'\"") for t in _split(head[1], delim)]
    is_time = [has_header and bool(_TIME_COLUMN.match(n.lower())) for n in names]

    if column is not None:
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            ci = int(column)
            if not -len(names) <= ci < len(names):
                raise RecordError(f"{p}: column index {ci} out of range; columns: "
                                  + ", ".join(f"{i}={n!r}" for i, n in enumerate(names)))
            cols = [ci % len(names)]
        else:
            cols = [lead_index(names, column, p)]
    else:
        cols = [i for i in range(len(names)) if not is_time[i]]
        if not cols:
            raise RecordError(f"{p}: no lead columns (only time columns: {names})")
        if lead is not None:
            cols = [cols[lead_index([names[i] for i in cols], lead, p)]]

    data = np.empty((df.shape[0], len(cols)), dtype=np.float64)
    for k, ci in enumerate(cols):
        raw = df.iloc[:, ci].astype(str).str.strip().str.strip("'\"")
        missing = raw.isin(["", "nan", "NaN", "NAN", "NA", "N/A", "null", "-"])
        vals = pd.to_numeric(raw.where(~missing, None), errors="coerce")
        bad = vals.isna() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise RecordError(f"{p}: malformed data: column {names[ci]!r} row {row + 1} holds "
                              f"{raw.iloc[row]!r}, not a number")
        data[:, k] = vals.to_numpy(dtype=np.float64)
    sig = data[:, 0] if data.shape[1] == 1 else data
    units = None
    if units_all is not None and len(units_all) == len(names):
        units = tuple(units_all[i] or "mV" for i in cols)
    return Record(sig, fs, leads=tuple(names[i] for i in cols), units=units,
                  name=p.stem, path=str(p))
