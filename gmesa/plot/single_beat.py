"""One fitted beat: its samples, the fitted sum, the P/Q/R/S/T components, the wave
boundaries and the residual (:func:`beat`), and which beat is typical (:func:`typical_beat`).

Times are milliseconds from the beat's R peak; amplitudes are in the record's unit.
"""
from __future__ import annotations

import numpy as np

from ..ecg.result import ok_mask
from .style import (FIT_COLOR, RESIDUAL_COLOR, SAMPLE_COLOR, WAVE_COLORS, beat_position,
                    boundary_sds, mark_fiducials, new_figure, record_name, robust_limits, unit,
                    wave_color, wave_label, wave_style)


def typical_beat(fit):
    """Row position of a typical beat: status ok, not flagged, P and T present where
    possible, with the PRD closest to the median PRD of those beats."""
    b = fit.beats
    if len(b) == 0:
        raise ValueError("the fit holds no beats")
    prd = b["prd"].to_numpy(dtype=float) if "prd" in b else np.zeros(len(b))
    candidates = [ok_mask(b), (b["status"] == "ok").to_numpy() if "status" in b else None,
                  np.isfinite(prd)]
    if "P_present" in b and "T_present" in b:
        pt = b["P_present"].fillna(False).astype(bool) & b["T_present"].fillna(False).astype(bool)
        candidates.insert(0, ok_mask(b) & pt.to_numpy())
    for mask in candidates:
        if mask is not None and np.any(mask & np.isfinite(prd)):
            idx = np.flatnonzero(mask & np.isfinite(prd))
            med = np.median(prd[idx])
            return int(idx[np.argmin(np.abs(prd[idx] - med))])
    return 0


def beat(fit, i, ax=None, components=True, residual=True, fiducials=True):
    """One fitted beat: the samples, the fitted sum and its P/Q/R/S/T components.

    Parameters
    ----------
    fit : :class:`gmesa.ecg.RecordFit` (from ``fit_record`` or ``RecordFit.load``).
    i : row position of the beat in ``fit.beats`` (the ``beat`` column; negative
        counts from the end).  :func:`typical_beat` picks a representative one.
    ax : None or an Axes.  None creates a figure with two panels (height ratio 3:1):
        the beat on top and the residual (samples - fit) below it, sharing the time
        axis; the beat's Axes is returned and the residual's is ``ax.figure.axes[1]``.
        When an Axes is given the beat is drawn into it and the residual panel is
        skipped unless ``residual`` is an Axes.
    components : fill each component (on the fitted baseline) in its wave colour and
        hatch, outline it and label it P, Q, R, S or T at its extremum.  Waves the fit
        found absent (``P_present``/``T_present`` false, NaN fiducials) and components
        below 1% of the largest one are not drawn; the title names them.
    residual : True: draw the residual panel when ``ax`` is None; False: no residual;
        an Axes: draw the residual (samples - fit) into it.
    fiducials : dashed (onset) and dotted (offset) vertical lines at P on/off, QRS
        on/off and T on/off, named above the axes.

    x is time in ms from the R peak, y the record's unit (mV).  The title holds the
    record, the beat, its PRD (%) and its status.  Returns the beat's Axes.
    """
    from matplotlib.axes import Axes

    i = beat_position(fit, i)
    rax = residual if isinstance(residual, Axes) else None
    if ax is None:
        fig = new_figure(figsize=(8.8, 5.6), layout="constrained")
        if residual is True:
            ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        else:
            ax = fig.subplots()
    _draw_beat(fit, i, ax, rax, components, fiducials)
    return ax


