"""Fit many ECG records: local processes, any ``concurrent.futures`` executor or a Dask
cluster, with a progress bar, a per-run log and output that survives interruption.

>>> from gmesa.batch import fit_files
>>> summary = fit_files(["data/", "more/*.edf"], out="results", workers=4)

Layout of ``out`` (see ``docs/batch.md``)::

    out/{record}.beats.parquet    one row per beat (or .csv with fmt="csv")
    out/{record}.signal.parquet   the cleaned lead that was fitted
    out/{record}.info.json        settings and summary; written last, atomically
    out/index.parquet, index.csv  one row per input: outcome and summary figures
    out/log.jsonl                 one JSON object per line, appended by every run

A record counts as done when its ``.info.json`` exists and names beats and signal
files that exist: :meth:`gmesa.ecg.RecordFit.save` writes the signal, then the beats,
then the info, each by temporary file + rename, so a run killed at any moment
(``kill -9`` included) leaves either a complete result or none.  Run again with the
same command and the finished records are skipped, the rest fitted: the final
per-record files and index are those of an uninterrupted run (timing columns aside).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import glob
import hashlib
import json
import math
import os
import re
import socket
import sys
import threading
import time
import traceback
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from ._atomic import check_table_format, jsonable, write_table
from .solvers.many import numba_threads

__all__ = ["fit_files", "find_records", "read_index", "read_log", "STATUS",
           "SUMMARY_COLUMNS", "TIMING_COLUMNS", "RECORD_EXTENSIONS"]

#: ``status`` of a row of the summary
STATUS = {
    "ok": "fitted in this run; results written to out",
    "failed": "not fitted: the reason column says why (nothing written for this input)",
    "skipped": "complete results from an earlier run were found in out (resume=True)",
}

#: file extensions a folder or a glob is searched for (a WFDB record is its .hea)
RECORD_EXTENSIONS = (".hea", ".edf", ".bdf", ".csv", ".tsv", ".npy")

#: columns of the summary and of ``out/index.parquet``
SUMMARY_COLUMNS = (
    "path", "record", "status", "reason", "lead", "fs", "duration_s", "n_beats", "n_ok",
    "ok_fraction", "median_prd", "median_rr_ms", "median_pr_ms", "median_qrs_ms",
    "median_qt_ms", "median_qtc_ms", "warnings", "seconds", "read_s", "fit_s", "write_s",
    "beats_file", "signal_file", "info_file",
)
#: columns that change from run to run (wall-clock times, seconds)
TIMING_COLUMNS = ("seconds", "read_s", "fit_s", "write_s")

_INT_COLUMNS = ("n_beats", "n_ok")
_FLOAT_COLUMNS = ("fs", "duration_s", "ok_fraction", "median_prd", "median_rr_ms",
                  "median_pr_ms", "median_qrs_ms", "median_qt_ms", "median_qtc_ms",
                  "seconds", "read_s", "fit_s", "write_s")
_INTERVALS = ("rr", "pr", "qrs", "qt", "qtc")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".npy")   # files without their own sampling rate
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}


# ---------------------------------------------------------------------------------
# finding records
# ---------------------------------------------------------------------------------
def _is_glob(s):
    return glob.has_magic(s)


def _record_key(p):
    """One key per record: a WFDB record's .hea and .dat share it."""
    p = Path(os.path.abspath(p))
    if p.suffix.lower() in (".hea", ".dat"):
        return str(p.with_suffix(""))
    return str(p)


def _member(p):
    """What a file found in a folder or by a glob stands for: a record path, or None
    for a companion file (annotations, notes, .dat of a .hea, results ...)."""
    ext = p.suffix.lower()
    if ext == ".dat":
        # a .dat without its header is reported (read_record says why), not hidden
        return None if p.with_suffix(".hea").is_file() else p
    if ext in RECORD_EXTENSIONS:
        return p
    return None


