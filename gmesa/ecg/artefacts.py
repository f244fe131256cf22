"""Glitches, clipping and pacemaker spikes: samples that are not the waveform, found before
anything is fitted.

Two kinds are boolean masks over the samples of one lead:

* **glitch**: an isolated absurd sample (a transmission error, a lead-off spike, ``1e30``
  from a broken converter): further from the local median (1-s blocks) than ``spread``
  times the 99.5th percentile of that distance over the whole lead, or outside the
  converter's physical range when the file gives it (``limits``).
* **clipped**: the converter saturated.  A run of at least ``min_flat_s`` seconds (and 4
  samples) exactly at the lead's highest or lowest value, or that value reached in
  ``RAIL_RUNS`` separate flat runs (a flat top at the rail is not a mesa plateau; a
  peak reaches its own maximum once), or any sample at or beyond the converter's limits
  when the file gives them.

:func:`mask_artefacts` turns both into NaN, so that cleaning bridges them, R-peak
detection skips them, and the beats whose window holds one are reported with status
``"artefact"`` and a reason instead of being fitted to the artefact.

The third, **pacemaker spikes** (:mod:`gmesa.ecg.pacing`), are kept as the spikes' centres:
the fit bridges each by a line before cleaning (a spike at the rail is a spike, not
clipping), and the beats are fitted as usual.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._nanstats import nanmedian
from .pacing import find_spikes, spike_samples

#: a glitch is further from the local median than SPREAD x the 99.5th percentile distance
SPREAD = 12.0
#: a flat run at the lead's extreme must last this long (seconds) to count as clipping
MIN_FLAT_S = 0.012
#: ... or the extreme is hit in this many separate flat runs (2 samples or more)
RAIL_RUNS = 3
_BLOCK_S = 1.0
#: the glitch scale is taken over at most this many samples (evenly spaced)
SCALE_SAMPLES = 2_000_000
CHUNK = 1_000_000


@dataclass(frozen=True)
class Artefacts:
    """Where a lead holds glitches and clipped samples (boolean masks, one per sample) and
    pacemaker spikes (``spikes``: their centres, samples)."""

    glitch: np.ndarray
    clipped: np.ndarray
    fs: float
    spikes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def mask(self) -> np.ndarray:
        """Every sample to leave out."""
        return self.glitch | self.clipped

    @property
    def any(self) -> bool:
        """Anything to mask or to bridge."""
        return self.masked or bool(self.spikes.size)

    @property
    def spike_s(self) -> np.ndarray:
        """The pacemaker spikes' centres in s from the first sample."""
        return self.spikes / self.fs

    @property
    def masked(self) -> bool:
        """Any sample to leave out (glitch or clipped)."""
        return bool(self.glitch.any() or self.clipped.any())

    def summary(self) -> dict:
        """Counts for a record's ``info``: glitch samples, clipped samples, clipped seconds,
        pacemaker spikes."""
        return {"glitch_samples": int(self.glitch.sum()),
                "clipped_samples": int(self.clipped.sum()),
                "clipped_s": float(self.clipped.sum() / self.fs),
                "pacing_spikes": int(self.spikes.size)}

    def part(self, lo: int, hi: int) -> "Artefacts":
        """The artefacts of samples [lo, hi)."""
        inside = self.spikes[(self.spikes >= lo) & (self.spikes < hi)] - lo
        return Artefacts(self.glitch[lo:hi], self.clipped[lo:hi], self.fs, inside)

    def in_windows(self, start, end):
        """(hit, reason) for windows [start, end) in samples: ``hit`` marks windows holding an
        artefact sample and ``reason`` says which and how many (empty string elsewhere)."""
        start = np.clip(np.asarray(start, dtype=np.int64), 0, self.glitch.size)
        end = np.clip(np.asarray(end, dtype=np.int64), 0, self.glitch.size)
        counts = []
        for m in (self.glitch, self.clipped):
            c = np.concatenate([[0], np.cumsum(m, dtype=np.int64)])
            counts.append(np.maximum(c[end] - c[np.minimum(start, end)], 0))
        g, c = counts
        reason = np.array([""] * start.size, dtype=object)
        for i in np.flatnonzero((g > 0) | (c > 0)):
            parts = []
            if g[i]:
                parts.append(f"{g[i]} glitch sample{'s' if g[i] > 1 else ''}")
            if c[i]:
                parts.append(f"clipped for {1e3 * c[i] / self.fs:.0f} ms")
            reason[i] = "artefact in the beat window: " + ", ".join(parts) + " (masked)"
        return (g > 0) | (c > 0), reason


