"""The joint beat model of several leads: every wave's timing shared by all leads, each
lead with its own amplitudes (any sign), baseline and ST level (docs/joint.md).

The primary lead is fitted as :func:`~gmesa.ecg.fit_record` fits one (R peaks, beat
windows, its template, its own per-beat fits); every lead is cleaned the same way; the
joint template (:mod:`gmesa.ecg.joint_template`) starts every beat, and so does the
primary lead's own fit of it: the better of the two joint fits
(:func:`~gmesa.ecg.beatmodel.best_start`) is kept.  Each lead then gets its
:class:`RecordFit` (the joint model seen in that lead, read by the single-lead rules:
quality, presence, fiducials), and the global table (:mod:`gmesa.ecg.joint_table`) the
boundaries over the leads.
"""
from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pandas as pd

from .. import __version__
from .._memory import release_free_memory
from ..solvers import fit_shared, join_shared, split_shared
from .beatmodel import SegmentFit, best_start, quality
from .beats import MAX_MASKED, BeatRows, room, window_edge_check
from .fiducials import intervals
from .heights import heights
from .fit import chunk_spans, fit_record, waves_present
from .leads import fragmented, no_beats
from .identity import IDENTITY_NEAR
from .init import clip_into
from .joint_table import global_table, like_template, wave_evidence
from .presence import P_LOCK, p_is_wave, p_lock
from .joint_template import (FOLLOW_SHARE, FOLLOWED, clean_lead, joint_template,
                             overlap_joint, r_prime_center, ridge, split_index, timing_bounds)
from .options import FitOptions
from .overlap import own_waves
from .joint_p_shape import map_shared_p_shape
from .p_shape import p_shape_wanted
from .priors import prior_arrays
from .result import RecordFit
from .rprime import r_prime_coef_bounds
from .template import template_reach
from .waves import qrs_onset
from .._warn import warn

#: each lead's baseline polynomial in the joint model by default: a linear baseline
#: leaves the curvature of the PR and TP segments to the shared P component, which then
#: widens into a baseline shape (LUDB 24, 116); one more linear column costs little
JOINT_BASELINE = "quadratic"

#: the joint model's R' (``FitOptions.r_prime``) unless the caller gives one: none.  With
#: "auto" (the primary lead's template decides, its timing shared and held near the
#: template's, each lead's R' of R's sign and capped as one lead's) LUDB's global marks
#: move little (even: QRS on 9.4 -> 9.0, T off 27.9 -> 27.7 ms; odd: P off 15.0 -> 17.6,
#: one record, 107), QTDB's within 0.2 ms (docs/results.md, session 23)
JOINT_R_PRIME = False

#: beats fitted per block (bounds the memory of a long record's rows)
BLOCK_BEATS = 2000

#: the columns of the primary lead's own table that the joint fit reads
PRIMARY_COLUMNS = ("beat", "r_peak_s", "rr_s", "window_start_s", "window_end_s", "status",
                   "reason", "flagged", "start", "template_corr", "P_present", "T_present",
                   "pacing_spike_s")

#: the part of a beat (s from R) :func:`~gmesa.ecg.waves.qrs_onset` reads, with a
#: margin: its earliest onset (-0.15 s) less the quiet stretch, to 60 ms after R
ONSET_SPAN = (-0.25, 0.10)

#: iteration limit of a beat's second start
SECOND_ITER = 60

#: beats the primary lead's own pipeline fitted (the others' windows are unusable)
FITTED = ("ok", "poor_fit", "max_iter", "failed")


def _options(options, waves):
    """The :class:`FitOptions` of the joint fit: the caller's, the waves the primary
    lead's template chose (a U wave, perhaps), each lead's baseline
    :data:`JOINT_BASELINE` unless the caller gives one."""
    names = {f.name for f in fields(FitOptions)}
    given = {k: v for k, v in options.items() if k in names}
    opts = FitOptions(**dict({"baseline": JOINT_BASELINE}, **given))
    return replace(opts, waves=tuple(waves), u_wave=False if "U" not in waves else True)


