"""Read ECG records into a :class:`Record`: WFDB, EDF/EDF+/BDF, CSV/TSV/TXT and NPY.

Every reader returns the signal in physical units (as the file states them; WFDB
and most ECG files use mV), the sampling rate ``fs`` in Hz and, where the file has
them, annotations as a DataFrame with columns ``sample`` (int, sample index from the
record's start), ``symbol`` (str) and ``aux`` (str).

gmesa needs at least 100 Hz; every failure raises :class:`RecordError` (a
``ValueError``) with the file path in its message.  Nothing here uses pickle or eval.

Modules: ``record`` (Record, errors, lead lookup, sampling-rate checks), ``read``
(:func:`read_record`: which reader a path needs), ``wfdb``, ``edf``, ``text``
(CSV/TSV/TXT) and ``npy``.
"""
from __future__ import annotations

from .edf import EdfHeader, read_edf_header
from .read import SUPPORTED_EXTENSIONS, read_record
from .record import (ANNOTATION_COLUMNS, MIN_FS, Record, RecordError, RecordNotFoundError,
                     ecg_lead_index, lead_index, looks_like_ecg)

__all__ = [
    "MIN_FS",
    "SUPPORTED_EXTENSIONS",
    "ANNOTATION_COLUMNS",
    "Record",
    "RecordError",
    "RecordNotFoundError",
    "read_record",
    "read_edf_header",
    "EdfHeader",
    "lead_index",
    "ecg_lead_index",
    "looks_like_ecg",
]
