"""Shared test problems of the solver tests (test_solvers, test_priors)."""
import numpy as np

TIGHT = dict(ftol=1e-12, xtol=1e-12, gtol=1e-12)

#: three well-separated components (P-, R-, T-like) + a constant on [0, 1]
X3 = np.linspace(0.0, 1.0, 301)
P3 = np.array([1.0, 0.25, 0.03, 0.04, 0.06,
               -0.6, 0.5, 0.02, 0.03, 0.025,
               0.5, 0.75, 0.05, 0.05, 0.08,
               0.1])
NAMES3 = ("P", "R", "T")
NOISE3 = 0.02
