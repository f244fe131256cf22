"""Compiled variable projection with a shift per channel of each component's center.

Private kernel behind :func:`gmesa.fit_shared` with ``offset_sd``; inputs are validated
there.  Channel ``l``'s component ``k`` sits at ``theta``'s center ``k`` plus
``delta[l, k]``, whose prior is N(0, sd_k^2) (a component with sd_k = 0 is not shifted).
Each channel then has its own basis and Gram matrix, solved as in :mod:`._joint`; the LM
runs over theta and the free shifts together, the vector ``q = [theta, delta (L x K)]``.

A shift moves its channel's column exactly as theta's center does, so with ``A_l``,
``g_l`` the Kaufman matrix and gradient of channel ``l`` alone over theta
(:func:`._joint.normal_equations`), the whole system is

    A[theta, theta] = sum_l A_l          g[theta] = sum_l g_l
    A[theta, delta_lk] = A_l[:, c_k]     g[delta_lk] = g_l[c_k]
    A[delta_lk, delta_lk'] = A_l[c_k, c_k'], and 0 between two channels' shifts,

``c_k`` the position of center k in theta, plus the priors' diagonal.  Each channel's
basis is its own, so L channels cost L single fits' basis and Gram work (the shared
solver's one-basis saving is given up for the shifts).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ..config import njit
from ._box import (GTOL, MAX_ITER, NONFINITE_MODEL, active_set, cholesky_factor,
                   cholesky_resolve, lm_scratch, step_outcome, trial_step)
from ._joint import basis_into, curve_setup, linear_solve, normal_equations, row


@njit
def work(n, nch, ntheta, mlin):
    """Scratch of one curve: every channel's basis, derivatives, Gram matrix and factor,
    coefficients, residuals and supports, the bounded solve's scratch, one channel's
    shifted theta."""
    return (np.empty((nch, mlin, n)), np.empty((nch, ntheta, n)), np.empty(ntheta, np.int64),
            np.empty(n), np.empty((5, n)), np.empty((3, n)), np.empty((nch, mlin, mlin)),
            np.zeros((nch, mlin, mlin)), np.empty((nch, mlin)), np.empty((nch, n)),
            np.empty((nch, mlin + ntheta, 2), np.int64),
            (np.zeros(mlin, np.int64), np.empty((mlin, mlin)), np.zeros((mlin, mlin)),
             np.empty(mlin), np.empty(mlin, np.int64), np.empty(mlin)),
            np.empty(ntheta))


@njit
def evaluate(x, Y, v, w, q, k, m, nb, ws, pm, pw, free, nfree, ridge, clo, chi):
    """Every channel's shifted basis, linear solve and residual at ``q``; returns the
    cost (ridge and priors included; NaN: a singular Gram matrix)."""
    phi, dphi, col, tmp, jt5, jt3, gram, lt, coef, resid, sup, lin, th = ws
    ntheta = th.shape[0]
    cost = 0.0
    for ch in range(Y.shape[0]):
        for t in range(ntheta):
            th[t] = q[t]
        for c in range(k):
            th[4 * c] += q[ntheta + ch * k + c]
        basis_into(x, w, th, k, m, nb, phi[ch], dphi[ch], col, tmp, jt5, jt3, sup[ch])
        part = linear_solve(phi[ch], sup[ch], Y[ch:ch + 1], v[ch:ch + 1], w, gram[ch], lt[ch],
                            coef[ch:ch + 1], resid[ch:ch + 1], ridge, k + m,
                            clo[ch:ch + 1], chi[ch:ch + 1], lin)
        if not abs(part) <= 1.7976931348623157e308:
            return np.nan
        cost += part
    for u in range(nfree):
        t = free[u]
        if pw[t] > 0.0:
            d = (q[t] - pm[t]) * pw[t]
            cost += 0.5 * d * d
    return cost


@njit
def normal_equations_all(ws, v, q, k, free, nfree, big, gbig, a_l, g_l, u, z, every, a, g,
                         pm, pw):
    """The whole system (module docstring) on the free entries of ``q`` into ``a``, ``g``."""
    phi, dphi, col, tmp, jt5, jt3, gram, lt, coef, resid, sup, lin, th = ws
    ntheta = th.shape[0]
    big[:, :] = 0.0
    gbig[:] = 0.0
    for ch in range(coef.shape[0]):
        normal_equations(phi[ch], sup[ch], dphi[ch], col, lt[ch], coef[ch:ch + 1],
                         resid[ch:ch + 1], v[ch:ch + 1], every, ntheta, a_l, g_l, u, z)
        for s in range(ntheta):
            gbig[s] += g_l[s]
            for t in range(ntheta):
                big[s, t] += a_l[s, t]
        for c in range(k):
            dc = ntheta + ch * k + c
            gbig[dc] = g_l[4 * c]
            for t in range(ntheta):
                big[t, dc] = a_l[t, 4 * c]
                big[dc, t] = a_l[4 * c, t]
            for c2 in range(k):
                big[dc, ntheta + ch * k + c2] = a_l[4 * c, 4 * c2]
    for uu in range(nfree):
        s = free[uu]
        g[uu] = gbig[s]
        for vv in range(nfree):
            a[uu, vv] = big[s, free[vv]]
        w2 = pw[s] * pw[s]
        a[uu, uu] += w2
        g[uu] += (q[s] - pm[s]) * w2


@njit
def fit_one(x, Y, v, w, q, lo, hi, k, m, nb, ntheta, max_iter, ftol, xtol, gtol, pm, pw,
            coef, se, se_coef, ridge, clo, chi):
    """Fit one curve of L channels with shifts in place (``q`` holds the start on entry,
    the optimum on exit).  Returns (cost, data cost, iterations, status)."""
    nq = q.shape[0]
    mlin = k + m + nb
    bad, free, nfree, nvalid, x, Y, w = curve_setup(x, Y, v, w, q, lo, hi, mlin, se, se_coef,
                                                    coef)
    if bad != 0:
        return np.nan, np.nan, 0, bad
    nch, n = Y.shape
    ws = work(n, nch, ntheta, mlin)
    ws2 = work(n, nch, ntheta, mlin)
    a, g, lhs, lt, step, act = lm_scratch(nfree)
    big, gbig = np.empty((nq, nq)), np.empty(nq)
    a_l, g_l = np.empty((ntheta, ntheta)), np.empty(ntheta)
    u, z = np.empty((ntheta, mlin)), np.empty((ntheta, mlin))
    every = np.arange(ntheta)
    qnew = q.copy()
    cost = evaluate(x, Y, v, w, q, k, m, nb, ws, pm, pw, free, nfree, ridge, clo, chi)
    if not abs(cost) <= 1.7976931348623157e308:
        return cost, cost, 0, NONFINITE_MODEL
    lam, nu, it, status, need, nact = 1e-2, 2.0, 0, MAX_ITER, True, 0
    while True:
        if need:
            normal_equations_all(ws, v, q, k, free, nfree, big, gbig, a_l, g_l, u, z, every,
                                 a, g, pm, pw)
            nact, gmax = active_set(q, lo, hi, free, nfree, g, a, cost, act)
            if gmax <= gtol or nact == 0:
                status = GTOL
                break
            need = False
        if it >= max_iter:
            break
        it += 1
        made, pred, dn, pn, lam, nu, stop = trial_step(q, qnew, a, g, act, nact, free, lo, hi,
                                                       lam, nu, lhs, step, lt)
        if not made:
            if stop:
                status = stop
                break
            continue
        new = evaluate(x, Y, v, w, qnew, k, m, nb, ws2, pm, pw, free, nfree, ridge, clo, chi)
        accepted, stop, lam, nu = step_outcome(cost, new, pred, dn <= xtol * (pn + xtol),
                                               ftol, lam, nu)
        if accepted:
            cost = new
            q[:] = qnew
            ws, ws2 = ws2, ws
            need = True
        if stop:
            status = stop
            break
    normal_equations_all(ws, v, q, k, free, nfree, big, gbig, a_l, g_l, u, z, every, a, g,
                         pm, pw)
    data = finish(ws, v, free, nfree, a, lt, step, pw, nvalid, cost, coef, se, se_coef, clo,
                  chi)
    return cost, data, it, status


@njit
def finish(ws, v, free, nfree, a, lt, step, pw, nvalid, cost, coef, se, se_coef, clo, chi):
    """At the optimum (``a`` its system): the channels' coefficients into ``coef``, the
    standard errors of ``q`` and of each channel's coefficients given q (NaN for one held
    at a bound); returns the data cost."""
    nch, n = ws[9].shape
    mlin = coef.shape[1]
    coef[:, :] = ws[8]
    data = 0.0
    for ch in range(nch):
        for i in range(n):
            data += ws[9][ch, i] ** 2
    nprior = 0
    for uu in range(nfree):
        if pw[free[uu]] > 0.0:
            nprior += 1
    dof = max(nvalid * nch + nprior - nfree - mlin * nch, 1)
    s2 = 2.0 * cost / dof
    if nfree > 0 and cholesky_factor(a, nfree, lt):
        for uu in range(nfree):
            step[:nfree] = 0.0
            step[uu] = 1.0
            cholesky_resolve(lt, step, nfree)
            se[free[uu]] = math.sqrt(max(step[uu], 0.0) * s2)
    unit = np.empty(mlin)
    for ch in range(nch):
        for b in range(mlin):
            unit[:] = 0.0
            unit[b] = 1.0
            cholesky_resolve(ws[7][ch], unit, mlin)
            if coef[ch, b] != clo[ch, b] and coef[ch, b] != chi[ch, b]:
                se_coef[ch, b] = math.sqrt(max(unit[b], 0.0) * s2) / v[ch]
    return 0.5 * data


@njit(parallel=True)
def fit_batch(x, Y, v, w, q, lo, hi, k, m, nb, ntheta, max_iter, ftol, xtol, gtol, pm, pw,
              coef, se, se_coef, cost, data, nit, status, ridge, clo, chi):
    """Every curve ``Y[c]`` (L, n) with shifts, in parallel; ``x``, ``w``, ``v``, ``lo``,
    ``hi``, ``pm``, ``pw``, ``clo``, ``chi`` have one row or one per curve."""
    for c in prange(Y.shape[0]):
        cst, dat, it, st = fit_one(row(x, c), Y[c], row(v, c), row(w, c), q[c], row(lo, c),
                                   row(hi, c), k, m, nb, ntheta, max_iter, ftol, xtol, gtol,
                                   row(pm, c), row(pw, c), coef[c], se[c], se_coef[c], ridge,
                                   row(clo, c), row(chi, c))
        cost[c] = cst
        data[c] = dat
        nit[c] = it
        status[c] = st
