"""``fit_files``: fit every record of a set of files, folders and patterns, write one
result set per record and an index, resumably (see the package docstring)."""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import socket
import sys
import time
import uuid
from datetime import datetime, timezone

import numpy as np

from .. import __version__
from .._atomic import check_table_format
from .discovery import find_records, output_stems
from .executors import engine_name, is_dask_client, run_tasks
from .outdir import (RunLog, clean_temporaries, existing_result, locked, prepare_out,
                     write_index)
from .summary import error_text, log_fields, outcome, to_frame
from .worker import make_task

__all__ = ["fit_files"]


def fit_files(paths, *, out=None, executor=None, workers=None, progress=True, resume=True,
              lead=None, leads=None, fmt="parquet", fs=None, force_ecg=False, **fit_options):
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
    force_ecg : fit leads that do not look like an ECG (unit or name): passed as
        ``force_ecg=True`` to the reader and fitter of :mod:`gmesa.ecg` that take it.
    **fit_options : passed to :func:`gmesa.ecg.fit_record` (``waves``, ``st_step``,
        ``chunk_s``, ``max_iter`` ...). ``threads`` sets Numba threads per record
        (default 1 per worker).

    Returns
    -------
    DataFrame, one row per input (:data:`SUMMARY_COLUMNS`): ``status`` is "ok",
    "no_ok_beat" or "failed" (``reason`` says why) or "skipped" (see
    :data:`RECORD_STATUS`). ``attrs`` holds ``out``, ``index``, ``log``, ``n_failed``,
    ``outcomes`` (inputs per outcome "ok", "no_ok_beat", "failed"; a skipped record
    counts as the run that fitted it), ``seconds`` and ``run``.

    Raises
    ------
    ValueError, TypeError : a bad option (before any work).
    OutputFolderError : ``out`` cannot be created or written, or another batch holds it.
    """
    t_start = time.perf_counter()
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    workers, leads, threads_opt = _check_options(fmt, workers, executor, leads, fit_options)
    out_path = None if out is None else prepare_out(out)
    inputs = find_records(paths, exclude=[out_path] if out_path is not None else [])
    settings = {"lead": lead, "leads": leads, "fs": None if fs is None else float(fs),
                "fmt": fmt, "fit_options": fit_options, "force_ecg": force_ecg}
    run = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    with contextlib.ExitStack() as stack:
        if out_path is not None:
            stack.enter_context(locked(out_path))
            clean_temporaries(out_path)
        log = RunLog(None if out_path is None else out_path / "log.jsonl", run)
        stack.callback(log.close)
        log("start", inputs=[str(p) for p in paths], n_inputs=len(inputs),
            out=str(out_path) if out_path else None, engine=engine_name(executor, workers),
            workers=workers, resume=resume, gmesa=__version__, pid=os.getpid(),
            host=socket.gethostname(),
            **dict(settings, fit_options={k: repr(v) for k, v in fit_options.items()}))
        rows, tasks = _plan(inputs, out_path, resume, settings)
        serial = _share_threads(tasks, executor, workers, threads_opt)
        tracker = _Tracker(rows, tasks, out_path, log, progress)
        try:
            run_tasks(tasks, tracker.done, executor=executor,
                      workers=workers or os.cpu_count() or 1, serial=serial)
        except BaseException as exc:
            log("interrupted", error=error_text(exc) or type(exc).__name__)
            tracker.flush(force=True)
            raise
        finally:
            tracker.close()
        summary = tracker.finish(time.perf_counter() - t_start)
    summary.attrs["run"] = run
    return summary


def _check_options(fmt, workers, executor, leads, fit_options):
    """Fail early on bad options, not once per record; return workers, leads and the
    ``threads`` option (taken out of ``fit_options``)."""
    check_table_format(fmt)
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ValueError(f"workers={workers!r}; give a whole number >= 1")
        workers = int(workers)
    if executor is not None and not is_dask_client(executor) \
            and not isinstance(executor, cf.Executor):
        raise TypeError("executor must be None, a concurrent.futures.Executor or a "
                        f"dask.distributed.Client, got {type(executor).__name__}")
    leads = check_leads(leads)
    threads_opt = fit_options.pop("threads", None)
    if "rpeaks" in fit_options and not (fit_options["rpeaks"] is None
                                        or isinstance(fit_options["rpeaks"], str)):
        raise ValueError("rpeaks= as an array belongs to one record; in a batch use None or "
                         "'annotations'")
    from ..ecg.fit import FitOptions  # the options fit_record rejects
    FitOptions(**{k: v for k, v in fit_options.items() if k in FitOptions.__dataclass_fields__})
    return workers, leads, threads_opt


def check_leads(leads):
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


def _plan(inputs, out_path, resume, settings):
    """One row per input that needs no work (a problem, or done by an earlier run:
    skipped) and one task per record to fit."""
    rows, tasks = [None] * len(inputs), []
    for i, ((path, problem), stem) in enumerate(zip(inputs, output_stems(inputs))):
        if problem is not None:
            rows[i] = {"path": path, "record": stem, "status": "failed", "reason": problem}
            continue
        task = make_task(path, out_path, record=stem, **settings)
        if out_path is not None and resume:
            old = existing_result(out_path, stem, settings["fmt"], task["fingerprint"],
                                  settings["leads"])
            if old is not None:
                old["index_reason"] = old.get("reason") or ""
                old.update(path=path, record=stem, status="skipped",
                           reason="complete results from an earlier run are in out")
                rows[i] = old
                continue
        task.update(i=i, return_beats=out_path is None)
        tasks.append(task)
    return rows, tasks


def _share_threads(tasks, executor, workers, threads_opt):
    """Set each task's Numba threads (1 per worker, spare local cores to the fits);
    return whether the tasks run in this process."""
    n_workers = workers or os.cpu_count() or 1
    if executor is None:
        procs = max(1, min(n_workers, len(tasks)))
        threads = threads_opt or max(1, n_workers // procs)
        serial = workers == 1 or len(tasks) <= 1
    else:
        threads, serial = threads_opt or 1, False
    for t in tasks:
        t["threads"] = threads
    return serial


class _Tables(dict):
    """record -> beat table; shared, not copied, when pandas copies ``attrs``."""

    def __deepcopy__(self, memo):
        return self


class _Tracker:
    """The rows of a run as records finish: log, progress bar, index (rewritten at most
    once a second, and only when a row changed), beat tables kept in memory when there
    is no output folder."""

    def __init__(self, rows, tasks, out_path, log, progress):
        self.rows, self.out_path, self.log = rows, out_path, log
        self.position = {t["record"]: t["i"] for t in tasks}
        self.tables = _Tables()
        self.beats = self.failed = 0
        self.last_index = 0.0
        self.dirty = any(r is not None for r in rows)  # rows the index does not hold yet
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=len(rows), initial=len(rows) - len(tasks), unit="rec",
                            desc="gmesa batch", dynamic_ncols=True, smoothing=0.05,
                            file=sys.stderr)
        for r in rows:
            if r is not None:
                self.log("record", **log_fields(r))
                self._count(r)
        if self.bar is not None:
            self.bar.set_postfix(beats=f"{self.beats:,}", failed=self.failed)
        self.flush(force=True)

    def _count(self, row):
        if row["status"] == "failed":
            self.failed += 1
        else:
            self.beats += int(row.get("n_beats") or 0)

    def done(self, row):
        """A record finished (any outcome): keep its row, log it, show it."""
        beats = row.pop("beats_table", None)
        if beats is not None:
            self.tables[row["record"]] = beats
        row.pop("fit", None)
        self.rows[self.position[row["record"]]] = row
        self.log("record", **log_fields(row))
        self._count(row)
        self.dirty = True
        if self.bar is not None:
            self.bar.set_postfix(beats=f"{self.beats:,}", failed=self.failed, refresh=False)
            self.bar.update(1)
        self.flush()

    def flush(self, force=False):
        """Rewrite the index where a row changed since (at most once a second unless
        ``force``)."""
        if self.out_path is None or not self.dirty:
            return
        now = time.monotonic()
        if force or now - self.last_index >= 1.0:
            write_index(self.out_path, [r for r in self.rows if r is not None])
            self.last_index, self.dirty = now, False

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def finish(self, seconds):
        """The summary DataFrame of the run, logged as its end."""
        self.flush(force=True)
        summary = to_frame(self.rows)
        counts = summary["status"].value_counts().to_dict()
        self.log("end", seconds=seconds, n_inputs=len(self.rows), counts=counts,
                 n_beats=int(self.beats))
        out = self.out_path
        outcomes = {k: 0 for k in ("ok", "no_ok_beat", "failed")}
        for r in self.rows:
            outcomes[outcome(r)] += 1
        summary.attrs.update(out=None if out is None else str(out),
                             index=None if out is None else str(out / "index.parquet"),
                             log=None if out is None else str(out / "log.jsonl"),
                             n_failed=int(counts.get("failed", 0)), outcomes=outcomes,
                             seconds=seconds)
        if out is None:
            summary.attrs["beats"] = self.tables
        return summary
