"""Compiled variable-projection Levenberg-Marquardt: many channels sharing their timing.

Private kernel behind :func:`gmesa.fit_shared`; inputs are validated there.

Every channel (lead) ``l`` of one curve is sampled at the same ``x`` and modelled as
``Phi(theta) @ c_l``: ``Phi`` (n x m) holds one column per mesa component with unit
amplitude, one per tanh step with unit amplitude and the baseline's powers of x; the
nonlinear ``theta`` (per component: center, half_width, sigma_left, sigma_right; per step:
center, scale) is shared, the linear ``c_l`` (amplitudes, baseline) is each channel's own.
For a given theta the ``c_l`` of all channels come from one least-squares solve with a
matrix right-hand side (the Gram matrix ``G = Phi^T Phi`` factored once); LM runs over
theta alone (Golub-Pereyra variable projection with Kaufman's Jacobian).

Residual of channel l: ``r_l = v_l * w * (Phi c_l - y_l)`` (``v`` the channel weights,
``w`` the shared sample weights).  Kaufman's Jacobian column k of channel l is
``v_l c_l[j(k)] E_k`` with ``E_k = P_perp dphi_j(k)/dtheta_k`` (``P_perp`` the projection
off the range of Phi): E does not depend on the channel, so

    A = J^T J = (E^T E) o S[j, j],   S = sum_l v_l^2 c_l c_l^T,
    g = J^T r: g_k = sum_l v_l c_l[j(k)] (dphi_k . r_l)      (r_l is orthogonal to Phi)

cost O(n T^2 + n m L) per evaluation (T shared parameters, m linear ones, L channels):
L channels cost little more than one.  The gradient is exact; A is the Schur complement
of the full problem's J^T J, so the standard errors of theta are the full model's.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._kernels import gmf_unit_jac_into, tanh_step_into
from ..config import njit
from ._box import (GTOL, MAX_ITER, NONFINITE_INPUT, NONFINITE_MODEL, TOO_FEW_SAMPLES,
                   active_set, cholesky_factor, cholesky_resolve, lm_scratch, step_outcome,
                   trial_step)

#: ridge added to the Gram matrix's diagonal, relative to its largest diagonal entry:
#: keeps the linear solve defined when two columns (say, a vanishing wave) coincide
GRAM_RIDGE = 1e-12


@njit
def span_dot(u, v, lo, hi):
    """Dot product of ``u`` and ``v`` over samples [lo, hi).  The loop runs over
    slices (indices from 0): a loop from ``lo`` is not vectorised, for Numba cannot
    rule out a negative index there."""
    if hi <= lo:
        return 0.0
    a = u[lo:hi]
    b = v[lo:hi]
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@njit
def overlap_dot(u, v, su, sv):
    """Dot product of ``u`` and ``v`` over the overlap of their supports [lo, hi)."""
    return span_dot(u, v, max(su[0], sv[0]), min(su[1], sv[1]))


@njit
def span_axpy(out, c, u, lo, hi):
    """``out[lo:hi] += c * u[lo:hi]`` (a loop over slices, see :func:`span_dot`)."""
    if hi <= lo:
        return
    o = out[lo:hi]
    b = u[lo:hi]
    for i in range(o.shape[0]):
        o[i] += c * b[i]


@njit
def trim(row, lo, hi):
    """(first, last + 1) sample of ``row`` within [lo, hi) that is not 0 (lo == hi: none)."""
    while lo < hi and row[lo] == 0.0:
        lo += 1
    while hi > lo and row[hi - 1] == 0.0:
        hi -= 1
    return lo, hi


@njit
def basis_into(x, w, theta, k, m, nb, phi, dphi, col, tmp, jt5, jt3, sup):
    """Weighted basis ``phi`` (m_lin, n) and the derivatives of its columns ``dphi``
    (T, n), rows transposed; ``col[t]`` is the basis column parameter t moves;
    ``sup`` (m_lin + T, 2): (first, last + 1) sample where column j of phi (row j) and
    row t of dphi (row m_lin + t) are not 0 (far tails, one side of a mesa, w = 0)."""
    n = x.shape[0]
    mlin = phi.shape[0]
    for c in range(k):
        o = 4 * c
        gmf_unit_jac_into(x, w, theta[o], theta[o + 1], theta[o + 2], theta[o + 3], phi[c],
                          dphi[o:o + 4])
        lo, hi = trim(phi[c], 0, n)
        sup[c, 0] = lo
        sup[c, 1] = hi
        for q in range(4):
            col[4 * c + q] = c
            a, b = trim(dphi[4 * c + q], lo, hi)
            sup[mlin + 4 * c + q, 0] = a
            sup[mlin + 4 * c + q, 1] = b
    for s in range(m):
        o = 4 * k + 2 * s
        tanh_step_into(x, 1.0, theta[o], theta[o + 1], tmp, jt3)
        for i in range(n):
            phi[k + s, i] = w[i] * tmp[i]
        lo, hi = trim(phi[k + s], 0, n)
        sup[k + s, 0] = lo
        sup[k + s, 1] = hi
        for q in range(2):
            col[o + q] = k + s
            for i in range(n):
                dphi[o + q, i] = w[i] * jt3[q + 1, i]
            a, b = trim(dphi[o + q], 0, n)
            sup[mlin + o + q, 0] = a
            sup[mlin + o + q, 1] = b
    for i in range(n):  # the baseline's powers of x, as a running product
        pw = w[i]
        for j in range(nb):
            phi[k + m + j, i] = pw
            pw *= x[i]
    for j in range(nb):
        lo, hi = trim(phi[k + m + j], 0, n)
        sup[k + m + j, 0] = lo
        sup[k + m + j, 1] = hi


@njit
def bounded_coef(gram, rhs, c, lo, hi, mlin, state, sub, sub_lt, sub_b, idx):
    """Bounded least squares of one channel: ``c`` (the unbounded solution of
    ``gram c = rhs`` on entry) moved to the minimum of ``0.5 c^T gram c - rhs^T c`` within
    [``lo``, ``hi``], by an active set: coefficients out of bounds are held at the bound
    crossed, the others solved again; a held one whose gradient points inside is freed.
    ``state``: 0 free, -1 held low, +1 held high (scratch)."""
    for a in range(mlin):
        state[a] = 0
    for _ in range(3 * mlin + 3):
        changed = False
        for a in range(mlin):
            if state[a] == 0:
                if c[a] < lo[a]:
                    state[a] = -1
                    changed = True
                elif c[a] > hi[a]:
                    state[a] = 1
                    changed = True
        if not changed:
            worst, most = -1, 0.0
            for a in range(mlin):
                if state[a] != 0:
                    q = -rhs[a]
                    for b in range(mlin):
                        q += gram[a, b] * c[b]
                    pull = -q if state[a] < 0 else q  # > 0: the cost falls moving inside
                    if pull > most:
                        worst, most = a, pull
            if worst < 0 or most <= 1e-12 * (abs(rhs[worst]) + 1e-300):
                break
            state[worst] = 0
        nf = 0
        for a in range(mlin):
            if state[a] < 0:
                c[a] = lo[a]
            elif state[a] > 0:
                c[a] = hi[a]
            else:
                idx[nf] = a
                nf += 1
        for i in range(nf):
            a = idx[i]
            s = rhs[a]
            for b in range(mlin):
                if state[b] != 0:
                    s -= gram[a, b] * c[b]
            sub_b[i] = s
            for j in range(nf):
                sub[i, j] = gram[a, idx[j]]
        if nf and not cholesky_factor(sub, nf, sub_lt):
            break
        cholesky_resolve(sub_lt, sub_b, nf)
        for i in range(nf):
            c[idx[i]] = sub_b[i]
    for a in range(mlin):
        c[a] = min(max(c[a], lo[a]), hi[a])


@njit
def linear_solve(phi, sup, Y, v, w, gram, lt, coef, resid, ridge, n_amp, clo, chi, lin):
    """Gram matrix, its factor, every channel's coefficients ``coef`` (L, m) and the
    residuals ``resid`` (L, n); returns the cost, with the ridge term
    ``0.5 ridge sum_l v_l^2 |c_l[:n_amp]|^2`` on the amplitudes (NaN: singular Gram
    matrix).  Products run over the overlap of the columns' supports ``sup``.  Each
    channel's coefficients stay within [``clo``, ``chi``] (L, m) (:func:`bounded_coef`;
    ``lin``: its scratch)."""
    mlin, n = phi.shape
    dmax = 0.0
    for a in range(mlin):
        for b in range(a + 1):
            s = overlap_dot(phi[a], phi[b], sup[a], sup[b])
            gram[a, b] = s
            gram[b, a] = s
        dmax = max(dmax, gram[a, a])
    for a in range(mlin):
        gram[a, a] += GRAM_RIDGE * dmax + 1e-300 + (ridge if a < n_amp else 0.0)
    if not cholesky_factor(gram, mlin, lt):
        return np.nan
    state, sub, sub_lt, sub_b, idx, rhs = lin
    cost = 0.0
    for ch in range(Y.shape[0]):
        yc = Y[ch]
        rc = resid[ch]
        for i in range(n):
            rc[i] = w[i] * yc[i]
        for a in range(mlin):
            coef[ch, a] = span_dot(phi[a], rc, sup[a, 0], sup[a, 1])
            rhs[a] = coef[ch, a]
        cholesky_resolve(lt, coef[ch], mlin)
        for a in range(mlin):
            if coef[ch, a] < clo[ch, a] or coef[ch, a] > chi[ch, a]:
                bounded_coef(gram, rhs, coef[ch], clo[ch], chi[ch], mlin, state, sub,
                             sub_lt, sub_b, idx)
                break
        vc = v[ch]
        for i in range(n):
            rc[i] *= -vc
        for a in range(mlin):
            span_axpy(rc, vc * coef[ch, a], phi[a], sup[a, 0], sup[a, 1])
        for i in range(n):
            cost += rc[i] * rc[i]
        for a in range(n_amp):
            cost += ridge * vc * vc * coef[ch, a] * coef[ch, a]
    return 0.5 * cost


@njit
def normal_equations(phi, sup, dphi, col, lt, coef, resid, v, free, nfree, a, g, u, z):
    """A = (E^T E) o S and g = J^T r on the free shared parameters (module docstring),
    without forming E: ``E_a . E_b = dphi_a . dphi_b - u_a^T G^-1 u_b``, ``u = Phi dphi``.
    Products run over the overlap of the rows' supports ``sup`` (:func:`basis_into`)."""
    mlin = phi.shape[0]
    for q in range(nfree):
        t = free[q]
        for b in range(mlin):
            s = overlap_dot(phi[b], dphi[t], sup[b], sup[mlin + t])
            u[q, b] = s
            z[q, b] = s
        cholesky_resolve(lt, z[q], mlin)
    nch = coef.shape[0]
    for p in range(nfree):
        tp = free[p]
        cp = col[tp]
        for q in range(p + 1):
            tq = free[q]
            cq = col[tq]
            sc = 0.0
            for ch in range(nch):
                sc += v[ch] * v[ch] * coef[ch, cp] * coef[ch, cq]
            e = overlap_dot(dphi[tp], dphi[tq], sup[mlin + tp], sup[mlin + tq])
            for b in range(mlin):
                e -= u[p, b] * z[q, b]
            a[p, q] = e * sc
            a[q, p] = e * sc
        s = 0.0
        for ch in range(nch):
            d = span_dot(dphi[tp], resid[ch], sup[mlin + tp, 0], sup[mlin + tp, 1])
            s += v[ch] * coef[ch, cp] * d
        g[p] = s


