"""A record strip: the cleaned signal with the fitted model and the beats marked
(:func:`record`), optionally on ECG paper; and a record at a glance, the strip above a
typical beat (:func:`overview`, what ``gmesa plot`` draws).  Time in seconds."""
from __future__ import annotations

import numpy as np

from ..ecg.result import ok_mask
from .single_beat import beat, typical_beat
from .style import FIT_COLOR, FLAG_COLOR, beat_position, new_figure, record_name, unit


def record(fit, start=None, duration=10, ax=None, grid=False):
    """A strip of the cleaned signal with the fitted model overlaid and the beats marked.

    Parameters
    ----------
    start : strip start, seconds from the record start (default 0).
    duration : strip length, s.
    ax : None (a new wide figure) or an Axes.
    grid : draw ECG paper: 1 mm squares of 40 ms x 0.1 mV, 5 mm squares of
        0.2 s x 0.5 mV, at 25 mm/s and 10 mm/mV (the Axes aspect is set so the
        squares are square; assumes the signal is in mV).

    Beats with status ``ok`` are marked with a triangle above their R peak and their
    number (the ``beat`` column, for ``gmesa plot --beat N``); flagged beats (unlike the
    template) and beats not fitted ``ok`` get a red cross and a light red band over
    their window.  Time in s.  Returns the Axes.
    """
    fs, sig = float(fit.fs), np.asarray(fit.signal, dtype=float)
    n = sig.size
    total = n / fs
    start = 0.0 if start is None else float(start)
    if not 0 <= start < total:
        raise ValueError(f"start={start} s is outside the record (0 to {total:.1f} s)")
    a = int(round(start * fs))
    b = min(n, a + max(int(round(float(duration) * fs)), 2))
    t0, t1 = a / fs, b / fs
    y = sig[a:b]
    fin = y[np.isfinite(y)]
    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (-1.0, 1.0)
    span = max(hi - lo, 1e-6)
    if ax is None:
        ax = new_figure(figsize=_strip_size(t0, t1, lo, hi, span, grid),
                        layout="constrained").subplots()
    ax.plot(np.arange(a, b) / fs, y, color="0.55", lw=2.0, alpha=0.9, label="signal (cleaned)",
            gid="signal", zorder=2, solid_capstyle="round")
    _overlay_fit(ax, fit, t0, t1)
    ymark = hi + 0.10 * span
    n_in, n_bad = _mark_beats(ax, fit.beats, t0, t1, ymark)
    top, bottom = ymark + 0.14 * span, lo - 0.06 * span
    ax.set_xlim(t0, t1)
    if grid:
        bottom, top = _paper_grid(ax, t0, t1, bottom, top)
    else:
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("time (s)", loc="left")
    ax.set_ylabel(f"amplitude ({unit(fit)})")
    title = (f"{record_name(fit)} — {t1 - t0:.0f} s from {t0:.1f} s: {n_in} beats"
             + (f", {n_bad} flagged or not ok" if n_bad else ""))
    if grid:
        title += "   (25 mm/s, 10 mm/mV)"
    ax.set_title(title, fontsize=10, loc="left")
    # the legend sits below the tick labels, on the row of the (left-aligned) x label
    from matplotlib.transforms import ScaledTranslation
    below = ax.transAxes + ScaledTranslation(0, -0.24, ax.figure.dpi_scale_trans)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.0), bbox_transform=below, fontsize=8,
              ncol=4, frameon=False, borderaxespad=0.0, handlelength=1.8)
    return ax


def _strip_size(t0, t1, lo, hi, span, grid):
    """Figure size (inches) of a strip from ``t0`` to ``t1`` s spanning ``lo``..``hi``."""
    width = float(np.clip(0.9 * (t1 - t0) + 1.3, 6.0, 18.0))
    if grid:   # at 25 mm/s and 10 mm/mV the axes is 0.4 * (mV range) / (s range) as high as wide
        yr = (np.ceil((hi + 0.24 * span) / 0.5) - np.floor((lo - 0.06 * span) / 0.5)) * 0.5
        height = 1.05 + 0.4 * yr / max(t1 - t0, 1e-3) * (width - 1.0)
    else:
        height = 3.2
    return width, float(np.clip(height, 1.8, 8.0))


