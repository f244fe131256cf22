"""``fit_least_squares``: SciPy ``least_squares`` on the compiled kernels."""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from .. import _kernels as K
from ..core import Layout, finite_x
from ._checks import check_bounds, check_prior, default_bounds, prior_cost


def fit_least_squares(x, y, p0, lower=None, upper=None, loss="linear", *,
                      baseline="constant", steps=0, weights=None, method="trf", prior=None,
                      **kw):
    """Fit one curve with :func:`scipy.optimize.least_squares` and the analytic Jacobian.

    ``p0``/``lower``/``upper`` follow :func:`gmesa.mesa_sum`'s layout (default bounds:
    widths > 0, half-widths >= 0).  ``loss`` ('linear', 'soft_l1', 'huber', 'cauchy',
    'arctan') and the other keywords (``f_scale``, ``max_nfev``, ``x_scale``,
    ``ftol``, ``xtol``, ``gtol``, ...) are SciPy's.  Parameters with
    ``lower == upper`` are held fixed.

    ``prior = (mean, sd)``, each (P,): a Gaussian prior per parameter (``sd = inf``: none;
    fixed parameters ignore it).  The fit is then MAP: the residual gets the extra rows
    ``(p - mean)/sd`` of the free parameters with a prior (``loss='linear'`` only).

    Returns SciPy's ``OptimizeResult`` with more fields: ``params`` (full vector,
    fixed ones included), ``stderr`` (standard errors from (J^T J)^-1 times the
    residual variance ``2 cost / (rows - free parameters)``, J and the rows including the
    prior's; NaN for fixed parameters or a singular J^T J), ``prior_cost``
    (0.5 * sum(((p - mean)/sd)**2), included in ``cost``) and ``data_cost``.
    """
    _, xf = finite_x(x)
    yf = np.ascontiguousarray(np.asarray(y, dtype=np.float64).ravel())
    if yf.shape != xf.shape:
        raise ValueError(f"x has {xf.size} samples but y has {yf.size}")
    bad = ~np.isfinite(yf)
    if bad.any():
        raise ValueError(f"y has a non-finite sample at index {int(np.argmax(bad))} "
                         f"({float(yf[bad][0])!r}); remove or mask it")
    w = np.ones_like(yf) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != yf.shape or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and have one value per sample")
    p0 = np.asarray(p0, dtype=np.float64).ravel()
    lay = Layout.of_size(p0.size, baseline, steps)
    k, nb = lay.n_waves, lay.n_baseline
    dlo, dhi = default_bounds(p0.size, baseline, steps)
    lo = np.broadcast_to(np.asarray(dlo if lower is None else lower, float), p0.shape).copy()
    hi = np.broadcast_to(np.asarray(dhi if upper is None else upper, float), p0.shape).copy()
    check_bounds(p0[None], lo[None], hi[None], baseline, steps)
    free = hi > lo
    pri = check_prior(prior, lay.labels)
    if pri is not None and loss != "linear":
        raise ValueError(f"prior works with loss='linear' only (got loss={loss!r}): a robust "
                         "loss would also act on the prior's rows")
    pm, pw = (pri[0][0][free], pri[1][0][free]) if pri is not None else (None, None)
    rows = np.flatnonzero(pw) if pri is not None else np.empty(0, dtype=int)
    if np.count_nonzero(w) <= free.sum():
        raise ValueError(f"{np.count_nonzero(w)} samples are too few for {free.sum()} free "
                         "parameters (samples with weight 0 do not count)")
    full = p0.copy()
    out = np.empty_like(yf)
    jt = np.empty((p0.size, yf.size))

    def residual(q):
        full[free] = q
        K.mesa_sum_into(xf, full, k, steps, nb, out)
        if pri is None:
            return w * (out - yf)
        return np.concatenate([w * (out - yf), ((q - pm) * pw)[rows]])

    def jacobian(q):
        full[free] = q
        K.mesa_sum_jac_into(xf, full, k, steps, nb, out, jt)
        if pri is None:
            return (jt[free] * w).T
        return np.vstack([(jt[free] * w).T, np.diag(pw)[rows]])

    res = least_squares(residual, p0[free], jac=jacobian, bounds=(lo[free], hi[free]),
                        loss=loss, method=method, **kw)
    params = p0.copy()
    params[free] = res.x
    res.params = params
    res.stderr = np.full(p0.size, np.nan)
    J = jacobian(res.x)
    dof = int(np.count_nonzero(w)) + rows.size - int(free.sum())
    r = residual(res.x)
    try:
        cov = np.linalg.inv(J.T @ J) * (r @ r / dof)
        res.stderr[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        pass
    res.prior_cost = float(prior_cost(params[None], free[None], pri)[0])
    res.data_cost = res.cost - res.prior_cost
    return res
