"""Figures of gmesa: a fitted beat and its components, a record strip, the superimposed
beats, parameter trends, and the theory figure.

matplotlib is imported lazily inside the functions, so ``import gmesa`` stays light.
Axes-level helpers take ``ax=None`` and return the Axes they drew into; figure-level
helpers (:func:`trends` without ``ax``, :func:`construction` without ``ax``) return the
Figure.  Nothing here calls ``plt.show()``.

When a function creates its own figure it uses ``matplotlib.pyplot`` if pyplot has
already been imported (so figures show up in Jupyter and interactive sessions as usual)
and a bare :class:`matplotlib.figure.Figure` otherwise (scripts, the CLI and batch
workers then keep no global figure state).  Save with ``ax.figure.savefig(path)``.

Colours: one per wave (:data:`WAVE_COLORS`) in every figure; each wave also has its
own hatch and line style (:data:`WAVE_STYLES`) so the figures survive black-and-white
print.  Times in a beat are milliseconds from its R peak; amplitudes are in the
record's unit (``fit.info["units"]`` when present, else mV).
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

def construction(ax=None):
    """The theory figure (docs/theory.md): how the GMF is built from two ReLUs.

    A: relu(z) + relu(-z) = |z| (the V).  B: the two ReLUs pulled apart by the
    half-width delta and scaled by 1/sigma_left, 1/sigma_right, giving the mesa distance
    D (the tub).  C: the mesa A exp(-D**2 / 2) beside a plain Gaussian.

    ``ax``: None (a new 12 x 3.6 inch Figure with three panels is created and returned)
    or a sequence of three Axes (drawn into and returned).
    """
    from matplotlib.figure import Figure

    from .lineshapes import gmf, mesa_distance, relu

    if ax is None:
        fig = Figure(figsize=(12, 3.6), layout="constrained")
        axes = fig.subplots(1, 3)
        out = fig
    else:
        axes = ax
        out = ax
        if len(axes) != 3:
            raise ValueError(f"construction needs 3 Axes, got {len(axes)}")
    ax_a, ax_b, ax_c = axes

    right_color, left_color, total_color = "#d95f02", "#1b9e77", "black"
    band = dict(color="0.75", lw=7, solid_capstyle="butt", zorder=1)
    plateau = dict(color="0.9", zorder=0, lw=0)
    mu, delta, s_left, s_right, amp = 0.0, 0.6, 0.45, 0.9, 1.0
    edges = [mu - delta, mu, mu + delta]
    edge_labels = [r"$\mu-\delta$", r"$\mu$", r"$\mu+\delta$"]

    # A: the V --------------------------------------------------------------
    z = np.linspace(-2.5, 2.5, 501)
    ax_a.plot(z, np.abs(z), label=r"$|z|$ = sum", **band)
    ax_a.plot(z, relu(z), color=right_color, lw=1.8, ls="-", label=r"ReLU$(z)$", zorder=3)
    ax_a.plot(z, relu(-z), color=left_color, lw=1.8, ls="--", label=r"ReLU$(-z)$", zorder=3)
    ax_a.set(title=r"A   $|z| = \mathrm{ReLU}(z) + \mathrm{ReLU}(-z)$",
             xlabel=r"$z = (x-\mu)/\sigma$", ylabel="distance", ylim=(-0.15, 2.9))
    ax_a.legend(loc="upper center", fontsize=9, frameon=False)

    # B: the tub -------------------------------------------------------------
    x = np.linspace(-2.5, 2.5, 1001)
    d = mesa_distance(x, mu, delta, s_left, s_right)
    ax_b.axvspan(mu - delta, mu + delta, **plateau)
    ax_b.plot(x, d, label=r"$D$ = sum", **band)
    ax_b.plot(x, relu(x - mu - delta) / s_right, color=right_color, lw=1.8, ls="-",
              label=r"ReLU$(x-\mu-\delta)/\sigma_{right}$", zorder=3)
    ax_b.plot(x, relu(mu - x - delta) / s_left, color=left_color, lw=1.8, ls="--",
              label=r"ReLU$(\mu-x-\delta)/\sigma_{left}$", zorder=3)
    ax_b.text(mu, 0.12, "plateau\n$D=0$", ha="center", va="bottom", fontsize=9)
    ax_b.annotate(r"slope $-1/\sigma_{left}$", xy=(-1.35, 1.67), xytext=(-1.2, 2.55),
                  fontsize=9, ha="left", arrowprops=dict(arrowstyle="-", color="0.4"))
    ax_b.annotate(r"slope $1/\sigma_{right}$", xy=(1.9, 1.44), xytext=(1.75, 0.45),
                  fontsize=9, ha="center", arrowprops=dict(arrowstyle="-", color="0.4"))
    ax_b.set(title=r"B   mesa distance $D$ (the tub)", xlabel=r"$x$", ylabel="distance",
             ylim=(-0.15, 4.3), xticks=edges, xticklabels=edge_labels)
    ax_b.legend(loc="upper center", fontsize=8, frameon=False)

    # C: the mesa ------------------------------------------------------------
    y = gmf(x, amp, mu, delta, s_left, s_right)
    s_plain = 0.7
    ax_c.axvspan(mu - delta, mu + delta, label="plateau", **plateau)
    ax_c.plot(x, amp * np.exp(-0.5 * ((x - mu) / s_plain) ** 2), color="0.35", lw=1.5, ls=":",
              label=r"Gaussian ($\delta=0$)")
    ax_c.plot(x, y, color=total_color, lw=2.2, label="GMF")
    level = np.exp(-0.5)
    arrow = dict(arrowstyle="<->", color="0.2", lw=1.0, shrinkA=0, shrinkB=0)
    ax_c.annotate("", xy=(mu - delta - s_left, level), xytext=(mu - delta, level), arrowprops=arrow)
    ax_c.annotate("", xy=(mu + delta, level), xytext=(mu + delta + s_right, level), arrowprops=arrow)
    ax_c.annotate("", xy=(mu - delta, 1.07), xytext=(mu + delta, 1.07), arrowprops=arrow)
    ax_c.text(mu - delta - s_left - 0.1, level, r"$\sigma_{left}$", ha="right", va="center",
              fontsize=10)
    ax_c.text(mu + delta + s_right / 2, level - 0.04, r"$\sigma_{right}$", ha="center", va="top",
              fontsize=10)
    ax_c.text(mu, 1.09, r"$2\delta$", ha="center", va="bottom", fontsize=10)
    ax_c.set(title=r"C   mesa $A\,\exp(-D^2/2)$", xlabel=r"$x$", ylabel=r"value ($A=1$)",
             ylim=(-0.03, 1.42), xticks=edges, xticklabels=edge_labels)
    ax_c.legend(loc="upper right", fontsize=8, frameon=False)

    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
    return out


# ---------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------
def _figure(**kw):
    """A new Figure: through pyplot when the user has imported it, bare otherwise."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt
        return plt.figure(**kw)
    from matplotlib.figure import Figure
    return Figure(**kw)


