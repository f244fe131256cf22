"""Fits of the calibration records (LUDB, odd record numbers, lead ii or more leads) shared by the
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

from benchmarks._annotations import list_records, read_ludb, split_records  # noqa: E402


def calibration_records(limit=None):
    """The LUDB records with odd numbers (``data/1``, ``data/3``, ...), the first ``limit``."""
    recs = split_records(list_records("ludb"), "odd")
    return recs[:limit] if limit else recs


#: the twelve LUDB leads (``--leads all`` of the calibration scripts)
LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")


def fit_one(record, options=None, lead="ii"):
    """One lead (default ii) of one calibration record fitted by ``fit_record``: a dict
    with the record and lead, the beats table, the parameter matrix, the layout labels,
    the waves, R times (s of the record) and that lead's cardiologists' marks (s of the
    record)."""
    from gmesa.ecg import Record, fit_record

    case = read_ludb(record, lead=lead)
    fit = fit_record(Record(case.signal, case.fs), **(options or {}))
    b = fit.beats
    return dict(record=record, lead=lead, beats=b, params=np.asarray(fit.params),
                labels=list(fit.param_names), waves=tuple(fit.waves),
                r=b["r_peak_s"].to_numpy() + case.offset_s, ref=case.reference)


def fit_calibration(limit=None, jobs=1, options=None, leads=("ii",)):
    """:func:`fit_one` for every calibration record and each of ``leads`` (``jobs``
    processes)."""
    tasks = [(r, lead) for r in calibration_records(limit) for lead in leads]
    recs, lds = [t[0] for t in tasks], [t[1] for t in tasks]
    if jobs <= 1:
        return [fit_one(r, options, lead) for r, lead in tasks]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(fit_one, recs, [options] * len(tasks), lds))
