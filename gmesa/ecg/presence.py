"""Is a P or T wave there?  Deciding from the fitted components, not inventing waves.

A wave counts as present when the evidence says so (:func:`evident`), or (P only) when
the record's template beat shows it and the beat's P looks like the template's; then
the P waves of a stretch must keep their usual place and sign (:func:`consistent_p`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._kernels import mesa_sum_rows_into
from .fiducials import RULE, component_edges

#: the longest P wave (onset to offset, s) taken for one; LUDB's longest is 0.25 s,
#: its 99th percentile 0.16 s
P_LONGEST = 0.25

#: a P wave reaches at least this fraction of the beat's R amplitude
P_MIN_OF_R = 0.02


class TemplateFit(NamedTuple):
    """The template beat's fit: sample times (s from R), parameter vector, residual
    variance per degree of freedom (mV^2), RMSE (mV) and the variance of the noise
    left in the template (mV^2; NaN: unknown, the residual variance stands in)."""
    t: np.ndarray
    params: np.ndarray
    sigma2: float
    rmse: float
    noise2: float = np.nan


def p_edges(params, waves):
    """(onset, offset) of the P component per row by the fiducial rule (s)."""
    o = 5 * waves.index("P")
    c, h, sl, sr = (params[:, o + j] for j in range(1, 5))
    (f_on, s_on), (f_off, s_off) = RULE["P_on"], RULE["P_off"]
    on, _ = component_edges(c, h, sl, sr, f_on, f_on)
    _, off = component_edges(c, h, sl, sr, f_off, f_off)
    return on + s_on, off + s_off


def evident(X, comp, lengths, sigma2, bw, rmse, snr):
    """Is one fitted component (``comp``: (N, 5) GMF rows) a wave rather than noise?
    Its energy must pass a BIC test against the residual variance ``sigma2`` (noise
    low-passed to ``bw`` of Nyquist is correlated: independent samples are counted)
    and its amplitude must exceed ``snr`` times the beat's RMSE (mV)."""
    shape = np.zeros(X.shape)
    mesa_sum_rows_into(np.ascontiguousarray(X), np.ascontiguousarray(comp), lengths,
                       0, 1, 0, 0, shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        evidence = np.sum(shape ** 2, axis=1) / sigma2 * bw
    n_eff = np.maximum(lengths * bw, 2.0)
    return (evidence > 5.0 * np.log(n_eff)) & (np.abs(comp[:, 0]) > snr * rmse)


def consistent_p(center, present, rr, window=0.040, amplitude=None):
    """P waves keep their place before R in sinus rhythm; fitted 'P' components that
    wander (atrial fibrillation/flutter waves, noise, the previous T) are not P waves.

    Among beats with evidence for P, the usual P position is the center with the most
    others within +-20 ms.  A beat's P counts only within 40 ms of it (and, given
    ``amplitude``, with the sign most P waves there have).  When fewer
    than half the P candidates sit there and the rhythm is irregular (RR coefficient
    of variation > 0.1), the stretch has no P waves at all.
    Returns (present, reason for beats without P).
    """
    c = np.sort(center[present])
    if c.size < 3:
        return present, "no P wave: no evidence above the noise"
    density = np.searchsorted(c, c + 0.020, "right") - np.searchsorted(c, c - 0.020, "left")
    usual = float(c[int(np.argmax(density))])
    near = np.abs(center - usual) <= window
    if amplitude is not None:  # and their usual sign
        sign = np.sign(np.sum(np.sign(amplitude[present & near])))
        near &= np.sign(amplitude) == sign if sign else True
    share = float(np.mean(near[present]))
    rr_ok = rr[np.isfinite(rr)]
    cv = float(np.std(rr_ok) / np.mean(rr_ok)) if rr_ok.size > 2 else 0.0
    if share < 0.5 and cv > 0.10:
        return np.zeros_like(present), (
            f"no P wave: irregular rhythm (RR CV {cv:.2f}) and no consistent P position")
    return present & near, "no P wave: no evidence, or not at the usual P position"


def wave_presence(X, params, lengths, good, sigma2, rmse, rr, waves, bw, snr, p_window,
                  template=None):
    """Presence of P, T (and T2, U) per beat, and the reason given for beats without P.

    ``X``, ``params``, ``lengths``: the beats' sample times (s from R), fitted
    parameter rows and lengths; ``good``: beats with a finite fit; ``sigma2``/``rmse``:
    residual variance per degree of freedom (mV^2) and RMSE (mV); ``rr``: RR intervals
    (s); ``bw``: the low-pass bandwidth as a fraction of Nyquist; ``snr``: the
    amplitude-to-RMSE ratio a wave needs; ``p_window``: how far (s) a P may sit from
    the usual P position; ``template``: the :class:`TemplateFit`, or None.

    A P wave that stands out in the template (the median beat, far less noisy than one
    beat; its P must also reach 2% of R) is taken as present in every beat whose
    fitted P looks like it: same sign, a third to three times its amplitude, center
    within 40 ms.  A P wave must reach 2% of the beat's R and last at most
    ``P_LONGEST``.
    """
    nb = len(params)
    present = {}
    for w in ("P", "T", "T2", "U"):
        present[w] = np.zeros(nb, dtype=bool)
        if w not in waves or not good.any():
            continue
        o = 5 * waves.index(w)
        present[w][good] = evident(X[good], params[good][:, o:o + 5], lengths[good],
                                   sigma2[good], bw, rmse[good], snr)
    if "P" not in waves:
        return present, ""
    o, r = 5 * waves.index("P"), 5 * waves.index("R")
    present["P"] &= np.abs(params[:, o]) >= P_MIN_OF_R * np.abs(params[:, r])
    if template is not None:
        tp = template.params[o:o + 5]
        # the template's residual is mostly the model's misfit, not noise: its P must
        # stand out of that misfit (amplitude over snr x RMSE) and its energy pass the
        # BIC test against the noise left in the median beat
        noise2 = template.noise2 if np.isfinite(template.noise2) else template.sigma2
        if abs(tp[0]) > P_MIN_OF_R * abs(template.params[r]) and evident(
                template.t[None, :], tp[None, :], np.array([template.t.size]),
                noise2, bw, template.rmse, snr)[0]:
            ratio = params[:, o] / tp[0]
            like = (good & (ratio >= 1 / 3) & (ratio <= 3)
                    & (np.abs(params[:, o + 1] - tp[1]) <= 0.040))
            present["P"] |= like
    p_on, p_off = p_edges(params, waves)
    present["P"] &= p_off - p_on <= P_LONGEST
    present["P"], note = consistent_p(params[:, o + 1], present["P"], rr, p_window,
                                      params[:, o])
    return present, note
