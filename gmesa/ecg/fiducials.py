"""Wave onsets, peaks and offsets read off fitted mesa parameters, and the intervals.

The rule (documented in docs/ecg.md):

* **P and T** come from their own component.  A GMF falls to a fraction ``f`` of its
  amplitude at ``D = sqrt(2 ln(1/f))``, so
  ``onset = center - half_width - sigma_left * sqrt(2 ln(1/f))`` and
  ``offset = center + half_width + sigma_right * sqrt(2 ln(1/f))``; the peak is
  ``center``.  A constant shift per boundary is added (see :data:`RULE`).  An inverted
  T (negative amplitude, no T2 lobe) has its onset read from the end of its plateau,
  plus its own shift: cardiologists start such a T where the signal turns back up, not
  where the (often depressed) ST segment leaves the baseline.
* **QRS** comes from the fitted sum of Q, R and S (they overlap and partly cancel, so a
  single component's edge is not the complex's edge): walking out from the largest
  |Q+R+S| in 0.25 ms steps, the onset/offset is where |Q+R+S| first falls below
  ``f`` times that maximum, plus a constant shift.

With ``method="map"`` (the pipeline's default) the constant shift is replaced by the learned map of
:mod:`gmesa.ecg.fidmap` (a linear function of the wave's widths, its amplitude against
the beat's noise and RR, with an uncertainty per beat).  The fractions and shifts in
:data:`RULE` were calibrated on half of the LUDB records
(lead ii, odd record numbers) by ``benchmarks/calibrate_fiducials.py`` and are scored
on the rest by ``benchmarks/delineation.py``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._kernels import mesa_sum_into
from ..config import njit
from .fidmap import map_shifts
from .waves import REGIONS, wave_layout

#: boundary -> (amplitude fraction f, constant shift in seconds).  ``T_on_inverted``:
#: the onset of a T component of negative amplitude, calibrated apart; its f None reads
#: it from the end of the plateau (center + half_width) instead of its start.
RULE = {
    "P_on": (0.7, -0.0331),
    "P_off": (0.7, 0.0288),
    "QRS_on": (0.3, -0.0294),
    "QRS_off": (0.6, 0.0336),
    "T_on": (0.5, -0.0599),
    "T_off": (0.3, 0.032),
    "T_on_inverted": (None, -0.0488),
}

#: the components of the QRS complex (``R2``: an R', :func:`~gmesa.ecg.template.with_r_prime`)
QRS_WAVES = ("Q", "R", "S", "R2")

#: QRS edges start from the outermost of Q, R, S with at least this share of the peak
QRS_LOBE = 0.45
#: ... or from an R' (``R2``) with at least this share: a notch's own lobe is small, and
#: the complex still ends (or starts) with it
R_PRIME_LOBE = 0.10


def qrs_lobe(wave):
    """The share of the complex's peak a QRS component ``wave`` needs to start the edge
    walk (:func:`complex_edges`): :data:`R_PRIME_LOBE` for an R', else :data:`QRS_LOBE`."""
    return R_PRIME_LOBE if wave == "R2" else QRS_LOBE


def reach(frac):
    """Mesa distance at which a GMF has fallen to ``frac`` of its amplitude."""
    return math.sqrt(2.0 * math.log(1.0 / frac))


def component_edges(center, half_width, sigma_left, sigma_right, frac_on, frac_off):
    """(onset, offset) where one GMF falls to the given fractions of its amplitude."""
    on = np.asarray(center) - half_width - np.asarray(sigma_left) * reach(frac_on)
    off = np.asarray(center) + half_width + np.asarray(sigma_right) * reach(frac_off)
    return on, off


