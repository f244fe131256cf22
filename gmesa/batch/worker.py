"""The work on one record: read, fit, write its result files and return its summary
row.  :func:`fit_one` is the public entry (``gmesa fit`` calls it); ``fit_files`` maps
:func:`run_task` over the tasks :func:`make_task` builds, in any executor."""
from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from ..solvers.many import numba_threads
from . import reading
from .discovery import record_name, safe_stem
from .outdir import fingerprint, prepare_out, unlink_info
from .summary import SUMMARY_COLUMNS, error_text, summarize
from .._warn import warn

__all__ = ["fit_one", "make_task", "run_task", "warm_up", "init_worker"]

_LIBRARY_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_worker_lock = threading.Lock()
_worker_ready = False


class _NoBeats(Exception):
    pass


def fit_one(path, out, *, lead=None, fs=None, fmt="parquet", fit_options=None, leads=None,
            record=None, threads=None, force_ecg=False, keep_fit=False):
    """Read, fit and write one record; return its summary row (a dict).

    ``path``: a record file (WFDB ``.hea``/``.dat``/name, EDF/BDF, CSV/TSV, NPY).
    ``out``: folder for ``{record}.beats.{fmt}``, ``.signal.parquet`` and ``.info.json``
    (created), or None to write nothing.  ``lead``/``leads``/``fs`` (Hz)/``fmt`` as in
    :func:`gmesa.batch.fit_files`; ``fit_options`` go to :func:`gmesa.ecg.fit_record`;
    ``record``: output name (default: the file's, made safe); ``threads``: Numba
    threads; ``force_ecg``: fit a lead that does not look like an ECG (passed as
    ``force_ecg=True`` to the reader and fitter that take it); ``keep_fit``: put the
    :class:`~gmesa.ecg.RecordFit` (or ``LeadsFit``) in ``row["fit"]``.

    The row has the keys of :data:`SUMMARY_COLUMNS` (``status`` "ok", "no_ok_beat" or
    "failed", see :data:`RECORD_STATUS`, with the ``reason``) plus ``worker`` and, for a
    failure, ``error_type``.  A bad record
    never raises; an ``out`` that cannot be created or written raises
    :class:`~gmesa.batch.OutputFolderError`.
    """
    if out is not None:
        out = prepare_out(out)
    task = make_task(path, out, lead=lead, fs=fs, fmt=fmt, fit_options=fit_options,
                     leads=leads, record=record, threads=threads, force_ecg=force_ecg)
    task.update(warm_up=False, keep_fit=keep_fit)
    return run_task(task)


def make_task(path, out, *, lead=None, fs=None, fmt="parquet", fit_options=None, leads=None,
              record=None, threads=None, force_ecg=False):
    """The picklable description of one record's work (see :func:`run_task`)."""
    fit_options = {k: v for k, v in (fit_options or {}).items() if k != "threads"}
    path, fs = str(path), None if fs is None else float(fs)
    return {"path": path, "record": record or safe_stem(record_name(path)),
            "out": None if out is None else str(out), "lead": lead, "leads": leads,
            "fs": fs, "fmt": fmt, "fit_options": fit_options,
            "threads": threads, "force_ecg": bool(force_ecg),
            "fingerprint": fingerprint(path, lead, fs, fmt, fit_options, leads, force_ecg)}


