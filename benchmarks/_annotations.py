"""Reference wave marks of LUDB and QTDB, and the matching/scoring used by ``delineation.py``.

Everything here works in **seconds from the start of the record** unless a name says samples or ms.

Reading the marks
-----------------
Both databases store a wave as the WFDB marks ``(`` peak ``)``. :func:`group_waves` groups them by
adjacency: a ``(`` directly before a peak mark is that wave's onset and a ``)`` directly after it is
its offset. Peak symbols: ``p`` (P), ``t`` (T), ``u`` (U) and any beat label (``N``, ``A``, ``V``,
``B``, ``Q``, ...) for the QRS. One malformed pattern is repaired and reported in the notes: a peak
with neither boundary directly followed by an orphan ``(`` ``)`` pair takes that pair (LUDB 111 lead
ii, a paced QRS whose peak mark sits one sample before its onset mark).

Where detections are scored
---------------------------
A reference mark can be matched by a detection anywhere. An *unmatched* detection is a false positive
only when it falls inside the scored intervals of the record:

* LUDB: one interval per lead, from the first to the last annotated mark of that lead (the complexes
  before and after are present in the signal but unlabelled).
* QTDB: only 30-100 beats per record are marked. A beat is a QRS wave plus the P wave before it (up
  to the previous annotated QRS) and the T and U waves after it. Its extent runs from its first to
  its last mark, widened by ``margin_s`` (default 50 ms) on both sides. Two annotated beats that are
  consecutive in the recording are joined into one interval, so that the TP segment between them is
  scored too (a P wave reported in atrial fibrillation, which has no P marks, counts against PPV
  there). "Consecutive" comes from the full beat annotation ``.atr`` when it exists: each annotated
  QRS is mapped to its nearest ``.atr`` beat, and the two beats are consecutive when their ``.atr``
  indices differ by one. The ``.atr`` marks sit up to ~30 samples away from the q1c QRS marks, so a
  fixed sample tolerance does not work. Without ``.atr`` (sel233, sel30-sel52), consecutive means
  a QRS-to-QRS gap of at most 1.5 x the record's median annotated gap. That rule alone would be wrong
  for sel213, where the annotator marked every other beat.
* Both: where a wave is annotated but one of its boundaries is not (QTDB marks T onset on ~40% of T
  waves; LUDB 104 lead ii has no QRS onsets), unmatched detections of that boundary between the
  neighbouring mark and the wave's peak are ignored rather than counted false (:func:`unmarked_zones`).
  A wave that is not annotated at all inside the scored intervals is taken as absent (no P marks in
  atrial fibrillation), so detections of it are false positives.

Matching and statistics
-----------------------
Each reference mark is matched one-to-one with the nearest detection of the same fiducial within
+-``tol`` (150 ms). Pairs are taken greedily in order of increasing distance. Then:
sensitivity = TP / references, PPV = TP / (TP + FP), error = detected - reference in ms, with mean,
SD (ddof=1), median and 1.4826 x MAD. The CSE check is SD <= 2-sigma tolerance, and
``|mean| + SD`` is the single number used to compare methods.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Fiducials scored by default, in table order.
FIDUCIALS = ("P_on", "P_peak", "P_off", "QRS_on", "QRS_off", "T_on", "T_peak", "T_off")
#: Every fiducial a reference or a method can carry (``QRS_peak`` is kept but not scored by default).
ALL_FIDUCIALS = ("P_on", "P_peak", "P_off", "QRS_on", "QRS_peak", "QRS_off", "T_on", "T_peak", "T_off")
#: CSE 2-sigma tolerances for the boundaries, in ms.
CSE_TOLERANCE_MS = {"P_on": 10.2, "P_off": 12.7, "QRS_on": 6.5, "QRS_off": 11.6, "T_off": 30.6}
#: Matching window, +- seconds.
MATCH_TOLERANCE_S = 0.150
#: Margin around an annotated QTDB beat's extent, seconds.
QTDB_MARGIN_S = 0.050
#: WFDB beat labels (they mark the QRS in q1c and LUDB).
QRS_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
_PEAK_KIND = {"p": "P", "t": "T", "u": "U"}
_WAVE_FIDUCIALS = {"P": ("P_on", "P_peak", "P_off"), "QRS": ("QRS_on", "QRS_peak", "QRS_off"),
                   "T": ("T_on", "T_peak", "T_off")}


def default_data_dir() -> Path:
    """``../shared/data`` next to the repository (``/work/shared/data``)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


