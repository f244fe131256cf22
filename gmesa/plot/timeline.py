"""Columns of the per-beat table over time, one panel each, with a rolling median
(:func:`trends`), and the axis label of a column with its unit (:func:`column_label`)."""
from __future__ import annotations

import numpy as np

from ..ecg.result import ok_mask, trusted_mask
from .style import WAVE_COLORS, new_figure, record_name, robust_limits, unit

#: axis labels (with units) of the per-beat table's columns that are not wave parameters
COLUMN_LABELS = {
    "rr_s": "RR (s)", "rr_ms": "RR (ms)", "pr_ms": "PR (ms)", "qrs_ms": "QRS (ms)",
    "qt_ms": "QT (ms)", "qtc_ms": "QTc Bazett (ms)", "qtc_fridericia_ms": "QTc Fridericia (ms)",
    "prd": "PRD (%)", "r2": "R²", "template_corr": "correlation with template",
    "nit": "solver iterations", "r_peak_s": "R peak (s)",
    "QRS_T_angle_deg": "spatial QRS-T angle (°)",
    "QRS_azimuth_deg": "QRS azimuth (°)", "QRS_elevation_deg": "QRS elevation (°)",
    "T_azimuth_deg": "T azimuth (°)", "T_elevation_deg": "T elevation (°)",
    "p_height_mv": "P height (mV)", "t_height_mv": "T height (mV)",
    "st_j60_mv": "ST at J+60 ms (mV)",
}

#: the columns :func:`trends` draws by default (those the table has; the T height measured
#: on the fitted beat, or the T component's amplitude in a table without it), then the
#: spatial QRS-T angle where the table has it (a LeadsFit with a spatial frame)
DEFAULT_COLUMNS = ("qt_ms", "t_height_mv", "rr_s")
#: ... and what stands in for a default column a table lacks (one written before it)
FALLBACK_COLUMNS = {"t_height_mv": "T_amplitude"}


