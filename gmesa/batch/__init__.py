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

Modules: ``discovery`` (inputs -> records, output names), ``reading`` (the lead(s) of
one record), ``worker`` (:func:`fit_one`: one record), ``outdir`` (lock, resume, index,
log), ``executors`` (serial, process pool, executor, Dask), ``run`` (:func:`fit_files`),
``summary`` (:data:`RECORD_STATUS`, :func:`summarize`, the summary columns).
"""
from __future__ import annotations

from .discovery import RECORD_EXTENSIONS, find_records
from .outdir import OutputFolderError, read_index, read_log
from .run import fit_files
from .summary import RECORD_STATUS, SUMMARY_COLUMNS, TIMING_COLUMNS, summarize
from .worker import fit_one, warm_up

__all__ = ["fit_files", "fit_one", "find_records", "read_index", "read_log", "summarize",
           "warm_up", "RECORD_STATUS", "SUMMARY_COLUMNS", "TIMING_COLUMNS",
           "RECORD_EXTENSIONS", "OutputFolderError"]
