"""Wave identity, decided once by the template and followed by every beat.

Which deflection is the T wave (or the P wave), and where the ST level shifts, is a
choice the fit of one beat can make either way: a positive ST hump before an inverted T,
a flat T over a depressed ST segment, a wide plateau that can sit on either lobe.  Left
to each beat, the choice flips from beat to beat (and under a perturbation of 1e-6 mV),
and the QT interval with it.  The template (the median beat, fitted from several starts)
makes the choice once for a stretch of signal; a beat started from it whose component
has the other sign or lies more than :data:`IDENTITY_NEAR` from the template's is fitted
again with that component held near the template's, and the held fit is kept unless the
beat's own fit explains it better by more than a BIC margin (:func:`follow_template`).
The disagreement that remains is written in the beat's reason.

Times in seconds from each beat's R peak, amplitudes in mV.
"""
from __future__ import annotations

import numpy as np

from .init import clip_into
from .presence import p_is_wave

#: the components whose identity the template decides here, in the order they are named.
#: (The P wave's is decided by the template too, by the second starts of
#: :func:`~gmesa.ecg.beatmodel.second_starts` and the usual P place and sign of
#: :func:`~gmesa.ecg.presence.consistent_p`; holding it here as well lost P waves the
#: second starts had found.)
IDENTITY = ("T",)

#: a component whose center lies farther than this (s) from the template's disagrees
#: with it; the refit holds its center this close to the template's
IDENTITY_NEAR = 0.050

#: the beat's own fit is kept over the one following the template when its chi-square
#: (residual over noise, independent samples counted) is lower by more than this many
#: ln(n) per component it holds elsewhere: the BIC price of the parameters its own
#: choice takes (where the component is, and its sign)
IDENTITY_BIC = 2.0

#: a wave or step of less than this share of the beat's R (and 0.01 mV) has no sign
NEGLIGIBLE_OF_R = 0.01

_NAMES = {"P": "P wave", "T": "T wave", "ST": "ST step"}


def negligible(amplitude, r_amplitude):
    """Is a component of ``amplitude`` (mV) too small beside the R amplitude
    ``r_amplitude`` for its sign or place to mean anything?"""
    limit = np.maximum(0.01, NEGLIGIBLE_OF_R * np.abs(r_amplitude))
    return np.abs(amplitude) < limit


def _part(lay, name):
    return lay.step(name) if name in lay.steps else lay.wave(name)


def disagreements(params, template_vec, lay):
    """{component: (N,) bool} for the :data:`IDENTITY` components of ``lay`` (a
    :class:`~gmesa.core.Layout`) the template (``template_vec``) shows: a beat's
    (rows of ``params``) disagrees where it has the other sign (and is not
    :func:`negligible`) or its center lies over :data:`IDENTITY_NEAR` from the
    template's."""
    r = lay.index("R", "amplitude")
    out = {}
    for w in IDENTITY:
        if w not in lay.waves and w not in lay.steps:
            continue
        a, c = lay.index(w, "amplitude"), lay.index(w, "center")
        ta, tc = template_vec[a], template_vec[c]
        if negligible(ta, template_vec[r]):
            continue
        with np.errstate(invalid="ignore"):
            flip = (np.sign(params[:, a]) != np.sign(ta)) & ~negligible(params[:, a],
                                                                     params[:, r])
            out[w] = flip | (np.abs(params[:, c] - tc) > IDENTITY_NEAR)
    return out


def _held(fit, idx, template_vec, which):
    """(start, lower, upper) of beats ``idx`` of ``fit`` with the components
    ``which[w]`` (per beat) started from the template's and held near it: center
    within :data:`IDENTITY_NEAR`, amplitude of its sign (a T wave also starts from the
    template's ST step, which stays free)."""
    lay = fit.opts.layout
    start = fit.params[idx].copy()
    lo, hi = fit.lower[idx].copy(), fit.upper[idx].copy()
    for w, hit in which.items():
        rows = np.flatnonzero(hit[idx])
        if rows.size == 0:
            continue
        part = _part(lay, w)
        a, c = lay.index(w, "amplitude"), lay.index(w, "center")
        start[rows, part] = template_vec[part]
        if w == "T" and "ST" in lay.steps:  # the ST step shares the T wave's identity
            start[rows, lay.step("ST")] = template_vec[lay.step("ST")]
        lo[rows, c] = np.maximum(lo[rows, c], template_vec[c] - IDENTITY_NEAR)
        hi[rows, c] = np.minimum(hi[rows, c], template_vec[c] + IDENTITY_NEAR)
        if template_vec[a] > 0:
            lo[rows, a] = np.maximum(lo[rows, a], 0.0)
        else:
            hi[rows, a] = np.minimum(hi[rows, a], 0.0)
    lo = np.minimum(lo, hi)
    return clip_into(start, lo, hi), lo, hi


