"""The joint model's per-beat table over all leads: global boundaries (P and T: earliest
onset, latest offset over the leads that show the wave; QRS: from one spatial curve of
all the leads, :mod:`gmesa.ecg.joint_edges`), wave presence decided across leads, each
lead's amplitudes and fit quality.

P is present when the primary lead shows it, both in its own single-lead fit and in its
view of the joint model by the single-lead rules
(:func:`~gmesa.ecg.presence.wave_presence`; T: when any lead does), or when the leads
together give the evidence: lead l's chi-square drop from the wave in its noise units
``e_l`` (the BIC evidence of :func:`~gmesa.ecg.presence.evident`), each lead whose
``e_l`` beats the penalty ``log n_eff`` of its own amplitude adds ``e_l - log n_eff``,
and the sum must beat the penalty of the shared timing, ``4 log n_eff`` (the best subset
of leads under a penalised likelihood).
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd

from .._kernels import mesa_sum_rows_into
from ..solvers import SOLVER_STATUS, join_shared
from ..solvers._lm import MAX_ITER, NONFINITE_MODEL
from .beats import add_reason, p_after_previous_t, p_start_seen, t_end_seen
from .fiducials import QRS_WAVES, intervals
from .heights import heights
from .joint_edges import global_qrs_edges, spread_out, spread_sd
from .leads import POOLED_SPREAD, pooled_edge
from .presence import P_MIN_OF_R, consistent_p, like_template_p, p_is_wave
from .result import AMPLITUDE_WAVES, FIDUCIAL_COLUMNS

#: a lead's QRS edges count for the global ones when its largest Q, R or S reaches this
#: share of the largest over the leads (a lead with a tiny QRS has edges lost in noise)
QRS_LEAD_SHARE = 0.25

#: how each global QRS edge is read: "spatial" (one curve of all the leads,
#: :mod:`gmesa.ecg.joint_edges`), "median" (the leads' own readings over those whose QRS
#: reaches :data:`QRS_LEAD_SHARE`, their median moved out by
#: :data:`~gmesa.ecg.leads.POOLED_SPREAD` as the pooled per-lead reading is) or "extreme"
#: (earliest onset, latest offset over the same leads; the rule before 2026-12-05).  The
#: offset is the median since session 31: LUDB even, global marks, QRS off |mean|+SD
#: 16.0 -> 13.3 ms (12 leads), 19.3 / 17.9 / 15.0 -> 13.4 / 13.4 / 12.2 (ii with v1, v2,
#: v5); the median onset was worse (12 leads 9.4 -> 10.0; benchmarks/joint_rules.py)
QRS_EDGES = {"QRS_on": "spatial", "QRS_off": "median"}

#: how P presence is decided across leads (LUDB even, lead ii's marks, P Se/PPV; 12 leads
#: and leads ii + v1 alone; benchmarks/joint_rules.py): "own_view" (the primary lead's
#: own single-lead fit shows P and so does its view of the joint model, or the summed
#: evidence: 0.977/0.931, 0.979/0.913), "own" (its own fit, or the summed evidence:
#: 0.995/0.911, 0.984/0.899), "primary" (its joint view, or the summed evidence:
#: 0.982/0.899, 0.982/0.893), "any" (any lead's view by the single-lead rules, or the
#: summed evidence; before 2026-12-05: 1.000/0.861, 0.984/0.874), "summed" (the summed
#: evidence alone: 0.910/0.952, 0.937/0.927).  Chosen: the highest F1, also the highest
#: PPV with Se >= 0.97, on both
P_PRESENCE = "own_view"


def wave_evidence(X, params, lengths, sigma2, opts, fs):
    """Per wave (P, T): the chi-square drop of each beat's component in noise units,
    ``sum(component**2) / sigma2 * bw`` (``sigma2`` mV^2; ``bw`` the low-pass share of
    Nyquist: correlated noise counts that share of its samples)."""
    lay = opts.layout
    bw = opts.bandwidth(fs)
    out = {}
    for w in ("P", "T"):
        if w not in opts.waves:
            continue
        comp = np.ascontiguousarray(np.where(np.isfinite(params[:, lay.wave(w)]),
                                             params[:, lay.wave(w)], 0.0))
        shape = np.zeros(X.shape)
        mesa_sum_rows_into(np.ascontiguousarray(X), comp, lengths, 0, 1, 0, 0, shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[w] = np.sum(shape ** 2, axis=1) / sigma2 * bw
    return out


def _shown(parts, wave):
    """(L, N): where each lead's own reading shows ``wave``."""
    return np.stack([p["present"][wave] for p in parts])


