"""Gaussian priors (issue 17, item 1): the MAP fit in fit_many, fit_least_squares and
MesaSumModel.

With ``prior = (mean, sd)`` every engine minimises
``0.5 * (sum (w * (model - y))**2 + sum over free parameters ((p - mean)/sd)**2)``: least
squares with one extra residual row ``(p - mean)/sd`` (Jacobian row ``1/sd``) per free
parameter with a finite sd.  Standard errors are ``sqrt(diag(inv(J_aug^T J_aug)) * s2)``,
``s2 = 2 cost / (n_samples + n_prior_rows - n_free)`` (lmfit's ``redchi`` with the rows
appended).

Tolerances: the engines agree to 1e-6 relative (tight ftol/xtol/gtol, well-posed problem,
as in test_solvers.py); a parameter the data do not see returns its prior mean to 1e-8
(pure quadratic in that direction: one LM step lands on it); a 1e6-times-wider-than-scale
prior moves a well-posed fit by (se/sd)**2 ~ 1e-15, so 1e-6 is loose.
"""
from __future__ import annotations

import numpy as np
import pytest

import gmesa
from gmesa.models import MesaSumModel
from gmesa.solvers import fit_least_squares, fit_many

from problems import NAMES3, NOISE3, P3, TIGHT, X3  # noqa: E402
#: weights 1/noise sd: residuals in noise units, so ``sd`` is a posterior-style prior sd
#: (data and prior comparable; with unit weights a prior is 1/NOISE3**2 times stronger)
WTS = np.full(X3.size, 1 / NOISE3)
#: a typical size of each parameter (amplitudes ~1, times ~0.05)
SCALE3 = np.where(np.arange(P3.size) % 5 == 0, 1.0, 0.05)
SCALE3[1::5] = 0.05
SCALE3[-1] = 1.0


def noisy(p=P3, n=1, seed=3):
    rng = np.random.default_rng(seed)
    return gmesa.mesa_sum(X3, p) + rng.normal(0.0, NOISE3, (n, X3.size))


def start(p=P3, seed=3, spread=0.05):
    rng = np.random.default_rng(seed + 1000)
    return p * (1 + spread * rng.uniform(-1, 1, p.size))


def informative(seed=7):
    """A prior that pulls measurably: mean off the truth by ~2 sd, sd ~ the stderr."""
    rng = np.random.default_rng(seed)
    sd = 0.02 * SCALE3
    return P3 + 2 * sd * rng.uniform(-1, 1, P3.size), sd


def model_params(model, vector):
    return model.params_from_vector(vector)


def lmfit_fit(y, p0, prior, method="least_squares", **kw):
    model = MesaSumModel(names=NAMES3)
    labels = model.layout.labels
    pri = {labels[j]: (prior[0][j], prior[1][j]) for j in range(len(labels))
           if np.isfinite(prior[1][j])} if prior is not None else None
    fit = model.fit(y, model_params(model, p0), x=X3, method=method, prior=pri,
                    weights=WTS, fit_kws=dict(TIGHT), max_nfev=5000, **kw)
    assert fit.success
    value = np.array([fit.params[n].value for n in labels])
    stderr = np.array([fit.params[n].stderr for n in labels], dtype=float)
    return value, stderr, 0.5 * fit.chisqr, fit


def map_residual(params, y, prior, free=None):
    """The MAP residual of the docs: data rows, then (p - mean)/sd per free prior row."""
    mean, sd = prior
    free = np.ones(params.size, bool) if free is None else free
    rows = free & np.isfinite(sd)
    return np.concatenate([WTS * (gmesa.mesa_sum(X3, params) - y), ((params - mean) / sd)[rows]])


def map_jacobian(params, prior, free=None):
    mean, sd = prior
    free = np.ones(params.size, bool) if free is None else free
    rows = free & np.isfinite(sd)
    J = WTS[:, None] * gmesa.mesa_sum_jacobian(X3, params)[:, free]
    extra = np.diag(1.0 / np.where(np.isfinite(sd), sd, 1.0))[rows][:, free]
    return np.vstack([J, extra])


