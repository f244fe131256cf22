"""The joint model's global QRS edges read off one spatial curve of all the leads.

(The global table reads the onset here and, since session 31, the offset as the median
of the leads' own readings: :data:`~gmesa.ecg.joint_table.QRS_EDGES`.)

Lead ``l``'s fitted QRS complex (Q + R + S with the shared timing and its own
amplitudes) in its noise units, ``q_l(t) / noise_l``, combined over the leads:

    s(t) = sqrt(sum_l (q_l(t) / noise_l)^2)

The edges are read on ``s`` as :func:`~gmesa.ecg.fiducials.complex_edges` reads them on
one lead's ``|q(t)|`` (walking out from the plateau edge of the outermost component
whose spatial amplitude ``sqrt(sum_l (a_lc / noise_l)^2)`` reaches ``QRS_LOBE`` of the
peak, until ``s`` falls below the boundary's fraction), and the shift is the leads'
shifts (learned map or rule) weighted by their share of ``s^2`` at its peak.  That
reading sits where one lead's marks would.  Global marks are the earliest onset and the
latest offset over the L leads' marks; if each lead's mark scatters about the spatial
edge with SD ``QRS_SPREAD[b]``, their extreme lies ``QRS_SPREAD[b] * expected_max(L)``
further out (``expected_max``: the mean of the largest of L standard normal draws, 0 for
one lead, 0.56 for two, 1.63 for twelve), and so does the global edge.  With one lead
this is the single-lead reading exactly.  The P and T boundaries, from the shared
timing, are moved out the same way (:func:`spread_out`, :data:`WAVE_SPREAD`).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import prange

from .._kernels import mesa_sum_into
from ..config import njit
from .fiducials import QRS_LOBE, QRS_WAVES, RULE, at_bound, no_longer, qrs_lobe
from .fidmap import features, fiducial_map, predict
from .joint_template import MIN_LEAD_SD

#: SD (s) of the leads' marks of a QRS edge about the spatial edge, calibrated on LUDB odd
#: records against the global marks over the 12 leads (benchmarks/joint_rules.py: the
#: mean error with no spread, +10.1 and -14.1 ms, over expected_max(12)).  (Taking instead
#: each beat's spread of the leads' own edges about the spatial one centred the errors
#: as well but widened their SD, 14.5 and 19.6 ms against 12.7 and 14.4.)
QRS_SPREAD = {"QRS_on": 0.0062, "QRS_off": 0.0087}

#: the same SD (s) for the P and T boundaries, whose edges come from the shared timing
#: read by the fiducial map (learned on lead ii's own marks): LUDB odd, global marks over
#: the 12 leads, mean error with no spread (benchmarks/joint_rules.py, rule ``pt0``):
#: P_on +10.6, P_off -5.8 (with the shared P's shape by MAP, session 33; +10.0 and -5.4
#: without, with the map's P rows of session 27; +12.5 and -6.7 before),
#: T_on +24.3, T_off -29.2 ms, over expected_max(12)
WAVE_SPREAD = {"P_on": 0.0065, "P_off": 0.0036, "T_on": 0.0149, "T_off": 0.0179}


def spread_out(on, off, wave, n_leads, spread=None):
    """Onsets ``on`` and offsets ``off`` (s) of ``wave`` ("P", "QRS" or "T") moved out to
    where the extreme of ``n_leads`` leads' marks lies (the SD of the leads' marks,
    ``spread`` {"P_on": s, ...}, default :data:`QRS_SPREAD` and :data:`WAVE_SPREAD`,
    times :func:`expected_max`): unchanged for one lead."""
    spread = {**QRS_SPREAD, **WAVE_SPREAD} if spread is None else spread
    counts, where = np.unique(np.asarray(n_leads, dtype=np.int64), return_inverse=True)
    ext = np.array([expected_max(int(k)) for k in counts])[where].reshape(np.shape(n_leads))
    return on - spread[f"{wave}_on"] * ext, off + spread[f"{wave}_off"] * ext


@lru_cache(maxsize=64)
def _max_moments(n):
    """(mean, SD) of the largest of ``n`` independent standard normal draws."""
    x = np.linspace(-9.0, 9.0, 3601)
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in x]))
    density = n * pdf * cdf ** (n - 1) * (x[1] - x[0])
    mean = float(np.sum(x * density))
    return mean, math.sqrt(max(float(np.sum(x * x * density)) - mean * mean, 0.0))


def expected_max(n):
    """Mean of the largest of ``n`` independent standard normal draws (0 for n <= 1)."""
    return 0.0 if n <= 1 else _max_moments(int(n))[0]


def spread_sd(sd, boundary, n_leads, spread=None):
    """The SD (s) of a global boundary read from one lead's reading of SD ``sd`` (s) and
    moved out by :func:`spread_out` over ``n_leads`` leads: the extreme of the leads'
    marks is itself uncertain, by the spread times the SD of the largest of ``n_leads``
    standard normal draws (0 for one lead, so one lead keeps its own SD)."""
    spread = {**QRS_SPREAD, **WAVE_SPREAD} if spread is None else spread
    n = np.asarray(n_leads, dtype=np.int64)
    counts, where = np.unique(n, return_inverse=True)
    ext = np.array([0.0 if k <= 1 else _max_moments(int(k))[1] for k in counts])
    return np.hypot(sd, spread[boundary] * ext[where].reshape(n.shape))


@njit
def _spatial(p, w, k, t, one):
    """s(t) at one time: p (L, 5k) the leads' QRS components, w (L,) 1/noise."""
    acc = 0.0
    for li in range(p.shape[0]):
        if w[li] > 0.0:
            mesa_sum_into(t, p[li], k, 0, 0, one)
            acc += (w[li] * one[0]) ** 2
    return np.sqrt(acc)


