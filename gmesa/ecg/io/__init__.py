"""Read ECG records into a :class:`Record`: WFDB (one or several segments, ``.dat`` or
``.mat``), EDF/EDF+/BDF, CSV/TSV/TXT and NPY.

Every reader returns the signal in physical units, voltages in mV (converted from V, µV
or nV where the file says so), the sampling rate ``fs`` in Hz (each lead read at its own
rate) and, where the file has them, annotations as a DataFrame with columns ``sample``
(int, sample index from the record's start), ``symbol`` (str) and ``aux`` (str).

gmesa needs at least 100 Hz; every failure raises :class:`RecordError` (a
``ValueError``) with the file path in its message.  Nothing here uses pickle or eval.

Modules: ``record`` (Record, errors, lead lookup, sampling-rate checks), ``read``
(:func:`read_record` and :func:`header_leads`), ``wfdb_header`` and ``wfdb``, ``edf``,
``text`` (CSV/TSV/TXT), ``npy``, ``units`` (voltages to mV) and ``kind`` (which leads
are ECG; the ECG pipeline's refusal of the others).
"""
from __future__ import annotations

from .edf import EdfHeader, read_edf_header
from .kind import (check_ecg_lead, ecg_lead_index, ecg_lead_mv, ecg_leads, looks_like_ecg,
                   named_ecg_leads, not_ecg_reason, rhythm_lead_index)
from .read import SUPPORTED_EXTENSIONS, LeadInfo, header_leads, read_record
from .record import ANNOTATION_COLUMNS, MIN_FS, Record, RecordError, RecordNotFoundError, lead_index
from .units import is_voltage, to_millivolts
from .wfdb_header import WfdbSignals, read_wfdb_header, segment_headers

__all__ = [
    "MIN_FS", "SUPPORTED_EXTENSIONS", "ANNOTATION_COLUMNS",
    "Record", "RecordError", "RecordNotFoundError",
    "read_record", "header_leads", "LeadInfo",
    "read_edf_header", "EdfHeader", "read_wfdb_header", "WfdbSignals", "segment_headers",
    "lead_index", "ecg_lead_index", "rhythm_lead_index", "looks_like_ecg", "ecg_leads", "named_ecg_leads",
    "not_ecg_reason",
    "check_ecg_lead", "ecg_lead_mv", "is_voltage", "to_millivolts",
]
