"""``fit_shared``: many channels (leads) of one curve with shared timing, each with its
own amplitudes and baseline, fitted by variable projection (see docs/joint.md)."""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..core import baseline_size
from . import _joint
from ._checks import MIN_WIDTH, curve_rows
from .many import CHUNK_CURVES, SOLVER_STATUS, numba_threads


def shared_labels(n_waves, n_steps=0):
    """Labels of the shared parameter vector theta: ``{k}_center``, ``{k}_half_width``,
    ``{k}_sigma_left``, ``{k}_sigma_right`` per component k, ``step{s}_center``,
    ``step{s}_scale`` per step."""
    out = []
    for k in range(n_waves):
        out += [f"{k}_{p}" for p in ("center", "half_width", "sigma_left", "sigma_right")]
    for s in range(n_steps):
        out += [f"step{s}_center", f"step{s}_scale"]
    return out


def split_shared(params, n_waves, n_steps=0):
    """(theta, coef) of parameter vectors ``params`` (..., P) in the usual layout
    (:class:`gmesa.Layout`): the timing (..., 4 K + 2 M) and the linear part (amplitudes
    of the K components and M steps, then the baseline coefficients)."""
    p = np.asarray(params, dtype=float)
    k5, m3 = 5 * n_waves, 3 * n_steps
    wav = p[..., :k5].reshape(p.shape[:-1] + (n_waves, 5))
    stp = p[..., k5:k5 + m3].reshape(p.shape[:-1] + (n_steps, 3))
    theta = np.concatenate([wav[..., 1:].reshape(p.shape[:-1] + (-1,)),
                            stp[..., 1:].reshape(p.shape[:-1] + (-1,))], axis=-1)
    coef = np.concatenate([wav[..., 0], stp[..., 0], p[..., k5 + m3:]], axis=-1)
    return theta, coef


def join_shared(theta, coef, n_waves, n_steps=0):
    """Parameter vectors in the usual layout from shared ``theta`` (..., T) and one
    channel's linear ``coef`` (..., m), leading dimensions broadcast: the inverse of
    :func:`split_shared`."""
    theta, coef = np.asarray(theta, dtype=float), np.asarray(coef, dtype=float)
    lead = np.broadcast_shapes(theta.shape[:-1], coef.shape[:-1])
    theta = np.broadcast_to(theta, lead + theta.shape[-1:])
    coef = np.broadcast_to(coef, lead + coef.shape[-1:])
    k, m = n_waves, n_steps
    wav = np.concatenate([coef[..., :k, None],
                          theta[..., :4 * k].reshape(lead + (k, 4))], axis=-1)
    stp = np.concatenate([coef[..., k:k + m, None],
                          theta[..., 4 * k:4 * k + 2 * m].reshape(lead + (m, 2))], axis=-1)
    return np.concatenate([wav.reshape(lead + (-1,)), stp.reshape(lead + (-1,)),
                           coef[..., k + m:]], axis=-1)


@dataclass
class SharedFit:
    """Result of :func:`fit_shared`, one row per curve.

    ``theta`` (N, T) the shared parameters (:func:`shared_labels`); ``coef`` (N, L, m)
    each channel's amplitudes and baseline; ``theta_stderr`` (N, T) (from the full
    model's curvature) and ``coef_stderr`` (N, L, m) (given theta; NaN where a coefficient
    is held at its ``coef_lower``/``coef_upper``); ``cost`` the
    objective (0.5 sum of squared weighted residuals over all channels + ridge and
    prior terms), ``data_cost`` the residual part alone; ``nit``; ``status`` (:data:`SOLVER_STATUS`, > 0
    converged); ``n_waves``, ``n_steps``; with ``offset_sd``, ``offsets`` (N, L, K) each
    channel's shift of each component's center (x units; 0 for a component not shifted)
    and ``offsets_stderr``.
    """
    theta: np.ndarray
    coef: np.ndarray
    theta_stderr: np.ndarray
    coef_stderr: np.ndarray
    cost: np.ndarray
    data_cost: np.ndarray
    nit: np.ndarray
    status: np.ndarray
    n_waves: int
    n_steps: int
    offsets: np.ndarray | None = None
    offsets_stderr: np.ndarray | None = None

    @property
    def params(self):
        """(N, L, P): every channel's parameter vector in the usual layout (its centers
        moved by its ``offsets`` when the fit had them)."""
        theta = np.repeat(self.theta[:, None, :], self.coef.shape[1], axis=1)
        if self.offsets is not None:
            theta[..., 0:4 * self.n_waves:4] += self.offsets
        return join_shared(theta, self.coef, self.n_waves, self.n_steps)

    @property
    def success(self):
        """Boolean mask of curves that converged (status > 0)."""
        return self.status > 0

    def message(self, i):
        """Meaning of curve ``i``'s status code."""
        return SOLVER_STATUS[int(self.status[i])]


