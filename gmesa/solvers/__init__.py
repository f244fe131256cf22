"""Fitting engines: SciPy least_squares and the compiled batch Levenberg-Marquardt."""
from .._deprecated import module_getattr
from .least_squares import fit_least_squares
from .many import SOLVER_STATUS, ManyFit, fit_many
from .shared import SharedFit, fit_shared, join_shared, shared_labels, split_shared

__all__ = ["fit_least_squares", "fit_many", "ManyFit", "SOLVER_STATUS", "fit_shared", "SharedFit",
           "split_shared", "join_shared", "shared_labels"]

__getattr__ = module_getattr(__name__, {"STATUS": "SOLVER_STATUS"}, globals())
