"""fit_shared: channels sharing their timing, fitted by variable projection."""
import numpy as np
import pytest

from gmesa import fit_many, mesa_sum
from gmesa.solvers import _joint
from gmesa.solvers.shared import fit_shared, join_shared, shared_labels, split_shared

X = np.linspace(-0.4, 0.6, 400)
# P, R, T and an ST step, constant baseline
P_TRUE = np.array([0.15, -0.17, 0.01, 0.022, 0.02, 1.2, 0.0, 0.004, 0.01, 0.012,
                   0.3, 0.27, 0.02, 0.055, 0.035, 0.05, 0.12, 0.02, 0.01])
K, M = 3, 1


def _basis(theta, w=None):
    n = X.size
    w = np.ones(n) if w is None else w
    T, m = theta.size, K + M + 1
    phi, dphi = np.empty((m, n)), np.empty((T, n))
    col = np.empty(T, np.int64)
    _joint.basis_into(X, w, theta, K, M, 1, phi, dphi, col, np.empty(n), np.empty((5, n)),
                      np.empty((3, n)), np.empty((m + T, 2), np.int64))
    return phi, dphi, col


def _state(theta, Y, v, clo=None, chi=None):
    m = K + M + 1
    ws = _joint.work(X.size, Y.shape[0], theta.size, m)
    free = np.arange(theta.size)
    e = np.empty((1, 0))[0]
    clo = np.full((len(Y), m), -np.inf) if clo is None else clo
    chi = np.full((len(Y), m), np.inf) if chi is None else chi
    cost = _joint.evaluate(X, Y, v, np.ones(X.size), theta, K, M, 1, ws, e, e, free,
                           theta.size, 0.0, clo, chi)
    return cost, ws


def _data(seed=0, leads=4, noise=0.01):
    rng = np.random.default_rng(seed)
    theta, coef = split_shared(P_TRUE, K, M)
    scales = rng.uniform(-1.5, 1.5, (leads, coef.size))
    Y = np.stack([mesa_sum(X, join_shared(theta, coef * s, K, M), steps=M) for s in scales])
    return theta, coef * scales, Y + rng.normal(0, noise, Y.shape)


def test_split_join_round_trip():
    theta, coef = split_shared(P_TRUE, K, M)
    assert theta.size == 4 * K + 2 * M and len(shared_labels(K, M)) == theta.size
    np.testing.assert_array_equal(join_shared(theta, coef, K, M), P_TRUE)


def test_basis_derivatives_match_finite_differences():
    theta = split_shared(P_TRUE, K, M)[0]
    phi, dphi, col = _basis(theta)
    for t in range(theta.size):
        h = 1e-7 * max(abs(theta[t]), 1e-3)
        up, dn = theta.copy(), theta.copy()
        up[t] += h
        dn[t] -= h
        fd = (_basis(up)[0] - _basis(dn)[0]) / (2 * h)
        np.testing.assert_allclose(dphi[t], fd[col[t]], atol=1e-5 * np.abs(fd).max() + 1e-9)
        others = np.delete(fd, col[t], axis=0)
        assert np.abs(others).max() < 1e-6


def _gradient_and_fd(theta, Y, v, clo=None, chi=None):
    """(g of the kernel, A, the reduced cost's gradient by central differences)."""
    cost, ws = _state(theta, Y, v, clo, chi)
    T = theta.size
    a, g = np.empty((T, T)), np.empty(T)
    m = K + M + 1
    _joint.normal_equations(ws[0], ws[10], ws[1], ws[2], ws[7], ws[8], ws[9], v, np.arange(T),
                            T, a, g, np.empty((T, m)), np.empty((T, m)))
    fd = np.empty(T)
    for t in range(T):
        h = 1e-6 * max(abs(theta[t]), 1e-2)
        up, dn = theta.copy(), theta.copy()
        up[t] += h
        dn[t] -= h
        fd[t] = (_state(up, Y, v, clo, chi)[0] - _state(dn, Y, v, clo, chi)[0]) / (2 * h)
    return g, a, fd, ws


