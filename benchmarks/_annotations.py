"""Reference wave marks of LUDB and QTDB, read for ``delineation.py`` (scoring: :mod:`gmesa.ecg.evaluate`).

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
  neighbouring mark and the wave's peak are ignored rather than counted false
  (:func:`gmesa.ecg.evaluate.unmarked_zones`).
  A wave that is not annotated at all inside the scored intervals is taken as absent (no P marks in
  atrial fibrillation), so detections of it are false positives.

Scoring
-------
Matching, counting, statistics and the scored intervals are :mod:`gmesa.ecg.evaluate`; this module
only reads the marks into :class:`~gmesa.ecg.evaluate.Wave` objects and the scored intervals of a
record (a :class:`Case`).
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from gmesa.ecg.evaluate import (
    BEAT_MARGIN_S, WFDB_BEAT_SYMBOLS, Wave, beat_intervals, reference_times, unmarked_zones,
)

#: Margin around an annotated QTDB beat's extent, seconds.
QTDB_MARGIN_S = BEAT_MARGIN_S
#: WFDB beat labels (they mark the QRS in q1c and LUDB).
QRS_SYMBOLS = frozenset(WFDB_BEAT_SYMBOLS)
_PEAK_KIND = {"p": "P", "t": "T", "u": "U"}


def default_data_dir() -> Path:
    """``$GMESA_DATA`` when set, else ``../shared/data`` next to the repository."""
    env = os.environ.get("GMESA_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


# --------------------------------------------------------------------------------------------
# Grouping marks into waves
# --------------------------------------------------------------------------------------------
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


def global_waves(waves_by_lead: dict[str, list[Wave]], scored: str) -> list[Wave]:
    """The scored lead's waves with **global** boundaries: each wave's onset is the earliest
    onset and its offset the latest offset over the same wave in every lead (the wave of the
    same kind whose marks overlap it, the nearest peak when several do); its peak stays the
    scored lead's. A wave that only other leads mark is not added (the peak is the scored
    lead's)."""
    if scored not in waves_by_lead:
        raise ValueError(f"scored lead {scored!r} not among the annotated leads {list(waves_by_lead)}")
    out = []
    for w in waves_by_lead[scored]:
        ons = [w.onset] if w.onset is not None else []
        offs = [w.offset] if w.offset is not None else []
        for lead, waves in waves_by_lead.items():
            if lead == scored:
                continue
            same = [o for o in waves if o.kind == w.kind and o.first <= w.last and o.last >= w.first]
            if same:
                o = min(same, key=lambda o: abs(o.peak - w.peak))
                ons += [o.onset] if o.onset is not None else []
                offs += [o.offset] if o.offset is not None else []
        g = Wave(w.kind, w.peak, min(ons) if ons else None, max(offs) if offs else None, w.symbol,
                 w.before, w.after)
        if g.before is not None and g.onset is not None:
            g.before = min(g.before, g.onset)
        if g.after is not None and g.offset is not None:
            g.after = max(g.after, g.offset)
        out.append(g)
    return out


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


def split_records(names, split):
    """LUDB record names (``data/N``) of one half by number parity: ``"odd"`` (the
    calibration half), ``"even"`` (the choosing half) or ``"all"``."""
    if split == "all":
        return list(names)
    return [r for r in names if int(r.split("/")[-1]) % 2 == (split == "odd")]


#: reference marks of LUDB: the scored lead's own, or global over its 12 leads
LUDB_MARKS = ("lead", "global")


