"""How far an imperceptible change of a record moves its fit.

A record's fit makes choices that can sit on a knife edge: which deflection the
template takes for its P wave, whether a beat's T ends at one local optimum of the fit
or another.  :func:`stability` fits the record again with white noise far below any
recorder's resolution added (0.0001 mV by default), a few times, and compares each fit
with the one without noise, beat by beat: how far each boundary moved and in how many
beats a wave appeared or vanished.  A boundary that moves by tens of ms in many beats,
or a model choice that changes, was decided by which of two nearly equal fits the
optimizer reached, not by the record: read it as uncertain, whatever its reported SD.
(On the benchmark records, one to three records per database move this way:
docs/results.md, session 32, ``benchmarks/knife_edge.py``.)

Times in seconds (boundaries) and milliseconds (shifts); noise in mV.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .io.units import is_voltage, to_millivolts

#: the boundaries compared (the beats table's ``{name}_s`` columns)
BOUNDARIES = ("P_on", "P_peak", "P_off", "QRS_on", "QRS_peak", "QRS_off", "T_on", "T_peak",
              "T_off")

#: white noise (mV) added by default: 0.1 uV, below any ECG recorder's resolution
NOISE_MV = 0.0001

#: a boundary "moved" in a beat when it shifted by more than this (ms)
MOVED_MS = 10.0

#: a record is stable when no boundary moved or flipped in more than this share of beats
#: and every fit made the same model choice
STABLE_SHARE = 0.05

#: two fits' beats are the same beat when their R peaks lie this close (s)
SAME_BEAT_S = 0.05


@dataclass
class Stability:
    """What :func:`stability` measured.  ``table``: one row per boundary (index), with
    ``beats`` (beats fitted ok without noise, times the repeats, matched in the other
    fit), ``compared`` (of those, with the boundary in both fits), the median and 95th
    percentile of the absolute shift (ms), ``moved`` (share of the compared beats
    shifted by more than ``moved_ms``) and ``flipped`` (share of the matched beats with
    the boundary in one fit and not in the other: a wave found or lost).  ``fit``: the
    fit without noise; ``choices``: the model choice of every fit, that one first;
    ``noise_mv``, ``repeats``, ``moved_ms``: the settings."""
    table: pd.DataFrame
    fit: object
    choices: list
    noise_mv: float
    repeats: int
    moved_ms: float

    @property
    def stable(self) -> bool:
        """No boundary moved or flipped in more than :data:`STABLE_SHARE` of the beats,
        and every fit made the same model choice."""
        worst = self.table[["moved", "flipped"]].to_numpy(dtype=float)
        return bool(np.all(np.nan_to_num(worst) <= STABLE_SHARE)
                    and len(set(self.choices)) <= 1)

    def summary(self) -> str:
        """A few lines in words: the verdict, then the boundaries that moved."""
        head = (f"{'stable' if self.stable else 'NOT stable'} under {self.noise_mv:g} mV of "
                f"white noise ({self.repeats} fits compared with the one without noise)")
        lines = [head]
        if len(set(self.choices)) > 1:
            lines.append("  model choice: " + " / ".join(dict.fromkeys(self.choices)))
        for name, row in self.table.iterrows():
            moved = row["moved"] > STABLE_SHARE
            if not (moved or row["flipped"] > STABLE_SHARE):
                continue
            parts = [f"moved > {self.moved_ms:g} ms in {100 * row['moved']:.0f}% of beats "
                     f"(median shift {row['median_shift_ms']:.1f} ms)"] if moved else []
            if row["flipped"] > 0:
                parts.append(f"found in one fit and not the other in "
                             f"{100 * row['flipped']:.0f}% of beats")
            lines.append(f"  {name}: " + ", ".join(parts))
        return "\n".join(lines)


def perturbed(record, noise_mv=NOISE_MV, seed=0):
    """A copy of ``record`` (:class:`~gmesa.ecg.io.Record`) with white noise of SD
    ``noise_mv`` (mV) added to every voltage lead, in the lead's own unit (other leads,
    and missing samples, unchanged); lead ``i``'s noise is drawn from ``(seed, i)``."""
    noise_mv = float(noise_mv)
    if not np.isfinite(noise_mv) or noise_mv <= 0:
        raise ValueError(f"noise_mv={noise_mv!r}: give a noise SD > 0 mV")
    sig = np.array(record.signal, dtype=np.float64, copy=True)
    cols = sig if sig.ndim == 2 else sig[:, None]
    units = record.units if isinstance(record.units, tuple) else (record.units,) * cols.shape[1]
    mv_per_unit = to_millivolts(np.ones((1, len(units))), units)[0][0]
    for i, unit in enumerate(units):
        if is_voltage(unit):  # each lead its own draw: the others do not change it
            draw = np.random.default_rng([int(seed), i]).standard_normal(cols.shape[0])
            cols[:, i] += noise_mv / mv_per_unit[i] * draw
    return replace(record, signal=sig)


