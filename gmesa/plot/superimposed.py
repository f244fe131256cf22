"""Every beat of a record superimposed at its R peak, with the median fitted beat on top
(:func:`template`).  Times are milliseconds from the R peak."""
from __future__ import annotations

import numpy as np

from ..ecg.result import ok_mask, trusted_mask
from .style import (FIDUCIAL_LABELS, FIT_COLOR, FLAG_COLOR, WAVE_COLORS, mark_fiducials,
                    new_figure, record_name, robust_limits, unit)


def template(fit, ax=None, max_beats=300):
    """All beats (up to ``max_beats``, evenly spread) superimposed, aligned at their R
    peak, with the median fitted beat on top.

    Each beat is drawn minus its fitted baseline (the ``baseline_c*`` polynomial) so the
    beats share a zero line: thin grey lines for ok beats, thin red ones for flagged or
    not-ok beats.  On top: the pointwise median of the fitted curves of the ok,
    unflagged beats (all ok beats when every one is flagged) (black) with their
    interquartile band, and the median onsets/offsets (dashed/dotted lines).
    x is ms from the R peak.  Returns the Axes.
    """
    from matplotlib.collections import LineCollection

    beats = fit.beats
    if ax is None:
        ax = new_figure(figsize=(7.5, 5.0), layout="constrained").subplots()
    if len(beats) == 0:
        ax.set_title(f"{record_name(fit)}: no beats")
        return ax
    al = _Aligned(fit)
    draw = np.flatnonzero(al.inside)
    if draw.size > max_beats:
        draw = draw[np.linspace(0, draw.size - 1, max_beats).astype(int)]
    segs_ok, segs_bad = al.segments(draw)
    alpha = float(np.clip(6.0 / max(len(segs_ok), 1), 0.04, 0.5))
    ax.add_collection(LineCollection(segs_ok, colors=[(0.35, 0.35, 0.35, alpha)], lw=0.6,
                                     label=f"{len(segs_ok)} ok beats", gid="beats-ok",
                                     zorder=1))
    if segs_bad:
        ax.add_collection(LineCollection(segs_bad, colors=[(0.70, 0.09, 0.17, 0.35)], lw=0.6,
                                         label=f"{len(segs_bad)} flagged or not ok",
                                         gid="beats-flagged", zorder=1.2))
    use, med = _median_fit(ax, fit, al)
    # limits: the ok beats' 1-99% envelope and the whole median fit
    if segs_ok:
        env = np.percentile(np.array([seg[:, 1] for seg in segs_ok]), [1, 99], axis=0)
        everything = np.concatenate([env.ravel(), med])
    else:
        everything = np.concatenate([seg[:, 1] for seg in segs_bad]) if segs_bad else np.zeros(1)
    lim = robust_limits(everything, 0, 100, 0.06)
    if lim is not None:
        ax.set_ylim(*lim)
    ax.set_xlim(al.t_ms[0], al.t_ms[-1])
    ax.axhline(0.0, color=WAVE_COLORS["baseline"], lw=0.6, ls=":", zorder=0.5)
    ax.set_xlabel("time from R peak (ms)")
    ax.set_ylabel(f"amplitude − beat baseline ({unit(fit)})")
    ax.set_title(f"{record_name(fit)} — {draw.size} of {len(beats)} beats superimposed",
                 fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    _legend(ax, beats, len(segs_ok), len(segs_bad), use.size)
    return ax


class _Aligned:
    """The beats of a fit on a common time axis around their R peaks, with their fitted
    parameters (``fit.layout``) and baseline polynomials."""

    def __init__(self, fit):
        beats, fs = fit.beats, float(fit.fs)
        self.sig = np.asarray(fit.signal, dtype=float)
        self.r = np.round(beats["r_peak_s"].to_numpy(dtype=float) * fs).astype(np.int64)
        ws = np.round(beats["window_start_s"].to_numpy(dtype=float) * fs)
        we = np.round(beats["window_end_s"].to_numpy(dtype=float) * fs)
        pre, post = int(np.nanmedian(self.r - ws)), int(np.nanmedian(we - self.r))
        self.offs = np.arange(-pre, post)
        self.t_s = self.offs / fs
        self.t_ms = self.t_s * 1e3
        self.layout = fit.layout
        self.params = self.layout.pack(beats)
        self.coef = self.params[:, self.layout.baseline_slice]
        self.fitted = np.all(np.isfinite(self.params), axis=1)
        nb = self.layout.n_baseline
        self.powers = self.t_s[None, :] ** np.arange(nb)[:, None]          # (nb, n)
        self.inside = (self.r - pre >= 0) & (self.r + post <= self.sig.size)
        self.ok = trusted_mask(beats) & self.fitted
        # beats fitted less their neighbours' waves (gmesa.ecg.overlap) are drawn so too
        self.less = (fit.neighbours if "neighbours_out" in beats
                     and beats["neighbours_out"].any() else None)

    def segments(self, rows):
        """(ok, other) lists of (n, 2) arrays: ms from R, samples minus the beat's own
        fitted baseline (or its median when it was not fitted)."""
        segs_ok, segs_bad = [], []
        for j in rows:
            yj = self.sig[self.r[j] + self.offs]
            if self.less is not None:
                yj = yj - self.less(j, self.t_s)
            yj = yj - (self.coef[j] @ self.powers if self.fitted[j] else np.nanmedian(yj))
            (segs_ok if self.ok[j] else segs_bad).append(np.column_stack([self.t_ms, yj]))
        return segs_ok, segs_bad


def _median_fit(ax, fit, al):
    """The pointwise median (and IQR) of the fitted curves minus baseline of (up to 2000
    of) the ok beats, with the median wave boundaries; return (rows used, median)."""
    from ..core import mesa_sum

    use = np.flatnonzero(al.ok)
    if use.size > 2000:
        use = use[np.linspace(0, use.size - 1, 2000).astype(int)]
    if not use.size:
        return use, np.zeros(0)
    lay = al.layout
    curves = np.array([mesa_sum(al.t_s, al.params[j], baseline=lay.baseline_degree,
                                steps=lay.n_steps) - al.coef[j] @ al.powers for j in use])
    q25, med, q75 = np.percentile(curves, [25, 50, 75], axis=0)
    ax.fill_between(al.t_ms, q25, q75, color=FIT_COLOR, alpha=0.15, lw=0,
                    label="fits: interquartile range", gid="fit-iqr", zorder=2)
    ax.plot(al.t_ms, med, color=FIT_COLOR, lw=2.0, label=f"median fit ({use.size} beats)",
            gid="median-fit", zorder=3)
    beats = fit.beats
    fid = {}
    for name in FIDUCIAL_LABELS:
        col = f"{name}_s"
        if col in beats:
            v = (beats[col].to_numpy(dtype=float) - beats["r_peak_s"].to_numpy(dtype=float))
            v = v[use]
            v = v[np.isfinite(v)]
            # a wave found in fewer than half of the beats gets no median boundary
            fid[name] = np.median(v) * 1e3 if v.size >= 0.5 * use.size else np.nan
    mark_fiducials(ax, fid)
    return use, med


def _legend(ax, beats, n_ok, n_bad, n_used):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fallback = not ok_mask(beats).any()
    handles = [Line2D([], [], color="0.55", lw=1.0, label=f"{n_ok} ok beats"
                      + (" (every one flagged)" if fallback and n_ok else ""))]
    if n_bad:
        handles.append(Line2D([], [], color=FLAG_COLOR, lw=1.0, alpha=0.6,
                              label=f"{n_bad} flagged or not ok"))
    if n_used:
        handles += [Patch(color=FIT_COLOR, alpha=0.15, lw=0, label="fits: interquartile range"),
                    Line2D([], [], color=FIT_COLOR, lw=2.0, label=f"median fit ({n_used} beats)")]
    ax.legend(handles=handles, loc="best", fontsize=8, frameon=True, framealpha=0.9,
              facecolor="white", edgecolor="none")
