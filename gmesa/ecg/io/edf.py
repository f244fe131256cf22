"""EDF, EDF+ and BDF files: one header reader (:func:`read_edf_header`, also used to peek
at a file's leads) and gmesa's own memory-mapped sample and annotation reader; pyedflib
(optional) can read the samples instead, as a cross-check."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .kind import ecg_lead_index
from .record import Record, RecordError, check_file_fs, check_fs_agrees, lead_index
from .units import settle_units
from ..._warn import warn

#: EDF engines of :func:`gmesa.ecg.io.read_record` (``edf_reader=``)
EDF_READERS = ("auto", "numpy", "pyedflib")

_ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
_EDF_FIELDS = (("label", 16), ("transducer", 80), ("dimension", 8), ("physical_min", 8),
               ("physical_max", 8), ("digital_min", 8), ("digital_max", 8), ("prefilter", 80),
               ("n_samples", 8), ("reserved", 32))
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class EdfHeader:
    """What an EDF/EDF+/BDF header says, checked against the file's size.

    ``leads``, ``fs`` (Hz), ``units`` and ``n_samples`` describe the data signals (the
    annotation signal left out); the other fields describe every signal of the file,
    in file order, for the sample reader.
    """

    path: str
    bdf: bool
    header_bytes: int
    n_records: int
    record_s: float  # duration of one data record, s
    labels: tuple[str, ...]
    dimensions: tuple[str, ...]
    physical_min: np.ndarray
    physical_max: np.ndarray
    digital_min: np.ndarray
    digital_max: np.ndarray
    samples_per_record: np.ndarray
    start_time: datetime | None
    discontinuous: bool

    @property
    def signal_index(self) -> list[int]:
        """File positions of the data signals (annotation signals left out)."""
        return [i for i, lab in enumerate(self.labels) if lab not in _ANNOTATION_LABELS]

    @property
    def leads(self) -> tuple[str, ...]:
        """Labels of the data signals."""
        return tuple(self.labels[i] for i in self.signal_index)

    @property
    def fs(self) -> np.ndarray:
        """Sampling rate of each data signal, Hz."""
        return np.array([self.samples_per_record[i] / self.record_s for i in self.signal_index],
                        dtype=np.float64)

    @property
    def units(self) -> tuple[str, ...]:
        """Physical dimension of each data signal as the file states it (e.g. ``uV``)."""
        return tuple(self.dimensions[i] for i in self.signal_index)

    @property
    def n_samples(self) -> np.ndarray:
        """Number of samples of each data signal."""
        return np.array([self.samples_per_record[i] * self.n_records for i in self.signal_index],
                        dtype=np.int64)


def _fixed_header(head: bytes, p: Path) -> tuple[bool, int, int, float, int, str]:
    """(bdf, header bytes, data records, record duration s, signal count, text) of the
    256-byte fixed header."""
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
    return bdf, header_bytes, n_records, duration, ns, txt


def _signal_fields(sh: bytes, ns: int) -> dict[str, list[str]]:
    sht = sh.decode("latin-1")
    fields: dict[str, list[str]] = {}
    pos = 0
    for key, width in _EDF_FIELDS:
        fields[key] = [sht[pos + i * width: pos + (i + 1) * width].strip() for i in range(ns)]
        pos += width * ns
    return fields


def read_edf_header(path: str | Path) -> EdfHeader:
    """Read and check the header of an EDF/EDF+/BDF file (no samples are read).

    Raises :class:`RecordError` naming the file for a truncated or malformed header and
    for a data part shorter than the header implies."""
    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as fh:
        bdf, header_bytes, n_records, duration, ns, txt = _fixed_header(fh.read(256), p)
        sh = fh.read(256 * ns)
    if len(sh) < 256 * ns:
        raise RecordError(f"{p}: truncated EDF header ({256 + len(sh)} of {header_bytes} bytes)")
    fields = _signal_fields(sh, ns)
    try:
        nums = {k: np.array([float(v) for v in fields[k]])
                for k in ("physical_min", "physical_max", "digital_min", "digital_max")}
        nsamp = np.array([int(v) for v in fields["n_samples"]], dtype=np.int64)
    except ValueError as exc:
        raise RecordError(f"{p}: malformed EDF signal header ({exc})") from None
    if duration <= 0 or np.any(nsamp < 1):
        raise RecordError(f"{p}: malformed EDF header: record duration {duration} s, "
                          f"samples per record {nsamp.tolist()}")
    rec_size = int(nsamp.sum()) * (3 if bdf else 2)
    data_bytes = size - header_bytes
    if n_records < 0:  # still recording: count what is there
        n_records = data_bytes // rec_size
    if n_records == 0:
        raise RecordError(f"{p}: EDF file holds no data records")
    if data_bytes < n_records * rec_size:
        raise RecordError(f"{p}: truncated EDF data: {data_bytes} bytes, the header implies "
                          f"{n_records * rec_size} ({n_records} records of {rec_size} bytes)")
    reserved = txt[192:236]
    return EdfHeader(
        path=str(p), bdf=bdf, header_bytes=header_bytes, n_records=n_records,
        record_s=duration, labels=tuple(fields["label"]), dimensions=tuple(fields["dimension"]),
        physical_min=nums["physical_min"], physical_max=nums["physical_max"],
        digital_min=nums["digital_min"], digital_max=nums["digital_max"],
        samples_per_record=nsamp,
        start_time=_edf_start_time(txt[88:168], txt[168:176], txt[176:184]),
        discontinuous=reserved.startswith(("EDF+D", "BDF+D")),
    )


def _edf_start_time(recording: str, date: str, time: str) -> datetime | None:
    try:
        dd, mm, yy = (int(v) for v in date.strip().split("."))
        hh, mi, ss = (int(v) for v in time.strip().split("."))
    except ValueError:
        return None
    year = 1900 + yy if yy >= 85 else 2000 + yy
    m = re.search(r"Startdate (\d{2})-([A-Z]{3})-(\d{4})", recording)
    if m and m.group(2) in _MONTHS:
        year = int(m.group(3))
    try:
        return datetime(year, mm, dd, hh, mi, ss)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------
# samples and annotations
# ---------------------------------------------------------------------------------
Annotations = list  # of (onset s from the first sample, duration s or -1, text)


class _Blocks:
    """The data records, memory-mapped: only the signals that are read get loaded."""

    def __init__(self, h: EdfHeader):
        self.h = h
        self.bps = 3 if h.bdf else 2
        rec_size = int(h.samples_per_record.sum()) * self.bps
        self.raw = np.memmap(h.path, dtype=np.uint8, mode="r", offset=h.header_bytes,
                             shape=(h.n_records, rec_size))
        self.offsets = np.concatenate([[0], np.cumsum(h.samples_per_record)[:-1]]) * self.bps

    def block(self, i: int) -> np.ndarray:
        o = self.offsets[i]
        return self.raw[:, o: o + self.h.samples_per_record[i] * self.bps]

    def digital(self, i: int) -> np.ndarray:
        block = self.block(i)
        if self.h.bdf:
            b = block.reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            return np.where(v >= 1 << 23, v - (1 << 24), v)
        return np.ascontiguousarray(block).view("<i2").ravel()

    def physical(self, i: int) -> np.ndarray:
        h = self.h
        # edflib's formula, so gmesa and pyedflib give the same floating-point values
        bitvalue = (h.physical_max[i] - h.physical_min[i]) / (h.digital_max[i] - h.digital_min[i])
        offset = h.physical_max[i] / bitvalue - h.digital_max[i]
        return bitvalue * (offset + self.digital(i).astype(np.float64))

    def annotations(self) -> Annotations:
        anns, start_offset = [], None
        for i in (i for i, lab in enumerate(self.h.labels) if lab in _ANNOTATION_LABELS):
            block = self.block(i)
            for r in range(self.h.n_records):
                start_offset = _parse_tals(bytes(block[r]), anns, start_offset)
        so = start_offset or 0.0
        return [(o - so, d, t) for o, d, t in anns]


def _parse_tals(data: bytes, anns: list, start_offset: float | None) -> float | None:
    """Append the annotations of one data record's TALs to ``anns``; returns the
    record's time-keeping onset when it is the first one seen."""
    for k, tal in enumerate(data.split(b"\x00")):
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
    return start_offset


