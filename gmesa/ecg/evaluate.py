"""Score detected ECG fiducials and R peaks against reference marks (cardiologists' annotations).

Times are in **seconds** unless a name says samples or ms; errors are ``detected - reference`` in ms.

Matching
--------
:func:`match` pairs each reference mark one-to-one with the nearest detection within ``+-tol``
(inclusive). Candidate pairs are accepted greedily by increasing distance; on equal distance the
earlier reference, then the earlier detection, wins. NaNs never match.
:func:`score_fiducial` adds the counting: unmatched references are misses (FN); an unmatched
detection is a false positive (FP) only inside the scored ``intervals`` and outside ``exclude``.
Sensitivity ``Se = TP / references``, positive predictive value ``PPV = TP / (TP + FP)``.

Statistics
----------
:func:`error_stats`: mean, SD (ddof=1), median, robust SD ``1.4826 x MAD`` and, given the record of
each error, the per-record SD (the mean of the records' own SDs: spread without the between-record
bias). :func:`fiducial_summary` makes one table row with Se, PPV, the CSE check ``SD <= CSE_TOLERANCE_MS``
(the CSE working party's 2-sigma tolerances) and the criterion ``|mean| + SD`` that ranks methods.

Partially annotated records
---------------------------
Where only some beats carry marks (QT Database: 30-100 beats per record), detections are scored only
inside the annotated beats: :func:`beat_intervals` builds those intervals from the annotated waves
(:class:`Wave`), joining two annotated beats that are consecutive in the recording so that the
segment between them counts too. :func:`unmarked_zones` gives, per boundary, where an annotated wave
has no mark for that boundary: detections there are neither matched nor false.

R peaks
-------
:func:`rpeaks_from_annotations` reads the reference beats (WFDB beat symbols) and
:func:`score_rpeaks` scores detected R peaks against them (sample indices, tolerance in seconds).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "FIDUCIALS", "ALL_FIDUCIALS", "CSE_TOLERANCE_MS", "MATCH_TOLERANCE_S", "BEAT_MARGIN_S",
    "WFDB_BEAT_SYMBOLS", "Wave", "reference_times", "unmarked_zones", "beat_extents",
    "consecutive_beats", "merge_intervals", "beat_intervals", "in_intervals", "match",
    "FiducialScore", "score_fiducial", "error_stats", "per_record_sd", "fiducial_summary",
    "record_bootstrap",
    "rpeaks_from_annotations", "score_rpeaks",
]

#: Fiducials scored by default, in table order.
FIDUCIALS = ("P_on", "P_peak", "P_off", "QRS_on", "QRS_off", "T_on", "T_peak", "T_off")
#: Every fiducial a reference or a method can carry (``QRS_peak`` is kept but not scored by default).
ALL_FIDUCIALS = ("P_on", "P_peak", "P_off", "QRS_on", "QRS_peak", "QRS_off", "T_on", "T_peak", "T_off")
#: CSE 2-sigma tolerances for the boundaries, in ms (the check is SD <= tolerance).
CSE_TOLERANCE_MS = {"P_on": 10.2, "P_off": 12.7, "QRS_on": 6.5, "QRS_off": 11.6, "T_off": 30.6}
#: Matching window for wave fiducials, +- seconds.
MATCH_TOLERANCE_S = 0.150
#: Margin around an annotated beat's extent in :func:`beat_intervals`, seconds.
BEAT_MARGIN_S = 0.050
#: WFDB annotation symbols that mark a beat (QRS complex).
WFDB_BEAT_SYMBOLS = ("N", "L", "R", "B", "A", "a", "J", "S", "V", "r", "F", "e", "j", "n", "E",
                     "/", "f", "Q", "?")
_WAVE_FIDUCIALS = {"P": ("P_on", "P_peak", "P_off"), "QRS": ("QRS_on", "QRS_peak", "QRS_off"),
                   "T": ("T_on", "T_peak", "T_off")}


# --------------------------------------------------------------------------------------------
# Reference waves
# --------------------------------------------------------------------------------------------
@dataclass
class Wave:
    """One annotated wave; positions in samples, ``None`` where the mark is absent.

    ``kind`` is ``"P"``, ``"QRS"``, ``"T"`` or ``"U"``; ``before``/``after`` are the marks (any
    symbol) just before the wave's first mark and just after its last one.
    """

    kind: str
    peak: int
    onset: int | None = None
    offset: int | None = None
    symbol: str = ""
    before: int | None = None
    after: int | None = None

    @property
    def first(self) -> int:
        """The onset mark, or the peak without one (samples)."""
        return self.onset if self.onset is not None else self.peak

    @property
    def last(self) -> int:
        """The offset mark, or the peak without one (samples)."""
        return self.offset if self.offset is not None else self.peak


def reference_times(waves: list[Wave], fs: float) -> dict[str, np.ndarray]:
    """Reference marks per fiducial (``P_on`` ... ``T_off``), sorted, in seconds; ``fs`` in Hz.

    U waves are dropped; a wave without an onset (offset) mark adds no ``*_on`` (``*_off``) time.
    """
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
    """Where a boundary of an annotated wave was left unmarked, per fiducial, ``(k, 2)`` in seconds.

    For a wave with a peak mark but no onset mark, the zone runs from the previous mark to its peak
    (no offset: from the peak to the next mark; ``tol_s`` seconds when there is no such mark).
    Unmatched detections there are neither matched nor false (pass the zone as ``exclude`` to
    :func:`score_fiducial`): the annotator marked the wave but not that boundary.
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
    """Group waves into beats around each QRS; ``(qrs_peaks, extents, orphan_extents)`` in samples.

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
    """Boolean array (length ``n - 1``): is annotated beat ``k + 1`` the beat right after beat ``k``?

    ``qrs_peaks`` and ``all_beats`` in the same unit (samples or seconds). With ``all_beats`` (every
    beat of the recording, e.g. from a ``.atr`` file), each annotated QRS is mapped to its nearest
    beat there and the pair is consecutive when the mapped indices differ by one (robust to marks a
    few samples apart). Otherwise the gap must be at most ``max_gap_factor`` x the median gap.
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
    """Union of closed intervals (any unit), as a sorted ``(k, 2)`` array."""
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