def test_reduced_gradient_and_kaufman_matrix():
    """g = J^T r is the gradient of the reduced cost (finite differences); A is the
    Kaufman J^T J built explicitly (projected, per channel) in numpy."""
    theta0, _, Y = _data()
    theta = theta0 + 0.003
    v = np.array([1.0, 2.0, 0.5, 1.5])
    g, a, fd, _ = _gradient_and_fd(theta, Y, v)
    T = theta.size
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())
    phi, dphi, col = _basis(theta)
    coef = np.linalg.lstsq(phi.T, Y.T, rcond=None)[0].T
    perp = np.eye(X.size) - phi.T @ np.linalg.pinv(phi.T)
    J = np.vstack([v[l] * np.stack([coef[l, col[t]] * perp @ dphi[t] for t in range(T)], 1)
                   for l in range(len(Y))])
    np.testing.assert_allclose(a, J.T @ J, rtol=1e-6, atol=1e-9 * np.abs(a).max())


def test_one_channel_equals_single_curve_fit():
    rng = np.random.default_rng(3)
    y = mesa_sum(X, P_TRUE, steps=M) + rng.normal(0, 0.01, X.size)
    start = P_TRUE.copy()
    start[[1, 6, 11]] += [0.004, 0.002, -0.01]
    start[[3, 13]] *= 1.2
    tol = dict(ftol=1e-14, xtol=1e-14, gtol=1e-12, max_iter=500)
    single = fit_many(X, y, start, steps=M, **tol)
    joint = fit_shared(X, y[None], split_shared(start, K, M)[0], steps=M, **tol)
    assert single.success[0] and joint.success[0]
    np.testing.assert_allclose(joint.params[0, 0], single.params[0], atol=1e-6)
    np.testing.assert_allclose(joint.cost, single.cost, rtol=1e-8)
    # the standard errors of the shared parameters are the full model's
    th_se = split_shared(single.stderr[0], K, M)[0]
    np.testing.assert_allclose(joint.theta_stderr[0], th_se, rtol=1e-3)


def test_many_channels_recover_timing_and_amplitudes():
    theta, coef, Y = _data(seed=5, leads=12, noise=0.005)
    res = fit_shared(X, np.stack([Y, Y]), theta + 0.004, steps=M)
    assert np.all(res.success)
    np.testing.assert_allclose(res.theta[0], theta, atol=2e-3)
    np.testing.assert_allclose(res.coef[0], coef, atol=0.03)
    np.testing.assert_array_equal(res.theta[0], res.theta[1])


def test_ridge_keeps_coinciding_components_apart():
    """Two components with the same timing: plain least squares is singular up to the
    tiny Gram ridge, the ridge splits the amplitude evenly."""
    theta, coef, Y = _data(seed=7)
    th2 = np.concatenate([theta[:4], theta[:4], theta[4:]])
    lo = np.where(th2 > 0, 0.5 * th2, th2 - 0.05)
    hi = th2 + 0.05
    lo[:8], hi[:8] = th2[:8] - 1e-9, th2[:8] + 1e-9      # the twins stay where they are
    res = fit_shared(X, Y, th2, lo, hi, steps=M, ridge=1e-3)
    c = res.coef[0]
    np.testing.assert_allclose(c[:, 0], c[:, 1], rtol=1e-6)
    np.testing.assert_allclose(c[:, 0] + c[:, 1], coef[:, 0], atol=0.03)
    assert res.cost[0] > res.data_cost[0]
    with pytest.raises(ValueError, match="ridge"):
        fit_shared(X, Y, theta, steps=M, ridge=-1.0)


def test_prior_holds_a_parameter():
    theta, _, Y = _data(seed=2)
    sd = np.full(theta.size, np.inf)
    sd[0] = 1e-6
    mean = theta.copy()
    mean[0] += 0.01
    res = fit_shared(X, Y, theta, steps=M, prior=(mean, sd))
    assert abs(res.theta[0, 0] - mean[0]) < 1e-5
    assert res.cost[0] > res.data_cost[0]


