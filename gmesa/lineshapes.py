"""Plain-numpy reference shapes: the readable formulas and the test oracle.

Every compiled kernel in :mod:`gmesa._kernels` is compared against these functions.
They favour clarity over speed.  ``x`` and ``center`` are in seconds (or any unit of
the independent variable), widths in the same unit, ``amplitude`` in the signal's unit.

Parameter vector layout used throughout gmesa for ``K`` mesa components, ``M`` tanh
steps and a baseline polynomial of ``B`` coefficients::

    [amplitude, center, half_width, sigma_left, sigma_right] * K
    + [amplitude, center, scale] * M
    + [c0, c1, ..., c_{B-1}]            # baseline = sum_j c_j * x**j
"""
from __future__ import annotations

import numpy as np

from ._deprecated import warn_renamed

#: guard added to widths so a bare call with a zero width does not divide by zero
tiny = 1.0e-15

GMF_PARAMS = ("amplitude", "center", "half_width", "sigma_left", "sigma_right")
STEP_PARAMS = ("amplitude", "center", "scale")

#: mesa distance D at half maximum (exp(-D**2/2) = 1/2): a tail of width sigma falls to
#: half the amplitude HALF_MAX * sigma beyond the plateau
HALF_MAX = float(np.sqrt(2.0 * np.log(2.0)))


def relu(z):
    """max(0, z), elementwise."""
    return np.maximum(z, 0.0)


def softplus(z, sharpness=1.0):
    """Smooth ReLU: log(1 + exp(k z)) / k, tending to relu(z) as k grows."""
    k = float(sharpness)
    return np.logaddexp(0.0, k * np.asarray(z, dtype=float)) / k


def mesa_distance(x, center=0.0, half_width=0.0, sigma_left=1.0, sigma_right=1.0):
    """Mesa Mahalanobis distance D = relu(x-mu-delta)/s_right + relu(mu-x-delta)/s_left."""
    x = np.asarray(x, dtype=float)
    right = relu(x - center - half_width) / max(sigma_right, tiny)
    left = relu(center - x - half_width) / max(sigma_left, tiny)
    return right + left


def gmf(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0, sigma_right=1.0):
    """Asymmetric Gaussian mesa function A * exp(-D**2 / 2)."""
    d = mesa_distance(x, center, half_width, sigma_left, sigma_right)
    return amplitude * np.exp(-0.5 * d * d)


def gmf_piecewise(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0,
                  sigma_right=1.0):
    """The same function written piecewise, as in the ECG literature (seed 003)."""
    x = np.asarray(x, dtype=float)
    out = np.full_like(x, float(amplitude))
    right = x > center + half_width
    left = x < center - half_width
    out[right] = amplitude * np.exp(-((x[right] - center - half_width) ** 2)
                                    / (2 * sigma_right ** 2))
    out[left] = amplitude * np.exp(-((x[left] - center + half_width) ** 2)
                                   / (2 * sigma_left ** 2))
    return out


def smooth_gmf(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0,
               sigma_right=1.0, sharpness=50.0):
    """GMF with softplus in place of relu: differentiable everywhere.

    ``sharpness`` k has units of 1/x; the corner is rounded over about 1/k.
    Tends to :func:`gmf` as k grows.
    """
    x = np.asarray(x, dtype=float)
    d = (softplus(x - center - half_width, sharpness) / max(sigma_right, tiny)
         + softplus(center - x - half_width, sharpness) / max(sigma_left, tiny))
    return amplitude * np.exp(-0.5 * d * d)


def tanh_step(x, amplitude=1.0, center=0.0, scale=1.0):
    """Level shift A * tanh((x - c) / scale): from -A to +A around ``center``.

    This is the posterior mean of a signed Gaussian (seed 000) with inverse
    temperature m / sigma**2 = 1 / scale, multiplied by A.
    """
    x = np.asarray(x, dtype=float)
    return amplitude * np.tanh((x - center) / max(scale, tiny))


def gaussian(x, amplitude=1.0, center=0.0, sigma=1.0):
    """Symmetric Gaussian: the GMF with half_width 0 and equal widths."""
    return gmf(x, amplitude, center, 0.0, sigma, sigma)