@njit(parallel=True)
def _spatial_edges(params, weights, frac_on, frac_off, lobe, step, limit, out, share,
                   sides):
    """Per beat (params (N, L, 5k), weights (N, L); the beats in parallel): onset, peak,
    offset of s(t) and each lead's share of s^2 at the peak (``lobe``: one share per
    component; ``sides`` 1: the onset alone, the offset left NaN)."""
    n_beats, n_leads = params.shape[0], params.shape[1]
    k = params.shape[2] // 5
    for b in prange(n_beats):
        one = np.empty(1)
        t = np.empty(1)
        p, w = params[b], weights[b]
        best, tpk = 0.0, p[0, 1]
        for c in range(k):
            for s in range(-8, 9):
                t[0] = p[0, 5 * c + 1] + s * step
                v = _spatial(p, w, k, t, one)
                if v > best:
                    best, tpk = v, t[0]
        out[b, 1] = tpk
        out[b, 0] = np.nan
        out[b, 2] = np.nan
        if not (best > 0.0):
            continue
        t[0] = tpk
        for li in range(n_leads):
            share[b, li] = 0.0
            if w[li] > 0.0:
                mesa_sum_into(t, p[li], k, 0, 0, one)
                share[b, li] = (w[li] * one[0] / best) ** 2
        for side in range(sides):
            direction = -1.0 if side == 0 else 1.0
            frac = frac_on[b] if side == 0 else frac_off[b]
            start = tpk
            part = 1.0
            for c in range(k):
                amp = 0.0
                for li in range(n_leads):
                    if w[li] > 0.0:
                        amp += (w[li] * p[li, 5 * c]) ** 2
                if np.sqrt(amp) >= lobe[c] * best:
                    edge = p[0, 5 * c + 1] + direction * p[0, 5 * c + 2]
                    if direction * (edge - start) > 0.0:
                        start = edge
                        part = lobe[c]
            level = best
            if start != tpk:
                t[0] = start
                level = max(_spatial(p, w, k, t, one), part * best)
            tt = start
            for _ in range(int(limit / step)):
                tt += direction * step
                t[0] = tt
                if _spatial(p, w, k, t, one) < frac * level:
                    out[b, 0 if side == 0 else 2] = tt
                    break