def close(fig):
    """Release a Figure made by this module (closes it in pyplot when pyplot made it)."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt
        plt.close(fig)          # a no-op for figures pyplot does not manage


def wave_color(name):
    """Colour of a wave (``T2`` and other variants fall back to their first letter)."""
    return WAVE_COLORS.get(name, WAVE_COLORS.get(str(name)[:1], WAVE_COLORS["baseline"]))


def _wave_style(name):
    return WAVE_STYLES.get(name, WAVE_STYLES.get(str(name)[:1], {"hatch": None,
                                                               "linestyle": "-"}))


def unit(fit):
    """The record's amplitude unit (``fit.info["units"]``/``["unit"]``, default mV)."""
    u = fit.info.get("units", fit.info.get("unit")) if fit.info else None
    if isinstance(u, (list, tuple)):
        u = u[0] if u else None
    return str(u) if u else "mV"


def _record_name(fit):
    name = fit.info.get("record", "record") if fit.info else "record"
    lead = fit.info.get("lead") if fit.info else None
    return f"{name}, lead {lead}" if lead not in (None, "", "lead0") else str(name)


def _ok_mask(beats, flagged=False):
    """Rows fitted with status ``ok`` (and, unless ``flagged``, not flagged)."""
    ok = (beats["status"] == "ok").to_numpy(dtype=bool) if "status" in beats \
        else np.ones(len(beats), bool)
    if not flagged and "flagged" in beats:
        ok = ok & ~beats["flagged"].fillna(False).astype(bool).to_numpy()
    return ok


