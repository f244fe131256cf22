"""The learned fiducial map: per boundary, the fitted edge of the wave (where its GMF
falls to a fraction ``f`` of its amplitude) plus a linear (ridge) map of the wave's own
parameters, learned on LUDB calibration records (odd numbers, lead ii) by
``benchmarks/calibrate_fiducials.py`` and shipped as ``gmesa/data/fiducial_map.json``.

Each boundary ``b`` has ``frac`` (f), feature names, the training mean and SD of each
feature, coefficients on the standardised features (first: the intercept, s), the
cross-validated residual SD (s, records held out) and the Gram matrix of the
standardised training features per record (``gram``).  The uncertainty of one beat's
boundary is ``cv_sd_all * sqrt(1 + z' gram^-1 z)`` (:data:`FLAT_SD`) with ``z = (1,
standardised features)``: about the CV SD inside the training range, growing outside it (the shift
itself uses the features clamped to the training range ``lo``..``hi``).  An entry with
``var_coef`` (P and T) has instead the variance of its error modelled from the features,
``exp(z_clamped' var_coef) + cv_sd^2 z' gram^-1 z``: the beats like those the map placed
badly on the calibration half get a larger SD.  ``T_off``'s ``inverted_rms`` is the SD
floor of an inverted T's end (``T_off_inverted`` of :func:`map_shifts`).
The peaks (:data:`PEAKS`, optional in a table) are the wave's center plus a map of the
same form (``frac`` None): where observers put the apex of a flat-topped, asymmetric wave.
See docs/ecg.md (fiducials).
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from ..datasets import package_file
from .waves import wave_layout

#: the map shipped with gmesa (in ``gmesa/data``)
MAP_TABLE = "fiducial_map.json"

#: boundaries with a map; ``T_on_inverted`` is the onset of a T of negative amplitude
BOUNDARIES = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off", "T_on_inverted")

#: the peaks a table may map (the wave's center plus a shift; without them, the center).
#: The T peak, mapped the same way, was not kept: LUDB even's median error +2.9 -> -0.4
#: ms but |mean| + SD 20.3 -> 22.2 ms (its errors are skewed; docs/results.md, session 30)
PEAKS = ("P_peak",)

#: the SD of a boundary without a variance model (QRS on and off): the CV residual SD of
#: every matched calibration beat (``cv_sd_all``), not only of those within 4 robust SD
#: (``cv_sd``), which covered too few errors: within +-1.96 SD, QRS on 0.89 of LUDB
#: even's (0.97 with it; mean Gaussian log score 2.85 -> 2.79) and 0.74 of QTDB's
#: (0.93); QRS off 0.96 -> 0.98 (log score 3.033 -> 3.034) and 0.80 -> 0.83.  The joint
#: model's global QRS edges on LUDB even's global marks are then over-covered (QRS on 0.95
#: -> 0.99, log score 2.84 -> 3.01), QTDB's better (0.82 -> 0.94; session 16)
FLAT_SD = "cv_sd_all"

#: the features of each boundary (see :func:`features`)
FEATURES = {
    "P_on": ("half_width", "sigma_left", "sigma_right", "log_snr", "rr"),
    "P_off": ("half_width", "sigma_left", "sigma_right", "log_snr", "rr"),
    "T_on": ("half_width", "sigma_left", "sigma_right", "log_snr", "rr"),
    "T_on_inverted": ("half_width", "sigma_left", "sigma_right", "log_snr", "rr"),
    "T_off": ("half_width", "sigma_left", "sigma_right", "log_snr", "rr"),
    "P_peak": ("half_width", "sigma_left", "sigma_right", "log_snr", "rr"),
    "QRS_on": ("q_ratio", "q_sigma_left", "r_sigma_left", "r_half_width", "rr"),
    "QRS_off": ("s_ratio", "s_sigma_right", "r_sigma_right", "r_half_width", "rr"),
}


@lru_cache(maxsize=4)
def _read(path):
    with open(package_file(MAP_TABLE) if path is None else path) as fh:
        table = json.load(fh)
    for b in BOUNDARIES:
        need = ("frac", "features", "mean", "scale", "coef", "cv_sd", "gram", "lo", "hi")
        if b not in table or any(k not in table[b] for k in need):
            raise ValueError(f"fiducial map {path or MAP_TABLE} lacks boundary {b!r} or one "
                             f"of {need}; rebuild it with benchmarks/calibrate_fiducials.py")
    return table


def fiducial_map(path=None):
    """The learned fiducial map (a dict per boundary, see the module docstring): the one
    shipped with gmesa or the JSON at ``path`` (as ``benchmarks/calibrate_fiducials.py``
    writes it); pass it as ``table`` to :func:`~gmesa.ecg.wave_fiducials`."""
    return json.loads(json.dumps(_read(None if path is None else str(path))))


def features(params, names, boundary, noise=None, rr=None, wave=None):
    """(N, k) features of ``boundary`` for beats ``params`` (N, 5K waves only, names
    ``names``): widths (s) of the wave (T2 counts as T), ``log_snr`` = ln(|amplitude| /
    ``noise``) (noise: residual SD, mV), ``rr`` (s), and for QRS the Q or S amplitude
    relative to R.  Unknown noise or RR are NaN (see :func:`predict`).  ``wave``: read a
    P/T boundary's features off another component (``"T2"``, a second T lobe)."""
    params = np.atleast_2d(np.asarray(params, dtype=float))
    n = params.shape[0]
    lay = wave_layout(names)
    noise = np.broadcast_to(np.nan if noise is None else np.asarray(noise, float), (n,))
    rr = np.broadcast_to(np.nan if rr is None else np.asarray(rr, float), (n,))
    nan = np.full(n, np.nan)

    def par(wave, what):
        return params[:, lay.index(wave, what)] if wave in lay.waves else nan

    wave = wave or ("QRS" if boundary.startswith("QRS") else boundary.split("_")[0])
    cols = []
    for f in FEATURES[boundary]:
        if f in ("half_width", "sigma_left", "sigma_right"):
            cols.append(par(wave, f))
        elif f == "log_snr":
            with np.errstate(divide="ignore", invalid="ignore"):
                cols.append(np.log(np.abs(par(wave, "amplitude")) / noise))
        elif f == "rr":
            cols.append(rr)
        elif f in ("q_ratio", "s_ratio"):
            with np.errstate(divide="ignore", invalid="ignore"):
                cols.append(np.abs(par(f[0].upper(), "amplitude") / par("R", "amplitude")))
        else:  # "q_sigma_left", "r_half_width", ...
            w, what = f.split("_", 1)
            cols.append(par(w.upper(), what))
    return np.column_stack(cols)


