"""Figures of any mesa fit: one curve with its components, and a pulse train.

:func:`decomposition` draws one fitted curve -- a :class:`gmesa.Decomposition`, curve
``i`` of a :class:`gmesa.ManyFit` (with its ``x`` and ``y``), an lmfit ``ModelResult`` of a
:class:`gmesa.MesaSumModel`, or pulse ``i`` of a :class:`gmesa.PulseFit` -- as samples,
fitted sum, components (filled, on the baseline), baseline and residual.
:func:`pulses` draws a strip of a pulse signal with the fitted pulses and their flags.

Both take ``ax=None`` (a new figure) or an Axes, and return the Axes they drew into.
matplotlib is imported inside the functions; a new figure uses pyplot when pyplot is
already imported and a bare Figure otherwise (as the rest of :mod:`gmesa.plot` does).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .style import new_figure

#: component colours, in order (ColorBrewer Dark2), and the other parts' colours
COMPONENT_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                    "#a6761d", "#1f78b4")
SAMPLE_COLOR, FIT_COLOR, BASELINE_COLOR, FLAG_COLOR = "#4d4d4d", "black", "#666666", "#b2182b"


class Curve(NamedTuple):
    """One fitted curve, whatever fitted it."""
    x: np.ndarray
    y: np.ndarray
    fit: np.ndarray
    components: dict          # name -> values; "baseline" among them when there is one
    title: str


def _parts(x, vec, k, steps, nb):
    """Components (and steps, and the baseline) of a flat vector at x."""
    from ..core import Layout, mesa_sum

    lay = Layout(k, steps, nb - 1 if nb else "none")
    out = {}
    for j in range(k):
        out[f"g{j}"] = mesa_sum(x, vec[lay.wave(j)], baseline="none")
    for j in range(steps):
        out[f"step{j}"] = mesa_sum(x, vec[lay.step(j)], baseline="none", steps=1)
    if nb:
        out["baseline"] = mesa_sum(x, vec[lay.baseline_slice], baseline=nb - 1)
    return out


def _from_many(fit, i, x, y, baseline, steps):
    from ..core import baseline_size, layout, mesa_sum

    if i is None or x is None or y is None:
        raise ValueError("a ManyFit holds many curves: give i= (the curve) and its x= and y= "
                         "(the arrays passed to fit_many)")
    n = fit.params.shape[0]
    if not -n <= int(i) < n:
        raise IndexError(f"curve {i} out of range: the fit holds curves 0..{n - 1}")
    i = int(i) % n
    X, Y = np.asarray(x, float), np.asarray(y, float)
    xr = X[i] if X.ndim == 2 else X
    yr = Y[i] if Y.ndim == 2 else Y
    if xr.shape != yr.shape:
        raise ValueError(f"x has {xr.size} samples for curve {i} but y has {yr.size}")
    vec = fit.params[i]
    nb = baseline_size(baseline)
    k = layout(vec.size, baseline, steps)
    keep = np.isfinite(xr)
    xr, yr = xr[keep], yr[keep]
    fitted = mesa_sum(xr, vec, baseline=baseline, steps=steps)
    title = f"curve {i}: {fit.message(i)} (cost {fit.cost[i]:.3g}, {int(fit.nit[i])} iterations)"
    return Curve(xr, yr, fitted, _parts(xr, vec, k, steps, nb), title)


def _from_lmfit(res):
    model = res.model
    if not hasattr(model, "names") or not hasattr(model, "vector"):
        raise TypeError("an lmfit ModelResult is drawn when its model is a gmesa.MesaSumModel; "
                        f"got {type(model).__name__}")
    xname = model.independent_vars[0]
    x = np.asarray(res.userkws[xname], float)
    comps = model.eval_components(params=res.params, **{xname: x})
    title = f"lmfit {res.method}: {res.message}".strip()
    return Curve(x, np.asarray(res.data, float), np.asarray(res.best_fit, float), comps, title)


def _from_decomposition(dec):
    title = (f"{dec.n_components} {dec.shape} components ({dec.criterion.upper()}), "
             f"PRD {dec.prd:.2f}%")
    y = np.where(dec.weights > 0, dec.y, np.nan)
    return Curve(dec.x, y, dec.eval(), dec.components(), title)


def _from_pulses(fit, i):
    if i is None:
        raise ValueError("a PulseFit holds many pulses: give i= (a row of fit.pulses)")
    p = fit.pulse(i)
    r = p.row
    title = (f"pulse {int(r['pulse'])} (onset {r['onset_s']:.2f} s): PRD {r['prd']:.2f}%, "
             f"{r['status']}")
    if r["reason"]:
        title += f"\n{r['reason']}"
    fitted = p.fit if p.components else np.full(p.t.size, np.nan)
    return Curve(p.t, p.y, fitted, dict(p.components), title)


def as_curve(fit, x=None, y=None, i=None, baseline="constant", steps=0) -> Curve:
    """The :class:`Curve` of any accepted fit (see :func:`decomposition`)."""
    kind = type(fit).__name__
    if kind == "Decomposition":
        return _from_decomposition(fit)
    if kind == "ManyFit":
        return _from_many(fit, i, x, y, baseline, steps)
    if kind == "PulseFit":
        return _from_pulses(fit, i)
    if kind == "ModelResult" or hasattr(fit, "best_fit"):
        return _from_lmfit(fit)
    raise TypeError(f"cannot draw a {kind}: give a gmesa.Decomposition, a ManyFit with i=, "
                    "x= and y=, a PulseFit with i=, or an lmfit ModelResult of a MesaSumModel")


def _draw_components(ax, c):
    from matplotlib.colors import to_rgba

    base = np.asarray(c.components.get("baseline", np.zeros_like(c.x)), float)
    base = np.broadcast_to(base, c.x.shape)
    names = [n for n in c.components if n != "baseline"]
    peak = {n: float(np.max(np.abs(c.components[n]))) for n in names}
    for j, n in enumerate(names):
        comp = np.asarray(c.components[n], float)
        col = COMPONENT_COLORS[j % len(COMPONENT_COLORS)]
        visible = np.abs(comp) > 1e-3 * max(peak[n], 1e-300)
        ax.fill_between(c.x, base, base + comp, where=visible, interpolate=True,
                        facecolor=to_rgba(col, 0.28), edgecolor=col, linewidth=0,
                        label=n, gid=f"component-{n}", zorder=2)
        ax.plot(c.x, np.where(visible, base + comp, np.nan), color=col, lw=1.1, zorder=2.5)
        k = int(np.argmax(np.abs(comp)))
        up = comp[k] >= 0
        ax.annotate(n, (c.x[k], base[k] + comp[k]), xytext=(0, 4 if up else -4),
                    textcoords="offset points", ha="center", va="bottom" if up else "top",
                    color=col, fontsize=9, fontweight="bold", gid=f"label-{n}", zorder=6)
    if "baseline" in c.components:
        ax.plot(c.x, base, color=BASELINE_COLOR, lw=0.9, ls="--", label="baseline",
                gid="baseline", zorder=1.5)


def decomposition(fit, ax=None, x=None, y=None, i=None, *, baseline="constant", steps=0,
                  residual=True, xlabel="x", ylabel="y"):
    """Draw one fitted curve: samples, fitted sum, components, baseline and residual.

    Parameters
    ----------
    fit : a :class:`gmesa.Decomposition`; a :class:`gmesa.ManyFit` with ``i`` (the curve)
        and its ``x`` (n,) or (N, n) and ``y`` (N, n) or (n,) -- and the ``baseline`` and
        ``steps`` it was fitted with; a :class:`gmesa.PulseFit` with ``i`` (the pulse); or
        an lmfit ``ModelResult`` of a :class:`gmesa.MesaSumModel`.
    ax : None: a new figure with the curve on top and the residual below (the residual
        Axes is ``ax.figure.axes[1]``).  An Axes: everything drawn into it, the residual
        shifted below the samples (dotted, labelled).
    residual : draw the residual.
    xlabel, ylabel : axis labels.

    Each component is filled between the baseline and baseline + component and named at
    its extremum.  Returns the Axes of the curve.
    """
    c = as_curve(fit, x, y, i, baseline, steps)
    rax = None
    if ax is None:
        fig = new_figure(figsize=(8.4, 5.4), layout="constrained")
        if residual:
            ax, rax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        else:
            ax = fig.subplots()
    ax.plot(c.x, c.y, ls="none", marker="o", ms=2.4, mew=0, color=SAMPLE_COLOR, alpha=0.7,
            label="samples", gid="samples", zorder=3)
    has_fit = bool(np.any(np.isfinite(c.fit)))
    if has_fit:
        ax.plot(c.x, c.fit, color=FIT_COLOR, lw=1.4, label="fitted sum", gid="fit", zorder=4)
        _draw_components(ax, c)
    res = c.y - c.fit
    if residual and has_fit:
        if rax is not None:
            rax.plot(c.x, res, color=SAMPLE_COLOR, lw=0.9, gid="residual")
            rax.axhline(0.0, color="0.6", lw=0.7)
            rax.set_ylabel("residual")
            rax.set_xlabel(xlabel)
            rax.spines[["top", "right"]].set_visible(False)
        else:
            lo = float(np.nanmin(np.r_[c.y, c.fit]))
            span = float(np.nanmax(np.r_[c.y, c.fit])) - lo or 1.0
            shift = lo - 0.08 * span - float(np.nanmax(res))
            ax.plot(c.x, res + shift, color=SAMPLE_COLOR, lw=0.8, ls=":", gid="residual",
                    label="residual (offset)", zorder=3)
            ax.axhline(shift, color="0.75", lw=0.6, zorder=1)
    if rax is None:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(c.title, fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              borderaxespad=0.0)
    return ax


def pulses(fit, start=None, duration=10.0, ax=None):
    """A strip of a :class:`gmesa.PulseFit`'s signal with every fitted pulse overlaid.

    Onsets are marked at the pulses' feet (triangles; a red cross and a light red band
    over the window of a pulse that is flagged or failed, with its number).  ``start`` and
    ``duration`` in s (default: the first ``duration`` seconds).  Returns the Axes.
    """
    fs, sig = float(fit.fs), np.asarray(fit.signal, float)
    total = sig.size / fs
    t0 = 0.0 if start is None else float(start)
    if not 0 <= t0 < total:
        raise ValueError(f"start={t0} s is outside the signal (0 to {total:.1f} s)")
    t1 = min(total, t0 + float(duration))
    if ax is None:
        fig = new_figure(figsize=(float(np.clip(0.9 * (t1 - t0) + 1.5, 6, 18)), 3.4),
                          layout="constrained")
        ax = fig.subplots()
    a, b = int(t0 * fs), int(np.ceil(t1 * fs))
    ax.plot(np.arange(a, b) / fs, sig[a:b], color="0.6", lw=2.0, label="signal", gid="signal",
            zorder=2)
    tab = fit.pulses
    on, st, dur = (tab[c].to_numpy() for c in ("onset_s", "start_s", "duration_s"))
    inside = np.flatnonzero((st + dur > t0) & (st < t1))
    xs, ys = [], []
    for j in inside:
        p = fit.pulse(int(j))
        if p.components:
            xs += [p.t + st[j], [np.nan]]
            ys += [p.fit, [np.nan]]
    if xs:
        ax.plot(np.concatenate(xs), np.concatenate(ys), color=FIT_COLOR, lw=0.9,
                label="fitted pulses", gid="fit", zorder=3)
    ok = (tab["status"].to_numpy()[inside] == "ok")
    y_on = sig[np.clip(np.round(on[inside] * fs).astype(int), 0, sig.size - 1)]
    ax.plot(on[inside][ok], y_on[ok], ls="none", marker="^", ms=5, color="0.2",
            label="onset (ok)", gid="onsets-ok", zorder=5)
    bad = inside[~ok]
    if bad.size:
        ax.plot(on[bad], y_on[~ok], ls="none", marker="X", ms=7, color=FLAG_COLOR,
                label="flagged or failed", gid="onsets-flagged", zorder=5)
        for j in bad:
            ax.axvspan(max(st[j], t0), min(st[j] + dur[j], t1), color=FLAG_COLOR, alpha=0.08,
                       lw=0, zorder=0.5)
            ax.annotate(str(int(tab["pulse"].iloc[j])), (on[j], np.nanmax(sig[a:b])),
                        fontsize=7, color=FLAG_COLOR, ha="left", va="bottom")
    name = fit.info.get("record", "signal")
    lead = fit.info.get("lead")
    unit = fit.info.get("unit")
    ax.set_title(f"{name}{', ' + str(lead) if lead else ''} — {t1 - t0:.0f} s from {t0:.1f} s: "
                 f"{inside.size} pulses, {bad.size} flagged or failed "
                 f"(K = {fit.template.n_components})", fontsize=10, loc="left")
    ax.set_xlim(t0, t1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"signal ({unit})" if unit else "signal")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper right", fontsize=8, ncol=4, frameon=False)
    return ax


def pulses_overview(fit, i=None, start=None, duration=10.0):
    """Figure: the pulse strip on top, the template's decomposition and one pulse
    (default: the first ok one) below.  Returns the Figure."""
    tab = fit.pulses
    if i is None:
        ok = np.flatnonzero(tab["status"].to_numpy() == "ok")
        i = int(ok[0]) if ok.size else 0
    fig = new_figure(figsize=(13.0, 8.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.35])
    pulses(fit, start=start, duration=duration, ax=top.subplots())
    left, right = bottom.subplots(1, 2)
    unit = fit.info.get("unit")
    ylabel = f"signal ({unit})" if unit else "signal"
    decomposition(fit.template, ax=left, xlabel="time from the window's start, the valley before the foot (s)",
                  ylabel=ylabel.replace("signal", "template"))
    left.set_title("template (median pulse): " + left.get_title(loc="left"), fontsize=9,
                   loc="left")
    left.get_legend().remove()
    decomposition(fit, ax=right, i=i, xlabel="time from the window's start (s)", ylabel=ylabel)
    right.set_title(right.get_title(loc="left"), fontsize=9, loc="left")
    return fig