def test_bounded_coefficients_are_the_bounded_least_squares_solution():
    """With the timing held, each channel's coefficients are the bounded least-squares
    solution (SciPy's BVLS) whether or not a bound binds."""
    from scipy.optimize import lsq_linear
    theta = split_shared(P_TRUE, K, M)[0]
    m = K + M + 1
    phi = np.stack([mesa_sum(X, join_shared(theta, np.eye(m)[j], K, M), steps=M)
                    for j in range(m)], 1)
    rng = np.random.default_rng(11)
    worst = 0.0
    for _ in range(20):
        Y = rng.normal(0, 0.3, (5, X.size))
        lo = rng.uniform(-0.5, 0.0, (5, m))
        hi = lo + rng.uniform(0.0, 0.6, (5, m))
        res = fit_shared(X, Y, theta, theta, theta, steps=M, coef_lower=lo, coef_upper=hi)
        assert np.all(res.coef[0] >= lo) and np.all(res.coef[0] <= hi)
        for ch in range(5):
            ref = lsq_linear(phi, Y[ch], bounds=(lo[ch], hi[ch]), method="bvls", tol=1e-12)
            worst = max(worst, np.abs(ref.x - res.coef[0, ch]).max())
    assert worst < 1e-8


def test_bounded_gradient_matches_finite_differences():
    """A bound that binds leaves the gradient exact (the held coefficient does not move
    with the timing), so the reduced cost's finite differences still match it."""
    theta0, coef, Y = _data(seed=4)
    theta = theta0 + 0.002
    v = np.array([1.0, 2.0, 0.5, 1.5])
    m = K + M + 1
    lo, hi = np.full((4, m), -np.inf), np.full((4, m), np.inf)
    lo[:, :K + M] = 0.0  # amplitudes >= 0: binds where the truth is negative
    assert np.any(coef[:, :K + M] < 0)
    g, _, fd, ws = _gradient_and_fd(theta, Y, v, lo, hi)
    assert np.any(ws[8][:, :K + M] == 0.0)
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())


def test_non_negative_amplitudes_are_recovered():
    """Channels whose true amplitudes are all >= 0 are fitted within coef_lower = 0 as
    without it; a channel turned upside down cannot follow, and pays for it in cost."""
    rng = np.random.default_rng(8)
    theta, coef = split_shared(P_TRUE, K, M)
    scales = rng.uniform(0.5, 1.5, (3, coef.size))
    amps = np.abs(coef) * scales
    Y = np.stack([mesa_sum(X, join_shared(theta, a, K, M), steps=M) for a in amps])
    Y = Y + rng.normal(0, 0.005, Y.shape)
    start = theta * 1.05
    lo = np.r_[np.zeros(K + M), -np.inf]
    res = fit_shared(X, Y, start, steps=M, coef_lower=lo)
    assert res.success[0]
    np.testing.assert_allclose(res.theta[0], theta, atol=2e-3)
    np.testing.assert_allclose(res.coef[0, :, :K + M], amps[:, :K + M], atol=0.02)
    free = fit_shared(X, Y, start, steps=M)
    np.testing.assert_allclose(res.cost, free.cost, rtol=1e-6)  # no bound binds
    Y[1] = -Y[1]
    flipped = fit_shared(X, Y, start, steps=M, coef_lower=lo)
    assert np.all(flipped.coef[0, :, :K + M] >= 0.0) and flipped.cost[0] > res.cost[0] * 10
    held = flipped.coef[0] == 0.0
    assert held.any() and np.all(np.isnan(flipped.coef_stderr[0][held]))
    assert np.all(np.isfinite(flipped.coef_stderr[0][~held]))
    unbounded = fit_shared(X, Y, start, steps=M)
    np.testing.assert_allclose(unbounded.coef[0, 1, :K + M], -amps[1, :K + M], atol=0.02)


def test_infinite_coefficient_bounds_change_nothing():
    theta, _, Y = _data(seed=6)
    start = theta * 1.03
    a = fit_shared(X, Y, start, steps=M)
    b = fit_shared(X, Y, start, steps=M, coef_lower=-np.inf, coef_upper=np.inf)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.cost, b.cost)


