"""Compiled box-constrained Levenberg-Marquardt for many independent curves.

Private kernel behind :func:`gmesa.fit_many`; inputs are validated there.

Per curve: residual ``r = w * (model - y)``, cost ``0.5 * sum r**2``.  Each iteration
solves ``(A + lam * diag(A)) step = -g`` on the free parameters (A = J^T J, g = J^T r),
projects ``p + step`` onto the box, and accepts it when the cost falls (Nielsen's
damping update).  Parameters sitting on a bound whose gradient points out of the box
are held for that iteration (active set), so optima on a bound converge cleanly.
Each trial point is evaluated with its Jacobian in one pass: most trials are accepted,
and an accepted step then needs no second model evaluation.

A Gaussian prior (mean, 1/sd per parameter) adds ``0.5 * sum(((p - mean)/sd)**2)`` over the
free parameters to the cost, ``diag(1/sd**2)`` to A and ``(p - mean)/sd**2`` to g (MAP);
empty prior arrays skip those terms, so a fit without a prior is unchanged bit for bit.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._kernels import mesa_sum_jac_into
from ..config import njit
from ._box import (FTOL, GTOL, MAX_ITER, NO_PROGRESS, NONFINITE_INPUT,  # noqa: F401
                   NONFINITE_MODEL, TOO_FEW_SAMPLES, XTOL, active_set, cholesky_resolve,
                   cholesky_solve, finite, step_outcome, trial_step)

@njit
def _support(row, n):
    """[lo, hi): the stretch of ``row`` outside which it is zero."""
    lo = 0
    while lo < n and row[lo] == 0.0:
        lo += 1
    hi = n
    while hi > lo and row[hi - 1] == 0.0:
        hi -= 1
    return lo, hi


@njit
def _normal_matrix(jt, w, n, free, nfree, a, first, last, weighted, k, full, rlo, rhi):
    """Weight the rows of jt by w in place (if ``weighted``) and write the free block of
    J^T J into ``a`` (``full``: (P, P) scratch for all of it).

    Rows are zero outside their component's support (far tails are skipped by the
    kernel), so each product only runs over the overlap of two supports.  The five
    columns of one GMF share a support: one pass over an overlap gives the products of
    a column with all five columns of another GMF (five accumulators, fewer loads).
    """
    npar = jt.shape[0]
    if weighted:
        for j in range(npar):
            row = jt[j]
            for i in range(n):
                row[i] *= w[i]
    for c in range(k):
        lo, hi = _support(jt[5 * c], n)
        for q in range(5):
            rlo[5 * c + q] = lo
            rhi[5 * c + q] = hi
    for j in range(5 * k, npar):
        lo, hi = _support(jt[j], n)
        rlo[j] = lo
        rhi[j] = hi
    for c in range(k):
        for d in range(c + 1):
            lo = max(rlo[5 * c], rlo[5 * d])
            hi = min(rhi[5 * c], rhi[5 * d])
            for q in range(5):
                ja = 5 * c + q
                if hi <= lo:
                    for u in range(5):
                        full[ja, 5 * d + u] = 0.0
                    continue
                # slices starting at 0 let LLVM vectorise the products
                ra = jt[ja, lo:hi]
                r0 = jt[5 * d, lo:hi]
                r1 = jt[5 * d + 1, lo:hi]
                r2 = jt[5 * d + 2, lo:hi]
                r3 = jt[5 * d + 3, lo:hi]
                r4 = jt[5 * d + 4, lo:hi]
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                s4 = 0.0
                for i in range(hi - lo):
                    v = ra[i]
                    s0 += v * r0[i]
                    s1 += v * r1[i]
                    s2 += v * r2[i]
                    s3 += v * r3[i]
                    s4 += v * r4[i]
                full[ja, 5 * d] = s0
                full[ja, 5 * d + 1] = s1
                full[ja, 5 * d + 2] = s2
                full[ja, 5 * d + 3] = s3
                full[ja, 5 * d + 4] = s4
    for ja in range(5 * k, npar):
        for jb in range(ja + 1):
            lo = max(rlo[ja], rlo[jb])
            hi = min(rhi[ja], rhi[jb])
            sm = 0.0
            if hi > lo:
                ra = jt[ja, lo:hi]
                rb = jt[jb, lo:hi]
                for i in range(hi - lo):
                    sm += ra[i] * rb[i]
            full[ja, jb] = sm
    for aa in range(nfree):
        fa = free[aa]
        first[aa] = rlo[fa]
        last[aa] = rhi[fa]
        for bb in range(aa + 1):
            fb = free[bb]
            v = full[fa, fb] if fa >= fb else full[fb, fa]
            a[aa, bb] = v
            a[bb, aa] = v


@njit
def _residual(f, y, w, n, r):
    """Weighted residual ``r = w * (f - y)`` of the model values ``f``; returns the cost."""
    c = 0.0
    for i in range(n):
        r[i] = w[i] * (f[i] - y[i])
        c += r[i] * r[i]
    return 0.5 * c


@njit
def _check_inputs(x, y, w, n, p, lo, hi, free):
    """Status 0 when the first ``n`` samples of x, y, w and every p are finite, else
    NONFINITE_INPUT; writes the free parameters (hi > lo) into ``free``.

    Returns (status, number free, samples with w != 0, any w != 1).
    """
    for i in range(n):
        if not (finite(x[i]) and finite(y[i]) and finite(w[i])):
            return NONFINITE_INPUT, 0, 0, False
    nfree = 0
    for j in range(p.shape[0]):
        if not finite(p[j]):
            return NONFINITE_INPUT, 0, 0, False
        if hi[j] > lo[j]:
            free[nfree] = j
            nfree += 1
    nvalid = 0
    weighted = False
    for i in range(n):
        if w[i] != 0.0:
            nvalid += 1
        if w[i] != 1.0:
            weighted = True
    return 0, nfree, nvalid, weighted


@njit
def _gradient(jt, r, a, free, nfree, first, last, g):
    """g = J^T r on the free parameters, each row over its support [first, last);
    False when g or the diagonal of ``a`` is not finite."""
    for jj in range(nfree):
        i0 = first[jj]
        i1 = last[jj]
        row = jt[free[jj], i0:i1]
        rr = r[i0:i1]
        s = 0.0
        for i in range(i1 - i0):
            s += row[i] * rr[i]
        g[jj] = s
    for jj in range(nfree):
        if not (finite(g[jj]) and finite(a[jj, jj])):
            return False
    return True


@njit
def _standard_errors(a, step, lt, free, nfree, cost, dof, se):
    """Standard errors of the free parameters from A = J^T J and the residual variance."""
    s2 = 2.0 * cost / dof
    for u in range(nfree):
        step[u] = 0.0
    if cholesky_solve(a, step, nfree, lt):            # factor once, then each column
        for jj in range(nfree):
            for u in range(nfree):
                step[u] = 0.0
            step[jj] = 1.0
            cholesky_resolve(lt, step, nfree)
            se[free[jj]] = math.sqrt(max(step[jj], 0.0) * s2)


@njit
def _curve_work(n, npar):
    """Scratch of one curve: model f, residual r, Jacobian rows jt, the (P, P) products and
    the rows' supports."""
    return (np.empty(n), np.empty(n), np.empty((npar, n)), np.empty((npar, npar)),
            np.empty(npar, dtype=np.int64), np.empty(npar, dtype=np.int64))