def spatial_edges(params, weights, frac_on, frac_off, lobe=QRS_LOBE, step=0.00025,
                  limit=0.25, offset=True):
    """(onset, peak, offset) of the spatial curve (s from the components' time origin)
    and each lead's share of ``s**2`` at its peak (N, L).  ``params`` (N, L, 5k): each
    lead's QRS components (same timing in every lead), ``weights`` (N, L): 1/noise
    (1/mV; 0 or NaN leaves a lead out), ``frac_on``/``frac_off`` (N,) fractions of the
    level the walk starts from; ``lobe``: the share of the peak a component needs to
    start the walk, one or one per component (as :func:`~gmesa.ecg.fiducials.complex_edges`);
    ``offset=False``: the onset walk alone (the offset NaN)."""
    params = np.ascontiguousarray(params, dtype=np.float64)
    w = np.asarray(weights, dtype=float)
    w = np.ascontiguousarray(np.where(np.isfinite(w) & (w > 0), w, 0.0))
    n = params.shape[0]
    params = np.where(np.isfinite(params), params, 0.0)
    out = np.empty((n, 3))
    share = np.zeros(w.shape)
    fon = np.ascontiguousarray(np.broadcast_to(np.asarray(frac_on, float), (n,)))
    foff = np.ascontiguousarray(np.broadcast_to(np.asarray(frac_off, float), (n,)))
    lobes = np.ascontiguousarray(np.broadcast_to(np.asarray(lobe, float),
                                                 (params.shape[2] // 5,)))
    _spatial_edges(np.ascontiguousarray(params), w, fon, foff, lobes, float(step),
                   float(limit), out, share, 2 if offset else 1)
    return out[:, 0], out[:, 1], out[:, 2], share


def qrs_shifts(params, names, noise, rr, method):
    """Per lead of ``params`` (L, N, 5K waves ``names``): the QRS_on and QRS_off
    (fraction, shift s, SD s; NaN for the rule) of the fiducial rule ``method`` ("map"
    or "rule"), each (L, N)."""
    n_leads, n = params.shape[:2]
    table = fiducial_map() if method == "map" else None
    out = {}
    for b in ("QRS_on", "QRS_off"):
        frac = np.full((n_leads, n), RULE[b][0])
        shift = np.full((n_leads, n), RULE[b][1])
        sd = np.full((n_leads, n), np.nan)
        if table is not None:
            frac[:] = table[b]["frac"]
            for li in range(n_leads):
                shift[li], sd[li] = predict(features(params[li], names, b, noise[li], rr),
                                            table[b])
        out[b] = (frac, shift, sd)
    return out


def global_qrs_edges(params, names, noise, rr, method, with_sd=False, offset=True):
    """Global QRS (onset, peak, offset), s, from each lead's view ``params`` (L, N, 5K
    waves ``names``) of the joint fit and its ``noise`` (L, N) residual SD (mV; NaN
    leaves the lead out of that beat): the
    spatial curve's edges (module docstring) plus the leads' shifts weighted by their
    share of the curve's peak, moved out by ``QRS_SPREAD`` times ``expected_max`` of the
    number of leads.  ``with_sd=True`` adds the SDs (s) of the onset and offset: the
    leads' map SDs, root mean square by the same shares, with the spread's
    (:func:`spread_sd`; NaN for the rule).  ``offset=False``: the onset alone (the
    offset NaN; the global table reads the offset otherwise)."""
    lay_q = [i for i, w in enumerate(names) if w in QRS_WAVES]
    cols = np.concatenate([np.arange(5 * i, 5 * i + 5) for i in lay_q])
    sub = np.transpose(np.asarray(params, float)[:, :, cols], (1, 0, 2))     # (N, L, 5k)
    full, sub = sub, at_bound(sub, [names[i] for i in lay_q])  # as one lead's reading
    shifts = qrs_shifts(params, names, noise, rr, method)
    # a lead's noise at least MIN_LEAD_SD (as the joint template's lead weights): a
    # near-perfect fit must not take the whole curve
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / np.maximum(np.asarray(noise, float), MIN_LEAD_SD).T            # (N, L)
    # one fraction per beat: the map's fraction is a constant per boundary
    f_on, f_off = shifts["QRS_on"][0][0], shifts["QRS_off"][0][0]
    lobes = [qrs_lobe(names[i]) for i in lay_q]
    on, pk, off, share = spatial_edges(sub, w, f_on, f_off, lobes, offset=offset)
    if sub is not full:  # as one lead's reading (fiducials.no_longer)
        left = np.flatnonzero(np.any(sub != full, axis=(1, 2)))
        on, off = no_longer(on, off, spatial_edges(full[left], w[left], f_on[left],
                                                   f_off[left], lobes, offset=offset), left)
    tot = np.sum(share, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s_on = np.sum(share * shifts["QRS_on"][1].T, axis=1) / tot
        s_off = np.sum(share * shifts["QRS_off"][1].T, axis=1) / tot
        sd = [np.sqrt(np.sum(share * shifts[b][2].T ** 2, axis=1) / tot)
              for b in ("QRS_on", "QRS_off")]
    n_leads = np.sum(w > 0, axis=1)
    on, off = spread_out(on + s_on, off + s_off, "QRS", n_leads)
    if not with_sd:
        return on, pk, off
    return on, pk, off, (spread_sd(sd[0], "QRS_on", n_leads),
                         spread_sd(sd[1], "QRS_off", n_leads))
