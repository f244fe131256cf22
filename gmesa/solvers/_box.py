"""Private: the box-constrained Levenberg-Marquardt step that the compiled solvers share
(:mod:`gmesa.solvers._lm` for one curve of parameters, :mod:`gmesa.solvers._joint` for
timing shared by several channels, :mod:`gmesa.solvers._joint_offsets` with per-channel
shifts): their status codes, Cholesky solves, the active set, the damped step and its
projection on the bounds, the step's outcome, the loop's scratch."""
from __future__ import annotations

import math

import numpy as np

from ..config import njit

# status codes of the LM kernels (documented in gmesa.solvers.many.SOLVER_STATUS)
GTOL = 1
FTOL = 2
XTOL = 3
MAX_ITER = -1
NONFINITE_INPUT = -2
NONFINITE_MODEL = -3
TOO_FEW_SAMPLES = -4
NO_PROGRESS = -5

#: damping never falls below this fraction of the largest diagonal of J^T J, so a
#: parameter the data barely constrain (say, the place of a step of height ~0) cannot
#: take huge steps
DAMP_FLOOR = 1e-4


@njit
def finite(v):
    """math.isfinite that survives fastmath: LLVM folds ``v - v`` (isfinite's
    implementation) to 0 under reassoc/nsz, but keeps this comparison."""
    return abs(v) <= 1.7976931348623157e308


@njit
def cholesky_resolve(lt, b, n):
    """Solve in place with the Cholesky factor ``lt`` left by :func:`cholesky_factor`."""
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= lt[i, k] * b[k]
        b[i] = s / lt[i, i]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, n):
            s -= lt[k, i] * b[k]
        b[i] = s / lt[i, i]


@njit
def cholesky_factor(a, n, lt):
    """Cholesky factor of the leading n x n block of ``a`` (SPD) into ``lt``; False when
    not positive definite."""
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= lt[j, k] * lt[j, k]
        if not (s > 0.0) or not finite(s):
            return False
        d = math.sqrt(s)
        lt[j, j] = d
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= lt[i, k] * lt[j, k]
            lt[i, j] = s / d
    return True


@njit
def cholesky_solve(a, b, n, lt):
    """Solve a x = b in place for the leading n x n block (SPD), the factor left in
    ``lt``; False when not positive definite."""
    if not cholesky_factor(a, n, lt):
        return False
    cholesky_resolve(lt, b, n)
    return True


@njit
def active_set(p, lo, hi, free, nfree, g, a, cost, act):
    """Write into ``act`` the free parameters not held on a bound (gradient pointing out of
    the box); returns their number and their largest scaled gradient (the gtol test)."""
    nact = 0
    gmax = 0.0
    for jj in range(nfree):
        j = free[jj]
        at_lo = p[j] <= lo[j] and g[jj] > 0.0
        at_hi = p[j] >= hi[j] and g[jj] < 0.0
        if at_lo or at_hi:
            continue
        act[nact] = jj
        nact += 1
        if a[jj, jj] > 0.0 and cost > 0.0:
            gmax = max(gmax, abs(g[jj]) / math.sqrt(a[jj, jj] * 2.0 * cost))
    return nact, gmax


@njit
def damped_step(a, g, act, nact, lam, lhs, step, lt):
    """Solve the damped normal equations on the active parameters into ``step``;
    False when the matrix is not positive definite."""
    dmax = 0.0
    for u in range(nact):
        dmax = max(dmax, a[act[u], act[u]])
    for u in range(nact):
        for v in range(nact):
            lhs[u, v] = a[act[u], act[v]]
        lhs[u, u] += lam * max(a[act[u], act[u]], DAMP_FLOOR * dmax + 1e-300)
        step[u] = -g[act[u]]
    return cholesky_solve(lhs, step, nact, lt)


@njit
def trial_point(p, pnew, step, free, act, nact, lo, hi, a, g):
    """``pnew`` = p + step projected onto the box; returns the predicted cost reduction of
    the projected step d = pnew - p, |d| and |p| (active parameters)."""
    for j in range(p.shape[0]):
        pnew[j] = p[j]
    for u in range(nact):
        j = free[act[u]]
        v = p[j] + step[u]
        pnew[j] = min(max(v, lo[j]), hi[j])
    pred = 0.0
    dnorm = 0.0
    pnorm = 0.0
    for u in range(nact):
        ju = act[u]
        du = pnew[free[ju]] - p[free[ju]]
        ad = 0.0
        for v in range(nact):
            ad += a[ju, act[v]] * (pnew[free[act[v]]] - p[free[act[v]]])
        pred -= g[ju] * du + 0.5 * du * ad
        dnorm += du * du
        pnorm += p[free[ju]] * p[free[ju]]
    return pred, math.sqrt(dnorm), math.sqrt(pnorm)


#: damping beyond this: the step cannot make progress
LAM_MAX = 1e16


@njit
def damping_accepted(lam, cost, new, pred):
    """(damping, nu) after a step that lowered ``cost`` to ``new`` against the model's
    predicted gain ``pred``: Nielsen's update, the damping scaled by
    max(1/3, 1 - (2 rho - 1)^3), rho the actual over the predicted gain."""
    rho = (cost - new) / pred if pred > 0.0 else 0.0
    t = 2.0 * rho - 1.0
    return lam * max(1.0 / 3.0, 1.0 - t * t * t), 2.0


@njit
def damping_rejected(lam, nu):
    """(damping, nu, gave up) after a rejected step: the damping times nu, nu doubled;
    giving up past :data:`LAM_MAX`."""
    lam = lam * nu
    return lam, nu * 2.0, lam > LAM_MAX


@njit
def trial_step(p, pnew, a, g, act, nact, free, lo, hi, lam, nu, lhs, step, lt):
    """One damped step from ``p`` into ``pnew`` (:func:`damped_step`,
    :func:`trial_point`): (made, predicted gain, |d|, |p|, damping, nu, status); when
    the damped matrix is not positive definite no step is made, the damping grows and
    the status is NO_PROGRESS once it has grown past :data:`LAM_MAX` (0: go on)."""
    if damped_step(a, g, act, nact, lam, lhs, step, lt):
        pred, dn, pn = trial_point(p, pnew, step, free, act, nact, lo, hi, a, g)
        return True, pred, dn, pn, lam, nu, 0
    lam, nu, gave_up = damping_rejected(lam, nu)
    return False, 0.0, 0.0, 0.0, lam, nu, NO_PROGRESS if gave_up else 0


@njit
def step_outcome(cost, new, pred, small, ftol, lam, nu):
    """After a trial step of cost ``new`` from ``cost`` (predicted gain ``pred``; ``small``:
    the step is below xtol): (accepted, status, damping, nu), status 0 to go on."""
    if abs(new) <= 1.7976931348623157e308 and new < cost:
        lam, nu = damping_accepted(lam, cost, new, pred)
        if cost - new <= ftol * cost:
            return True, FTOL, lam, nu
        return True, XTOL if small else 0, lam, nu
    if small:
        return False, XTOL, lam, nu
    lam, nu, gave_up = damping_rejected(lam, nu)
    return False, NO_PROGRESS if gave_up else 0, lam, nu


@njit
def lm_scratch(nfree):
    """The LM loop's scratch for ``nfree`` free parameters: the normal matrix and
    gradient, the damped matrix, its factor, the step, the active list."""
    return (np.empty((nfree, nfree)), np.empty(nfree), np.empty((nfree, nfree)),
            np.zeros((nfree, nfree)), np.empty(max(nfree, 1)), np.empty(nfree, np.int64))