# --------------------------------------------------------------------------------------------
# Grouping marks into waves
# --------------------------------------------------------------------------------------------
@dataclass
class Wave:
    """One annotated wave; positions in samples, ``None`` when the mark is absent."""

    kind: str  # "P", "QRS", "T" or "U"
    peak: int
    onset: int | None = None
    offset: int | None = None
    symbol: str = ""
    before: int | None = None  # the mark just before this wave's first mark (any symbol)
    after: int | None = None  # the mark just after its last mark

    @property
    def first(self) -> int:
        return self.onset if self.onset is not None else self.peak

    @property
    def last(self) -> int:
        return self.offset if self.offset is not None else self.peak


def wave_kind(symbol: str) -> str | None:
    """``"P"``, ``"QRS"``, ``"T"``, ``"U"`` for a peak symbol, ``None`` for anything else."""
    if symbol in _PEAK_KIND:
        return _PEAK_KIND[symbol]
    if symbol in QRS_SYMBOLS:
        return "QRS"
    return None


def group_waves(samples, symbols) -> tuple[list[Wave], list[str]]:
    """Group time-ordered WFDB marks ``(`` peak ``)`` into waves by adjacency.

    Returns the waves in mark order and a list of notes about marks that did not fit (orphan
    boundaries, unknown symbols, the one repaired pattern described in the module docstring).
    """
    samples = [int(s) for s in samples]
    symbols = list(symbols)
    n = len(symbols)
    used = [False] * n
    waves: list[Wave] = []
    notes: list[str] = []
    for i, sym in enumerate(symbols):
        if sym in ("(", ")"):
            continue
        used[i] = True
        kind = wave_kind(sym)
        if kind is None:
            notes.append(f"ignored mark {sym!r} at sample {samples[i]}")
            continue
        wave = Wave(kind, samples[i], symbol=sym)
        first = last = i
        if i > 0 and symbols[i - 1] == "(":
            wave.onset, first = samples[i - 1], i - 1
        if i + 1 < n and symbols[i + 1] == ")":
            wave.offset, last = samples[i + 1], i + 1
        elif (wave.onset is None and i + 2 < n and symbols[i + 1] == "(" and symbols[i + 2] == ")"):
            wave.onset, wave.offset, last = samples[i + 1], samples[i + 2], i + 2
            notes.append(f"{kind} peak at sample {samples[i]} precedes its own '(' at {samples[i + 1]}: "
                         f"took the following '(' ')' as its boundaries")
        for k in range(first, last + 1):
            used[k] = True
        wave.before = samples[first - 1] if first > 0 else None
        wave.after = samples[last + 1] if last + 1 < n else None
        waves.append(wave)
    for i in range(n):
        if not used[i]:
            notes.append(f"orphan {symbols[i]!r} at sample {samples[i]}")
    for kind in ("P", "QRS", "T"):
        no_on = sum(w.onset is None for w in waves if w.kind == kind)
        no_off = sum(w.offset is None for w in waves if w.kind == kind)
        n_kind = sum(w.kind == kind for w in waves)
        if no_on or no_off:
            notes.append(f"{kind}: {no_on} of {n_kind} without onset mark, {no_off} without offset mark")
    return waves, notes


def reference_times(waves: list[Wave], fs: float) -> dict[str, np.ndarray]:
    """Reference marks per fiducial (``P_on`` ... ``T_off``), sorted, in seconds. U waves are dropped."""
    out: dict[str, list[float]] = {f: [] for f in ALL_FIDUCIALS}
    for w in waves:
        if w.kind not in _WAVE_FIDUCIALS:
            continue
        on, peak, off = _WAVE_FIDUCIALS[w.kind]
        out[peak].append(w.peak / fs)
        if w.onset is not None:
            out[on].append(w.onset / fs)
        if w.offset is not None:
            out[off].append(w.offset / fs)
    return {f: np.sort(np.asarray(v, dtype=float)) for f, v in out.items()}


def unmarked_zones(waves: list[Wave], fs: float, tol_s: float = MATCH_TOLERANCE_S) -> dict[str, np.ndarray]:
    """Where a boundary of an annotated wave was left unmarked, per fiducial, in seconds.

    For a wave with a peak mark but no onset mark, the zone runs from the previous mark to its peak
    (no offset: from the peak to the next mark; ``tol_s`` when there is no such mark). Unmatched
    detections there are neither matched nor false: the annotator marked the wave but not that
    boundary (QTDB T onsets, which are marked on ~40% of T waves only; LUDB 104 lead ii paced QRS).
    """
    zones: dict[str, list[tuple[float, float]]] = {f: [] for f in ALL_FIDUCIALS}
    for w in waves:
        if w.kind not in _WAVE_FIDUCIALS:
            continue
        on, _, off = _WAVE_FIDUCIALS[w.kind]
        if w.onset is None:
            lo = w.before if w.before is not None else w.peak - tol_s * fs
            zones[on].append((lo / fs, w.peak / fs))
        if w.offset is None:
            hi = w.after if w.after is not None else w.peak + tol_s * fs
            zones[off].append((w.peak / fs, hi / fs))
    return {f: merge_intervals(z) for f, z in zones.items()}