@njit(parallel=True)
def _complex_edges(params, frac_on, frac_off, lobe, step, limit, out):
    """For each row of GMF params (K components; the rows in parallel): the peak of
    |sum|, then per side the walk outwards from the outermost lobe (see
    :func:`complex_edges`; ``lobe`` one share per component)."""
    n_beats = params.shape[0]
    k = params.shape[1] // 5
    for b in prange(n_beats):
        one = np.empty(1)
        t = np.empty(1)
        p = params[b]
        # the peak of |sum|: search a grid around each component's plateau
        best = 0.0
        tpk = p[1]
        for c in range(k):
            for s in range(-8, 9):
                t[0] = p[5 * c + 1] + s * step
                mesa_sum_into(t, p, k, 0, 0, one)
                if abs(one[0]) > best:
                    best = abs(one[0])
                    tpk = t[0]
        out[b, 1] = tpk
        if not (best > 0.0):
            out[b, 0] = np.nan
            out[b, 2] = np.nan
            continue
        for side in range(2):
            direction = -1.0 if side == 0 else 1.0
            frac = frac_on if side == 0 else frac_off
            # the outermost component of at least `lobe` times the peak: its plateau
            # edge is where the walk starts, its |sum| there the reference level
            start = tpk
            share = 1.0
            for c in range(k):
                if abs(p[5 * c]) >= lobe[c] * best:
                    edge = p[5 * c + 1] + direction * p[5 * c + 2]
                    if direction * (edge - start) > 0.0:
                        start = edge
                        share = lobe[c]
            level = best
            if start != tpk:
                t[0] = start
                mesa_sum_into(t, p, k, 0, 0, one)
                level = max(abs(one[0]), share * best)
            tt = start
            found = np.nan
            nstep = int(limit / step)
            for _ in range(nstep):
                tt += direction * step
                t[0] = tt
                mesa_sum_into(t, p, k, 0, 0, one)
                if abs(one[0]) < frac * level:
                    found = tt
                    break
            out[b, 0 if side == 0 else 2] = found


