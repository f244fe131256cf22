"""Delimited text records (CSV, TSV, TXT): a header row of lead names (optional), a units
row (optional; voltages are converted to mV) and a time column (left out of the leads;
when evenly spaced it gives the sampling rate).  A semicolon- or tab-separated file may
write its numbers with decimal commas; a file without a header row may still begin with
a time column (an evenly spaced, increasing first column), and a sample-number column
(0, 1, 2, ...) is left out too."""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .record import Record, RecordError, check_file_fs, lead_index
from .units import settle_units
from ..._warn import warn

# column names that hold time (s, ms or a clock) or a sample number, not a lead
_TIME_NAME = re.compile(
    r"^(time|t|sec|secs|second|seconds|s|ms|us|timestamp|elapsed|elapsed[ _]?time)"
    r"(\s*[\[(]?\s*(s|sec|seconds|ms|us|µs|hh:mm:ss(\.\w+)?)\s*[\])]?|_s|_ms|_us|_sec)?$"
)
_INDEX_NAME = re.compile(r"^(sample|samples|index)$")
_MS = re.compile(r"(^ms$|[\[(_ ]ms[\])]?$)")
_US = re.compile(r"(^(us|µs)$|[\[(_ ](us|µs)[\])]?$)")
_UNIT_GIVEN = re.compile(r"(^(s|ms|us|µs)$|[\[(_ ](s|sec|seconds|ms|us|µs)[\])]?$|hh:mm)")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d")
#: the sampling rates a time column's unit is judged by (Hz): an ECG is sampled at
#: 100 Hz to 20 kHz
_PLAUSIBLE_FS = (100.0, 20_000.0)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")
_MISSING = ["", "nan", "NaN", "NAN", "NA", "N/A", "null", "-"]


def _is_number(tok: str) -> bool:
    """Is ``tok`` a data cell: a number (decimal point or comma), a clock time, a
    date-time, or empty (a missing value), rather than a name or a unit?"""
    t = tok.strip().strip("'\"")
    if t == "" or _DECIMAL_COMMA.match(t) or _CLOCK.match(t) or _DATE.match(t):
        return True
    try:
        float(t)
        return True
    except ValueError:
        return False


def _split(line: str, delim: str | None) -> list[str]:
    return line.split() if delim is None else line.split(delim)


def _head_lines(p: Path) -> list[str]:
    """The first three non-empty, non-comment lines."""
    head: list[str] = []
    try:
        with open(p, encoding="utf-8-sig", errors="replace") as fh:
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
    return head


def _sniff(head: list[str], ext: str, delimiter: str | None) -> tuple[str | None, bool, bool, bool]:
    """(delimiter, has a header row, has a units row, numbers written with decimal
    commas).  A tab or a semicolon in every line separates before a comma does (such
    files write decimal commas)."""
    delim = delimiter
    if delim is None:
        if ext == ".tsv":
            delim = "\t"
        else:
            for cand in ("\t", ";"):
                if all(cand in line for line in head):
                    delim = cand
                    break
            else:
                delim = next((c for c in (",", "\t", ";") if c in head[-1]), None)
    has_header = not all(_is_number(t) for t in _split(head[0], delim))
    units_row = has_header and len(head) > 1 and not all(_is_number(t) for t in _split(head[1], delim))
    cells = [t.strip().strip("'\"") for t in _split(head[-1], delim)]
    comma = delim != "," and any(_DECIMAL_COMMA.match(t) for t in cells)
    return delim, has_header, units_row, comma


def _lead_columns(p: Path, names: list[str], is_time: list[bool], lead: Any, column: Any) -> list[int]:
    if column is not None:
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            ci = int(column)
            if not -len(names) <= ci < len(names):
                raise RecordError(f"{p}: column index {ci} out of range; columns: "
                                  + ", ".join(f"{i}={n!r}" for i, n in enumerate(names)))
            return [ci % len(names)]
        return [lead_index(names, column, p)]
    cols = [i for i in range(len(names)) if not is_time[i]]
    if not cols:
        raise RecordError(f"{p}: no lead columns (only time columns: {names})")
    if lead is not None:
        cols = [cols[lead_index([names[i] for i in cols], lead, p)]]
    return cols


def _cells(column: pd.Series, comma: bool) -> pd.Series:
    """The cells of a column as stripped strings, decimal commas made points."""
    s = column.astype(str).str.strip().str.strip("'\"")
    return s.str.replace(",", ".", regex=False) if comma else s


