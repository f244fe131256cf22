"""Fit P, Q, R, S, T mesa components to every beat of a record: the pipeline.

Lead -> zero-phase cleaning (wander, power line, low-pass) -> R peaks -> RR-adaptive
beat windows -> median template and its fit -> windows reaching the template's T end
where the next beat allows -> every beat warm-started from the template fit (beats
unlike the template start from their own guess) -> compiled batch solver -> beats the
template's start describes far worse than the others started again from their own guess
-> a second start for beats whose P may sit on the wrong feature -> beats whose T is another
deflection than the template's fitted again with it held near the template's
(:mod:`gmesa.ecg.identity`) -> fiducials (no T off where the window ends the T wave),
intervals, fit quality and a status per beat.  The beat model (bounds, starts, solve,
quality) is :mod:`gmesa.ecg.beatmodel`, the template :mod:`gmesa.ecg.template`.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd

from .. import __version__
from .._deprecated import module_getattr, renamed_keywords
from .beatmodel import (beat_problem, measures, misfit_qrs_onset, quality,
                        restart_misfits, second_starts, wave_prd)
from .artefacts import find_artefacts
from .pacing import bridge, spike_before_r
from .beats import add_reason, beat_rows, beat_windows, room, window_edge_check
from .clean import clean as clean_signal
from .fiducials import intervals, merge_t_lobes, wave_fiducials
from .heights import heights
from .identity import follow_template
from .io import Record, ecg_lead_mv
from .lead import given_rpeaks, lead_signal, mv_limits
from .._memory import release_free_memory
from .options import BEAT_STATUS, FitOptions
from .plausible import beat_evidence, is_ecg
from .presence import template_noise, wave_presence
from .result import FIDUCIAL_COLUMNS, INTERVAL_COLUMNS, RecordFit
from .rpeaks import detect_rpeaks, no_signal
from .spread import split_half_spread, with_spread
from .overlap import overlap_template, overlaps, own_waves, with_own
from .p_shape import p_shape_by_map
from .template import qrs_corr, template_and_reach
from .waves import WAVES, in_layout, qrs_onset
from .._warn import warn

__all__ = ["fit_record", "FitOptions", "BEAT_STATUS"]

__getattr__ = module_getattr(__name__, {"STATUS": "BEAT_STATUS"}, globals())

#: beats whose RR interval is within this fraction of the median RR are regular: the
#: template is the median of the regular beats
REGULAR_RR = 0.2
#: a record with at least this many beats, fewer than this fraction of them ok, gets a
#: warning (in ``info`` and as a UserWarning): its intervals are not to be trusted
MIN_BEATS_TO_JUDGE = 5
MIN_OK_FRACTION = 0.5
#: boundaries whose uncertainty (learned map, :mod:`gmesa.ecg.fidmap`) the table gives
FIDUCIAL_SD = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off")


def _template_stage(sig, fs, r, opts, fit_me, regular, rr, rr_med, start, end, stretch):
    """(options, template fit with its spread, median beat, its QRS onset s, reach,
    :class:`~gmesa.ecg.overlap.Overlap` or None) of the beats at R peaks ``r`` in the
    windows [``start``, ``end``): the template and how far the windows reach
    (:func:`~gmesa.ecg.template.template_and_reach`; ``rr`` the RR intervals before
    each beat, s, NaN for the first, ``rr_med`` their median); where its waves overlap the
    neighbours' (:func:`~gmesa.ecg.overlap.overlaps`) the template fitted on the signal
    less them, its ``sig`` that signal, and no reach."""
    asked = opts
    opts, tmpl_fit, median, tmpl_qrs_on, reach = template_and_reach(
        opts, sig, r, start, end, fs, fit_me, regular, rr_med, stretch)
    over, fitted, give_back = None, sig, None
    if opts.overlap and overlaps(opts, tmpl_fit, reach, rr, opts.bandwidth(fs)):
        over = overlap_template(asked, (opts, tmpl_fit), sig, r, fs, fit_me, regular, rr_med,
                                stretch)
    if over is not None:
        opts, median, tmpl_qrs_on, reach = over.opts, over.median, over.qrs_on, None
        tmpl_fit = over.fit._replace(neighbours=over.comps)
        fitted = over.sig
        give_back = partial(own_waves, over.comps)
    if tmpl_fit is not None and opts.template_spread:
        held = tmpl_fit.stretch  # a chunk that keeps the choice in force keeps its spread
        if held is not None and held is stretch and held.spread is not None:
            spread = held.spread
        else:
            usable = fit_me & regular if (fit_me & regular).any() else fit_me
            spread = split_half_spread(opts, tmpl_fit, fitted, r, usable, fs, rr_med,
                                       tmpl_qrs_on, give_back)
            held = None if held is None else held._replace(spread=spread)
        tmpl_fit = tmpl_fit._replace(spread=spread, stretch=held)
    return opts, tmpl_fit, median, tmpl_qrs_on, reach, over


def _fit_segment(sig, fs, r, opts, offset, artefacts=None, stretch=None):
    """Fit every beat with R peak samples ``r`` (indices into ``sig``); return a table,
    the parameter matrix, the template's fit (a :class:`~gmesa.ecg.presence.TemplateFit`
    with the model choice in force, ``stretch``: the one of an earlier chunk, kept, or
    a new one, and its :mod:`~gmesa.ecg.spread`; None without a template) and the
    options used (a U wave may have been chosen, see
    :func:`~gmesa.ecg.template.chosen_template`).  ``offset``
    (samples) is added to every time column; ``artefacts`` (of ``sig``) are left out."""
    start, end, rr, rr_med = beat_windows(r, sig.size, fs)
    rows, status, reason = beat_rows(sig, r, start, end, fs, artefacts)
    fit_me = status == "ok"
    rr_prev = np.where(np.isfinite(rr), rr, rr_med)
    regular = np.abs(rr_prev / rr_med - 1.0) < REGULAR_RR
    opts, tmpl_fit, median, tmpl_qrs_on, reach, over = _template_stage(
        sig, fs, r, opts, fit_me, regular, rr, rr_med, start, end, stretch)
    t_room = None
    if over is not None:  # a fast rate: the beats' waves overlap the neighbours'
        start, end = over.start, over.end
        rows, status, reason = beat_rows(over.sig, r, start, end, fs, artefacts)
        rows = with_own(rows, over.comps)
        fit_me = status == "ok"
    elif reach is not None:  # windows reach the template's T end where the next beat allows
        t_room = room(r, fs, reach[1])
        start, end = beat_windows(r, sig.size, fs, reach)[:2]
        rows, status, reason = beat_rows(sig, r, start, end, fs, artefacts)
        fit_me = status == "ok"
    template_vec = None if tmpl_fit is None else tmpl_fit.params
    qrs_on = np.full(r.size, tmpl_qrs_on)  # observed QRS onset (s from R): template's, or own
    corr = np.full(r.size, np.nan)
    flagged = np.ones(r.size, dtype=bool)
    if tmpl_fit is not None:
        corr = qrs_corr(sig, r, fs, *median)
        flagged = (corr < opts.template_corr) | (rr_prev < opts.premature * rr_med)
    if opts.fit_beats == "flagged":  # the joint model's first pass (ecg/joint.py)
        fit_me = fit_me & flagged
    own = fit_me & flagged
    warm = fit_me & ~own
    if own.any():
        qrs_on[own] = qrs_onset(rows.Xv[own], rows.Yv[own])
    noise = None if tmpl_fit is None else template_noise(tmpl_fit, opts.bandwidth(fs))
    fit = beat_problem(opts, rows, qrs_on, rr_prev, own, warm, template_vec, median, noise)
    fi = np.flatnonzero(fit_me)
    if fi.size:
        fit.keep(fi, fit.solve(fi))
    if template_vec is not None and fi.size:
        restart_misfits(fit, warm, rr_prev)
    if template_vec is not None and "P" in opts.waves and fi.size:
        second_starts(fit, template_vec, own, warm)
    unlike = np.full(r.size, "", dtype=object)
    if template_vec is not None and fi.size:  # the template decides which wave is which
        prd = quality(fit, fit_me, status.copy(), reason.copy())[2]
        described = fit_me & (prd <= opts.prd_limit)  # not where the model fails anyway
        unlike = follow_template(fit, template_vec, described, opts.bandwidth(fs))
    good, rmse, prd, r2, sse, resid = quality(fit, fit_me, status, reason, with_residuals=True)
    fid, present, fid_sd = waves_present(fit, fs=fs, good=good, sse=sse, rmse=rmse, rr=rr,
                                         template=tmpl_fit, fitted=fit_me, reason=reason,
                                         like=~flagged)
    window_edge_check(fid, rows, fit_me, t_room, reason, rr if over is None else None)
    changed = p_shape_by_map(opts, fit, fid, fid_sd, rmse, rr, rr_prev, noise, tmpl_fit,
                             resid)
    shaped = np.zeros(r.size, dtype=bool)
    shaped[changed] = True
    if changed.size:  # the measures and the cost of the parameters reported
        before = sse
        rmse, prd, r2, sse, resid = measures(fit, good, resid)
        fit.cost[changed] += 0.5 * (sse[changed] - before[changed])
        # ... and the window checks again, for the P waves the prior moved
        window_edge_check(fid, rows, shaped, t_room, reason, rr if over is None else None)
    wave_fit = wave_prd(fit, good, fid, resid=resid)
    if opts.signal_onset:
        misfit_qrs_onset(fid, wave_fit["QRS_prd"], rows, reason)
    add_reason(reason, unlike != "", unlike)
    t_r = (r + offset) / fs
    table = {"beat": np.arange(r.size), "r_peak_s": t_r, "rr_s": rr}
    for j, name in enumerate(opts.layout.labels):
        table[name] = fit.params[:, j]
    for key, v in fid.items():
        table[f"{key}_s"] = v + t_r
    for key, v in fid_sd.items():
        table[f"{key}_sd_ms"] = np.where(np.isfinite(fid[key]), v * 1000.0, np.nan)
    for key, v in intervals(fid, rr).items():
        table[key] = v
    table.update(heights(fit.params, opts.layout, fid))
    table.update(wave_fit)
    if "U" in opts.waves:
        table["U_present"] = present["U"]
    if "R2" in opts.waves:
        table["QRS_fragmented"] = present["R2"]
    table.update(P_present=present["P"], T_present=present["T"], rmse=rmse, prd=prd, r2=r2,
                 cost=fit.cost, nit=fit.nit, solver_status=fit.code, flagged=flagged,
                 template_corr=corr, start=np.where(flagged, "own", "template"),
                 neighbours_out=np.full(r.size, over is not None),
                 P_shape_prior=shaped,
                 window_start_s=(start + offset) / fs, window_end_s=(end + offset) / fs,
                 pacing_spike_s=spike_before_r(r / fs, start / fs,
                                               () if artefacts is None else artefacts.spike_s),
                 status=status, reason=reason)
    return pd.DataFrame(table), fit.params, tmpl_fit, opts


def waves_present(fit, *, fs, good, sse, rmse, rr, template, fitted, reason, raw=None,
                  like=None):
    """(fiducials s from R, presence per wave) of the beats of ``fit`` (a
    :class:`~gmesa.ecg.beatmodel.SegmentFit`): P and T by BIC evidence against the
    residual noise (:func:`~gmesa.ecg.presence.wave_presence`), their fiducials NaN
    where absent; beats ``fitted`` without P get the reason in ``reason``.  A dict
    ``raw`` receives the fiducials before presence (and before T2 is merged); ``like``:
    the beats like the template (None: all).  (``raw`` also gets each boundary's SD, s, as
    ``{boundary}_sd``.)"""
    opts, rows, params = fit.opts, fit.rows, fit.params
    lay = opts.layout
    sigma2 = sse / np.maximum(rows.lengths - np.sum(fit.upper > fit.lower, axis=1), 1)
    bw = opts.bandwidth(fs)
    fid, fid_sd = wave_fiducials(params[:, lay.waves_slice], opts.waves, method=opts.fiducials,
                                 noise=rmse, rr=rr, with_sd=True)
    if raw is not None:
        raw.update(fid)
        raw.update({f"{k}_sd": v for k, v in fid_sd.items()})
    present, p_note = wave_presence(
        rows.X, params, rows.lengths, good, sigma2, rmse, rr, opts.waves, bw=bw,
        snr=opts.wave_snr, p_window=opts.p_window_s, template=template, qrs_on=fid["QRS_on"],
        Y=rows.Y, like=like)
    if "P" in opts.waves:
        reason[fitted & ~present["P"] & (reason == "")] = p_note
    if "T2" in opts.waves:
        amp_of = {w: params[:, lay.index(w, "amplitude")] for w in ("T", "T2")}
        fid = merge_t_lobes(fid, present["T"], present["T2"], amp_of["T"], amp_of["T2"])
        present["T"] = present["T"] | present["T2"]
    for w in ("P", "T"):
        for part in ("on", "peak", "off"):
            fid[f"{w}_{part}"] = np.where(present[w], fid[f"{w}_{part}"], np.nan)
    spread = None if template is None else template.spread
    sd = with_spread({k: np.where(np.isfinite(fid[k]), fid_sd[k], np.nan) for k in FIDUCIAL_SD},
                     spread)
    return fid, present, sd


def cleaned(seg, fs, opts):
    """``seg`` cleaned as ``opts`` say (wander, power line, low-pass), float64."""
    if not (opts.wander or opts.powerline or opts.lowpass):
        return seg.copy()
    return clean_signal(seg, fs, wander=opts.wander, powerline=opts.powerline,
                        lowpass=opts.lowpass, cutoff=opts.highpass_hz)


#: the shortest chunk (s) a record is fitted in (:func:`cleaned_chunks`): a chunk's
#: template is the median of its beats, and its model choice is scored on them
SHORTEST_CHUNK_S = 60.0


def chunk_spans(n, fs, chunk_s):
    """The chunks [a, b) (samples) a lead of ``n`` samples at ``fs`` Hz is fitted in:
    ``chunk_s`` s each, at least :data:`SHORTEST_CHUNK_S`; a rest shorter than that at
    the record's end joins the last chunk."""
    shortest = int(SHORTEST_CHUNK_S * fs)
    chunk = max(int(chunk_s * fs), shortest)
    spans, a = [], 0
    while a < n:
        b = n if n - a < chunk + shortest else a + chunk
        spans.append((a, b))
        a = b
    return spans