@pytest.mark.parametrize("kwargs, message", [
    (dict(coef_lower=np.ones(5), coef_upper=np.zeros(5)), "coef_lower > coef_upper"),
    (dict(coef_lower=np.zeros(3)), "coef_lower has shape (3,)"),
    (dict(coef_upper=np.full((4, 5), np.nan)), "coef_upper holds NaN"),
])
def test_bad_coefficient_bounds(kwargs, message):
    theta, _, Y = _data()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_shared(X, Y, theta, steps=M, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(theta0=np.zeros(7)), "4 per component"),
    (dict(lower=np.full(14, 1.0)), "outside its bounds"),
    (dict(channel_weights=np.array([1.0, 0.0, 1.0, 1.0])), "channel_weights"),
    (dict(Y=np.zeros(5)), "expected (channels, samples)"),
    (dict(prior=(np.zeros(14), np.zeros(14))), "prior sd"),
])
def test_bad_input_messages(kwargs, message):
    theta, _, Y = _data()
    args = dict(x=X, Y=Y, theta0=theta)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_shared(args.pop("x"), args.pop("Y"), args.pop("theta0"), steps=M, **args)


def test_non_finite_sample_is_named():
    theta, _, Y = _data()
    Y[2, 10] = np.nan
    with pytest.raises(ValueError, match="channel 2"):
        fit_shared(X, Y, theta, steps=M)
    w = np.ones(X.size)
    w[10] = 0
    assert fit_shared(X, Y, theta, steps=M, weights=w).success[0]


# --------------------------------------------------------------------------- per-channel shifts
SHIFTS = np.array([[0.008, 0.0, 0.012], [-0.006, 0.0, -0.010], [0.0, 0.0, 0.004],
                   [0.002, 0.0, -0.006]])   # s: P and T shifted per channel, R not


def _shifted_data(seed=1, noise=0.005):
    rng = np.random.default_rng(seed)
    theta, coef = split_shared(P_TRUE, K, M)
    Y = []
    for s in SHIFTS:
        th = theta.copy()
        th[0:4 * K:4] += s
        Y.append(mesa_sum(X, join_shared(th, coef * rng.uniform(0.6, 1.4, coef.size), K, M),
                          steps=M))
    return theta, np.array(Y) + rng.normal(0, noise, (len(SHIFTS), X.size))


def test_per_channel_shifts_are_recovered():
    """Channels showing P and T at different instants: the shifts relative to each other
    come back within 0.5 ms (their common part trades against theta's centers and is
    held only by the prior, which its standard error says), and the fit beats the one
    without shifts."""
    theta, Y = _shifted_data()
    v = np.full(len(Y), 1 / 0.005)                 # residuals in noise units
    plain = fit_shared(X, Y, theta, steps=M, channel_weights=v)
    res = fit_shared(X, Y, theta, steps=M, channel_weights=v, offset_sd=[0.02, 0.0, 0.02])
    assert res.success[0] and res.cost[0] < 0.5 * plain.cost[0]
    rel = res.offsets[0] - res.offsets[0].mean(axis=0)
    np.testing.assert_allclose(rel, SHIFTS - SHIFTS.mean(axis=0), atol=5e-4)
    assert np.all(res.offsets[0][:, 1] == 0.0) and np.all(np.isnan(res.offsets_stderr[0][:, 1]))
    assert np.all(res.offsets_stderr[0][:, [0, 2]] > 0.005)     # the common part
    # each channel's parameter vector carries its own centers
    np.testing.assert_allclose(res.params[0][:, 1] - res.params[0][0, 1],
                               res.offsets[0][:, 0] - res.offsets[0][0, 0])


def test_one_channel_with_shifts_is_the_plain_fit():
    """With one channel a shift is theta's center again: the prior holds it at 0 and the
    fit is the plain one."""
    theta, Y = _shifted_data()
    tol = dict(ftol=1e-14, xtol=1e-14, gtol=1e-12, max_iter=500)
    a = fit_shared(X, Y[:1], theta, steps=M, **tol)
    b = fit_shared(X, Y[:1], theta, steps=M, offset_sd=0.02, **tol)
    np.testing.assert_allclose(b.params, a.params, atol=1e-9)
    np.testing.assert_allclose(b.cost, a.cost, rtol=1e-9)
    assert np.abs(b.offsets).max() < 1e-9
    c = fit_shared(X, Y, theta, steps=M, offset_sd=0.0)       # no shifts: the shared fit
    d = fit_shared(X, Y, theta, steps=M)
    np.testing.assert_array_equal(c.params, d.params)
    assert c.offsets is None


