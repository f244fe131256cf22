"""One beat in every lead (:func:`leads_beat`): the leads stacked on a shared time axis,
each with its samples, fitted sum and P/Q/R/S/T components, and the beat's global wave
boundaries (from the combined table of :func:`gmesa.ecg.fit_leads`) drawn through all
of them.

Times are milliseconds from the beat's R peak; amplitudes are in the record's unit.
"""
from __future__ import annotations

import numpy as np

from .style import (FIT_COLOR, SAMPLE_COLOR, beat_position, boundary_sds, mark_fiducials,
                    new_figure, robust_limits, unit, wave_color)


def leads_beat(fit, i, ax=None, leads=None, components=True, fiducials=True):
    """Beat ``i`` of a :class:`gmesa.ecg.LeadsFit` in every lead, stacked.

    Parameters
    ----------
    fit : :class:`gmesa.ecg.LeadsFit` (``fit.beats`` the combined table, ``fit.fits``
        lead name -> :class:`~gmesa.ecg.RecordFit`).
    i : row position of the beat in ``fit.beats`` (negative counts from the end).
    ax : None -> a new Figure with one panel per lead sharing the time axis, and the
        **Figure** is returned; a sequence of Axes (one per lead) -> drawn into and
        returned as a list.
    leads : the leads to draw, in order (default: every lead of the fit).
    components : fill each lead's fitted components (on its baseline) in their colours.
    fiducials : the beat's global boundaries (``P_on_s`` ... ``T_off_s`` of the combined
        table) as dashed (onset) and dotted (offset) lines through every panel, named
        above the top one.

    x is time in ms from the beat's R peak; each panel's y is its lead's amplitude in
    the record's unit, its PRD (%) and status (when not ok) at its top right.  The title names the record, the beat and, where the table has
    it, the spatial QRS-T angle.
    """
    if not (hasattr(fit, "fits") and hasattr(fit, "beats")):
        raise TypeError(f"fit must be a gmesa.ecg.LeadsFit, got {type(fit).__name__}; "
                        "for one lead use gmesa.plot.beat")
    leads = list(fit.fits) if leads is None else list(leads)
    unknown = [lead for lead in leads if lead not in fit.fits]
    if unknown or not leads:
        raise ValueError(f"leads {unknown or leads} not in the fit; its leads are "
                         f"{', '.join(map(str, fit.fits))}")
    bare = [lead for lead in leads if fit.fits[lead].signal.size == 0]
    if bare:
        raise ValueError(f"leads {', '.join(map(str, bare))} hold their tables but no samples "
                         "(a batch keeps only the tables in memory); read the saved result "
                         "with gmesa.ecg.LeadsFit.load to draw it")
    i = beat_position(fit, i)
    axes, out = _panels(ax, len(leads))
    for a, lead in zip(axes, leads):
        _draw_lead(a, fit.fits[lead], i, lead, components)
    row = fit.beats.iloc[i]
    if fiducials:
        fid = {c[:-2]: (row[c] - row["r_peak_s"]) * 1e3 for c in row.index
               if c.endswith(("_on_s", "_off_s")) and c[:-2] in _BOUNDS}
        sd = boundary_sds(row)
        mark_fiducials(axes[0], fid, sd_ms=sd)
        for a in axes[1:]:
            mark_fiducials(a, fid, labels=False, sd_ms=sd)
    axes[-1].set_xlabel("time from R peak (ms)")
    if ax is None:
        out.suptitle(_title(fit, row, i), fontsize=10)
    return out


_BOUNDS = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off")


def _panels(ax, n):
    """(one Axes per lead, what :func:`leads_beat` returns) for its ``ax`` argument."""
    if ax is None:
        fig = new_figure(figsize=(8.0, 1.0 + 0.95 * n), layout="constrained")
        axes = list(fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0])
        return axes, fig
    axes = list(np.atleast_1d(ax))
    if len(axes) != n:
        raise ValueError(f"{len(axes)} Axes given for {n} leads; give one Axes per lead "
                         "or ax=None")
    return axes, axes


def _draw_lead(a, rf, i, lead, components):
    """Samples, fitted sum and components of beat ``i`` of one lead into ``a``."""
    bf = rf.beat(i)
    t = bf.t * 1e3
    has_fit = bf.fit.size > 0 and bool(np.all(np.isfinite(bf.fit)))
    a.plot(t, bf.y, ls="none", marker="o", ms=1.4, mew=0, color=SAMPLE_COLOR, alpha=0.6,
           gid="samples", zorder=3)
    if has_fit:
        a.plot(t, bf.fit, color=FIT_COLOR, lw=1.0, gid="fit", zorder=4)
        base = np.broadcast_to(np.asarray(bf.components.get("baseline", 0.0), dtype=float),
                               t.shape)
        for s in rf.steps:
            base = base + np.asarray(bf.components[s], dtype=float)
        if components:
            _draw_components(a, bf, t, base, rf.steps)
    lim = robust_limits(np.concatenate([bf.y, bf.fit if has_fit else []]), 0, 100, 0.08)
    if lim is not None:
        a.set_ylim(*lim)
    if t.size:
        a.set_xlim(t[0], t[-1])
    a.set_ylabel(f"{lead}\n({unit(rf)})", rotation=0, ha="right", va="center", fontsize=8)
    prd, status = bf.row.get("prd", np.nan), str(bf.row.get("status", ""))
    note = (f"PRD {prd:.0f}%" if np.isfinite(prd) else "not fitted") + (
        f" · {status}" if status not in ("", "ok") else "")
    a.text(1.0, 1.0, note, transform=a.transAxes, ha="right", va="top", fontsize=7,
           color="0.35", gid="lead-quality")
    a.tick_params(labelsize=7)
    a.spines[["top", "right"]].set_visible(False)


def _draw_components(a, bf, t, base, steps):
    """Each wave on ``base``, filled in its colour (components under 1% of the largest
    and waves the lead's fit found absent are left out)."""
    from matplotlib.colors import to_rgba

    names = [w for w in bf.components if w != "baseline" and w not in steps]
    peak = {w: float(np.max(np.abs(bf.components[w]))) for w in names if bf.components[w].size}
    biggest = max(peak.values()) if peak else 0.0
    for w in names:
        if peak.get(w, 0.0) < 0.01 * biggest or (w in ("P", "T") and not bool(
                bf.row.get(f"{w}_present", True))):
            continue
        comp = np.asarray(bf.components[w], dtype=float)
        c = wave_color(w)
        visible = np.abs(comp) > 0.003 * peak[w]
        a.fill_between(t, base, base + comp, where=visible, interpolate=True,
                       facecolor=to_rgba(c, 0.30), edgecolor=c, linewidth=0.6,
                       gid=f"component-{w}", zorder=2, label=w)


def _title(fit, row, i):
    name = fit.info.get("record", "record") if fit.info else "record"
    parts = [f"{name} — beat {int(row.get('beat', i))} (R at {row['r_peak_s']:.2f} s), "
             f"{len(fit.fits)} leads; lines: global boundaries"]
    angle = row.get("QRS_T_angle_deg", np.nan)
    if angle is not None and np.isfinite(angle):
        frame = (fit.info.get("spatial") or {}).get("system", "")
        parts.append(f"spatial QRS-T angle {angle:.0f}°" + (f" ({frame})" if frame else ""))
    return " · ".join(parts)