def _scan(folder, exclude):
    found = []
    for root, dirs, files in os.walk(folder):
        rootp = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not any(_same(rootp / d, x) for x in exclude))
        for f in sorted(files):
            if f.startswith("."):
                continue
            m = _member(rootp / f)
            if m is not None:
                found.append(m)
    return found


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def find_records(paths, exclude=()):
    """Expand files, folders (searched recursively, hidden folders and ``exclude``
    left out) and glob patterns into record inputs, in order, each record once.

    Returns a list of ``(path, problem)``: ``problem`` is None, or why the input
    stands for no record (a pattern that matches nothing, a folder with no record).
    A folder or glob contributes ``.hea`` (WFDB), ``.edf``, ``.bdf``, ``.csv``,
    ``.tsv`` and ``.npy`` files, and ``.dat`` files that lack their ``.hea`` (so they
    are reported rather than silently ignored).  A file named explicitly is always
    an input, whatever its type: the reader says when it cannot read it.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    exclude = [Path(x) for x in exclude if x is not None]
    out, seen = [], set()

    def add(p, problem=None):
        key = _record_key(p) if problem is None else f"?{p}"
        if key in seen:
            return
        seen.add(key)
        out.append((str(p), problem))

    for item in paths:
        s = os.path.expanduser(str(item))
        p = Path(s)
        if p.is_dir():
            found = _scan(p, exclude)
            if not found:
                add(p, f"{p}: no ECG record ({', '.join(RECORD_EXTENSIONS)}) in this folder")
            for f in found:
                add(f)
        elif p.exists() or Path(s + ".hea").is_file():
            if p.suffix.lower() == ".dat" and p.with_suffix(".hea").is_file():
                p = p.with_suffix(".hea")
            add(p)
        elif _is_glob(s):
            matches = sorted(glob.glob(s, recursive=True))
            before = len(out)
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    for f in _scan(mp, exclude):
                        add(f)
                elif not any(_inside(mp, x) for x in exclude):
                    rec = _member(mp)
                    if rec is None and mp.suffix.lower() == ".dat":
                        rec = mp.with_suffix(".hea")
                    if rec is not None:
                        add(rec)
            if len(out) == before and not matches:
                add(s, f"{s}: no file matches this pattern")
            elif len(out) == before:
                add(s, f"{s}: the files matching this pattern hold no ECG record "
                       f"({', '.join(RECORD_EXTENSIONS)})")
        else:
            add(p)  # read_record reports it: file not found
    return out


def _inside(p, folder):
    try:
        Path(os.path.abspath(p)).relative_to(os.path.abspath(folder))
        return True
    except ValueError:
        return False


def _safe_stem(name):
    """A file-name stem that cannot leave its folder: letters, digits, ``._-`` only,
    no leading dot or dash, at most 80 characters, never a reserved device name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))
    s = re.sub(r"_+", "_", s).lstrip("._-")[:80].rstrip("._ ")
    if not s:
        s = "record"
    if s.split(".")[0].casefold() in _WINDOWS_RESERVED:
        s = "_" + s
    return s


def _record_name(path):
    p = Path(path)
    if p.suffix.lower() in (".hea", ".dat", ".edf", ".bdf", ".csv", ".tsv", ".txt", ".npy") \
            or (p.suffix and p.is_file()):
        return p.stem
    return p.name  # a WFDB record named without extension (or a pattern)


def _stems(inputs):
    """Unique, safe output stems: the record name, plus a short hash of the input's
    absolute path where two inputs share a name (case-insensitively)."""
    base = [_safe_stem(_record_name(p)) for p, _ in inputs]
    counts = {}
    for b in base:
        counts[b.casefold()] = counts.get(b.casefold(), 0) + 1
    stems = []
    for (p, _), b in zip(inputs, base):
        if counts[b.casefold()] > 1:
            h = hashlib.sha1(os.path.abspath(p).encode()).hexdigest()[:8]
            b = f"{b[:71]}-{h}"
        stems.append(b)
    return stems


# ---------------------------------------------------------------------------------
# the work on one record (runs in a worker)
# ---------------------------------------------------------------------------------
_worker_lock = threading.Lock()
_worker_ready = False