def _rows(sigs, r, start, end, fs):
    """(X (N, w) s from R, Y (L, N, w) mV, usable (N, w) in every lead, lengths)."""
    n = sigs[0].size
    st, en = np.clip(start, 0, n), np.clip(end, 0, n)
    lengths = (en - st).astype(np.int64)
    width = max(int(lengths.max()), 2)
    cols = np.arange(width)
    inside = cols[None, :] < lengths[:, None]
    idx = np.minimum(st[:, None] + cols[None, :], n - 1)
    X = (st[:, None] + cols[None, :] - r[:, None]) / fs
    Y = np.stack([s[idx].astype(np.float64) for s in sigs])
    usable = inside & np.all(np.isfinite(Y), axis=0)
    Y = np.where(usable[None], Y, 0.0)
    return X, Y, usable, lengths


def _qrs_onsets(X, Y, usable):
    """The earliest QRS onset over the leads ``Y`` (L, N, w) per beat (s from R):
    :func:`~gmesa.ecg.waves.qrs_onset` of each lead, on the columns that hold
    :data:`ONSET_SPAN` in some beat (it reads nothing outside)."""
    dt = X[0, 1] - X[0, 0]
    j0 = int(np.clip(np.floor(np.min((ONSET_SPAN[0] - X[:, 0]) / dt)), 0, X.shape[1] - 2))
    j1 = int(np.clip(np.ceil(np.max((ONSET_SPAN[1] - X[:, 0]) / dt)) + 1, j0 + 2,
                     X.shape[1]))
    use = usable[:, j0:j1]
    Xv = np.where(use, X[:, j0:j1], np.nan)
    return np.min([qrs_onset(Xv, np.where(use, y[:, j0:j1], np.nan)) for y in Y], axis=0)


def _starts(first_params, idx, flagged, jt, opts):
    """Starts of the beats ``idx``: the joint template's timing for all; the primary
    lead's own fit's too for the beats (positions in ``idx``) ``flagged`` unlike the
    template (ectopic, premature).  Returns (template starts, the second beats, their own
    starts)."""
    lay = opts.layout
    own = split_shared(first_params[idx], lay.n_waves, lay.n_steps)[0]
    finite = np.all(np.isfinite(own), axis=1)
    second = np.flatnonzero(finite & flagged)
    return np.tile(jt.theta, (len(idx), 1)), second, own[second]


def _solve_block(opts, jt, X, Y, usable, first_params, idx, flagged, rr_prev, primary):
    """Joint fits of one block of beats from their starts (:func:`_starts`); returns
    (theta, coef, cost, nit, code, qrs_on s, timing bounds)."""
    lay = opts.layout
    nb = X.shape[0]
    qrs_on = _qrs_onsets(X, Y, usable)
    t_last = np.nanmax(np.where(usable, X, np.nan), axis=1)
    t_late = None
    if "T" in opts.waves:
        t_late = jt.theta[split_index(lay, "T", "center")] + IDENTITY_NEAR
    lo, hi = timing_bounds(opts, X[:, 0], t_last, rr_prev, qrs_on, t_late,
                           r_prime_at=r_prime_center(opts, jt.theta))
    s0, second, s1 = _starts(first_params, idx, flagged, jt, opts)
    Yb = np.ascontiguousarray(np.transpose(Y, (1, 0, 2)))
    W = usable.astype(float)
    prior = timing_prior(opts, rr_prev)
    clo, chi = r_prime_caps(opts, jt)

    def run(rows, th, max_iter):
        return fit_shared(X[rows], Yb[rows], clip_into(th, lo[rows], hi[rows]), lo[rows],
                          hi[rows], steps=lay.n_steps, baseline=opts.baseline,
                          channel_weights=jt.weights, weights=W[rows], max_iter=max_iter,
                          ftol=opts.tol, xtol=opts.tol, gtol=opts.tol, threads=opts.threads,
                          ridge=ridge(X[0]), coef_lower=clo, coef_upper=chi,
                          prior=None if prior is None else (prior[0][rows], prior[1][rows]))
    res = run(np.arange(nb), s0, opts.max_iter)
    out = [res.theta, res.coef, res.data_cost, res.nit, res.status]
    if second.size:  # a second start that does not converge soon is not the better one
        alt = run(second, s1, SECOND_ITER)
        two = np.stack([res.params[second, primary], alt.params[:, primary]])
        cost = np.stack([np.where(res.status[second] > 0, res.data_cost[second], np.inf),
                         np.where(alt.status > 0, alt.data_cost, np.inf)])
        use = best_start(two, cost, opts.waves, qrs_on[second], X[second, 0]) == 1
        for o, v in zip(out, (alt.theta, alt.coef, alt.data_cost, alt.nit, alt.status)):
            o[second[use]] = v[use]
    return (*out, qrs_on, lo, hi)


