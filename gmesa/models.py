"""lmfit models whose fits use gmesa's analytic Jacobians.

``MesaModel``: one mesa component (lmfit ``GaussianModel`` style).
``MesaSumModel``: K named components (P, Q, R, S, T by default), optional tanh steps and a
polynomial baseline as one lmfit ``Model``.

Jacobians: ``fit(method='leastsq')`` passes ``Dfun`` (``col_deriv=1``) and
``fit(method='least_squares')`` passes ``jac``; lmfit rescales them for its bound
transform.  Fixed parameters are dropped from the Jacobian.  When any parameter carries
an ``expr`` constraint, or the model is combined with another by ``+``/``*``
(an lmfit ``CompositeModel``), the fit falls back to lmfit's finite-difference Jacobian:
correct, only slower.  Pass ``jacobian=False`` to force finite differences.

Priors: ``model.set_prior(name, mean, sd)`` (kept by the model, like a parameter hint) or
``fit(..., prior={name: (mean, sd)})`` (this fit only) put a Gaussian prior on a parameter;
the residual then gets one extra row ``(value - mean)/sd`` per varying parameter with a
prior, so the fit is MAP and lmfit's ``chisqr``, ``ndata``, ``redchi`` and covariance
include the prior's rows (docs/priors.md).
"""
from __future__ import annotations

import inspect
import math

import lmfit
import numpy as np

from . import _kernels as K
from .core import Layout
from .guess import greedy_guess, peak_params
from .lineshapes import GMF_PARAMS, HALF_MAX

_JAC_METHODS = ("leastsq", "least_squares")


def _signature(arg_names):
    """Signature ``(x, *, <arg_names>)``: lmfit reads parameter names from it."""
    params = [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(a, inspect.Parameter.KEYWORD_ONLY, default=1.0)
               for a in arg_names]
    return inspect.Signature(params)