def _default_bounds(n_waves, n_steps):
    ntheta = 4 * n_waves + 2 * n_steps
    lo, hi = np.full(ntheta, -np.inf), np.full(ntheta, np.inf)
    for k in range(n_waves):
        lo[4 * k + 1] = 0.0
        lo[4 * k + 2:4 * k + 4] = MIN_WIDTH
    lo[4 * n_waves + 1::2] = MIN_WIDTH
    return lo, hi


def _check(theta, lo, hi, labels, n_waves, n_steps):
    """ValueError naming the curve and the parameter for bad starts or bounds."""
    lo_b, hi_b = np.broadcast_to(lo, theta.shape), np.broadcast_to(hi, theta.shape)
    widths = [4 * k + q for k in range(n_waves) for q in (2, 3)] + \
        [4 * n_waves + 2 * s + 1 for s in range(n_steps)]
    tests = (
        (~np.isfinite(theta), "theta0 of {l} is {v!r}: give a finite start"),
        (np.isnan(lo_b) | np.isnan(hi_b), "a bound of {l} is NaN; use -inf/inf for none"),
        (lo_b > hi_b, "lower > upper for {l}"),
        ((theta < lo_b) | (theta > hi_b), "theta0 of {l} = {v!r} is outside its bounds: "
                                          "clip the start into [lower, upper]"),
    )
    for bad, msg in tests:
        if bad.any():
            c, j = np.argwhere(bad)[0]
            raise ValueError(f"curve {c}: " + msg.format(l=labels[j], v=float(theta[c, j])))
    for j in widths:
        if np.any(lo_b[:, j] <= 0):
            raise ValueError(f"lower bound of {labels[j]} must be > 0 (a width); "
                             f"give e.g. {MIN_WIDTH}")


def _fit_with_offsets(X, Y, V, W, theta, lo, hi, K, steps, nb, pm, pw, clo, chi, offset_sd,
                      opts, threads):
    """:func:`fit_shared` with a shift per channel of each component's center
    (:mod:`._joint_offsets`): q = [theta, shifts (L x K)], their bounds and priors."""
    from . import _joint_offsets

    N, L, _ = Y.shape
    try:
        sd = np.broadcast_to(np.asarray(offset_sd, dtype=float), (K,))
    except ValueError:
        sd = None
    if sd is None or not np.all(np.isfinite(sd) & (sd >= 0)):
        raise ValueError(f"offset_sd={offset_sd!r}: give one SD >= 0 (x units) or one per "
                         f"component ({K}); 0 leaves a component unshifted")
    ntheta = theta.shape[1]
    shift_hi = np.tile(4.0 * sd, L)
    q = np.concatenate([theta, np.zeros((N, L * K))], axis=1)
    qlo = np.concatenate([np.broadcast_to(lo, (lo.shape[0], ntheta)),
                          np.broadcast_to(-shift_hi, (lo.shape[0], L * K))], axis=1)
    qhi = np.concatenate([np.broadcast_to(hi, (hi.shape[0], ntheta)),
                          np.broadcast_to(shift_hi, (hi.shape[0], L * K))], axis=1)
    with np.errstate(divide="ignore"):
        spw = np.where(sd > 0, 1.0 / sd, 0.0)
    width = pm.shape[1]
    pmq = np.concatenate([pm if width else np.zeros((1, ntheta)), np.zeros((pm.shape[0], L * K))],
                         axis=1)
    pwq = np.concatenate([pw if width else np.zeros((1, ntheta)),
                          np.broadcast_to(np.tile(spw, L), (pw.shape[0], L * K))], axis=1)
    m = K + steps + nb
    coef = np.empty((N, L, m))
    se, se_coef = np.empty((N, q.shape[1])), np.empty((N, L, m))
    cost, data = np.empty(N), np.empty(N)
    nit, status = np.empty(N, np.int64), np.empty(N, np.int64)
    with numba_threads(threads), numba.parallel_chunksize(CHUNK_CURVES):
        _joint_offsets.fit_batch(X, Y, V, W, q, np.ascontiguousarray(qlo),
                                 np.ascontiguousarray(qhi), K, steps, nb, ntheta,
                                 opts["max_iter"], opts["ftol"], opts["xtol"], opts["gtol"],
                                 np.ascontiguousarray(pmq), np.ascontiguousarray(pwq), coef, se,
                                 se_coef, cost, data, nit, status, opts["ridge"], clo, chi)
    return SharedFit(q[:, :ntheta], coef, se[:, :ntheta], se_coef, cost, data, nit, status, K,
                     steps, q[:, ntheta:].reshape(N, L, K), se[:, ntheta:].reshape(N, L, K))