def polynomial(x, coefficients):
    """Polynomial (the per-beat baseline) sum_j c_j x**j (no coefficients: zero)."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for j, c in enumerate(coefficients):
        out = out + c * x ** j
    return out


def baseline(x, coefficients):
    """Deprecated name of :func:`polynomial`."""
    warn_renamed("gmesa.lineshapes.baseline", "gmesa.lineshapes.polynomial")
    return polynomial(x, coefficients)


def _layout(params, baseline, steps):
    from .core import Layout  # core imports this module: look it up at call time

    return Layout.of_size(params.size, baseline, steps)


def mesa_sum(x, params, baseline="constant", steps=0):
    """Sum of K GMFs, ``steps`` tanh steps and a polynomial baseline (layout in module
    doc; ``baseline`` a spec as in :func:`gmesa.core.baseline_size`), like :func:`gmesa.mesa_sum`."""
    params = np.asarray(params, dtype=float)
    lay = _layout(params, baseline, steps)
    out = polynomial(x, params[lay.baseline_slice])
    for w in lay.waves:
        out = out + gmf(x, *params[lay.wave(w)])
    for s in lay.steps:
        out = out + tanh_step(x, *params[lay.step(s)])
    return out


def gmf_jacobian(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=1.0,
                 sigma_right=1.0):
    """d gmf / d(amplitude, center, half_width, sigma_left, sigma_right), shape (n, 5).

    At the plateau edges (x = mu +- delta) the one-sided derivatives agree for
    every parameter except through relu's kink, where D = 0 and all tail terms vanish;
    the value used there is the plateau's.
    """
    x = np.asarray(x, dtype=float)
    ur = x - center - half_width
    ul = center - x - half_width
    right = ur > 0
    left = ul > 0
    dr = np.where(right, ur / sigma_right, 0.0)
    dl = np.where(left, ul / sigma_left, 0.0)
    d = dr + dl
    e = np.exp(-0.5 * d * d)
    g = amplitude * e
    jac = np.zeros(x.shape + (5,))
    jac[..., 0] = e
    jac[..., 1] = np.where(right, g * dr / sigma_right, 0.0) - np.where(left, g * dl / sigma_left, 0.0)
    jac[..., 2] = np.where(right, g * dr / sigma_right, 0.0) + np.where(left, g * dl / sigma_left, 0.0)
    jac[..., 3] = np.where(left, g * dl * dl / sigma_left, 0.0)
    jac[..., 4] = np.where(right, g * dr * dr / sigma_right, 0.0)
    return jac


def tanh_step_jacobian(x, amplitude=1.0, center=0.0, scale=1.0):
    """d tanh_step / d(amplitude, center, scale), shape (n, 3)."""
    x = np.asarray(x, dtype=float)
    u = (x - center) / scale
    t = np.tanh(u)
    sech2 = 1.0 - t * t
    return np.stack([t, -amplitude * sech2 / scale, -amplitude * sech2 * u / scale], axis=-1)


def mesa_sum_jacobian(x, params, baseline="constant", steps=0):
    """Jacobian of :func:`mesa_sum` with respect to every parameter, shape (n, P)."""
    x = np.asarray(x, dtype=float)
    params = np.asarray(params, dtype=float)
    lay = _layout(params, baseline, steps)
    cols = [gmf_jacobian(x, *params[lay.wave(w)]) for w in lay.waves]
    cols += [tanh_step_jacobian(x, *params[lay.step(s)]) for s in lay.steps]
    nb = lay.n_baseline
    cols += [np.stack([x ** j for j in range(nb)], axis=-1)] if nb else []
    return np.concatenate(cols, axis=-1) if cols else np.zeros(x.shape + (0,))


#: every shape, for tests to parametrize over: (name, function, parameter names)
SHAPES = (
    ("gmf", gmf, GMF_PARAMS),
    ("smooth_gmf", smooth_gmf, GMF_PARAMS + ("sharpness",)),
    ("tanh_step", tanh_step, STEP_PARAMS),
    ("gaussian", gaussian, ("amplitude", "center", "sigma")),
)