@njit
def evaluate(x, Y, v, w, theta, k, m, nb, ws, pm, pw, free, nfree, ridge, clo, chi):
    """Basis, linear solve and residual at ``theta``; returns the cost (prior included)."""
    phi, dphi, col, tmp, jt5, jt3, gram, lt, coef, resid, sup, lin = ws
    basis_into(x, w, theta, k, m, nb, phi, dphi, col, tmp, jt5, jt3, sup)
    cost = linear_solve(phi, sup, Y, v, w, gram, lt, coef, resid, ridge, k + m, clo, chi,
                        lin)
    if pm.shape[0] > 0:
        for u in range(nfree):
            t = free[u]
            d = (theta[t] - pm[t]) * pw[t]
            cost += 0.5 * d * d
    return cost


@njit
def prior_rows(theta, pm, pw, free, nfree, a, g):
    """The prior's rows: A += diag(1/sd^2), g += (theta - mean)/sd^2."""
    if pm.shape[0] > 0:
        for u in range(nfree):
            t = free[u]
            w2 = pw[t] * pw[t]
            a[u, u] += w2
            g[u] += (theta[t] - pm[t]) * w2


@njit
def work(n, nch, ntheta, mlin):
    """Scratch of one curve (see :func:`evaluate`)."""
    return (np.empty((mlin, n)), np.empty((ntheta, n)), np.empty(ntheta, dtype=np.int64),
            np.empty(n), np.empty((5, n)), np.empty((3, n)), np.empty((mlin, mlin)),
            np.zeros((mlin, mlin)), np.empty((nch, mlin)), np.empty((nch, n)),
            np.empty((mlin + ntheta, 2), dtype=np.int64),
            (np.zeros(mlin, dtype=np.int64), np.empty((mlin, mlin)), np.zeros((mlin, mlin)),
             np.empty(mlin), np.empty(mlin, dtype=np.int64), np.empty(mlin)))