def joint_presence(wave, parts, lengths, bw):
    """Is ``wave`` present by the leads' summed evidence (module docstring)?  Returns
    (present, the leads that carry it (L, N))."""
    e = np.stack([p["evidence"][wave] for p in parts])
    pen = np.log(np.maximum(lengths * bw, 2.0))
    with np.errstate(invalid="ignore"):
        carry = e > pen
        gain = np.sum(np.where(carry, e - pen, 0.0), axis=0)
        return gain > 4.0 * pen, carry


def _present(opts, wave, parts, coef, fit_me, qrs_on, t_start, lengths, fs, theta, own,
             primary, rr, like=None):
    """Global presence of P or T and the leads whose fiducials count (``own``: the
    primary lead's own single-lead presence of P; ``primary`` its position; ``rr`` the
    RR intervals, s; ``like``: beats whose P is the joint template's, present where the
    primary's own fit kept any P).  However found, the shared P keeps its usual place, and an
    irregular rhythm needs one in half the fitted beats unless the primary lead's own
    fit kept P waves (:func:`~gmesa.ecg.presence.consistent_p`, as for one lead, where
    a steady P place lets an irregular rhythm keep them): the summed evidence does not
    bring back fibrillation waves.  Nor, in any rhythm, P waves in fewer than half the
    beats where the primary lead's own fit kept none (there, its P was not locked to
    the QRS: dissociated or fibrillation waves)."""
    lay = opts.layout
    shown = _shown(parts, wave)
    any_lead = np.any(shown, axis=0)
    if wave == "P" and P_PRESENCE != "any":
        view = parts[primary]["present"][wave]
        any_lead = {"primary": view, "own": own, "own_view": own & view,
                    "summed": False}[P_PRESENCE]
    summed, carry = joint_presence(wave, parts, lengths, opts.bandwidth(fs))
    if wave == "P":
        k, kr = lay.waves.index("P"), lay.waves.index("R")
        big = np.abs(coef[:, :, k]) >= P_MIN_OF_R * np.abs(coef[:, :, kr])   # (N, L)
        carry = carry & big.T
        view = join_shared(theta, coef[:, primary], lay.n_waves, lay.n_steps)
        summed &= np.any(carry, axis=0) & p_is_wave(view, opts.waves, qrs_on, t_start)
    present = fit_me & (any_lead | summed)
    if wave == "P" and like is not None and np.any(own):
        present |= fit_me & like
    if wave == "P":
        c = theta[:, 4 * lay.waves.index("P")]
        judged = np.any(own)  # the primary's own fit kept P: its rhythm test passed
        # ... else P waves in fewer than half the beats are not locked to the QRS there
        present = consistent_p(c, present, rr, opts.p_window_s,
                               n_fitted=None if judged else int(fit_me.sum()),
                               lock=lambda: np.inf if judged else -np.inf)[0]
    leads = np.where(np.any(shown, axis=0), shown, carry)
    return present, leads


def like_template(theta, coef, template, lay, near=0.040):
    """Beats whose shared P is the joint template's (a :class:`~gmesa.ecg.joint_template.
    JointTemplate`), as one lead's beats are (:func:`~gmesa.ecg.presence.like_template_p`):
    where the template shows a P of at least :data:`~gmesa.ecg.presence.P_MIN_OF_R` of
    its R in its lead of most P against noise, the beat's P center within ``near`` s of
    the template's and its amplitude in that lead a third to three times the template's."""
    k, kr = lay.waves.index("P"), lay.waves.index("R")
    a = np.abs(template.coef[:, k])
    shows = a >= P_MIN_OF_R * np.abs(template.coef[:, kr])
    if not shows.any():
        return np.zeros(theta.shape[0], dtype=bool)
    best = int(np.argmax(np.where(shows, a * template.weights, -np.inf)))
    c = 4 * k
    return like_template_p(coef[:, best, k], theta[:, c], template.coef[best, k],
                           template.theta[c], near)


