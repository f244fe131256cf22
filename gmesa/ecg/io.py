"""Read ECG records into a :class:`Record`: WFDB, EDF/EDF+/BDF, CSV/TSV and NPY.

Every reader returns the signal in physical units (as the file states them; WFDB
and most ECG files use mV), the sampling rate ``fs`` in Hz and, where the file has
them, annotations as a DataFrame with columns ``sample`` (int, sample index from the
record's start), ``symbol`` (str) and ``aux`` (str).

gmesa needs at least 100 Hz; every failure raises :class:`RecordError` (a
``ValueError``) with the file path in its message.  Nothing here uses pickle or eval.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "MIN_FS",
    "SUPPORTED_EXTENSIONS",
    "Record",
    "RecordError",
    "RecordNotFoundError",
    "read_record",
]

#: lowest sampling rate gmesa accepts, Hz
MIN_FS = 100.0

#: file extensions :func:`read_record` understands (a WFDB record may also be named
#: without extension)
SUPPORTED_EXTENSIONS = (".hea", ".dat", ".edf", ".bdf", ".csv", ".tsv", ".txt", ".npy")

ANNOTATION_COLUMNS = ("sample", "symbol", "aux")

# column names that hold time, not a lead, in CSV/TSV files
_TIME_COLUMN = re.compile(
    r"^(time|t|sec|secs|second|seconds|s|ms|timestamp|elapsed|elapsed[ _]?time|sample|samples|index)"
    r"(\s*[\[(]?\s*(s|sec|seconds|ms|hh:mm:ss(\.\w+)?)\s*[\])]?|_s|_ms|_sec)?$"
)
_ECG_LABEL = re.compile(
    r"(ecg|ekg|^(mlii|mli|mliii|ml2|i|ii|iii|avr|avl|avf|v[1-6]|mcl1|cm5|d3|lead\s*\w+)$)",
    re.IGNORECASE,
)


def ecg_lead_index(names) -> int:
    """Index of the first lead whose name looks like an ECG lead (else 0)."""
    for i, n in enumerate(names):
        if _ECG_LABEL.search(str(n).strip()):
            return i
    return 0


def _snip(text, width=40):
    """A short, printable excerpt of untrusted header text for error messages."""
    text = str(text)
    return repr(text[:width] + ("..." if len(text) > width else ""))


class RecordError(ValueError):
    """A record cannot be read or built; the message names the file and the problem."""


class RecordNotFoundError(RecordError, FileNotFoundError):
    """The record's file (or a file it needs) does not exist."""


def _where(path: Any) -> str:
    return f"{path}: " if path else ""