def _trusted_mask(beats):
    """The beats figures and summaries rely on: status ok and not flagged -- or, when
    every ok beat is flagged (no usable template), the ok beats."""
    m = _ok_mask(beats)
    return m if m.any() else _ok_mask(beats, flagged=True)


def _position(fit, i):
    """Row position of beat ``i`` (an int row position; negative counts from the end)."""
    n = len(fit.beats)
    if n == 0:
        raise ValueError("the fit holds no beats")
    i = int(i)
    if not -n <= i < n:
        raise IndexError(f"beat {i} out of range: the fit holds beats 0..{n - 1}")
    return i % n


def typical_beat(fit):
    """Row position of a typical beat: status ok, not flagged, P and T present where
    possible, with the PRD closest to the median PRD of those beats."""
    b = fit.beats
    if len(b) == 0:
        raise ValueError("the fit holds no beats")
    prd = b["prd"].to_numpy(dtype=float) if "prd" in b else np.zeros(len(b))
    candidates = [_ok_mask(b), (b["status"] == "ok").to_numpy() if "status" in b else None,
                  np.isfinite(prd)]
    if "P_present" in b and "T_present" in b:
        pt = b["P_present"].fillna(False).astype(bool) & b["T_present"].fillna(False).astype(bool)
        candidates.insert(0, _ok_mask(b) & pt.to_numpy())
    for mask in candidates:
        if mask is not None and np.any(mask & np.isfinite(prd)):
            idx = np.flatnonzero(mask & np.isfinite(prd))
            med = np.median(prd[idx])
            return int(idx[np.argmin(np.abs(prd[idx] - med))])
    return 0


def _n_base(fit):
    """Number of baseline polynomial coefficients of the fit (``baseline_c0, c1, ...``)."""
    nb = getattr(fit, "n_base", None) or (fit.info or {}).get("n_base")
    if nb:
        return int(nb)
    return max(1, sum(1 for c in fit.beats.columns if str(c).startswith("baseline_c")))


def _param_columns(fit):
    from .lineshapes import GMF_PARAMS, STEP_PARAMS
    return ([f"{w}_{p}" for w in fit.waves for p in GMF_PARAMS]
            + [f"{s}_{p}" for s in fit.steps for p in STEP_PARAMS]
            + [f"baseline_c{j}" for j in range(_n_base(fit))])


def _param_matrix(fit):
    p = getattr(fit, "params", None)
    cols = _param_columns(fit)
    if p is not None and np.shape(p) == (len(fit.beats), len(cols)):
        return np.asarray(p, dtype=float)
    return fit.beats.reindex(columns=cols).to_numpy(dtype=float)


def _mark_fiducials(ax, fid_ms, extra_axes=(), labels=True):
    """Dashed vertical lines at onsets/offsets (ms) and, above the axes, their names.

    ``fid_ms``: boundary name -> time in ms (NaN: not drawn).  Returns the names drawn.
    """
    drawn = []
    for name, (key, text) in FIDUCIAL_LABELS.items():
        x = fid_ms.get(name, np.nan)
        if x is None or not np.isfinite(x):
            continue
        c = wave_color(key)
        ls = (0, (4, 2)) if name.endswith("_on") else (0, (1.5, 1.5))
        ax.axvline(x, color=c, lw=1.0, ls=ls, zorder=1.5, gid=f"fiducial-{name}")
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


def _robust_limits(v, lo=0.5, hi=99.5, pad=0.12):
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    a, b = np.percentile(v, [lo, hi])
    span = b - a if b > a else (abs(a) * 0.1 + 1e-9)
    return a - pad * span, b + pad * span