def r_prime_caps(opts, jt):
    """(lower, upper) (L, m) of each lead's linear coefficients in the beats: an R'
    (``R2``) of the sign of that lead's R in the joint template and at most
    :func:`~gmesa.ecg.rprime.r_prime_cap` of its R' there (as one lead's beats), the
    rest free; (None, None) without an R'."""
    if "R2" not in opts.waves:
        return None, None
    k, r = opts.layout.waves.index("R2"), opts.layout.waves.index("R")
    return r_prime_coef_bounds(jt.coef.shape[1], k, jt.coef[:, r], jt.coef[:, r],
                               jt.coef[:, k])


def timing_prior(opts, rr_prev):
    """``(mean, sd)`` (N, T) over the shared timing of beats with RR intervals
    ``rr_prev`` (s) with ``opts.priors`` (None without): the population priors of
    :mod:`gmesa.ecg.priors` as the single-lead beats get them.  The leads' residuals are
    in noise units (``channel_weights`` 1/noise), so the spreads are the table's, in s."""
    if not opts.priors:
        return None
    lay = opts.layout
    parts = None if opts.priors is True else tuple(opts.priors)
    mean, sd = prior_arrays(lay, rr_prev, parts=parts)
    return (split_shared(mean, lay.n_waves, lay.n_steps)[0],
            split_shared(sd, lay.n_waves, lay.n_steps)[0])


def _first_pass(record, options):
    """Which beats the primary lead's own pass fits (``FitOptions.fit_beats``; the
    caller's if given).  The joint fit is the answer, so a record longer than one
    chunk fits only the flagged beats (their own fits start them again): the R peaks,
    windows and template are what the joint stage needs.  A record of one chunk fits
    every beat, so its joint template leaves out the beats the single-lead model fits
    poorly (a few tenths of a ms better on LUDB's 10-s records, at little cost)."""
    if "fit_beats" in options:
        return options["fit_beats"]
    chunk_s = float(options.get("chunk_s", FitOptions.chunk_s))
    long = len(chunk_spans(record.n_samples, float(record.fs), chunk_s)) > 1
    return "flagged" if long else "all"