def beat_intervals(waves: list[Wave], fs: float, margin_s: float = BEAT_MARGIN_S,
                   all_beats=None) -> np.ndarray:
    """Scored intervals of a record whose beats are only partly annotated, ``(k, 2)`` in seconds.

    Each annotated beat (:func:`beat_extents`) is widened by ``margin_s`` seconds on both sides; two
    annotated beats that are consecutive in the recording (:func:`consecutive_beats`, with
    ``all_beats`` in samples when known) are joined so that the segment between them is scored too.
    ``fs`` in Hz.
    """
    qrs, ext, orphans = beat_extents(waves)
    iv = [(lo, hi) for lo, hi in ext] + [(lo, hi) for lo, hi in orphans]
    adjacent = consecutive_beats(qrs, all_beats)
    iv += [(ext[k, 0], ext[k + 1, 1]) for k in np.flatnonzero(adjacent)]
    iv = np.asarray(iv, dtype=float).reshape(-1, 2) / fs
    iv[:, 0] -= margin_s
    iv[:, 1] += margin_s
    return merge_intervals(iv)


def in_intervals(t, intervals) -> np.ndarray:
    """Mask of the times ``t`` that lie in one of the closed ``intervals`` (same unit)."""
    t = np.asarray(t, dtype=float)
    iv = np.asarray(intervals, dtype=float).reshape(-1, 2)
    mask = np.zeros(t.shape, dtype=bool)
    for lo, hi in iv:
        mask |= (t >= lo) & (t <= hi)
    return mask


# --------------------------------------------------------------------------------------------
# Matching and counting
# --------------------------------------------------------------------------------------------
def match(reference, detected, tol: float = MATCH_TOLERANCE_S) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one nearest matching within ``+-tol`` (inclusive; same unit as the inputs).

    Returns index arrays ``(ri, di)`` into ``reference`` and ``detected``, sorted by ``ri``.
    Candidate pairs are accepted greedily by increasing ``|detected - reference|``; ties go to the
    earlier reference, then to the earlier detection. NaNs never match.
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
    """Outcome for one fiducial in one record (all times in seconds).

    ``ref_matched``/``det_matched``: the matched pairs (TP), in reference order; ``ref_missed``:
    the unmatched references (FN); ``det_false``: the false positives (FP); ``n_ref``: references;
    ``n_det_in_span``: detections inside the scored intervals and outside the excluded zones.
    """

    ref_matched: np.ndarray
    det_matched: np.ndarray
    ref_missed: np.ndarray
    det_false: np.ndarray
    n_ref: int
    n_det_in_span: int

    @property
    def errors_ms(self) -> np.ndarray:
        """``detected - reference`` of the matched pairs, ms."""
        return (self.det_matched - self.ref_matched) * 1000.0


