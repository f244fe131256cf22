"""ECG population priors: a Gaussian prior per beat parameter, learned on LUDB
calibration records (odd record numbers, lead ii) by ``benchmarks/calibrate_priors.py``.

The table (``gmesa/data/ecg_priors.csv``, with ``ecg_priors.json`` saying what it was
built from) gives, per :class:`~gmesa.core.Layout` label, a location ``loc`` and spread
``sd`` in seconds; where ``rr_exponent`` is not 0 the location is ``loc * RR**k`` with RR
the interval before the beat (s).  Centers are relative to the R peak.  Amplitudes and
the baseline get no prior (``sd = inf``).  See docs/priors.md.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ..core import Layout
from ..datasets import package_file

#: a wave's shape: its plateau and tails (s), where neighbouring waves trade what they
#: share; its place (center) and height are not part of it
SHAPE = ("half_width", "sigma_left", "sigma_right")

#: the table shipped with gmesa (in ``gmesa/data``)
PRIOR_TABLE = "ecg_priors.csv"
COLUMNS = ("label", "n", "loc", "sd", "rr_exponent")


@lru_cache(maxsize=4)
def _read(path):
    tab = pd.read_csv(package_file(PRIOR_TABLE) if path is None else path)
    missing = [c for c in COLUMNS if c not in tab.columns]
    if missing:
        raise ValueError(f"prior table {path or PRIOR_TABLE} lacks columns {missing}; "
                         f"it needs {list(COLUMNS)} (rebuild it with "
                         "benchmarks/calibrate_priors.py)")
    bad = ~(np.isfinite(tab["loc"]) & (tab["sd"] > 0) & np.isfinite(tab["rr_exponent"]))
    if bad.any():
        raise ValueError(f"prior table {path or PRIOR_TABLE}: rows {list(tab.label[bad])} "
                         "need a finite loc and rr_exponent and sd > 0")
    return tab


def load_priors(path=None):
    """The prior table as a DataFrame (columns ``label, n, loc, sd, rr_exponent``):
    the one shipped with gmesa, or the CSV at ``path``."""
    return _read(None if path is None else str(path)).copy()


def prior_arrays(layout, rr, scale=1.0, table=None, parts=None):
    """``(mean, sd)`` for beats of ``layout`` (a :class:`~gmesa.core.Layout`), each
    (N, P) for the N RR intervals ``rr`` (s, the interval before each beat; a scalar
    gives (P,)).  ``sd`` is the table's spread divided by ``scale`` (scalar or (N,)): pass
    the beat's noise SD (mV) to state the prior for residuals in mV with unit weights
    (docs/priors.md, units).  Labels without a row, amplitudes and the baseline get
    ``sd = inf`` (no prior).  ``table``: a DataFrame like :func:`load_priors` returns;
    ``parts``: the waves/steps that get priors (default: all in the table)."""
    if not isinstance(layout, Layout):
        raise TypeError(f"layout must be a gmesa.Layout, got {type(layout).__name__}")
    rr_arr = np.asarray(rr, dtype=float)
    scalar = rr_arr.ndim == 0
    rr_arr = np.atleast_1d(rr_arr)
    if not np.all(np.isfinite(rr_arr) & (rr_arr > 0)):
        raise ValueError("rr must be finite RR intervals > 0 s (the interval before each "
                         "beat); fill missing ones, e.g. with the median RR")
    scale = np.broadcast_to(np.asarray(scale, dtype=float), rr_arr.shape)
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError("scale must be > 0 and finite (the beat's noise SD in mV)")
    tab = load_priors() if table is None else table
    rows = {lab: r for lab, r in zip(tab["label"], tab.itertuples(index=False))}
    n = rr_arr.size
    mean = np.zeros((n, layout.size))
    sd = np.full((n, layout.size), np.inf)
    for j, label in enumerate(layout.labels):
        row = rows.get(label)
        if row is None or label.endswith("_amplitude") or (
                parts is not None and label.rsplit("_", 1)[0].split("_")[0] not in parts):
            continue
        mean[:, j] = row.loc * rr_arr ** row.rr_exponent
        sd[:, j] = row.sd / scale
    return (mean[0], sd[0]) if scalar else (mean, sd)


def shape_prior(layout, rr, scale=1.0, waves=("P",), table=None):
    """:func:`prior_arrays` on the :data:`SHAPE` of ``waves`` only (every other
    parameter ``sd = inf``): the prior that pins what neighbouring waves trade (a P's
    tails against the baseline or the previous T), leaving each wave's place free (a
    long PR keeps its PR)."""
    mean, sd = prior_arrays(layout, rr, scale, table=table, parts=waves)
    shape = [f"{w}_{k}" for w in waves for k in SHAPE]
    return mean, np.where(np.isin(np.asarray(layout.labels), shape), sd, np.inf)
