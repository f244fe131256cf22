"""Colours, line styles, labels and the small helpers every gmesa figure shares.

One colour per wave (:data:`WAVE_COLORS`) in every figure; each wave also has its own
hatch and line style (:data:`WAVE_STYLES`) so the figures survive black-and-white print.
"""
from __future__ import annotations

import sys

import numpy as np

#: one colour per ECG wave (ColorBrewer Dark2, T in blue so P and T differ at a
#: glance), used by every gmesa figure
WAVE_COLORS = {
    "P": "#1b9e77",
    "Q": "#7570b3",
    "R": "#d95f02",
    "R2": "#a63603",
    "S": "#e7298a",
    "T": "#1f78b4",
    "T2": "#6baed6",
    "U": "#e6ab02",
    "ST": "#a6761d",
    "baseline": "#666666",
}

#: hatch and outline style per wave, for black-and-white print
WAVE_STYLES = {
    "P": {"hatch": "///", "linestyle": "-"},
    "Q": {"hatch": "\\\\\\", "linestyle": "--"},
    "R": {"hatch": "...", "linestyle": "-"},
    "R2": {"hatch": "oo", "linestyle": "--"},
    "S": {"hatch": "xx", "linestyle": ":"},
    "T": {"hatch": "--", "linestyle": "-."},
    "T2": {"hatch": "||", "linestyle": "-."},
    "U": {"hatch": "oo", "linestyle": ":"},
    "ST": {"hatch": "++", "linestyle": "--"},
}

#: colours of the parts that are not waves
SAMPLE_COLOR = "#4d4d4d"     # measured samples (dots) and the signal strip
FIT_COLOR = "black"          # the fitted sum
RESIDUAL_COLOR = "#4d4d4d"
FLAG_COLOR = "#b2182b"       # flagged or not-ok beats

#: which wave colours a fiducial: boundary name -> (wave colour key, short label)
FIDUCIAL_LABELS = {
    "P_on": ("P", "P on"), "P_off": ("P", "P off"),
    "QRS_on": ("R", "QRS on"), "QRS_off": ("R", "QRS off"),
    "T_on": ("T", "T on"), "T_off": ("T", "T off"),
}


def new_figure(**kw):
    """A new Figure: through pyplot when the user has imported it (Jupyter and
    interactive sessions show it as usual), a bare :class:`matplotlib.figure.Figure`
    otherwise (scripts, the CLI and batch workers keep no global figure state)."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt
        return plt.figure(**kw)
    from matplotlib.figure import Figure
    return Figure(**kw)


def close(fig):
    """Release a Figure made by gmesa.plot (closes it in pyplot when pyplot made it)."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt
        plt.close(fig)          # a no-op for figures pyplot does not manage


def wave_color(name):
    """Colour of a wave (``T2`` and other variants fall back to their first letter)."""
    return WAVE_COLORS.get(name, WAVE_COLORS.get(str(name)[:1], WAVE_COLORS["baseline"]))


#: how a component is named in a figure where its name is not the wave's usual one
WAVE_LABELS = {"R2": "R'"}


def wave_label(name):
    """The name a figure gives component ``name`` (``R2``: R')."""
    return WAVE_LABELS.get(name, name)


def wave_style(name):
    """Hatch and outline style of a wave (variants fall back to their first letter)."""
    return WAVE_STYLES.get(name, WAVE_STYLES.get(str(name)[:1], {"hatch": None,
                                                               "linestyle": "-"}))


def unit(fit):
    """The record's amplitude unit (``fit.info["units"]``/``["unit"]``, default mV)."""
    u = fit.info.get("units", fit.info.get("unit")) if fit.info else None
    if isinstance(u, (list, tuple)):
        u = u[0] if u else None
    return str(u) if u else "mV"


def record_name(fit):
    """``"100"`` or ``"100, lead V5"``: the record (and lead) a figure's title names."""
    name = fit.info.get("record", "record") if fit.info else "record"
    lead = fit.info.get("lead") if fit.info else None
    return f"{name}, lead {lead}" if lead not in (None, "", "lead0") else str(name)


def beat_position(fit, i):
    """Row position of beat ``i`` (an int row position; negative counts from the end);
    IndexError when the fit has no such row."""
    n = len(fit.beats)
    if n == 0:
        raise ValueError("the fit holds no beats")
    i = int(i)
    if not -n <= i < n:
        raise IndexError(f"beat {i} out of range: the fit holds beats 0..{n - 1}")
    return i % n


def robust_limits(v, lo=0.5, hi=99.5, pad=0.12):
    """Axis limits ``(low, high)`` from the ``lo``-``hi`` percentiles of the finite values
    of ``v``, widened by ``pad`` of their span on each side (None when nothing is finite),
    so a few wild values do not flatten a panel."""
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    a, b = np.percentile(v, [lo, hi])
    span = b - a if b > a else (abs(a) * 0.1 + 1e-9)
    return a - pad * span, b + pad * span


def mark_fiducials(ax, fid_ms, extra_axes=(), labels=True, sd_ms=None):
    """Dashed (onsets) and dotted (offsets) vertical lines at the wave boundaries of
    :data:`FIDUCIAL_LABELS` in their wave colour, also drawn into ``extra_axes``, and,
    when ``labels``, their names above ``ax``.

    ``fid_ms``: boundary name -> x position (NaN or missing: not drawn); ``sd_ms``:
    boundary name -> its SD (ms; the learned map's), drawn as a faint band of +-1 SD
    around the line.  Returns the names drawn.
    """
    drawn = []
    sd_ms = sd_ms or {}
    for name, (key, text) in FIDUCIAL_LABELS.items():
        x = fid_ms.get(name, np.nan)
        if x is None or not np.isfinite(x):
            continue
        c = wave_color(key)
        ls = (0, (4, 2)) if name.endswith("_on") else (0, (1.5, 1.5))
        ax.axvline(x, color=c, lw=1.0, ls=ls, zorder=1.5, gid=f"fiducial-{name}")
        sd = sd_ms.get(name, np.nan)
        if sd is not None and np.isfinite(sd) and sd > 0:
            ax.axvspan(x - sd, x + sd, color=c, alpha=0.08, lw=0, zorder=0.4,
                       gid=f"fiducial-sd-{name}")
        for other in extra_axes:
            other.axvline(x, color=c, lw=0.8, ls=ls, zorder=1, alpha=0.8)
        drawn.append((x, text, c, name))
    if labels and drawn:
        sec = ax.secondary_xaxis("top")
        sec.set_xticks([d[0] for d in drawn], labels=[d[1] for d in drawn])
        sec.tick_params(axis="x", labelrotation=90, labelsize=8, length=4, pad=1.5,
                        direction="in")
        for lab, d in zip(sec.get_xticklabels(), drawn):
            lab.set_color(d[2])
        sec.set_gid("fiducial-labels")
        sec.spines["top"].set_visible(False)
    return [d[3] for d in drawn]


def boundary_sds(row):
    """Boundary name -> its SD (ms) from a beat's table ``row`` (the ``{b}_sd_ms``
    columns; none: an empty dict)."""
    return {c[:-6]: float(row[c]) for c in row.index if c.endswith("_sd_ms")}