def _matched(base, other):
    """Index into ``other`` of each beat of ``base`` (beats tables), -1 without one
    within :data:`SAME_BEAT_S`."""
    r0 = base["r_peak_s"].to_numpy(dtype=float)
    r1 = other["r_peak_s"].to_numpy(dtype=float)
    if r1.size == 0:
        return np.full(r0.size, -1)
    order = np.argsort(r1)
    r1 = r1[order]
    j = np.searchsorted(r1, r0)
    left, right = np.clip(j - 1, 0, r1.size - 1), np.clip(j, 0, r1.size - 1)
    j = np.where(np.abs(r1[left] - r0) <= np.abs(r1[right] - r0), left, right)
    return np.where(np.abs(r1[j] - r0) <= SAME_BEAT_S, order[j], -1)


def _differences(b0, b1, names):
    """{boundary: (shifts ms where both tables have it, flips bool per matched beat)}
    of the beats ``b0`` against the beats ``b1`` of another fit, beat by beat."""
    j = _matched(b0, b1)
    hit = j >= 0
    out = {}
    for b in names:
        x0 = b0[f"{b}_s"].to_numpy(dtype=float)[hit]
        x1 = (b1[f"{b}_s"].to_numpy(dtype=float)[j[hit]] if f"{b}_s" in b1
              else np.full(x0.size, np.nan))
        both = np.isfinite(x0) & np.isfinite(x1)
        out[b] = (1000.0 * (x1[both] - x0[both]), np.isfinite(x0) != np.isfinite(x1))
    return out


def _choice(fit):
    """The model a fit chose, in words (the hypothesis, a U wave, a T lobe)."""
    mc = fit.info.get("model_choice") or {}
    return str(mc.get("chosen", "")) + (" + U" if "U" in fit.waves else "") + (
        " + T lobe" if "T2" in fit.waves else "")


def stability(record, lead=None, *, repeats=3, noise_mv=NOISE_MV, seed=0,
              moved_ms=MOVED_MS, base=None, **options):
    """Fit one lead of ``record`` (as :func:`~gmesa.ecg.fit_record` does, with
    ``lead`` and ``options``) without noise and ``repeats`` times with white noise of
    SD ``noise_mv`` (mV; seeds ``seed``, ``seed + 1``, ...) added, and compare each
    noisy fit with the first, beat by beat (R peaks within :data:`SAME_BEAT_S`), on
    the beats fitted ok in the first.  ``base``: the fit without noise when it is at
    hand (a :class:`~gmesa.ecg.RecordFit` of the same lead and options).  Returns
    :class:`Stability`.  Costs ``repeats`` fits of the record, one more without
    ``base``."""
    from .fit import fit_record
    repeats = int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r}: give at least 1 fit with noise")
    moved_ms = float(moved_ms)
    if not moved_ms > 0:
        raise ValueError(f"moved_ms={moved_ms!r}: give a shift > 0 ms")
    base = fit_record(record, lead, **options) if base is None else base
    b0 = base.beats[base.beats["status"] == "ok"]
    names = [b for b in BOUNDARIES if f"{b}_s" in b0]
    shifts = {b: [] for b in names}
    flips = {b: [] for b in names}
    choices = [_choice(base)]
    for k in range(repeats):
        fit = fit_record(perturbed(record, noise_mv, seed + k), lead, **options)
        choices.append(_choice(fit))
        for b, (shift, flip) in _differences(b0, fit.beats, names).items():
            shifts[b].append(shift)
            flips[b].append(flip)
    rows = []
    for b in names:
        s = np.abs(np.concatenate(shifts[b]))
        f = np.concatenate(flips[b])
        rows.append({"boundary": b, "beats": int(f.size), "compared": int(s.size),
                     "median_shift_ms": float(np.median(s)) if s.size else np.nan,
                     "p95_shift_ms": float(np.percentile(s, 95)) if s.size else np.nan,
                     "moved": float(np.mean(s > moved_ms)) if s.size else np.nan,
                     "flipped": float(np.mean(f)) if f.size else np.nan})
    table = pd.DataFrame(rows).set_index("boundary")
    return Stability(table, base, choices, float(noise_mv), repeats, moved_ms)