def _lead_table(opts, seg, fit_me, status, reason, tmpl, fs, rr, t_room, first, idx,
                previous_t=True):
    """One lead's per-beat table (the columns of :func:`fit_record`'s) and what the
    global table needs of it: raw fiducials (s from R, before presence), presence,
    RMSE, PRD, the P/T evidence.  ``previous_t``: no P on before the previous beat's T
    ends (False where the neighbours' waves were taken out)."""
    lay, rows = opts.layout, seg.rows
    good, rmse, prd, r2, sse = quality(seg, fit_me, status, reason)
    raw = {}
    like = (first.beats["start"].to_numpy() == "template")[idx]
    fid, present, fid_sd = waves_present(seg, fs=fs, good=good, sse=sse, rmse=rmse, rr=rr,
                                         template=tmpl, fitted=fit_me, reason=reason, raw=raw,
                                         like=like)
    window_edge_check(fid, rows, fit_me, t_room, reason, rr if previous_t else None)
    sigma2 = sse / np.maximum(rows.lengths - np.sum(seg.upper > seg.lower, axis=1), 1)
    evidence = wave_evidence(rows.X, seg.params, rows.lengths, sigma2, opts, fs)
    beats = first.beats.iloc[idx]
    t_r = beats["r_peak_s"].to_numpy()
    table = {"beat": beats["beat"].to_numpy(), "r_peak_s": t_r, "rr_s": rr}
    for j, name in enumerate(lay.labels):
        table[name] = seg.params[:, j]
    for key, v in fid.items():
        table[f"{key}_s"] = v + t_r
    table.update(intervals(fid, rr))
    table.update(heights(seg.params, lay, fid))
    for key, v in fid_sd.items():
        table[f"{key}_sd_ms"] = np.where(np.isfinite(fid[key]), v * 1000.0, np.nan)
    if "U" in opts.waves:
        table["U_present"] = present["U"]
    if "R2" in opts.waves:
        table["QRS_fragmented"] = present["R2"]
    table.update(P_present=present["P"], T_present=present["T"], rmse=rmse, prd=prd, r2=r2,
                 cost=0.5 * sse, nit=seg.nit, solver_status=seg.code,
                 flagged=beats["flagged"].to_numpy(), template_corr=beats["template_corr"]
                 .to_numpy(), start="joint", window_start_s=beats["window_start_s"].to_numpy(),
                 window_end_s=beats["window_end_s"].to_numpy(), status=status, reason=reason)
    for w, e in evidence.items():
        table[f"{w}_evidence"] = e
    part = {"raw": raw, "present": present, "rmse": rmse, "prd": prd, "evidence": evidence,
            "cut": np.isnan(fid["T_off"]) & np.isfinite(raw["T_off"]) & present["T"]}
    return pd.DataFrame(table), part


