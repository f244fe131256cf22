"""Plotting module of gmesa.

matplotlib is imported lazily inside the functions, so ``import gmesa`` stays light.
Axes-level helpers take ``ax=None`` and return what they drew into; figure-level helpers
return the Figure.  Nothing here calls ``plt.show()``.
"""
from __future__ import annotations

import numpy as np

#: one colour per ECG wave (ColorBrewer Dark2), used by every gmesa figure
WAVE_COLORS = {
    "P": "#1b9e77",
    "Q": "#7570b3",
    "R": "#d95f02",
    "S": "#e7298a",
    "T": "#66a61e",
    "ST": "#a6761d",
    "baseline": "#666666",
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