def cleaned_chunks(raw, fs, opts, artefacts=None):
    """The lead ``raw`` cleaned chunk by chunk (:func:`chunk_spans` of ``opts.chunk_s``,
    with 10 s of overlap on each side): yields (a, b, lo, hi, cleaned samples
    lo..hi as float64, the :class:`~gmesa.ecg.artefacts.Artefacts` of lo..hi or None)
    for the chunks [a, b).  Samples marked in ``artefacts`` are NaN before cleaning
    (``raw`` is not changed: no copy of a whole lead)."""
    n = raw.size
    pad = int(10 * fs)
    for a, b in chunk_spans(n, fs, opts.chunk_s):
        lo, hi = max(a - pad, 0), min(b + pad, n)
        part = None if artefacts is None else artefacts.part(lo, hi)
        seg = raw[lo:hi]
        if part is not None:
            if part.spikes.size:
                seg = bridge(seg, part.spikes, fs)
            seg = np.where(part.mask, np.nan, seg)
        yield a, b, lo, hi, cleaned(seg, fs, opts), part


def _fit_chunks(raw, fs, opts, given, artefacts=None):
    """Fit a lead ``raw`` chunk by chunk (:func:`cleaned_chunks`; each beat in exactly
    the chunk its R peak falls in): (tables, (parameter matrix, options used) per chunk,
    the first template's fit (a :class:`~gmesa.ecg.presence.TemplateFit`) with its
    options, the cleaned lead as float32, the model choice of each stretch of chunks
    that shared one, with its ``start_s``, ``end_s`` and ``n_chunks``, and the chunks
    whose beats were fitted less their neighbours' waves, with those waves:
    :mod:`gmesa.ecg.overlap`).
    A chunk keeps the choice in force -- the hypothesis, its U wave and terminal T lobe
    -- while its median beat looks like the one the choice was made on
    (:func:`~gmesa.ecg.choice.same_stretch`); a new stretch decides all of them again.
    Samples marked in ``artefacts`` are left out."""
    tables, params = [], []
    clean_sig = np.empty(raw.size, dtype=np.float32)  # kept for plots; fits use float64
    template, stretch, stretches, out = None, None, [], []
    for a, b, lo, hi, cs, part in cleaned_chunks(raw, fs, opts, artefacts):
        clean_sig[a:b] = cs[a - lo:a - lo + (b - a)]
        if given is None:  # not where the lead itself is flat (cleaning rings into it)
            seen = np.where(no_signal(raw[lo:hi], fs), np.nan, cs)
            r = detect_rpeaks(seen, fs) if np.any(np.isfinite(seen)) else np.zeros(0, np.int64)
        else:
            r = given[(given >= lo) & (given < hi)] - lo
        r = np.asarray(r, dtype=np.int64)
        if r.size == 0:
            continue
        table, p, tf, used = _fit_segment(cs, fs, r, opts, lo, part, stretch)
        now = None if tf is None else tf.stretch
        if now is not None and now is stretch:  # the choice in force held
            stretches[-1].update(end_s=b / fs, n_chunks=stretches[-1]["n_chunks"] + 1)
        elif now is not None:
            stretches.append(dict(now.summary, start_s=a / fs, end_s=b / fs, n_chunks=1))
            stretch = now
        own = (r + lo >= a) & (r + lo < b)
        if tf is not None and tf.neighbours is not None:
            out.append({"start_s": a / fs, "end_s": b / fs, "waves": tf.neighbours.tolist()})
        tables.append(table[own])
        params.append((p[own], used))
        if template is None and tf is not None:
            template = (tf, used)
    return tables, params, template, clean_sig, stretches, out


