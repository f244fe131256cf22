"""Compiled value and Jacobian kernels.  Private: no validation, no Python objects.

Every function takes contiguous float64 arrays and writes into preallocated output.
Layout of the flat parameter vector ``p`` (see :mod:`gmesa.lineshapes`)::

    [A, mu, delta, s_left, s_right] * K + [A, c, scale] * M + [c0 .. c_{B-1}]

Jacobians are stored transposed, ``jt[j, i] = d f(x_i) / d p_j`` (shape (P, n)):
each parameter's column is contiguous, which is what J^T J wants.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .config import njit

#: beyond this squared mesa distance (D > 8.94) a component's value is below
#: exp(-40) = 4e-18 of its amplitude, under half a unit in the last place of the
#: amplitude itself, so the sample is skipped (value and derivatives set to 0).
#: This is what lets the solvers skip empty stretches of the Jacobian.
D2_SKIP = 80.0


@njit
def gmf_value_into(x, amplitude, center, half_width, sigma_left, sigma_right, out):
    """out[i] = A * exp(-D(x[i])**2 / 2)."""
    for i in range(x.shape[0]):
        ur = x[i] - center - half_width
        ul = center - x[i] - half_width
        if ur > 0.0:
            d = ur / sigma_right
        elif ul > 0.0:
            d = ul / sigma_left
        else:
            d = 0.0
        out[i] = amplitude * math.exp(-0.5 * d * d)


@njit
def mesa_distance_into(x, center, half_width, sigma_left, sigma_right, out):
    """out[i] = relu(x-mu-delta)/s_right + relu(mu-x-delta)/s_left."""
    for i in range(x.shape[0]):
        ur = x[i] - center - half_width
        ul = center - x[i] - half_width
        out[i] = max(ur, 0.0) / sigma_right + max(ul, 0.0) / sigma_left


@njit
def _softplus(z, k):
    """log(1 + exp(k z)) / k without overflow."""
    kz = k * z
    if kz > 0.0:
        return (kz + math.log1p(math.exp(-kz))) / k
    return math.log1p(math.exp(kz)) / k


@njit
def _tanh(u):
    """tanh(u) to within 2 ulp, faster than math.tanh: exp away from 0, expm1 near it."""
    if u > 19.0:
        return 1.0
    if u < -19.0:
        return -1.0
    if abs(u) < 0.5:
        e = math.expm1(2.0 * u)
        return e / (e + 2.0)
    return 1.0 - 2.0 / (math.exp(2.0 * u) + 1.0)


@njit
def _logistic(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit
def smooth_gmf_into(x, amplitude, center, half_width, sigma_left, sigma_right,
                    sharpness, out, jt):
    """Softplus GMF value into ``out``; its (5, n) Jacobian into ``jt`` if jt.size."""
    want_jac = jt.shape[0] == 5
    for i in range(x.shape[0]):
        ur = x[i] - center - half_width
        ul = center - x[i] - half_width
        sr = _softplus(ur, sharpness)
        sl = _softplus(ul, sharpness)
        d = sr / sigma_right + sl / sigma_left
        e = math.exp(-0.5 * d * d)
        out[i] = amplitude * e
        if want_jac:
            g = amplitude * e * d          # -dG/dD
            qr = _logistic(sharpness * ur) / sigma_right   # dD/dur
            ql = _logistic(sharpness * ul) / sigma_left    # dD/dul
            jt[0, i] = e
            jt[1, i] = g * (qr - ql)          # dur/dmu = -1, dul/dmu = +1
            jt[2, i] = g * (qr + ql)          # both decrease with delta
            jt[3, i] = g * sl / (sigma_left * sigma_left)
            jt[4, i] = g * sr / (sigma_right * sigma_right)


@njit
def gmf_unit_jac_into(x, w, center, half_width, sigma_left, sigma_right, out, jt):
    """One GMF of unit amplitude times the sample weights ``w``: ``out[i] = w[i] *
    exp(-D(x[i])**2 / 2)`` and its derivatives by (center, half_width, sigma_left,
    sigma_right) times ``w`` into ``jt`` (4, n); 0 beyond :data:`D2_SKIP` and where
    ``w`` is 0 (the values of :func:`mesa_sum_jac_into`, one pass, no copies)."""
    for i in range(x.shape[0]):
        wi = w[i]
        ur = x[i] - center - half_width
        ul = center - x[i] - half_width
        v = 0.0
        dc = 0.0
        dh = 0.0
        dl = 0.0
        dr = 0.0
        if wi == 0.0:
            pass
        elif ur > 0.0:
            d = ur / sigma_right
            if d * d < D2_SKIP:
                v = wi * math.exp(-0.5 * d * d)
                dh = v * d / sigma_right
                dc = dh
                dr = dh * d
        elif ul > 0.0:
            d = ul / sigma_left
            if d * d < D2_SKIP:
                v = wi * math.exp(-0.5 * d * d)
                dh = v * d / sigma_left
                dc = -dh
                dl = dh * d
        else:
            v = wi
        out[i] = v
        jt[0, i] = dc
        jt[1, i] = dh
        jt[2, i] = dl
        jt[3, i] = dr


@njit
def tanh_step_into(x, amplitude, center, scale, out, jt):
    """A * tanh((x - c)/scale) into ``out``; its (3, n) Jacobian into ``jt`` if jt.size."""
    want_jac = jt.shape[0] == 3
    for i in range(x.shape[0]):
        u = (x[i] - center) / scale
        t = _tanh(u)
        out[i] = amplitude * t
        if want_jac:
            s2 = amplitude * (1.0 - t * t) / scale
            jt[0, i] = t
            jt[1, i] = -s2
            jt[2, i] = -s2 * u


@njit
def mesa_sum_into(x, p, n_gmf, n_steps, n_base, out):
    """Value of the sum of n_gmf GMFs, n_steps tanh steps and a polynomial baseline."""
    n = x.shape[0]
    for i in range(n):
        xi = x[i]
        acc = 0.0
        powx = 1.0
        for j in range(n_base):
            acc += p[5 * n_gmf + 3 * n_steps + j] * powx
            powx *= xi
        for k in range(n_gmf):
            o = 5 * k
            ur = xi - p[o + 1] - p[o + 2]
            ul = p[o + 1] - xi - p[o + 2]
            if ur > 0.0:
                d = ur / p[o + 4]
            elif ul > 0.0:
                d = ul / p[o + 3]
            else:
                acc += p[o]
                continue
            d2 = d * d
            if d2 < D2_SKIP:
                acc += p[o] * math.exp(-0.5 * d2)
        for m in range(n_steps):
            o = 5 * n_gmf + 3 * m
            acc += p[o] * _tanh((xi - p[o + 1]) / p[o + 2])
        out[i] = acc


@njit
def mesa_sum_jac_into(x, p, n_gmf, n_steps, n_base, out, jt):
    """Value into ``out`` (n,) and transposed Jacobian into ``jt`` (P, n), one pass."""
    n = x.shape[0]
    for i in range(n):
        xi = x[i]
        acc = 0.0
        powx = 1.0
        ob = 5 * n_gmf + 3 * n_steps
        for j in range(n_base):
            acc += p[ob + j] * powx
            jt[ob + j, i] = powx
            powx *= xi
        for k in range(n_gmf):
            o = 5 * k
            amp = p[o]
            ur = xi - p[o + 1] - p[o + 2]
            ul = p[o + 1] - xi - p[o + 2]
            if ur > 0.0:
                s = p[o + 4]
                d = ur / s
                d2 = d * d
                if d2 < D2_SKIP:
                    e = math.exp(-0.5 * d2)
                    g = amp * e
                    acc += g
                    gd = g * d / s
                    jt[o, i] = e
                    jt[o + 1, i] = gd
                    jt[o + 2, i] = gd
                    jt[o + 3, i] = 0.0
                    jt[o + 4, i] = gd * d
                    continue
            elif ul > 0.0:
                s = p[o + 3]
                d = ul / s
                d2 = d * d
                if d2 < D2_SKIP:
                    e = math.exp(-0.5 * d2)
                    g = amp * e
                    acc += g
                    gd = g * d / s
                    jt[o, i] = e
                    jt[o + 1, i] = -gd
                    jt[o + 2, i] = gd
                    jt[o + 3, i] = gd * d
                    jt[o + 4, i] = 0.0
                    continue
            else:
                acc += amp
                jt[o, i] = 1.0
                jt[o + 1, i] = 0.0
                jt[o + 2, i] = 0.0
                jt[o + 3, i] = 0.0
                jt[o + 4, i] = 0.0
                continue
            # far tail: value and all derivatives underflow
            jt[o, i] = 0.0
            jt[o + 1, i] = 0.0
            jt[o + 2, i] = 0.0
            jt[o + 3, i] = 0.0
            jt[o + 4, i] = 0.0
        for m in range(n_steps):
            o = 5 * n_gmf + 3 * m
            amp = p[o]
            scale = p[o + 2]
            u = (xi - p[o + 1]) / scale
            t = _tanh(u)
            acc += amp * t
            s2 = amp * (1.0 - t * t) / scale
            jt[o, i] = t
            jt[o + 1, i] = -s2
            jt[o + 2, i] = -s2 * u
        out[i] = acc


def warm_up():
    """Compile (or load from cache) every kernel once with tiny inputs."""
    x = np.linspace(-1.0, 1.0, 4)
    p = np.array([1.0, 0.0, 0.1, 0.2, 0.3, 0.5, 0.0, 0.1, 0.0])
    out = np.empty(4)
    jt = np.empty((9, 4))
    mesa_sum_into(x, p, 1, 1, 1, out)
    mesa_sum_jac_into(x, p, 1, 1, 1, out, jt)
    gmf_value_into(x, 1.0, 0.0, 0.1, 0.2, 0.3, out)
    mesa_distance_into(x, 0.0, 0.1, 0.2, 0.3, out)
    smooth_gmf_into(x, 1.0, 0.0, 0.1, 0.2, 0.3, 50.0, out, np.empty((5, 4)))
    tanh_step_into(x, 1.0, 0.0, 0.1, out, np.empty((3, 4)))


@njit(parallel=True)
def mesa_sum_rows_into(x, p, lengths, start, n_gmf, n_steps, n_base, out):
    """Evaluate one model per row: rows of x (or one shared row), parameters
    ``p[row, start:]`` in the usual layout, the first lengths[row] samples of out[row]
    (the rows in parallel, on Numba's threads)."""
    for r in prange(p.shape[0]):
        xr = x[0] if x.shape[0] == 1 else x[r]
        n = lengths[r]
        mesa_sum_into(xr[:n], p[r, start:], n_gmf, n_steps, n_base, out[r, :n])