def _block(opts, jt, sigs, first, idx, fs, rr_all, rr_med, t_room, primary, owns=None):
    """Fit beats ``idx`` jointly: (one table per lead, the global table of the block);
    each lead's table holds its parameter rows (``Layout.pack`` gives them back).
    ``owns``: per lead, the GMF rows taken out of its signal at every beat, given back
    to each beat's window (None: none)."""
    lay = opts.layout
    b = first.beats.iloc[idx]
    r = np.round(b["r_peak_s"].to_numpy() * fs).astype(np.int64)
    start = np.round(b["window_start_s"].to_numpy() * fs).astype(np.int64)
    end = np.round(b["window_end_s"].to_numpy() * fs).astype(np.int64)
    X, Y, usable, lengths = _rows(sigs, r, start, end, fs)
    if owns is not None:
        Y = np.where(usable[None], Y + np.stack([own_waves(c, X) for c in owns]), 0.0)
    rr = rr_all[idx]
    rr_prev = np.where(np.isfinite(rr), rr, rr_med)
    status0 = b["status"].to_numpy().astype(object)
    masked = np.sum(~usable, axis=1) - (X.shape[1] - lengths)
    fit_me = np.isin(status0, FITTED) & (masked <= MAX_MASKED * lengths)
    status0 = np.where(np.isin(status0, FITTED) & ~fit_me, "artefact",
                       np.where(fit_me, "ok", status0))
    reason0 = np.where(fit_me, "", b["reason"].to_numpy()).astype(object)
    nb = len(idx)
    theta = np.full((nb, len(jt.theta)), np.nan)
    coef = np.full((nb, len(sigs), jt.coef.shape[1]), np.nan)
    cost, nit, code = np.full(nb, np.nan), np.zeros(nb, np.int64), np.zeros(nb, np.int64)
    qrs_on = np.full(nb, np.nan)
    lo = hi = np.full((nb, len(jt.theta)), np.nan)
    fi = np.flatnonzero(fit_me)
    if fi.size:
        out = _solve_block(opts, jt, X[fi], Y[:, fi], usable[fi], first.params, idx[fi],
                           b["flagged"].to_numpy(bool)[fi], rr_prev[fi], primary)
        theta[fi], coef[fi], cost[fi], nit[fi], code[fi], qrs_on[fi] = out[:6]
        lo, hi = np.full_like(theta, -np.inf), np.full_like(theta, np.inf)
        lo[fi], hi[fi] = out[6], out[7]
    inf = np.full(coef.shape[2], np.inf)
    lower = join_shared(lo, -inf, lay.n_waves, lay.n_steps)
    upper = join_shared(hi, inf, lay.n_waves, lay.n_steps)
    Xv = np.where(usable, X, np.nan)
    t_last = X[np.arange(nb), np.maximum(lengths - 1, 0)]
    shaped = np.zeros(nb, dtype=bool)
    if p_shape_wanted(opts):  # a P where a P wave can be gets its shape by MAP
        p = join_shared(theta, coef[:, primary], lay.n_waves, lay.n_steps)[:, lay.waves_slice]
        seen = np.flatnonzero(fit_me & p_is_wave(p, opts.waves, qrs_on, X[:, 0]))
        got = None if not seen.size else map_shared_p_shape(
            opts, jt, X[seen], Y[:, seen], usable[seen], lengths[seen], theta[seen],
            coef[seen], lo[seen], hi[seen], rr_prev[seen])
        if got is not None:
            ok, new_theta, new_coef, new_cost = got
            theta[seen[ok]], coef[seen[ok]], cost[seen[ok]] = new_theta, new_coef, new_cost
            shaped[seen[ok]] = True
    tables, parts = [], []
    for li in range(len(sigs)):
        p = join_shared(theta, coef[:, li], lay.n_waves, lay.n_steps)
        rows = BeatRows(X, Y[li], Xv, np.where(usable, Y[li], np.nan), usable, lengths)
        seg = SegmentFit(opts, rows, qrs_on, p, lower, upper, params=p, cost=cost, nit=nit,
                         code=code)
        t, part = _lead_table(opts, seg, fit_me, status0.copy(), reason0.copy(),
                              jt.fits[li], fs, rr, t_room[idx], first, idx, owns is None)
        tables.append(t.assign(P_shape_prior=shaped))
        parts.append(part)
    like = _like_template(opts, jt, theta, coef, fit_me, b, X, Y[primary], primary)
    glob = global_table(opts, b, theta, coef, parts, fit_me, status0, reason0,
                        (code, cost, nit), qrs_on, (X[:, 0], t_last, t_room[idx]), lengths,
                        fs, primary, owns is None, like, jt.shows, jt.weights)
    return tables, glob.assign(P_shape_prior=shaped)


def _like_template(opts, jt, theta, coef, fit_me, beats, X, Y, primary):
    """Beats whose shared P is the joint template's (:func:`~gmesa.ecg.joint_table.
    like_template`; None without P in the model).  As one lead asks
    (:func:`~gmesa.ecg.presence.consistent_p`): where the primary lead's own fit
    (``beats``) kept P waves in fewer than :data:`~gmesa.ecg.joint_template.FOLLOW_SHARE`
    (half) of the fitted beats, they count only when
    the template's P is locked to the QRS over them in the primary lead (samples ``Y`` at
    ``X``; :func:`~gmesa.ecg.presence.p_lock`): dissociated or fibrillation waves are
    not."""
    if "P" not in opts.waves:
        return None
    like = fit_me & like_template(theta, coef, jt, opts.layout)
    own = beats["P_present"].to_numpy(bool)[fit_me] if "P_present" in beats else []
    if not (len(own) and np.mean(own) >= FOLLOW_SHARE) and not p_lock(
            X, Y, like, jt.fits[primary], opts.waves) >= P_LOCK:
        like[:] = False
    return like


