"""gmesa.decompose (issue 19): K and parameters recovered on sums with known truth, the
result object, determinism, the lmfit round trip, every bad input, and the figure of any fit."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import gmesa  # noqa: E402
from gmesa.decomp import _omp  # noqa: E402
from gmesa.plot.any_fit import decomposition as draw  # noqa: E402

X = np.linspace(0.0, 1.0, 400)
#: three overlapping components: a skewed peak, a flat-topped one, a broad one; + 0.2
TRUTH = np.array([1.0, 0.30, 0.00, 0.030, 0.050,
                  0.6, 0.50, 0.04, 0.020, 0.030,
                  0.4, 0.70, 0.00, 0.040, 0.040,
                  0.2])


def _noisy(p, snr_db, seed=0, x=X, baseline="constant"):
    y0 = gmesa.mesa_sum(x, p, baseline=baseline)
    sig = y0 - gmesa.mesa_sum(x, p[(len(p) // 5) * 5:], baseline=baseline)
    sd = np.sqrt(np.mean(sig ** 2) / 10 ** (snr_db / 10))
    return y0 + sd * np.random.default_rng(seed).standard_normal(x.size)


@pytest.fixture(scope="module")
def exact():
    return gmesa.decompose(X, gmesa.mesa_sum(X, TRUTH), max_components=5)


def test_noise_free_sum_recovered_exactly(exact):
    assert exact.n_components == 3
    assert exact.names == ("c1", "c2", "c3")
    np.testing.assert_allclose(exact.params, TRUTH, atol=1e-6)
    assert exact.prd < 1e-4
    assert exact.criteria["K"].tolist()[:4] == [1, 2, 3, 4]
    assert exact.criteria["selected"].sum() == 1


def test_30db_sum_recovered():
    dec = gmesa.decompose(X, _noisy(TRUTH, 30, seed=1), max_components=6)
    assert dec.n_components == 3
    t = dec.table
    np.testing.assert_allclose(t["center"], TRUTH[1:15:5], atol=0.01)
    np.testing.assert_allclose(t["amplitude"], TRUTH[0:15:5], rtol=0.15)
    # the standard errors are finite and of the size of the errors
    assert np.all(np.isfinite(t["center_se"])) and np.all(t["center_se"] < 0.01)
    assert 2.0 < dec.prd < 6.0          # 30 dB: the noise is ~3.2% of the signal


@pytest.mark.parametrize("k", [1, 2, 4])
def test_k_recovered_at_30db(k):
    centers = np.linspace(0.2, 0.8, k) if k > 1 else [0.45]
    p = np.array([v for i, c in enumerate(centers)
                  for v in (1.0 - 0.15 * i, c, 0.0, 0.025 + 0.005 * i, 0.035)] + [0.1])
    dec = gmesa.decompose(X, _noisy(p, 30, seed=k), max_components=6, shape="bigaussian")
    assert dec.n_components == k
    np.testing.assert_allclose(dec.table["center"], centers, atol=0.01)


def test_gaussian_shape_ties_the_tails():
    p = np.array([1.0, 0.35, 0.0, 0.04, 0.04, 0.5, 0.6, 0.0, 0.05, 0.05, 0.0])
    dec = gmesa.decompose(X, _noisy(p, 30, seed=3), max_components=4, shape="gaussian")
    t = dec.table
    assert dec.n_components == 2
    np.testing.assert_array_equal(t["sigma_left"], t["sigma_right"])
    np.testing.assert_array_equal(t["half_width"], 0.0)
    np.testing.assert_allclose(t["center"], [0.35, 0.6], atol=0.01)
    model, params = dec.to_lmfit()                       # the tie travels to lmfit
    assert params["c1_sigma_right"].expr == "c1_sigma_left"
    np.testing.assert_allclose(model.eval(params, x=X), dec.eval(X), atol=1e-12)


def test_criteria_aic_and_target_prd():
    y = _noisy(TRUTH, 30, seed=4)
    aic = gmesa.decompose(X, y, max_components=5, criterion="aic")
    assert aic.n_components >= 3
    loose = gmesa.decompose(X, y, max_components=5, criterion="prd", target_prd=20.0)
    assert loose.prd <= 20.0
    assert loose.n_components == int(loose.criteria["K"].max())  # stops at the target
    assert loose.n_components <= 3


def test_positive_sign_and_linear_baseline():
    p = np.r_[TRUTH[:-1], 0.3, -0.5]
    dec = gmesa.decompose(X, _noisy(p, 30, seed=5, baseline="linear"), max_components=5,
                          sign="positive",
                          baseline="linear")
    assert dec.n_components == 3 and np.all(dec.table["amplitude"] > 0)
    np.testing.assert_allclose(dec.baseline_coefficients, [0.3, -0.5], atol=0.05)


def test_deterministic():
    y = _noisy(TRUTH, 20, seed=6)
    a = gmesa.decompose(X, y, max_components=5)
    b = gmesa.decompose(X, y, max_components=5)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.criteria["rss"], b.criteria["rss"])


def test_result_views(exact):
    comps = exact.components()
    assert set(comps) == {"c1", "c2", "c3", "baseline"}
    np.testing.assert_allclose(sum(comps.values()), exact.eval(), atol=1e-12)
    np.testing.assert_allclose(exact.residual, exact.y - exact.fit)
    xs = np.linspace(-0.5, 1.5, 7)
    np.testing.assert_allclose(exact.eval(xs), gmesa.mesa_sum(xs, exact.params))
    two = exact.at(2)
    assert two.n_components == 2 and bool(two.criteria.set_index("K").loc[2, "selected"])
    with pytest.raises(ValueError, match="was not tried"):
        exact.at(9)
    t = exact.table
    assert list(t.index) == ["c1", "c2", "c3"]
    assert {"area", "fwhm", "amplitude_se"} <= set(t.columns)
    assert "K=3" in repr(exact)


def test_to_lmfit_round_trip(exact):
    model, params = exact.to_lmfit()
    assert isinstance(model, gmesa.MesaSumModel)
    np.testing.assert_allclose(model.eval(params, x=X), exact.eval(X), rtol=0, atol=1e-12)
    res = model.fit(exact.y, params, x=X)
    np.testing.assert_allclose(res.best_fit, exact.eval(X), atol=1e-8)


def test_weights_and_nan_with_zero_weight():
    y = gmesa.mesa_sum(X, TRUTH)
    y_bad = y.copy()
    y_bad[100:120] = np.nan
    w = np.ones_like(y)
    w[100:120] = 0.0
    dec = gmesa.decompose(X, y_bad, max_components=4, weights=w)
    assert dec.n_components == 3
    np.testing.assert_allclose(dec.params, TRUTH, atol=1e-4)


def test_non_uniform_x():
    x = np.sort(np.random.default_rng(7).uniform(0, 1, 300))
    dec = gmesa.decompose(x, gmesa.mesa_sum(x, TRUTH), max_components=4)
    assert dec.n_components == 3
    np.testing.assert_allclose(dec.params, TRUTH, atol=1e-4)


@pytest.mark.parametrize("sx, sy, y_off", [(1e-9, 1.0, 0.0), (1e6, 1.0, 0.0), (1.0, 1e-9, 0.0),
                                            (1.0, 1e9, 0.0), (1.0, 1.0, 1e9), (1e3, 1e-6, 5.0)])
def test_the_result_does_not_depend_on_the_units(sx, sy, y_off):
    """The same data in other units (nm or m, uV or V, an offset) gives the same
    decomposition in those units (y at 1e-6 of its scale gave K = 4 for 2, stopping on
    the solver's absolute tolerances; x in metres K = 3)."""
    y = _noisy(TRUTH, 30, seed=3)
    ref = gmesa.decompose(X, y, max_components=4)
    dec = gmesa.decompose(X * sx, y * sy + y_off, max_components=4)
    assert dec.n_components == ref.n_components
    k = ref.n_components
    scale = np.tile([sy, sx, sx, sx, sx], k)
    np.testing.assert_allclose(dec.params[:5 * k] / scale, ref.params[:5 * k], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose((dec.params[5 * k] - y_off) / sy, ref.params[5 * k], atol=1e-6)
    assert dec.prd == pytest.approx(ref.prd, rel=1e-4)


def test_a_quantised_short_signal_is_not_fitted_below_its_rounding():
    """A Gaussian of 50 samples rounded to integers took K = 8 (41 parameters); BIC now
    chooses among the K with at least 3 samples per parameter."""
    x = np.arange(50.0)
    dec = gmesa.decompose(x, np.round(100 * gmesa.gmf(x, 1, 25, 0, 50 / 12, 50 / 12)))
    assert 3 * dec.criteria.set_index("K").loc[dec.n_components, "n_params"] <= 50


def test_a_short_signal_gets_default_widths_it_can_use():
    x = np.arange(7.0)
    dec = gmesa.decompose(x, np.exp(-0.5 * (x - 3) ** 2), max_components=1)
    assert dec.n_components == 1 and dec.prd < 1.0


def test_memory_stays_bounded_on_2000_samples():
    x = np.linspace(0, 1, 2000)
    y = gmesa.mesa_sum(x, TRUTH)
    d = _omp.Dictionary(x.size, x[1], _omp.shape_grid(x[1], 1.0, "mesa", 1.5 * x[1], 0.25))
    cached = 0 if d._spectra is None else d._spectra.nbytes
    assert cached <= _omp.BUDGET_BYTES                   # kernel spectra
    assert d._chunk * d.size * 8 <= _omp.BUDGET_BYTES    # one chunk of correlations
    chosen, rest = _omp.forward_select(d, y, np.ones_like(y), np.ones((x.size, 1)), 3)
    assert len(chosen) == 3
    assert np.sum(rest ** 2) < 0.15 * np.sum((y - y.mean()) ** 2)   # greedy, before refining
    dec = gmesa.decompose(x, y, max_components=1)        # end to end on 2,000 samples
    assert dec.n_components == 1 and dec.x.size == 2000


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(y=np.r_[np.nan, np.ones(399)]), ValueError, r"y\[0\] is nan.*weight 0"),
    (dict(max_components=0), ValueError, "max_components=0: give an integer >= 1"),
    (dict(max_components=2.5), ValueError, "integer >= 1"),
    (dict(max_components=True), ValueError, "integer >= 1"),
    (dict(x=X[:20], y=np.sin(X[:20] * 9), max_components=8), ValueError,
     r"20 usable samples, too few for max_components=8.*at least 42"),
    (dict(y=np.full(400, 3.0)), ValueError, "constant .*flat signal.*nothing to decompose"),
    (dict(y=1 + 2 * X, baseline="linear"), ValueError, "flat signal"),
    (dict(criterion="bics"), ValueError, "criterion='bics'"),
    (dict(shape="box"), ValueError, "shape='box'"),
    (dict(sign="up"), ValueError, "sign='up'"),
    (dict(x=X[::-1]), ValueError, "x must increase strictly"),
    (dict(y=np.ones(5)), ValueError, "x has 400 samples but y has 5"),
    (dict(weights=-np.ones(400)), ValueError, "weights must hold one finite value >= 0"),
    (dict(min_width=0.5, max_width=0.1), ValueError, "0 < min_width < max_width"),
    (dict(baseline="cubic"), ValueError, "baseline='cubic' is not known"),
    (dict(prior={"c1_center": (0.3, 0.01)}), ValueError, "unknown parameter 'c1_center'"),
    (dict(prior=[("center", 0.3, 0.01)]), ValueError, "prior must be a dict"),
    (dict(prior={"center": 0.3}), ValueError, r"give \(mean, sd\), two numbers"),
    (dict(prior={"center": (0.3, 0.0)}), ValueError, "sd > 0"),
    (dict(prior={"center": (np.nan, 1.0)}), ValueError, "mean must be finite"),
])
def test_bad_inputs_say_what_to_fix(kwargs, exc, match):
    args = dict(x=X, y=gmesa.mesa_sum(X, TRUTH))
    args.update(kwargs)
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(exc, match=match):
        gmesa.decompose(x, y, **args)


