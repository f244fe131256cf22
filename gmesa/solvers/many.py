"""``fit_many``: the compiled batch Levenberg-Marquardt for thousands of curves."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numba
import numpy as np

from ..core import Layout, baseline_size, layout
from .._deprecated import module_getattr
from . import _lm
from ._checks import check_bounds, check_prior, curve_rows, default_bounds, prior_cost

#: curves per work item of the parallel loop
CHUNK_CURVES = 4

#: solver status code -> meaning, for ``ManyFit.status``
SOLVER_STATUS = {
    _lm.GTOL: "converged: gradient below gtol (projected, scaled)",
    _lm.FTOL: "converged: relative cost reduction below ftol",
    _lm.XTOL: "converged: relative step below xtol",
    _lm.MAX_ITER: "iteration limit reached before convergence",
    _lm.NONFINITE_INPUT: "non-finite x, y, weight or p0 in the curve's window",
    _lm.NONFINITE_MODEL: "model or Jacobian became non-finite during the fit",
    _lm.TOO_FEW_SAMPLES: "fewer samples (non-zero weights) than free parameters + 1",
    _lm.NO_PROGRESS: "no step reduced the cost (damping overflow); parameters are the best found",
}

__getattr__ = module_getattr(__name__, {"STATUS": "SOLVER_STATUS"}, globals())


@dataclass
class ManyFit:
    """Result of :func:`fit_many`: one row per curve.

    ``params``/``stderr`` (N, P); ``cost`` = 0.5 * (sum of squared weighted residuals +
    prior term), the objective minimised; ``prior_cost`` = 0.5 * sum(((p - mean)/sd)**2)
    over the free parameters (0 without a prior) and ``data_cost`` = ``cost - prior_cost``;
    ``nit`` iterations; ``status`` codes documented in :data:`SOLVER_STATUS` (> 0 converged).
    """
    params: np.ndarray
    stderr: np.ndarray
    cost: np.ndarray
    nit: np.ndarray
    status: np.ndarray
    prior_cost: np.ndarray = None

    def __post_init__(self):
        if self.prior_cost is None:
            self.prior_cost = np.zeros(np.shape(self.cost))

    @property
    def data_cost(self):
        """0.5 * sum of squared weighted residuals (the cost without the prior term)."""
        return self.cost - self.prior_cost

    @property
    def success(self):
        """Boolean mask of curves that converged (status > 0)."""
        return self.status > 0

    def message(self, i):
        """Meaning of curve ``i``'s status code."""
        return SOLVER_STATUS[int(self.status[i])]


@contextlib.contextmanager
def numba_threads(n):
    """Run the block with ``n`` Numba threads, clipped to 1..NUMBA_NUM_THREADS
    (None: leave the setting alone)."""
    if n is None:
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _check_curves(X, Y, W, L, n_free):
    """ValueError naming the first curve with a non-finite used sample or too few samples."""
    shape = Y.shape
    inside = np.arange(shape[1])[None, :] < L[:, None]
    Wb = np.broadcast_to(W, shape)
    live = inside & (Wb != 0)
    checks = [(name, arr, np.where(m, ~np.isfinite(arr), False))
              for name, arr, m in (("x", np.broadcast_to(X, shape), live), ("y", Y, live),
                                   ("weights", Wb, inside))]
    n_live = live.sum(axis=1)
    failing = (n_live <= n_free) | np.any([bad.any(axis=1) for _, _, bad in checks], axis=0)
    if not failing.any():
        return
    c = int(np.argmax(failing))
    for name, arr, bad in checks:
        if bad[c].any():
            value = float(arr[c, np.argmax(bad[c])])
            raise ValueError(f"curve {c}: {name} has a non-finite value ({value!r}); mask "
                             "it, or pass check=False to get status -2 for this curve")
    raise ValueError(f"curve {c}: {n_live[c]} usable samples are too few for "
                     f"{n_free[c]} free parameters")