def read_ludb(record: str, data_dir: Path | None = None, lead: str = "ii", marks: str = "lead",
              with_leads: tuple[str, ...] | None = None) -> Case:
    """LUDB record (``"data/1"`` or ``"1"``), one lead, scored between its first and last mark.

    ``marks="global"``: each wave of the scored lead takes the earliest onset and latest offset
    over the leads' marks (:func:`global_waves`), scored between the first and last of those.
    ``with_leads``: the other leads handed to the method and spanned by global marks (names, e.g.
    ``("v5",)``; None: all 12)."""
    import wfdb

    if marks not in LUDB_MARKS:
        raise ValueError(f"marks must be one of {LUDB_MARKS}, got {marks!r}")
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    record = record if record.startswith("data/") else f"data/{record}"
    path = str(data_dir / "ludb" / record)
    rec = wfdb.rdrecord(path)
    ann = wfdb.rdann(path, lead)
    fs = float(rec.fs)
    waves, notes = group_waves(ann.sample, ann.symbol)
    intervals = np.array([[ann.sample.min() / fs, ann.sample.max() / fs]])
    names = [n.lower() for n in rec.sig_name]
    others = [n for n in names if n != lead.lower()]
    if with_leads is not None:
        unknown = [n for n in with_leads if n.lower() not in names]
        if unknown:
            raise ValueError(f"leads {unknown} not in LUDB record {record} (it has {names})")
        wanted = {w.lower() for w in with_leads}
        others = [n for n in others if n in wanted]
    if marks == "global":
        by_lead = {lead: waves}
        for other in others:
            a = wfdb.rdann(path, other)
            by_lead[other] = group_waves(a.sample, a.symbol)[0]
        waves = global_waves(by_lead, lead)
        first = min(w.first for w in waves) if waves else ann.sample.min()
        last = max(w.last for w in waves) if waves else ann.sample.max()
        intervals = np.array([[min(first, ann.sample.min()) / fs, max(last, ann.sample.max()) / fs]])
    sig = rec.p_signal.astype(float)
    return Case("ludb", record, lead, fs, sig[:, names.index(lead.lower())], reference_times(waves, fs),
                intervals, 0.0, notes, unmarked_zones(waves, fs),
                sig[:, [names.index(n) for n in others]] if others else None)


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


def acquired(case: Case, resample_hz: float | None = None, noise_mv: float = 0.0, seed: int = 0) -> Case:
    """``case`` as another acquisition would hand it to a method: every lead resampled to
    ``resample_hz`` (``scipy.signal.resample_poly``, whose anti-alias filter a recorder's
    converter also has) and white noise of SD ``noise_mv`` (mV) added to every lead.  The
    noise is drawn from ``seed`` and the record's name, so a record gets the same noise in
    every run and worker.  The marks and scored intervals are in seconds: unchanged."""
    if resample_hz is None and not noise_mv:
        return case
    from scipy.signal import resample_poly

    leads, fs = case.leads().astype(float), float(case.fs)
    if resample_hz is not None:
        if not resample_hz > 0:
            raise ValueError(f"resample_hz={resample_hz!r}; give a sampling rate > 0 Hz")
        ratio = Fraction(float(resample_hz) / fs).limit_denominator(1000)
        leads = resample_poly(leads, ratio.numerator, ratio.denominator, axis=0)
        fs = fs * ratio.numerator / ratio.denominator
    if noise_mv:
        if not noise_mv > 0:
            raise ValueError(f"noise_mv={noise_mv!r}; give a noise SD > 0 mV (or 0 for none)")
        key = zlib.crc32(f"{case.dataset}/{case.record}".encode())
        leads = leads + noise_mv * np.random.default_rng([int(seed), key]).standard_normal(leads.shape)
    return replace(case, fs=fs, signal=leads[:, 0],
                   others=None if case.others is None else leads[:, 1:])


def read_case(dataset: str, record: str, data_dir: Path | None = None, *, lead: str = "ii",
              channel: int = 0, margin_s: float = QTDB_MARGIN_S, context_s: float | None = None,
              marks: str = "lead", with_leads: tuple[str, ...] | None = None) -> Case:
    """:func:`read_ludb` (uses ``lead``, ``marks``, ``with_leads``) or :func:`read_qtdb` (uses ``channel``, ``margin_s``,
    ``context_s``)."""
    if dataset == "ludb":
        return read_ludb(record, data_dir, lead=lead, marks=marks, with_leads=with_leads)
    if dataset == "qtdb":
        return read_qtdb(record, data_dir, channel=channel, margin_s=margin_s, context_s=context_s)
    raise ValueError(f"unknown dataset {dataset!r} (expected 'ludb' or 'qtdb')")