def _draw_beat(fit, i, ax, rax, components, fiducials):
    bf = fit.beat(i)
    t = bf.t * 1e3
    has_fit = bf.fit.size > 0 and bool(np.all(np.isfinite(bf.fit)))
    if has_fit and "baseline" in bf.components:
        poly = np.broadcast_to(np.asarray(bf.components["baseline"], dtype=float), t.shape)
    else:
        poly = np.full(t.shape, float(np.nanmedian(bf.y)) if bf.y.size else 0.0)
    # the waves sit on the baseline plus the level-shift steps (ST): a tanh step moves
    # the level by -A before its center and +A after it, under every wave
    steps = [w for w in fit.steps if w in bf.components]
    base = poly + sum((np.asarray(bf.components[w], dtype=float) for w in steps),
                      np.zeros(t.shape))

    taken = fit.neighbours(i, bf.t) if hasattr(fit, "neighbours") else np.zeros(t.shape)
    label = "samples"
    if np.any(taken):  # fitted less the neighbouring beats' waves (gmesa.ecg.overlap)
        label = "samples less the neighbours' waves"
        ax.plot(t, bf.y + taken, color=SAMPLE_COLOR, lw=0.8, alpha=0.45, zorder=2,
                label="samples as recorded", gid="recorded")
    ax.plot(t, bf.y, ls="none", marker="o", ms=2.6, mew=0, color=SAMPLE_COLOR, alpha=0.75,
            label=label, gid="samples", zorder=3)
    if has_fit:
        ax.plot(t, bf.fit, color=FIT_COLOR, lw=1.5, label="fitted sum", gid="fit", zorder=4)
    ax.plot(t, poly, color=WAVE_COLORS["baseline"], lw=0.8, ls=":", zorder=0.5, gid="baseline",
            label="baseline" if has_fit else None)
    absent, small, extremes = [], [], []
    if components and has_fit:
        absent, small, extremes = _draw_components(ax, bf, t, base, steps)
        small += _draw_steps(ax, bf, t, base, steps)
    if fiducials:
        fid_ms = {k: v * 1e3 for k, v in bf.fiducials.items()}
        mark_fiducials(ax, fid_ms, extra_axes=[rax] if rax is not None else [],
                       sd_ms=boundary_sds(bf.row))
    _mark_spike(ax, bf.row)
    ax.set_title(_title(fit, i, bf.row, absent, small, has_fit), fontsize=10)
    ax.set_ylabel(f"amplitude ({unit(fit)})")
    lim = robust_limits(np.concatenate([bf.y, bf.fit if has_fit else [], extremes]),
                        0, 100, 0.04)
    if lim is not None:
        lo, hi = lim
        ax.set_ylim(lo - 0.07 * (hi - lo), hi + 0.10 * (hi - lo))   # room for the labels
    if t.size:
        ax.set_xlim(t[0], t[-1])
    ax.spines[["top", "right"]].set_visible(False)
    # the legend sits outside, right of the axes: it never hides a wave
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              ncol=1, handlelength=1.6, borderaxespad=0.0)
    if rax is not None:
        _draw_residual(rax, fit, bf, t, has_fit)
    else:
        ax.set_xlabel("time from R peak (ms)")
    return ax


def _mark_spike(ax, row):
    """A pacemaker spike before R (``pacing_spike_s``, bridged before the fit): a short
    grey bar at the top of the axes, labelled "pace"."""
    t = row.get("pacing_spike_s", np.nan)
    if not np.isfinite(t):
        return
    ax.axvline(1e3 * float(t), ymin=0.88, ymax=1.0, color="0.35", lw=2.0, gid="pacing_spike",
               label="pacemaker spike (bridged)")


def _is_absent(w, bf):
    """P or T that the fit found absent (NaN onset or ``{w}_present`` false); an R'
    (``R2``) where the beat's QRS is not fragmented."""
    if w == "R2":
        return "QRS_fragmented" in bf.row and not bool(bf.row["QRS_fragmented"])
    if w not in ("P", "T"):
        return False
    if not np.isfinite(bf.fiducials.get(f"{w}_on", np.nan)):
        return True
    return f"{w}_present" in bf.row and not bool(bf.row[f"{w}_present"])