def fit_many(x, Y, p0, lower=None, upper=None, *, baseline="constant", steps=0,
             weights=None, lengths=None, mask=None, max_iter=200, ftol=1e-8, xtol=1e-8,
             gtol=1e-8, threads=None, check=True, prior=None, stderr=True):
    """Fit the same mesa-sum model to every row of ``Y`` with a compiled, parallel LM.

    Parameters
    ----------
    x : (n,) shared sample positions (seconds) or (N, n) one row per curve.
    Y : (N, n) data, one curve per row (a 1-D array is one curve).
    p0 : (P,) or (N, P) start values in the layout of :func:`gmesa.mesa_sum`.
    lower, upper : (P,) or (N, P) bounds; ``lower == upper`` fixes a parameter.
        Default: widths > 0, half-widths >= 0, everything else free.
    weights : (n,) or (N, n) residual weights (residual = w * (model - y)).
    lengths : (N,) use only the first ``lengths[i]`` samples of curve i.
    mask : (n,) or (N, n) boolean, False samples are ignored (weight 0).
    max_iter, ftol, xtol, gtol : iteration limit and convergence tolerances.
    threads : Numba threads for this call (None: Numba's current setting).
    check : validate inputs and raise ValueError naming the curve (default).  With
        ``check=False`` a bad curve gets a status code instead and the rest still fit.
    prior : ``(mean, sd)``, each (P,) or (N, P): a Gaussian prior per parameter
        (``sd = inf``: none; fixed parameters ignore it).  The fit is then MAP: least
        squares with the extra residuals ``(p - mean)/sd``, and ``stderr`` comes from the
        augmented J^T J (see docs/priors.md).  None (default): plain least squares.
    stderr : compute the standard errors (default).  False leaves ``ManyFit.stderr`` NaN
        and saves a factorisation per curve; everything else is the same, bit for bit.

    Returns :class:`ManyFit`.  The result does not depend on the thread count.
    """
    pri = _prior(prior, p0, baseline, steps, Y)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[None, :]
    if Y.ndim != 2 or Y.shape[1] == 0:
        raise ValueError(f"Y has shape {Y.shape}; expected (n_curves, n_samples)")
    n_curves, n = Y.shape
    p0 = np.asarray(p0, dtype=np.float64)
    n_params = p0.shape[-1] if p0.ndim else 0
    k = layout(n_params, baseline, steps)
    nb = baseline_size(baseline)
    P = curve_rows(p0, n_curves, n_params, "p0")
    P = np.array(np.broadcast_to(P, (n_curves, n_params)), order="C")  # a copy: solved in place
    dlo, dhi = default_bounds(n_params, baseline, steps)
    lo = curve_rows(dlo if lower is None else lower, n_curves, n_params, "lower")
    hi = curve_rows(dhi if upper is None else upper, n_curves, n_params, "upper")
    X = curve_rows(x, n_curves, n, "x")
    W = curve_rows(np.ones(n) if weights is None else weights, n_curves, n, "weights")
    if lengths is None:
        L = np.full(n_curves, n, dtype=np.int64)
    else:
        L = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if L.shape != (n_curves,) or np.any(L < 1) or np.any(L > n):
            raise ValueError(f"lengths must hold {n_curves} integers in [1, {n}], "
                             f"got shape {L.shape}, range [{L.min()}, {L.max()}]")
    if mask is not None:
        M = curve_rows(mask, n_curves, n, "mask", dtype=bool)
        W = np.ascontiguousarray(np.broadcast_to(W, (n_curves, n)) * M)
    # samples with weight 0 take no part: their y (and a non-finite x) may hold anything
    unused = np.broadcast_to(W == 0, (n_curves, n))
    if unused.any():
        Y = np.where(unused, 0.0, Y)
        bad_x = unused & ~np.isfinite(np.broadcast_to(X, (n_curves, n)))
        if bad_x.any():
            X = np.ascontiguousarray(np.where(bad_x, 0.0, np.broadcast_to(X, (n_curves, n))))
    if check:
        check_bounds(P, lo, hi, baseline, steps)
        n_free = (np.broadcast_to(hi, P.shape) > np.broadcast_to(lo, P.shape)).sum(axis=1)
        _check_curves(X, Y, W, L, n_free)
    Y = np.ascontiguousarray(Y)
    se = np.full((n_curves, n_params), np.nan)
    cost = np.empty(n_curves)
    nit = np.empty(n_curves, dtype=np.int64)
    status = np.empty(n_curves, dtype=np.int64)
    # small chunks: curves need different numbers of iterations, and a thread that
    # finishes early takes more work instead of idling
    pm, pw = pri if pri is not None else (np.empty((1, 0)), np.empty((1, 0)))
    with numba_threads(threads), numba.parallel_chunksize(CHUNK_CURVES):
        _lm.lm_fit_batch(X, Y, W, L, P, lo, hi, k, steps, nb, int(max_iter), float(ftol),
                         float(xtol), float(gtol), se, cost, nit, status, pm, pw,
                         bool(stderr))
    return ManyFit(P, se, cost, nit, status, prior_cost(P, hi > lo, pri))


def _prior(prior, p0, baseline, steps, Y):
    """The checked prior of :func:`fit_many` (None: no prior)."""
    if prior is None:
        return None
    n_params = np.shape(p0)[-1] if np.ndim(p0) else 0
    n_curves = np.shape(Y)[0] if np.ndim(Y) == 2 else 1
    labels = Layout.of_size(n_params, baseline, steps).labels
    return check_prior(prior, labels, n_curves)