def complex_edges(params, frac_on, frac_off, lobe=1.0, step=0.00025, limit=0.25):
    """(onset, peak, offset) of a sum of GMFs per row of ``params`` (N, 5K), seconds.

    The peak is the time of the largest |sum|.  Each edge is found walking outwards
    in ``step`` seconds from the plateau edge of the outermost component whose
    amplitude is at least ``lobe`` times that peak (a small terminal S wave still
    ends the complex), until |sum| falls below ``frac`` of its level there (at least
    that component's ``lobe`` times the peak); NaN beyond ``limit``.  ``lobe=1`` walks
    from the peak itself; ``lobe`` may also give one share per component.
    """
    params = np.ascontiguousarray(np.atleast_2d(params), dtype=np.float64)
    out = np.empty((params.shape[0], 3))
    shares = np.ascontiguousarray(np.broadcast_to(np.asarray(lobe, dtype=np.float64),
                                                  (params.shape[1] // 5,)))
    _complex_edges(params, float(frac_on), float(frac_off), shares, float(step),
                   float(limit), out)
    return out[:, 0], out[:, 1], out[:, 2]


#: QRS components left out of the QRS edges on a beat where the named width parameters
#: all sit at their bounds (:data:`~gmesa.ecg.waves.REGIONS`, within :data:`AT_BOUND`):
#: pressed against "never broader than this", the component is taking some other shape,
#: not the wave.  A Q with its left tail at 30 ms lasts over 100 ms by the fiducial rule
#: (a Q wave lasts under 40 ms): it takes the PR segment's sag or a slow wave before the
#: QRS (the joint model on QTDB read whole records' QRS onsets 40-70 ms early, on PTB
#: s0010_re's 15 leads a QRS of 259 ms).  An S takes the ST segment when both its plateau
#: (30 ms half-width) and its right tail (40 ms) are at their bounds (QTDB sel308 with
#: both leads: a QRS of 262 ms against lead 0's 170); its tail alone is not enough, a
#: broad S is a real wave in bundle branch block.
AT_BOUND_PARTS = {"Q": ("sigma_left",), "S": ("half_width", "sigma_right")}
AT_BOUND = 0.98

#: where a width parameter's bound sits in a wave's :data:`~gmesa.ecg.waves.REGIONS` entry
_REGION_BOUND = {"half_width": 4, "sigma_left": 3, "sigma_right": 3}


def at_bound(params, names):
    """``params`` (..., 5K, the QRS components ``names``) with the amplitude of each
    :data:`AT_BOUND_PARTS` component set to 0 where its named width parameters all sit at
    their bounds (a copy when any does)."""
    lay = wave_layout(names)
    out = params
    for w, parts in AT_BOUND_PARTS.items():
        if w not in lay.waves:
            continue
        bound = {part: AT_BOUND * REGIONS[w][_REGION_BOUND[part]] for part in parts}
        at = np.all([params[..., lay.index(w, part)] >= b for part, b in bound.items()], axis=0)
        if np.any(at):
            out = out.copy() if out is params else out
            a = lay.index(w, "amplitude")
            out[..., a] = np.where(at, 0.0, out[..., a])
    return out


def no_longer(on, off, whole, rows=None):
    """The QRS edges ``on``, ``off`` (s) read without the components at their bounds
    (:func:`at_bound`), kept within those read on the ``whole`` complex ((onset, peak,
    offset), s, of the beats ``rows``; None: all): such a component may have been
    cancelling another one, whose tail its absence lays bare (a broad Q and a broad S of
    opposite signs in one lead of the joint model); the complex is then read with it.
    NaN on one side takes the other's."""
    if rows is None:
        return np.fmax(on, whole[0]), np.fmin(off, whole[2])
    on, off = np.array(on, dtype=float), np.array(off, dtype=float)
    on[rows], off[rows] = np.fmax(on[rows], whole[0]), np.fmin(off[rows], whole[2])
    return on, off


def wave_fiducials(params, names, rule=None, *, method="rule", noise=None, rr=None,
                   with_sd=False, table=None):
    """Fiducials (seconds, same time origin as the centers) for each beat.

    ``params`` is (N, 5K) in gmesa layout, ``names`` the K wave names (P, Q, R, S, T,
    and optionally more such as T2).  Returns a dict of arrays: P_on, P_peak, P_off,
    QRS_on, QRS_peak, QRS_off, T_on, T_peak, T_off (NaN where a wave is not modelled).
    ``method="map"`` (what :func:`~gmesa.ecg.fit_record` uses by default, its option
    ``fiducials``): each boundary is the wave's edge plus the learned map of
    :mod:`gmesa.ecg.fidmap` (``noise``: the beat's residual SD, mV, and ``rr``: the RR
    interval before it, s, are features; unknown: the training mean), and a peak the
    table maps (:data:`~gmesa.ecg.fidmap.PEAKS`) is the wave's center plus its map's
    shift (else the center); ``"rule"``
    (default here, as before): the amplitude fraction and constant shift of
    :data:`RULE` (``rule`` overrides entries of it, for either method).
    ``with_sd=True`` also returns a dict of each boundary's uncertainty SD (s; NaN for
    the rule)."""
    if method not in ("map", "rule"):
        raise ValueError(f"method={method!r}; use 'map' (learned) or 'rule' (RULE)")
    params = np.atleast_2d(np.asarray(params, dtype=float))
    n = params.shape[0]
    nan = np.full(n, np.nan)
    shifts = {b: (f, np.full(n, s), nan) for b, (f, s) in RULE.items()}
    if method == "map":
        shifts.update(map_shifts(params, names, noise, rr, table))
    shifts.update({b: (f, np.full(n, s), nan) for b, (f, s) in (rule or {}).items()})
    lay = wave_layout(names)
    out, sd = {}, {}
    for wave in ("P", "T", "T2"):
        if wave not in lay.waves:
            if wave == "T2":
                continue
            out.update({f"{wave}_on": nan, f"{wave}_peak": nan, f"{wave}_off": nan})
            sd.update({f"{wave}_on": nan, f"{wave}_off": nan})
            continue
        amp, c, h, sl, sr = params[:, lay.wave(wave)].T
        key = wave if f"{wave}_on" in shifts else "T"     # T2: the T rule, or its own map
        (fon, son, don), (foff, soff, doff) = shifts[f"{key}_on"], shifts[f"{key}_off"]
        on, off = component_edges(c, h, sl, sr, fon, foff)
        on, off = on + son, off + soff
        if wave == "T" and "T2" not in lay.waves:  # an inverted T (not one lobe of two)
            fin, sin, din = shifts["T_on_inverted"]
            on_inv = c + h if fin is None else component_edges(c, h, sl, sr, fin, fin)[0]
            on = np.where(amp < 0, on_inv + sin, on)
            don = np.where(amp < 0, din, don)
            if "T_off_inverted" in shifts:
                doff = np.where(amp < 0, shifts["T_off_inverted"][2], doff)
        peak = c.copy() if f"{wave}_peak" not in shifts else c + shifts[f"{wave}_peak"][1]
        out[f"{wave}_on"], out[f"{wave}_peak"], out[f"{wave}_off"] = on, peak, off
        sd[f"{wave}_on"], sd[f"{wave}_off"] = don, doff
    qrs = [n for n in QRS_WAVES if n in lay.waves]
    if qrs:
        full = np.concatenate([params[:, lay.wave(n)] for n in qrs], axis=1)
        sub = at_bound(full, qrs)
        (fon, son, don), (foff, soff, doff) = shifts["QRS_on"], shifts["QRS_off"]
        lobes = [qrs_lobe(n) for n in qrs]
        on, pk, off = complex_edges(sub, fon, foff, lobes)
        if sub is not full:  # left out, a component at its bound must not lengthen the QRS
            left = np.flatnonzero(np.any(sub != full, axis=1))
            on, off = no_longer(on, off, complex_edges(full[left], fon, foff, lobes), left)
        out["QRS_on"], out["QRS_peak"], out["QRS_off"] = on + son, pk, off + soff
        sd["QRS_on"], sd["QRS_off"] = don, doff
        # waves do not overlap the QRS complex: P ends by its onset, T starts after it
        out["P_off"] = np.fmin(out["P_off"], out["QRS_on"])
        for key in ("T_on", "T2_on"):
            if key in out:
                out[key] = np.fmax(out[key], out["QRS_off"])
    else:
        out.update(QRS_on=nan, QRS_peak=nan, QRS_off=nan)
        sd.update(QRS_on=nan, QRS_off=nan)
    return (out, sd) if with_sd else out


def merge_t_lobes(fid, t_present, t2_present, t_amp, t2_amp):
    """T wave from two lobes (T and T2): onset of the earlier, offset of the later,
    peak of the larger |amplitude|; a lobe judged absent is ignored."""
    out = dict(fid)
    on = np.where(t_present, fid["T_on"], np.nan)
    on2 = np.where(t2_present, fid["T2_on"], np.nan)
    off = np.where(t_present, fid["T_off"], np.nan)
    off2 = np.where(t2_present, fid["T2_off"], np.nan)
    out["T_on"] = np.fmin(on, on2)
    out["T_off"] = np.fmax(off, off2)
    big2 = t2_present & (~t_present | (np.abs(t2_amp) > np.abs(t_amp)))
    out["T_peak"] = np.where(big2, fid["T2_peak"], np.where(t_present, fid["T_peak"], np.nan))
    for part in ("on", "peak", "off"):
        out.pop(f"T2_{part}")
    return out


#: the boundaries each interval runs between (start, end)
INTERVAL_ENDS = {"pr_ms": ("P_on", "QRS_on"), "qrs_ms": ("QRS_on", "QRS_off"),
                 "qt_ms": ("QRS_on", "T_off")}


def intervals(fid, rr_s):
    """PR, QRS, QT (ms) and QTc by Bazett and Fridericia from fiducials in seconds."""
    rr_s = np.asarray(rr_s, dtype=float)
    out = {"rr_ms": rr_s * 1000.0}
    out.update({k: (fid[b] - fid[a]) * 1000.0 for k, (a, b) in INTERVAL_ENDS.items()})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["qtc_ms"] = out["qt_ms"] / np.sqrt(rr_s)
        out["qtc_fridericia_ms"] = out["qt_ms"] / np.cbrt(rr_s)
    return out