def column_label(column, u="mV"):
    """Axis label with unit for a column of the per-beat table."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    if column == "rmse":
        return f"RMSE ({u})"
    if column == "baseline_c0":
        return f"baseline ({u})"
    wave, _, param = column.partition("_")
    if param == "amplitude":
        return f"{wave} amplitude ({u})"
    if param == "center":
        return f"{wave} center (s from R)"
    if param in ("half_width", "sigma_left", "sigma_right", "scale"):
        return f"{wave} {param.replace('_', ' ')} (s)"
    if column.endswith("_s"):
        return f"{column[:-2].replace('_', ' ')} (s from start)"
    if column.endswith("_ms"):
        return f"{column[:-3].replace('_', ' ')} (ms)"
    return column


def trends(fit, columns=None, ax=None, window=None):
    """Columns of the per-beat table over time, ok beats only, with a rolling median.

    Parameters
    ----------
    fit : a :class:`gmesa.ecg.RecordFit` or a :class:`gmesa.ecg.LeadsFit` (its combined
        table; the duration and unit from its primary lead).
    columns : names of columns of ``fit.beats`` (intervals such as ``qt_ms``, wave
        parameters such as ``T_amplitude``, heights such as ``t_height_mv``, ``rr_s``,
        ``prd``, ``QRS_T_angle_deg`` ...).
        Default: those of :data:`DEFAULT_COLUMNS` the table has, then the spatial
        QRS-T angle (``QRS_T_angle_deg``, degrees) when the table has it.
    ax : None -> a new Figure with one panel per column sharing the time axis, and the
        **Figure** is returned; a sequence of Axes (one per column) -> drawn into and
        returned as a list; a single Axes (one column only) -> that Axes is returned.
    window : rolling-median length in beats (default: the odd number nearest the square
        root of the number of ok beats, between 5 and 301).

    Only beats with status ``ok`` that are not flagged (unlike the template, e.g.
    ectopic) are shown (all ok beats when every one is flagged).  Time runs in s for
    records up to 10 min, in min up to 3 h and in h beyond.  Axis limits follow the 0.5-99.5 percentiles so a few wild beats do
    not flatten the panel (the count left outside is noted in the panel).
    """
    beats = fit.beats
    if columns is None:
        columns = [c if c in beats else FALLBACK_COLUMNS.get(c, c) for c in DEFAULT_COLUMNS]
        columns = [c for c in columns if c in beats]
        columns += ["QRS_T_angle_deg"] if "QRS_T_angle_deg" in beats else []
    columns = [columns] if isinstance(columns, str) else list(columns)
    lead = fit.fits[fit.primary] if hasattr(fit, "fits") else fit   # duration, unit
    missing = [c for c in columns if c not in beats.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the per-beat table; "
                       f"available: {', '.join(map(str, beats.columns))}")
    axes, out = _panels(ax, columns)
    total = lead.signal.size / float(lead.fs) if getattr(lead, "signal", None) is not None \
        else 0.0
    scale, tunit = (1.0, "s") if total <= 600 else (60.0, "min") if total <= 3 * 3600 \
        else (3600.0, "h")
    ok = trusted_mask(beats)
    x = beats["r_peak_s"].to_numpy(dtype=float)[ok] / scale
    n_ok = int(ok.sum())
    w = int(window) if window else int(np.clip(round(np.sqrt(n_ok)), 5, 301)) | 1
    for a, col in zip(axes, columns):
        _panel(a, x, beats[col][ok], col, w, unit(lead))
    axes[-1].set_xlabel(f"time ({tunit})")
    if x.size:
        axes[-1].set_xlim(0, total / scale if total else x.max())
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.85,
                       edgecolor="none", ncol=2, markerscale=2)
    if ax is None:
        every_flagged = n_ok and not ok_mask(beats).any()
        name = (f"{fit.info.get('record', 'record')}, {len(fit.fits)} leads"
                if hasattr(fit, "fits") else record_name(fit))
        out.suptitle(f"{name} — {n_ok} ok beats of {len(beats)}"
                     + (" (all flagged as unlike the template)" if every_flagged else ""),
                     fontsize=10)
    return out


def _panels(ax, columns):
    """(one Axes per column, what :func:`trends` returns) for its ``ax`` argument."""
    from matplotlib.axes import Axes

    if ax is None:
        fig = new_figure(figsize=(9.0, 1.2 + 1.9 * len(columns)), layout="constrained")
        return list(fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]), fig
    if isinstance(ax, Axes):
        if len(columns) != 1:
            raise ValueError(f"one Axes given for {len(columns)} columns; give a sequence "
                             "of Axes, one per column, or ax=None")
        return [ax], ax
    axes = list(ax)
    if len(axes) != len(columns):
        raise ValueError(f"{len(axes)} Axes given for {len(columns)} columns")
    return axes, axes


def _panel(a, x, values, col, w, u):
    """One column over time ``x``: dots in the wave's colour and the rolling median
    over ``w`` beats; limits from the 0.5-99.5 percentiles."""
    import pandas as pd

    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    m = np.isfinite(v)
    wave = col.split("_", 1)[0]
    wave = wave.upper() if col.endswith("_height_mv") else wave   # t_height_mv: T's colour
    c = WAVE_COLORS[wave] if wave in WAVE_COLORS and wave != "baseline" else "0.35"
    if m.any():
        dots = dict(ms=4.0 if m.sum() < 300 else 2.4,
                    alpha=float(np.clip(150 / m.sum(), 0.3, 0.8)))
        a.plot(x[m], v[m], ls="none", marker="o", mew=0, color=c, **dots,
               label="ok beats", gid=f"trend-{col}", zorder=2)
        roll = pd.Series(v[m]).rolling(w, center=True, min_periods=max(3, w // 3)).median()
        a.plot(x[m], roll.to_numpy(), color="black", lw=1.5,
               label=f"rolling median ({w} beats)", gid=f"rolling-{col}", zorder=3)
        lim = robust_limits(v[m])
        if lim is not None:
            a.set_ylim(*lim)
            outside = int(np.sum((v[m] < lim[0]) | (v[m] > lim[1])))
            if outside:
                a.text(0.995, 0.03, f"{outside} beats outside the panel",
                       transform=a.transAxes, ha="right", va="bottom", fontsize=7,
                       color="0.4")
    else:
        a.text(0.5, 0.5, f"no finite {col} in ok beats", transform=a.transAxes,
               ha="center", va="center", color="0.4")
    a.set_ylabel(column_label(col, u))
    a.spines[["top", "right"]].set_visible(False)
    a.grid(True, axis="y", color="0.92", lw=0.6)
