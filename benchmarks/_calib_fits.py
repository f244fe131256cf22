"""Fits of the calibration records (LUDB, odd record numbers, lead ii) shared by the
calibration scripts (``calibrate_priors.py``, ``calibrate_fiducials.py``).

The protocol (docs/results.md): calibrate on LUDB odd, choose between designs on LUDB
even, report QTDB without tuning on it.  Nothing here reads the even records or QTDB.
"""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import list_records, read_ludb  # noqa: E402


def calibration_records(limit=None):
    """The LUDB records with odd numbers (``data/1``, ``data/3``, ...), the first ``limit``."""
    recs = [r for r in list_records("ludb") if int(Path(r).name) % 2 == 1]
    return recs[:limit] if limit else recs


def fit_one(record, options=None):
    """One calibration record fitted by ``fit_record`` (lead ii): a dict with the beats
    table, the parameter matrix, the layout labels, the waves, R times (s of the
    record) and the cardiologists' marks (s of the record)."""
    from gmesa.ecg import Record, fit_record

    case = read_ludb(record)
    fit = fit_record(Record(case.signal, case.fs), **(options or {}))
    b = fit.beats
    return dict(record=record, beats=b, params=np.asarray(fit.params),
                labels=list(fit.param_names), waves=tuple(fit.waves),
                r=b["r_peak_s"].to_numpy() + case.offset_s, ref=case.reference)


def fit_calibration(limit=None, jobs=1, options=None):
    """:func:`fit_one` for every calibration record (``jobs`` processes)."""
    recs = calibration_records(limit)
    if jobs <= 1:
        return [fit_one(r, options) for r in recs]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(fit_one, recs, [options] * len(recs)))
