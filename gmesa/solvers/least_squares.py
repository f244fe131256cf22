"""``fit_least_squares``: SciPy ``least_squares`` on the compiled kernels."""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from .. import _kernels as K
from ..core import Layout, finite_x
from ._checks import check_bounds, default_bounds


def fit_least_squares(x, y, p0, lower=None, upper=None, loss="linear", *,
                      baseline="constant", steps=0, weights=None, method="trf", **kw):
    """Fit one curve with :func:`scipy.optimize.least_squares` and the analytic Jacobian.

    ``p0``/``lower``/``upper`` follow :func:`gmesa.mesa_sum`'s layout (default bounds:
    widths > 0, half-widths >= 0).  ``loss`` ('linear', 'soft_l1', 'huber', 'cauchy',
    'arctan') and the other keywords (``f_scale``, ``max_nfev``, ``x_scale``,
    ``ftol``, ``xtol``, ``gtol``, ...) are SciPy's.  Parameters with
    ``lower == upper`` are held fixed.

    Returns SciPy's ``OptimizeResult`` with two more fields: ``params`` (full vector,
    fixed ones included) and ``stderr`` (standard errors from (J^T J)^-1 times the
    residual variance; NaN for fixed parameters or a singular J^T J).
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
    if np.count_nonzero(w) <= free.sum():
        raise ValueError(f"{np.count_nonzero(w)} samples are too few for {free.sum()} free "
                         "parameters (samples with weight 0 do not count)")
    full = p0.copy()
    out = np.empty_like(yf)
    jt = np.empty((p0.size, yf.size))

    def residual(q):
        full[free] = q
        K.mesa_sum_into(xf, full, k, steps, nb, out)
        return w * (out - yf)

    def jacobian(q):
        full[free] = q
        K.mesa_sum_jac_into(xf, full, k, steps, nb, out, jt)
        return (jt[free] * w).T

    res = least_squares(residual, p0[free], jac=jacobian, bounds=(lo[free], hi[free]),
                        loss=loss, method=method, **kw)
    params = p0.copy()
    params[free] = res.x
    res.params = params
    res.stderr = np.full(p0.size, np.nan)
    J = jacobian(res.x)
    dof = int(np.count_nonzero(w)) - int(free.sum())
    r = residual(res.x)
    try:
        cov = np.linalg.inv(J.T @ J) * (r @ r / dof)
        res.stderr[free] = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        pass
    return res