# ---------------------------------------------------------------------------------
# Record
# ---------------------------------------------------------------------------------
@dataclass(eq=False)
class Record:
    """An ECG record: samples in physical units plus what is known about them.

    Parameters
    ----------
    signal : array, shape (n,) or (n, n_leads)
        Samples in physical units (``units``), converted to float64. NaN marks
        missing samples.
    fs : float
        Sampling rate in Hz; must be finite and >= 100 Hz.
    leads : tuple of str, optional
        Lead names; default ``("lead0", "lead1", ...)``.
    units : tuple of str or str, optional
        Physical unit per lead; default ``"mV"`` for every lead.
    start_time : datetime, optional
        Wall-clock time of the first sample, when the file has it.
    annotations : DataFrame, optional
        Columns ``sample`` (int, sample index), ``symbol`` (str), ``aux`` (str).
    name, path : str
        Record name and the file it came from.
    """

    signal: np.ndarray
    fs: float
    leads: tuple[str, ...] | None = None
    units: tuple[str, ...] | str | None = None
    start_time: datetime | None = None
    annotations: pd.DataFrame | None = None
    name: str = "record"
    path: str | None = None

    def __post_init__(self) -> None:
        if self.path is not None:
            self.path = str(self.path)
        where = _where(self.path)
        sig = self.signal
        if isinstance(sig, pd.DataFrame):
            if self.leads is None:
                self.leads = tuple(str(c) for c in sig.columns)
            sig = sig.to_numpy()
        elif isinstance(sig, pd.Series):
            sig = sig.to_numpy()
        try:
            arr = np.asarray(sig)
        except Exception as exc:  # ragged lists and the like
            raise RecordError(f"{where}signal is not an array of numbers ({exc})") from None
        if arr.dtype.kind not in "iuf":
            raise RecordError(
                f"{where}signal must hold real numbers (int or float), got dtype {arr.dtype}"
            )
        if arr.ndim not in (1, 2):
            raise RecordError(
                f"{where}signal must be 1-D (n,) or 2-D (n, n_leads), got shape {arr.shape}"
            )
        if arr.shape[0] < 1 or (arr.ndim == 2 and arr.shape[1] < 1):
            raise RecordError(f"{where}signal is empty (shape {arr.shape}): need at least 1 sample")
        if arr.ndim == 2 and arr.shape[1] > arr.shape[0] and arr.shape[1] > 64:
            raise RecordError(
                f"{where}signal has shape {arr.shape}, which looks like (n_leads, n_samples); "
                "gmesa wants (n_samples, n_leads): pass signal.T"
            )
        self.signal = arr.astype(np.float64, copy=False)

        self.fs = _check_fs_arg(self.fs, self.path)

        n_leads = 1 if arr.ndim == 1 else arr.shape[1]
        if self.leads is None:
            leads = tuple(f"lead{i}" for i in range(n_leads))
        elif isinstance(self.leads, str):
            leads = (self.leads,)
        else:
            leads = tuple(str(x) for x in self.leads)
        if len(leads) != n_leads:
            raise RecordError(
                f"{where}{len(leads)} lead names {leads} for a signal with {n_leads} lead(s) "
                f"(shape {arr.shape})"
            )
        self.leads = leads

        if self.units is None:
            units = ("mV",) * n_leads
        elif isinstance(self.units, str):
            units = (self.units,) * n_leads
        else:
            units = tuple("mV" if u is None else str(u) for u in self.units)
        if len(units) != n_leads:
            raise RecordError(f"{where}{len(units)} units {units} for {n_leads} lead(s)")
        self.units = units

        if isinstance(self.start_time, str):
            try:
                self.start_time = datetime.fromisoformat(self.start_time)
            except ValueError:
                raise RecordError(f"{where}start_time {self.start_time!r} is not an ISO date-time") from None
        elif self.start_time is not None and not isinstance(self.start_time, datetime):
            raise RecordError(f"{where}start_time must be a datetime or None, "
                              f"got {type(self.start_time).__name__}")

        if self.annotations is not None:
            self.annotations = _normalise_annotations(self.annotations, where)
        self.name = str(self.name)

    # -- shape -------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Number of samples per lead."""
        return int(self.signal.shape[0])

    @property
    def n_leads(self) -> int:
        """Number of leads."""
        return 1 if self.signal.ndim == 1 else int(self.signal.shape[1])

    @property
    def duration_s(self) -> float:
        """Record length in seconds (``n_samples / fs``)."""
        return self.n_samples / self.fs

    @property
    def time(self) -> np.ndarray:
        """Time of each sample in seconds from the record's start."""
        return np.arange(self.n_samples, dtype=np.float64) / self.fs

    # -- leads -------------------------------------------------------------------
    def lead_index(self, name_or_index: str | int) -> int:
        """Index of a lead given by name (case-insensitive) or by (negative) index."""
        return _lead_index(self.leads, name_or_index, self.path)

    def lead(self, name_or_index: str | int = 0) -> np.ndarray:
        """One lead as a contiguous 1-D float64 array (physical units).

        For a single-lead record this is ``signal`` itself (no copy)."""
        i = self.lead_index(name_or_index)
        if self.signal.ndim == 1:
            return self.signal
        return np.ascontiguousarray(self.signal[:, i])

    def select(self, name_or_index: str | int) -> "Record":
        """A new single-lead Record (1-D signal) holding one lead of this one."""
        i = self.lead_index(name_or_index)
        ann = None if self.annotations is None else self.annotations.copy()
        return Record(
            self.lead(i).copy(), self.fs, leads=(self.leads[i],), units=(self.units[i],),
            start_time=self.start_time, annotations=ann, name=self.name, path=self.path,
        )

    def __repr__(self) -> str:
        n_ann = 0 if self.annotations is None else len(self.annotations)
        return (
            f"Record(name={self.name!r}, fs={self.fs:g} Hz, leads={self.leads}, "
            f"units={self.units}, n_samples={self.n_samples}, duration_s={self.duration_s:.3f}, "
            f"start_time={self.start_time!r}, annotations={n_ann}, path={self.path!r})"
        )


def _normalise_annotations(ann: Any, where: str) -> pd.DataFrame:
    if not isinstance(ann, pd.DataFrame):
        raise RecordError(f"{where}annotations must be a pandas DataFrame or None, got {type(ann).__name__}")
    missing = [c for c in ("sample", "symbol") if c not in ann.columns]
    if missing:
        raise RecordError(
            f"{where}annotations lack column(s) {missing}; expected columns {list(ANNOTATION_COLUMNS)}"
        )
    out = ann.copy()
    try:
        out["sample"] = out["sample"].to_numpy().astype(np.int64)
    except (TypeError, ValueError):
        raise RecordError(f"{where}annotation 'sample' column must hold integer sample indices") from None
    out["symbol"] = out["symbol"].fillna("").astype(str)
    out["aux"] = out["aux"].fillna("").astype(str) if "aux" in out.columns else ""
    cols = list(ANNOTATION_COLUMNS) + [c for c in out.columns if c not in ANNOTATION_COLUMNS]
    return out[cols].reset_index(drop=True)


