"""``Decomposition``: the result of :func:`gmesa.decompose` (and the template of a pulse fit)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _kernels as K
from ..core import Layout, baseline_size
from ..lineshapes import GMF_PARAMS

#: D at half maximum, for the full width at half maximum of a component
HALF_MAX_D = float(np.sqrt(2.0 * np.log(2.0)))


def _sorted_by_center(params, stderr, k):
    order = np.argsort(params[1:5 * k:5], kind="stable")
    idx = np.concatenate([np.arange(5 * i, 5 * i + 5) for i in order] +
                         [np.arange(5 * k, params.size)]).astype(int)
    return params[idx], stderr[idx]


@dataclass(eq=False)
class Decomposition:
    """A waveform as K mesa functions ``c1..cK`` (sorted by centre) + a baseline.

    Attributes
    ----------
    x, y, weights : the data decomposed.
    params, stderr : flat vectors in the layout of :func:`gmesa.mesa_sum` (standard
        errors NaN for parameters held fixed, e.g. plateaus of a bi-Gaussian).
    shape, baseline, criterion : the settings used.
    criteria : one row per K tried: ``K``, ``n_params``, ``rss`` (weighted residual sum
        of squares), ``prd`` (%), ``bic``, ``aic``, solver ``status``, ``selected``.
    """
    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    params: np.ndarray
    stderr: np.ndarray
    shape: str = "mesa"
    baseline: object = "constant"
    criterion: str = "bic"
    criteria: object = None
    candidates: dict = field(default_factory=dict, repr=False)
    prior: dict = None

    @classmethod
    def from_rows(cls, x, y, w, rows, *, shape, baseline, criterion, prior=None):
        """Build from the per-K rows of the refinement (the selected one is kept)."""
        cands = {int(r["K"]): _sorted_by_center(np.asarray(r["params"], float),
                                                np.asarray(r["stderr"], float), int(r["K"]))
                 for r in rows}
        import pandas as pd

        k = next(int(r["K"]) for r in rows if r["selected"])
        table = pd.DataFrame([{c: r[c] for c in ("K", "n_params", "rss", "prd", "bic", "aic",
                                                 "status", "selected")} for r in rows])
        return cls(x, y, w, *cands[k], shape, baseline, criterion, table, cands, prior)

    def at(self, k):
        """The same decomposition with K = ``k`` components (any K in ``criteria``)."""
        if k not in self.candidates:
            raise ValueError(f"K={k!r} was not tried; choose one of {sorted(self.candidates)}")
        crit = self.criteria.copy()
        crit["selected"] = crit["K"] == k
        return Decomposition(self.x, self.y, self.weights, *self.candidates[k], self.shape,
                             self.baseline, self.criterion, crit, self.candidates)

    # -- structure -----------------------------------------------------------------
    @property
    def n_baseline(self) -> int:
        return baseline_size(self.baseline)

    @property
    def n_components(self) -> int:
        return (self.params.size - self.n_baseline) // 5

    @property
    def names(self) -> tuple:
        """Component names ``c1..cK`` in order of their centres."""
        return tuple(f"c{i + 1}" for i in range(self.n_components))

    @property
    def layout(self) -> Layout:
        return Layout(self.names, (), self.baseline)

    @property
    def baseline_coefficients(self) -> np.ndarray:
        """``c0, c1, ...`` of the baseline ``sum_j c_j x**j``."""
        return self.params[self.params.size - self.n_baseline:]

    @property
    def table(self):
        """One row per component (index ``c1..cK``): the five parameters, their standard
        errors (``*_se``), the area under the component and its FWHM (a DataFrame)."""
        import pandas as pd

        k = self.n_components
        p = self.params[:5 * k].reshape(k, 5)
        se = self.stderr[:5 * k].reshape(k, 5)
        df = pd.DataFrame(p, columns=list(GMF_PARAMS), index=pd.Index(self.names, name="component"))
        for j, name in enumerate(GMF_PARAMS):
            df[f"{name}_se"] = se[:, j]
        df["area"] = p[:, 0] * (2 * p[:, 2] + np.sqrt(np.pi / 2) * (p[:, 3] + p[:, 4]))
        df["fwhm"] = 2 * p[:, 2] + HALF_MAX_D * (p[:, 3] + p[:, 4])
        return df

    # -- values ----------------------------------------------------------------------
    def _x(self, x):
        xf = self.x if x is None else np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(xf)):
            raise ValueError("x must be finite")
        return xf, np.ascontiguousarray(xf.ravel())

    def eval(self, x=None):
        """The fitted sum (components + baseline) at ``x`` (default: the data's x)."""
        xs, xf = self._x(x)
        out = np.empty(xf.size)
        K.mesa_sum_into(xf, self.params, self.n_components, 0, self.n_baseline, out)
        return out.reshape(xs.shape)

    def components(self, x=None) -> dict:
        """One array per component (``c1``, ...) and ``baseline``, at ``x``."""
        xs, xf = self._x(x)
        out = {}
        for i, name in enumerate(self.names):
            v = np.empty(xf.size)
            K.mesa_sum_into(xf, np.ascontiguousarray(self.params[5 * i:5 * i + 5]), 1, 0, 0, v)
            out[name] = v.reshape(xs.shape)
        v = np.empty(xf.size)
        K.mesa_sum_into(xf, np.ascontiguousarray(self.baseline_coefficients), 0, 0,
                        self.n_baseline, v)
        out["baseline"] = v.reshape(xs.shape)
        return out

    @property
    def fit(self) -> np.ndarray:
        """The fitted sum at the data's x."""
        return self.eval()

    @property
    def residual(self) -> np.ndarray:
        """y - fit at the data's x (0 where the weight is 0)."""
        return np.where(self.weights > 0, self.y - self.eval(), 0.0)

    @property
    def prd(self) -> float:
        """PRD (%) of the chosen K: 100 * |y - fit| / |y - mean(y)| (non-zero weights)."""
        return float(self.criteria.loc[self.criteria["selected"], "prd"].iloc[0])

    def __repr__(self):
        return (f"Decomposition(K={self.n_components}, shape={self.shape!r}, "
                f"baseline={self.baseline!r}, criterion={self.criterion!r}, "
                f"prd={self.prd:.3g}%, n={self.x.size})")

    # -- other views -------------------------------------------------------------------
    def plot(self, ax=None, **kwargs):
        """Data, sum, components, baseline and residual: see
        :func:`gmesa.plot.any_fit.decomposition`.  Returns the Axes."""
        from ..plot.any_fit import decomposition
        return decomposition(self, ax=ax, **kwargs)

    def to_lmfit(self):
        """``(model, params)``: a :class:`gmesa.MesaSumModel` named ``c1..cK`` and its
        lmfit ``Parameters`` holding these values (and standard errors).
        ``model.eval(params, x=x)`` equals :meth:`eval`; the decomposition's prior is
        set on the model (``MesaSumModel.set_prior``) for every component."""
        from ..models import MesaSumModel

        model = MesaSumModel(names=self.names, baseline=self.baseline)
        for param, (mean, sd) in (self.prior or {}).items():
            for name in self.names:
                model.set_prior(f"{name}_{param}", mean, sd)
        params = model.params_from_vector(self.params)
        for label, se in zip(self.layout.labels, self.stderr):
            if np.isfinite(se):
                params[label].stderr = float(se)
        if self.shape != "mesa":
            for name in self.names:
                params[f"{name}_half_width"].set(value=0.0, vary=False)
        if self.shape == "gaussian":
            for name in self.names:
                params[f"{name}_sigma_right"].set(expr=f"{name}_sigma_left")
        return model, params

    def to_dict(self) -> dict:
        """The parameters and settings as plain Python values (JSON-ready); the data
        and the per-K table are not included."""
        return {"shape": self.shape, "baseline": self.baseline, "criterion": self.criterion,
                "prior": {k: list(v) for k, v in (self.prior or {}).items()} or None,
                "names": list(self.names), "params": self.params.tolist(),
                "stderr": [None if not np.isfinite(v) else float(v) for v in self.stderr],
                "prd": self.prd}