def _numbers(p: Path, df: pd.DataFrame, names: list[str], cols: list[int],
             comma: bool = False) -> np.ndarray:
    data = np.empty((df.shape[0], len(cols)), dtype=np.float64)
    for k, ci in enumerate(cols):
        raw = _cells(df.iloc[:, ci], comma)
        missing = raw.isin(_MISSING)
        vals = pd.to_numeric(raw.where(~missing, None), errors="coerce")
        bad = vals.isna() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise RecordError(f"{p}: malformed data: column {names[ci]!r} row {row + 1} holds "
                              f"{raw.iloc[row]!r}, not a number")
        data[:, k] = vals.to_numpy(dtype=np.float64)
    return data


def _seconds(cells: pd.Series, scale: float, comma: bool = False) -> tuple[np.ndarray, float, bool] | None:
    """(time of each row in s, timestamp resolution in s, written as plain numbers) of a
    time column of numbers (in units of ``scale`` s), clock strings (``[h:]mm:ss.fff``)
    or ISO date-times; None if unreadable."""
    s = _cells(cells, comma)
    if s.str.contains(r"\d[eE][+-]?\d").any():
        res = 0.0  # written in full precision
    else:
        frac = s.str.extract(r"\.(\d+)\s*$", expand=False).dropna()
        res = 10.0 ** -(int(frac.str.len().max()) if len(frac) else 0)
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().all():
        return num.to_numpy(dtype=np.float64) * scale, res * scale, True
    clock = s.str.extract(_CLOCK)
    if clock.notna()[[1, 2]].all().all():
        h = pd.to_numeric(clock[0], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
        m, sec = (pd.to_numeric(clock[c]).to_numpy(dtype=np.float64) for c in (1, 2))
        return h * 3600 + m * 60 + sec, res, False
    stamps = pd.to_datetime(s, errors="coerce", format="ISO8601")
    if stamps.notna().all():
        return (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(dtype=np.float64), res, False
    return None


def _fs_from_time(t: np.ndarray, res: float) -> float | None:
    """The sampling rate (Hz) of evenly spaced times ``t`` (s), rounded to a whole Hz
    when the timestamps' resolution ``res`` (s) cannot tell them apart; None if uneven."""
    n = t.size
    if n < 3 or not np.all(np.isfinite(t)):
        return None
    span = t[-1] - t[0]
    dt = span / (n - 1)
    if dt <= 0:
        return None
    resid = t - (t[0] + np.arange(n) * dt)
    if np.max(np.abs(resid)) > 0.5 * dt + 0.5 * res:
        return None
    fs = 1.0 / dt
    whole = float(round(fs))
    return whole if abs(fs - whole) <= fs * res / span + 1e-9 * fs else fs


def _plausible(fs: float | None) -> bool:
    return fs is not None and _PLAUSIBLE_FS[0] <= fs <= _PLAUSIBLE_FS[1]


def _column_fs(column: pd.Series, name: str, unit: str, comma: bool) -> float | str:
    """The sampling rate (Hz) an evenly spaced time column gives, or why it gives none.
    A column of numbers whose name and units row give no unit is read in s, or else in
    ms or us where only that gives a plausible rate (:data:`_PLAUSIBLE_FS`; with a
    warning)."""
    low = name.lower()
    given = bool(_UNIT_GIVEN.search(low)) or unit in ("s", "ms", "us", "µs")
    scale = 1e-3 if (_MS.search(low) or unit == "ms") else 1e-6 if (
        _US.search(low) or unit in ("us", "µs")) else 1.0
    got = _seconds(column, scale, comma)
    if got is None:
        return f"time column {name!r} holds cells that are not times"
    fs = _fs_from_time(*got[:2])
    if fs is None:
        return f"time column {name!r} is not evenly spaced ({_uneven(got[0])})"
    if given or not got[2] or _plausible(fs):
        return fs
    for other, label in ((1e-3, "ms"), (1e-6, "us")):
        alt = _fs_from_time(got[0] * other, got[1] * other)
        if _plausible(alt):
            warn(f"time column {name!r} read in {label}: in seconds it gives "
                 f"{fs:g} Hz (name it e.g. 'time_{label}' to say so)",
                 RuntimeWarning)
            return alt
    return fs


def _uneven(t: np.ndarray) -> str:
    """Where times ``t`` (s) stop being evenly spaced, in words."""
    step = np.diff(t)
    med = float(np.median(step)) if step.size else 0.0
    bad = np.flatnonzero(~(np.abs(step - med) <= 0.5 * abs(med)))
    if not bad.size:
        return "its times drift"
    k = int(bad[0])
    return f"data row {k + 2} comes {step[k] * 1e3:g} ms after row {k + 1}, the usual step {med * 1e3:g} ms"


def _time_fs(df: pd.DataFrame, names: list[str], units_all: Sequence[str] | None,
             comma: bool) -> tuple[float, str] | str | None:
    """(sampling rate Hz, column name) from the first evenly spaced time column; a
    string saying why when there are time columns but none gives a rate."""
    why = None
    for i, n in enumerate(names):
        if not _TIME_NAME.match(n.lower()):
            continue
        unit = (units_all[i] if units_all and i < len(units_all) else "").lower()
        fs = _column_fs(df.iloc[:, i], n, unit, comma)
        if not isinstance(fs, str):
            return fs, n
        why = why or fs
    return why


def _leading_time(df: pd.DataFrame, comma: bool) -> tuple[str, float | None] | None:
    """A headerless file's first column when it is not a lead: ("index", None) for
    sample numbers (0 or 1, 2, 3, ...), ("time", Hz) for evenly spaced increasing times
    (clock times, or numbers whose rate is plausible in s, ms or us:
    :data:`_PLAUSIBLE_FS`); else None."""
    if df.shape[1] < 2 or df.shape[0] < 3:
        return None
    got = _seconds(df.iloc[:, 0], 1.0, comma)
    if got is None or not np.all(np.diff(got[0]) > 0):
        return None
    t, numbers = got[0], got[2]
    if numbers and np.all(np.diff(t) == 1.0) and t[0] in (0.0, 1.0):
        return "index", None
    for scale in (1.0, 1e-3, 1e-6) if numbers else (1.0,):
        fs = _fs_from_time(t * scale, got[1] * scale)
        if _plausible(fs):
            return "time", fs
    return None


def _sampling_rate(p: Path, fs: float | None, timed: tuple[float, str] | str | None) -> float:
    ext = p.suffix.lower() or "text"
    if timed is None or isinstance(timed, str):
        if fs is None:
            why = "an evenly spaced time column also gives it" if timed is None else (
                f"{timed}; pass fs= to read its samples as evenly spaced")
            raise RecordError(
                f"{p}: a {ext} file holds no sampling rate: pass fs= (Hz), e.g. "
                f"read_record({str(p)!r}, fs=500), or --fs 500 on the command line "
                f"({why})")
        if timed is not None:
            warn(f"{p}: {timed}: its samples are read as evenly spaced at fs={fs:g} Hz",
                 RuntimeWarning)
        return fs
    t_fs, name = timed
    if fs is None:
        check_file_fs(t_fs, p, f" (from time column {name!r})")
        return t_fs
    if not math.isclose(fs, t_fs, rel_tol=1e-3):
        warn(f"{p}: fs={fs:g} Hz was given but time column {name!r} says {t_fs:g} Hz: "
             f"using fs={fs:g} Hz", RuntimeWarning)
    return fs


def read_text(p: Path, lead: Any, fs: float | None, column: Any, delimiter: str | None,
              units: Any = None) -> Record:
    """Read a CSV/TSV/TXT record; ``fs`` (Hz) from the caller or an evenly spaced time
    column; ``units`` declares the unit of the leads when the file has no units row."""
    ext = p.suffix.lower() or "text"
    head = _head_lines(p)
    delim, has_header, units_row, comma = _sniff(head, ext, delimiter)
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
    units_all = [t.strip().strip("'\"") for t in _split(head[1], delim)] if units_row else None
    is_time = [has_header and bool(_TIME_NAME.match(n.lower()) or _INDEX_NAME.match(n.lower()))
               for n in names]
    timed = _time_fs(df, names, units_all, comma) if any(is_time) else None
    leading = None if has_header or column is not None else _leading_time(df, comma)
    if leading is not None:
        names[0] = leading[0]
        is_time[0] = True
        timed = None if leading[1] is None else (leading[1], "column 1")
    fs = _sampling_rate(p, fs, timed)
    cols = _lead_columns(p, names, is_time, lead, column)
    data = _numbers(p, df, names, cols, comma)
    sig = data[:, 0] if data.shape[1] == 1 else data
    leads = tuple(names[i] for i in cols)
    if units_all is not None and len(units_all) == len(names):
        if units is not None:
            raise RecordError(f"{p}: the file's units row declares the units "
                              f"({', '.join(units_all[i] for i in cols)}); drop units=")
        declared = [units_all[i] for i in cols]
    else:
        declared = units
    sig, out_units = settle_units(
        sig, leads, declared, p, "declare it with a units row under the header (e.g. 'uV') "
        "or read_record(..., units='uV')")
    return Record(sig, fs, leads=leads, units=out_units, name=p.stem, path=str(p))
