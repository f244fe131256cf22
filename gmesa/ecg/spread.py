"""How sure the template's reading is: the part of each boundary's uncertainty that is the
same in every beat of a record.

Every beat starts from the template (the median beat, :mod:`gmesa.ecg.template`), and
the template decides which deflection is which wave; a template that reads a boundary
off the wrong feature moves it in every beat, an error the per-beat SD of the learned
map (:mod:`gmesa.ecg.fidmap`) cannot see.  Here the template is built again from each
half of its beats (every other beat) and fitted under the record's model choice.  How far
a half's reading of a boundary lies from the full template's estimates the size of that
error: the variance of a half-sample estimate is twice the full one's, so its distance
from the full estimate has about the full estimate's SD.  The larger of the two halves'
distances is the boundary's spread, and each beat's ``{boundary}_sd_ms`` adds it in
quadrature to the map's SD.

Times in seconds from R, amplitudes in mV.
"""
from __future__ import annotations

import numpy as np

from .template import TEMPLATE_BEATS, fit_template, median_on, read_as_beats

#: the boundaries whose spread is measured
SPREAD_BOUNDARIES = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off")

#: each half needs at least this many beats (fewer: no spread is measured)
SPLIT_MIN_BEATS = 5


def readings(opts, params, noise, rr):
    """{boundary: s} of the :data:`SPREAD_BOUNDARIES` of one template fit ``params``
    read as the beats are read (:func:`~gmesa.ecg.template.read_as_beats`)."""
    fid = read_as_beats(opts, params, noise, rr)
    return {b: fid[b] for b in SPREAD_BOUNDARIES}


def split_half_spread(opts, template, sig, r, usable, fs, rr, qrs_on, own=None):
    """{boundary: s}: the larger distance between the reading of ``template`` (a
    :class:`~gmesa.ecg.presence.TemplateFit` on its grid ``t``) and that of a template
    built from every other one of the ``usable`` beats (R peaks ``r``, samples of
    ``sig`` at ``fs`` Hz; median RR ``rr`` s, the median beat's QRS onset ``qrs_on`` s),
    each fitted under the template's model choice (and near its R').  Empty with fewer than
    :data:`SPLIT_MIN_BEATS` beats per half; a boundary either reading lacks is 0.
    ``own``: as :func:`~gmesa.ecg.template.fitted_template` takes it."""
    offs = np.rint(np.asarray(template.t) * fs).astype(np.int64)
    idx = np.flatnonzero(usable)
    idx = idx[(r[idx] + offs[0] >= 0) & (r[idx] + offs[-1] < sig.size)]
    if idx.size > TEMPLATE_BEATS:
        idx = idx[np.linspace(0, idx.size - 1, TEMPLATE_BEATS).astype(int)]
    if idx.size < 2 * SPLIT_MIN_BEATS:
        return {}
    hyp = None if template.stretch is None else template.stretch.hyp
    full = readings(opts, template.params, template.rmse, rr)
    spread = dict.fromkeys(full, 0.0)
    for half in (idx[0::2], idx[1::2]):
        med = median_on(sig, r[half], offs)
        if med is None:
            return {}
        y = med[0] if own is None else med[0] + own(template.t)
        fit = fit_template(opts, template.t, y, rr, qrs_on, med[1], hyp, near=template)
        for b, v in readings(opts, fit.params, template.rmse, rr).items():
            if np.isfinite(v) and np.isfinite(full[b]):
                spread[b] = max(spread[b], abs(v - full[b]))
    return spread


def with_spread(sd, spread):
    """Per-beat SDs ``sd`` ({boundary: (N,) s}) with the template's ``spread``
    ({boundary: s}, or None) added in quadrature."""
    spread = spread or {}
    return {b: np.hypot(v, spread[b]) if b in spread else v for b, v in sd.items()}