def documented_stderr(params, y, prior):
    J = map_jacobian(params, prior)
    r = map_residual(params, y, prior)
    s2 = r @ r / (r.size - params.size)
    return np.sqrt(np.diag(np.linalg.inv(J.T @ J)) * s2)


# --------------------------------------------------------------------------- (a)

def test_unidentifiable_parameters_return_their_prior_mean():
    """A fourth component with amplitude fixed at 0: its centre and widths have no effect
    on the model, so the MAP puts them at their prior means (all engines)."""
    ghost = np.array([0.0, 0.6, 0.01, 0.02, 0.03])
    p_true = np.concatenate([P3[:15], ghost, P3[15:]])
    y = gmesa.mesa_sum(X3, p_true) + np.random.default_rng(1).normal(0, NOISE3, X3.size)
    p0 = np.concatenate([start()[:15], [0.0, 0.4, 0.02, 0.05, 0.05], start()[15:]])
    lo, hi = np.full(21, -np.inf), np.full(21, np.inf)
    lo[[2, 7, 12, 17]] = 0.0
    lo[[3, 4, 8, 9, 13, 14, 18, 19]] = 1e-9
    lo[15] = hi[15] = 0.0
    mean = np.full(21, 0.0)
    sd = np.full(21, np.inf)
    mean[16:20] = [0.55, 0.015, 0.025, 0.035]
    sd[16:20] = [0.1, 0.01, 0.01, 0.01]
    r = fit_many(X3, y, p0, lo, hi, weights=WTS, prior=(mean, sd), **TIGHT)
    assert r.status[0] > 0
    np.testing.assert_allclose(r.params[0, 16:20], mean[16:20], rtol=1e-8)
    # their standard error is the prior's sd times sqrt(s2) (no data information)
    s2 = 2 * r.cost[0] / (X3.size + 4 - 20)
    np.testing.assert_allclose(r.stderr[0, 16:20], sd[16:20] * np.sqrt(s2), rtol=1e-6)
    assert r.prior_cost[0] < 1e-12
    s = fit_least_squares(X3, y, p0, lo, hi, weights=WTS, prior=(mean, sd), **TIGHT)
    np.testing.assert_allclose(s.params[16:20], mean[16:20], rtol=1e-8)
    model = MesaSumModel(names=("P", "R", "T", "G"))
    pars = model.params_from_vector(p0)
    pars["G_amplitude"].set(vary=False)
    for name, j in (("G_center", 16), ("G_half_width", 17), ("G_sigma_left", 18),
                    ("G_sigma_right", 19)):
        model.set_prior(name, mean[j], sd[j])
    f = model.fit(y, pars, x=X3, method="least_squares", weights=WTS, fit_kws=dict(TIGHT))
    got = [f.params[n].value for n in ("G_center", "G_half_width", "G_sigma_left",
                                       "G_sigma_right")]
    np.testing.assert_allclose(got, mean[16:20], rtol=1e-6)


# --------------------------------------------------------------------------- (b)

@pytest.mark.parametrize("engine", ["fit_many", "fit_least_squares", "lmfit"])
def test_a_weak_prior_leaves_a_well_posed_fit_unchanged(engine):
    y = noisy()[0]
    p0 = start()
    weak = (P3 * 1.3 + 0.1, 1e6 * SCALE3)
    if engine == "fit_many":
        a = fit_many(X3, y, p0, weights=WTS, **TIGHT).params[0]
        b = fit_many(X3, y, p0, weights=WTS, prior=weak, **TIGHT).params[0]
    elif engine == "fit_least_squares":
        a = fit_least_squares(X3, y, p0, weights=WTS, **TIGHT).params
        b = fit_least_squares(X3, y, p0, weights=WTS, prior=weak, **TIGHT).params
    else:
        a = lmfit_fit(y, p0, None)[0]
        b = lmfit_fit(y, p0, weak)[0]
    np.testing.assert_allclose(b, a, rtol=1e-6)