@njit
def _free_work(nfree):
    """Scratch on the free parameters: A, g, the damped matrix, its Cholesky factor, the step,
    the active set and the rows' supports."""
    return (np.empty((nfree, nfree)), np.empty(nfree), np.empty((nfree, nfree)),
            np.empty((nfree, nfree)), np.empty(nfree), np.empty(nfree, dtype=np.int64),
            np.empty(nfree, dtype=np.int64), np.empty(nfree, dtype=np.int64))


@njit
def _prior_cost(p, pm, pw, free, nfree):
    """Prior term ``0.5 * sum(((p - mean) / sd)**2)`` over the free parameters."""
    c = 0.0
    for jj in range(nfree):
        j = free[jj]
        d = (p[j] - pm[j]) * pw[j]
        c += d * d
    return 0.5 * c


@njit
def _model_cost(x, y, w, n, p, k, m, nb, f, jt, r, pm, pw, free, nfree):
    """Model and Jacobian at ``p`` into f and jt, the residual into r; returns the cost,
    the prior term included when there is a prior (``pm`` not empty)."""
    mesa_sum_jac_into(x[:n], p, k, m, nb, f, jt)
    cost = _residual(f, y, w, n, r)
    if pm.shape[0] > 0:
        cost += _prior_cost(p, pm, pw, free, nfree)
    return cost


@njit
def _normal_equations(jt, r, w, n, p, free, nfree, a, g, first, last, weighted, k, full,
                      rlo, rhi, pm, pw):
    """A = J^T J and g = J^T r on the free parameters, plus the prior's rows when there is
    one: A += diag(1/sd**2), g += (p - mean)/sd**2.  False when g or diag(A) is not finite."""
    _normal_matrix(jt, w, n, free, nfree, a, first, last, weighted, k, full, rlo, rhi)
    ok = _gradient(jt, r, a, free, nfree, first, last, g)
    if ok and pm.shape[0] > 0:
        for jj in range(nfree):
            j = free[jj]
            w2 = pw[j] * pw[j]
            a[jj, jj] += w2
            g[jj] += (p[j] - pm[j]) * w2
    return ok


