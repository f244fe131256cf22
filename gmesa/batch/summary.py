"""One row per input: the record outcomes, the summary columns and the per-record
summary of a beat table (:func:`summarize`)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["RECORD_STATUS", "SUMMARY_COLUMNS", "TIMING_COLUMNS", "summarize", "to_frame",
           "outcome", "error_text", "log_fields"]

#: ``status`` of a row of the summary (one outcome per input record)
RECORD_STATUS = {
    "ok": "fitted in this run, at least one beat fitted ok; results written to out",
    "no_ok_beat": "read and fitted in this run, but no beat was fitted ok: none detected "
                  "(nothing written) or every beat rejected (results written); the reason "
                  "column says which",
    "failed": "not fitted: the reason column says why (nothing written for this input)",
    "skipped": "complete results from an earlier run were found in out (resume=True)",
}

#: columns of the summary and of ``out/index.parquet``
SUMMARY_COLUMNS = (
    "path", "record", "status", "reason", "lead", "fs", "duration_s", "n_beats", "n_ok",
    "ok_fraction", "n_paced", "median_prd", "median_rr_ms", "median_pr_ms", "median_qrs_ms",
    "median_qt_ms", "median_qtc_ms", "warnings", "seconds", "read_s", "fit_s", "write_s",
    "beats_file", "signal_file", "info_file",
)
#: columns that change from run to run (wall-clock times, seconds)
TIMING_COLUMNS = ("seconds", "read_s", "fit_s", "write_s")

_INT_COLUMNS = ("n_beats", "n_ok", "n_paced")
_FLOAT_COLUMNS = ("fs", "duration_s", "ok_fraction", "median_prd", "median_rr_ms",
                  "median_pr_ms", "median_qrs_ms", "median_qt_ms", "median_qtc_ms",
                  "seconds", "read_s", "fit_s", "write_s")
_TEXT_COLUMNS = ("path", "record", "status", "reason", "lead", "warnings", "beats_file",
                 "signal_file", "info_file")
_INTERVALS = ("rr", "pr", "qrs", "qt", "qtc")
#: keys of a worker's row that are objects for the caller, not summary figures
_OBJECT_KEYS = ("fit", "beats_table", "i", "index_reason")


def summarize(beats):
    """Summary figures of one record's beat table: ``n_beats``, ``n_ok`` (beats with
    status "ok"), ``ok_fraction``, ``n_paced`` (beats with a pacemaker spike before their
    R peak, ``pacing_spike_s``), ``median_prd`` (%) and ``median_{rr,pr,qrs,qt,qtc}_ms``
    (ms), medians over the ok beats (NaN where none has the figure)."""
    n = int(len(beats))
    if n:
        ok = beats[beats["status"] == "ok"]
        n_ok = int(len(ok))
    else:
        ok, n_ok = beats, 0

    def med(col):
        if n_ok == 0 or col not in ok:
            return math.nan
        v = pd.to_numeric(ok[col], errors="coerce").to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else math.nan

    paced = beats["pacing_spike_s"] if "pacing_spike_s" in beats else pd.Series(dtype=float)
    row = {"n_beats": n, "n_ok": n_ok, "ok_fraction": n_ok / n if n else math.nan,
           "n_paced": int(pd.to_numeric(paced, errors="coerce").notna().sum()),
           "median_prd": med("prd")}
    for iv in _INTERVALS:
        row[f"median_{iv}_ms"] = med(f"{iv}_ms")
    return row


def outcome(row):
    """The record's outcome: its status, or for a record skipped by resume the outcome
    of the run that fitted it ("ok", or "no_ok_beat" when it has no ok beat)."""
    if row.get("status") != "skipped":
        return row.get("status")
    n_ok = row.get("n_ok")
    return "no_ok_beat" if not _missing(n_ok) and int(n_ok) == 0 else "ok"


def to_frame(rows):
    """Rows (dicts) as a DataFrame of :data:`SUMMARY_COLUMNS` with fixed dtypes."""
    df = pd.DataFrame([{c: r.get(c) for c in SUMMARY_COLUMNS} for r in rows],
                      columns=list(SUMMARY_COLUMNS))
    for c in _INT_COLUMNS:
        df[c] = pd.array([None if _missing(v) else int(v) for v in df[c]], dtype="Int64")
    for c in _FLOAT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in _TEXT_COLUMNS:
        df[c] = df[c].map(lambda v: "" if _missing(v) else str(v)).astype(object)
    return df


def _missing(v):
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and math.isnan(v))


def error_text(exc):
    """One line for an exception: the message of a RecordError, else ``Type: message``."""
    msg = " ".join(str(exc).split())
    name = type(exc).__name__
    if name in ("RecordError", "RecordNotFoundError"):
        return msg or name
    return f"{name}: {msg}" if msg else name


def log_fields(row):
    """A row without the objects a worker hands back (for the log)."""
    return {k: v for k, v in row.items() if k not in _OBJECT_KEYS}
