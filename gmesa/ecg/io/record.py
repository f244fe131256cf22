"""The :class:`Record` (samples, sampling rate, leads, units, annotations), its errors,
lead lookup and the sampling-rate checks every reader shares.

Nothing here reads a file; the readers in this package build a Record.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np
import pandas as pd

#: lowest sampling rate gmesa accepts, Hz
MIN_FS = 100.0

#: columns of ``Record.annotations``: sample index (int), symbol (str), aux (str)
ANNOTATION_COLUMNS = ("sample", "symbol", "aux")

class RecordError(ValueError):
    """A record cannot be read or built; the message names the file and the problem."""


class RecordNotFoundError(RecordError, FileNotFoundError):
    """The record's file (or a file it needs) does not exist."""


def where(path: Any) -> str:
    """``"<path>: "`` to start an error message, or ``""`` without a path."""
    return f"{path}: " if path else ""


def check_fs(fs: Any, p: Any = None) -> float:
    """A sampling rate given by the caller as a float (Hz), or a RecordError naming the
    file (if any) and the problem."""
    try:
        val = float(fs)
    except (TypeError, ValueError):
        raise RecordError(f"{where(p)}sampling rate fs={fs!r} is not a number (Hz)") from None
    if not math.isfinite(val) or val < MIN_FS:
        raise RecordError(
            f"{where(p)}sampling rate fs={fs!r} Hz is not supported: gmesa needs a finite "
            f"sampling rate >= {MIN_FS:g} Hz"
        )
    return val


def check_file_fs(fs_file: float, p: Any, what: str = "") -> None:
    """Refuse a sampling rate read from a file (``what`` names the signal) below MIN_FS."""
    if not math.isfinite(fs_file) or fs_file < MIN_FS:
        raise RecordError(
            f"{p}: sampling rate {fs_file:g} Hz{what} is below {MIN_FS:g} Hz: "
            f"gmesa needs >= {MIN_FS:g} Hz"
        )