# --------------------------------------------------------------------------------------------
# Scored intervals
# --------------------------------------------------------------------------------------------
def beat_extents(waves: list[Wave]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group waves into beats around each QRS; return ``(qrs_peaks, extents, orphan_extents)`` in samples.

    ``extents[k] = (first mark, last mark)`` of beat ``k``: its QRS, the P wave before it (after the
    previous annotated QRS) and the T/U waves after it (before the next annotated QRS). Waves with no
    QRS to attach to (a P after the last QRS, a T before the first) get their own extents.
    """
    qrs = np.array(sorted(w.peak for w in waves if w.kind == "QRS"), dtype=np.int64)
    ext = np.column_stack([qrs, qrs]).astype(np.int64) if len(qrs) else np.zeros((0, 2), np.int64)
    orphans = []
    for w in waves:
        if w.kind == "QRS":
            k = int(np.searchsorted(qrs, w.peak, "left"))
        elif w.kind == "P":
            k = int(np.searchsorted(qrs, w.peak, "right"))
        else:
            k = int(np.searchsorted(qrs, w.peak, "right")) - 1
        if 0 <= k < len(qrs):
            ext[k, 0] = min(ext[k, 0], w.first)
            ext[k, 1] = max(ext[k, 1], w.last)
        else:
            orphans.append((w.first, w.last))
    return qrs, ext, np.asarray(orphans, dtype=np.int64).reshape(-1, 2)


def consecutive_beats(qrs_peaks, all_beats=None, max_gap_factor: float = 1.5) -> np.ndarray:
    """Boolean array (len ``n-1``): is annotated beat ``k+1`` the beat right after beat ``k``?

    With ``all_beats`` (every beat of the recording, e.g. from ``.atr``), each annotated QRS is mapped
    to its nearest beat there and the pair is consecutive when the mapped indices differ by one.
    Otherwise the QRS-to-QRS gap must be at most ``max_gap_factor`` x the median annotated gap.
    """
    q = np.asarray(qrs_peaks, dtype=float)
    if len(q) < 2:
        return np.zeros(0, dtype=bool)
    if all_beats is not None and len(all_beats) >= 2:
        b = np.sort(np.asarray(all_beats, dtype=float))
        j = np.clip(np.searchsorted(b, q), 1, len(b) - 1)
        j = np.where(np.abs(b[j - 1] - q) <= np.abs(b[j] - q), j - 1, j)
        return np.diff(j) == 1
    gaps = np.diff(q)
    return gaps <= max_gap_factor * np.median(gaps)


def merge_intervals(intervals) -> np.ndarray:
    """Union of closed intervals, as a sorted ``(k, 2)`` array."""
    iv = np.asarray(intervals, dtype=float).reshape(-1, 2)
    if len(iv) == 0:
        return iv
    iv = iv[np.argsort(iv[:, 0])]
    out = [list(iv[0])]
    for lo, hi in iv[1:]:
        if lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return np.asarray(out, dtype=float)


def beat_intervals(waves: list[Wave], fs: float, margin_s: float = QTDB_MARGIN_S,
                   all_beats=None) -> np.ndarray:
    """Scored intervals (seconds) of sparsely annotated beats, as described in the module docstring."""
    qrs, ext, orphans = beat_extents(waves)
    iv = [(lo, hi) for lo, hi in ext] + [(lo, hi) for lo, hi in orphans]
    adjacent = consecutive_beats(qrs, all_beats)
    iv += [(ext[k, 0], ext[k + 1, 1]) for k in np.flatnonzero(adjacent)]
    iv = np.asarray(iv, dtype=float).reshape(-1, 2) / fs
    iv[:, 0] -= margin_s
    iv[:, 1] += margin_s
    return merge_intervals(iv)


def in_intervals(t, intervals) -> np.ndarray:
    """Mask of the times ``t`` that lie in one of the closed ``intervals``."""
    t = np.asarray(t, dtype=float)
    iv = np.asarray(intervals, dtype=float).reshape(-1, 2)
    mask = np.zeros(t.shape, dtype=bool)
    for lo, hi in iv:
        mask |= (t >= lo) & (t <= hi)
    return mask


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One record prepared for scoring: the signal a method sees and the reference it is scored on.

    ``signal[0]`` is at ``offset_s`` seconds of the record; reference times and intervals are in
    seconds of the record. Detections (seconds from ``signal[0]``) are shifted by ``offset_s``.
    """

    dataset: str
    record: str
    lead: str
    fs: float
    signal: np.ndarray
    reference: dict[str, np.ndarray]
    intervals: np.ndarray
    offset_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    unmarked: dict[str, np.ndarray] = field(default_factory=dict)
    others: np.ndarray | None = None  # (n, k): the record's other leads, same samples

    def leads(self) -> np.ndarray:
        """(n, 1 + k): the scored lead first, then the record's other leads."""
        return self.signal[:, None] if self.others is None else np.column_stack([self.signal, self.others])


def list_records(dataset: str, data_dir: Path | None = None) -> list[str]:
    """Record names from the dataset's ``RECORDS`` file (``data/1`` for LUDB, ``sel100`` for QTDB)."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    return (data_dir / dataset / "RECORDS").read_text().split()


def read_ludb(record: str, data_dir: Path | None = None, lead: str = "ii") -> Case:
    """LUDB record (``"data/1"`` or ``"1"``), one lead, scored between its first and last mark."""
    import wfdb

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    record = record if record.startswith("data/") else f"data/{record}"
    path = str(data_dir / "ludb" / record)
    rec = wfdb.rdrecord(path)
    ann = wfdb.rdann(path, lead)
    fs = float(rec.fs)
    waves, notes = group_waves(ann.sample, ann.symbol)
    intervals = np.array([[ann.sample.min() / fs, ann.sample.max() / fs]])
    j = [n.lower() for n in rec.sig_name].index(lead.lower())
    sig = rec.p_signal.astype(float)
    return Case("ludb", record, lead, fs, sig[:, j], reference_times(waves, fs), intervals, 0.0, notes,
                unmarked_zones(waves, fs), np.delete(sig, j, axis=1))


def read_qtdb(record: str, data_dir: Path | None = None, channel: int = 0,
              margin_s: float = QTDB_MARGIN_S, context_s: float | None = None) -> Case:
    """QTDB record, one channel, scored on its q1c-annotated beats.

    ``context_s=None`` hands the method the whole 15-min signal; a number crops it to the
    annotated stretch +- ``context_s`` seconds (much faster for slow methods).
    The record's median is subtracted (some headers carry an ADC offset of 1024 with baseline 0).
    """
    import wfdb

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    path = str(data_dir / "qtdb" / record)
    rec = wfdb.rdrecord(path)
    ann = wfdb.rdann(path, "q1c")
    fs = float(rec.fs)
    waves, notes = group_waves(ann.sample, ann.symbol)
    all_beats = None
    if Path(path + ".atr").exists():
        atr = wfdb.rdann(path, "atr")
        all_beats = np.array([s for s, y in zip(atr.sample, atr.symbol) if y in QRS_SYMBOLS])
    else:
        notes.append("no .atr: consecutive annotated beats judged by the 1.5 x median-gap rule")
    intervals = beat_intervals(waves, fs, margin_s, all_beats)
    sig = rec.p_signal.astype(float)
    offset = 0
    if context_s is not None:
        lo = max(0, int(np.floor((ann.sample.min() / fs - context_s) * fs)))
        hi = min(len(sig), int(np.ceil((ann.sample.max() / fs + context_s) * fs)) + 1)
        sig, offset = sig[lo:hi], lo
    sig = sig - np.nanmedian(sig, axis=0)
    return Case("qtdb", record, rec.sig_name[channel], fs, sig[:, channel], reference_times(waves, fs),
                intervals, offset / fs, notes, unmarked_zones(waves, fs), np.delete(sig, channel, axis=1))


def read_case(dataset: str, record: str, data_dir: Path | None = None, *, lead: str = "ii",
              channel: int = 0, margin_s: float = QTDB_MARGIN_S, context_s: float | None = None) -> Case:
    """:func:`read_ludb` (uses ``lead``) or :func:`read_qtdb` (uses ``channel``, ``margin_s``, ``context_s``)."""
    if dataset == "ludb":
        return read_ludb(record, data_dir, lead=lead)
    if dataset == "qtdb":
        return read_qtdb(record, data_dir, channel=channel, margin_s=margin_s, context_s=context_s)
    raise ValueError(f"unknown dataset {dataset!r} (expected 'ludb' or 'qtdb')")


# --------------------------------------------------------------------------------------------
# Matching and statistics
# --------------------------------------------------------------------------------------------
def match(reference, detected, tol: float = MATCH_TOLERANCE_S) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one nearest matching within ``+-tol`` (same unit as the inputs).

    Returns index arrays ``(ri, di)`` into ``reference`` and ``detected`` (NaNs never match),
    sorted by ``ri``. Candidate pairs are accepted greedily by increasing ``|detected - reference|``
    (ties: earlier reference first).
    """
    ref = np.asarray(reference, dtype=float).ravel()
    det = np.asarray(detected, dtype=float).ravel()
    d_ok = np.flatnonzero(np.isfinite(det))
    order = d_ok[np.argsort(det[d_ok], kind="stable")]
    ds = det[order]
    pairs = []
    for i, r in enumerate(ref):
        if not np.isfinite(r):
            continue
        lo, hi = np.searchsorted(ds, r - tol, "left"), np.searchsorted(ds, r + tol, "right")
        for j in range(lo, hi):
            pairs.append((abs(ds[j] - r), i, int(order[j])))
    pairs.sort()
    ref_used, det_used, ri, di = set(), set(), [], []
    for _, i, j in pairs:
        if i in ref_used or j in det_used:
            continue
        ref_used.add(i)
        det_used.add(j)
        ri.append(i)
        di.append(j)
    ri, di = np.asarray(ri, dtype=np.int64), np.asarray(di, dtype=np.int64)
    o = np.argsort(ri, kind="stable")
    return ri[o], di[o]


@dataclass
class FiducialScore:
    """Outcome for one fiducial in one record: matched pairs, misses and false positives (seconds)."""

    ref_matched: np.ndarray
    det_matched: np.ndarray
    ref_missed: np.ndarray
    det_false: np.ndarray
    n_ref: int
    n_det_in_span: int

    @property
    def errors_ms(self) -> np.ndarray:
        return (self.det_matched - self.ref_matched) * 1000.0


def score_fiducial(reference, detected, intervals, tol: float = MATCH_TOLERANCE_S,
                   exclude=None) -> FiducialScore:
    """Match ``detected`` to ``reference`` (both seconds); unmatched detections inside ``intervals``
    and outside ``exclude`` (see :func:`unmarked_zones`) are false positives, the others are ignored."""
    ref = np.asarray(reference, dtype=float)
    ref = ref[np.isfinite(ref)]
    det = np.asarray(detected, dtype=float)
    det = det[np.isfinite(det)]
    ri, di = match(ref, det, tol)
    ref_left = np.setdiff1d(np.arange(len(ref)), ri)
    det_left = np.setdiff1d(np.arange(len(det)), di)
    scored = in_intervals(det, intervals)
    if exclude is not None and len(exclude):
        scored &= ~in_intervals(det, exclude)
    false = det[det_left][scored[det_left]]
    return FiducialScore(ref[ri], det[di], ref[ref_left], np.sort(false), len(ref), int(scored.sum()))


def error_stats(errors_ms) -> dict[str, float]:
    """``n, mean, sd`` (ddof=1), ``median`` and ``rsd`` = 1.4826 x MAD of the errors (ms)."""
    e = np.asarray(errors_ms, dtype=float)
    e = e[np.isfinite(e)]
    if len(e) == 0:
        return dict(n=0, mean=np.nan, sd=np.nan, median=np.nan, rsd=np.nan)
    med = float(np.median(e))
    return dict(n=int(len(e)), mean=float(e.mean()), sd=float(e.std(ddof=1)) if len(e) > 1 else np.nan,
                median=med, rsd=float(1.4826 * np.median(np.abs(e - med))))


def summarize(fiducial: str, n_ref: int, n_tp: int, n_fp: int, errors_ms) -> dict:
    """One table row: counts, Se, PPV, error statistics and the CSE check for ``fiducial``."""
    st = error_stats(errors_ms)
    tol = CSE_TOLERANCE_MS.get(fiducial, np.nan)
    crit = abs(st["mean"]) + st["sd"]
    return dict(
        fiducial=fiducial, n_ref=int(n_ref), tp=int(n_tp), fn=int(n_ref - n_tp), fp=int(n_fp),
        se=n_tp / n_ref if n_ref else np.nan,
        ppv=n_tp / (n_tp + n_fp) if (n_tp + n_fp) else np.nan,
        mean_ms=st["mean"], sd_ms=st["sd"], median_ms=st["median"], rsd_ms=st["rsd"],
        criterion_ms=crit, cse_tol_ms=tol,
        cse_ok=(bool(st["sd"] <= tol) if np.isfinite(tol) and np.isfinite(st["sd"]) else None),
    )
