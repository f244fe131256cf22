"""The R' (``R2``): a second lobe of R's sign inside the QRS (a notch, an rSR': a
fragmented QRS).  Where it may sit and how large it may grow, for the template that
decides whether a record has one (:func:`~gmesa.ecg.template.with_r_prime`) and for the
beats that fit it.  Times in seconds from R, amplitudes in mV."""
from __future__ import annotations

import numpy as np

#: an R' (``R2``) stays within this (s) of where the template's sits
R_PRIME_NEAR = 0.015
#: ... and at least this far (s) from the R peak: a second deflection, not R's own shape
R_PRIME_APART = 0.020
#: an R' is looked for up to this far (s) outside the QRS as the model without it reads
#: it (a terminal R' the model leaves out is also left out of its QRS)
R_PRIME_REACH = 0.030


def r_prime_cap(size, r_amplitude):
    """The largest |amplitude| (mV) an R' may take: 1.5 times ``size`` (mV: the
    deflection it starts on, or the template's R') plus 5% of ``r_amplitude`` (mV)."""
    return 1.5 * np.abs(size) + 0.05 * np.abs(r_amplitude)


def r_prime_bounds(lay, lo, hi, center, cap):
    """Bounds ``lo``/``hi`` (rows of layout ``lay``, changed in place) of an R' (the
    ``R2`` component): its center within :data:`R_PRIME_NEAR` of ``center`` (s, the
    template's) on its side of R, at least :data:`R_PRIME_APART` from the R peak; its
    |amplitude| at most ``cap`` (mV, per row or one; :func:`r_prime_cap`), so that it
    cannot grow into a pair with S that cancels; its sign, R's, is in
    :func:`~gmesa.ecg.waves.bounds`."""
    a, c = lay.index("R2", "amplitude"), lay.index("R2", "center")
    near_lo, near_hi = center - R_PRIME_NEAR, center + R_PRIME_NEAR
    if center >= 0:
        near_lo = max(near_lo, R_PRIME_APART)
    else:
        near_hi = min(near_hi, -R_PRIME_APART)
    lo[..., c] = np.maximum(lo[..., c], near_lo)
    hi[..., c] = np.maximum(np.minimum(hi[..., c], near_hi), lo[..., c])
    lo[..., a] = np.maximum(lo[..., a], -np.asarray(cap))
    hi[..., a] = np.minimum(hi[..., a], np.asarray(cap))
    return lo, hi


def hold_r_prime(lay, lo, hi, template_vec, r_amplitude):
    """:func:`r_prime_bounds` that keep the R' of a template fit ``template_vec`` (layout
    ``lay``): near its center, at most :func:`r_prime_cap` of its amplitude and of
    ``r_amplitude`` (mV, the R the bounds are for: per row or one)."""
    center, size = (template_vec[lay.index("R2", k)] for k in ("center", "amplitude"))
    return r_prime_bounds(lay, lo, hi, center, r_prime_cap(size, r_amplitude))


def r_prime_coef_bounds(n_coef, k, r_sign, r_size, r_prime_size):
    """(lower, upper) (L, ``n_coef``) of several leads' linear coefficients (the joint
    model's amplitudes): the R' (column ``k``) of the sign of each lead's R (``r_sign``,
    (L,), >= 0 upright) and at most :func:`r_prime_cap` of ``r_prime_size`` and
    ``r_size`` (mV, (L,)), as one lead's R' keeps R's sign; the other columns free."""
    hi = np.full((len(r_sign), n_coef), np.inf)
    lo = -hi
    cap = r_prime_cap(r_prime_size, r_size)
    up = np.asarray(r_sign) >= 0
    lo[:, k], hi[:, k] = np.where(up, 0.0, -cap), np.where(up, cap, 0.0)
    return lo, hi