def _primary_fit(read, primary, rpeaks, force_ecg, options):
    """(the primary lead's own fit, sampling rate Hz, record name): :func:`fit_record`
    as the joint model starts from it (no split-half spread, no T lobe, an R' only when
    asked), its table kept only in :data:`PRIMARY_COLUMNS` (a long record's other
    columns would be held through every lead's cleaning and every block) and the free
    memory returned before the next lead is read."""
    record = read(primary)
    first = fit_record(record, primary, rpeaks=rpeaks, force_ecg=force_ecg,
                       **dict(options, fit_beats=_first_pass(record, options),
                              template_spread=False,  # the joint's own SDs are read
                              t_lobe=False,  # the joint model has no terminal T lobe
                              # an R' only when asked (JOINT_R_PRIME)
                              r_prime=options.get("r_prime", JOINT_R_PRIME)))
    no_beats(first, primary)
    first = replace(first, beats=first.beats[[c for c in PRIMARY_COLUMNS if c in first.beats]])
    fs, name = float(record.fs), record.name
    del record
    release_free_memory()
    return first, fs, name


def fit_joint(read, leads, primary, *, rpeaks=None, force_ecg=False, keep=None,
              **options):
    """The joint fit of ``leads`` (names) of a record (the module docstring), read lead
    by lead: ``read(name)`` returns a :class:`~gmesa.ecg.io.Record` holding lead
    ``name`` (it may hold others too).  Returns (global per-beat table, lead name ->
    :class:`RecordFit`, info); the table is None when no joint template can be built.
    ``keep(lead, fit)`` (None: keep all) is handed each lead's fit as soon as it is
    built and returns what to keep of it (a batch saves it and drops its signal before
    the next lead's table is built)."""
    first, fs, name = _primary_fit(read, primary, rpeaks, force_ecg, options)
    opts = _options(options, first.waves)
    sigs, names, skipped = [], [], {}
    for lead in leads:
        try:
            sig = first.signal if lead == primary else clean_lead(read(lead), lead, opts,
                                                                  force_ecg)[0]
            if not np.any(np.isfinite(sig)):
                raise ValueError(f"lead {lead!r} holds no finite samples")
            sigs.append(sig)
            names.append(lead)
        except ValueError as exc:
            skipped[lead] = str(exc)
            warn(f"fit_leads: lead {lead!r} skipped: {exc}")
    p_i = names.index(primary)
    beats = first.beats
    r = np.round(beats["r_peak_s"].to_numpy(dtype=float) * fs).astype(np.int64)
    start = np.round(beats["window_start_s"].to_numpy(dtype=float) * fs).astype(np.int64)
    end = np.round(beats["window_end_s"].to_numpy(dtype=float) * fs).astype(np.int64)
    rr = beats["rr_s"].to_numpy(dtype=float)
    rr_med = float(np.nanmedian(rr)) if np.isfinite(rr).any() else 1.0
    rr_prev = np.where(np.isfinite(rr), rr, rr_med)
    usable = ((beats["status"] == "ok").to_numpy() & ~beats["flagged"].to_numpy(bool)
              & (np.abs(rr_prev / rr_med - 1.0) < 0.2)) if len(beats) else np.zeros(0, bool)
    if not usable.any():
        usable = (beats["status"] == "ok").to_numpy()
    tp = first.info.get("template_params")
    tp = None if tp is None else np.array([tp[k] for k in first.layout.labels])
    follow = found_waves(beats, FOLLOWED, FOLLOW_SHARE)
    fitted, owns = sigs, None  # the leads the beats are fitted on, what was taken out
    if "neighbour_waves" in first.info:  # a fast rate: the primary's fit took them out
        made = overlap_joint(opts, sigs, r, start, end, fs, usable, rr_med, p_i, tp, follow)
        if made is None:  # not sound over the leads: the windows that cut the waves
            return fit_joint(read, leads, primary, rpeaks=rpeaks, force_ecg=force_ecg,
                             keep=keep, **dict(options, overlap=False))
        jt, fitted, owns = made
    else:
        jt = joint_template(opts, sigs, r, start, end, fs, usable, rr_med, p_i, tp,
                            follow=follow) if len(r) else None
    info = {"record": name, "primary": primary, "leads": names, "joint": jt is not None,
            "skipped_leads": skipped, "rpeaks": first.info["rpeaks"], "n_beats": len(r),
            "gmesa_version": __version__, "waves": list(opts.waves)}
    if jt is None:
        return None, {primary: first}, info
    reach = None if owns is not None else template_reach(opts, jt.fits[p_i], jt.qrs_on,
                                                         opts.bandwidth(fs))
    t_room = room(r, fs, reach[1]) if reach is not None else np.full(len(r), np.inf)
    info["lead_weights"] = dict(zip(names, map(float, jt.weights)))
    # leads whose template shows no QRS above their beats' noise: fitted, not judged by
    info["leads_without_beat"] = [n for n, s in zip(names, jt.shows) if not s]
    for lead in info["leads_without_beat"]:
        warn(f"fit_leads: lead {lead!r} shows no QRS above its noise (an electrode off?): "
             f"fitted, but it does not judge the beats' fit")
    tables, globs = [[] for _ in names], []
    for a in range(0, len(r), BLOCK_BEATS):
        idx = np.arange(a, min(a + BLOCK_BEATS, len(r)))
        t, g = _block(opts, jt, fitted, first, idx, fs, rr, rr_med, t_room, p_i, owns)
        for li in range(len(names)):
            tables[li].append(t[li])
        globs.append(g)
        release_free_memory()  # a block's temporaries: the heap grows less between them
    first_info = first.info
    del first, beats, fitted  # the primary lead's own table: every block has read it
    release_free_memory()  # what the blocks freed, before the tables are joined
    table = pd.concat(globs, ignore_index=True)
    del globs
    table.columns = _lead_names(table.columns, names)  # in place: no copy of the table
    fits, frag = {}, {}
    for li, lead in enumerate(names):
        table_li = pd.concat(tables[li], ignore_index=True)
        if "QRS_fragmented" in table_li:
            frag[lead] = table_li["QRS_fragmented"].to_numpy(dtype=bool)
        fit = _lead_fit(opts, table_li, sigs[li], fs, dict(first_info, lead=lead),
                        jt.fits[li], None if owns is None else owns[li])
        # the blocks' frames go once joined, the signal once kept (saved)
        tables[li] = table_li = sigs[li] = None
        fits[lead] = fit if keep is None else keep(lead, fit)
        fit = None
    for col, v in fragmented(frag, len(table)).items():
        table[col] = v
    return table, fits, info