def run_task(task):
    """Read, fit and write one record described by a :func:`make_task` dict; never
    raises for a bad record: returns a row with ``status`` "ok", "no_ok_beat" or
    "failed" and the reason.  ``task["warm_up"]`` (default True) compiles the kernels first (once per
    process, not timed); ``return_beats`` puts the beat table in ``row["beats_table"]``."""
    t0 = time.perf_counter()
    row = {"path": task["path"], "record": task["record"], "status": "failed", "reason": "",
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    caught, fit = [], None
    try:
        if task.get("warm_up", True):
            warm_up()  # once per process; not part of the record's time
            t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, numba_threads(task["threads"]):
            warnings.simplefilter("always")
            fit, lead_paths = _fit(task, row, t0)
        _summarize_fit(task, row, fit, caught)
        if task.get("out") is not None:
            _write(task, row, fit, lead_paths, t0)
        elif task.get("return_beats"):
            row["beats_table"] = fit.beats
    except _NoBeats as exc:
        row["status"], row["reason"] = "no_ok_beat", str(exc)
    except Exception as exc:  # a bad record must not stop the batch
        row.update(status="failed", reason=error_text(exc), error_type=type(exc).__name__)
        from ..ecg import RecordError
        if not isinstance(exc, RecordError):
            row["traceback"] = traceback.format_exc(limit=8)
    if row["status"] != "ok":
        row["warnings"] = data_warnings(caught)
        for k in ("n_beats", "n_ok"):
            row.setdefault(k, None)
    row["seconds"] = time.perf_counter() - t0
    if task.get("keep_fit"):
        row["fit"] = fit if row["status"] != "failed" else None
    return row


def data_warnings(caught):
    """What the data caused, not library deprecations (which come and go with versions
    and with what a process has already imported)."""
    return "; ".join(dict.fromkeys(
        str(w.message) for w in caught if not issubclass(w.category, _LIBRARY_WARNINGS)))


def _fit(task, row, t0):
    """Fit the record of ``task``: the fit and, for several leads, each lead's paths."""
    from ..ecg import fit_record
    opts = dict(task["fit_options"])
    if task.get("force_ecg"):      # the ECG check lives in fit_record: non-ECG leads refused
        opts["force_ecg"] = True
    if task.get("leads") is None:
        rec = reading.read_lead(task["path"], task["lead"], task["fs"])
        t1 = time.perf_counter()
        row.update(lead=str(rec.leads[0]), fs=float(rec.fs), duration_s=rec.duration_s,
                   read_s=t1 - t0)
        fit = fit_record(rec, threads=task["threads"], **opts)
        del rec
        if task["lead"] is None and not (fit.beats["status"] == "ok").any():
            fit = _next_lead(task, row, fit, opts)
        row["fit_s"] = time.perf_counter() - t1
        return fit, {}
    fit, lead_paths = _fit_leads_of(task, row, dict(opts, threads=task["threads"]))
    row["lead"] = fit.primary
    row["fit_s"] = time.perf_counter() - t0 - row["read_s"] - row["write_s"]
    return fit, lead_paths


def _next_lead(task, row, fit, opts):
    """The fit of the first other ECG lead of the record with a beat fitted ok, where the
    lead read by default (``row["lead"]``) gave none; ``fit`` (the default lead's) when
    no other lead does.  A warning names both leads."""
    from ..ecg import fit_record
    first = row["lead"]
    why = fit.info.get("warning") or "no beat fitted ok"
    for name in reading.other_ecg_leads(task["path"], task["fs"], {first}):
        try:
            rec = reading.read_lead(task["path"], name, task["fs"])
            other = fit_record(rec, threads=task["threads"], **opts)
        except (ValueError, OSError):  # that lead cannot be read or fitted: the next one
            continue
        if (other.beats["status"] == "ok").any():
            warn(f"{task['path']}: lead {first!r}, read by default, gave no beat "
                 f"({why}); lead {name!r} is fitted instead", UserWarning)
            row["lead"] = name
            return other
    return fit


def _summarize_fit(task, row, fit, caught):
    """Summary figures, warnings and status into ``row``: "ok", or "no_ok_beat" when
    no beat was fitted ok (no beat at all: raises _NoBeats, nothing is written)."""
    row.update(summarize(fit.beats))
    if task.get("leads") is not None:  # PRD is a per-lead figure: the primary lead's
        row["median_prd"] = summarize(fit.fits[fit.primary].beats)["median_prd"]
    if len(fit.beats) == 0:
        raise _NoBeats(f"{task['path']}: {fit.info.get('warning', 'no beats detected')} "
                       f"in lead {row['lead']!r}")
    row["warnings"] = data_warnings(caught)
    row["status"] = "ok" if row["n_ok"] else "no_ok_beat"
    if not row["n_ok"]:
        counts = fit.beats["status"].value_counts()
        row["reason"] = (f"{task['path']}: no beat fitted ok in lead {row['lead']!r} "
                         f"({row['n_beats']} beats: "
                         f"{', '.join(f'{k} {v}' for k, v in counts.items())})")


def _write(task, row, fit, lead_paths, t0):
    """Write the record's result files into ``task["out"]``, info file last."""
    out, stem, leads = Path(task["out"]), task["record"], task.get("leads")
    unlink_info(out, stem, leads)
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


def _fit_leads_of(task, row, opts):
    """Fit several leads of ``task``'s record (see :func:`gmesa.ecg.fit_each_lead`);
    return the :class:`LeadsFit` and each lead's saved paths.  Files whose header names
    the leads (WFDB, EDF/BDF) are read one lead at a time and each lead is written as
    soon as it is fitted, keeping only its beat table: memory stays near that of one
    lead.  Others (CSV, NPY) are read whole, and the caller writes every lead
    (empty paths).  Fills ``row``'s fs, duration, read and write times."""
    from dataclasses import replace

    from ..ecg import fit_each_lead, fit_leads
    from ..ecg.leads import choose_leads, ecg_primary, lead_stem
    path, leads = task["path"], task["leads"]
    joint = opts.pop("joint", True)
    wanted = None if leads == "all" else leads
    names = reading.peek_leads(path)
    t0 = time.perf_counter()
    spent = {"read_s": 0.0, "write_s": 0.0}

    def note(rec):
        row.update(fs=float(rec.fs), duration_s=rec.duration_s)
        return rec
    if names is None:
        rec = note(reading.read_lead(path, None, task["fs"], every_lead=True))
        row.update(read_s=time.perf_counter() - t0, write_s=0.0)
        return fit_leads(rec, wanted, primary=task["lead"], joint=joint, **opts), {}
    chosen, primary = choose_leads(names, wanted, task["lead"], path)
    out, lead_paths = task.get("out"), {}

    checked = {}  # the lead last read to check it shows an ECG: not read twice

    def read(lead):
        if lead in checked:
            return checked.pop(lead)
        t = time.perf_counter()
        rec = note(reading.read_lead(path, lead, task["fs"]))
        spent["read_s"] += time.perf_counter() - t
        return rec

    def read_to_check(lead):
        checked.clear()
        checked[lead] = rec = read(lead)
        return rec
    if task["lead"] is None:
        primary = ecg_primary(read_to_check, chosen, primary)

    def keep(lead, fit):
        if out is not None:
            t = time.perf_counter()
            if not lead_paths:
                unlink_info(out, task["record"], leads)
            lead_paths[lead] = fit.save(out, stem=lead_stem(task["record"], lead),
                                        fmt=task["fmt"])
            spent["write_s"] += time.perf_counter() - t
        return replace(fit, signal=np.zeros(0), params=None)
    fit = fit_each_lead(read, chosen, primary, keep=keep, joint=joint, **opts)
    row.update(spent)
    return fit, lead_paths


# ---------------------------------------------------------------------------------
# worker processes
# ---------------------------------------------------------------------------------
def init_worker():
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
    warm_up()


def warm_up():
    """Compile (or load from Numba's cache) every kernel the ECG pipeline uses, once
    per process, by fitting an 8-s synthetic record."""
    global _worker_ready
    with _worker_lock:
        if _worker_ready:
            return
        from .. import _kernels
        from ..ecg import fit_record, synthesize
        _kernels.warm_up()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_record(synthesize(duration=8.0, fs=250.0, seed=1).record)
        _worker_ready = True