def record_options(opts, used):
    """The options of a whole record from ``used``, those of its chunks (a stretch of
    rhythm may model a U wave or a terminal T lobe that another does not): every wave
    any chunk modelled, in the order they were first modelled; ``opts`` (the caller's)
    when there is no chunk."""
    if not used:
        return opts
    waves = list(used[0].waves)
    for u in used[1:]:
        waves += [w for w in u.waves if w not in waves]
    return replace(used[0], waves=tuple(waves), u_wave="U" in waves,
                   t_lobe=True if "T2" in waves else opts.t_lobe,
                   r_prime=True if "R2" in waves else opts.r_prime)


def _beats_table(tables, params, opts):
    """(the per-beat table, the parameter matrix) in the layout of ``opts`` (the
    record's, :func:`record_options`) of the chunks' ``tables`` and ``params`` ((matrix,
    options) per chunk)."""
    names = list(opts.layout.labels)
    if not tables:
        beats = pd.DataFrame(columns=["beat", "r_peak_s", "rr_s"] + names
                             + list(FIDUCIAL_COLUMNS) + list(INTERVAL_COLUMNS)
                             + ["status", "reason"])
        return beats, np.zeros((0, len(names)))
    lay = opts.layout
    pmat = np.concatenate([in_layout(p, used.layout, lay) for p, used in params])
    beats = pd.concat(tables, ignore_index=True)
    beats[names] = pmat
    for col in ("U_present", "QRS_fragmented"):  # not where a chunk did not model it
        if col in beats:
            beats[col] = beats[col].fillna(False).astype(bool)
    beats["beat"] = np.arange(len(beats))
    rr = np.diff(beats["r_peak_s"].to_numpy())
    beats["rr_s"] = np.concatenate([[np.nan], rr])
    return beats, pmat