def _init_worker():
    """Process-pool initializer: die with the parent, one Numba thread, warm kernels."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes
            import signal
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PDEATHSIG
            if os.getppid() == 1:  # the parent died before prctl
                os._exit(1)
    with contextlib.suppress(Exception):
        import numba
        numba.set_num_threads(1)
    _warm_up()


def _warm_up():
    """Compile (or load from Numba's cache) every kernel the ECG pipeline uses, once
    per process, by fitting an 8-s synthetic record."""
    global _worker_ready
    with _worker_lock:
        if _worker_ready:
            return
        from . import _kernels
        from .ecg import fit_record, synthesize
        _kernels.warm_up()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_record(synthesize(duration=8.0, fs=250.0, seed=1).record)
        _worker_ready = True


def _peek_leads(path):
    """Lead names of a WFDB (any layout, .dat or .mat) or EDF/BDF file from its header
    alone (None if unknown)."""
    from .ecg.io import header_leads
    try:
        leads = header_leads(path)
    except Exception:
        return None
    return [x.name for x in leads] if leads else None


_LIBRARY_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _pick_lead(names):
    """The first lead whose name looks like an ECG lead, else the first lead."""
    from .ecg.io import ecg_lead_index
    return ecg_lead_index(names)


def _read(path, lead, fs, every_lead=False):
    """Read one lead: the given one, else the first ECG-like lead (only that lead is
    read from WFDB and EDF files, which keeps memory low for long multi-lead files);
    ``every_lead``: all of them (for fits of several leads)."""
    from .ecg import read_record
    fs_arg = fs if Path(path).suffix.lower() in _TEXT_SUFFIXES else None
    if every_lead:
        return read_record(path, fs=fs_arg)
    if lead is not None:
        return read_record(path, lead=lead, fs=fs_arg)
    names = _peek_leads(path)
    if names:
        return read_record(path, lead=names[_pick_lead(names)], fs=fs_arg)
    rec = read_record(path, fs=fs_arg)
    if rec.n_leads > 1:
        rec = rec.select(_pick_lead(rec.leads))
    return rec


def summarize(beats):
    """Summary figures of one record's beat table (medians over beats with status ok)."""
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

    row = {"n_beats": n, "n_ok": n_ok, "ok_fraction": n_ok / n if n else math.nan,
           "median_prd": med("prd")}
    for iv in _INTERVALS:
        row[f"median_{iv}_ms"] = med(f"{iv}_ms")
    return row


def _fit_one(task):
    """Read, fit and write one record; never raises for a bad record: returns a row
    with ``status`` "ok" or "failed" and the reason."""
    t0 = time.perf_counter()
    row = {"path": task["path"], "record": task["record"], "status": "failed", "reason": "",
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    caught = []
    threads = task.get("threads")
    fit = None
    try:
        if task.get("warm_up", True):
            _warm_up()  # once per process; not part of the record's time
            t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, numba_threads(threads):
            warnings.simplefilter("always")
            from .ecg import fit_record
            leads = task.get("leads")
            opts = dict(task["fit_options"])
            opts.pop("threads", None)
            lead_paths = {}  # leads already written, lead name -> paths
            if leads is None:
                rec = _read(task["path"], task["lead"], task["fs"])
                t1 = time.perf_counter()
                row.update(lead=str(rec.leads[0]), fs=float(rec.fs),
                           duration_s=rec.duration_s, read_s=t1 - t0)
                fit = fit_record(rec, threads=threads, **opts)
                del rec
                row["fit_s"] = time.perf_counter() - t1
            else:
                fit, lead_paths = _fit_leads_of(task, row, dict(opts, threads=threads))
                row["lead"] = fit.primary
                row["fit_s"] = time.perf_counter() - t0 - row["read_s"] - row["write_s"]
        row.update(summarize(fit.beats))
        if leads is not None:  # PRD is a per-lead figure: the primary lead's
            row["median_prd"] = summarize(fit.fits[fit.primary].beats)["median_prd"]
        if len(fit.beats) == 0:
            raise _NoBeats(f"{task['path']}: {fit.info.get('warning', 'no beats detected')} "
                           f"in lead {row['lead']!r}")
        # what the data caused, not library deprecations (which come and go with versions
        # and with what a process has already imported)
        row["warnings"] = "; ".join(dict.fromkeys(
            str(w.message) for w in caught if not issubclass(w.category, _LIBRARY_WARNINGS)))
        row["status"] = "ok"
        out = task.get("out")
        if out is not None:
            out = Path(out)
            stem = task["record"]
            _unlink_info(out, stem, leads)
            row["seconds"] = time.perf_counter() - t0
            fit.info["batch"] = {
                "fingerprint": task["fingerprint"], "input": task["path"],
                "summary": {k: row.get(k) for k in SUMMARY_COLUMNS
                            if k not in ("status", "beats_file", "signal_file", "info_file")},
            }
            t3 = time.perf_counter()
            paths = (fit.save_table(out, stem, lead_paths, task["fmt"]) if lead_paths
                     else fit.save(out, stem=stem, fmt=task["fmt"]))
            row["write_s"] = row.get("write_s", 0.0) + time.perf_counter() - t3
            signal = paths["signal"] if leads is None else paths["leads"][fit.primary]["signal"]
            row.update(beats_file=paths["beats"].name, signal_file=signal.name,
                       info_file=paths["info"].name)
        elif task.get("return_beats"):
            row["_beats"] = fit.beats
    except _NoBeats as exc:
        row["status"], row["reason"] = "failed", str(exc)
    except Exception as exc:  # a bad record must not stop the batch
        row["status"] = "failed"
        row["reason"] = _reason(exc)
        row["error_type"] = type(exc).__name__
        from .ecg import RecordError
        if not isinstance(exc, RecordError):
            row["traceback"] = traceback.format_exc(limit=8)
    if row["status"] == "failed":
        # what the data caused, not library deprecations (which come and go with versions
        # and with what a process has already imported)
        row["warnings"] = "; ".join(dict.fromkeys(
            str(w.message) for w in caught if not issubclass(w.category, _LIBRARY_WARNINGS)))
        for k in ("n_beats", "n_ok"):
            row.setdefault(k, None)
    row["seconds"] = time.perf_counter() - t0
    if task.get("return_fit"):
        row["_fit"] = fit if row["status"] == "ok" else None
    return row


class _NoBeats(Exception):
    pass


def _unlink_info(out, stem, leads):
    """Remove the record's old info file: its result is incomplete from here on."""
    info_path = Path(out) / _info_name(stem, leads)
    if info_path.resolve().parent != Path(out).resolve():  # cannot happen with _safe_stem
        raise ValueError(f"output name {stem!r} leaves the output folder")
    with contextlib.suppress(FileNotFoundError):
        info_path.unlink()


def _fit_leads_of(task, row, opts):
    """Fit several leads of ``task``'s record (see :func:`gmesa.ecg.fit_each_lead`);
    return the :class:`LeadsFit` and each lead's saved paths.  Files whose header names
    the leads (WFDB, EDF/BDF) are read one lead at a time and each lead is written as
    soon as it is fitted, keeping only its beat table: memory stays near that of one
    lead.  Others (CSV, NPY) are read whole, and the caller writes every lead
    (empty paths).  Fills ``row``'s fs, duration, read and write times."""
    from dataclasses import replace

    from .ecg import fit_each_lead, fit_leads
    from .ecg.leads import choose_leads, lead_stem
    path, leads = task["path"], task["leads"]
    wanted = None if leads == "all" else leads
    names = _peek_leads(path)
    t0 = time.perf_counter()
    spent = {"read_s": 0.0, "write_s": 0.0}

    def note(rec):
        row.update(fs=float(rec.fs), duration_s=rec.duration_s)
        return rec
    if names is None:
        rec = note(_read(path, None, task["fs"], every_lead=True))
        row.update(read_s=time.perf_counter() - t0, write_s=0.0)
        return fit_leads(rec, wanted, primary=task["lead"], **opts), {}
    chosen, primary = choose_leads(names, wanted, task["lead"], path)
    out, lead_paths = task.get("out"), {}

    def read(lead):
        t = time.perf_counter()
        rec = note(_read(path, lead, task["fs"]))
        spent["read_s"] += time.perf_counter() - t
        return rec

    def keep(lead, fit):
        if out is not None:
            t = time.perf_counter()
            if not lead_paths:
                _unlink_info(out, task["record"], leads)
            lead_paths[lead] = fit.save(out, stem=lead_stem(task["record"], lead),
                                        fmt=task["fmt"])
            spent["write_s"] += time.perf_counter() - t
        return replace(fit, signal=np.zeros(0), params=None)
    fit = fit_each_lead(read, chosen, primary, keep=keep, **opts)
    row.update(spent)
    return fit, lead_paths


def _reason(exc):
    msg = " ".join(str(exc).split())
    name = type(exc).__name__
    if name in ("RecordError", "RecordNotFoundError"):
        return msg or name
    return f"{name}: {msg}" if msg else name


# ---------------------------------------------------------------------------------
# out folder: resume check, index, log, lock
# ---------------------------------------------------------------------------------
def _fingerprint(path, lead, fs, fmt, fit_options, leads=None):
    spec = {"input": os.path.abspath(path), "lead": lead,
            "fs": fs if Path(path).suffix.lower() in _TEXT_SUFFIXES else None,
            "fit_options": {k: v for k, v in fit_options.items() if k != "threads"},
            "gmesa": __version__}
    if leads is not None:
        spec["leads"] = leads
    text = json.dumps(spec, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _info_name(stem, leads=None):
    """The file whose presence marks a record's results complete (written last)."""
    return f"{stem}.info.json" if leads is None else f"{stem}.leads.json"


def _existing(out, stem, fmt, fingerprint, leads=None):
    """The stored summary row of a complete result with this fingerprint, else None."""
    info_path = Path(out) / _info_name(stem, leads)
    try:
        info = json.loads(info_path.read_text())
        batch = info["batch"]
        if batch["fingerprint"] != fingerprint:
            return None
        beats = info["beats_file"]
        if leads is None:
            signal, parts = info["signal_file"], []
        else:  # every lead's info, beats and signal
            lead_infos = {lead: json.loads((Path(out) / name).read_text())
                          for lead, name in info["lead_files"].items()}
            parts = [f for one in lead_infos.values()
                     for f in (one["beats_file"], one["signal_file"])]
            signal = lead_infos[info["primary"]]["signal_file"]
        if not beats.endswith(f".{'beats' if leads is None else 'leads'}.{fmt}"):
            return None
        if not all((Path(out) / f).is_file() for f in [beats, signal, *parts]):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    row = dict(batch.get("summary") or {})
    row.update(beats_file=beats, signal_file=signal, info_file=info_path.name)
    return row


def _frame(rows):
    df = pd.DataFrame([{c: r.get(c) for c in SUMMARY_COLUMNS} for r in rows],
                      columns=list(SUMMARY_COLUMNS))
    for c in _INT_COLUMNS:
        df[c] = pd.array([None if _missing(v) else int(v) for v in df[c]], dtype="Int64")
    for c in _FLOAT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("path", "record", "status", "reason", "lead", "warnings", "beats_file",
              "signal_file", "info_file"):
        df[c] = df[c].map(lambda v: "" if _missing(v) else str(v)).astype(object)
    return df


def _missing(v):
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _write_index(out, rows):
    """``index.parquet`` and ``index.csv``, each atomically; ``status`` is the record's
    outcome (a record skipped by resume is "ok": its results are in out)."""
    rows = [dict(r, status="ok", reason=r.get("_index_reason", ""))
            if r.get("status") == "skipped" else r for r in rows]
    df = _frame(rows)
    for fmt in ("parquet", "csv"):
        write_table(Path(out) / f"index.{fmt}", df, fmt)
    return df


def read_index(out):
    """The combined index of an output folder as a DataFrame."""
    return pd.read_parquet(Path(out) / "index.parquet")


def read_log(out):
    """Every line of ``out/log.jsonl`` that parses, as a DataFrame (a line cut short
    by a killed run is left out)."""
    rows = []
    path = Path(out) / "log.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                rows.append(json.loads(line))
    return pd.DataFrame(rows)


class _Log:
    """JSON lines appended with one ``write`` each (O_APPEND): a kill leaves at most
    one cut line, which the next run closes with a newline."""

    def __init__(self, path, run):
        self.run = run
        self.fd = None
        if path is None:
            return
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self.fd).st_size
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    os.write(self.fd, b"\n")

    def __call__(self, event, **fields):
        if self.fd is None:
            return
        rec = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
               "run": self.run, "event": event}
        rec.update(fields)
        line = json.dumps(jsonable(rec), default=str) + "\n"
        os.write(self.fd, line.encode())

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@contextlib.contextmanager
def _locked(out):
    """Hold ``out/.gmesa-batch.lock`` (released by the OS even on kill -9)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fh = open(Path(out) / ".gmesa-batch.lock", "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f"{out}: another gmesa batch is writing to this folder; wait "
                               "for it to finish or choose another --out") from None
        yield
    finally:
        fh.close()


def _clean_temporaries(out):
    """Remove temporary files a killed run left behind (``.{name}.*.tmp``)."""
    for p in Path(out).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            p.unlink()


# ---------------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------------
def _is_dask_client(x):
    mod = sys.modules.get("distributed")
    return mod is not None and isinstance(x, getattr(mod, "Client", ()))


def _crashed(task, exc):
    return {"path": task["path"], "record": task["record"], "status": "failed",
            "reason": f"the worker process died while fitting this record ({_reason(exc)}); "
                      "it may have run out of memory",
            "error_type": type(exc).__name__}


def _lost(task, exc):
    return {"path": task["path"], "record": task["record"], "status": "failed",
            "reason": f"the executor could not run this record ({_reason(exc)})",
            "error_type": type(exc).__name__}


def _run_pool(tasks, workers, done):
    """A local spawn-started process pool; a worker that dies (OOM, segfault) breaks
    the pool: its records are rerun one per fresh process, so only the culprit fails."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    pending = list(tasks)
    while pending:
        suspects = []
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx,
                                    initializer=_init_worker) as pool:
            futs = {pool.submit(_fit_one, t): t for t in pending}
            pending = []
            try:
                for fut in cf.as_completed(futs):
                    task = futs[fut]
                    try:
                        done(fut.result())
                    except cf.process.BrokenProcessPool:
                        suspects.append(task)
                    except Exception as exc:
                        done(_lost(task, exc))
            except BaseException:  # Ctrl-C: stop the workers now, not after their records
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    with contextlib.suppress(Exception):
                        proc.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        for task in suspects:  # one fresh process each
            with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                                        initializer=_init_worker) as pool:
                try:
                    done(pool.submit(_fit_one, task).result())
                except cf.process.BrokenProcessPool as exc:
                    done(_crashed(task, exc))
                except Exception as exc:
                    done(_lost(task, exc))


