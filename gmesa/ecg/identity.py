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

# Only the T wave's identity (with its ST step) is held here.  The P wave's is decided by
# the template too, by the second starts of :func:`~gmesa.ecg.beatmodel.second_starts`
# and the usual P place and sign of :func:`~gmesa.ecg.presence.consistent_p`; holding it
# here as well lost P waves the second starts had found.

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


def negligible(amplitude, r_amplitude):
    """Is a component of ``amplitude`` (mV) too small beside the R amplitude
    ``r_amplitude`` for its sign or place to mean anything?"""
    limit = np.maximum(0.01, NEGLIGIBLE_OF_R * np.abs(r_amplitude))
    return np.abs(amplitude) < limit


def disagreements(params, template_vec, lay):
    """(N,) bool: the beats (rows of ``params``) whose T wave disagrees with the template's
    (``template_vec``, layout ``lay``): the other sign (and not :func:`negligible`) or a
    center over :data:`IDENTITY_NEAR` from the template's.  None where the template shows
    no T wave (none modelled, or :func:`negligible` beside its R)."""
    if "T" not in lay.waves:
        return None
    a, c, r = (lay.index(w, k) for w, k in (("T", "amplitude"), ("T", "center"),
                                             ("R", "amplitude")))
    ta, tc = template_vec[a], template_vec[c]
    if negligible(ta, template_vec[r]):
        return None
    with np.errstate(invalid="ignore"):
        flip = (np.sign(params[:, a]) != np.sign(ta)) & ~negligible(params[:, a], params[:, r])
        return flip | (np.abs(params[:, c] - tc) > IDENTITY_NEAR)


def _held(fit, idx, template_vec):
    """(start, lower, upper) of beats ``idx`` of ``fit`` with the T wave (and its ST step)
    started from the template's and held near it: center within :data:`IDENTITY_NEAR`,
    amplitude of its sign."""
    lay = fit.opts.layout
    start = fit.params[idx].copy()
    lo, hi = fit.lower[idx].copy(), fit.upper[idx].copy()
    a, c = lay.index("T", "amplitude"), lay.index("T", "center")
    start[:, lay.wave("T")] = template_vec[lay.wave("T")]
    if "ST" in lay.steps:  # the ST step shares the T wave's identity
        start[:, lay.step("ST")] = template_vec[lay.step("ST")]
    lo[:, c] = np.maximum(lo[:, c], template_vec[c] - IDENTITY_NEAR)
    hi[:, c] = np.minimum(hi[:, c], template_vec[c] + IDENTITY_NEAR)
    if template_vec[a] > 0:
        lo[:, a] = np.maximum(lo[:, a], 0.0)
    else:
        hi[:, a] = np.minimum(hi[:, a], 0.0)
    lo = np.minimum(lo, hi)
    return clip_into(start, lo, hi), lo, hi


def _note(params, template_vec, lay, i):
    """How beat ``i``'s T wave still disagrees with the template's, in words."""
    a, c = lay.index("T", "amplitude"), lay.index("T", "center")
    if np.sign(params[i, a]) != np.sign(template_vec[a]):
        return "unlike the template: T wave opposite sign"
    d = 1000.0 * (params[i, c] - template_vec[c])
    return f"unlike the template: T wave {abs(d):.0f} ms {'later' if d > 0 else 'earlier'}"


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
    follow the T wave identity of the template (``template_vec``): where a beat
    disagrees (:func:`disagreements`) it is fitted again with its T held near the
    template's, then once more from there set free (the beat's own best fit is the
    better of its first and this one: the first alone depends on where the optimizer
    happened to land).  The held fit is kept unless the beat's own explains it better
    by more than :data:`IDENTITY_BIC` ln(n_eff) in chi-square (noise variance from the
    own fit's residual; ``bw`` the share of the Nyquist band the low-pass leaves, so
    n_eff = ``bw`` times the samples), or loses a P wave the own fit has
    (:func:`_no_worse_p`).  Returns the reason of each beat that still disagrees (""
    elsewhere)."""
    lay = fit.opts.layout
    notes = np.full(len(fit.params), "", dtype=object)
    hit = disagreements(fit.params, template_vec, lay)
    if hit is None:
        return notes
    idx = np.flatnonzero(hit & beats & np.all(np.isfinite(fit.params), axis=1)
                         & np.isfinite(fit.cost))
    if idx.size == 0:
        return notes
    start, lo, hi = _held(fit, idx, template_vec)
    p, cost, nit, code = fit.solve(idx, start, lo, hi)
    free = fit.solve(idx, clip_into(p, fit.lower[idx], fit.upper[idx]))
    with np.errstate(invalid="ignore"):
        better = (free[1] < fit.cost[idx]) & _no_worse_p(fit, idx, free[0], fit.params[idx])
    fit.keep(idx[better], tuple(v[better] for v in free))
    still = disagreements(fit.params[idx], template_vec, lay)
    n = fit.rows.lengths[idx]
    dof = np.maximum(n - np.sum(fit.upper[idx] > fit.lower[idx], axis=1), 1)
    sigma2 = np.maximum(2.0 * fit.cost[idx] / dof, 1e-30)
    n_eff = np.maximum(n * bw, 2.0)
    with np.errstate(invalid="ignore"):
        excess = 2.0 * (cost - fit.cost[idx]) * bw / sigma2
        held = (still & np.isfinite(cost) & (excess <= IDENTITY_BIC * np.log(n_eff))
                & _no_worse_p(fit, idx, p, fit.params[idx]))
    fit.keep(idx[held], (p[held], cost[held], nit[held], code[held]))
    for i in idx[still & ~held]:
        notes[i] = _note(fit.params, template_vec, lay, i)
    return notes