def _judge_ecg(beats, clean_sig, fs):
    """The evidence that the lead is an ECG (:func:`~gmesa.ecg.plausible.beat_evidence`)
    as a dict; when it is not, every fitted beat gets status "not_ecg" and says why."""
    r = np.round(beats["r_peak_s"].to_numpy(dtype=float) * fs).astype(np.int64)
    explained, steep = beat_evidence(clean_sig, r, fs)
    if not is_ecg(explained, steep):
        hit = beats["status"].isin(["ok", "max_iter", "poor_fit"]).to_numpy()
        beats.loc[hit, "status"] = "not_ecg"
        reason = beats["reason"].to_numpy(dtype=object).copy()
        add_reason(reason, hit, f"the lead's beats share no ECG shape (their median beat "
                                f"explains {max(explained, 0.0):.0%} of them; its QRS slope "
                                f"is {steep:.1f} times its median slope)")
        beats["reason"] = reason
    return {"explained": explained, "qrs_slope": steep, "is_ecg": is_ecg(explained, steep)}


def _record_info(record, lead_name, unit, fs, opts, beats, given, n, template):
    """The ``info`` of a :class:`RecordFit`: settings and summary (``unit`` the lead's;
    ``template`` the first chunk's :class:`~gmesa.ecg.presence.TemplateFit` and
    options, or None)."""
    names = list(opts.layout.labels)
    if template is not None:
        template = template[0]._replace(params=in_layout(template[0].params[None],
                                                         template[1].layout, opts.layout)[0])
    info = {
        "record": record.name, "path": record.path, "lead": lead_name,
        "units": unit,
        "sampling_rate": fs, "method": f"gmesa-{opts.engine}", "gmesa_version": __version__,
        "n_beats": int(len(beats)),
        "n_ok": int((beats["status"] == "ok").sum()) if len(beats) else 0,
        "rpeaks": "given" if given is not None else "detected",
        "waves": list(opts.waves), "t_lobe": opts.t_lobe is True,
        "st_step": opts.st_step, "wander": opts.wander,
        "highpass_hz": opts.highpass_hz, "baseline": opts.baseline,
        "n_baseline": opts.n_baseline, "powerline": opts.powerline, "lowpass": opts.lowpass,
        "duration_s": n / fs,
        "template_params": None if template is None else dict(zip(names, map(float,
                                                                             template.params))),
        # how far the first template's reading moves between halves of its beats (ms)
        "template_spread_ms": None if template is None or template.spread is None else {
            b: 1000.0 * v for b, v in template.spread.items()},
    }
    if len(beats) == 0:
        info["warning"] = "no beats detected"
    elif (beats["status"] == "not_ecg").any():
        info["warning"] = (f"lead {lead_name!r} does not look like an ECG: its beats share no "
                           "shape led by a QRS complex (noise, or another signal); no beat "
                           "is reported as ok")
        warn(f"{record.name}: {info['warning']}")
    elif len(beats) >= MIN_BEATS_TO_JUDGE and info["n_ok"] < MIN_OK_FRACTION * len(beats):
        info["warning"] = (f"only {info['n_ok']} of {len(beats)} beats fitted ok: lead "
                           f"{lead_name!r} may be mostly noise or not an ECG; its intervals "
                           "are unreliable")
        warn(f"{record.name}: {info['warning']}")
    return info


