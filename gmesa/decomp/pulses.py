"""``fit_pulses``: every pulse of a PPG or arterial-pressure signal as K mesa functions.

1. **Onsets** (feet) by :func:`gmesa.decomp.onsets.detect_pulses` (intersecting tangents
   before each systolic upstroke, upstrokes at least half the dominant period apart),
   or given.
2. **Windows**: each pulse runs from the diastolic minimum (valley) before its onset to
   the valley before the next one, so it holds its whole upstroke and none of the next
   (with given onsets: from onset to onset).  x = s from the window's start.
   Windows shorter than 0.5 or longer than 1.75 times the median of the 11 around them
   (a missed or an extra onset) or with more than 10% missing samples are not fitted
   (status "failed"); a long one (up to 2.5 times) without an upstroke in its second
   half is a long diastole (bigeminy, a pause) and is fitted.
3. **Template**: the pointwise median of the pulses (each minus its first value, over
   the median length, each pulse contributing only its own samples) decomposed by
   :func:`gmesa.decompose` (default bi-Gaussian components, positive amplitudes, a
   constant baseline: the median pulse does not drift).  K is chosen among the K whose
   template is interpretable (:mod:`gmesa.decomp.interpret`) and has no component
   centred within 20 ms of its ends (one that models the neighbouring pulse), by the
   criterion summed over up to 30 pulses fitted from each K's template as every pulse is
   (:func:`_pulse_scores`): the median pulse is too clean to choose K on.
4. **Pulses**: every pulse starts from the template's shapes with amplitudes and
   baseline by linear least squares, then all are fitted at once by :func:`gmesa.fit_many`
   (padded rows, ``lengths``) with the ``baseline`` asked for (default linear, for the
   drift within a pulse) within bounds tied to the template: each centre may move by
   ``center_tolerance`` of the gap to its nearest neighbour in the template (so the
   components keep their order) and stays inside its pulse, tail widths between
   1/``width_factor`` and ``width_factor`` times the template's, amplitudes >= 0.
5. **Quality**: PRD (%) = 100 |y - fit| / |y - mean(y)| per pulse and the rules of
   :mod:`gmesa.decomp.interpret`; a pulse that breaks one is "flagged" with the rule in
   ``reason`` (its components keep their template names).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from .. import _kernels as K
from ..core import Layout, baseline_size
from .search import decompose
from .interpret import MIN_SEPARATION_S, interpretability
from .onsets import INVERTED_ABOVE, detect_pulses, fall_over_rise, smooth
from .pulse_result import PulseFit
from ..solvers import SOLVER_STATUS, fit_many
from .._warn import warn

#: windows outside these multiples of the median window around them are not fitted
WINDOW_RANGE = (0.5, 1.75)
#: ... the median of this many windows centred on each
LOCAL_WINDOWS = 11
#: a window too long for its neighbours, up to LONG_DIASTOLE times their median, is a
#: missed onset only when its second half rises at least this fraction of its own
#: upstroke (the onsets' own threshold); else a long diastole (bigeminy, a pause)
HIDDEN_UPSTROKE = 0.35
LONG_DIASTOLE = 2.5
#: largest fraction of missing (NaN) samples in a fitted window
MAX_MISSING = 0.10
#: the template's K is scored on at most this many pulses (:func:`_pulse_scores`)
CHOICE_PULSES = 30


def _check_signal(signal, fs):
    sig = np.asarray(signal, dtype=np.float64)
    if sig.ndim != 1:
        raise ValueError(f"signal has shape {sig.shape}; give one channel as a 1-D array")
    if not isinstance(fs, numbers.Real) or isinstance(fs, bool) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs={fs!r}: give the sampling rate in Hz (> 0)")
    finite = np.isfinite(sig)
    if finite.mean() < 0.5:
        raise ValueError(f"only {finite.mean():.0%} of the signal's samples are finite; "
                         "fit_pulses needs at least half")
    if np.ptp(sig[finite]) == 0:
        raise ValueError("the signal is flat (every sample equal): there are no pulses")
    return sig, float(fs)


def _check_onsets(onsets, n):
    on = np.asarray(onsets)
    if on.ndim != 1 or on.size < 3 or not np.issubdtype(on.dtype, np.integer):
        raise ValueError("onsets must be a 1-D array of at least 3 integer sample indices")
    on = on.astype(np.int64)
    if np.any(np.diff(on) <= 0) or on[0] < 0 or on[-1] >= n:
        raise ValueError(f"onsets must increase strictly and lie in [0, {n - 1}]")
    return on


def _windows(sig, onsets, fs, lowpass_hz=8.0):
    """starts, lengths (onset to next onset) and why a window is not fitted ("" if it is).
    A window is compared with the median of the :data:`LOCAL_WINDOWS` around it, so that
    a change of rate is followed (12 pulses at 75/min then 30 at 133/min: the first 12
    were 'failed' against the median of all)."""
    from scipy.ndimage import median_filter
    from scipy.signal import find_peaks

    starts, lengths = onsets[:-1], np.diff(onsets)
    local = median_filter(lengths.astype(float), size=LOCAL_WINDOWS, mode="nearest")
    rise = None   # the smoothed slope (low-passed as for the onsets), read for long windows
    why = [""] * starts.size
    for i, (a, n) in enumerate(zip(starts, lengths)):
        ratio = n / local[i]
        missing = np.count_nonzero(~np.isfinite(sig[a:a + n])) / n
        if WINDOW_RANGE[1] < ratio <= LONG_DIASTOLE:  # a missed onset leaves an upstroke
            rise = np.gradient(smooth(sig, fs, lowpass_hz)) if rise is None else rise
            half = a + int(0.5 * local[i])
            own, later = rise[a:half], rise[half:a + n]
            peaks = find_peaks(np.nan_to_num(later, nan=-np.inf))[0]  # not the next rise
            top = np.max(own, initial=-np.inf, where=np.isfinite(own))
            if top > 0 and not np.any(later[peaks] >= HIDDEN_UPSTROKE * top):
                ratio = WINDOW_RANGE[1]   # a long diastole (bigeminy, a pause): fitted
        if not WINDOW_RANGE[0] <= ratio <= WINDOW_RANGE[1]:
            why[i] = (f"window {n / fs:.2f} s is {ratio:.2f}x the median "
                      f"{local[i] / fs:.2f} s of the windows around it (a missed or an extra "
                      "onset?)")
        elif missing > MAX_MISSING:
            why[i] = f"{missing:.0%} of the window's samples are missing"
    return starts, lengths, why


def median_pulse(sig, starts, lengths, usable):
    """Pointwise median of the usable pulses, each minus its onset value, over the
    median window length; each pulse contributes only its own samples (up to its next
    onset), so the template never holds the next upstroke."""
    L = int(np.median(lengths[usable]))
    rows = []
    for a, m, ok in zip(starts, lengths, usable):
        if ok and np.isfinite(sig[a]):
            seg = np.full(L, np.nan)
            seg[:min(m, L)] = sig[a:a + min(m, L)] - sig[a]
            rows.append(seg)
    if len(rows) < 3:
        raise ValueError(f"only {len(rows)} usable pulses: a template needs at least 3")
    with warnings.catch_warnings():   # samples past every pulse's end: all-NaN columns
        warnings.simplefilter("ignore", RuntimeWarning)
        tmpl = np.nanmedian(np.array(rows), axis=0)
    good = np.isfinite(tmpl)
    return np.interp(np.arange(L), np.flatnonzero(good), tmpl[good])


def _template(sig, fs, starts, lengths, usable, opts):
    y = median_pulse(sig, starts, lengths, usable)
    t = np.arange(y.size) / fs
    # the median pulse has no drift: a constant baseline (a sloped one trades off with
    # broad components); each pulse then gets the baseline asked for
    base = "none" if baseline_size(opts["baseline"]) == 0 else "constant"
    dec = decompose(t, y, opts["max_components"], criterion=opts["criterion"],
                    shape=opts["shape"], baseline=base, sign="positive")
    crit = dec.criteria.set_index("K")
    ok_k = [k for k, (p, _) in dec.candidates.items() if _clear_template(p, t[-1], np.ptp(y), k)]
    if not ok_k:
        return dec, "no K gives an interpretable template; the criterion's K is used"
    score = _pulse_scores(sig, fs, starts, lengths, usable, dec, ok_k, opts)
    best = min(ok_k, key=lambda k: (score.get(k, crit.loc[k, opts["criterion"]]), k))
    return dec.at(best), ""


def _pulse_scores(sig, fs, starts, lengths, usable, dec, ks, opts):
    """{K: the criterion (BIC or AIC) summed over up to :data:`CHOICE_PULSES` usable
    pulses, evenly spaced, each fitted from the template of that K as every pulse is (over
    the pulses every K fitted)} for the interpretable ``ks``; {} when there is nothing to
    choose.  The median pulse
    is too clean to choose K on: its noise is the pulses' over the square root of their
    number, so its criterion rewards any systematic misfit (a 0.2-Hz wander of a quarter
    of the pulse amplitude: K 4 with a drift component, and 72 of 74 pulses flagged)."""
    idx = np.flatnonzero(usable)
    if len(ks) < 2 or idx.size < 3:
        return {}
    idx = idx[np.linspace(0, idx.size - 1, min(idx.size, CHOICE_PULSES)).astype(int)]
    sample = np.zeros(usable.size, dtype=bool)
    sample[idx] = True
    n = np.array([np.count_nonzero(np.isfinite(sig[starts[i]:starts[i] + lengths[i]]))
                  for i in idx], dtype=float)
    nb = baseline_size(opts["baseline"])
    per = {}
    for k in ks:
        rmse = _fit_windows(sig, fs, starts, lengths, sample, dec.at(k), opts)["rmse"][idx]
        penalty = (5 * k + nb) * (np.log(n) if opts["criterion"] == "bic" else 2.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            per[k] = n * np.log(np.maximum(rmse ** 2, 1e-300)) + penalty
    common = np.all([np.isfinite(v) for v in per.values()], axis=0)  # every K fitted them
    if not common.any():
        return {}
    return {k: float(np.sum(v[common])) for k, v in per.items()}


def _clear_template(p, duration, y_range, k):
    """The template passes the rules of :mod:`gmesa.decomp.interpret`, and no component sits on
    the window's ends (centres at least the smallest separation, 20 ms, inside): such a
    component models the neighbouring pulse, not this one."""
    c = p[1:5 * k:5]
    return bool(interpretability(p, duration, y_range, k)[0][0]
                and np.all((c >= MIN_SEPARATION_S) & (c <= duration - MIN_SEPARATION_S)))


def pulse_vector(template, nb):
    """The template's components followed by ``nb`` baseline coefficients (its constant,
    then zeros): the common start of every pulse."""
    k = template.n_components
    base = np.zeros(nb)
    base[:min(nb, template.n_baseline)] = template.baseline_coefficients[:nb]
    return np.concatenate([template.params[:5 * k], base])


def _starts(tvec, k, nb, X, Y, valid):
    """Per-pulse start vectors: template shapes, least-squares amplitudes and baseline."""
    x = X[0]
    cols = []
    for i in range(k):
        g = np.empty(x.size)
        K.gmf_value_into(x, 1.0, *tvec[5 * i + 1:5 * i + 5], g)
        cols.append(g)
    cols += [x ** j for j in range(nb)]
    A = np.stack(cols, axis=1)[None, :, :] * valid[:, :, None]
    ata = np.einsum("nsi,nsj->nij", A, A) + 1e-12 * np.eye(k + nb)
    aty = np.einsum("nsi,ns->ni", A, np.where(valid, Y, 0.0))
    coef = np.linalg.solve(ata, aty[:, :, None])[:, :, 0]
    P = np.tile(tvec, (Y.shape[0], 1))
    P[:, 0:5 * k:5] = np.maximum(coef[:, :k], 1e-3 * tvec[0:5 * k:5])
    P[:, 5 * k:] = coef[:, k:]
    return P


def pulse_bounds(template, nb, center_tolerance=0.5, width_factor=3.0, dt=0.0):
    """(lower, upper) of a pulse's vector (K components + ``nb`` baseline coefficients),
    tied to the template (see the module)."""
    k = template.n_components
    p = pulse_vector(template, nb)
    c = p[1:5 * k:5]
    gaps = np.diff(c)
    near = np.minimum(np.r_[np.inf, gaps], np.r_[gaps, np.inf])
    near = np.where(np.isfinite(near), near, 0.25 * (template.x[-1] - template.x[0]))
    slack = np.maximum(center_tolerance * near, 2 * dt)
    lo = np.full(p.size, -np.inf)
    hi = np.full(p.size, np.inf)
    lo[0:5 * k:5] = 0.0
    lo[1:5 * k:5], hi[1:5 * k:5] = np.maximum(c - slack, 0.0), c + slack
    h = p[2:5 * k:5]
    lo[2:5 * k:5] = 0.0
    hi[2:5 * k:5] = 0.0 if template.shape != "mesa" else width_factor * h + dt
    for j in (3, 4):
        s = p[j:5 * k:5]
        lo[j:5 * k:5], hi[j:5 * k:5] = s / width_factor, s * width_factor
    return lo, hi


def _rows(sig, starts, lengths, fitted):
    """Padded matrices of the fitted windows: X (1, n), Y (N, n), valid (N, n), L (N,)."""
    idx = np.flatnonzero(fitted)
    n = int(lengths[idx].max())
    Y = np.zeros((idx.size, n))
    valid = np.zeros((idx.size, n), dtype=bool)
    for r, i in enumerate(idx):
        seg = sig[starts[i]:starts[i] + lengths[i]]
        Y[r, :seg.size] = np.where(np.isfinite(seg), seg, 0.0)
        valid[r, :seg.size] = np.isfinite(seg)
    return idx, Y, valid, lengths[idx].astype(np.int64), n


def _quality(k, nb, X, Y, valid, L, params):
    """PRD (%), RMSE and range per pulse."""
    model = np.zeros_like(Y)
    good = np.all(np.isfinite(params), axis=1)
    if good.any():
        sub = np.zeros((int(good.sum()), Y.shape[1]))
        K.mesa_sum_rows_into(X, np.ascontiguousarray(params[good]), L[good], 0, k, 0, nb, sub)
        model[good] = sub
    n = valid.sum(axis=1)
    mean = np.where(valid, Y, 0).sum(axis=1) / np.maximum(n, 1)
    res = np.where(valid, Y - model, 0.0)
    dev = np.where(valid, Y - mean[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        prd = 100 * np.sqrt((res ** 2).sum(axis=1) / (dev ** 2).sum(axis=1))
        rmse = np.sqrt((res ** 2).sum(axis=1) / n)
    hi = np.where(valid, Y, -np.inf).max(axis=1)
    lo = np.where(valid, Y, np.inf).min(axis=1)
    prd[~good] = rmse[~good] = np.nan
    return prd, rmse, hi - lo


def _fit_windows(sig, fs, starts, lengths, fitted, template, opts):
    """Fit every usable window; returns a dict of per-pulse arrays (NaN where not fitted).
    A centre may not pass the end of its own pulse (per-pulse upper bounds)."""
    k, nb = template.n_components, baseline_size(opts["baseline"])
    N = starts.size
    out = {"params": np.full((N, 5 * k + nb), np.nan), "prd": np.full(N, np.nan),
           "rmse": np.full(N, np.nan), "range": np.full(N, np.nan),
           "nit": np.zeros(N, np.int64), "code": np.zeros(N, np.int64)}
    if not fitted.any():
        return out
    idx, Y, valid, L, n = _rows(sig, starts, lengths, fitted)
    X = (np.arange(n) / fs)[None, :]
    tvec = pulse_vector(template, nb)
    P0 = _starts(tvec, k, nb, X, Y, valid)
    lo, hi = pulse_bounds(template, nb, opts["center_tolerance"], opts["width_factor"], 1 / fs)
    LO, HI = np.tile(lo, (idx.size, 1)), np.tile(hi, (idx.size, 1))
    end = ((L - 1) / fs)[:, None]
    HI[:, 1:5 * k:5] = np.minimum(HI[:, 1:5 * k:5], end)
    LO[:, 1:5 * k:5] = np.minimum(LO[:, 1:5 * k:5], HI[:, 1:5 * k:5])
    P0 = np.clip(P0, LO, HI)
    # fitted with the pulses' range as the unit of y, so that the solver's tolerances meet
    # a channel in counts, mmHg or 1e-9 alike; amplitudes and baselines scale back
    lo_y, hi_y = np.percentile(Y[valid], [1.0, 99.0]) if valid.any() else (0.0, 1.0)
    y_unit = float(hi_y - lo_y) if hi_y > lo_y else 1.0
    unit = np.where(np.r_[np.tile([True, False, False, False, False], k), np.ones(nb, bool)],
                    y_unit, 1.0)
    fit = fit_many(X[0], Y / y_unit, P0 / unit, LO / unit, HI / unit,
                   baseline=nb - 1 if nb else "none", mask=valid,
                   lengths=L, max_iter=opts["max_iter"], ftol=opts["tol"], xtol=opts["tol"],
                   threads=opts["threads"], check=False)
    fit_params = fit.params * unit
    out["params"][idx] = fit_params
    out["nit"][idx], out["code"][idx] = fit.nit, fit.status
    out["prd"][idx], out["rmse"][idx], out["range"][idx] = _quality(k, nb, X, Y, valid, L,
                                                                    fit_params)
    return out


def _table(template, nb, fs, feet, starts, lengths, why, res, prd_limit):
    k = template.n_components
    dur = lengths / fs
    ok, reasons = interpretability(res["params"], dur, res["range"], k, template.names)
    status = np.where(ok, "ok", "flagged").astype(object)
    reason = np.array(reasons, dtype=object)
    fitted = np.array([w == "" for w in why])
    solver_bad = fitted & (res["code"] <= 0)
    poor = fitted & ~solver_bad & (res["prd"] > prd_limit)
    reason[poor] = [f"PRD {v:.1f}% above {prd_limit:g}%" + (f"; {r}" if r else "")
                    for v, r in zip(res["prd"][poor], reason[poor])]
    status[poor] = "flagged"
    status[solver_bad] = "failed"
    reason[solver_bad] = [SOLVER_STATUS.get(int(c), f"solver status {c}")
                          for c in res["code"][solver_bad]]
    status[~fitted] = "failed"
    reason[~fitted] = np.array(why, dtype=object)[~fitted]
    table = pd.DataFrame({"pulse": np.arange(starts.size),
                          "onset_s": feet[:starts.size] / fs, "start_s": starts / fs,
                          "duration_s": dur})
    params = Layout(template.names, (), nb - 1 if nb else "none").unpack(res["params"])
    table = pd.concat([table, params], axis=1)
    table["prd"], table["rmse"], table["range"] = res["prd"], res["rmse"], res["range"]
    table["nit"], table["solver_status"] = res["nit"], res["code"]
    table["interpretable"] = ok & fitted & ~solver_bad
    table["status"], table["reason"] = status.astype(str), reason.astype(str)
    return table


def fit_pulses(signal, fs, max_components=4, onsets=None, *, shape="bigaussian",
               baseline="linear", criterion="bic", center_tolerance=0.5, width_factor=3.0,
               prd_limit=10.0, max_iter=400, tol=1e-6, threads=None, lowpass_hz=8.0,
               min_periodicity=0.3, info=None):
    """Decompose every pulse of a PPG or arterial-pressure signal (see the module).

    Parameters
    ----------
    signal : 1-D samples (NaN marks missing ones); systolic upstrokes must rise.
    fs : sampling rate, Hz.
    max_components : largest K for the template (K = 1 .. max_components).
    onsets : sample indices of the pulse onsets (default: detected, see the module).
    shape, baseline : as in :func:`gmesa.decompose` (defaults: bi-Gaussian components, a
        linear baseline per pulse).
    criterion : "bic" (default) or "aic", for the template's K.
    center_tolerance, width_factor : how far a pulse may leave the template (module).
    prd_limit : pulses with a larger PRD (%) are flagged.
    max_iter, threads : of :func:`gmesa.fit_many`; ``tol`` its ``ftol`` and ``xtol``.
    lowpass_hz, min_periodicity : of the onset detection.
    info : extra entries for ``PulseFit.info`` (e.g. record, lead, unit); the fit adds
        its settings, ``fs``, ``onset_method``, ``gmesa_version`` and ``seconds`` (wall
        time of the onsets, the template and the pulses).

    Returns a :class:`gmesa.PulseFit`: ``pulses`` (one row per pulse: ``pulse``,
    ``onset_s`` (its foot), ``start_s`` and ``duration_s`` (its window; x = s from
    ``start_s``), ``c{k}_{param}``, ``baseline_c{j}``, ``prd``, ``rmse``,
    ``range``, ``nit``, ``solver_status``, ``interpretable``, ``status`` ok / flagged /
    failed, ``reason``), ``template`` (a Decomposition), ``info``, ``signal``, ``fs``.
    """
    import time

    import gmesa

    t0 = time.perf_counter()
    sig, fs = _check_signal(signal, fs)
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion={criterion!r}: fit_pulses chooses the template's K by "
                         "'bic' or 'aic'")
    if onsets is None:
        on, edges, _, _ = detect_pulses(sig, fs, lowpass_hz=lowpass_hz,
                                        min_periodicity=min_periodicity)
        method = ("intersecting tangents (gmesa.decomp.onsets.detect_pulses); windows from valley "
                  "to valley")
        if on.size < 4:
            raise ValueError(f"found only {on.size} pulse onsets; fit_pulses needs at least 4 "
                             "(3 pulses): is the signal a pulse signal? Give onsets= if so")
        steep = fall_over_rise(sig, fs, edges, lowpass_hz=lowpass_hz)
        if steep > INVERTED_ABOVE:
            warn(f"the pulses fall {steep:.2f} times faster than they rise: is the "
                 "channel upside down?  Onsets are read on rising upstrokes; give "
                 "the negated signal if so", RuntimeWarning)
    else:
        on = edges = _check_onsets(onsets, sig.size)
        method = "given"
    starts, lengths, why = _windows(sig, edges, fs, lowpass_hz)
    fitted = np.array([w == "" for w in why])
    opts = dict(max_components=max_components, criterion=criterion, shape=shape,
                baseline=baseline, center_tolerance=center_tolerance,
                width_factor=width_factor, max_iter=max_iter, tol=tol, threads=threads)
    t1 = time.perf_counter()
    template, note = _template(sig, fs, starts, lengths, fitted, opts)
    t2 = time.perf_counter()
    res = _fit_windows(sig, fs, starts, lengths, fitted, template, opts)
    t3 = time.perf_counter()
    table = _table(template, baseline_size(baseline), fs, on, starts, lengths, why, res,
                   prd_limit)
    meta = dict(info or {}, fs=fs, onset_method=method, n_onsets=int(on.size),
                gmesa_version=gmesa.__version__, shape=shape, baseline=baseline,
                criterion=criterion, max_components=max_components,
                center_tolerance=center_tolerance, width_factor=width_factor,
                prd_limit=prd_limit, template_note=note, last_onset_s=float(on[-1] / fs),
                seconds={"onsets": t1 - t0, "template": t2 - t1, "pulses": t3 - t2})
    return PulseFit(table, template, meta, sig, fs)


__all__ = ["fit_pulses", "median_pulse", "pulse_bounds"]
