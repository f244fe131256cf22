"""gmesa: waveforms (ECG beats first of all) as sums of asymmetric Gaussian mesa functions.

A mesa component is ``A * exp(-D**2/2)`` with the mesa Mahalanobis distance
``D = relu(x - mu - delta)/sigma_right + relu(mu - x - delta)/sigma_left``.
"""
from __future__ import annotations

from . import core
from .core import (
    gmf,
    gmf_jacobian,
    Layout,
    mesa_distance,
    mesa_sum,
    mesa_sum_and_jacobian,
    mesa_sum_jacobian,
    smooth_gmf,
    smooth_gmf_jacobian,
    tanh_step,
    tanh_step_jacobian,
)
from .decomp import Decomposition, decompose
from .notation import from_gaussian, from_original, to_gaussian, to_original
from ._deprecated import warn_renamed
from .solvers import (SOLVER_STATUS, ManyFit, SharedFit, fit_least_squares, fit_many,
                      fit_shared, join_shared, shared_labels, split_shared)

__version__ = "0.1.0"


def __getattr__(name):
    # lmfit takes ~1.5 s to import: load the lmfit models only when asked for
    if name in ("MesaModel", "MesaSumModel"):
        from . import models
        return getattr(models, name)
    if name == "STATUS":
        warn_renamed("gmesa.STATUS", "gmesa.SOLVER_STATUS")
        return SOLVER_STATUS
    if name in _MOVED_TO_CORE:  # low-level helpers live in gmesa.core
        warn_renamed(f"gmesa.{name}", f"gmesa.core.{name}")
        return getattr(core, name)
    if name in ("fit_pulses", "PulseFit"):  # pandas-backed: loaded when asked for
        from . import decomp
        return getattr(decomp, name)
    raise AttributeError(f"module 'gmesa' has no attribute {name!r}")

_MOVED_TO_CORE = ("baseline_size", "check_params", "layout", "param_labels")

__all__ = [
    "gmf", "gmf_jacobian", "mesa_distance", "mesa_sum", "mesa_sum_and_jacobian",
    "mesa_sum_jacobian", "smooth_gmf", "smooth_gmf_jacobian", "tanh_step",
    "tanh_step_jacobian", "from_gaussian", "from_original", "to_gaussian", "to_original",
    "MesaModel", "MesaSumModel", "fit_least_squares", "fit_many", "ManyFit",
    "SOLVER_STATUS", "Layout", "fit_shared", "SharedFit", "split_shared", "join_shared",
    "shared_labels",
    "decompose", "Decomposition", "fit_pulses", "PulseFit",
]