def test_no_prior_and_all_infinite_sd_are_bit_identical():
    Y = noisy(n=3)
    p0 = start()
    a = fit_many(X3, Y, p0, weights=WTS)
    b = fit_many(X3, Y, p0, weights=WTS, prior=(np.zeros(16), np.full(16, np.inf)))
    for name in ("params", "stderr", "cost", "nit", "status"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert np.all(a.prior_cost == 0) and np.all(a.data_cost == a.cost)


# --------------------------------------------------------------------------- (c)

def test_the_engines_reach_the_same_map():
    prior = informative()
    for seed in (3, 4):
        y = noisy(seed=seed)[0]
        p0 = start(seed=seed)
        r = fit_many(X3, y, p0, weights=WTS, prior=prior, max_iter=1000, **TIGHT)
        assert r.status[0] > 0
        ref, ref_se, ref_cost = r.params[0], r.stderr[0], r.cost[0]
        plain = fit_many(X3, y, p0, weights=WTS, **TIGHT).params[0]
        assert np.abs(ref - plain).max() > 1e-4      # the prior does pull
        s = fit_least_squares(X3, y, p0, weights=WTS, prior=prior, max_nfev=5000, **TIGHT)
        out = {"fit_least_squares": (s.params, s.stderr, s.cost)}
        for method in ("leastsq", "least_squares"):
            out[method] = lmfit_fit(y, p0, prior, method=method)[:3]
        for name, (value, se, cost) in out.items():
            rel = np.abs(value - ref) / np.abs(ref)
            assert rel.max() < 1e-6, f"seed {seed}: {name} differs by {rel.max():.2e}"
            assert abs(cost - ref_cost) <= 1e-9 * ref_cost, (name, cost, ref_cost)
            assert np.all(np.abs(se / ref_se - 1) < 1e-5), (name, se / ref_se)   # seen: 5e-8
        np.testing.assert_allclose(s.stderr, ref_se, rtol=1e-5)
        np.testing.assert_allclose(s.prior_cost, r.prior_cost[0], rtol=1e-8)


def test_per_curve_priors_equal_separate_fits():
    Y = noisy(n=3)
    p0 = start()
    rng = np.random.default_rng(11)
    mean = P3 + 0.01 * SCALE3 * rng.normal(size=(3, P3.size))
    sd = 0.02 * SCALE3 * (1 + rng.uniform(size=(3, P3.size)))
    sd[1, :5] = np.inf
    batch = fit_many(X3, Y, p0, weights=WTS, prior=(mean, sd), **TIGHT)
    for i in range(3):
        one = fit_many(X3, Y[i], p0, weights=WTS, prior=(mean[i], sd[i]), **TIGHT)
        np.testing.assert_array_equal(batch.params[i], one.params[0])
        np.testing.assert_array_equal(batch.cost[i], one.cost[0])
    # a shared mean with per-curve sd broadcasts
    shared = fit_many(X3, Y, p0, weights=WTS, prior=(mean[0], sd), **TIGHT)
    one = fit_many(X3, Y[2], p0, weights=WTS, prior=(mean[0], sd[2]), **TIGHT)
    np.testing.assert_array_equal(shared.params[2], one.params[0])


def test_cost_splits_into_data_and_prior_terms():
    y = noisy()[0]
    prior = informative()
    r = fit_many(X3, y, start(), weights=WTS, prior=prior, **TIGHT)
    p = r.params[0]
    data = 0.5 * np.sum((WTS * (gmesa.mesa_sum(X3, p) - y)) ** 2)
    pri = 0.5 * np.sum(((p - prior[0]) / prior[1]) ** 2)
    np.testing.assert_allclose(r.data_cost[0], data, rtol=1e-10)
    np.testing.assert_allclose(r.prior_cost[0], pri, rtol=1e-10)
    np.testing.assert_allclose(r.cost[0], data + pri, rtol=1e-12)


# --------------------------------------------------------------------------- (d)

def _fd_jacobian(fun, p, rel=1e-7):
    cols = []
    for j in range(p.size):
        h = rel * max(abs(p[j]), 1e-3)
        up, dn = p.copy(), p.copy()
        up[j] += h
        dn[j] -= h
        cols.append((fun(up) - fun(dn)) / (2 * h))
    return np.array(cols).T


#: finite-difference noise and the kernels' tail cut-off: the largest entries are ~1e3
#: (weight 1/NOISE3 = 50 times d/dcenter ~ A/sigma ~ 30), so 1e-3 is ~1e-6 of them
ATOL = 1e-3


def test_map_jacobians_match_finite_differences():
    y = noisy()[0]
    prior = informative()
    prior[1][3] = np.inf                             # a parameter without a prior
    p = start()
    # the documented residual's Jacobian
    fd = _fd_jacobian(lambda q: map_residual(q, y, prior), p)
    np.testing.assert_allclose(map_jacobian(p, prior), fd, rtol=1e-5, atol=ATOL)
    # fit_least_squares: its residual is the documented one, its Jacobian is that of FD
    s = fit_least_squares(X3, y, p, weights=WTS, prior=prior, **TIGHT)
    np.testing.assert_allclose(s.fun, map_residual(s.params, y, prior), rtol=1e-12, atol=1e-14)
    fd = _fd_jacobian(lambda q: map_residual(q, y, prior), s.params)
    np.testing.assert_allclose(s.jac, fd, rtol=1e-5, atol=ATOL)
    # MesaSumModel: the residual and analytic Jacobian (both lmfit layouts) with the prior rows
    model = MesaSumModel(names=NAMES3)
    labels = model.layout.labels
    for j in range(P3.size):
        if np.isfinite(prior[1][j]):
            model.set_prior(labels[j], prior[0][j], prior[1][j])
    pars = model.params_from_vector(p)

    def resid(q):
        return model._residual(model.params_from_vector(q), y, WTS, x=X3)

    np.testing.assert_allclose(resid(p), -map_residual(p, y, prior) * np.r_[
        np.ones(X3.size), -np.ones(P3.size - 1)], rtol=1e-12)
    fd = _fd_jacobian(resid, p)
    np.testing.assert_allclose(model._jacobian(pars, y, WTS, x=X3).T, fd, rtol=1e-5, atol=ATOL)
    np.testing.assert_allclose(model._jacobian_rows(pars, y, WTS, x=X3), fd, rtol=1e-5,
                               atol=ATOL)
    # fit_many: the MAP gradient (from the finite-difference Jacobian) vanishes at its optimum
    r = fit_many(X3, y, p, weights=WTS, prior=prior, **TIGHT)
    q = r.params[0]
    grad = _fd_jacobian(lambda v: map_residual(v, y, prior), q).T @ map_residual(q, y, prior)
    curv = np.sqrt(np.diag(map_jacobian(q, prior).T @ map_jacobian(q, prior)))
    assert np.max(np.abs(grad) / (curv * np.sqrt(2 * r.cost[0]))) < 1e-5


# --------------------------------------------------------------------------- (e)

def test_standard_errors_shrink_with_a_tighter_prior_and_follow_the_formula():
    y = noisy()[0]
    p0 = start()
    base = fit_many(X3, y, p0, weights=WTS, **TIGHT)
    previous = base.stderr[0]
    for factor in (3.0, 1.0, 0.3):
        prior = (P3, factor * base.stderr[0])
        r = fit_many(X3, y, p0, weights=WTS, prior=prior, **TIGHT)
        assert np.all(r.stderr[0] < previous), factor
        previous = r.stderr[0]
        doc = documented_stderr(r.params[0], y, prior)
        np.testing.assert_allclose(r.stderr[0], doc, rtol=1e-6)
        s = fit_least_squares(X3, y, p0, weights=WTS, prior=prior, **TIGHT)
        np.testing.assert_allclose(s.stderr, documented_stderr(s.params, y, prior), rtol=1e-6)
        v, se, _, fit = lmfit_fit(y, p0, prior)
        np.testing.assert_allclose(se, documented_stderr(v, y, prior), rtol=1e-3)
        assert fit.ndata == X3.size + P3.size


# --------------------------------------------------------------------------- (f)

BAD = [
    ((np.zeros(15), np.ones(16)), "prior mean has shape (15,)"),
    ((np.zeros(16), np.ones(17)), "prior sd has shape (17,)"),
    ((np.zeros(16), np.r_[np.ones(15), 0.0]), "prior sd of baseline_c0 is 0.0"),
    ((np.zeros(16), np.r_[-1.0, np.ones(15)]), "prior sd of g0_amplitude is -1.0"),
    ((np.zeros(16), np.r_[np.nan, np.ones(15)]), "prior sd of g0_amplitude is nan"),
    ((np.r_[0.0, np.nan, np.zeros(14)], np.ones(16)), "prior mean of g0_center is nan"),
    ((np.zeros(16),), "prior must be a pair (mean, sd)"),
]


@pytest.mark.parametrize("prior, message", BAD)
def test_bad_priors_are_refused_with_a_clear_message(prior, message):
    y = noisy()[0]
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_many(X3, y, P3, weights=WTS, prior=prior)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_least_squares(X3, y, P3, weights=WTS, prior=prior)


def test_bad_per_curve_prior_names_the_curve():
    Y = noisy(n=3)
    sd = np.ones((3, 16))
    sd[2, 6] = 0.0
    with pytest.raises(ValueError, match=r"curve 2: prior sd of g1_center is 0.0"):
        fit_many(X3, Y, P3, weights=WTS, prior=(P3, sd))
    with pytest.raises(ValueError, match=r"expected \(16,\) or \(3, 16\)"):
        fit_many(X3, Y, P3, weights=WTS, prior=(P3, np.ones((2, 16))))


def test_robust_loss_with_a_prior_is_refused():
    with pytest.raises(ValueError, match="loss='linear' only"):
        fit_least_squares(X3, noisy()[0], P3, loss="soft_l1", prior=(P3, np.ones(16)))


def test_mesa_sum_model_bad_priors():
    model = MesaSumModel(names=NAMES3)
    with pytest.raises(ValueError, match="prior sd of R_center is 0"):
        model.set_prior("R_center", 0.5, 0)
    with pytest.raises(ValueError, match="prior sd of R_center is -1"):
        model.fit(noisy()[0], model.params_from_vector(P3), x=X3, prior={"R_center": (0.5, -1)})
    with pytest.raises(ValueError, match="prior mean of T_center is nan"):
        model.set_prior("T_center", np.nan, 0.1)
    with pytest.raises(KeyError, match="'Z_center' is not a parameter"):
        model.set_prior("Z_center", 0.5, 0.1)
    assert model.priors == {}


def test_mesa_sum_model_prior_bookkeeping():
    model = MesaSumModel(names=NAMES3, prefix="b_")
    model.set_prior("T_center", 0.7, 0.01)          # without the prefix
    assert model.priors == {"b_T_center": (0.7, 0.01)}
    y = noisy()[0]
    pars = model.params_from_vector(start())
    with_prior = model.fit(y, pars, x=X3, method="least_squares")
    lifted = model.fit(y, pars, x=X3, method="least_squares",
                       prior={"b_T_center": (0.0, None)})
    assert model.priors == {"b_T_center": (0.7, 0.01)}     # lifted for that fit only
    assert with_prior.ndata == X3.size + 1 and lifted.ndata == X3.size
    assert abs(with_prior.params["b_T_center"].value - 0.7) < abs(
        lifted.params["b_T_center"].value - 0.7)
    model.set_prior("T_center", 0.0, np.inf)
    assert model.priors == {}