def design(x, entry, clamp=False):
    """Standardised design matrix (N, 1 + k) of features ``x`` for a map ``entry``: a
    NaN feature takes the training mean (z = 0); ``clamp`` first limits each feature to
    its training range (``lo``, ``hi``; +-inf goes to the nearer end)."""
    x = np.asarray(x, float)
    if clamp:
        x = np.clip(x, entry["lo"], entry["hi"])
    with np.errstate(invalid="ignore"):
        z = (x - np.asarray(entry["mean"])) / np.asarray(entry["scale"])
    z = np.where(np.isfinite(z), z, np.where(np.isnan(z), 0.0, np.sign(z) * 1e3))
    return np.column_stack([np.ones(len(z)), z])


def predict(x, entry):
    """(shift s, uncertainty SD s) per row of features ``x`` by map ``entry``: the shift
    from the features clamped to the training range (a linear map is not extrapolated),
    the SD from the features as they are, so it grows outside that range."""
    zc = design(x, entry, clamp=True)
    shift = zc @ np.asarray(entry["coef"])
    z = design(x, entry)
    gi = np.linalg.pinv(np.asarray(entry["gram"]))
    lev = np.maximum(np.einsum("ij,jk,ik->i", z, gi, z), 0.0)
    if "var_coef" in entry:  # the error's variance from the features, plus the map's own
        var = np.exp(zc @ np.asarray(entry["var_coef"]))
        return shift, np.sqrt(var + entry["cv_sd"] ** 2 * lev)
    return shift, entry.get(FLAT_SD, entry["cv_sd"]) * np.sqrt(1.0 + lev)


def map_shifts(params, names, noise=None, rr=None, table=None):
    """``{boundary: (frac, shift s (N,), sd s (N,))}`` of the learned map for beats
    ``params`` (N, 5K, waves ``names``); with a ``T2`` lobe also ``T2_on``/``T2_off``
    (the T maps on T2's own parameters); ``T_off_inverted``: the T off of an inverted T,
    its SD at least the map's RMS error over the calibration half's inverted T waves;
    the :data:`PEAKS` the table maps, their frac None."""
    table = _read(None) if table is None else table  # the shipped one, read, not copied
    out = {}
    for b in BOUNDARIES + tuple(p for p in PEAKS if p in table):
        entry = table[b]
        shift, sd = predict(features(params, names, b, noise, rr), entry)
        out[b] = (entry["frac"], shift, sd)
    if table["T_off"].get("inverted_rms") is not None:   # an inverted T's end: its own SD
        frac, shift, sd = out["T_off"]
        out["T_off_inverted"] = (frac, shift, np.fmax(sd, table["T_off"]["inverted_rms"]))
    if "T2" in names:
        for b in ("T_on", "T_off"):
            shift, sd = predict(features(params, names, b, noise, rr, "T2"), table[b])
            out[b.replace("T", "T2", 1)] = (table[b]["frac"], shift, sd)
    return out
