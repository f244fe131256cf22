""":func:`read_record`: which reader a path needs, and the checks every record passes;
:func:`header_leads`: a record's leads from its header alone."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from .edf import read_edf, read_edf_header
from .npy import read_npy
from .record import Record, RecordError, RecordNotFoundError, check_fs
from .text import read_text
from .wfdb import read_wfdb
from .wfdb_header import read_wfdb_header
from ..._warn import warn

#: file extensions :func:`read_record` understands (a WFDB record may also be named
#: without extension; ``.mat`` is a WFDB record of the PhysioNet/CinC challenges)
SUPPORTED_EXTENSIONS = (".hea", ".dat", ".edf", ".bdf", ".csv", ".tsv", ".txt", ".npy", ".mat")


class LeadInfo(NamedTuple):
    """A lead as a record's header describes it: name, unit (as stated), rate (Hz)."""

    name: str
    unit: str
    fs: float


def read_record(
    path: str | Path,
    lead: str | int | None = None,
    *,
    fs: float | None = None,
    column: str | int | None = None,
    delimiter: str | None = None,
    annotator: str | bool | None = None,
    edf_reader: str = "auto",
    units: str | tuple[str, ...] | None = None,
) -> Record:
    """Read an ECG record from a file.

    Parameters
    ----------
    path : str or Path
        A WFDB record (``.hea``, ``.dat``, ``.mat`` or the record name without
        extension; one segment or several, fixed or variable layout), an EDF/EDF+/BDF
        file (``.edf``, ``.bdf``), a delimited text file (``.csv``, ``.tsv``, ``.txt``)
        or a NumPy array (``.npy``, shape (n,) or (n, n_leads); an array with more
        columns than rows is read as (n_leads, n)).
    lead : str or int, optional
        Keep only this lead, by name (case-insensitive) or index, at its own sampling
        rate; the Record's signal is then 1-D. ``None`` keeps every lead sampled at
        the rate of the first ECG lead (a Record holds one rate: leads at other rates
        are left out with a warning naming them; read them with ``lead=``).
    fs : float, optional
        Sampling rate in Hz. Needed for NPY, and for CSV/TSV/TXT without an evenly
        spaced time column; for WFDB and EDF, which carry their own rate, it must
        agree with the file when given.
    column : str or int, optional
        For text files: the column holding the lead, by header name or by position
        in the file (time column included). For other formats, the same as ``lead``.
    delimiter : str, optional
        For text files: the field separator (sniffed when None: tab for ``.tsv``,
        else comma, semicolon, tab or whitespace).
    annotator : str or bool, optional
        WFDB annotation extension to read beside the record (e.g. ``"atr"``,
        ``"ii"``, ``"q1c"``). ``None`` reads ``.atr`` when present; a named
        annotator must exist; ``False`` reads none.
    edf_reader : {"auto", "numpy", "pyedflib"}
        EDF sample reader: ``"auto"`` and ``"numpy"`` use gmesa's own memory-mapped
        reader; ``"pyedflib"`` reads the samples with pyedflib (optional dependency,
        ``pip install gmesa[edf]``), which gives the same values. The header is always
        read by :func:`~gmesa.ecg.io.read_edf_header`.
    units : str or tuple of str, optional
        For CSV/TSV/TXT without a units row and NPY: the unit of the leads (one for
        all, or one per lead read), e.g. ``"uV"``. Without it those leads are taken as
        mV, or as µV or V where their amplitude looks like that (with a warning).

    Voltages (V, mV, µV/uV, nV) are converted to mV: the Record's ``units`` then say
    ``"mV"``; other units (mmHg, NU, ...) are kept as they are. Any lead can be read;
    the ECG pipeline (``fit_record``) refuses a lead that is not an ECG unless told
    ``force_ecg=True``.

    Returns
    -------
    Record

    Raises
    ------
    RecordError
        (a ``ValueError``; :class:`RecordNotFoundError` is also a
        ``FileNotFoundError``) for a missing, empty, truncated or malformed file, an
        unsupported extension, a missing lead, a sampling rate below 100 Hz or a
        lead with no valid (non-NaN) sample.
    """
    p = Path(path).expanduser()
    if lead is not None and column is not None:
        raise RecordError(f"{p}: give lead= or column=, not both")
    kind, target = _resolve(p)
    if kind != "text" and column is not None:
        lead, column = column, None
    if units is not None and kind not in ("text", "npy"):
        raise RecordError(f"{p}: {'an EDF' if kind == 'edf' else 'a WFDB'} file declares its "
                          "own units; units= is for CSV/TSV/TXT without a units row and NPY")
    if fs is not None:
        fs = check_fs(fs, p)

    if kind == "wfdb":
        rec = read_wfdb(target, lead, annotator, fs)
    elif kind == "edf":
        rec = read_edf(target, lead, fs, edf_reader)
    elif kind == "text":
        rec = read_text(target, lead, fs, column, delimiter, units)
    else:
        rec = read_npy(target, lead, fs, units)
    _check_not_all_nan(rec)
    return rec