def _coef_bounds(lower, upper, n_curves, n_channels, m):
    """The linear coefficients' bounds as (1 or N, L, m) arrays; ValueError when they do
    not broadcast or lower > upper."""
    out = []
    for b, name, none in ((lower, "coef_lower", -np.inf), (upper, "coef_upper", np.inf)):
        b = np.full(m, none) if b is None else np.asarray(b, dtype=np.float64)
        try:
            b = np.broadcast_to(b, (b.shape[0] if b.ndim == 3 else 1,) * (b.ndim == 3)
                                + (n_channels, m))
        except ValueError:
            raise ValueError(f"{name} has shape {np.shape(b)}; expected one broadcasting "
                             f"to ({n_curves}, {n_channels}, {m}) (curves, channels, "
                             "coefficients)") from None
        if b.ndim == 2:
            b = b[None]
        if b.ndim != 3 or b.shape[0] not in (1, n_curves):
            raise ValueError(f"{name} has shape {np.shape(b)}; expected one broadcasting "
                             f"to ({n_curves}, {n_channels}, {m})")
        if np.isnan(b).any():
            raise ValueError(f"{name} holds NaN; use -inf/inf for no bound")
        out.append(np.ascontiguousarray(b))
    if np.any(out[0] > out[1]):
        raise ValueError("coef_lower > coef_upper for some coefficient")
    return out


def _prior(prior, n_curves, labels):
    if prior is None:
        return np.empty((1, 0)), np.empty((1, 0))
    if not (isinstance(prior, tuple) and len(prior) == 2):
        raise ValueError("prior must be a tuple (mean, sd) of arrays over theta")
    mean = curve_rows(prior[0], n_curves, len(labels), "prior mean")
    sd = curve_rows(prior[1], n_curves, len(labels), "prior sd")
    if np.any(~(sd > 0)):
        j = int(np.argwhere(~(sd > 0))[0, 1])
        raise ValueError(f"prior sd of {labels[j]} must be > 0 (inf: no prior)")
    if np.any(~np.isfinite(mean) & np.isfinite(sd)):
        j = int(np.argwhere(~np.isfinite(mean) & np.isfinite(sd))[0, 1])
        raise ValueError(f"prior mean of {labels[j]} is not finite")
    return np.where(np.isfinite(sd), mean, 0.0), np.where(np.isfinite(sd), 1.0 / sd, 0.0)


