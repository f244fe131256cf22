"""Fitting engines: SciPy least_squares and the compiled batch Levenberg-Marquardt."""
from .least_squares import fit_least_squares
from .many import STATUS, ManyFit, fit_many

__all__ = ["fit_least_squares", "fit_many", "ManyFit", "STATUS"]