def _numpy_engine(h: EdfHeader) -> tuple[Callable[[int], np.ndarray], Annotations]:
    blocks = _Blocks(h)
    return blocks.physical, blocks.annotations()


def _pyedflib_engine(h: EdfHeader) -> tuple[Callable[[int], np.ndarray], Annotations]:
    import pyedflib

    f = pyedflib.EdfReader(h.path)
    try:
        onsets, durations, texts = f.readAnnotations()
    finally:
        f.close()
    anns = [(float(o), float(d), str(t).strip()) for o, d, t in zip(onsets, durations, texts)]
    # pyedflib numbers the data signals only
    position = {i: j for j, i in enumerate(h.signal_index)}

    def read(i: int) -> np.ndarray:
        g = pyedflib.EdfReader(h.path)
        try:
            return np.asarray(g.readSignal(position[i]), dtype=np.float64)
        finally:
            g.close()

    return read, anns


def _engine(h: EdfHeader, engine: str) -> tuple[Callable[[int], np.ndarray], Annotations]:
    p = h.path
    if engine != "pyedflib":
        return _numpy_engine(h)
    try:
        return _pyedflib_engine(h)
    except ImportError:
        raise RecordError(f"{p}: edf_reader='pyedflib' but pyedflib is not installed") from None
    except Exception as exc:
        raise RecordError(f"{p}: pyedflib cannot read this file ({exc})") from None


