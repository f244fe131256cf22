"""The theory figure of docs/theory.md (:func:`construction`): how the Gaussian mesa
function is built from two ReLUs."""
from __future__ import annotations

import numpy as np

# the example mesa of the figure and its colours
_MU, _DELTA, _S_LEFT, _S_RIGHT, _AMP = 0.0, 0.6, 0.45, 0.9, 1.0
_RIGHT, _LEFT, _TOTAL = "#d95f02", "#1b9e77", "black"
_BAND = dict(color="0.75", lw=7, solid_capstyle="butt", zorder=1)
_PLATEAU = dict(color="0.9", zorder=0, lw=0)
_EDGES = [_MU - _DELTA, _MU, _MU + _DELTA]
_EDGE_LABELS = [r"$\mu-\delta$", r"$\mu$", r"$\mu+\delta$"]


def construction(ax=None):
    """The theory figure (docs/theory.md): how the GMF is built from two ReLUs.

    A: relu(z) + relu(-z) = |z| (the V).  B: the two ReLUs pulled apart by the
    half-width delta and scaled by 1/sigma_left, 1/sigma_right, giving the mesa distance
    D (the tub).  C: the mesa A exp(-D**2 / 2) beside a plain Gaussian.

    ``ax``: None (a new 12 x 3.6 inch Figure with three panels is created and returned)
    or a sequence of three Axes (drawn into and returned).
    """
    from matplotlib.figure import Figure

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
    _the_v(ax_a)
    _the_tub(ax_b)
    _the_mesa(ax_c)
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
    return out


def _the_v(ax):
    """A: |z| = relu(z) + relu(-z)."""
    from ..lineshapes import relu

    z = np.linspace(-2.5, 2.5, 501)
    ax.plot(z, np.abs(z), label=r"$|z|$ = sum", **_BAND)
    ax.plot(z, relu(z), color=_RIGHT, lw=1.8, ls="-", label=r"ReLU$(z)$", zorder=3)
    ax.plot(z, relu(-z), color=_LEFT, lw=1.8, ls="--", label=r"ReLU$(-z)$", zorder=3)
    ax.set(title=r"A   $|z| = \mathrm{ReLU}(z) + \mathrm{ReLU}(-z)$",
           xlabel=r"$z = (x-\mu)/\sigma$", ylabel="distance", ylim=(-0.15, 2.9))
    ax.legend(loc="upper center", fontsize=9, frameon=False)


def _the_tub(ax):
    """B: the mesa distance D, two ReLUs pulled apart and scaled."""
    from ..lineshapes import mesa_distance, relu

    x = np.linspace(-2.5, 2.5, 1001)
    d = mesa_distance(x, _MU, _DELTA, _S_LEFT, _S_RIGHT)
    ax.axvspan(_MU - _DELTA, _MU + _DELTA, **_PLATEAU)
    ax.plot(x, d, label=r"$D$ = sum", **_BAND)
    ax.plot(x, relu(x - _MU - _DELTA) / _S_RIGHT, color=_RIGHT, lw=1.8, ls="-",
            label=r"ReLU$(x-\mu-\delta)/\sigma_{right}$", zorder=3)
    ax.plot(x, relu(_MU - x - _DELTA) / _S_LEFT, color=_LEFT, lw=1.8, ls="--",
            label=r"ReLU$(\mu-x-\delta)/\sigma_{left}$", zorder=3)
    ax.text(_MU, 0.12, "plateau\n$D=0$", ha="center", va="bottom", fontsize=9)
    ax.annotate(r"slope $-1/\sigma_{left}$", xy=(-1.35, 1.67), xytext=(-1.2, 2.55),
                fontsize=9, ha="left", arrowprops=dict(arrowstyle="-", color="0.4"))
    ax.annotate(r"slope $1/\sigma_{right}$", xy=(1.9, 1.44), xytext=(1.75, 0.45),
                fontsize=9, ha="center", arrowprops=dict(arrowstyle="-", color="0.4"))
    ax.set(title=r"B   mesa distance $D$ (the tub)", xlabel=r"$x$", ylabel="distance",
           ylim=(-0.15, 4.3), xticks=_EDGES, xticklabels=_EDGE_LABELS)
    ax.legend(loc="upper center", fontsize=8, frameon=False)


def _the_mesa(ax):
    """C: the mesa A exp(-D**2/2) with its widths, beside a plain Gaussian."""
    from ..lineshapes import gmf

    mu, delta, s_left, s_right = _MU, _DELTA, _S_LEFT, _S_RIGHT
    x = np.linspace(-2.5, 2.5, 1001)
    y = gmf(x, _AMP, mu, delta, s_left, s_right)
    s_plain = 0.7
    ax.axvspan(mu - delta, mu + delta, label="plateau", **_PLATEAU)
    ax.plot(x, _AMP * np.exp(-0.5 * ((x - mu) / s_plain) ** 2), color="0.35", lw=1.5, ls=":",
            label=r"Gaussian ($\delta=0$)")
    ax.plot(x, y, color=_TOTAL, lw=2.2, label="GMF")
    level = np.exp(-0.5)
    arrow = dict(arrowstyle="<->", color="0.2", lw=1.0, shrinkA=0, shrinkB=0)
    ax.annotate("", xy=(mu - delta - s_left, level), xytext=(mu - delta, level), arrowprops=arrow)
    ax.annotate("", xy=(mu + delta, level), xytext=(mu + delta + s_right, level), arrowprops=arrow)
    ax.annotate("", xy=(mu - delta, 1.07), xytext=(mu + delta, 1.07), arrowprops=arrow)
    ax.text(mu - delta - s_left - 0.1, level, r"$\sigma_{left}$", ha="right", va="center",
            fontsize=10)
    ax.text(mu + delta + s_right / 2, level - 0.04, r"$\sigma_{right}$", ha="center", va="top",
            fontsize=10)
    ax.text(mu, 1.09, r"$2\delta$", ha="center", va="bottom", fontsize=10)
    ax.set(title=r"C   mesa $A\,\exp(-D^2/2)$", xlabel=r"$x$", ylabel=r"value ($A=1$)",
           ylim=(-0.03, 1.42), xticks=_EDGES, xticklabels=_EDGE_LABELS)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