# -- priors -----------------------------------------------------------------------------
def test_weak_prior_leaves_the_decomposition_unchanged(exact):
    weak = gmesa.decompose(X, gmesa.mesa_sum(X, TRUTH), max_components=5,
                           prior={"half_width": (0.0, 1e6), "sigma_left": (0.03, 1e6)})
    assert weak.n_components == exact.n_components
    np.testing.assert_allclose(weak.params, exact.params, atol=1e-6)


@pytest.mark.parametrize("shape", ["mesa", "gaussian"])
def test_prior_pulls_an_unsupported_plateau_and_tails(shape):
    """A firm prior moves what the data do not pin (here: it wins over 30 dB noise)
    and the moves are MAP fits: the objective includes the prior."""
    y = _noisy(TRUTH, 30, seed=3)
    free = gmesa.decompose(X, y, max_components=4, shape=shape)
    held = gmesa.decompose(X, y, max_components=4, shape=shape,
                           prior={"half_width": (0.0, 1e-4), "sigma_left": (0.1, 1e-4)})
    assert np.all(np.abs(held.table["half_width"]) < 1e-3)
    np.testing.assert_allclose(held.table["sigma_left"], 0.1, atol=2e-3)
    assert not np.allclose(free.table["sigma_left"], 0.1, atol=2e-3)
    assert held.prd > free.prd           # the data alone fit worse under the prior