def _draw_components(ax, bf, t, base, steps):
    """Fill, outline and label each wave on ``base``; return (absent, small, extremes)."""
    from matplotlib.colors import to_rgba

    names = [w for w in bf.components if w != "baseline" and w not in steps]
    peak = {w: float(np.max(np.abs(bf.components[w]))) if bf.components[w].size else 0.0
            for w in names}
    biggest = max(peak.values()) if peak else 0.0
    absent, small, extremes = [], [], []
    for w in names:
        if _is_absent(w, bf):
            absent.append(w)
            continue
        if peak[w] < 0.01 * biggest:
            small.append(w)
            continue
        comp = bf.components[w]
        c, style = wave_color(w), wave_style(w)
        visible = np.abs(comp) > 0.003 * peak[w]
        ax.fill_between(t, base, base + comp, where=visible, interpolate=True,
                        facecolor=to_rgba(c, 0.30), edgecolor=c, linewidth=0,
                        hatch=style["hatch"], label=wave_label(w), gid=f"component-{w}",
                        zorder=2)
        ax.plot(t, np.where(visible, base + comp, np.nan), color=c, lw=1.1,
                ls=style["linestyle"], zorder=2.5, gid=f"outline-{w}")
        k = int(np.argmax(np.abs(comp)))
        up = comp[k] >= 0
        dx = {"Q": -5, "S": 5}.get(w, 0)
        extremes += [base[k] + comp[k]]
        ax.annotate(wave_label(w), (t[k], base[k] + comp[k]), xytext=(dx, 5 if up else -5),
                    textcoords="offset points", ha="center", va="bottom" if up else "top",
                    color=c, fontsize=11, fontweight="bold", gid=f"label-{w}", zorder=6)
    return absent, small, extremes


def _draw_steps(ax, bf, t, base, steps):
    """A level shift (ST) is drawn as the line the waves sit on; return the steps too
    small to draw."""
    small = []
    for w in steps:
        size = float(np.ptp(bf.components[w])) if bf.components[w].size else 0.0
        if size < 0.01 * max(float(np.ptp(bf.fit)), 1e-12):
            small.append(w)
            continue
        ax.plot(t, base, color=wave_color(w), lw=1.2, ls=wave_style(w)["linestyle"],
                label=f"baseline + {w} step", gid=f"component-{w}", zorder=2.5)
    return small


def _title(fit, i, row, absent, small, has_fit):
    """Record, beat, R time, PRD and status; below, the waves not drawn and why."""
    prd = row.get("prd", np.nan)
    parts = [f"{record_name(fit)} — beat {int(row.get('beat', i))} "
             f"(R at {row['r_peak_s']:.2f} s)"]
    parts.append(f"PRD {prd:.1f}%" if np.isfinite(prd) else "PRD n/a")
    status = str(row.get("status", ""))
    if status and status != "ok":
        parts.append(f"status {status}")
    if bool(row.get("flagged", False)):
        parts.append("flagged: unlike the template")
    if bool(row.get("QRS_fragmented", False)):
        parts.append("fragmented QRS (R')")
    title = " · ".join(parts)
    notes = []
    if absent:
        notes.append(f"{'/'.join(map(wave_label, absent))} absent")
    if small:
        notes.append(f"{'/'.join(map(wave_label, small))} negligible (not drawn)")
    if not has_fit:
        reason = str(row.get("reason", "")) or "no fit"
        notes.append(f"not fitted: {reason}")
    return title + ("\n" + "; ".join(notes) if notes else "")


def _draw_residual(rax, fit, bf, t, has_fit):
    u = unit(fit)
    res = bf.y - bf.fit if has_fit else np.full(t.size, np.nan)
    rax.plot(t, res, color=RESIDUAL_COLOR, lw=0.9, gid="residual")
    rax.axhline(0.0, color="0.6", lw=0.7)
    m = np.nanmax(np.abs(res)) if np.any(np.isfinite(res)) else 1.0
    rax.set_ylim(-1.2 * m, 1.2 * m)
    rax.set_ylabel(f"residual ({u})")
    rmse = bf.row.get("rmse", np.nan)
    if np.isfinite(rmse):
        rax.text(0.005, 0.96, f"RMSE {rmse:.3f} {u}", transform=rax.transAxes,
                 ha="left", va="top", fontsize=8, color="0.25")
    rax.spines[["top", "right"]].set_visible(False)
    rax.set_xlabel("time from R peak (ms)")