def found_waves(beats, waves, share):
    """The ``waves`` a single-lead table ``beats`` found in at least ``share`` of its
    fitted beats (``{wave}_present``)."""
    ok = (beats["status"] == "ok").to_numpy() if len(beats) else np.zeros(0, bool)
    return tuple(w for w in waves if f"{w}_present" in beats and ok.any()
                 and float(np.mean(beats[f"{w}_present"].to_numpy(bool)[ok])) >= share)


def _lead_fit(opts, table, sig, fs, info, tmpl, taken=None):
    """One lead's :class:`RecordFit` in the joint model: its ``table``, signal ``sig``
    as recorded, the primary's ``info`` with this lead's template (``tmpl``) and, where
    the neighbours' waves were taken out, the GMF rows ``taken`` (for its figures:
    :meth:`RecordFit.neighbours`)."""
    info = dict(info, joint=True, method="gmesa-joint", n_ok=int((table["status"] == "ok")
                                                                 .sum()),
                template_params=dict(zip(opts.layout.labels, map(float, tmpl.params))))
    info.pop("neighbour_waves", None)
    if taken is not None:
        info["neighbour_waves"] = [{"start_s": 0.0, "end_s": sig.size / fs,
                                    "waves": taken.tolist()}]
        table["neighbours_out"] = True
    # the parameter rows from the table that holds them (not kept through the blocks)
    return RecordFit(table, sig, fs, info, opts.waves, opts.steps, opts.layout.pack(table),
                     opts.n_baseline)


def _lead_names(columns, names):
    """Columns ``*_#{i}`` written with lead positions, with the lead names instead."""
    out = []
    for c in columns:
        head, _, tail = c.rpartition("_#")
        out.append(f"{head}_{names[int(tail)]}" if head and tail.isdigit() else c)
    return out