def _block_medians(x: np.ndarray, block: int, skip: np.ndarray) -> np.ndarray:
    """Median of each ``block``-sample block of ``x`` (samples where ``skip`` or NaN left
    out; an empty block takes the lead's overall median), computed a few thousand blocks
    at a time so a 24-hour lead needs little memory beyond itself."""
    import warnings

    n = x.size
    nblocks = -(-n // block)
    med = np.empty(nblocks)
    step = max(1, 2_000_000 // block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for b0 in range(0, nblocks, step):
            b1 = min(b0 + step, nblocks)
            seg = np.full((b1 - b0) * block, np.nan)
            a, e = b0 * block, min(b1 * block, n)
            seg[:e - a] = np.where(skip[a:e], np.nan, x[a:e])
            med[b0:b1] = nanmedian(seg.reshape(b1 - b0, block), axis=1)
        if not np.isfinite(med).all():
            fill = np.nanmedian(med) if np.isfinite(med).any() else 0.0
            med = np.where(np.isfinite(med), med, fill)
    return med


def _distance(x, med, block, a, e):
    """|x - its block's median| for samples [a, e)."""
    return np.abs(x[a:e] - med[np.arange(a, e) // block])


def _runs(mask: np.ndarray):
    """(starts, ends) of the True runs of a boolean array."""
    edge = np.zeros(1, dtype=np.int8)
    d = np.diff(np.concatenate([edge, mask.view(np.int8), edge]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _chunks(n: int):
    for a in range(0, n, CHUNK):
        yield a, min(a + CHUNK, n)


def _flat_at_extremes(x: np.ndarray, skip: np.ndarray, min_run: int) -> np.ndarray:
    """Runs exactly at the lead's highest or lowest value (``skip`` and NaN samples left
    out) that look like a rail: one run of ``min_run`` samples or more, or the value hit
    in :data:`RAIL_RUNS` separate runs of two samples or more (a peak reaches its own
    maximum once).  Works on the few samples at the extremes, not on lead-size masks."""
    out = np.zeros(x.size, dtype=bool)
    lo, hi = np.inf, -np.inf
    for a, e in _chunks(x.size):
        use = np.isfinite(x[a:e]) & ~skip[a:e]
        lo = min(lo, np.min(x[a:e], where=use, initial=np.inf))
        hi = max(hi, np.max(x[a:e], where=use, initial=-np.inf))
    if not lo < hi:     # a constant lead is flat, not clipped: the fit reports it as "flat"
        return out
    for level in (lo, hi):
        at = np.flatnonzero(x == level)
        at = at[~skip[at]]
        if at.size == 0:
            continue
        cut = np.flatnonzero(np.diff(at) != 1) + 1
        starts, ends = at[np.r_[0, cut]], at[np.r_[cut - 1, at.size - 1]] + 1
        length = ends - starts
        rail = length >= min_run
        if np.count_nonzero(length >= 2) >= RAIL_RUNS:
            rail |= length >= 2
        for a, b in zip(starts[rail], ends[rail]):
            out[a:b] = True
    return out


def find_artefacts(signal, fs: float, limits=None, *, spread: float = SPREAD,
                   min_flat_s: float = MIN_FLAT_S, pacing: bool = True) -> Artefacts:
    """Glitches, clipped samples and pacemaker spikes of one lead.

    Parameters
    ----------
    signal : array (n,)
        One lead in its unit (mV); NaN (missing) samples are neither.
    fs : float
        Sampling rate, Hz.
    limits : (low, high), optional
        The converter's physical range (from a WFDB header: the digital range through gain
        and baseline); samples at or beyond it are clipped, beyond it by more than the
        range itself are glitches.
    spread : float
        Glitch threshold in units of the 99.5th percentile distance from the local median.
    min_flat_s : float
        Shortest flat run at the lead's extreme that counts as clipping, seconds.
    pacing : bool
        Also find pacemaker spikes (:func:`~gmesa.ecg.pacing.find_spikes`; at 450 Hz and
        above); their samples are not clipping.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"find_artefacts takes one lead (n,), got shape {x.shape}")
    fs = float(fs)
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs={fs!r} Hz must be a positive sampling rate")
    glitch = np.zeros(x.size, dtype=bool)
    clipped = np.zeros(x.size, dtype=bool)
    if sum(int(np.count_nonzero(np.isfinite(x[a:e]))) for a, e in _chunks(x.size)) < 3:
        return Artefacts(glitch, clipped, fs)
    if limits is not None:
        low, high = float(limits[0]), float(limits[1])
        span = high - low
        for a, e in _chunks(x.size):
            xc = x[a:e]
            glitch[a:e] = (xc > high + span) | (xc < low - span)
            clipped[a:e] = ~glitch[a:e] & ((xc >= high) | (xc <= low))
    block = max(int(_BLOCK_S * fs), 1)
    med = _block_medians(x, block, glitch)
    # the scale: the 99.5th percentile distance, over every usable sample of a lead of up
    # to SCALE_SAMPLES samples, else over the usable ones of that many evenly spaced
    if x.size > SCALE_SAMPLES:
        idx = np.linspace(0, x.size - 1, SCALE_SAMPLES).astype(np.int64)
    else:
        idx = np.arange(x.size)
    idx = idx[np.isfinite(x[idx]) & ~glitch[idx]]
    scale = np.percentile(np.abs(x[idx] - med[idx // block]), 99.5) if idx.size else 0.0
    if scale > 0:
        for a, e in _chunks(x.size):
            far = _distance(x, med, block, a, e) > spread * scale   # NaN: False
            glitch[a:e] |= far & ~glitch[a:e]
    clipped |= _flat_at_extremes(x, glitch, max(4, int(round(min_flat_s * fs))))
    spikes = np.zeros(0, dtype=np.int64)
    if pacing:
        spikes = find_spikes(x, fs, glitch)[0]  # a spike may reach the rail
        clipped[spike_samples(spikes, fs, x.size)] = False  # ... and is bridged, not masked
    return Artefacts(glitch, clipped & ~glitch, fs, spikes)


def mask_artefacts(signal, fs: float, limits=None, **kw):
    """(a copy of ``signal`` with glitches and clipped samples set to NaN,
    :class:`Artefacts`)."""
    art = find_artefacts(signal, fs, limits, **kw)
    x = np.array(signal, dtype=np.float64, copy=True)
    if art.any:
        x[art.mask] = np.nan
    return x, art
