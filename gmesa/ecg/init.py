"""Start values for the P, Q, R, S, T components read off one beat (or a template)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._deprecated import renamed_keywords
from ..core import Layout, baseline_spec
from ..guess import peak_params
from .waves import P_BEFORE_QRS, Q_BEFORE_QRS, REGIONS, TYPICAL_BEAT


class Bump(NamedTuple):
    """One wave's start values: amplitude (mV), center, half_width, sigma_left and
    sigma_right (s from R), in the order of :data:`gmesa.lineshapes.GMF_PARAMS`."""
    amplitude: float
    center: float
    half_width: float
    sigma_left: float
    sigma_right: float

    def edge(self, side, tails):
        """Plateau edge plus ``tails`` tail widths on ``side`` -1 (left) or +1 (right)."""
        if side < 0:
            return self.center - self.half_width - tails * self.sigma_left
        return self.center + self.half_width + tails * self.sigma_right


def _region(t, lo, hi):
    return (t >= lo) & (t <= hi)


def _bump(t, y, lo, hi, polarity=0.0, default=None):
    """:class:`Bump` of y inside [lo, hi] (:func:`~gmesa.guess.peak_params`); polarity
    +1/-1 keeps only that sign."""
    m = _region(t, lo, hi)
    if m.sum() < 3:
        return default
    yy = y[m]
    if polarity:
        yy = np.where(polarity * yy > 0, yy, 0.0)
    if not np.any(yy):
        return default
    return Bump(*peak_params(t[m], yy, robust=False))  # beats/templates: little noise


@renamed_keywords(n_base="n_baseline")
def guess_beat(t, y, names=("P", "Q", "R", "S", "T"), n_baseline=1, qrs_on=None,
               p_sign=0.0, t_latest=None):
    """Flat start vector for ``names`` + a baseline polynomial of ``n_baseline``
    coefficients (the beat's median level, no slope) from one beat.

    ``t`` is seconds relative to the R peak, ``y`` the cleaned beat (mV).  R is the
    extremum within 30 ms of t = 0, Q and S the largest deflections of opposite sign
    just before and after it, P the largest bump in the P region before the QRS and T
    the largest bump after S.  Given the observed QRS onset ``qrs_on`` (s, see
    :func:`~gmesa.ecg.waves.qrs_onset`), Q is searched after it and P 30 ms before it.
    ``p_sign`` +1/-1 looks for an upward/downward P only.  With a U wave in ``names``,
    U starts on the largest bump after the T region's end ``t_latest`` (s; default
    the window's end) and T on the largest bump of U's sign before it.  A wave that is
    not visible starts small at its typical place.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    base = float(np.median(y))
    y0 = y - base
    r = _bump(t, y0, -0.03, 0.03)
    if r is None:
        r = Bump(*TYPICAL_BEAT["R"])
    ra = r.amplitude
    sign = 1.0 if ra >= 0 else -1.0
    small = 0.05 * abs(ra)
    # Q/S: only opposite-polarity deflections, searched between R's half-max edge and the region limit
    r_left, r_right = r.edge(-1, 0.6), r.edge(1, 0.6)
    rows = {"R": r}
    q_lo, p_hi = REGIONS["Q"][0], REGIONS["P"][1]
    if qrs_on is not None:
        q_lo, p_hi = max(q_lo, qrs_on - Q_BEFORE_QRS), min(p_hi, qrs_on - P_BEFORE_QRS)
    q = _bump(t, y0, q_lo, r_left, polarity=-sign)
    rows["Q"] = q if q is not None else Bump(-sign * small, r.edge(-1, 2.5), 0.0, 0.006, 0.006)
    s = _bump(t, y0, r_right, REGIONS["S"][1] * 0.8, polarity=-sign)
    rows["S"] = s if s is not None else Bump(-sign * small, r.edge(1, 2.5), 0.0, 0.006, 0.006)
    qrs_start, qrs_end = rows["Q"].edge(-1, 2.0), rows["S"].edge(1, 2.0)
    p_lo = max(t[0] + 0.02, REGIONS["P"][0])
    p_end = min(qrs_start - 0.02, p_hi)
    p = _bump(t, y0, p_lo, p_end, polarity=p_sign)
    rows["P"] = p if p is not None else Bump(0.05 * abs(ra), max(p_lo, min(-0.16, p_hi - 0.02)),
                                             0.005, 0.02, 0.02)
    t_hi = min(t[-1] - 0.03, REGIONS["T"][1])
    tw = _bump(t, y0, max(qrs_end + 0.04, REGIONS["T"][0]), t_hi)
    rows["T"] = tw if tw is not None else Bump(0.1 * abs(ra), min(0.25, t_hi), 0.01, 0.05, 0.04)
    if "U" in names:
        late = rows["T"]
        t_lim = t_hi if t_latest is None else min(t_hi, t_latest)
        rows["U"] = (late if late.center > t_lim else
                     Bump(0.1 * late.amplitude, min(t_lim + 0.05, t[-1] - 0.03), 0.0, 0.03, 0.03))
        tw = _bump(t, y0, max(qrs_end + 0.04, REGIONS["T"][0]), t_lim - 0.03,
                   polarity=1.0 if rows["U"].amplitude >= 0 else -1.0)
        c = max(t_lim - 0.1, REGIONS["T"][0])
        rows["T"] = tw if tw is not None else Bump(0.1 * abs(ra), c, 0.01, 0.05, 0.04)
    if "T2" in names:
        rows["T2"] = Bump(0.0, rows["T"].center + 0.06, 0.0, 0.03, 0.03)
    if "R2" in names:  # where it sits comes from the template's (its bounds hold it there)
        rows["R2"] = Bump(0.0, r.center + 0.04, 0.0, 0.005, 0.005)
    lay = Layout(names, (), baseline_spec(n_baseline))
    out = np.zeros(lay.size)
    for n in names:
        a, c, h, sl, sr = rows[n]
        # start plateaus small: on a plateau only the amplitude has a gradient
        out[lay.wave(n)] = [a, c, min(h, 0.3 * min(sl, sr)), sl, sr]
    if lay.n_baseline:
        out[lay.baseline_slice.start] = base
    return out


def clip_into(p0, lower, upper, margin=1e-6):
    """p0 moved just inside [lower, upper] (fixed parameters keep their bound)."""
    span = upper - lower
    pad = np.where(np.isfinite(span), np.minimum(margin, 0.01 * span), margin)
    return np.clip(p0, lower + pad, upper - pad)