@njit
def errors(a, lt, gram_lt, free, nfree, s2, v, se, se_coef, mlin, scratch):
    """Standard errors: theta from A, each channel's coefficients from G (given theta)."""
    if nfree > 0 and cholesky_factor(a, nfree, lt):
        for u in range(nfree):
            scratch[:nfree] = 0.0
            scratch[u] = 1.0
            cholesky_resolve(lt, scratch, nfree)
            se[free[u]] = math.sqrt(max(scratch[u], 0.0) * s2)
    unit = np.empty(mlin)
    for b in range(mlin):
        unit[:] = 0.0
        unit[b] = 1.0
        cholesky_resolve(gram_lt, unit, mlin)
        for ch in range(se_coef.shape[0]):
            se_coef[ch, b] = math.sqrt(max(unit[b], 0.0) * s2) / v[ch]


@njit
def check_curve(x, Y, v, w, theta, lo, hi, free):
    """(status, free count, samples with w != 0): NONFINITE_INPUT on a bad value."""
    nfree = 0
    for t in range(theta.shape[0]):
        if not abs(theta[t]) <= 1.7976931348623157e308:
            return NONFINITE_INPUT, 0, 0
        if hi[t] > lo[t]:
            free[nfree] = t
            nfree += 1
    nvalid = 0
    for i in range(x.shape[0]):
        if w[i] != 0.0:
            nvalid += 1
            if not abs(x[i]) <= 1.7976931348623157e308:
                return NONFINITE_INPUT, 0, 0
            for ch in range(Y.shape[0]):
                if not abs(Y[ch, i]) <= 1.7976931348623157e308:
                    return NONFINITE_INPUT, 0, 0
    for ch in range(v.shape[0]):
        if not (v[ch] > 0.0 and v[ch] <= 1.7976931348623157e308):
            return NONFINITE_INPUT, 0, 0
    return 0, nfree, nvalid