def _overlay_fit(ax, fit, t0, t1):
    """The fitted model of every beat whose window overlaps ``t0``..``t1``, one line."""
    beats = fit.beats
    if not len(beats):
        return
    r = beats["r_peak_s"].to_numpy(dtype=float)
    ws = beats["window_start_s"].to_numpy(dtype=float)
    we = beats["window_end_s"].to_numpy(dtype=float)
    xs, ys = [], []
    for j in np.flatnonzero((we > t0) & (ws < t1)):
        bf = fit.beat(int(j))
        if bf.fit.size == 0 or not np.all(np.isfinite(bf.fit)):
            continue
        tt = bf.t + r[j]
        m = (tt >= t0) & (tt <= t1)
        xs += [tt[m], [np.nan]]
        ys += [bf.fit[m], [np.nan]]
    if xs:
        ax.plot(np.concatenate(xs), np.concatenate(ys), color=FIT_COLOR, lw=0.8,
                label="fitted model", gid="fit", zorder=3)


def _mark_beats(ax, beats, t0, t1, ymark):
    """Triangles over ok beats, red crosses and bands over the others, beat numbers
    when at most 40 beats show; return (beats shown, beats flagged or not ok)."""
    col = (lambda c: beats[c].to_numpy(dtype=float) if len(beats) else np.zeros(0))
    r, ws, we = col("r_peak_s"), col("window_start_s"), col("window_end_s")
    inside = np.flatnonzero((r >= t0) & (r < t1))
    good = ok_mask(beats.iloc[inside]) if inside.size else np.zeros(0, bool)
    ok_i, bad_i = inside[good], inside[~good]
    ax.plot(r[ok_i], np.full(ok_i.size, ymark), ls="none", marker="v", ms=5,
            color="0.2", label="beat (ok)", gid="beats-ok", zorder=5)
    if bad_i.size:
        ax.plot(r[bad_i], np.full(bad_i.size, ymark), ls="none", marker="X", ms=7,
                color=FLAG_COLOR, label="flagged or not ok", gid="beats-flagged", zorder=5)
        for j in bad_i:
            ax.axvspan(max(ws[j], t0), min(we[j], t1), color=FLAG_COLOR, alpha=0.08, lw=0,
                       zorder=0.5)
    if inside.size <= 40:
        numbers = beats["beat"].to_numpy() if "beat" in beats else np.arange(len(beats))
        for j in inside:
            ax.annotate(str(int(numbers[j])), (r[j], ymark), xytext=(0, 5),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7,
                        color=FLAG_COLOR if j in bad_i else "0.3", gid="beat-number")
    return inside.size, bad_i.size


def _paper_grid(ax, t0, t1, bottom, top):
    """ECG paper: 40 ms x 0.1 mV minor and 0.2 s x 0.5 mV major squares, square at
    25 mm/s and 10 mm/mV; return the y limits rounded out to 0.5 mV."""
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MultipleLocator

    bottom = np.floor(bottom / 0.5) * 0.5
    top = np.ceil(top / 0.5) * 0.5
    minor = dict(color="#f3b6b6", lw=0.35, zorder=0)
    major = dict(color="#e07b7b", lw=0.75, zorder=0.1)
    xv = np.arange(np.ceil(t0 / 0.04) * 0.04, t1 + 1e-9, 0.04)
    yv = np.arange(bottom, top + 1e-9, 0.1)
    is_major_x = np.isclose(np.round(xv / 0.2) * 0.2, xv, atol=1e-6)
    is_major_y = np.isclose(np.round(yv / 0.5) * 0.5, yv, atol=1e-6)
    for sel, kw, gid in ((False, minor, "ecg-grid-minor"), (True, major, "ecg-grid-major")):
        segs = [[(x, bottom), (x, top)] for x in xv[is_major_x == sel]]
        segs += [[(t0, v), (t1, v)] for v in yv[is_major_y == sel]]
        ax.add_collection(LineCollection(segs, gid=gid, **kw))
    ax.set_aspect(0.4, adjustable="box")      # 10 mm/mV against 25 mm/s
    ax.yaxis.set_major_locator(MultipleLocator(0.5))
    ax.xaxis.set_major_locator(MultipleLocator(1.0 if t1 - t0 > 3 else 0.2))
    ax.tick_params(length=2)
    for s in ax.spines.values():
        s.set_color("#e07b7b")
    return bottom, top


def overview(fit, i=None, start=None, duration=10, grid=False):
    """Figure with a record strip on top and one beat (default: a typical one) with its
    residual below.  Returns the Figure."""
    i = typical_beat(fit) if i is None else beat_position(fit, i)
    fig = new_figure(figsize=(11.0, 8.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.55])
    record(fit, start=start, duration=duration, ax=top.subplots(), grid=grid)
    ax_b, ax_res = bottom.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    beat(fit, i, ax=ax_b, residual=ax_res)
    return fig