def fit_shared(x, Y, theta0, lower=None, upper=None, *, steps=0, baseline="constant",
               channel_weights=None, weights=None, max_iter=200, ftol=1e-8, xtol=1e-8,
               gtol=1e-8, threads=None, prior=None, ridge=0.0, coef_lower=None,
               coef_upper=None, offset_sd=None):
    """Fit K mesa components (and ``steps`` tanh steps) whose timing every channel
    shares, each channel with its own amplitudes (any sign) and baseline polynomial.

    Parameters
    ----------
    x : (n,) sample positions (s) or (N, n) one row per curve.
    Y : (L, n) one curve of L channels, or (N, L, n) N curves.
    theta0 : (T,) or (N, T) start of the shared parameters, T = 4 K + 2 ``steps``
        (:func:`shared_labels`; :func:`split_shared` makes it from a usual vector).
    lower, upper : bounds on theta, (T,) or (N, T) (default: widths > 0, half-widths >= 0).
    channel_weights : (L,) or (N, L) each channel's residual weight (1/noise sd).
    weights : (n,) or (N, n) sample weights shared by the channels (0: left out).
    prior : ``(mean, sd)`` over theta, as in :func:`fit_many` (``sd = inf``: none).
    ridge : >= 0, adds ``0.5 * ridge * sum(channel_weight**2 * amplitude**2)`` over the
        components' and steps' amplitudes (not the baseline) to the cost: keeps two
        near-identical components from cancelling with huge opposite amplitudes.
    coef_lower, coef_upper : bounds on each channel's linear coefficients (the
        components' and steps' amplitudes, then the baseline's), broadcast to (N, L, m)
        (default none: -inf/inf), e.g. 0 below amplitudes that cannot be negative.
    offset_sd : None, or the prior SD (x units, >= 0) of each channel's shift of each
        component's center, scalar or (K,): channels need not show a wave at the same
        instant (0: the component is not shifted).  The shifts are fitted with theta
        (their prior N(0, sd^2), bounds +-4 sd; as for ``prior``, give
        ``channel_weights`` = 1/noise so that residuals are in noise units) and reported
        in ``offsets``; each channel then has its own basis, so L channels cost about L
        fits' basis work.

    Returns :class:`SharedFit`.  One least-squares solve of the linear coefficients for
    all channels per step (a channel whose solution leaves ``coef_lower``/``coef_upper``
    is solved again within them), LM over theta only (variable projection).
    """
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 2:
        Y = Y[None]
    if Y.ndim != 3 or 0 in Y.shape:
        raise ValueError(f"Y has shape {np.shape(Y)}; expected (channels, samples) or "
                         "(curves, channels, samples)")
    N, L, n = Y.shape
    nb = baseline_size(baseline)
    th = np.asarray(theta0, dtype=np.float64)
    ntheta = th.shape[-1] if th.ndim else 0
    if ntheta < 2 * steps or (ntheta - 2 * steps) % 4:
        raise ValueError(f"theta0 has {ntheta} entries; expected 4 per component + 2 per "
                         f"step ({steps} steps)")
    K = (ntheta - 2 * steps) // 4
    labels = shared_labels(K, steps)
    theta = np.array(np.broadcast_to(curve_rows(th, N, ntheta, "theta0"), (N, ntheta)))
    dlo, dhi = _default_bounds(K, steps)
    lo = curve_rows(dlo if lower is None else lower, N, ntheta, "lower")
    hi = curve_rows(dhi if upper is None else upper, N, ntheta, "upper")
    _check(theta, lo, hi, labels, K, steps)
    X = curve_rows(x, N, n, "x")
    W = curve_rows(np.ones(n) if weights is None else weights, N, n, "weights")
    V = curve_rows(np.ones(L) if channel_weights is None else channel_weights, N, L,
              "channel_weights")
    if np.any(~(V > 0) | ~np.isfinite(V)):
        raise ValueError("channel_weights must be finite and > 0 (1/noise sd of each "
                         "channel); leave a channel out rather than weight it 0")
    used = np.broadcast_to(W != 0, (N, n))
    bad = used[:, None, :] & ~np.isfinite(Y)
    if bad.any():
        c, ch, i = np.argwhere(bad)[0]
        raise ValueError(f"curve {c}, channel {ch}: Y[{i}] is not finite; give it weight 0")
    Y = np.ascontiguousarray(np.where(used[:, None, :], Y, 0.0))
    pm, pw = _prior(prior, N, labels)
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge={ridge!r}; give a finite value >= 0 (0: plain least squares)")
    m = K + steps + nb
    clo, chi = _coef_bounds(coef_lower, coef_upper, N, L, m)
    if offset_sd is not None and np.any(np.asarray(offset_sd, dtype=float) != 0):
        return _fit_with_offsets(X, Y, V, W, theta, lo, hi, K, int(steps), nb, pm, pw,
                                 clo, chi, offset_sd, dict(max_iter=int(max_iter),
                                 ftol=float(ftol), xtol=float(xtol), gtol=float(gtol),
                                 ridge=float(ridge)), threads)
    coef = np.empty((N, L, m))
    se, se_coef = np.empty((N, ntheta)), np.empty((N, L, m))
    cost, data = np.empty(N), np.empty(N)
    nit, status = np.empty(N, np.int64), np.empty(N, np.int64)
    with numba_threads(threads), numba.parallel_chunksize(CHUNK_CURVES):
        _joint.fit_batch(X, Y, V, W, theta, lo, hi, K, int(steps), nb, int(max_iter),
                         float(ftol), float(xtol), float(gtol), pm, pw, coef, se, se_coef,
                         cost, data, nit, status, float(ridge), clo, chi)
    return SharedFit(theta, coef, se, se_coef, cost, data, nit, status, K, int(steps))