@njit
def finish(theta, ws, v, free, nfree, a, g, u, z, lt, step, pm, pw, nvalid, cost, coef, se,
           se_coef, clo, chi):
    """At the optimum: the channels' coefficients into ``coef``, the standard errors (NaN
    for a coefficient held at a bound of ``clo``/``chi``); returns the data cost."""
    nch, n = ws[9].shape
    mlin = coef.shape[1]
    normal_equations(ws[0], ws[10], ws[1], ws[2], ws[7], ws[8], ws[9], v, free, nfree, a, g,
                     u, z)
    prior_rows(theta, pm, pw, free, nfree, a, g)
    coef[:, :] = ws[8]
    data = 0.0
    for ch in range(nch):
        for i in range(n):
            data += ws[9][ch, i] ** 2
    nprior = 0
    if pm.shape[0] > 0:
        for q in range(nfree):
            if pw[free[q]] > 0.0:
                nprior += 1
    dof = max(nvalid * nch + nprior - nfree - mlin * nch, 1)
    errors(a, lt, ws[7], free, nfree, 2.0 * cost / dof, v, se, se_coef, mlin, step)
    for ch in range(nch):  # a coefficient held at its bound has no Gaussian error
        for b in range(mlin):
            if coef[ch, b] == clo[ch, b] or coef[ch, b] == chi[ch, b]:
                se_coef[ch, b] = np.nan
    return 0.5 * data


@njit
def row(a, c):
    """Row ``c`` of ``a``, or its only row (inputs given once for every curve)."""
    return a[0] if a.shape[0] == 1 else a[c]