def _extreme(values, sds, sel, earliest):
    """(the earliest or latest of ``values`` (L, N) over the leads ``sel``, the SD of the
    lead it comes from); NaN where no lead has one."""
    v = np.where(sel & np.isfinite(values), values, np.inf if earliest else -np.inf)
    i = np.argmin(v, axis=0) if earliest else np.argmax(v, axis=0)
    cols = np.arange(values.shape[1])
    found = np.isfinite(v[i, cols])
    return np.where(found, v[i, cols], np.nan), np.where(found, sds[i, cols], np.nan)


def _fiducials(opts, parts, coef, theta, present, leads, t_end, t_room, rr, shown2=None,
               shows=None):
    """Global fiducials (s from R), their SDs (s: the reading lead's, with the spread's,
    :func:`~gmesa.ecg.joint_edges.spread_sd`; the table masks them where the boundary is
    NaN) and the note of beats whose T off is cut
    (``shown2``: where each lead shows the second T lobe, None without one; ``shows``:
    the leads that show the beat at all, (L,) bool, None: all; the QRS offset's median
    is taken over them)."""
    lay = opts.layout
    raw = {k: np.stack([p["raw"][k] for p in parts]) for k in parts[0]["raw"]}   # (L, N)
    if shown2 is not None:  # a lead showing the second T lobe: its T spans both lobes
        for part, pick in (("on", np.fmin), ("off", np.fmax)):
            t, t2 = raw[f"T_{part}"], raw[f"T2_{part}"]
            second = shown2 & (pick(t, t2) == t2) & (t2 != t)
            raw[f"T_{part}_sd"] = np.where(second, raw[f"T2_{part}_sd"], raw[f"T_{part}_sd"])
            raw[f"T_{part}"] = np.where(shown2, pick(t, t2), t)
    qrs = [lay.waves.index(w) for w in QRS_WAVES if w in lay.waves]
    size = np.max(np.abs(coef[:, :, qrs]), axis=2).T                          # (L, N)
    fid, sd = {}, {}
    with warnings_off(), np.errstate(invalid="ignore"):
        big = np.argmax(np.where(np.isfinite(size), size, -1.0), axis=0)
        fid["QRS_peak"] = raw["QRS_peak"][big, np.arange(size.shape[1])]
        if "spatial" in QRS_EDGES.values():
            view = join_shared(theta[None], coef.transpose(1, 0, 2), lay.n_waves, lay.n_steps)
            noise = np.stack([p["rmse"] for p in parts])
            on, _, off, sds = global_qrs_edges(view[:, :, lay.waves_slice], opts.waves, noise,
                                               rr, opts.fiducials, with_sd=True,
                                               offset=QRS_EDGES["QRS_off"] == "spatial")
            spatial = {"QRS_on": (on, sds[0]), "QRS_off": (off, sds[1])}
        share = size >= QRS_LEAD_SHARE * np.nanmax(size, axis=0)
        for b, side in (("QRS_on", 0), ("QRS_off", 1)):
            how = QRS_EDGES[b]
            if how == "spatial":
                fid[b], sd[b] = spatial[b]
            elif how == "median":  # the leads' median, moved out as the pooled reading's
                use = share
                if shows is not None and np.any(shows):  # not a lead without the beat
                    use = share & np.asarray(shows, dtype=bool)[:, None]
                fid[b], _, n = pooled_edge(raw[b], use, "QRS", side)
                lead_sd = np.nanmedian(np.where(use, raw[f"{b}_sd"], np.nan), axis=0)
                sd[b] = spread_sd(lead_sd, b, n, POOLED_SPREAD)
            else:  # the earliest onset or latest offset of the leads that show the QRS
                fid[b], sd[b] = _extreme(raw[b], raw[f"{b}_sd"], share, side == 0)
        for w in ("P", "T"):
            sel = leads[w] if np.ndim(leads[w]) == 2 else np.ones_like(raw[f"{w}_on"], bool)
            on, sd_on = _extreme(raw[f"{w}_on"], raw[f"{w}_on_sd"], sel, True)
            off, sd_off = _extreme(raw[f"{w}_off"], raw[f"{w}_off_sd"], sel, False)
            if w == "T":  # whether the fitted T ends in this beat: on the leads' reading
                cut, note = t_end_seen(np.where(present[w], off, np.nan), t_end, t_room)
            n_sel = np.sum(sel, axis=0)
            on, off = spread_out(on, off, w, n_sel)
            sd[f"{w}_on"] = spread_sd(sd_on, f"{w}_on", n_sel)
            sd[f"{w}_off"] = spread_sd(sd_off, f"{w}_off", n_sel)
            peak = theta[:, 4 * lay.waves.index(w)] if w in lay.waves else on * np.nan
            if w == "P" and w in lay.waves:  # its learned peak (fidmap.PEAKS), in the lead
                k = lay.waves.index(w)       # with the largest P of those it is read in
                pick = np.argmax(np.where(sel, np.abs(coef[:, :, k]).T, -1.0), axis=0)
                peak = raw["P_peak"][pick, np.arange(pick.size)]
            if w == "T" and "T2" in lay.waves:  # the peak of the lobe larger over the leads
                k, k2 = lay.waves.index("T"), lay.waves.index("T2")
                larger = np.sum(coef[:, :, k2] ** 2, axis=1) > np.sum(coef[:, :, k] ** 2, axis=1)
                peak = np.where(larger, theta[:, 4 * k2], peak)
            fid[f"{w}_on"], fid[f"{w}_peak"], fid[f"{w}_off"] = [
                np.where(present[w], v, np.nan) for v in (on, peak, off)]
    fid["P_off"] = np.minimum(fid["P_off"], fid["QRS_on"])
    fid["T_on"] = np.maximum(fid["T_on"], fid["QRS_off"])
    fitted_end = fid["T_off"]
    fid["T_off"] = np.where(cut, np.nan, fid["T_off"])
    return fid, sd, cut, note, fitted_end