@njit
def _n_prior(pm, pw, free, nfree):
    """Number of free parameters with a prior (1/sd > 0): the prior's residual rows."""
    c = 0
    if pm.shape[0] > 0:
        for jj in range(nfree):
            if pw[free[jj]] > 0.0:
                c += 1
    return c


@njit
def lm_fit_one(x, y, w, n, p, lo, hi, k, m, nb, max_iter, ftol, xtol, gtol, se, pm, pw,
               want_se=True):
    """Fit one curve in place (``p`` holds p0 on entry, the optimum on exit).

    ``pm``, ``pw``: the prior's means and 1/sd per parameter (0: none), or empty arrays for
    no prior (then the code path is the plain least-squares one).
    Returns (cost, iterations, status); writes standard errors into ``se`` (left NaN
    without ``want_se``: the fit itself is the same).
    """
    npar = p.shape[0]
    for j in range(npar):
        se[j] = np.nan
    free = np.empty(npar, dtype=np.int64)
    bad, nfree, nvalid, weighted = _check_inputs(x, y, w, n, p, lo, hi, free)
    if bad != 0:
        return np.nan, 0, bad
    if nvalid <= nfree:
        return np.nan, 0, TOO_FEW_SAMPLES

    f, r, jt, full, rlo, rhi = _curve_work(n, npar)
    a, g, lhs, lt, step, act, first, last = _free_work(nfree)
    pnew = p.copy()

    lam = 1.0e-1
    nu = 2.0
    status = MAX_ITER
    it = 0
    cost = 0.0
    nact = 0
    need_jac = True
    # True when jt, r and cost already hold the Jacobian, residual and cost at p (an
    # accepted trial) but A = J^T J has not been formed from them yet
    fresh = False
    while True:
        if need_jac:
            if not fresh:
                cost = _model_cost(x, y, w, n, p, k, m, nb, f, jt, r, pm, pw, free, nfree)
                if not finite(cost):
                    return cost, it, NONFINITE_MODEL
            fresh = False
            if not _normal_equations(jt, r, w, n, p, free, nfree, a, g, first, last, weighted,
                                     k, full, rlo, rhi, pm, pw):
                return cost, it, NONFINITE_MODEL
            # active set and projected-gradient convergence test
            nact, gmax = active_set(p, lo, hi, free, nfree, g, a, cost, act)
            if gmax <= gtol or nact == 0:
                status = GTOL
                break
            need_jac = False
        if it >= max_iter:
            status = MAX_ITER
            break
        it += 1
        made, pred, dnorm, pnorm, lam, nu, stop = trial_step(p, pnew, a, g, act, nact, free,
                                                             lo, hi, lam, nu, lhs, step, lt)
        if not made:
            if stop:
                status = stop
                break
            continue
        # the trial point's model and Jacobian in one pass: most trials are accepted,
        # and then the Jacobian is already there
        new_cost = _model_cost(x, y, w, n, pnew, k, m, nb, f, jt, r, pm, pw, free, nfree)
        accepted, stop, lam, nu = step_outcome(cost, new_cost, pred,
                                               dnorm <= xtol * (pnorm + xtol), ftol, lam, nu)
        if accepted:
            cost = new_cost
            for j in range(npar):
                p[j] = pnew[j]
            need_jac = True
            fresh = True
        if stop:
            status = stop
            break

    if not want_se:
        return cost, it, status
    if fresh:  # stopped right after an accepted step: form A at the final p
        _normal_equations(jt, r, w, n, p, free, nfree, a, g, first, last, weighted, k, full,
                          rlo, rhi, pm, pw)
    _standard_errors(a, step, lt, free, nfree, cost, nvalid + _n_prior(pm, pw, free, nfree)
                     - nfree, se)
    return cost, it, status


@njit(parallel=True)
def lm_fit_batch(x, y, w, lengths, p, lo, hi, k, m, nb, max_iter, ftol, xtol, gtol,
                 se, cost, nit, status, pm, pw, want_se):
    """Fit every row of ``y`` in parallel; ``x``/``w``/``lo``/``hi``/``pm``/``pw`` have 1 or
    N rows (``pm``/``pw`` of width 0: no prior); standard errors when ``want_se``."""
    ncurve = y.shape[0]
    for c in prange(ncurve):
        xi = x[0] if x.shape[0] == 1 else x[c]
        wi = w[0] if w.shape[0] == 1 else w[c]
        li = lo[0] if lo.shape[0] == 1 else lo[c]
        hi_ = hi[0] if hi.shape[0] == 1 else hi[c]
        pmi = pm[0] if pm.shape[0] == 1 else pm[c]
        pwi = pw[0] if pw.shape[0] == 1 else pw[c]
        cst, it, st = lm_fit_one(xi, y[c], wi, lengths[c], p[c], li, hi_, k, m, nb,
                                 max_iter, ftol, xtol, gtol, se[c], pmi, pwi, want_se)
        cost[c] = cst
        nit[c] = it
        status[c] = st