class _KernelModel(lmfit.Model):
    """An lmfit Model evaluated by the compiled kernels, with an analytic Jacobian."""

    def __init__(self, arg_names, n_gmf, n_steps, n_baseline, independent_vars=("x",),
                 prefix="", nan_policy="raise", **kwargs):
        self._arg_names = list(arg_names)
        self._shape = (n_gmf, n_steps, n_baseline)
        self.priors = {}
        self._call_prior = {}
        evaluate = self._evaluate

        def model_func(x, **kw):
            return evaluate(x, [kw[a] for a in self._arg_names])
        model_func.__signature__ = _signature(self._arg_names)
        model_func.__name__ = type(self).__name__.lower()
        super().__init__(model_func, independent_vars=list(independent_vars), prefix=prefix,
                         nan_policy=nan_policy, **kwargs)

    # -- evaluation -------------------------------------------------------
    def _evaluate(self, x, values):
        xf = np.ascontiguousarray(np.asarray(x, dtype=np.float64).ravel())
        out = np.empty_like(xf)
        K.mesa_sum_into(xf, np.asarray(values, dtype=np.float64), *self._shape, out)
        return out.reshape(np.shape(x))

    def _vector(self, params):
        return np.array([params[self.prefix + a].value for a in self._arg_names], dtype=float)

    # -- priors ------------------------------------------------------------
    def _own_name(self, name):
        own = [self.prefix + a for a in self._arg_names]
        full = name if name in own else self.prefix + name
        if full not in own:
            raise KeyError(f"{name!r} is not a parameter of this model; use one of {own}")
        return full

    def set_prior(self, name, mean, sd):
        """Gaussian prior ``(mean, sd)`` on parameter ``name`` (with or without the prefix),
        used by every later fit; ``sd = inf`` (or None) removes it.  The fit is then MAP:
        the residual gets the row ``(value - mean)/sd`` while the parameter varies."""
        self._check_prior_value(name, mean, sd)
        full = self._own_name(name)
        if sd is None or math.isinf(sd):
            self.priors.pop(full, None)
        else:
            self.priors[full] = (float(mean), float(sd))

    @staticmethod
    def _check_prior_value(name, mean, sd):
        if sd is not None and not float(sd) > 0:
            raise ValueError(f"prior sd of {name} is {sd!r}; it must be > 0 (inf for no prior)")
        if not math.isfinite(float(mean)):
            raise ValueError(f"prior mean of {name} is {mean!r}; it must be finite")

    def _prior_rows(self, params):
        """``[(name, mean, sd)]`` of the priors in force, in ``params`` order, for the
        parameters that vary (or follow an expr)."""
        pri = {**self.priors, **self._call_prior}
        return [(n, *pri[n]) for n, p in params.items()
                if n in pri and (p.vary or p.expr)]

    def _residual(self, params, data, weights, **kwargs):
        """lmfit's residual, then one row ``(value - mean)/sd`` per prior in force."""
        diff = super()._residual(params, data, weights, **kwargs)
        rows = self._prior_rows(params)
        if not rows:
            return diff
        extra = [(params[n].value - m) / sd for n, m, sd in rows]
        return np.concatenate([np.asarray(diff, dtype=float).ravel(), extra])

    def _jacobian(self, params, data, weights, x=None, **kws):
        """d residual / d varying parameters, rows = parameters (col_deriv layout)."""
        xf = np.ascontiguousarray(np.asarray(x, dtype=np.float64).ravel())
        out = np.empty_like(xf)
        jt = np.empty((len(self._arg_names), xf.size))
        K.mesa_sum_jac_into(xf, self._vector(params), *self._shape, out, jt)
        row_of = {self.prefix + a: i for i, a in enumerate(self._arg_names)}
        var_rows = [row_of[name] for name, p in params.items() if p.vary and p.expr is None]
        jac = -jt[var_rows]
        if weights is not None:
            jac = jac * np.asarray(weights, dtype=float).ravel()
        rows = self._prior_rows(params)
        if rows:
            var = [name for name, p in params.items() if p.vary and p.expr is None]
            extra = np.zeros((len(var), len(rows)))
            for i, (n, _, sd) in enumerate(rows):
                extra[var.index(n), i] = 1.0 / sd
            jac = np.hstack([jac, extra])
        return jac

    def _jacobian_rows(self, params, data, weights, x=None, **kws):
        return self._jacobian(params, data, weights, x=x, **kws).T

    def _analytic_ok(self, params):
        """True when every varying parameter is one of this model's own, without expr."""
        own = {self.prefix + a for a in self._arg_names}
        if not own <= set(params) or any(params[n].expr for n in own):
            return False
        return all(p.expr or not p.vary for n, p in params.items() if n not in own)

    def fit(self, data, params=None, weights=None, method="leastsq", iter_cb=None,
            scale_covar=True, verbose=False, fit_kws=None, nan_policy=None,
            calc_covar=True, max_nfev=None, coerce_farray=True, jacobian=True, prior=None,
            **kwargs):
        """lmfit ``Model.fit`` that adds the analytic Jacobian where it applies.

        ``jacobian=False`` (or any ``expr`` constraint) uses lmfit's finite differences.
        ``prior={name: (mean, sd)}`` adds Gaussian priors for this fit only, over those
        set by :meth:`set_prior` (``sd = inf`` lifts one); see the module docstring.
        """
        call = {}
        for name, (mean, sd) in (prior or {}).items():
            self._check_prior_value(name, mean, sd)
            call[self._own_name(name)] = (float(mean), math.inf if sd is None else float(sd))
        inf = [n for n, (_, sd) in call.items() if math.isinf(sd)]
        self._call_prior = {n: v for n, v in call.items() if n not in inf}
        removed = {n: self.priors.pop(n) for n in inf if n in self.priors}
        try:
            return self._fit(data, params, weights, method, iter_cb, scale_covar, verbose,
                             fit_kws, nan_policy, calc_covar, max_nfev, coerce_farray,
                             jacobian, **kwargs)
        finally:
            self._call_prior = {}
            self.priors.update(removed)

    def _fit(self, data, params, weights, method, iter_cb, scale_covar, verbose, fit_kws,
             nan_policy, calc_covar, max_nfev, coerce_farray, jacobian, **kwargs):
        fit_kws = dict(fit_kws or {})
        check = params if params is not None else self.make_params()
        if (jacobian and method in _JAC_METHODS and self._analytic_ok(check)
                and nan_policy != "omit" and self.nan_policy != "omit"
                and not {"Dfun", "jac"} & set(fit_kws)):
            if method == "leastsq":
                fit_kws.update(Dfun=self._jacobian, col_deriv=1)
            else:
                fit_kws.update(jac=self._jacobian_rows)
        return super().fit(data, params=params, weights=weights, method=method,
                           iter_cb=iter_cb, scale_covar=scale_covar, verbose=verbose,
                           fit_kws=fit_kws, nan_policy=nan_policy, calc_covar=calc_covar,
                           max_nfev=max_nfev, coerce_farray=coerce_farray, **kwargs)


def _gmf_hints(model, name=""):
    pre = f"{name}_" if name else ""
    model.set_param_hint(f"{pre}half_width", min=0.0, value=0.0)
    model.set_param_hint(f"{pre}sigma_left", min=1e-9, value=1.0)
    model.set_param_hint(f"{pre}sigma_right", min=1e-9, value=1.0)
    model.set_param_hint(f"{pre}amplitude", value=1.0)
    model.set_param_hint(f"{pre}center", value=0.0)