def test_shift_gradient_and_matrix():
    """The kernel's gradient over theta and the shifts is the cost's (finite
    differences), and its matrix is the Kaufman J^T J of the shifted model built in numpy
    (a shift's column is its channel's center column, zero in the other channels)."""
    from gmesa.solvers import _joint_offsets as jo
    theta, Y = _shifted_data(seed=3)
    L, T = len(Y), theta.size
    m = K + M + 1
    q = np.concatenate([theta + 0.002, (SHIFTS * 0.5).ravel()])
    v = np.array([1.0, 2.0, 0.5, 1.5])
    pm, pw = np.zeros(q.size), np.zeros(q.size)
    clo, chi = np.full((L, m), -np.inf), np.full((L, m), np.inf)
    free = np.arange(q.size)
    free = free[(free < T) | (((free - T) % K) != 1)]      # R is not shifted
    nf = free.size

    def cost_at(qq):
        ws = jo.work(X.size, L, T, m)
        return jo.evaluate(X, Y, v, np.ones(X.size), qq, K, M, 1, ws, pm, pw, free, nf, 0.0,
                           clo, chi), ws

    c0, ws = cost_at(q)
    a, g = np.empty((nf, nf)), np.empty(nf)
    jo.normal_equations_all(ws, v, q, K, free, nf, np.empty((q.size, q.size)),
                            np.empty(q.size), np.empty((T, T)), np.empty(T),
                            np.empty((T, m)), np.empty((T, m)), np.arange(T), a, g, pm, pw)
    fd = np.empty(nf)
    for i, j in enumerate(free):
        h = 1e-6 * max(abs(q[j]), 1e-2)
        up, dn = q.copy(), q.copy()
        up[j] += h
        dn[j] -= h
        fd[i] = (cost_at(up)[0] - cost_at(dn)[0]) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())
    phi, dphi, col, coef = ws[0], ws[1], ws[2], ws[8]
    J = np.zeros((L * X.size, q.size))
    for ch in range(L):
        perp = np.eye(X.size) - phi[ch].T @ np.linalg.pinv(phi[ch].T)
        rows = slice(ch * X.size, (ch + 1) * X.size)
        for t in range(T):
            J[rows, t] = v[ch] * coef[ch, col[t]] * perp @ dphi[ch, t]
        for c in range(K):
            J[rows, T + ch * K + c] = J[rows, 4 * c]
    full = (J.T @ J)[np.ix_(free, free)]
    np.testing.assert_allclose(a, full, rtol=1e-6, atol=1e-9 * np.abs(full).max())


def test_bad_offset_sd():
    theta, Y = _shifted_data()
    for bad in (-0.01, np.nan, [0.01, 0.02]):
        with pytest.raises(ValueError, match="offset_sd"):
            fit_shared(X, Y, theta, steps=M, offset_sd=bad)


def test_many_curves_take_their_own_bounds_and_shifts():
    """N curves in one call: per-curve coefficient bounds (N, L, m) and shifts give each
    curve what it gives alone."""
    theta, Y1 = _shifted_data(seed=5)
    _, Y2 = _shifted_data(seed=6)
    Y = np.stack([Y1, Y2])
    m = K + M + 1
    lo = np.full((2, len(Y1), m), -np.inf)
    lo[1, :, :K + M] = 0.0                        # the second curve's amplitudes >= 0
    v = np.full(len(Y1), 200.0)
    both = fit_shared(X, Y, theta, steps=M, channel_weights=v, coef_lower=lo,
                      offset_sd=[0.02, 0.0, 0.02])
    for c in range(2):
        alone = fit_shared(X, Y[c], theta, steps=M, channel_weights=v, coef_lower=lo[c],
                           offset_sd=[0.02, 0.0, 0.02])
        np.testing.assert_allclose(both.params[c], alone.params[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(both.offsets[c], alone.offsets[0], atol=1e-12)
    assert np.all(both.coef[1, :, :K + M] >= 0.0)