def _note(params, template_vec, lay, which, i):
    """What of beat ``i`` still disagrees with the template, in words."""
    parts = []
    for w, hit in which.items():
        if not hit[i]:
            continue
        a, c = lay.index(w, "amplitude"), lay.index(w, "center")
        if np.sign(params[i, a]) != np.sign(template_vec[a]):
            how = "opposite sign"
        else:
            d = 1000.0 * (params[i, c] - template_vec[c])
            how = f"{abs(d):.0f} ms {'later' if d > 0 else 'earlier'}"
        parts.append(f"{_NAMES[w]} {how}")
    return "unlike the template: " + ", ".join(parts)


def _no_worse_p(fit, idx, new, old):
    """Per beat: does ``new`` (params of beats ``idx``) keep a P wave where ``old`` had
    one (the preference of :func:`~gmesa.ecg.beatmodel.best_start`)?"""
    if "P" not in fit.opts.waves:
        return np.ones(len(idx), dtype=bool)
    args = (fit.opts.waves, fit.qrs_on[idx], fit.rows.X[idx, 0])
    return p_is_wave(new, *args) | ~p_is_wave(old, *args)


def follow_template(fit, template_vec, beats, bw):
    """Beats ``beats`` of ``fit`` (a :class:`~gmesa.ecg.beatmodel.SegmentFit`, updated in
    place; those started from the template and those started from their own guess,
    whose own choice of the largest bump splits a record between two identities)
    follow the wave identity of the template (``template_vec``): where a beat
    disagrees (:func:`disagreements`) it is fitted again with the disagreeing
    components held near the template's, then once more from there set free (the
    beat's own best fit is the better of its first and this one: the first alone
    depends on where the optimizer happened to land).  The held fit is kept unless the
    beat's own explains it better by more than :data:`IDENTITY_BIC` ln(n_eff) per held
    component in chi-square (noise variance from the own fit's residual; ``bw`` the
    share of the Nyquist band the low-pass leaves, so n_eff = ``bw`` times the
    samples), or loses a P wave the own fit has (:func:`_no_worse_p`).  Returns the
    reason of each beat that still disagrees ("" elsewhere)."""
    lay = fit.opts.layout
    notes = np.full(len(fit.params), "", dtype=object)
    fitted = beats & np.all(np.isfinite(fit.params), axis=1) & np.isfinite(fit.cost)
    which = {w: hit & fitted for w, hit in disagreements(fit.params, template_vec,
                                                          lay).items()}
    idx = np.flatnonzero(np.any(list(which.values()), axis=0)) if which else np.zeros(0, int)
    if idx.size == 0:
        return notes
    start, lo, hi = _held(fit, idx, template_vec, which)
    p, cost, nit, code = fit.solve(idx, start, lo, hi)
    free = fit.solve(idx, clip_into(p, fit.lower[idx], fit.upper[idx]))
    with np.errstate(invalid="ignore"):
        better = (free[1] < fit.cost[idx]) & _no_worse_p(fit, idx, free[0], fit.params[idx])
    fit.keep(idx[better], tuple(v[better] for v in free))
    now = disagreements(fit.params, template_vec, lay)
    still = np.any([now[w][idx] & which[w][idx] for w in which], axis=0)
    n = fit.rows.lengths[idx]
    dof = np.maximum(n - np.sum(fit.upper[idx] > fit.lower[idx], axis=1), 1)
    sigma2 = np.maximum(2.0 * fit.cost[idx] / dof, 1e-30)
    n_eff = np.maximum(n * bw, 2.0)
    m = np.sum([hit[idx] for hit in which.values()], axis=0)  # components held
    with np.errstate(invalid="ignore"):
        excess = 2.0 * (cost - fit.cost[idx]) * bw / sigma2
        held = (still & np.isfinite(cost) & (excess <= IDENTITY_BIC * m * np.log(n_eff))
                & _no_worse_p(fit, idx, p, fit.params[idx]))
    fit.keep(idx[held], (p[held], cost[held], nit[held], code[held]))
    left = {w: now[w] & which[w] for w in which}
    for i in idx[still & ~held]:
        notes[i] = _note(fit.params, template_vec, lay, left, i)
    return notes