# ---------------------------------------------------------------------------------
# one beat
# ---------------------------------------------------------------------------------
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
        skipped (draw it yourself from ``fit.beat(i).residual`` if you want it).
    components : fill each component (on the fitted baseline) in its wave colour and
        hatch, outline it and label it P, Q, R, S or T at its extremum.  Waves the fit
        found absent (``P_present``/``T_present`` false, NaN fiducials) and components
        below 1% of the largest one are not drawn; the title names them.
    residual : draw the residual panel (only when ``ax`` is None).
    fiducials : dashed (onset) and dotted (offset) vertical lines at P on/off, QRS
        on/off and T on/off, named above the axes.

    x is time in ms from the R peak, y the record's unit (mV).  The title holds the
    record, the beat, its PRD (%) and its status.  Returns the beat's Axes.
    """
    i = _position(fit, i)
    rax = None
    if ax is None:
        fig = _figure(figsize=(8.8, 5.6), layout="constrained")
        if residual:
            ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        else:
            ax = fig.subplots()
    _draw_beat(fit, i, ax, rax, components, fiducials)
    return ax


def _draw_beat(fit, i, ax, rax, components=True, fiducials=True, legend=True):
    from matplotlib.colors import to_rgba

    bf = fit.beat(i)
    row = bf.row
    u = unit(fit)
    t = bf.t * 1e3
    has_fit = bf.fit.size > 0 and bool(np.all(np.isfinite(bf.fit)))
    if has_fit and "baseline" in bf.components:
        poly = np.broadcast_to(np.asarray(bf.components["baseline"], dtype=float), t.shape)
    else:
        poly = np.full(t.shape, float(np.nanmedian(bf.y)) if bf.y.size else 0.0)
    # the waves sit on the baseline plus the level-shift steps (ST): a tanh step moves
    # the level by -A before its center and +A after it, under every wave
    steps = [w for w in getattr(fit, "steps", ()) if w in bf.components]
    base = poly + sum((np.asarray(bf.components[w], dtype=float) for w in steps),
                      np.zeros(t.shape))

    ax.plot(t, bf.y, ls="none", marker="o", ms=2.6, mew=0, color=SAMPLE_COLOR, alpha=0.75,
            label="samples", gid="samples", zorder=3)
    if has_fit:
        ax.plot(t, bf.fit, color=FIT_COLOR, lw=1.5, label="fitted sum", gid="fit", zorder=4)
    ax.plot(t, poly, color=WAVE_COLORS["baseline"], lw=0.8, ls=":", zorder=0.5, gid="baseline",
            label="baseline" if has_fit else None)

    absent, small, extremes = [], [], []
    if components and has_fit:
        names = [w for w in bf.components if w != "baseline" and w not in steps]
        peak = {w: float(np.max(np.abs(bf.components[w]))) if bf.components[w].size else 0.0
                for w in names}
        biggest = max(peak.values()) if peak else 0.0
        for w in names:
            if w in ("P", "T") and not np.isfinite(bf.fiducials.get(f"{w}_on", np.nan)):
                absent.append(w)
                continue
            if w in ("P", "T") and f"{w}_present" in row and not bool(row[f"{w}_present"]):
                absent.append(w)
                continue
            if peak[w] < 0.01 * biggest:
                small.append(w)
                continue
            comp = bf.components[w]
            c, style = wave_color(w), _wave_style(w)
            visible = np.abs(comp) > 0.003 * peak[w]
            ax.fill_between(t, base, base + comp, where=visible, interpolate=True,
                            facecolor=to_rgba(c, 0.30), edgecolor=c, linewidth=0,
                            hatch=style["hatch"], label=w, gid=f"component-{w}", zorder=2)
            ax.plot(t, np.where(visible, base + comp, np.nan), color=c, lw=1.1,
                    ls=style["linestyle"], zorder=2.5, gid=f"outline-{w}")
            k = int(np.argmax(np.abs(comp)))
            up = comp[k] >= 0
            dx = {"Q": -5, "S": 5}.get(w, 0)
            extremes += [base[k] + comp[k]]
            ax.annotate(w, (t[k], base[k] + comp[k]), xytext=(dx, 5 if up else -5),
                        textcoords="offset points", ha="center", va="bottom" if up else "top",
                        color=c, fontsize=11, fontweight="bold", gid=f"label-{w}", zorder=6)

    if components and has_fit:
        for w in steps:       # a level shift: drawn as the line the waves sit on
            size = float(np.ptp(bf.components[w])) if bf.components[w].size else 0.0
            if size < 0.01 * max(float(np.ptp(bf.fit)), 1e-12):
                small.append(w)
                continue
            ax.plot(t, base, color=wave_color(w), lw=1.2, ls=_wave_style(w)["linestyle"],
                    label=f"baseline + {w} step", gid=f"component-{w}", zorder=2.5)

    if fiducials:
        fid_ms = {k: v * 1e3 for k, v in bf.fiducials.items()}
        _mark_fiducials(ax, fid_ms, extra_axes=[rax] if rax is not None else [])

    # title: record, beat, PRD, status
    prd = row.get("prd", np.nan)
    parts = [f"{_record_name(fit)} — beat {int(row.get('beat', i))} "
             f"(R at {row['r_peak_s']:.2f} s)"]
    parts.append(f"PRD {prd:.1f}%" if np.isfinite(prd) else "PRD n/a")
    status = str(row.get("status", ""))
    if status and status != "ok":
        parts.append(f"status {status}")
    if bool(row.get("flagged", False)):
        parts.append("flagged: unlike the template")
    title = " · ".join(parts)
    notes = []
    if absent:
        notes.append(f"{'/'.join(absent)} absent")
    if small:
        notes.append(f"{'/'.join(small)} negligible (not drawn)")
    if not has_fit:
        reason = str(row.get("reason", "")) or "no fit"
        notes.append(f"not fitted: {reason}")
    if notes:
        title += "\n" + "; ".join(notes)
    ax.set_title(title, fontsize=10)

    ax.set_ylabel(f"amplitude ({u})")
    lim = _robust_limits(np.concatenate([bf.y, bf.fit if has_fit else [], extremes]),
                         0, 100, 0.04)
    if lim is not None:
        lo, hi = lim
        ax.set_ylim(lo - 0.07 * (hi - lo), hi + 0.10 * (hi - lo))   # room for the labels
    ax.set_xlim(t[0], t[-1]) if t.size else None
    ax.spines[["top", "right"]].set_visible(False)
    if legend:   # outside, right of the axes: it never hides a wave
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                  ncol=1, handlelength=1.6, borderaxespad=0.0)
    if rax is not None:
        res = bf.y - bf.fit if has_fit else np.full(t.size, np.nan)
        rax.plot(t, res, color=RESIDUAL_COLOR, lw=0.9, gid="residual")
        rax.axhline(0.0, color="0.6", lw=0.7)
        m = np.nanmax(np.abs(res)) if np.any(np.isfinite(res)) else 1.0
        rax.set_ylim(-1.2 * m, 1.2 * m)
        rax.set_ylabel(f"residual ({u})")
        rmse = row.get("rmse", np.nan)
        if np.isfinite(rmse):
            rax.text(0.005, 0.96, f"RMSE {rmse:.3f} {u}", transform=rax.transAxes,
                     ha="left", va="top", fontsize=8, color="0.25")
        rax.spines[["top", "right"]].set_visible(False)
        rax.set_xlabel("time from R peak (ms)")
    else:
        ax.set_xlabel("time from R peak (ms)")
    return ax


# ---------------------------------------------------------------------------------
# a record strip
# ---------------------------------------------------------------------------------
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
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MultipleLocator

    fs, sig = float(fit.fs), np.asarray(fit.signal, dtype=float)
    n = sig.size
    total = n / fs
    start = 0.0 if start is None else float(start)
    if not 0 <= start < total:
        raise ValueError(f"start={start} s is outside the record (0 to {total:.1f} s)")
    a = int(round(start * fs))
    b = min(n, a + max(int(round(float(duration) * fs)), 2))
    t0, t1 = a / fs, b / fs
    u = unit(fit)
    t = np.arange(a, b) / fs
    y = sig[a:b]
    fin = y[np.isfinite(y)]
    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (-1.0, 1.0)
    span = max(hi - lo, 1e-6)
    if ax is None:
        width = float(np.clip(0.9 * (t1 - t0) + 1.3, 6.0, 18.0))
        # at 25 mm/s and 10 mm/mV the strip is 0.4 * span / duration as high as wide
        if grid:   # squares stay square: the axes is 0.4 * (mV range) / (s range) as high as wide
            yr = (np.ceil((hi + 0.24 * span) / 0.5) - np.floor((lo - 0.06 * span) / 0.5)) * 0.5
            height = 1.05 + 0.4 * yr / max(t1 - t0, 1e-3) * (width - 1.0)
        else:
            height = 3.2
        fig = _figure(figsize=(width, float(np.clip(height, 1.8, 8.0))), layout="constrained")
        ax = fig.subplots()
    ax.plot(t, y, color="0.55", lw=2.0, alpha=0.9, label="signal (cleaned)",
            gid="signal", zorder=2, solid_capstyle="round")

    beats = fit.beats
    r = beats["r_peak_s"].to_numpy(dtype=float) if len(beats) else np.zeros(0)
    ws = beats["window_start_s"].to_numpy(dtype=float) if len(beats) else np.zeros(0)
    we = beats["window_end_s"].to_numpy(dtype=float) if len(beats) else np.zeros(0)
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

    ymark = hi + 0.10 * span
    inside = np.flatnonzero((r >= t0) & (r < t1))
    good = _ok_mask(beats.iloc[inside]) if inside.size else np.zeros(0, bool)
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
    top = ymark + 0.14 * span
    bottom = lo - 0.06 * span
    ax.set_xlim(t0, t1)
    if grid:
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
    else:
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("time (s)", loc="left")
    ax.set_ylabel(f"amplitude ({u})")
    n_in = inside.size
    title = (f"{_record_name(fit)} — {t1 - t0:.0f} s from {t0:.1f} s: {n_in} beats"
             + (f", {bad_i.size} flagged or not ok" if bad_i.size else ""))
    if grid:
        title += "   (25 mm/s, 10 mm/mV)"
    ax.set_title(title, fontsize=10, loc="left")
    # the legend sits below the tick labels, on the row of the (left-aligned) x label
    from matplotlib.transforms import ScaledTranslation
    below = ax.transAxes + ScaledTranslation(0, -0.24, ax.figure.dpi_scale_trans)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.0), bbox_transform=below, fontsize=8,
              ncol=4, frameon=False, borderaxespad=0.0, handlelength=1.8)
    return ax


# ---------------------------------------------------------------------------------
# superimposed beats
# ---------------------------------------------------------------------------------
def template(fit, ax=None, max_beats=300):
    """All beats (up to ``max_beats``, evenly spread) superimposed, aligned at their R
    peak, with the median fitted beat on top.

    Each beat is drawn minus its fitted baseline (the ``baseline_c*`` polynomial) so the
    beats share a zero line: thin grey lines for ok beats, thin red ones for flagged or not-ok beats.
    On top: the pointwise median of the fitted curves of the ok, unflagged beats (all ok
    beats when every one is flagged) (black)
    with their interquartile band, and the median onsets/offsets (dashed/dotted lines).
    x is ms from the R peak.  Returns the Axes.
    """
    from matplotlib.collections import LineCollection

    from .core import mesa_sum

    beats = fit.beats
    fs, sig = float(fit.fs), np.asarray(fit.signal, dtype=float)
    u = unit(fit)
    if ax is None:
        fig = _figure(figsize=(7.5, 5.0), layout="constrained")
        ax = fig.subplots()
    if len(beats) == 0:
        ax.set_title(f"{_record_name(fit)}: no beats")
        return ax
    r = np.round(beats["r_peak_s"].to_numpy(dtype=float) * fs).astype(np.int64)
    pre = int(np.nanmedian(r - np.round(beats["window_start_s"].to_numpy(dtype=float) * fs)))
    post = int(np.nanmedian(np.round(beats["window_end_s"].to_numpy(dtype=float) * fs) - r))
    offs = np.arange(-pre, post)
    t_ms = offs / fs * 1e3
    params = _param_matrix(fit)
    nb = _n_base(fit)
    coef = params[:, params.shape[1] - nb:]
    fitted = np.all(np.isfinite(params), axis=1)
    t_s = offs / fs
    powers = t_s[None, :] ** np.arange(nb)[:, None]          # (nb, n)
    inside = (r - pre >= 0) & (r + post <= sig.size)
    ok = _trusted_mask(beats) & fitted
    draw = np.flatnonzero(inside)
    if draw.size > max_beats:
        draw = draw[np.linspace(0, draw.size - 1, max_beats).astype(int)]
    segs_ok, segs_bad = [], []
    for j in draw:
        yj = sig[r[j] + offs]
        # each beat minus its own fitted baseline (or its median when it was not fitted)
        yj = yj - (coef[j] @ powers if fitted[j] else np.nanmedian(yj))
        (segs_ok if ok[j] else segs_bad).append(np.column_stack([t_ms, yj]))
    alpha = float(np.clip(6.0 / max(len(segs_ok), 1), 0.04, 0.5))
    ax.add_collection(LineCollection(segs_ok, colors=[(0.35, 0.35, 0.35, alpha)], lw=0.6,
                                     label=f"{len(segs_ok)} ok beats", gid="beats-ok",
                                     zorder=1))
    if segs_bad:
        ax.add_collection(LineCollection(segs_bad, colors=[(0.70, 0.09, 0.17, 0.35)], lw=0.6,
                                         label=f"{len(segs_bad)} flagged or not ok",
                                         gid="beats-flagged", zorder=1.2))
    # median fitted beat over (up to 2000 of) the ok beats
    use = np.flatnonzero(ok)
    if use.size > 2000:
        use = use[np.linspace(0, use.size - 1, 2000).astype(int)]
    n_steps = len(fit.steps)
    if use.size:
        curves = np.array([mesa_sum(t_s, params[j], baseline=nb - 1, steps=n_steps)
                           - coef[j] @ powers for j in use])
        q25, med, q75 = np.percentile(curves, [25, 50, 75], axis=0)
        ax.fill_between(t_ms, q25, q75, color=FIT_COLOR, alpha=0.15, lw=0,
                        label="fits: interquartile range", gid="fit-iqr", zorder=2)
        ax.plot(t_ms, med, color=FIT_COLOR, lw=2.0, label=f"median fit ({use.size} beats)",
                gid="median-fit", zorder=3)
        fid = {}
        for name in FIDUCIAL_LABELS:
            col = f"{name}_s"
            if col in beats:
                v = (beats[col].to_numpy(dtype=float) - beats["r_peak_s"].to_numpy(dtype=float))
                v = v[use]
                v = v[np.isfinite(v)]
                # a wave found in fewer than half of the beats gets no median boundary
                fid[name] = np.median(v) * 1e3 if v.size >= 0.5 * use.size else np.nan
        _mark_fiducials(ax, fid)
    # limits: the ok beats' 1-99% envelope and the whole median fit
    if segs_ok:
        env = np.percentile(np.array([seg[:, 1] for seg in segs_ok]), [1, 99], axis=0)
        everything = np.concatenate([env.ravel(), med if use.size else []])
    else:
        everything = np.concatenate([seg[:, 1] for seg in segs_bad]) if segs_bad else np.zeros(1)
    lim = _robust_limits(everything, 0, 100, 0.06)
    if lim is not None:
        ax.set_ylim(*lim)
    ax.set_xlim(t_ms[0], t_ms[-1])
    ax.axhline(0.0, color=WAVE_COLORS["baseline"], lw=0.6, ls=":", zorder=0.5)
    ax.set_xlabel("time from R peak (ms)")
    ax.set_ylabel(f"amplitude − beat baseline ({u})")
    ax.set_title(f"{_record_name(fit)} — {draw.size} of {len(beats)} beats superimposed",
                 fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    fallback = not _ok_mask(beats).any()
    handles = [Line2D([], [], color="0.55", lw=1.0, label=f"{len(segs_ok)} ok beats"
                      + (" (every one flagged)" if fallback and segs_ok else ""))]
    if segs_bad:
        handles.append(Line2D([], [], color=FLAG_COLOR, lw=1.0, alpha=0.6,
                              label=f"{len(segs_bad)} flagged or not ok"))
    if use.size:
        handles += [Patch(color=FIT_COLOR, alpha=0.15, lw=0, label="fits: interquartile range"),
                    Line2D([], [], color=FIT_COLOR, lw=2.0, label=f"median fit ({use.size} beats)")]
    ax.legend(handles=handles, loc="best", fontsize=8, frameon=True, framealpha=0.9,
              facecolor="white", edgecolor="none")
    return ax


# ---------------------------------------------------------------------------------
# trends
# ---------------------------------------------------------------------------------
_COLUMN_LABELS = {
    "rr_s": "RR (s)", "rr_ms": "RR (ms)", "pr_ms": "PR (ms)", "qrs_ms": "QRS (ms)",
    "qt_ms": "QT (ms)", "qtc_ms": "QTc Bazett (ms)", "qtc_fridericia_ms": "QTc Fridericia (ms)",
    "prd": "PRD (%)", "r2": "R²", "template_corr": "correlation with template",
    "nit": "solver iterations", "r_peak_s": "R peak (s)",
}


def column_label(column, u="mV"):
    """Axis label with unit for a column of the per-beat table."""
    if column in _COLUMN_LABELS:
        return _COLUMN_LABELS[column]
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


def trends(fit, columns=("qt_ms", "T_amplitude", "rr_s"), ax=None, window=None):
    """Columns of the per-beat table over time, ok beats only, with a rolling median.

    Parameters
    ----------
    columns : names of columns of ``fit.beats`` (intervals such as ``qt_ms``, wave
        parameters such as ``T_amplitude``, ``rr_s``, ``prd`` ...).
    ax : None -> a new Figure with one panel per column sharing the time axis, and the
        **Figure** is returned; a sequence of Axes (one per column) -> drawn into and
        returned as a list; a single Axes (one column only) -> that Axes is returned.
    window : rolling-median length in beats (default: the odd number nearest the square
        root of the number of ok beats, between 5 and 301).

    Only beats with status ``ok`` that are not flagged (unlike the template, e.g.
    ectopic) are shown (all ok beats when every one is flagged).  Time runs in s for records up to 10 min, in min up to 3 h and
    in h beyond.  Axis limits follow the 0.5-99.5 percentiles so a few wild beats do
    not flatten the panel (the count left outside is noted in the panel).
    """
    import pandas as pd

    columns = [columns] if isinstance(columns, str) else list(columns)
    beats = fit.beats
    missing = [c for c in columns if c not in beats.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the per-beat table; "
                       f"available: {', '.join(map(str, beats.columns))}")
    if ax is None:
        fig = _figure(figsize=(9.0, 1.2 + 1.9 * len(columns)), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]))
        out = fig
    elif hasattr(ax, "plot"):
        if len(columns) != 1:
            raise ValueError(f"one Axes given for {len(columns)} columns; give a sequence "
                             "of Axes, one per column, or ax=None")
        axes, out = [ax], ax
    else:
        axes = list(ax)
        if len(axes) != len(columns):
            raise ValueError(f"{len(axes)} Axes given for {len(columns)} columns")
        out = axes
    total = fit.signal.size / float(fit.fs) if fit.signal is not None else 0.0
    scale, tunit = (1.0, "s") if total <= 600 else (60.0, "min") if total <= 3 * 3600 \
        else (3600.0, "h")
    ok = _trusted_mask(beats)
    x = beats["r_peak_s"].to_numpy(dtype=float)[ok] / scale
    n_ok = int(ok.sum())
    w = int(window) if window else int(np.clip(round(np.sqrt(n_ok)), 5, 301)) | 1
    u = unit(fit)
    for a, col in zip(axes, columns):
        v = pd.to_numeric(beats[col], errors="coerce").to_numpy(dtype=float)[ok]
        m = np.isfinite(v)
        wave = col.split("_", 1)[0]
        c = WAVE_COLORS[wave] if wave in WAVE_COLORS and wave != "baseline" else "0.35"
        if m.any():
            dots = dict(ms=4.0 if m.sum() < 300 else 2.4, alpha=float(np.clip(150 / m.sum(), 0.3, 0.8)))
            a.plot(x[m], v[m], ls="none", marker="o", mew=0, color=c, **dots,
                   label="ok beats", gid=f"trend-{col}", zorder=2)
            roll = pd.Series(v[m]).rolling(w, center=True, min_periods=max(3, w // 3)).median()
            a.plot(x[m], roll.to_numpy(), color="black", lw=1.5,
                   label=f"rolling median ({w} beats)", gid=f"rolling-{col}", zorder=3)
            lim = _robust_limits(v[m])
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
    axes[-1].set_xlabel(f"time ({tunit})")
    if x.size:
        axes[-1].set_xlim(0, total / scale if total else x.max())
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.85,
                       edgecolor="none", ncol=2, markerscale=2)
    if ax is None:
        every_flagged = n_ok and not _ok_mask(beats).any()
        out.suptitle(f"{_record_name(fit)} — {n_ok} ok beats of {len(beats)}"
                     + (" (all flagged as unlike the template)" if every_flagged else ""),
                     fontsize=10)
    return out


# ---------------------------------------------------------------------------------
# a record at a glance: strip + typical beat (used by ``gmesa plot``)
# ---------------------------------------------------------------------------------
def overview(fit, i=None, start=None, duration=10, grid=False):
    """Figure with a record strip on top and one beat (default: a typical one) with its
    residual below.  Returns the Figure."""
    i = typical_beat(fit) if i is None else _position(fit, i)
    fig = _figure(figsize=(11.0, 8.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.55])
    ax_r = top.subplots()
    record(fit, start=start, duration=duration, ax=ax_r, grid=grid)
    ax_b, ax_res = bottom.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    _draw_beat(fit, i, ax_b, ax_res)
    return fig


from .plot_decomposition import decomposition, pulses, pulses_overview  # noqa: E402,F401  (issue 19)