@contextlib.contextmanager
def warnings_off():
    """Silence numpy's all-NaN RuntimeWarnings in the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def weighted_median(values, weights):
    """Per column of ``values`` (L, N): the median of the L values, each counted by its
    weight (``weights`` (L,), >= 0; equal weights: :func:`numpy.median`, the two middle
    values averaged); NaN values left out; NaN where none is left."""
    v = np.asarray(values, dtype=float)
    w = np.where(np.isfinite(v), np.asarray(weights, dtype=float)[:, None], 0.0)
    order = np.argsort(np.where(np.isfinite(v), v, np.inf), axis=0)
    vs, ws = np.take_along_axis(v, order, 0), np.take_along_axis(w, order, 0)
    cum = np.cumsum(ws, axis=0)
    total = cum[-1]
    half = 0.5 * total
    k = np.argmax(cum >= half[None, :] * (1 - 1e-12), axis=0)
    cols = np.arange(v.shape[1])
    nxt = np.minimum(k + 1, v.shape[0] - 1)
    tie = np.isclose(cum[k, cols], half) & (ws[nxt, cols] > 0) & (nxt > k)
    out = np.where(tie, 0.5 * (vs[k, cols] + vs[nxt, cols]), vs[k, cols])
    return np.where(total > 0, out, np.nan)


def global_table(opts, beats, theta, coef, parts, fit_me, status, reason, solver, qrs_on,
                 window, lengths, fs, primary=0, previous_t=True, like=None, shows=None,
                 weights=None):
    """The global per-beat table of one block (columns ``*_#i`` name lead position i):
    ``beats`` the primary lead's rows (its own single-lead fit), ``theta``/``coef`` the
    joint fits, ``parts`` what each lead's table gave, ``solver`` (code, cost, nit),
    ``window`` (start s, last sample s, room s; all from R), ``primary`` the primary
    lead's position; ``previous_t``: no P on before the previous beat's T ends (False
    where the neighbours' waves were taken out: :mod:`gmesa.ecg.overlap`); ``like``:
    beats whose P is the joint template's (:func:`like_template`, where it is locked to
    the QRS; None: none); ``shows``: the leads whose PRD judges a beat's fit
    (:func:`~gmesa.ecg.joint_template.shows_beat`; None: all), each counted by its
    information, its weight squared (``weights``, 1/mV; None: equal)."""
    lay = opts.layout
    code, cost, nit = solver
    t_start, t_last, t_room = window
    present, leads = {}, {}
    rr = beats["rr_s"].to_numpy(dtype=float)
    own_p = beats["P_present"].to_numpy(dtype=bool) if "P_present" in beats else False
    for w in ("P", "T"):
        if w in opts.waves:
            present[w], leads[w] = _present(opts, w, parts, coef, fit_me, qrs_on, t_start,
                                            lengths, fs, theta, own_p, primary, rr,
                                            like)
        else:
            present[w], leads[w] = np.zeros(len(beats), bool), None
    shown2 = _shown(parts, "T2") if "T2" in opts.waves else None
    if shown2 is not None and "T" in opts.waves:  # a lead showing either lobe shows T
        present["T"] = present["T"] | (fit_me & np.any(shown2, axis=0))
        leads["T"] = leads["T"] | shown2
    fid, fid_sd, cut, note, t_end = _fiducials(opts, parts, coef, theta, present, leads,
                                               t_last, t_room, rr, shown2, shows)
    on_t, on_t_note = p_after_previous_t(fid["P_on"], t_end, rr)
    on_t &= previous_t
    p_cut, p_note = p_start_seen(fid["P_peak"], t_start)
    fid["P_on"] = np.where(p_cut | on_t, np.nan, fid["P_on"])
    status, reason = status.copy(), reason.copy()
    for value, name in ((NONFINITE_MODEL, "failed"), (MAX_ITER, "max_iter")):
        hit = fit_me & (code == value)
        status[hit], reason[hit] = name, SOLVER_STATUS[value]
    prd = np.stack([p["prd"] for p in parts])
    info = np.ones(len(parts)) if weights is None else np.asarray(weights, float) ** 2
    if shows is not None:
        prd, info = prd[np.asarray(shows, dtype=bool)], info[np.asarray(shows, dtype=bool)]
    mid = weighted_median(prd, info)
    poor = (status == "ok") & (mid > opts.prd_limit)
    status[poor] = "poor_fit"
    reason[poor] = [f"median PRD over the leads (weighted) {v:.1f}% above {opts.prd_limit:g}%"
                    for v in mid[poor]]
    add_reason(reason, fit_me & ~present.get("P", np.zeros(len(beats), bool)),
               "no P wave in any lead")
    add_reason(reason, cut & fit_me, note)
    add_reason(reason, on_t & fit_me, on_t_note)
    add_reason(reason, p_cut & fit_me, p_note)
    t_r = beats["r_peak_s"].to_numpy(dtype=float)
    out = {"beat": beats["beat"].to_numpy(), "r_peak_s": t_r, "rr_s": rr}
    for c in FIDUCIAL_COLUMNS:
        out[c] = fid[c[:-2]] + t_r
    for b, v in fid_sd.items():  # the SD of each boundary (ms), as one lead's table has
        out[f"{b}_sd_ms"] = np.where(np.isfinite(fid[b]), v * 1000.0, np.nan)
    out.update(P_present=present["P"], T_present=present["T"])
    if "U" in opts.waves:  # as one lead's table: a U wave where any lead shows one
        out["U_present"] = fit_me & np.any(_shown(parts, "U"), axis=0)
    out.update(intervals(fid, rr))
    for j, w in enumerate(lay.waves):
        for q, name in enumerate(("center", "half_width", "sigma_left", "sigma_right")):
            out[f"{w}_{name}"] = theta[:, 4 * j + q]
    for i in range(coef.shape[1]):
        for w in AMPLITUDE_WAVES:
            if w in lay.waves:
                out[f"{w}_amplitude_#{i}"] = coef[:, i, lay.waves.index(w)]
    for i, p in enumerate(parts):
        out[f"rmse_#{i}"], out[f"prd_#{i}"] = p["rmse"], p["prd"]
    for i in range(coef.shape[1]):  # each lead's heights at the global fiducials
        view = join_shared(theta, coef[:, i], lay.n_waves, lay.n_steps)
        for name, v in heights(view, lay, fid).items():
            out[f"{name}_#{i}"] = v
    if "pacing_spike_s" in beats:  # the primary lead's (gmesa.ecg.pacing)
        out["pacing_spike_s"] = beats["pacing_spike_s"].to_numpy(dtype=float)
    out.update(cost=cost, nit=nit, solver_status=code, status=status, reason=reason)
    return pd.DataFrame(out)
