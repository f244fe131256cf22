"""Public shape functions: validate, then call the compiled kernels.

``x`` is the independent variable (seconds for ECG), widths share its unit and
``amplitude`` is in the signal's unit (mV for ECG).  Every function accepts arrays
of any shape for ``x`` and returns the same shape.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import _kernels as K
from .config import njit
from .lineshapes import GMF_PARAMS, STEP_PARAMS

_BASELINES = {"none": 0, "constant": 1, "linear": 2, "quadratic": 3}


def baseline_size(baseline) -> int:
    """Number of baseline coefficients for a baseline spec.

    ``baseline`` is ``"none"``, ``"constant"``, ``"linear"``, ``"quadratic"``, ``None``
    (same as "none") or an integer polynomial degree d >= 0 (d + 1 coefficients).
    The baseline is ``sum_j c_j * x**j``.
    """
    if baseline is None:
        return 0
    if isinstance(baseline, str):
        try:
            return _BASELINES[baseline.lower()]
        except KeyError:
            raise ValueError(f"baseline={baseline!r} is not known; use one of "
                             f"{sorted(_BASELINES)} or an integer degree >= 0") from None
    if isinstance(baseline, numbers.Integral) and not isinstance(baseline, bool) and baseline >= 0:
        return int(baseline) + 1
    raise ValueError(f"baseline={baseline!r} is not valid; use one of {sorted(_BASELINES)} "
                     "or an integer polynomial degree >= 0")


def baseline_spec(n_baseline: int):
    """The baseline spec of ``n_baseline`` coefficients (inverse of :func:`baseline_size`):
    ``"none"`` for 0, else the polynomial degree ``n_baseline - 1``."""
    if n_baseline < 0:
        raise ValueError(f"n_baseline={n_baseline!r} must be >= 0")
    return int(n_baseline) - 1 if n_baseline else "none"


def layout(n_params: int, baseline="constant", steps: int = 0) -> int:
    """Number of GMF components K in a flat vector of ``n_params`` values.

    Raises ValueError when ``n_params`` is not 5*K + 3*steps + baseline_size.
    """
    nb = baseline_size(baseline)
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps={steps!r} must be an integer >= 0")
    rest = n_params - nb - 3 * steps
    if rest < 0 or rest % 5:
        raise ValueError(
            f"params has {n_params} values, which does not fit K mesa components "
            f"(5 values each: {', '.join(GMF_PARAMS)}) plus {steps} tanh step(s) "
            f"(3 values each) plus {nb} baseline coefficient(s) for baseline={baseline!r}")
    return rest // 5


def finite_x(x):
    """``(x as a float64 array, its contiguous flat copy)``; ValueError naming the first
    non-finite value."""
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))[0]
        raise ValueError(f"x must be finite; x[{bad}] = {float(arr.ravel()[bad])!r}")
    return arr, np.ascontiguousarray(arr.ravel())


def _scalar(name, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def _check_gmf(amplitude, center, half_width, sigma_left, sigma_right, where=""):
    vals = [_scalar(where + n, v) for n, v in
            zip(GMF_PARAMS, (amplitude, center, half_width, sigma_left, sigma_right))]
    if vals[2] < 0:
        raise ValueError(f"{where}half_width must be >= 0 (plateau half-width), got {vals[2]!r}")
    for n, v in zip(GMF_PARAMS[3:], vals[3:]):
        _check_width(where + n, v, "a tail width")
    return vals


_TINY = float(np.finfo(np.float64).tiny)


def _check_width(name, v, what):
    if v <= 0:
        raise ValueError(f"{name} must be > 0 ({what}), got {v!r}")
    if v < _TINY:
        raise ValueError(f"{name} = {v!r} is below the smallest normal double ({_TINY:.3g}); "
                         "1/width overflows, so give a width >= that")


def _check_step(amplitude, center, scale, where=""):
    vals = [_scalar(where + n, v) for n, v in zip(STEP_PARAMS, (amplitude, center, scale))]
    _check_width(where + "scale", vals[2], "the step's width")
    return vals


def mesa_distance(x, center=0.0, half_width=0.0, sigma_left=1.0, sigma_right=1.0):
    """Mesa Mahalanobis distance relu(x-mu-delta)/sigma_right + relu(mu-x-delta)/sigma_left."""
    shape, xf = finite_x(x)
    _, c, h, sl, sr = _check_gmf(1.0, center, half_width, sigma_left, sigma_right)
    out = np.empty_like(xf)
    K.mesa_distance_into(xf, c, h, sl, sr, out)
    return out.reshape(shape.shape)


def gmf(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0, sigma_right=1.0):
    """Asymmetric Gaussian mesa function A * exp(-D**2/2), D the mesa distance.

    Flat at ``amplitude`` on [center - half_width, center + half_width]; Gaussian
    tails of width ``sigma_left`` (x below the plateau) and ``sigma_right`` (above).
    """
    shape, xf = finite_x(x)
    a, c, h, sl, sr = _check_gmf(amplitude, center, half_width, sigma_left, sigma_right)
    out = np.empty_like(xf)
    K.gmf_value_into(xf, a, c, h, sl, sr, out)
    return out.reshape(shape.shape)


def gmf_jacobian(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0,
                 sigma_right=1.0):
    """Derivatives of :func:`gmf` w.r.t. (amplitude, center, half_width, sigma_left,
    sigma_right): array of shape x.shape + (5,)."""
    shape, xf = finite_x(x)
    p = np.array(_check_gmf(amplitude, center, half_width, sigma_left, sigma_right))
    out = np.empty_like(xf)
    jt = np.empty((5, xf.size))
    K.mesa_sum_jac_into(xf, p, 1, 0, 0, out, jt)
    return jt.T.reshape(shape.shape + (5,))


def _check_sharpness(sharpness):
    k = _scalar("sharpness", sharpness)
    if k <= 0:
        raise ValueError(f"sharpness must be > 0 (units 1/x), got {k!r}")
    return k


def smooth_gmf(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0,
               sigma_right=1.0, sharpness=50.0):
    """GMF with softplus(k z)/k in place of relu: smooth everywhere, -> gmf as k grows.

    ``sharpness`` k is in 1/x units (1/s for ECG); corners are rounded over ~1/k.
    """
    shape, xf = finite_x(x)
    a, c, h, sl, sr = _check_gmf(amplitude, center, half_width, sigma_left, sigma_right)
    out = np.empty_like(xf)
    K.smooth_gmf_into(xf, a, c, h, sl, sr, _check_sharpness(sharpness), out,
                      np.empty((0, xf.size)))
    return out.reshape(shape.shape)


def smooth_gmf_jacobian(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0,
                        sigma_right=1.0, sharpness=50.0):
    """Derivatives of :func:`smooth_gmf` w.r.t. its five shape parameters, x.shape + (5,)."""
    shape, xf = finite_x(x)
    a, c, h, sl, sr = _check_gmf(amplitude, center, half_width, sigma_left, sigma_right)
    out = np.empty_like(xf)
    jt = np.empty((5, xf.size))
    K.smooth_gmf_into(xf, a, c, h, sl, sr, _check_sharpness(sharpness), out, jt)
    return jt.T.reshape(shape.shape + (5,))


def tanh_step(x, amplitude=1.0, center=0.0, scale=1.0):
    """Level shift A * tanh((x - center)/scale), from -A to +A.

    The posterior mean of a signed Gaussian (seed 000) scaled by A: use it with a
    constant baseline as a smooth step, e.g. an ST-segment shift.  ``scale`` in x units.
    """
    shape, xf = finite_x(x)
    a, c, s = _check_step(amplitude, center, scale)
    out = np.empty_like(xf)
    K.tanh_step_into(xf, a, c, s, out, np.empty((0, xf.size)))
    return out.reshape(shape.shape)


def tanh_step_jacobian(x, amplitude=1.0, center=0.0, scale=1.0):
    """Derivatives of :func:`tanh_step` w.r.t. (amplitude, center, scale), x.shape + (3,)."""
    shape, xf = finite_x(x)
    a, c, s = _check_step(amplitude, center, scale)
    out = np.empty_like(xf)
    jt = np.empty((3, xf.size))
    K.tanh_step_into(xf, a, c, s, out, jt)
    return jt.T.reshape(shape.shape + (3,))


@njit
def _params_ok(p, k, steps):
    """Fast all-clear: finite values, half-widths >= 0, widths and scales normal > 0."""
    for v in p:
        if not abs(v) <= 1.7976931348623157e308:
            return False
    for i in range(k):
        if not (p[5 * i + 2] >= 0.0 and p[5 * i + 3] >= _TINY and p[5 * i + 4] >= _TINY):
            return False
    for j in range(steps):
        if not p[5 * k + 3 * j + 2] >= _TINY:
            return False
    return True


def check_params(params, baseline="constant", steps=0):
    """Validate a flat parameter vector; return it as float64 and the number K of GMFs.

    The checks run on whole arrays; only when one fails is the first offender looked
    up, so the error names the component, the parameter and its value.
    """
    p = np.ascontiguousarray(np.asarray(params, dtype=np.float64).ravel())
    k = layout(p.size, baseline, steps)
    g = p[:5 * k].reshape(k, 5)
    st = p[5 * k:5 * k + 3 * steps].reshape(steps, 3)
    if not _params_ok(p, k, steps):
        for i in range(k):
            _check_gmf(*g[i], where=f"component {i} ")
        for j in range(steps):
            _check_step(*st[j], where=f"step {j} ")
        nb = baseline_size(baseline)
        for j in range(nb):
            _scalar(f"baseline coefficient c{j}", p[p.size - nb + j])
    return p, k


def mesa_sum(x, params, baseline="constant", steps=0):
    """Sum of K mesa components (+ ``steps`` tanh steps) + polynomial baseline.

    ``params`` is ``[amplitude, center, half_width, sigma_left, sigma_right] * K``,
    then ``[amplitude, center, scale] * steps``, then the baseline coefficients
    ``c0, c1, ...`` of ``sum_j c_j x**j`` (see :func:`baseline_size`).
    """
    shape, xf = finite_x(x)
    p, k = check_params(params, baseline, steps)
    out = np.empty_like(xf)
    K.mesa_sum_into(xf, p, k, steps, baseline_size(baseline), out)
    return out.reshape(shape.shape)


def mesa_sum_and_jacobian(x, params, baseline="constant", steps=0):
    """Value and Jacobian of :func:`mesa_sum` in one pass: (f, J), J of shape (n, P)."""
    shape, xf = finite_x(x)
    p, k = check_params(params, baseline, steps)
    out = np.empty_like(xf)
    jt = np.empty((p.size, xf.size))
    K.mesa_sum_jac_into(xf, p, k, steps, baseline_size(baseline), out, jt)
    return out.reshape(shape.shape), jt.T.reshape(shape.shape + (p.size,))


def mesa_sum_jacobian(x, params, baseline="constant", steps=0):
    """Jacobian of :func:`mesa_sum` w.r.t. every parameter, shape x.shape + (P,)."""
    return mesa_sum_and_jacobian(x, params, baseline, steps)[1]


def param_labels(n_gmf: int, steps: int = 0, baseline="constant", names=None):
    """Readable names of every entry of a flat parameter vector, e.g. ``R_amplitude``.

    ``names`` labels the GMF components (default ``g0, g1, ...``); steps are
    ``step0, ...``; baseline coefficients ``baseline_c0, baseline_c1, ...``
    (the scheme of :class:`Layout`, of result tables and of ``MesaSumModel``).
    """
    names = tuple(names) if names is not None else None
    if names is not None and len(names) != n_gmf:
        raise ValueError(f"{len(names)} component names given for {n_gmf} components")
    return list(Layout(names if names is not None else n_gmf, steps, baseline).labels)


class Layout:
    """Where each parameter sits in a flat parameter vector, and what it is called.

    The vector is ``[amplitude, center, half_width, sigma_left, sigma_right]`` per mesa
    component (``waves``), then ``[amplitude, center, scale]`` per tanh step (``steps``),
    then the coefficients ``c0, c1, ...`` of the per-beat baseline polynomial
    ``sum_j c_j x**j``.  ``waves`` and ``steps`` are names (``("P", "Q", "R", "S", "T")``,
    ``("ST",)``) or counts (named ``g0, g1, ...`` and ``step0, ...``); ``baseline`` is a
    polynomial spec as in :func:`baseline_size`.  Labels: ``{wave}_{param}``,
    ``{step}_{param}``, ``baseline_c{j}``.

    >>> lay = Layout(("P", "R"), steps=("ST",), baseline="linear")
    >>> lay.size, lay.index("R", "center"), lay.baseline_slice
    (15, 6, slice(13, 15, None))
    """

    __slots__ = ("waves", "steps", "n_baseline")

    def __init__(self, waves=1, steps=(), baseline="constant"):
        if isinstance(waves, numbers.Integral):
            waves = tuple(f"g{i}" for i in range(int(waves)))
        if isinstance(steps, numbers.Integral):
            if steps < 0:
                raise ValueError(f"steps={steps!r} must be an integer >= 0 or a tuple of names")
            steps = tuple(f"step{j}" for j in range(int(steps)))
        self.waves, self.steps = tuple(waves), tuple(steps)
        names = self.waves + self.steps
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {names}")
        self.n_baseline = baseline_size(baseline)

    @classmethod
    def of_size(cls, n_params: int, baseline="constant", steps=0, names=None):
        """The layout of a vector of ``n_params`` values (K deduced, see :func:`layout`)."""
        k = layout(n_params, baseline, len(steps) if isinstance(steps, tuple) else steps)
        return cls(tuple(names) if names is not None else k, steps, baseline)

    def __repr__(self):
        return (f"Layout(waves={self.waves!r}, steps={self.steps!r}, "
                f"baseline={self.n_baseline - 1 if self.n_baseline else 'none'!r})")

    def __eq__(self, other):
        return (isinstance(other, Layout) and self.waves == other.waves
                and self.steps == other.steps and self.n_baseline == other.n_baseline)

    def __hash__(self):
        return hash((self.waves, self.steps, self.n_baseline))

    @property
    def n_waves(self) -> int:
        return len(self.waves)

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    @property
    def size(self) -> int:
        """Length of the flat vector."""
        return 5 * self.n_waves + 3 * self.n_steps + self.n_baseline

    @property
    def baseline_degree(self):
        """Degree of the baseline polynomial (``None`` when there is none)."""
        return self.n_baseline - 1 if self.n_baseline else None

    @staticmethod
    def _number(names, item, what) -> int:
        """Position of ``item`` (a name, or a number) among ``names``."""
        if isinstance(item, numbers.Integral):
            if not 0 <= item < len(names):
                raise IndexError(f"{what} {item} out of range for {len(names)} {what}s")
            return int(item)
        try:
            return names.index(item)
        except ValueError:
            raise KeyError(f"no {what} {item!r} in {names}") from None

    def wave(self, wave) -> slice:
        """Slice of a mesa component's five parameters (by name or number)."""
        o = 5 * self._number(self.waves, wave, "wave")
        return slice(o, o + 5)

    def step(self, step) -> slice:
        """Slice of a tanh step's three parameters (by name or number)."""
        o = 5 * self.n_waves + 3 * self._number(self.steps, step, "step")
        return slice(o, o + 3)

    @property
    def waves_slice(self) -> slice:
        """Every mesa component's parameters."""
        return slice(0, 5 * self.n_waves)

    @property
    def steps_slice(self) -> slice:
        o = 5 * self.n_waves
        return slice(o, o + 3 * self.n_steps)

    @property
    def baseline_slice(self) -> slice:
        """The baseline polynomial's coefficients ``c0, c1, ...``."""
        return slice(self.size - self.n_baseline, self.size)

    def index(self, name, param: str) -> int:
        """Position of one parameter, e.g. ``index("T", "center")`` or ``index("ST", "scale")``."""
        if name in self.steps:
            return self.step(name).start + STEP_PARAMS.index(param)
        if param not in GMF_PARAMS:
            raise KeyError(f"{param!r} is not a mesa parameter; use one of {GMF_PARAMS}")
        return self.wave(name).start + GMF_PARAMS.index(param)

    @property
    def labels(self) -> tuple:
        """Name of every entry: ``{wave}_{param}``, ``{step}_{param}``, ``baseline_c{j}``."""
        return (tuple(f"{w}_{p}" for w in self.waves for p in GMF_PARAMS)
                + tuple(f"{s}_{p}" for s in self.steps for p in STEP_PARAMS)
                + tuple(f"baseline_c{j}" for j in range(self.n_baseline)))

    def unpack(self, vectors):
        """A DataFrame with one column per label from a vector (P,) or a matrix (N, P)."""
        import pandas as pd

        arr = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        if arr.shape[-1] != self.size:
            raise ValueError(f"vectors have {arr.shape[-1]} values, the layout {self!r} has {self.size}")
        return pd.DataFrame(arr, columns=list(self.labels))

    def pack(self, table) -> np.ndarray:
        """The (N, P) float64 matrix of a table (DataFrame or mapping) holding every label."""
        missing = [c for c in self.labels if c not in table]
        if missing:
            raise KeyError(f"table lacks the columns {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        cols = [np.asarray(table[c], dtype=np.float64) for c in self.labels]
        return np.ascontiguousarray(np.stack(cols, axis=-1))