def test_to_lmfit_carries_the_prior():
    dec = gmesa.decompose(X, gmesa.mesa_sum(X, TRUTH), max_components=4,
                          prior={"center": (0.5, 10.0)})
    model, params = dec.to_lmfit()
    res = model.fit(dec.y, params, x=dec.x)
    assert res.ndata == dec.x.size + dec.n_components     # one prior row per centre
    assert dec.to_dict()["prior"] == {"center": [0.5, 10.0]}


# -- the figure of any fit --------------------------------------------------------------
def _close(ax):
    matplotlib.pyplot.close("all") if "matplotlib.pyplot" in __import__("sys").modules else None


def test_plot_a_decomposition(exact):
    ax = exact.plot()
    assert isinstance(ax, Axes) and len(ax.figure.axes) == 2      # curve + residual
    gids = {a.get_gid() for a in ax.get_children()}
    assert {"samples", "fit", "baseline", "component-c1", "component-c3"} <= gids
    given = matplotlib.figure.Figure().subplots()
    assert draw(exact, ax=given) is given
    assert "residual" in {a.get_gid() for a in given.get_lines()}


def test_plot_a_manyfit_curve():
    Y = np.stack([gmesa.mesa_sum(X, TRUTH), gmesa.mesa_sum(X, TRUTH) * 1.1])
    fit = gmesa.fit_many(X, Y, TRUTH * 1.02)
    ax = draw(fit, x=X, y=Y, i=1)
    assert isinstance(ax, Axes) and "curve 1" in ax.get_title(loc="left")
    with pytest.raises(ValueError, match="give i="):
        draw(fit)
    with pytest.raises(IndexError, match="out of range"):
        draw(fit, x=X, y=Y, i=5)


def test_plot_an_lmfit_result(exact):
    model, params = exact.to_lmfit()
    res = model.fit(exact.y, params, x=X)
    ax = draw(res)
    assert isinstance(ax, Axes)
    assert "component-c2" in {a.get_gid() for a in ax.get_children()}


def test_plot_refuses_other_objects():
    with pytest.raises(TypeError, match="cannot draw a dict"):
        draw({})