@renamed_keywords(clean="wander")
def fit_record(record, lead=None, *, waves=WAVES, rpeaks=None, st_step=True,
               engine="batch", wander="highpass", powerline=None, lowpass=40.0,
               max_iter=400, tol=1e-5, threads=None, chunk_s=600.0, force_ecg=False,
               **options):
    """Fit P, Q, R, S, T mesa components to every beat of one lead of ``record``.

    Parameters
    ----------
    record : :class:`~gmesa.ecg.io.Record` (from ``read_record`` or ``Record(signal, fs)``)
    lead : lead name or index (default: lead II or MLII when the record has it, else the
        first lead whose name looks like an ECG lead, else the first lead).
    waves : wave names to model, from P, Q, R, S, T, T2 (a second T lobe), U (a U wave
        after T in every record; by default, ``u_wave="auto"``, one is added to a
        record whose template T would peak later than ``T_LATEST`` sqrt(RR)).
    rpeaks : None (detect), ``"annotations"`` (the record's beat annotations) or an
        array of R-peak sample indices.
    st_step : add a tanh level shift (ST segment) component.
    engine : ``"batch"`` (compiled batch solver), ``"scipy"`` or ``"lmfit"`` (per beat).
    wander, powerline, lowpass : cleaning (see :func:`gmesa.ecg.clean.clean`); ``wander``
        was called ``clean`` (deprecated).
    max_iter, tol : solver iteration limit and tolerance (ftol, xtol and gtol).
    threads : Numba threads for the batch solver.
    chunk_s : records longer than this are processed in chunks of this many seconds,
        each beat in exactly one chunk (its R peak decides), with 10 s of overlap; a
        rest under a minute at the record's end joins the last chunk.
    force_ecg : fit a lead that is not an ECG (a unit that is not a voltage, or a name
        such as ABP, PLETH, RESP); refused by default (:class:`~gmesa.ecg.RecordError`).
        A lead in V, µV or nV is fitted in mV.
    **options : the other fields of :class:`FitOptions` (``baseline``: each beat's
        baseline polynomial, ``highpass_hz``, ``prd_limit``, ...).

    Returns :class:`RecordFit`.
    """
    if not isinstance(record, Record):
        raise TypeError(f"record must be a gmesa.ecg.Record, got {type(record).__name__}; "
                        "use read_record(path) or Record(signal, fs)")
    opts = FitOptions(waves=waves, st_step=st_step, engine=engine, wander=wander,
                      powerline=powerline, lowpass=lowpass, max_iter=max_iter, tol=tol,
                      threads=threads, chunk_s=chunk_s, **options)
    raw, lead_name = lead_signal(record, lead)
    raw, unit = ecg_lead_mv(record, lead_name, raw, force_ecg)
    fs = float(record.fs)
    if not np.any(np.isfinite(raw)):
        raise ValueError(f"{record.name}: lead {lead_name!r} holds no finite samples")
    given = given_rpeaks(record, rpeaks, raw.size)
    artefacts = None
    if opts.artefacts:
        artefacts = find_artefacts(raw, fs, mv_limits(record, lead_name, unit),
                                   pacing=opts.pacing_spikes)
        artefacts = artefacts if artefacts.any else None
    tables, params, template, clean_sig, choices, taken = _fit_chunks(raw, fs, opts, given,
                                                                       artefacts)
    release_free_memory()  # the chunks' temporaries, before their tables are joined
    opts = record_options(opts, [used for _, used in params])
    beats, pmat = _beats_table(tables, params, opts)
    evidence = _judge_ecg(beats, clean_sig, fs)
    info = _record_info(record, lead_name, unit, fs, opts, beats, given, raw.size, template)
    info["ecg_evidence"] = evidence
    if choices:  # the first stretch's; every stretch's when the chunks made several
        chunks = sum(c["n_chunks"] for c in choices)
        info["model_choice"] = dict(choices[0], stretches=choices) if chunks > 1 else choices[0]
    if artefacts is not None and artefacts.any:
        info["artefacts"] = artefacts.summary()
    if taken:  # the chunks whose beats were fitted less their neighbours' waves
        info["neighbour_waves"] = taken
    return RecordFit(beats, clean_sig, fs, info, opts.waves, opts.steps, pmat, opts.n_baseline)