def _check_not_all_nan(rec: Record) -> None:
    sig = rec.signal if rec.signal.ndim == 2 else rec.signal[:, None]
    good = np.isfinite(sig).any(axis=0)
    if not good.any():
        which = f"lead {rec.leads[0]!r} is" if rec.n_leads == 1 else f"all {rec.n_leads} leads are"
        raise RecordError(f"{rec.path}: {which} all NaN: no valid sample to work with")
    if not good.all():
        bad = [rec.leads[i] for i in np.flatnonzero(~good)]
        warn(f"{rec.path}: lead(s) {bad} are all NaN", RuntimeWarning)


def _resolve(p: Path) -> tuple[str, Path]:
    """Which reader, and the path it gets (WFDB: the record path without extension)."""
    supported = ", ".join(SUPPORTED_EXTENSIONS)
    if p.is_dir():
        raise RecordError(f"{p}: is a directory, not a record file")
    if not p.exists():
        hea = Path(str(p) + ".hea")
        if hea.is_file():
            return "wfdb", p
        raise RecordNotFoundError(f"{p}: file not found")
    if p.stat().st_size == 0:
        raise RecordError(f"{p}: empty file (0 bytes)")
    ext = p.suffix.lower()
    if ext == ".hea":
        return "wfdb", p.with_suffix("")
    if ext == ".dat":
        hea = p.with_suffix(".hea")
        if not hea.is_file():
            raise RecordNotFoundError(
                f"{p}: a WFDB .dat file needs its header {hea.name} beside it (not found)")
        return "wfdb", p.with_suffix("")
    if ext == ".mat":
        hea = p.with_suffix(".hea")
        if not hea.is_file():
            raise RecordNotFoundError(
                f"{p}: gmesa reads a .mat file as a WFDB record (PhysioNet/CinC challenge "
                f"format) and needs its header {hea.name} beside it (not found)")
        return "wfdb", p.with_suffix("")
    if ext in (".edf", ".bdf"):
        return "edf", p
    if ext in (".csv", ".tsv", ".txt"):
        return "text", p
    if ext == ".npy":
        return "npy", p
    # unknown extension: look at the content
    with open(p, "rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\x93NUMPY"):
        return "npy", p
    if magic == b"0       " or magic == b"\xffBIOSEMI":
        return "edf", p
    if Path(str(p) + ".hea").is_file():
        return "wfdb", p
    raise RecordError(
        f"{p}: unsupported file type {ext or '(no extension)'!r}; supported: {supported} "
        "(or a WFDB record name without extension)"
    )


# ---------------------------------------------------------------------------------


def header_leads(path: str | Path) -> list[LeadInfo] | None:
    """The leads of a WFDB (one or several segments, ``.dat`` or ``.mat``) or
    EDF/EDF+/BDF record from its header alone, as :class:`LeadInfo` (name, unit as
    stated, sampling rate in Hz); None for files without a header (CSV, NPY).

    Raises :class:`RecordError` for a missing or malformed header."""
    kind, target = _resolve(Path(path).expanduser())
    if kind == "wfdb":
        _, s = read_wfdb_header(target, check_data=False)
        return [LeadInfo(n, u, f) for n, u, f in zip(s.names, s.units, s.fs)]
    if kind == "edf":
        h = read_edf_header(target)
        return [LeadInfo(n, u, float(f)) for n, u, f in zip(h.leads, h.units, h.fs)]
    return None
