"""WFDB headers: the record's signals (names, units, each signal's own sampling rate),
single- or multi-segment (fixed or variable layout), checked against their data files
(``.dat`` or PhysioNet/CinC ``.mat``) before any sample is read."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .record import RecordError, RecordNotFoundError

_FMT_BITS = {"8": 8, "80": 8, "16": 16, "61": 16, "160": 16, "212": 12, "24": 24, "32": 32,
             "310": 32 / 3, "311": 32 / 3}
_WFDB_FORMATS = ("8", "16", "24", "32", "61", "80", "160", "212", "310", "311", "508", "516", "524")
_NUM = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_FS_FIELD = re.compile(rf"^{_NUM}(/{_NUM}(\({_NUM}\))?)?$")


def _snip(text, width=40):
    """A short, printable excerpt of untrusted header text for error messages."""
    text = str(text)
    return repr(text[:width] + ("..." if len(text) > width else ""))


def states_rate(hea: Path) -> bool:
    """Does the WFDB header ``hea`` give its sampling rate (a third field on the record
    line)?  True also when the header cannot be read: reading it then says why."""
    try:
        with open(hea, encoding="latin-1") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#"):
                    return len(line.split()) >= 3
    except OSError:
        pass
    return True


def _check_wfdb_header_text(hea: Path) -> bool:
    """Catch header errors that wfdb.rdheader silently accepts (bad fs, missing lines);
    True when the record line states the sampling rate (else WFDB assumes 250 Hz)."""
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
    return len(tok) >= 3


@dataclass(frozen=True)
class WfdbSignals:
    """The signals of a WFDB record as its header(s) describe them.

    ``fs`` is each signal's own rate (Hz): the frame rate times its samples per frame.
    ``segments`` names the segments of a multi-segment record (``"~"`` for a gap),
    ``layout`` is ``"fixed"``, ``"variable"`` or None (one segment); ``fs_stated`` is
    False when the header gives no sampling rate (``frame_fs`` is then WFDB's default,
    250 Hz)."""

    names: tuple[str, ...]
    units: tuple[str, ...]
    samples_per_frame: tuple[int, ...]
    frame_fs: float
    n_frames: int
    segments: tuple[str, ...] = ()
    layout: str | None = None
    fs_stated: bool = True

    @property
    def fs(self) -> tuple[float, ...]:
        """Sampling rate of each signal, Hz."""
        return tuple(self.frame_fs * k for k in self.samples_per_frame)


def _rdheader(base: Path, hea: Path) -> tuple[Any, bool]:
    """(wfdb's header object, does it state the sampling rate)."""
    import wfdb

    if not hea.is_file():
        raise RecordNotFoundError(f"{hea}: WFDB header not found")
    if hea.stat().st_size == 0:
        raise RecordError(f"{hea}: empty file (0 bytes)")
    stated = _check_wfdb_header_text(hea)
    try:
        return wfdb.rdheader(str(base)), stated
    except Exception as exc:
        raise RecordError(f"{hea}: malformed WFDB header ({type(exc).__name__}: {exc})") from None


def _spec(h: Any) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    # a signal line without a description names no lead: numbered as a headerless CSV's
    names = tuple(str(s).strip() if s is not None and str(s).strip() else f"lead{i}"
                  for i, s in enumerate(h.sig_name or []))
    units = tuple(str(u) if u else "mV" for u in (h.units or ["mV"] * len(names)))
    spf = tuple(int(k or 1) for k in (h.samps_per_frame or [1] * len(names)))
    return names, units, spf


def _segments(h: Any, base: Path, hea: Path, check_data: bool) -> Any:
    """The header that lists a multi-segment record's signals (the layout segment for a
    variable layout, the first segment for a fixed one); every segment checked."""
    spec = None
    for k, (seg, n) in enumerate(zip(h.seg_name, h.seg_len)):
        if seg == "~":
            continue
        sbase = base.parent / seg
        shea = Path(str(sbase) + ".hea")
        if not shea.is_file():
            raise RecordNotFoundError(f"{shea}: header of segment {seg!r} named in {hea.name} "
                                      "not found")
        sh = _rdheader(sbase, shea)[0]
        if isinstance(sh, type(h)):
            raise RecordError(f"{hea}: segment {seg!r} is itself a multi-segment record")
        if spec is None and (h.layout == "fixed" or (k == 0 and n == 0)):
            spec = sh
        elif spec is not None:
            _same_units(spec, sh, hea)
        if check_data and n:
            check_data_files(sh, sbase, shea)
    if spec is None:
        raise RecordError(f"{hea}: multi-segment WFDB header: no segment lists the signals "
                          f"(layout {h.layout!r}, segments {list(h.seg_name)[:5]})")
    return spec


def _same_units(spec: Any, seg: Any, hea: Path) -> None:
    """Refuse a segment that states a signal in other units than the layout: the joined
    signal would change scale at the segment's start."""
    units = dict(zip(_spec(spec)[0], _spec(spec)[1]))
    for name, unit in zip(*_spec(seg)[:2]):
        if name in units and unit != units[name]:
            raise RecordError(
                f"{hea}: signal {name!r} is in {unit!r} in segment {seg.record_name!r} but in "
                f"{units[name]!r} in {spec.record_name!r}: gmesa cannot join segments whose "
                "units differ")


def read_wfdb_header(base: Path, check_data: bool = True) -> tuple[Any, WfdbSignals]:
    """(wfdb's header object, the record's :class:`WfdbSignals`) of the WFDB record
    ``base`` (path without extension).  ``check_data`` also checks that every data file
    exists and is as long as the header implies."""
    import wfdb

    hea = Path(str(base) + ".hea")
    h, stated = _rdheader(base, hea)
    multi = isinstance(h, wfdb.MultiRecord)
    if multi:
        names, units, spf = _spec(_segments(h, base, hea, check_data))
    else:
        names, units, spf = _spec(h)
    if not names or not h.n_sig:
        raise RecordError(f"{hea}: WFDB header lists no signals")
    if check_data and not multi:
        if all(f == "~" for f in h.file_name):
            raise RecordError(f"{hea}: WFDB header with no data file (a multi-segment record's "
                              "layout header?): read the record whose header lists it")
        check_data_files(h, base, hea)
    return h, WfdbSignals(
        names=names, units=units, samples_per_frame=spf, frame_fs=float(h.fs),
        n_frames=int(h.sig_len or 0), segments=tuple(h.seg_name) if multi else (),
        layout=h.layout if multi else None, fs_stated=stated)


def check_data_files(h: Any, base: Path, hea: Path) -> None:
    """Refuse a missing, empty or truncated data file of a one-segment header."""
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


def segment_headers(path: str | Path) -> list[Path]:
    """The header files (segments and layout) that the master header of a multi-segment
    WFDB record names, which are parts of that record rather than records of their own;
    ``[]`` for a one-segment record.  ``path``: the master ``.hea`` or its record name."""
    import wfdb

    p = Path(path)
    base = p.with_suffix("") if p.suffix.lower() == ".hea" else p
    h = _rdheader(base, Path(str(base) + ".hea"))[0]
    if not isinstance(h, wfdb.MultiRecord):
        return []
    return [base.parent / f"{seg}.hea" for seg in h.seg_name if seg != "~"]