def score_fiducial(reference, detected, intervals, tol: float = MATCH_TOLERANCE_S,
                   exclude=None) -> FiducialScore:
    """Match ``detected`` to ``reference`` (seconds, NaN dropped) within ``+-tol`` seconds.

    Unmatched detections inside ``intervals`` and outside ``exclude`` (``(k, 2)`` seconds, see
    :func:`unmarked_zones`) are false positives; the others are ignored. A matched detection counts
    wherever it lies.
    """
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


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------
def per_record_sd(errors_ms, records) -> float:
    """Mean over records of each record's error SD (ddof=1), ms; ``records`` labels each error.

    Records with fewer than two finite errors are left out; NaN when none is left.
    """
    e = np.asarray(errors_ms, dtype=float).ravel()
    rec = np.asarray(records).ravel()
    if rec.shape != e.shape:
        raise ValueError(f"{e.size} errors but {rec.size} record labels")
    ok = np.isfinite(e)
    e, rec = e[ok], rec[ok]
    sds = [float(e[rec == r].std(ddof=1)) for r in pd.unique(rec) if np.sum(rec == r) > 1]
    return float(np.mean(sds)) if sds else float("nan")


def record_bootstrap(runs, n_boot=2000, seed=0) -> dict[str, np.ndarray]:
    """|mean| + SD of each run's errors over ``n_boot`` resamples of the records (ms).

    ``runs``: name -> ``(errors_ms, records)`` (one record label per error).  Every run is
    resampled with the same draws of the records (with replacement, from the union of
    their labels; a record's errors come or go together), so the differences between
    runs are paired: what varies is which records one happened to score, the part of a
    benchmark's figure that another set of records would change.  (Runs over different
    records draw from all of them, so each run's share of a draw varies: compare runs
    over the same records.)  Returns name -> (n_boot,) array (NaN where a draw holds
    fewer than two of that run's errors).
    """
    labels, parts = [], {}
    for name, (errors, records) in runs.items():
        e = np.asarray(errors, dtype=float).ravel()
        rec = np.asarray(records).ravel()
        if rec.shape != e.shape:
            raise ValueError(f"run {name!r}: {e.size} errors but {rec.size} record labels")
        ok = np.isfinite(e)
        parts[name] = (e[ok], rec[ok])
        labels.extend(pd.unique(rec[ok]))
    labels = pd.unique(np.asarray(labels, dtype=object))
    if not len(labels):
        return {name: np.full(n_boot, np.nan) for name in runs}
    draws = np.random.default_rng(seed).multinomial(
        len(labels), np.full(len(labels), 1.0 / len(labels)), size=n_boot).astype(float)
    index = {r: i for i, r in enumerate(labels)}
    out = {}
    for name, (e, rec) in parts.items():
        k = np.array([index[r] for r in rec], dtype=np.int64)
        sums = np.stack([np.bincount(k, minlength=len(labels)) * 1.0,
                         np.bincount(k, e, len(labels)), np.bincount(k, e * e, len(labels))])
        n, s1, s2 = draws @ sums.T[:, 0], draws @ sums.T[:, 1], draws @ sums.T[:, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / n
            var = (s2 - n * mean * mean) / (n - 1)
            out[name] = np.where(n > 1, np.abs(mean) + np.sqrt(np.maximum(var, 0.0)), np.nan)
    return out


def error_stats(errors_ms, records=None) -> dict[str, float]:
    """``n``, ``mean``, ``sd`` (ddof=1), ``median``, ``rsd`` = 1.4826 x MAD of the errors, all ms.

    With ``records`` (one label per error) also ``record_sd`` (:func:`per_record_sd`). NaN errors are
    dropped; statistics that need more errors than there are are NaN.
    """
    e = np.asarray(errors_ms, dtype=float)
    out = {}
    if records is not None:
        out["record_sd"] = per_record_sd(e, records)
    e = e[np.isfinite(e)]
    if len(e) == 0:
        return dict(n=0, mean=np.nan, sd=np.nan, median=np.nan, rsd=np.nan, **out)
    med = float(np.median(e))
    return dict(n=int(len(e)), mean=float(e.mean()), sd=float(e.std(ddof=1)) if len(e) > 1 else np.nan,
                median=med, rsd=float(1.4826 * np.median(np.abs(e - med))), **out)


def fiducial_summary(fiducial: str, n_ref: int, n_tp: int, n_fp: int, errors_ms, records=None) -> dict:
    """One table row for ``fiducial``: counts, Se, PPV, error statistics (ms) and the CSE check.

    Keys: ``fiducial, n_ref, tp, fn, fp, se, ppv, mean_ms, sd_ms, median_ms, rsd_ms, criterion_ms``
    (``|mean| + SD``), ``cse_tol_ms`` (NaN without a CSE tolerance), ``cse_ok`` (``SD <= tol``; None
    when either is unknown) and, with ``records`` (one label per error), ``record_sd_ms``.
    """
    st = error_stats(errors_ms, records)
    tol = CSE_TOLERANCE_MS.get(fiducial, np.nan)
    crit = abs(st["mean"]) + st["sd"]
    row = dict(
        fiducial=fiducial, n_ref=int(n_ref), tp=int(n_tp), fn=int(n_ref - n_tp), fp=int(n_fp),
        se=n_tp / n_ref if n_ref else np.nan,
        ppv=n_tp / (n_tp + n_fp) if (n_tp + n_fp) else np.nan,
        mean_ms=st["mean"], sd_ms=st["sd"], median_ms=st["median"], rsd_ms=st["rsd"],
        criterion_ms=crit, cse_tol_ms=tol,
        cse_ok=(bool(st["sd"] <= tol) if np.isfinite(tol) and np.isfinite(st["sd"]) else None),
    )
    if records is not None:
        row["record_sd_ms"] = st["record_sd"]
    return row


# --------------------------------------------------------------------------------------------
# R peaks
# --------------------------------------------------------------------------------------------
def rpeaks_from_annotations(annotations, beat_symbols=WFDB_BEAT_SYMBOLS) -> np.ndarray:
    """Sample indices of the beats in annotations (sorted, unique, int64).

    ``annotations`` is a DataFrame with ``sample`` and ``symbol`` columns (as in
    ``Record.annotations``), a :class:`~gmesa.ecg.io.Record`, or a
    ``wfdb.Annotation``. A beat is an annotation whose symbol is in ``beat_symbols``
    (default: the standard WFDB beat symbols).
    """
    if annotations is None:
        raise ValueError("no annotations (None): the record has no annotation file")
    if hasattr(annotations, "annotations") and hasattr(annotations, "signal"):
        if annotations.annotations is None:
            raise ValueError(f"record {getattr(annotations, 'name', '')!r} has no annotations")
        annotations = annotations.annotations
    if isinstance(annotations, pd.DataFrame):
        if not {"sample", "symbol"} <= set(annotations.columns):
            raise ValueError("annotations need columns 'sample' and 'symbol'")
        sample = annotations["sample"].to_numpy()
        symbol = annotations["symbol"].astype(str).to_numpy()
    elif hasattr(annotations, "sample") and hasattr(annotations, "symbol"):
        sample = np.asarray(annotations.sample)
        symbol = np.asarray(annotations.symbol, dtype=str)
    else:
        raise TypeError(f"cannot read beats from {type(annotations).__name__}")
    if isinstance(beat_symbols, str):
        beat_symbols = tuple(beat_symbols)
    is_beat = np.isin(symbol, np.asarray(list(beat_symbols), dtype=str))
    return np.unique(np.asarray(sample, dtype=np.int64)[is_beat])


def score_rpeaks(detected, reference, fs: float, tolerance_s: float = 0.05,
                 start: int | None = None, stop: int | None = None) -> dict:
    """Match detected R peaks to reference beats one-to-one within ``tolerance_s`` seconds.

    ``detected``, ``reference``, ``start`` and ``stop`` are sample indices, ``fs`` in Hz. Only
    reference beats in ``[start, stop]`` count; detections count within the same range widened by
    the tolerance. One sweep over both sorted lists: a detection within the tolerance is taken
    unless the next detection is closer. Returns a dict with ``tp``, ``fp``, ``fn``, ``se``
    (sensitivity), ``ppv`` (positive predictive value), ``f1`` and ``error_ms`` (median detected -
    reference, ms).
    """
    det = np.sort(np.asarray(detected, dtype=np.int64))
    ref = np.sort(np.asarray(reference, dtype=np.int64))
    tol = int(round(tolerance_s * fs))
    if start is not None:
        ref = ref[ref >= start]
        det = det[det >= start - tol]
    if stop is not None:
        ref = ref[ref <= stop]
        det = det[det <= stop + tol]
    i = j = tp = 0
    errors = []
    while i < ref.size and j < det.size:
        dt = det[j] - ref[i]
        if abs(dt) <= tol:
            # prefer the closer of this detection and the next one
            if j + 1 < det.size and abs(det[j + 1] - ref[i]) < abs(dt):
                j += 1
                continue
            tp += 1
            errors.append(dt)
            i += 1
            j += 1
        elif dt < 0:
            j += 1
        else:
            i += 1
    fn = ref.size - tp
    fp = det.size - tp
    se = tp / ref.size if ref.size else float("nan")
    ppv = tp / det.size if det.size else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else float("nan")
    err = float(np.median(errors)) * 1000.0 / fs if errors else float("nan")
    return {"tp": tp, "fp": fp, "fn": fn, "se": se, "ppv": ppv, "f1": f1, "error_ms": err}