def _run_executor(tasks, executor, done):
    futs = {executor.submit(_fit_one, t): t for t in tasks}
    for fut in cf.as_completed(futs):
        try:
            done(fut.result())
        except Exception as exc:
            done(_lost(futs[fut], exc))


def _run_dask(tasks, client, done):
    from distributed import as_completed
    futs = {}
    for t in tasks:
        key = f"gmesa-fit-{t['record']}-{uuid.uuid4().hex[:8]}"
        futs[client.submit(_fit_one, t, key=key, pure=False)] = t
    for fut in as_completed(list(futs)):
        task = futs[fut]
        try:
            done(fut.result())
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":
                done(_crashed(task, exc))
            else:
                done(_lost(task, exc))
        finally:
            fut.release()


# ---------------------------------------------------------------------------------
# fit_files
# ---------------------------------------------------------------------------------
class _Tables(dict):
    """record -> beat table; shared, not copied, when pandas copies ``attrs``."""

    def __deepcopy__(self, memo):
        return self


def fit_files(paths, *, out=None, executor=None, workers=None, progress=True, resume=True,
              lead=None, leads=None, fmt="parquet", fs=None, **fit_options):
    """Fit every record found in ``paths`` and write one result set per record.

    Parameters
    ----------
    paths : file, folder or glob pattern (str or Path), or a list of them. Folders
        are searched recursively for ``.hea`` (WFDB), ``.edf``, ``.bdf``, ``.csv``,
        ``.tsv`` and ``.npy`` files; a WFDB record is its ``.hea`` plus its ``.dat``.
    out : output folder (created). Per record ``{record}.beats.{fmt}``,
        ``{record}.signal.parquet`` and ``{record}.info.json``; plus ``index.parquet``,
        ``index.csv`` and ``log.jsonl``. ``None``: nothing is written and the beat
        tables are returned in ``summary.attrs["beats"]`` (record -> DataFrame).
    executor : None (local processes), any ``concurrent.futures.Executor``, or a
        ``dask.distributed.Client`` (workers need gmesa installed and must see the
        input files and ``out``: a shared filesystem).
    workers : local processes when ``executor`` is None (default ``os.cpu_count()``);
        1 runs in this process. With fewer records than workers, the spare cores go
        to Numba threads inside each fit (one record and 2 workers: 2 threads).
    progress : show a tqdm bar over records (with beats fitted and an ETA).
    resume : skip records whose complete results (same input and options) are in
        ``out``; ``False`` fits and overwrites everything.
    lead : lead name or index for every record; default the first lead whose name
        looks like an ECG lead (II, MLII, V1, ECG ...), else the first lead. A record
        without that lead fails with the leads it has.
    leads : ``None`` (one lead), ``"all"`` or a list of lead names/indices: fit those
        leads of every record on shared R peaks with :func:`gmesa.ecg.fit_leads`
        (``lead`` is then the primary lead) and write ``{record}.leads.{fmt}``,
        ``{record}.leads.json`` and each lead's tables (``{record}.{lead}.*``).
    fmt : ``"parquet"`` or ``"csv"`` for the beat tables.
    fs : sampling rate (Hz) for files that carry none (CSV/TSV/TXT, NPY); WFDB and
        EDF files keep their own.
    **fit_options : passed to :func:`gmesa.ecg.fit_record` (``waves``, ``st_step``,
        ``chunk_s``, ``max_iter`` ...). ``threads`` sets Numba threads per record
        (default 1 per worker).

    Returns
    -------
    DataFrame, one row per input (:data:`SUMMARY_COLUMNS`): ``status`` is "ok",
    "failed" (``reason`` says why) or "skipped" (see :data:`STATUS`). ``attrs`` holds
    ``out``, ``index``, ``log``, ``n_failed``, ``seconds`` and ``run``.
    """
    t_start = time.perf_counter()
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    check_table_format(fmt)
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ValueError(f"workers={workers!r}; give a whole number >= 1")
        workers = int(workers)
    dask = _is_dask_client(executor)
    if executor is not None and not dask and not isinstance(executor, cf.Executor):
        raise TypeError("executor must be None, a concurrent.futures.Executor or a "
                        f"dask.distributed.Client, got {type(executor).__name__}")
    if fs is not None:
        fs = float(fs)
    leads = _check_leads(leads)
    threads_opt = fit_options.pop("threads", None)
    if "rpeaks" in fit_options and not (fit_options["rpeaks"] is None
                                        or isinstance(fit_options["rpeaks"], str)):
        raise ValueError("rpeaks= as an array belongs to one record; in a batch use None or "
                         "'annotations'")
    # fail early on options fit_record rejects, not once per record
    from .ecg.fit import FitOptions
    known = {k: v for k, v in fit_options.items() if k in FitOptions.__dataclass_fields__}
    FitOptions(**known)

    out_path = None if out is None else Path(out).expanduser()
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
        out_path = out_path.resolve()
    inputs = find_records(paths, exclude=[out_path] if out_path is not None else [])
    stems = _stems(inputs)
    run = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]

    with contextlib.ExitStack() as stack:
        if out_path is not None:
            stack.enter_context(_locked(out_path))
            _clean_temporaries(out_path)
        log = _Log(None if out_path is None else out_path / "log.jsonl", run)
        stack.callback(log.close)
        engine = ("dask" if dask else type(executor).__name__ if executor is not None
                  else "serial" if workers == 1 else "processes")
        log("start", inputs=[str(p) for p in paths], n_inputs=len(inputs),
            out=str(out_path) if out_path else None, engine=engine, workers=workers, resume=resume,
            lead=lead, leads=leads, fmt=fmt, fs=fs,
            fit_options={k: repr(v) for k, v in fit_options.items()}, gmesa=__version__,
            pid=os.getpid(), host=socket.gethostname())

        rows = [None] * len(inputs)
        tasks = []
        for i, ((path, problem), stem) in enumerate(zip(inputs, stems)):
            if problem is not None:
                rows[i] = {"path": path, "record": stem, "status": "failed", "reason": problem}
                continue
            fp = _fingerprint(path, lead, fs, fmt, fit_options, leads)
            if out_path is not None and resume:
                old = _existing(out_path, stem, fmt, fp, leads)
                if old is not None:
                    old["_index_reason"] = old.get("reason") or ""
                    old.update(path=path, record=stem, status="skipped",
                               reason="complete results from an earlier run are in out")
                    rows[i] = old
                    continue
            tasks.append({"i": i, "path": path, "record": stem, "lead": lead, "leads": leads,
                          "fs": fs,
                          "fmt": fmt, "fit_options": fit_options, "fingerprint": fp,
                          "out": None if out_path is None else str(out_path),
                          "return_beats": out_path is None})

        # Numba threads per record: 1 per worker, spare local cores to the fits
        n_workers = workers or os.cpu_count() or 1
        if executor is None:
            procs = max(1, min(n_workers, len(tasks)))
            threads = threads_opt or max(1, n_workers // procs)
            serial = workers == 1 or len(tasks) <= 1
        else:
            threads, serial = threads_opt or 1, False
        for t in tasks:
            t["threads"] = threads

        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(inputs), initial=len(inputs) - len(tasks), unit="rec",
                       desc="gmesa batch", dynamic_ncols=True, smoothing=0.05,
                       file=sys.stderr)
        state = {"beats": 0, "failed": 0, "last_index": 0.0}
        for r in rows:
            if r is not None:
                log("record", **_log_fields(r))
                state["beats"] += int(r.get("n_beats") or 0) if r["status"] != "failed" else 0
                state["failed"] += r["status"] == "failed"
        tables = _Tables()

        def flush_index(force=False):
            if out_path is None:
                return
            now = time.monotonic()
            if force or now - state["last_index"] >= 1.0:
                _write_index(out_path, [r for r in rows if r is not None])
                state["last_index"] = now

        position = {t["record"]: t["i"] for t in tasks}

        def done(row):
            i = position[row["record"]]
            beats = row.pop("_beats", None)
            if beats is not None:
                tables[row["record"]] = beats
            row.pop("_fit", None)
            rows[i] = row
            log("record", **_log_fields(row))
            if row["status"] == "failed":
                state["failed"] += 1
            else:
                state["beats"] += int(row.get("n_beats") or 0)
            if bar is not None:
                bar.set_postfix(beats=f"{state['beats']:,}", failed=state["failed"],
                                refresh=False)
                bar.update(1)
            flush_index()

        if bar is not None:
            bar.set_postfix(beats=f"{state['beats']:,}", failed=state["failed"])
        flush_index(force=True)
        try:
            if not tasks:
                pass
            elif dask:
                _run_dask(tasks, executor, done)
            elif executor is not None:
                _run_executor(tasks, executor, done)
            elif serial:
                for t in tasks:
                    done(_fit_one(t))
            else:
                _run_pool(tasks, n_workers, done)
        except BaseException as exc:
            log("interrupted", error=_reason(exc) or type(exc).__name__)
            flush_index(force=True)
            raise
        finally:
            if bar is not None:
                bar.close()
        flush_index(force=True)
        summary = _frame(rows)
        seconds = time.perf_counter() - t_start
        counts = summary["status"].value_counts().to_dict()
        log("end", seconds=seconds, n_inputs=len(inputs), counts=counts,
            n_beats=int(state["beats"]))
    summary.attrs.update(out=None if out_path is None else str(out_path),
                         index=None if out_path is None else str(out_path / "index.parquet"),
                         log=None if out_path is None else str(out_path / "log.jsonl"),
                         n_failed=int(counts.get("failed", 0)), seconds=seconds, run=run)
    if out_path is None:
        summary.attrs["beats"] = tables
    return summary


def _check_leads(leads):
    """``None``, ``"all"`` or a non-empty list of lead names/indices."""
    if leads is None or (isinstance(leads, str) and leads.lower() == "all"):
        return None if leads is None else "all"
    if isinstance(leads, (str, int, np.integer)):
        leads = [leads]
    leads = list(leads)
    if not leads or not all(isinstance(x, (str, int, np.integer)) and not isinstance(x, bool)
                            for x in leads):
        raise ValueError(f"leads={leads!r}; give 'all' or a list of lead names or indices")
    return [x if isinstance(x, str) else int(x) for x in leads]


def _log_fields(row):
    keep = dict(row)
    keep.pop("_beats", None)
    keep.pop("_fit", None)
    keep.pop("i", None)
    keep.pop("_index_reason", None)
    return keep
