"""Wave heights and the ST level, measured on each fitted beat as a cardiologist measures
them: the fitted beat at a fiducial, in mV above the isoelectric level (the PR segment's):
the beat's baseline polynomial with the ST step still at its level before the QRS (the
step ``A tanh((t - c) / s)`` starts at ``-A``).

A component's amplitude is a parameter of the decomposition: where the ST step and the
T wave trade against each other (a low, flat T fitted as an ST rise and a shallow
inverted T, record 100), ``T_amplitude`` is -0.14 mV while the T the eye sees is about
flat.  The heights are read off the fitted sum, so they do not depend on how it is
split:

* ``p_height_mv``, ``t_height_mv``: at the P and T peaks (NaN where the wave is absent);
* ``st_j60_mv``: the ST deviation 60 ms after the J point (the QRS offset), the usual
  clinical reading of ST elevation or depression (NaN without a QRS offset).
"""
from __future__ import annotations

import numpy as np

from .._kernels import mesa_sum_rows_into

#: the ST level is read this long (s) after the J point (the QRS offset)
J_OFFSET = 0.060

#: the heights the per-beat table gains: (column, fiducial it is read at, offset s)
HEIGHTS = (("p_height_mv", "P_peak", 0.0), ("t_height_mv", "T_peak", 0.0),
           ("st_j60_mv", "QRS_off", J_OFFSET))


def heights(params, layout, fid):
    """{column: (N,) mV} of :data:`HEIGHTS`: each beat's fitted waves and steps (rows of
    ``params``, :class:`~gmesa.core.Layout` ``layout``) at its fiducials ``fid`` ({name:
    (N,) s from R}) plus the offset, above the isoelectric level (module docstring); NaN
    where the fiducial or the fit is."""
    params = np.asarray(params, dtype=float)
    n = params.shape[0]
    times = np.zeros((n, len(HEIGHTS)))
    for j, (_, f, off) in enumerate(HEIGHTS):
        times[:, j] = np.asarray(fid[f], dtype=float) + off
    ok = np.all(np.isfinite(params), axis=1)
    values = np.full((n, len(HEIGHTS)), np.nan)
    if ok.any():
        x = np.ascontiguousarray(np.where(np.isfinite(times[ok]), times[ok], 0.0))
        out = np.zeros(x.shape)
        mesa_sum_rows_into(x, np.ascontiguousarray(params[ok]),
                           np.full(int(ok.sum()), x.shape[1], dtype=np.int64), 0,
                           layout.n_waves, layout.n_steps, 0, out)
        values[ok] = out
    for step in layout.steps:  # the steps' level before the QRS is the isoelectric one
        values += params[:, layout.step(step).start][:, None]
    values[~np.isfinite(times)] = np.nan
    return {name: values[:, j] for j, (name, _, _) in enumerate(HEIGHTS)}