@njit
def curve_setup(x, Y, v, w, p, lo, hi, mlin, se, se_coef, coef):
    """The start of one curve's fit: its outputs set to NaN, its inputs checked
    (:func:`check_curve`; too few samples for the free parameters and every channel's
    coefficients), the samples of weight 0 at either end cut off (they take no part
    anywhere).  Returns (status, free, nfree, nvalid, x, Y, w)."""
    se[:] = np.nan
    se_coef[:, :] = np.nan
    coef[:, :] = np.nan
    free = np.empty(p.shape[0], dtype=np.int64)
    bad, nfree, nvalid = check_curve(x, Y, v, w, p, lo, hi, free)
    nch = Y.shape[0]
    if bad == 0 and nvalid * nch <= nfree + mlin * nch:
        bad = TOO_FEW_SAMPLES
    a0, b = trim(w, 0, x.shape[0])
    return bad, free, nfree, nvalid, x[a0:b], Y[:, a0:b], w[a0:b]


@njit
def fit_one(x, Y, v, w, theta, lo, hi, k, m, nb, max_iter, ftol, xtol, gtol, pm, pw,
            coef, se, se_coef, ridge, clo, chi):
    """Fit one curve of L channels in place (``theta`` holds the start on entry, the
    optimum on exit; ``coef`` (L, m) receives the channels' coefficients).  ``pm``/``pw``:
    the prior's means and 1/sd per shared parameter, or empty arrays (no prior).
    Returns (cost, data cost, iterations, status)."""
    ntheta = theta.shape[0]
    mlin = k + m + nb
    bad, free, nfree, nvalid, x, Y, w = curve_setup(x, Y, v, w, theta, lo, hi, mlin, se,
                                                    se_coef, coef)
    if bad != 0:
        return np.nan, np.nan, 0, bad
    nch, n = Y.shape
    ws = work(n, nch, ntheta, mlin)
    ws2 = work(n, nch, ntheta, mlin)
    a, g, lhs, lt, step, act = lm_scratch(nfree)
    u = np.empty((nfree, mlin))
    z = np.empty((nfree, mlin))
    tnew = theta.copy()
    cost = evaluate(x, Y, v, w, theta, k, m, nb, ws, pm, pw, free, nfree, ridge, clo, chi)
    if not abs(cost) <= 1.7976931348623157e308:
        return cost, cost, 0, NONFINITE_MODEL
    lam, nu, it, status, need, nact = 1e-2, 2.0, 0, MAX_ITER, True, 0
    while True:
        if need:
            normal_equations(ws[0], ws[10], ws[1], ws[2], ws[7], ws[8], ws[9], v, free,
                             nfree, a, g, u, z)
            prior_rows(theta, pm, pw, free, nfree, a, g)
            nact, gmax = active_set(theta, lo, hi, free, nfree, g, a, cost, act)
            if gmax <= gtol or nact == 0:
                status = GTOL
                break
            need = False
        if it >= max_iter:
            break
        it += 1
        made, pred, dn, pn, lam, nu, stop = trial_step(theta, tnew, a, g, act, nact, free, lo,
                                                       hi, lam, nu, lhs, step, lt)
        if not made:
            if stop:
                status = stop
                break
            continue
        new = evaluate(x, Y, v, w, tnew, k, m, nb, ws2, pm, pw, free, nfree, ridge, clo,
                       chi)
        accepted, stop, lam, nu = step_outcome(cost, new, pred, dn <= xtol * (pn + xtol),
                                               ftol, lam, nu)
        if accepted:
            cost = new
            theta[:] = tnew
            ws, ws2 = ws2, ws
            need = True
        if stop:
            status = stop
            break
    data = finish(theta, ws, v, free, nfree, a, g, u, z, lt, step, pm, pw, nvalid, cost,
                  coef, se, se_coef, clo, chi)
    return cost, data, it, status


@njit(parallel=True)
def fit_batch(x, Y, v, w, theta, lo, hi, k, m, nb, max_iter, ftol, xtol, gtol, pm, pw,
              coef, se, se_coef, cost, data, nit, status, ridge, clo, chi):
    """Fit every curve ``Y[c]`` (L, n) in parallel; ``x``, ``w``, ``v``, ``lo``, ``hi``,
    ``pm``, ``pw`` have one row or one per curve (``pm``/``pw`` of width 0: no prior)."""
    for c in prange(Y.shape[0]):
        cst, dat, it, st = fit_one(row(x, c), Y[c], row(v, c), row(w, c), theta[c],
                                   row(lo, c), row(hi, c), k, m, nb, max_iter, ftol, xtol,
                                   gtol, row(pm, c), row(pw, c), coef[c], se[c], se_coef[c],
                                   ridge, row(clo, c), row(chi, c))
        cost[c] = cst
        data[c] = dat
        nit[c] = it
        status[c] = st