def check_fs_agrees(fs_arg: float | None, fs_file: float, p: Any) -> None:
    """Refuse an ``fs=`` argument (Hz) that contradicts the file's own rate."""
    if fs_arg is None:
        return
    if not math.isclose(float(fs_arg), fs_file, rel_tol=1e-6):
        raise RecordError(f"{p}: fs={float(fs_arg):g} Hz was given but the file says {fs_file:g} Hz")


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
    adc_limits : tuple, optional
        Per lead, the converter's physical range ``(low, high)`` in the lead's unit, or
        None; samples at a limit are clipped (see :mod:`gmesa.ecg.artefacts`).
    """

    signal: np.ndarray
    fs: float
    leads: tuple[str, ...] | None = None
    units: tuple[str, ...] | str | None = None
    start_time: datetime | None = None
    annotations: pd.DataFrame | None = None
    name: str = "record"
    path: str | None = None
    adc_limits: tuple | None = None

    def __post_init__(self) -> None:
        if self.path is not None:
            self.path = str(self.path)
        where_ = where(self.path)
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
            raise RecordError(f"{where_}signal is not an array of numbers ({exc})") from None
        if arr.dtype.kind not in "iuf":
            raise RecordError(
                f"{where_}signal must hold real numbers (int or float), got dtype {arr.dtype}"
            )
        if arr.ndim not in (1, 2):
            raise RecordError(
                f"{where_}signal must be 1-D (n,) or 2-D (n, n_leads), got shape {arr.shape}"
            )
        if arr.shape[0] < 1 or (arr.ndim == 2 and arr.shape[1] < 1):
            raise RecordError(f"{where_}signal is empty (shape {arr.shape}): need at least 1 sample")
        if arr.ndim == 2 and arr.shape[1] > arr.shape[0] and arr.shape[1] > 64:
            raise RecordError(
                f"{where_}signal has shape {arr.shape}, which looks like (n_leads, n_samples); "
                "gmesa wants (n_samples, n_leads): pass signal.T"
            )
        self.signal = arr.astype(np.float64, copy=False)

        self.fs = check_fs(self.fs, self.path)

        n_leads = 1 if arr.ndim == 1 else arr.shape[1]
        if self.leads is None:
            leads = tuple(f"lead{i}" for i in range(n_leads))
        elif isinstance(self.leads, str):
            leads = (self.leads,)
        else:
            leads = tuple(str(x) for x in self.leads)
        if len(leads) != n_leads:
            raise RecordError(
                f"{where_}{len(leads)} lead names {leads} for a signal with {n_leads} lead(s) "
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
            raise RecordError(f"{where_}{len(units)} units {units} for {n_leads} lead(s)")
        self.units = units

        if isinstance(self.start_time, str):
            try:
                self.start_time = datetime.fromisoformat(self.start_time)
            except ValueError:
                raise RecordError(f"{where_}start_time {self.start_time!r} is not an ISO date-time") from None
        elif self.start_time is not None and not isinstance(self.start_time, datetime):
            raise RecordError(f"{where_}start_time must be a datetime or None, "
                              f"got {type(self.start_time).__name__}")

        if self.annotations is not None:
            self.annotations = normalise_annotations(self.annotations, where_)
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
        return lead_index(self.leads, name_or_index, self.path)

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
            adc_limits=None if self.adc_limits is None else (self.adc_limits[i],),
        )

    def crop(self, start_s: float, end_s: float | None = None) -> "Record":
        """A new Record of the samples from ``start_s`` to ``end_s`` (s from the first
        sample; None: the end), every lead, its annotations and start time moved with
        it: to fit one stretch of a long record on its own (docs/ecg.md, "A long record
        and a cut of it").  Times in a fit of it count from ``start_s``."""
        end = self.duration_s if end_s is None else end_s
        if not (math.isfinite(start_s) and math.isfinite(end) and 0 <= start_s < end):
            raise ValueError(f"crop({start_s!r}, {end_s!r}): give 0 <= start_s < end_s "
                             f"(s; the record lasts {self.duration_s:g} s)")
        if start_s >= self.duration_s:
            raise ValueError(f"crop: start_s={start_s:g} s is past the record's end "
                             f"({self.duration_s:g} s)")
        a = int(round(start_s * self.fs))
        b = min(int(round(end * self.fs)), self.n_samples)
        ann = self.annotations
        if ann is not None:
            ann = ann[(ann["sample"] >= a) & (ann["sample"] < b)].copy()
            ann["sample"] = ann["sample"] - a
            ann = ann.reset_index(drop=True)
        start = None if self.start_time is None else self.start_time + timedelta(
            seconds=a / self.fs)
        return Record(self.signal[a:b].copy(), self.fs, leads=self.leads, units=self.units,
                      start_time=start, annotations=ann, name=self.name, path=self.path,
                      adc_limits=self.adc_limits)

    def limits(self, name_or_index: str | int = 0):
        """The converter's physical range (low, high) of one lead in its unit, when the
        file gives it (WFDB ``adc_res``/``adc_zero``/``baseline``/``adc_gain``), else None."""
        if self.adc_limits is None:
            return None
        return self.adc_limits[self.lead_index(name_or_index)]

    def __repr__(self) -> str:
        n_ann = 0 if self.annotations is None else len(self.annotations)
        return (
            f"Record(name={self.name!r}, fs={self.fs:g} Hz, leads={self.leads}, "
            f"units={self.units}, n_samples={self.n_samples}, duration_s={self.duration_s:.3f}, "
            f"start_time={self.start_time!r}, annotations={n_ann}, path={self.path!r})"
        )



def normalise_annotations(ann: Any, where_: str) -> pd.DataFrame:
    """Annotations as a DataFrame with ``sample`` (int64), ``symbol``, ``aux`` first."""
    if not isinstance(ann, pd.DataFrame):
        raise RecordError(f"{where_}annotations must be a pandas DataFrame or None, got {type(ann).__name__}")
    missing = [c for c in ("sample", "symbol") if c not in ann.columns]
    if missing:
        raise RecordError(
            f"{where_}annotations lack column(s) {missing}; expected columns {list(ANNOTATION_COLUMNS)}"
        )
    out = ann.copy()
    try:
        out["sample"] = out["sample"].to_numpy().astype(np.int64)
    except (TypeError, ValueError):
        raise RecordError(f"{where_}annotation 'sample' column must hold integer sample indices") from None
    out["symbol"] = out["symbol"].fillna("").astype(str)
    out["aux"] = out["aux"].fillna("").astype(str) if "aux" in out.columns else ""
    cols = list(ANNOTATION_COLUMNS) + [c for c in out.columns if c not in ANNOTATION_COLUMNS]
    return out[cols].reset_index(drop=True)


def lead_index(leads: Sequence[str], key: Any, path: Any = None) -> int:
    """Index of lead ``key`` (a name, case-insensitive, or a possibly negative index)
    among ``leads``; a RecordError naming the available leads when there is none."""
    where_ = where(path)
    n = len(leads)
    listing = ", ".join(repr(x) for x in leads)
    if isinstance(key, (bool, np.bool_)):
        raise RecordError(f"{where_}a lead is chosen by name or index, not by {key!r}; "
                          f"available leads: {listing}")
    if isinstance(key, (int, np.integer)):
        i = int(key)
        if -n <= i < n:
            return i % n
        raise RecordError(
            f"{where_}lead index {i} is out of range for {n} lead(s); available leads: {listing}"
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
            return lead_index(leads, int(k), path)
        raise RecordError(f"{where_}lead {key!r} not found; available leads: {listing}")
    raise RecordError(f"{where_}a lead is chosen by name (str) or index (int), got {type(key).__name__}")