def _lead_index(leads: Sequence[str], key: Any, path: Any = None) -> int:
    where = _where(path)
    n = len(leads)
    listing = ", ".join(repr(x) for x in leads)
    if isinstance(key, (bool, np.bool_)):
        raise RecordError(f"{where}a lead is chosen by name or index, not by {key!r}; "
                          f"available leads: {listing}")
    if isinstance(key, (int, np.integer)):
        i = int(key)
        if -n <= i < n:
            return i % n
        raise RecordError(
            f"{where}lead index {i} is out of range for {n} lead(s); available leads: {listing}"
        )
    if isinstance(key, str):
        k = key.strip()
        for i, name in enumerate(leads):
            if name == k:
                return i
        kf = k.casefold()
        for i, name in enumerate(leads):
            if name.strip().casefold() == kf:
                return i
        if re.fullmatch(r"[+-]?\d+", k):
            return _lead_index(leads, int(k), path)
        raise RecordError(f"{where}lead {key!r} not found; available leads: {listing}")
    raise RecordError(f"{where}a lead is chosen by name (str) or index (int), got {type(key).__name__}")


# ---------------------------------------------------------------------------------
# read_record
# ---------------------------------------------------------------------------------
def read_record(
    path: str | Path,
    lead: str | int | None = None,
    *,
    fs: float | None = None,
    column: str | int | None = None,
    delimiter: str | None = None,
    annotator: str | bool | None = None,
    edf_reader: str = "auto",
) -> Record:
    """Read an ECG record from a file.

    Parameters
    ----------
    path : str or Path
        A WFDB record (``.hea``, ``.dat`` or the record name without extension), an
        EDF/EDF+/BDF file (``.edf``, ``.bdf``), a delimited text file (``.csv``,
        ``.tsv``, ``.txt``) or a NumPy array (``.npy``, shape (n,) or (n, n_leads);
        an array with more columns than rows is read as (n_leads, n)).
    lead : str or int, optional
        Keep only this lead, by name (case-insensitive) or index; the Record's
        signal is then 1-D. ``None`` keeps every lead (for EDF, every signal at the
        sampling rate of the first ECG-like signal).
    fs : float, optional
        Sampling rate in Hz. Required for CSV/TSV/TXT and NPY; for WFDB and EDF,
        which carry their own rate, it must agree with the file when given.
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
    edf_reader : {"auto", "pyedflib", "numpy"}
        EDF engine: ``"auto"`` tries pyedflib (optional dependency) and falls back
        to gmesa's own numpy reader when pyedflib is missing or refuses the file.

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
    if fs is not None:
        fs = _check_fs_arg(fs, p)

    if kind == "wfdb":
        rec = _read_wfdb(target, lead, annotator, fs)
    elif kind == "edf":
        rec = _read_edf(target, lead, fs, edf_reader)
    elif kind == "text":
        rec = _read_text(target, lead, fs, column, delimiter)
    else:
        rec = _read_npy(target, lead, fs)
    _check_not_all_nan(rec)
    return rec


def _check_fs_arg(fs: Any, p: Any) -> float:
    """fs as a float, or a RecordError naming the file (if any) and the problem."""
    try:
        val = float(fs)
    except (TypeError, ValueError):
        raise RecordError(f"{_where(p)}sampling rate fs={fs!r} is not a number (Hz)") from None
    if not math.isfinite(val) or val < MIN_FS:
        raise RecordError(
            f"{_where(p)}sampling rate fs={fs!r} Hz is not supported: gmesa needs a finite "
            f"sampling rate >= {MIN_FS:g} Hz"
        )
    return val


def _check_fs_agrees(fs_arg: float | None, fs_file: float, p: Any) -> None:
    if fs_arg is None:
        return
    if not math.isclose(float(fs_arg), fs_file, rel_tol=1e-6):
        raise RecordError(f"{p}: fs={float(fs_arg):g} Hz was given but the file says {fs_file:g} Hz")


def _check_file_fs(fs_file: float, p: Any, what: str = "") -> None:
    if not math.isfinite(fs_file) or fs_file < MIN_FS:
        raise RecordError(
            f"{p}: sampling rate {fs_file:g} Hz{what} is below {MIN_FS:g} Hz: "
            f"gmesa needs >= {MIN_FS:g} Hz"
        )


def _check_not_all_nan(rec: Record) -> None:
    sig = rec.signal if rec.signal.ndim == 2 else rec.signal[:, None]
    good = np.isfinite(sig).any(axis=0)
    if not good.any():
        which = f"lead {rec.leads[0]!r} is" if rec.n_leads == 1 else f"all {rec.n_leads} leads are"
        raise RecordError(f"{rec.path}: {which} all NaN: no valid sample to work with")
    if not good.all():
        bad = [rec.leads[i] for i in np.flatnonzero(~good)]
        warnings.warn(f"{rec.path}: lead(s) {bad} are all NaN", RuntimeWarning, stacklevel=3)


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
# WFDB
# ---------------------------------------------------------------------------------
_FMT_BITS = {"8": 8, "80": 8, "16": 16, "61": 16, "160": 16, "212": 12, "24": 24, "32": 32,
             "310": 32 / 3, "311": 32 / 3}
_WFDB_FORMATS = ("8", "16", "24", "32", "61", "80", "160", "212", "310", "311", "508", "516", "524")
_NUM = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_FS_FIELD = re.compile(rf"^{_NUM}(/{_NUM}(\({_NUM}\))?)?$")


def _check_wfdb_header_text(hea: Path) -> None:
    """Catch header errors that wfdb.rdheader silently accepts (bad fs, missing lines)."""
    try:
        text = hea.read_text(encoding="latin-1")
    except OSError as exc:
        raise RecordError(f"{hea}: cannot read WFDB header ({exc})") from None
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise RecordError(f"{hea}: malformed WFDB header: no record line")
    tok = lines[0].split()
    if len(tok) < 2 or not re.fullmatch(r"\d+", tok[1]):
        raise RecordError(f"{hea}: malformed WFDB header: record line {_snip(lines[0])} lacks the signal count")
    if len(tok) >= 3 and not _FS_FIELD.match(tok[2]):
        raise RecordError(
            f"{hea}: malformed WFDB header: sampling frequency field {_snip(tok[2])} is not a number"
        )
    if len(tok) >= 4 and not re.fullmatch(r"\d+", tok[3]):
        raise RecordError(f"{hea}: malformed WFDB header: signal length field {_snip(tok[3])} is not an integer")
    n_sig = int(tok[1])
    if "/" not in tok[0] and len(lines) - 1 < n_sig:
        raise RecordError(
            f"{hea}: truncated WFDB header: the record line announces {n_sig} signal(s) "
            f"but {len(lines) - 1} signal line(s) follow"
        )


def _read_wfdb(base: Path, lead: Any, annotator: Any, fs_arg: float | None) -> Record:
    import wfdb

    hea = Path(str(base) + ".hea")
    if hea.stat().st_size == 0:
        raise RecordError(f"{hea}: empty file (0 bytes)")
    _check_wfdb_header_text(hea)
    try:
        h = wfdb.rdheader(str(base))
    except Exception as exc:
        raise RecordError(f"{hea}: malformed WFDB header ({type(exc).__name__}: {exc})") from None
    names = [str(s) for s in (h.sig_name or [])]
    if not names or not h.n_sig:
        raise RecordError(f"{hea}: WFDB header lists no signals")
    fs_file = float(h.fs)
    _check_file_fs(fs_file, hea)
    _check_fs_agrees(fs_arg, fs_file, hea)
    channels = None
    if lead is not None:
        channels = [_lead_index(names, lead, hea)]

    if isinstance(h, wfdb.MultiRecord):
        pass  # segments are checked by wfdb itself
    else:
        _check_wfdb_data_files(h, base, hea)

    try:
        rec = wfdb.rdrecord(str(base), channels=channels, physical=True, return_res=64)
    except Exception as exc:
        raise RecordError(
            f"{base}: cannot read WFDB signals ({type(exc).__name__}: {exc}); the data file "
            "may be truncated or malformed"
        ) from None
    sig = np.asarray(rec.p_signal, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[0] == 0:
        raise RecordError(f"{base}: WFDB record holds no samples")
    leads = tuple(str(s) for s in rec.sig_name)
    units = tuple(str(u) if u else "mV" for u in (rec.units or ["mV"] * len(leads)))
    if sig.shape[1] == 1:
        sig = sig[:, 0]
    start = getattr(rec, "base_datetime", None)
    if start is not None and not isinstance(start, datetime):
        start = None
    ann = _read_wfdb_annotations(base, annotator)
    return Record(sig, fs_file, leads=leads, units=units, start_time=start, annotations=ann,
                  name=base.name, path=str(hea))


def _check_wfdb_data_files(h: Any, base: Path, hea: Path) -> None:
    files: dict[str, dict] = {}
    spf = h.samps_per_frame or [1] * h.n_sig
    for i, fname in enumerate(h.file_name):
        if str(h.fmt[i]) not in _WFDB_FORMATS:
            raise RecordError(
                f"{hea}: malformed WFDB header: unknown storage format {h.fmt[i]!r} for signal "
                f"{h.sig_name[i]!r} (WFDB formats: {', '.join(_WFDB_FORMATS)})"
            )
        d = files.setdefault(fname, {"bits": 0.0, "offset": 0, "known": True})
        bits = _FMT_BITS.get(str(h.fmt[i]))
        if bits is None:
            d["known"] = False
        else:
            d["bits"] += bits * (spf[i] or 1)
        off = (h.byte_offset or [None] * h.n_sig)[i]
        if off:
            d["offset"] = max(d["offset"], int(off))
    for fname, d in files.items():
        if fname in ("~", ""):
            continue
        fpath = base.parent / fname
        if not fpath.is_file():
            raise RecordNotFoundError(f"{fpath}: WFDB data file named in {hea.name} not found")
        size = fpath.stat().st_size
        if size == 0:
            raise RecordError(f"{fpath}: empty WFDB data file (0 bytes)")
        if d["known"] and h.sig_len:
            expected = d["offset"] + math.ceil(h.sig_len * d["bits"] / 8)
            if size < expected:
                raise RecordError(
                    f"{fpath}: truncated WFDB data file: {size} bytes, {hea.name} implies {expected} "
                    f"({h.sig_len} samples per signal)"
                )


def _read_wfdb_annotations(base: Path, annotator: Any) -> pd.DataFrame | None:
    if annotator is False:
        return None
    explicit = annotator not in (None, True)
    ext = str(annotator).lstrip(".") if explicit else "atr"
    fpath = Path(f"{base}.{ext}")
    if not fpath.is_file():
        if explicit:
            raise RecordNotFoundError(f"{fpath}: annotation file not found (annotator={ext!r})")
        return None
    import wfdb

    try:
        ann = wfdb.rdann(str(base), ext)
    except Exception as exc:
        raise RecordError(f"{fpath}: malformed WFDB annotation file ({type(exc).__name__}: {exc})") from None
    aux = ann.aux_note if ann.aux_note is not None else [""] * len(ann.sample)
    return pd.DataFrame({
        "sample": np.asarray(ann.sample, dtype=np.int64),
        "symbol": [str(s) for s in ann.symbol],
        "aux": [str(a).rstrip("\x00") if a else "" for a in aux],
    })


# ---------------------------------------------------------------------------------
# EDF / EDF+ / BDF
# ---------------------------------------------------------------------------------
@dataclass
class _EdfContents:
    labels: list[str]
    fs: np.ndarray  # Hz per signal
    n: np.ndarray  # samples per signal
    units: list[str]
    start_time: datetime | None
    annotations: list[tuple[float, float, str]]  # onset s (from first sample), duration s, text
    read: Any  # read(i) -> float64 array in physical units
    discontinuous: bool = False


def _read_edf(p: Path, lead: Any, fs_arg: float | None, engine: str) -> Record:
    if engine not in ("auto", "pyedflib", "numpy"):
        raise ValueError(f"edf_reader={engine!r}; choose one of 'auto', 'pyedflib', 'numpy'")
    contents = None
    first_error = None
    if engine in ("auto", "pyedflib"):
        try:
            contents = _edf_pyedflib(p)
        except ImportError:
            if engine == "pyedflib":
                raise RecordError(f"{p}: edf_reader='pyedflib' but pyedflib is not installed") from None
        except Exception as exc:
            if engine == "pyedflib":
                raise RecordError(f"{p}: pyedflib cannot read this file ({exc})") from None
            first_error = exc
    if contents is None:
        try:
            contents = _edf_numpy(p)
        except RecordError as exc:
            if first_error is not None:
                raise RecordError(f"{exc} (pyedflib also failed: {first_error})") from None
            raise
    return _edf_to_record(p, contents, lead, fs_arg)


def _edf_to_record(p: Path, c: _EdfContents, lead: Any, fs_arg: float | None) -> Record:
    if not c.labels:
        raise RecordError(f"{p}: EDF file holds no signals (only annotations)")
    if c.discontinuous:
        warnings.warn(f"{p}: EDF+D (discontinuous) file: data records are joined without gaps",
                      RuntimeWarning, stacklevel=4)
    if lead is not None:
        keep = [_lead_index(c.labels, lead, p)]
        ref = keep[0]
    else:
        ecg_like = [i for i, lab in enumerate(c.labels) if _ECG_LABEL.search(lab.strip())]
        ref = ecg_like[0] if ecg_like else 0
        keep = [i for i in range(len(c.labels))
                if math.isclose(c.fs[i], c.fs[ref], rel_tol=1e-9) and c.n[i] == c.n[ref]]
        dropped = [c.labels[i] for i in range(len(c.labels)) if i not in keep]
        if dropped:
            warnings.warn(f"{p}: signals {dropped} have another sampling rate than "
                          f"{c.labels[ref]!r} ({c.fs[ref]:g} Hz) and were left out",
                          RuntimeWarning, stacklevel=4)
    fs = float(c.fs[ref])
    _check_file_fs(fs, p, f" (signal {c.labels[ref]!r})")
    _check_fs_agrees(fs_arg, fs, p)
    cols = [c.read(i) for i in keep]
    sig = cols[0] if len(cols) == 1 else np.column_stack(cols)
    if sig.shape[0] == 0:
        raise RecordError(f"{p}: EDF file holds no samples")
    ann = None
    if c.annotations:
        ann = pd.DataFrame({
            "sample": np.array([int(round(o * fs)) for o, _, _ in c.annotations], dtype=np.int64),
            "symbol": [t for _, _, t in c.annotations],
            "aux": [f"duration={d:g}s" if d > 0 else "" for _, d, _ in c.annotations],
        })
    return Record(sig, fs, leads=tuple(c.labels[i] for i in keep),
                  units=tuple(c.units[i] or "" for i in keep), start_time=c.start_time,
                  annotations=ann, name=p.stem, path=str(p))


def _edf_pyedflib(p: Path) -> _EdfContents:
    import pyedflib

    with open(p, "rb") as fh:
        reserved = fh.read(256)[192:236].decode("latin-1")
    f = pyedflib.EdfReader(str(p))
    try:
        ns = f.signals_in_file
        labels = [s.strip() for s in f.getSignalLabels()]
        fs = np.asarray(f.getSampleFrequencies(), dtype=np.float64)
        n = np.asarray(f.getNSamples(), dtype=np.int64)
        units = [f.getPhysicalDimension(i).strip() for i in range(ns)]
        try:
            start = f.getStartdatetime()
        except Exception:
            start = None
        onsets, durations, texts = f.readAnnotations()
        anns = [(float(o), float(d), str(t).strip()) for o, d, t in zip(onsets, durations, texts)]
    finally:
        f.close()

    def read(i: int) -> np.ndarray:
        g = pyedflib.EdfReader(str(p))
        try:
            return np.asarray(g.readSignal(i), dtype=np.float64)
        finally:
            g.close()

    return _EdfContents(labels, fs, n, units, start, anns, read,
                        reserved.startswith(("EDF+D", "BDF+D")))


_EDF_FIELDS = (("label", 16), ("transducer", 80), ("dimension", 8), ("physical_min", 8),
               ("physical_max", 8), ("digital_min", 8), ("digital_max", 8), ("prefilter", 80),
               ("n_samples", 8), ("reserved", 32))


def _edf_numpy(p: Path) -> _EdfContents:
    """A small pure-numpy EDF/EDF+/BDF reader (used when pyedflib is absent or fails)."""
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise RecordError(f"{p}: truncated EDF header ({len(head)} of 256 bytes)")
        bdf = head[:8] == b"\xffBIOSEMI"
        if not bdf and head[:8].strip() != b"0":
            raise RecordError(f"{p}: malformed EDF header: version field {head[:8]!r} is not '0'")
        txt = head.decode("latin-1")
        try:
            header_bytes = int(txt[184:192])
            n_records = int(txt[236:244])
            duration = float(txt[244:252])
            ns = int(txt[252:256])
        except ValueError:
            raise RecordError(f"{p}: malformed EDF header: unreadable record count, duration or "
                              "signal count") from None
        if ns < 1 or header_bytes != 256 * (ns + 1):
            raise RecordError(f"{p}: malformed EDF header: {ns} signals but header size {header_bytes}")
        sh = fh.read(256 * ns)
    if len(sh) < 256 * ns:
        raise RecordError(f"{p}: truncated EDF header ({256 + len(sh)} of {header_bytes} bytes)")
    sht = sh.decode("latin-1")
    fields: dict[str, list[str]] = {}
    pos = 0
    for key, width in _EDF_FIELDS:
        fields[key] = [sht[pos + i * width: pos + (i + 1) * width].strip() for i in range(ns)]
        pos += width * ns
    try:
        pmin = np.array([float(v) for v in fields["physical_min"]])
        pmax = np.array([float(v) for v in fields["physical_max"]])
        dmin = np.array([float(v) for v in fields["digital_min"]])
        dmax = np.array([float(v) for v in fields["digital_max"]])
        nsamp = np.array([int(v) for v in fields["n_samples"]], dtype=np.int64)
    except ValueError as exc:
        raise RecordError(f"{p}: malformed EDF signal header ({exc})") from None
    if duration <= 0 or np.any(nsamp < 1):
        raise RecordError(f"{p}: malformed EDF header: record duration {duration} s, "
                          f"samples per record {nsamp.tolist()}")
    bps = 3 if bdf else 2
    rec_size = int(nsamp.sum()) * bps
    data_bytes = size - header_bytes
    if n_records < 0:  # still recording: count what is there
        n_records = data_bytes // rec_size
    if n_records == 0:
        raise RecordError(f"{p}: EDF file holds no data records")
    if data_bytes < n_records * rec_size:
        raise RecordError(f"{p}: truncated EDF data: {data_bytes} bytes, the header implies "
                          f"{n_records * rec_size} ({n_records} records of {rec_size} bytes)")
    # memory-mapped: only the samples of the signals that are read get loaded
    raw = np.memmap(p, dtype=np.uint8, mode="r", offset=header_bytes, shape=(n_records, rec_size))
    offsets = np.concatenate([[0], np.cumsum(nsamp)[:-1]]) * bps
    ann_label = "BDF Annotations" if bdf else "EDF Annotations"
    is_ann = [lab == ann_label for lab in fields["label"]]

    def digital(i: int) -> np.ndarray:
        block = raw[:, offsets[i]: offsets[i] + nsamp[i] * bps]
        if bdf:
            b = block.reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            return np.where(v >= 1 << 23, v - (1 << 24), v)
        return np.ascontiguousarray(block).view("<i2").ravel()

    def read(j: int) -> np.ndarray:
        i = sig_idx[j]
        # edflib's formula, so both readers give the same floating-point values
        bitvalue = (pmax[i] - pmin[i]) / (dmax[i] - dmin[i])
        offset = pmax[i] / bitvalue - dmax[i]
        return bitvalue * (offset + digital(i).astype(np.float64))

    sig_idx = [i for i in range(ns) if not is_ann[i]]
    anns: list[tuple[float, float, str]] = []
    start_offset = None
    for i in (i for i in range(ns) if is_ann[i]):
        block = raw[:, offsets[i]: offsets[i] + nsamp[i] * bps]
        for r in range(n_records):
            for k, tal in enumerate(bytes(block[r]).split(b"\x00")):
                m = re.match(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*)", tal, re.S)
                if not m:
                    continue
                onset = float(m.group(1))
                dur = float(m.group(2)) if m.group(2) else -1.0
                texts = [t for t in m.group(3).split(b"\x14") if t]
                if k == 0 and not texts:  # time-keeping TAL
                    if start_offset is None:
                        start_offset = onset
                    continue
                for t in texts:
                    anns.append((onset, dur, t.decode("utf-8", errors="replace").strip()))
    so = start_offset or 0.0
    anns = [(o - so, d, t) for o, d, t in anns]
    fs_all = nsamp / duration
    reserved = txt[192:236]
    start = _edf_start_time(txt[88:168], txt[168:176], txt[176:184])
    return _EdfContents(
        labels=[fields["label"][i] for i in sig_idx],
        fs=np.array([fs_all[i] for i in sig_idx], dtype=np.float64),
        n=np.array([nsamp[i] * n_records for i in sig_idx], dtype=np.int64),
        units=[fields["dimension"][i] for i in sig_idx],
        start_time=start, annotations=anns, read=read,
        discontinuous=reserved.startswith("EDF+D") or reserved.startswith("BDF+D"),
    )


def _edf_start_time(recording: str, date: str, time: str) -> datetime | None:
    try:
        dd, mm, yy = (int(v) for v in date.strip().split("."))
        hh, mi, ss = (int(v) for v in time.strip().split("."))
    except ValueError:
        return None
    year = 1900 + yy if yy >= 85 else 2000 + yy
    m = re.search(r"Startdate (\d{2})-([A-Z]{3})-(\d{4})", recording)
    if m:
        months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        if m.group(2) in months:
            year = int(m.group(3))
    try:
        return datetime(year, mm, dd, hh, mi, ss)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------
# CSV / TSV / TXT
# ---------------------------------------------------------------------------------
def _is_number(tok: str) -> bool:
    t = tok.strip().strip("'\"")
    if t == "":
        return True  # an empty cell is a missing value, not a name
    try:
        float(t)
        return True
    except ValueError:
        return False


def _split(line: str, delim: str | None) -> list[str]:
    return line.split() if delim is None else line.split(delim)


def _read_text(p: Path, lead: Any, fs: float | None, column: Any, delimiter: str | None) -> Record:
    ext = p.suffix.lower() or "text"
    if fs is None:
        raise RecordError(f"{p}: a {ext} file holds no sampling rate: pass fs= (Hz), e.g. "
                          f"read_record({str(p)!r}, fs=500)")
    try:
        with open(p, encoding="utf-8-sig", errors="replace") as fh:
            head = []
            for line in fh:
                s = line.strip()
                if s and not s.startswith("#"):
                    head.append(s)
                if len(head) >= 3:
                    break
    except OSError as exc:
        raise RecordError(f"{p}: cannot read ({exc})") from None
    if not head:
        raise RecordError(f"{p}: empty file (no data rows)")
    delim = delimiter
    if delim is None:
        if ext == ".tsv":
            delim = "\t"
        else:
            sample = head[-1]
            for cand in (",", "\t", ";"):
                if cand in sample:
                    delim = cand
                    break
    first = _split(head[0], delim)
    has_header = not all(_is_number(t) for t in first)
    units_row = False
    if has_header and len(head) > 1:
        second = _split(head[1], delim)
        units_row = not all(_is_number(t) for t in second)
    sep = r"\s+" if delim is None else delim
    try:
        df = pd.read_csv(p, sep=sep, header=0 if has_header else None, comment="#",
                         skiprows=[1] if units_row else None, skipinitialspace=True,
                         dtype=str, keep_default_na=False, engine="c")
    except Exception as exc:
        raise RecordError(f"{p}: malformed {ext} file ({type(exc).__name__}: {exc})") from None
    if df.shape[0] == 0:
        raise RecordError(f"{p}: no data rows")
    if has_header:
        names = [str(c).strip().strip("'\"") for c in df.columns]
    else:
        names = [f"lead{i}" for i in range(df.shape[1])]
    units_all = None
    if units_row:
        units_all = [t.strip().strip("'\"") for t in _split(head[1], delim)]
    is_time = [has_header and bool(_TIME_COLUMN.match(n.lower())) for n in names]

    if column is not None:
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            ci = int(column)
            if not -len(names) <= ci < len(names):
                raise RecordError(f"{p}: column index {ci} out of range; columns: "
                                  + ", ".join(f"{i}={n!r}" for i, n in enumerate(names)))
            cols = [ci % len(names)]
        else:
            cols = [_lead_index(names, column, p)]
    else:
        cols = [i for i in range(len(names)) if not is_time[i]]
        if not cols:
            raise RecordError(f"{p}: no lead columns (only time columns: {names})")
        if lead is not None:
            cols = [cols[_lead_index([names[i] for i in cols], lead, p)]]

    data = np.empty((df.shape[0], len(cols)), dtype=np.float64)
    for k, ci in enumerate(cols):
        raw = df.iloc[:, ci].astype(str).str.strip().str.strip("'\"")
        missing = raw.isin(["", "nan", "NaN", "NAN", "NA", "N/A", "null", "-"])
        vals = pd.to_numeric(raw.where(~missing, None), errors="coerce")
        bad = vals.isna() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise RecordError(f"{p}: malformed data: column {names[ci]!r} row {row + 1} holds "
                              f"{raw.iloc[row]!r}, not a number")
        data[:, k] = vals.to_numpy(dtype=np.float64)
    sig = data[:, 0] if data.shape[1] == 1 else data
    units = None
    if units_all is not None and len(units_all) == len(names):
        units = tuple(units_all[i] or "mV" for i in cols)
    return Record(sig, fs, leads=tuple(names[i] for i in cols), units=units,
                  name=p.stem, path=str(p))


# ---------------------------------------------------------------------------------
# NPY
# ---------------------------------------------------------------------------------
def _read_npy(p: Path, lead: Any, fs: float | None) -> Record:
    if fs is None:
        raise RecordError(f"{p}: a .npy file holds no sampling rate: pass fs= (Hz), e.g. "
                          f"read_record({str(p)!r}, fs=500)")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        msg = str(exc)
        if "pickle" in msg.lower():
            raise RecordError(f"{p}: the array holds Python objects; gmesa reads only numeric "
                              "arrays (pickle is never loaded)") from None
        raise RecordError(f"{p}: truncated or malformed .npy file ({msg})") from None
    except Exception as exc:
        raise RecordError(f"{p}: truncated or malformed .npy file ({type(exc).__name__}: {exc})") from None
    leads = None
    if arr.dtype.names:
        leads = tuple(arr.dtype.names)
        try:
            arr = np.column_stack([np.asarray(arr[n], dtype=np.float64).ravel() for n in leads])
        except (TypeError, ValueError):
            raise RecordError(f"{p}: structured array fields must be numeric") from None
    if arr.dtype.kind not in "iuf":
        raise RecordError(f"{p}: array dtype {arr.dtype} is not numeric")
    if arr.size == 0:
        raise RecordError(f"{p}: empty array (shape {arr.shape})")
    if arr.ndim == 2 and arr.shape[1] > arr.shape[0]:
        arr = arr.T  # (n_leads, n) -> (n, n_leads)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim not in (1, 2):
        raise RecordError(f"{p}: array must be 1-D or 2-D, got shape {arr.shape}")
    rec = Record(np.ascontiguousarray(arr, dtype=np.float64), fs, leads=leads, name=p.stem, path=str(p))
    if lead is not None:
        rec = rec.select(lead)
    return rec