class MesaModel(_KernelModel):
    r"""One asymmetric Gaussian mesa function.

    ``f(x) = amplitude * exp(-D**2/2)``,
    ``D = relu(x - center - half_width)/sigma_right + relu(center - x - half_width)/sigma_left``.
    Parameters ``amplitude`` (signal unit), ``center``, ``half_width`` (>= 0),
    ``sigma_left``, ``sigma_right`` (> 0), all in x units.  Derived: ``plateau`` =
    2 * half_width (the original GMF notation's sigma_L) and ``fwhm``.
    """

    def __init__(self, independent_vars=("x",), prefix="", nan_policy="raise", **kwargs):
        super().__init__(GMF_PARAMS, 1, 0, 0, independent_vars, prefix, nan_policy, **kwargs)
        _gmf_hints(self)
        p = self.prefix
        self.set_param_hint("plateau", expr=f"2*{p}half_width")
        self.set_param_hint(
            "fwhm", expr=f"2*{p}half_width + {HALF_MAX:.15f}*({p}sigma_left + {p}sigma_right)")

    def guess(self, data, x, **kwargs):
        """Start values from the largest bump of ``data``: peak, plateau, half-max widths."""
        values = peak_params(x, np.asarray(data, dtype=float) - np.median(data))
        pars = self.make_params(**dict(zip(GMF_PARAMS, values)))
        return lmfit.models.update_param_vals(pars, self.prefix, **kwargs)


class MesaSumModel(_KernelModel):
    """K named mesa components + optional tanh steps + a polynomial baseline, one Model.

    Parameter names: ``{name}_{amplitude|center|half_width|sigma_left|sigma_right}``
    per component, ``{step}_{amplitude|center|scale}`` per step and ``baseline_c{j}``
    for ``sum_j c_j x**j``.  ``baseline`` is "none", "constant", "linear",
    "quadratic" or a polynomial degree.  ``eval_components`` returns one array per
    named wave (and per step, and ``baseline``).
    """

    def __init__(self, names=("P", "Q", "R", "S", "T"), baseline="constant", steps=(),
                 independent_vars=("x",), prefix="", nan_policy="raise", **kwargs):
        self.layout = Layout(names, steps, baseline)
        self.names, self.steps = self.layout.waves, self.layout.steps
        self.baseline = baseline
        lay = self.layout
        super().__init__(lay.labels, lay.n_waves, lay.n_steps, lay.n_baseline,
                         independent_vars, prefix, nan_policy, **kwargs)
        for n in self.names:
            _gmf_hints(self, n)
        for s in self.steps:
            self.set_param_hint(f"{s}_scale", min=1e-9, value=0.01)
            self.set_param_hint(f"{s}_amplitude", value=0.0)
            self.set_param_hint(f"{s}_center", value=0.0)
        for label in lay.labels[lay.baseline_slice]:
            self.set_param_hint(label, value=0.0)

    def vector(self, params):
        """The flat parameter vector (gmesa layout) of ``params``."""
        return self._vector(params)

    def params_from_vector(self, vector, params=None):
        """Parameters (new, or ``params`` updated) holding the values of a flat vector."""
        params = self.make_params() if params is None else params
        for a, v in zip(self._arg_names, np.asarray(vector, dtype=float)):
            par = params[self.prefix + a]
            if not par.expr:  # set(value=...) would drop an expr constraint
                par.set(value=float(v))
        return params

    def guess(self, data, x, **kwargs):
        """Start values by peeling off the largest bumps, assigned to names in time order."""
        lay = self.layout
        bumps = greedy_guess(x, data, lay.n_waves, lay.n_baseline)
        vec = np.zeros(lay.size)
        vec[lay.waves_slice] = bumps[:lay.waves_slice.stop]
        vec[lay.baseline_slice] = bumps[lay.waves_slice.stop:]
        for s in lay.steps:
            vec[lay.index(s, "scale")] = 0.01
        pars = self.params_from_vector(vec)
        return lmfit.models.update_param_vals(pars, self.prefix, **kwargs)

    def eval_components(self, params=None, **kwargs):
        """One array per named component (and per step, and ``baseline``)."""
        params = self.make_params() if params is None else params
        x = kwargs.get("x", kwargs.get(self.independent_vars[0]))
        vec = self._vector(params)
        lay = self.layout
        out = {}
        for n in self.names:
            out[n] = _eval_part(x, vec[lay.wave(n)], (1, 0, 0))
        for s in self.steps:
            out[s] = _eval_part(x, vec[lay.step(s)], (0, 1, 0))
        if lay.n_baseline:
            out["baseline"] = _eval_part(x, vec[lay.baseline_slice], (0, 0, lay.n_baseline))
        return out


def _eval_part(x, part, shape):
    """One part of the sum (a component, a step or the baseline: ``part`` its values,
    ``shape`` (n_gmf, n_steps, n_baseline)) evaluated at ``x``."""
    xf = np.ascontiguousarray(np.asarray(x, dtype=np.float64).ravel())
    out = np.empty_like(xf)
    K.mesa_sum_into(xf, np.ascontiguousarray(part), *shape, out)
    return out.reshape(np.shape(x))
