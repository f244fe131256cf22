"""Numeric checks of the seed identities in gmesa.theory (and the GMF properties in docs/theory.md)."""
from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from gmesa import lineshapes as ls
from gmesa import theory as th

TOL = 1e-12
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
width = st.floats(1e-3, 1e3)
FAST = settings(max_examples=60, deadline=None)


def random_gmf_params(rng):
    """amplitude, center, half_width >= 0, sigma_left, sigma_right."""
    return (rng.uniform(-2, 2), rng.uniform(-1, 1), rng.uniform(0, 0.5),
            rng.uniform(0.05, 1), rng.uniform(0.05, 1))


def random_spd(rng, d, lam_lo=0.3, lam_hi=5.0):
    """cov = Q diag(lam) Q^T with known eigenpairs (eigenvalues distinct, ascending)."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.sort(rng.uniform(lam_lo, lam_hi, d))
    return q @ np.diag(lam) @ q.T, q, lam


# --------------------------------------------------------------------------- |z| and the mesa distance

@FAST
@given(finite)
def test_abs_via_relu_hypothesis(z):
    assert th.abs_via_relu(z) == abs(z)


def test_abs_via_relu_array():
    z = np.random.default_rng(0).normal(scale=10, size=1000)
    npt.assert_array_equal(th.abs_via_relu(z), np.abs(z))
    npt.assert_array_equal(th.abs_via_relu([-0.0, 0.0]), [0.0, 0.0])


def test_mesa_parts_disjoint_and_l1_equals_l2():
    rng = np.random.default_rng(1)
    for _ in range(20):
        _, mu, delta, sl, sr = random_gmf_params(rng)
        x = np.concatenate([rng.uniform(-4, 4, 500), [mu - delta, mu + delta, mu]])
        parts = th.mesa_parts(x, mu, delta, sl, sr)
        assert parts.shape == (x.size, 2)
        assert np.all(parts >= 0)
        assert not np.any((parts[:, 0] > 0) & (parts[:, 1] > 0))   # disjoint supports
        l1 = th.mesa_distance_l1(x, mu, delta, sl, sr)
        l2 = th.mesa_distance_l2(x, mu, delta, sl, sr)
        npt.assert_allclose(l1, l2, rtol=TOL, atol=0)
        npt.assert_allclose(l1, ls.mesa_distance(x, mu, delta, sl, sr), rtol=TOL, atol=0)
        # the regions: right tail, plateau, left tail
        right, left = x > mu + delta, x < mu - delta
        npt.assert_allclose(l1[right], (x[right] - mu - delta) / sr, rtol=TOL)
        npt.assert_allclose(l1[left], (mu - delta - x[left]) / sl, rtol=TOL)
        npt.assert_allclose(l1[~right & ~left], 0.0, atol=TOL)   # edges: rounding only


@FAST
@given(finite, st.floats(-10, 10), st.floats(0, 10), width, width)
def test_l1_equals_l2_hypothesis(x, mu, delta, sl, sr):
    l1 = th.mesa_distance_l1(x, mu, delta, sl, sr)
    npt.assert_allclose(l1, th.mesa_distance_l2(x, mu, delta, sl, sr), rtol=TOL, atol=0)
    npt.assert_allclose(l1, ls.mesa_distance(x, mu, delta, sl, sr), rtol=TOL, atol=0)


def test_l1_differs_from_l2_when_half_width_negative():
    """The L1 = L2 identity needs half_width >= 0: with delta < 0 the supports overlap."""
    x = np.linspace(-0.4, 0.4, 9)           # inside (mu + delta, mu - delta)
    l1 = th.mesa_distance_l1(x, 0.0, -0.5, 0.3, 0.7)
    l2 = th.mesa_distance_l2(x, 0.0, -0.5, 0.3, 0.7)
    assert np.all(l1 - l2 > 0.1)


# --------------------------------------------------------------------------- the GMF itself

def test_gmf_equals_piecewise():
    rng = np.random.default_rng(2)
    for _ in range(20):
        a, mu, delta, sl, sr = random_gmf_params(rng)
        x = np.concatenate([rng.uniform(-4, 4, 500), [mu - delta, mu + delta, mu]])
        npt.assert_allclose(ls.gmf(x, a, mu, delta, sl, sr),
                            ls.gmf_piecewise(x, a, mu, delta, sl, sr), rtol=TOL, atol=TOL)


def test_gmf_tail_widths_are_on_the_named_sides():
    """sigma_left is the width of the tail for x < center - half_width."""
    a, mu, delta, sl, sr = 1.0, 0.0, 0.2, 0.1, 0.5
    left_point, right_point = mu - delta - sl, mu + delta + sr
    npt.assert_allclose(ls.gmf(left_point, a, mu, delta, sl, sr), np.exp(-0.5), rtol=TOL)
    npt.assert_allclose(ls.gmf(right_point, a, mu, delta, sl, sr), np.exp(-0.5), rtol=TOL)


def test_gmf_with_zero_half_width_is_gaussian():
    rng = np.random.default_rng(3)
    x = rng.uniform(-5, 5, 1000)
    for _ in range(10):
        a, mu, sigma = rng.uniform(-2, 2), rng.uniform(-1, 1), rng.uniform(0.05, 2)
        expected = a * np.exp(-(x - mu) ** 2 / (2 * sigma ** 2))
        npt.assert_allclose(ls.gmf(x, a, mu, 0.0, sigma, sigma), expected, rtol=TOL, atol=TOL)
        npt.assert_allclose(ls.gaussian(x, a, mu, sigma), expected, rtol=TOL, atol=TOL)


def test_gmf_first_derivative_continuous_second_jumps():
    """At x = mu + delta: value A, slope 0 on both sides, curvature 0 (plateau) vs -A/s_r**2 (tail)."""
    a, mu, delta, sl, sr = 1.3, 0.1, 0.25, 0.2, 0.4
    for edge, s, side in ((mu + delta, sr, 1.0), (mu - delta, sl, -1.0)):
        for h in (1e-3, 1e-4):
            inside = ls.gmf(edge - side * h, a, mu, delta, sl, sr)
            outside = ls.gmf(edge + side * h, a, mu, delta, sl, sr)
            assert inside == a                                     # plateau: flat
            # second-order contact: (G - A) / h**2 -> -A / (2 s**2), so slope -> 0
            npt.assert_allclose((outside - a) / h ** 2, -a / (2 * s ** 2), rtol=1e-5)


def test_gmf_parameter_derivatives_vanish_at_edges_and_on_plateau():
    a, mu, delta, sl, sr = 0.9, 0.0, 0.3, 0.15, 0.35
    eps = 1e-9
    x = np.array([mu - delta - eps, mu - delta, mu - delta + eps, mu,
                  mu + delta - eps, mu + delta, mu + delta + eps])
    jac = ls.gmf_jacobian(x, a, mu, delta, sl, sr)
    npt.assert_allclose(jac[:, 0], 1.0, atol=1e-12)                # d/dA = exp(-D^2/2) = 1
    npt.assert_allclose(jac[:, 1:], 0.0, atol=1e-7)                # all others -> 0 at the walls
    plateau = np.linspace(mu - delta, mu + delta, 11)[1:-1]
    npt.assert_array_equal(ls.gmf_jacobian(plateau, a, mu, delta, sl, sr)[:, 1:], 0.0)
    # on the tails the walls feel a force: d/dcenter and d/dhalf_width are non-zero
    tails = np.array([mu - delta - sl, mu + delta + sr])
    jt = ls.gmf_jacobian(tails, a, mu, delta, sl, sr)
    assert np.all(np.abs(jt[:, 1]) > 0.1) and np.all(jt[:, 2] > 0.1)


def test_gmf_second_parameter_derivatives_jump_at_edge():
    """d2G/dcenter2 jumps 0 -> -A/s_r**2 across x = mu + delta; d2G/dsigma_right2 does not."""
    a, mu, delta, sl, sr = 0.8, 0.0, 0.3, 0.2, 0.25
    h = 1e-7

    def d_dparam(x, col, k):
        up, dn = np.array([a, mu, delta, sl, sr]), np.array([a, mu, delta, sl, sr])
        up[k] += h
        dn[k] -= h
        return (ls.gmf_jacobian(x, *up)[..., col] - ls.gmf_jacobian(x, *dn)[..., col]) / (2 * h)

    eps = 1e-4
    plateau_side, tail_side = mu + delta - eps, mu + delta + eps
    assert d_dparam(plateau_side, 1, 1) == 0.0
    npt.assert_allclose(d_dparam(tail_side, 1, 1), -a / sr ** 2, rtol=1e-3)
    npt.assert_allclose(d_dparam(tail_side, 2, 2), -a / sr ** 2, rtol=1e-3)
    assert abs(d_dparam(tail_side, 4, 4)) < 1e-3 * a / sr ** 2
    assert abs(d_dparam(tail_side, 1, 4)) < 1e-2 * a / sr ** 2


def test_gmf_jacobian_matches_finite_differences():
    rng = np.random.default_rng(4)
    p = np.array([1.1, 0.05, 0.2, 0.12, 0.3])
    x = rng.uniform(-1.5, 1.5, 200)
    x = x[np.min(np.abs(x[:, None] - [p[1] - p[2], p[1] + p[2]]), axis=1) > 1e-3]
    jac = ls.gmf_jacobian(x, *p)
    for k in range(5):
        h = 1e-6 * max(1.0, abs(p[k]))
        up, dn = p.copy(), p.copy()
        up[k] += h
        dn[k] -= h
        fd = (ls.gmf(x, *up) - ls.gmf(x, *dn)) / (2 * h)
        npt.assert_allclose(jac[:, k], fd, atol=1e-7)


def test_smooth_gmf_converges_with_bound():
    """|smooth_gmf - gmf| <= |A| exp(-1/2) log(2)/k (1/sigma_left + 1/sigma_right)."""
    a, mu, delta, sl, sr = 1.5, 0.0, 0.1, 0.05, 0.12
    x = np.linspace(-1, 1, 4001)
    errors = []
    for k in (10.0, 100.0, 1000.0, 10000.0):
        err = np.max(np.abs(ls.smooth_gmf(x, a, mu, delta, sl, sr, k) - ls.gmf(x, a, mu, delta, sl, sr)))
        assert err <= abs(a) * np.exp(-0.5) * np.log(2) / k * (1 / sl + 1 / sr)
        errors.append(err)
    assert all(e2 < e1 / 5 for e1, e2 in zip(errors, errors[1:]))   # ~1/k convergence
    assert errors[-1] < 1e-3


# --------------------------------------------------------------------------- signed Gaussian -> tanh

def test_responsibilities_match_gaussian_pdfs():
    rng = np.random.default_rng(5)
    z = rng.uniform(-5, 5, 1000)
    for m, sigma in ((1.0, 1.0), (0.3, 0.7), (2.0, 1.5)):
        r_plus, r_minus = th.signed_gaussian_responsibilities(z, m, sigma)
        p_plus, p_minus = norm.pdf(z, m, sigma), norm.pdf(z, -m, sigma)
        npt.assert_allclose(r_plus, p_plus / (p_plus + p_minus), rtol=1e-12, atol=1e-14)
        npt.assert_allclose(r_minus, p_minus / (p_plus + p_minus), rtol=1e-12, atol=1e-14)
        npt.assert_allclose(r_plus + r_minus, 1.0, rtol=TOL)


@pytest.mark.parametrize("m, sigma", [(1.0, 1.0), (0.01, 1.0), (2.0, 0.5), (0.5, 3.0)])
def test_posterior_mean_is_tanh(m, sigma):
    rng = np.random.default_rng(6)
    z = np.concatenate([rng.uniform(-1e3, 1e3, 2000), rng.normal(size=500),
                        [-1e3, -500.0, 0.0, 500.0, 1e3]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        mean = th.signed_gaussian_posterior_mean(z, m, sigma)
    assert np.all(np.isfinite(mean))
    npt.assert_allclose(mean, np.tanh(m * z / sigma ** 2), rtol=TOL, atol=TOL)
    assert th.signed_gaussian_posterior_mean(1e3, m, sigma) == pytest.approx(np.tanh(1e3 * m / sigma ** 2), abs=TOL)


@FAST
@given(st.floats(-1e3, 1e3), st.floats(1e-3, 10), st.floats(1e-2, 10))
def test_posterior_mean_is_tanh_hypothesis(z, m, sigma):
    mean = th.signed_gaussian_posterior_mean(z, m, sigma)
    assert abs(mean - np.tanh(m * z / sigma ** 2)) <= TOL


def test_tanh_step_is_scaled_posterior_mean():
    """A tanh((x-c)/scale) = A E[s | z = x - c] with m / sigma**2 = 1 / scale."""
    x = np.linspace(-2, 2, 801)
    a, c, scale, sigma = -0.7, 0.3, 0.05, 0.4
    m = sigma ** 2 / scale
    npt.assert_allclose(ls.tanh_step(x, a, c, scale),
                        a * th.signed_gaussian_posterior_mean(x - c, m, sigma), rtol=TOL, atol=TOL)
    # a level shift from -A to +A: the step height is 2A
    npt.assert_allclose(ls.tanh_step([-2.0, 2.0], a, c, scale), [-a, a], rtol=TOL)


# --------------------------------------------------------------------------- sigmoid <-> tanh basis

def test_sigmoid_tanh_models_agree():
    rng = np.random.default_rng(7)
    x = np.linspace(-8, 8, 1001)
    for n_basis in (1, 4, 9):
        w0, w = rng.normal(), rng.normal(size=n_basis)
        mu, s = np.sort(rng.uniform(-3, 3, n_basis)), rng.uniform(0.2, 2)
        u0, u, scale = th.sigmoid_to_tanh_basis(w0, w, s)
        npt.assert_allclose(u, w / 2, rtol=TOL)
        npt.assert_allclose(u0, w0 + np.sum(w) / 2, rtol=TOL)
        assert scale == pytest.approx(2 * s, rel=TOL)
        npt.assert_allclose(th.tanh_basis_model(x, u0, u, mu, scale),
                            th.sigmoid_basis_model(x, w0, w, mu, s), rtol=TOL, atol=TOL)
        # and the reverse direction from a random tanh model
        v0, v, vscale = rng.normal(), rng.normal(size=n_basis), rng.uniform(0.2, 2)
        b0, b, bs = th.tanh_to_sigmoid_basis(v0, v, vscale)
        npt.assert_allclose(th.sigmoid_basis_model(x, b0, b, mu, bs),
                            th.tanh_basis_model(x, v0, v, mu, vscale), rtol=TOL, atol=TOL)


def test_sigmoid_model_against_explicit_formula():
    """Guard against both models sharing a bug: check one against a direct loop."""
    x = np.linspace(-4, 4, 101)
    w0, w, mu, s = 0.2, np.array([1.0, -0.5, 2.0]), np.array([-1.0, 0.0, 1.5]), 0.6
    expected = w0 + sum(wj / (1 + np.exp(-(x - mj) / s)) for wj, mj in zip(w, mu))
    npt.assert_allclose(th.sigmoid_basis_model(x, w0, w, mu, s), expected, rtol=TOL, atol=TOL)
    expected_t = w0 + sum(wj * np.tanh((x - mj) / s) for wj, mj in zip(w, mu))
    npt.assert_allclose(th.tanh_basis_model(x, w0, w, mu, s), expected_t, rtol=TOL, atol=TOL)


@FAST
@given(st.floats(-100, 100), st.lists(st.floats(-100, 100, allow_subnormal=False), min_size=1,
                                       max_size=6),
       st.floats(1e-3, 1e3))
def test_basis_round_trip(w0, w, s):
    u0, u, scale = th.sigmoid_to_tanh_basis(w0, w, s)
    b0, b, bs = th.tanh_to_sigmoid_basis(u0, u, scale)
    npt.assert_allclose(b, w, rtol=TOL, atol=0)
    assert bs == pytest.approx(s, rel=TOL)
    assert b0 == pytest.approx(w0, rel=TOL, abs=TOL * (1 + np.sum(np.abs(w))))


def test_tanh_step_as_sigmoid_step_plus_constant():
    """A tanh((x-c)/scale) = 2A sigmoid(2(x-c)/scale) - A: the constant goes to the baseline."""
    x = np.linspace(-1, 1, 401)
    a, c, scale = 0.4, -0.1, 0.08
    w0, w, s = th.tanh_to_sigmoid_basis(0.0, [a], scale)
    npt.assert_allclose([w0, w[0], s], [-a, 2 * a, scale / 2], rtol=TOL)
    npt.assert_allclose(th.sigmoid_basis_model(x, w0, w, [c], s), ls.tanh_step(x, a, c, scale),
                        rtol=TOL, atol=TOL)


# --------------------------------------------------------------------------- Abs/ReLU node = Mahalanobis

@pytest.mark.parametrize("d", [1, 2, 3, 6])
def test_whitening_layer_gives_mahalanobis(d):
    rng = np.random.default_rng(10 + d)
    cov, q, lam = random_spd(rng, d)
    mean = rng.normal(size=d)
    x = mean + rng.normal(scale=2, size=(300, d))
    W, b = th.whitening_layer(mean, cov)
    npt.assert_allclose(W @ cov @ W.T, np.eye(d), atol=TOL)
    npt.assert_allclose(b, -W @ mean, rtol=TOL, atol=TOL)
    dist = th.mahalanobis(x, mean, cov)
    npt.assert_allclose(dist, np.sqrt(np.einsum("ij,jk,ik->i", x - mean, np.linalg.inv(cov), x - mean)),
                        rtol=1e-10)
    npt.assert_allclose(np.linalg.norm(th.abs_layer(x, W, b), axis=-1), dist, rtol=TOL)
    # a single point (d,) works as well
    assert th.mahalanobis(x[0], mean, cov) == pytest.approx(dist[0], rel=TOL)
    npt.assert_allclose(th.abs_layer(x[0], W, b), th.abs_layer(x, W, b)[0], rtol=TOL)
    # each node: distance along one principal component, |q_i^T (x - mu)| / sqrt(lambda_i)
    per_pc = np.abs((x - mean) @ q) / np.sqrt(lam)
    npt.assert_allclose(th.abs_layer(x, W, b), per_pc, rtol=1e-10, atol=TOL)
    # the rows of W are the principal directions up to sign, scaled by 1/sqrt(lambda)
    npt.assert_allclose(np.abs(W * np.sqrt(lam)[:, None]), np.abs(q.T), atol=1e-10)


def test_mahalanobis_known_value():
    cov = np.array([[4.0, 0.0], [0.0, 0.25]])
    assert th.mahalanobis([2.0, 0.5], [0.0, 0.0], cov) == pytest.approx(np.sqrt(2.0), rel=TOL)
    assert th.mahalanobis([1.0, 1.0], [1.0, 1.0], cov) == 0.0


def test_relu_form_of_the_distance_node():
    rng = np.random.default_rng(20)
    d = 3
    cov, _, _ = random_spd(rng, d)
    mean = rng.normal(size=d)
    W, b = th.whitening_layer(mean, cov)
    x = mean + rng.normal(scale=2, size=(2000, d))
    z = x @ W.T + b
    # the pair (W, b), (-W, -b) of ReLU nodes recovers the Abs node exactly
    npt.assert_array_equal(th.relu_layer(x, W, b, 0.0) + th.relu_layer(x, -W, -b, 0.0),
                           th.abs_layer(x, W, b))
    margin = 1.5
    y = th.relu_layer(x, W, b, margin)
    npt.assert_array_equal(y, np.maximum(0.0, margin - z))
    inside = np.abs(z) <= margin
    assert inside.sum() > 1000 and (~inside).sum() > 100
    npt.assert_allclose(y[inside], margin - z[inside], rtol=TOL, atol=TOL)   # affine, 0..2 margin
    assert np.all((y[inside] >= 0) & (y[inside] <= 2 * margin))
    npt.assert_allclose(np.abs(y[inside] - margin), th.abs_layer(x, W, b)[inside], atol=TOL)
    npt.assert_array_equal(y[z >= margin], 0.0)
    npt.assert_allclose(y[z <= -margin], margin - z[z <= -margin], rtol=TOL)   # keeps growing


def test_random_rotation_is_special_orthogonal():
    for d in (2, 3, 5):
        for seed in range(5):
            r = th.random_rotation(d, np.random.default_rng(seed))
            npt.assert_allclose(r @ r.T, np.eye(d), atol=TOL)
            assert np.linalg.det(r) == pytest.approx(1.0, abs=TOL)


def test_rotated_whitening_still_whitens_but_is_not_pca():
    rng = np.random.default_rng(30)
    d = 4
    cov, q, lam = random_spd(rng, d)
    mean = rng.normal(size=d)
    x = mean + rng.normal(size=(300, d))
    W, _ = th.whitening_layer(mean, cov)
    R = th.random_rotation(d, rng)
    RW = th.rotated_whitening(W, R)
    npt.assert_allclose(RW, R @ W, rtol=TOL)
    npt.assert_allclose(RW @ cov @ RW.T, np.eye(d), atol=TOL)
    dist = th.mahalanobis(x, mean, cov)
    npt.assert_allclose(np.linalg.norm(th.abs_layer(x, RW, -RW @ mean), axis=-1), dist, rtol=TOL)
    # every rotated node still measures a unit-variance direction ...
    npt.assert_allclose(np.einsum("ij,jk,ik->i", RW, cov, RW), 1.0, rtol=TOL)
    # ... but the layer differs from PCA: rows are not eigenvectors, nor mutually orthogonal
    assert np.max(np.abs(RW - W)) > 0.1
    for row in RW:
        v = row / np.linalg.norm(row)
        assert np.linalg.norm(cov @ v - (v @ cov @ v) * v) > 1e-3
    gram = RW @ RW.T
    assert np.max(np.abs(gram - np.diag(np.diag(gram)))) > 1e-3
    # and its nodes are not the per-principal-component distances
    assert np.max(np.abs(th.abs_layer(x, RW, -RW @ mean) - np.abs((x - mean) @ q) / np.sqrt(lam))) > 0.1


def test_identity_rotation_changes_nothing():
    rng = np.random.default_rng(31)
    cov, _, _ = random_spd(rng, 3)
    W, _ = th.whitening_layer(np.zeros(3), cov)
    npt.assert_array_equal(th.rotated_whitening(W, np.eye(3)), W)


# --------------------------------------------------------------------------- the theory figure

def test_construction_figure_smoke():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from gmesa import plot

    fig = plot.construction()
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert all(ax.get_title() for ax in fig.axes)
    other = Figure()
    axes = other.subplots(1, 3)
    assert plot.construction(axes) is axes
    assert all(ax.lines for ax in axes)
    assert set(plot.WAVE_COLORS) >= {"P", "Q", "R", "S", "T", "ST", "baseline"}