def read_edf(p: Path, lead: Any, fs_arg: float | None, engine: str = "auto") -> Record:
    """Read an EDF/EDF+/BDF file: one lead, or (``lead=None``) every signal at the
    sampling rate of the first ECG-like one (the others left out with a warning).
    Voltages are converted to mV."""
    if engine not in EDF_READERS:
        raise ValueError(f"edf_reader={engine!r}; choose one of 'auto', 'pyedflib', 'numpy'")
    h = read_edf_header(p)
    labels, fs_all, n_all = h.leads, h.fs, h.n_samples
    if not labels:
        raise RecordError(f"{p}: EDF file holds no signals (only annotations)")
    if h.discontinuous:
        warn(f"{p}: EDF+D (discontinuous) file: data records are joined without gaps",
             RuntimeWarning)
    if lead is not None:
        keep = [lead_index(labels, lead, p)]
        ref = keep[0]
    else:
        ref = ecg_lead_index(labels, h.units)
        keep = [i for i in range(len(labels))
                if math.isclose(fs_all[i], fs_all[ref], rel_tol=1e-9) and n_all[i] == n_all[ref]]
        dropped = [labels[i] for i in range(len(labels)) if i not in keep]
        if dropped:
            warn(f"{p}: signals {dropped} have another sampling rate than "
                 f"{labels[ref]!r} ({fs_all[ref]:g} Hz) and were left out",
                 RuntimeWarning)
    fs = float(fs_all[ref])
    check_file_fs(fs, p, f" (signal {labels[ref]!r})")
    check_fs_agrees(fs_arg, fs, p)
    read, anns = _engine(h, engine)
    cols = [read(h.signal_index[i]) for i in keep]
    sig = cols[0] if len(cols) == 1 else np.column_stack(cols)
    leads = tuple(labels[i] for i in keep)
    sig, units = settle_units(sig, leads, [h.units[i] for i in keep], p,
                              "the EDF header gives no physical dimension for it")
    return Record(sig, fs, leads=leads, units=units, start_time=h.start_time,
                  annotations=_annotation_table(anns, fs), name=p.stem, path=str(p))


def _annotation_table(anns: Annotations, fs: float) -> pd.DataFrame | None:
    if not anns:
        return None
    return pd.DataFrame({
        "sample": np.array([int(round(o * fs)) for o, _, _ in anns], dtype=np.int64),
        "symbol": [t for _, _, t in anns],
        "aux": [f"duration={d:g}s" if d > 0 else "" for _, d, _ in anns],
    })
