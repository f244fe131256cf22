"""Each wave's spatial direction and the spatial QRS-T angle, from the per-lead fits.

A wave's fitted amplitude (or area) in each lead is its projection on that lead, so the
leads together give the wave's vector in the orthogonal X, Y, Z frame of the heart:

- from the Frank leads ``vx``, ``vy``, ``vz`` directly (used as recorded: their sign
  convention is the record's; on PTB s0010_re the two frames agree once ``vz`` is
  negated, ``leads={"vz": "-vz"}``, see ``benchmarks/spatial_frames.py``);
- from a standard 12-lead set through the **inverse Dower transform** (Edenbrandt L,
  Pahlm O. Vectorcardiogram synthesized from a 12-lead ECG: superiority of the inverse
  Dower matrix. J Electrocardiol 1988;21:361-7): :data:`INVERSE_DOWER` maps the 8
  independent leads V1-V6, I, II to X (left), Y (feet), Z (back).  The coefficients
  were checked against BRAVEHEART's ``dowermatrix.m`` (Stabenau and Waks, GPL), which
  ships the same numbers.

Which vector stands for a wave (``measure``):

- ``"area"`` (default): the **mean vectors**, the integral of each lead's fitted model
  from QRS onset to QRS offset (QRS) and from QRS offset to T offset (ST-T), above the
  straight line through the model's values at QRS onset and T offset, on the global
  boundaries of the combined table.  The clinical spatial QRS-T angle is defined on
  these mean (area) QRS and T vectors (the "spatial mean QRS-T angle").  It reads the
  fitted curve, not how a lead's fit split it into components: a per-lead fit that
  trades part of its T wave for an ST step and a baseline slope still gives the right
  area.
- ``"components"``: the sum of the fitted components' areas, analytic (the area of a
  GMF is ``A * (2*half_width + sqrt(pi/2)*(sigma_left + sigma_right))``, mV*s); QRS sums
  Q, R and S, T sums T (and T2).  Exact for a joint fit with shared timing; with
  per-lead fits, sensitive to how each lead split its signal (ST step, baseline).
- ``"peak"``: the amplitude vectors ``{wave}_amplitude_{lead}`` of the combined table;
  QRS is the largest of its Q, R and S vectors (the "spatial peak QRS-T angle").

Angles, in degrees: ``{wave}_azimuth_deg`` = atan2(Z, X), the direction in the
horizontal plane from +X (left) towards +Z (back), in (-180, 180];
``{wave}_elevation_deg`` = the angle from the horizontal plane towards +Y (feet), in
[-90, 90]; ``QRS_T_angle_deg`` the angle between the QRS and T vectors, in [0, 180]
(it does not depend on the axes' sign conventions).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .fiducials import QRS_WAVES

#: the leads the inverse Dower matrix takes, in its column order
DOWER_LEADS = ("v1", "v2", "v3", "v4", "v5", "v6", "i", "ii")
#: inverse Dower matrix (Edenbrandt & Pahlm 1988): rows X, Y, Z; columns DOWER_LEADS
INVERSE_DOWER = np.array([
    [-0.172, -0.074, 0.122, 0.231, 0.239, 0.194, 0.156, -0.010],
    [0.057, -0.019, -0.106, -0.022, 0.041, 0.048, -0.227, 0.887],
    [-0.229, -0.310, -0.246, -0.063, 0.055, 0.108, 0.022, 0.102],
])
#: the orthogonal Frank leads, X, Y, Z
FRANK_LEADS = ("vx", "vy", "vz")
#: columns :func:`spatial_directions` returns
SPATIAL_COLUMNS = ("QRS_azimuth_deg", "QRS_elevation_deg", "T_azimuth_deg",
                   "T_elevation_deg", "QRS_T_angle_deg")
#: components that make up each wave's vector
WAVE_PARTS = {"QRS": QRS_WAVES, "T": ("T", "T2")}
SYSTEMS = ("auto", "frank", "dower")
MEASURES = ("area", "components", "peak")
#: points of the grid each wave's area is integrated on
GRID = 201
#: beats whose areas are computed at once
CHUNK = 2048
#: smallest width a GMF flank or a step's scale is divided by (s)
TINY = 1.0e-15


def _canonical(name):
    return str(name).strip().lower().replace(" ", "").replace("-", "")


def lead_system(names, system="auto", leads=None):
    """``(system, mapping)``: which orthogonal frame the lead ``names`` allow and which
    record lead stands for each lead it needs (canonical name -> record name).

    ``system``: ``"frank"`` (vx, vy, vz), ``"dower"`` (V1-V6, I, II) or ``"auto"``
    (Frank when all three are there, else Dower).  ``leads`` maps canonical names
    (``"v1"``, ``"i"``, ``"vx"`` ...) to record lead names that differ from them; a
    name prefixed with ``-`` takes that lead negated (``{"vz": "-vz"}``: a Z lead
    recorded with the front positive).  Raises ValueError naming the missing leads
    when the frame cannot be built.
    """
    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {SYSTEMS}, got {system!r}")
    names = [str(n) for n in names]
    found = {_canonical(n): n for n in names}
    for canon, real in (leads or {}).items():
        if _signed(real)[0] not in names:
            raise ValueError(f"leads maps {canon!r} to {real!r}, which is not among the "
                             f"leads {names}")
        found[_canonical(canon)] = str(real)
    order = {"frank": [FRANK_LEADS], "dower": [DOWER_LEADS],
             "auto": [FRANK_LEADS, DOWER_LEADS]}[system]
    for need in order:
        if all(n in found for n in need):
            return ("frank" if need is FRANK_LEADS else "dower"), {n: found[n] for n in need}
    missing = {("frank" if need is FRANK_LEADS else "dower"):
               [n for n in need if n not in found] for need in order}
    raise ValueError("no spatial frame: " + "; ".join(
        f"{s} needs leads {', '.join(m)}" for s, m in missing.items())
        + f" (the leads are {', '.join(names) or 'none'}); name them with "
        "leads={'v1': 'V1', ...} when the record calls them otherwise")


def _signed(real):
    """(record lead name, sign) of a mapping value: ``"-vz"`` -> ``("vz", -1.0)``."""
    real = str(real)
    return (real[1:], -1.0) if real.startswith("-") and len(real) > 1 else (real, 1.0)


def can_build(names, system="auto", leads=None):
    """True when :func:`lead_system` finds a frame for the lead ``names``."""
    try:
        lead_system(names, system, leads)
    except ValueError:
        return False
    return True


def to_xyz(values, system):
    """(n, 3) X, Y, Z vectors from per-lead values (canonical lead name -> (n,) array)
    of the ``system`` (``"frank"`` or ``"dower"``); NaN where a needed lead is NaN."""
    if system == "frank":
        return np.column_stack([np.asarray(values[n], dtype=float) for n in FRANK_LEADS])
    if system == "dower":
        v = np.column_stack([np.asarray(values[n], dtype=float) for n in DOWER_LEADS])
        return v @ INVERSE_DOWER.T
    raise ValueError(f"system must be 'frank' or 'dower', got {system!r}")


def direction(xyz):
    """(azimuth, elevation) in degrees of (n, 3) vectors (see the module docstring)."""
    xyz = np.atleast_2d(np.asarray(xyz, dtype=float))
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    return np.degrees(np.arctan2(z, x)), np.degrees(np.arctan2(y, np.hypot(x, z)))


def spatial_angle(a, b):
    """Angle in degrees between the rows of two (n, 3) arrays of vectors, in [0, 180]
    (NaN where either is NaN or zero)."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    b = np.atleast_2d(np.asarray(b, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def gmf_area(amplitude, half_width, sigma_left, sigma_right):
    """Area under a GMF (mV*s for mV and s): A * (2*half_width + sqrt(pi/2)*(sl + sr))."""
    return amplitude * (2.0 * half_width + np.sqrt(np.pi / 2.0) * (sigma_left + sigma_right))


def wave_area(beats, wave):
    """Per beat, the summed area (mV*s) of the components of ``wave`` (``"QRS"`` or
    ``"T"``) in one lead's per-beat table (``{w}_amplitude``, ``{w}_half_width``, ...).

    A T the fit found absent in this lead (``T_present`` false) counts as 0 (its
    projection is too small to see); NaN parameters (a beat not fitted) give NaN."""
    total = np.zeros(len(beats))
    fitted = (np.isfinite(beats["rmse"].to_numpy(dtype=float)) if "rmse" in beats
              else np.ones(len(beats), dtype=bool))
    absent = np.zeros(len(beats), dtype=bool)
    if wave == "T" and "T_present" in beats:
        absent = ~beats["T_present"].fillna(False).to_numpy(dtype=bool) & fitted
    for w in WAVE_PARTS[wave]:
        if f"{w}_amplitude" not in beats:
            continue
        p = [beats[f"{w}_{k}"].to_numpy(dtype=float)
             for k in ("amplitude", "half_width", "sigma_left", "sigma_right")]
        total = total + np.where(absent, 0.0, gmf_area(*p))
    return np.where(fitted, total, np.nan)


def model_on_grid(params, layout, x):
    """The model of :class:`~gmesa.core.Layout` ``layout`` with one parameter row per beat
    (``params`` (n, P)) at times ``x`` (n, G) (s from each beat's R peak), vectorised
    over beats: the same values as :func:`gmesa.mesa_sum` row by row."""
    p = np.asarray(params, dtype=float)
    y = np.zeros_like(x)
    for j, k in enumerate(range(*layout.baseline_slice.indices(p.shape[1]))):
        y = y + p[:, k, None] * x ** j
    for w in layout.waves:
        a, c, h, sl, sr = (p[:, k, None] for k in range(*layout.wave(w).indices(p.shape[1])))
        d = (np.maximum(x - c - h, 0.0) / np.maximum(sr, TINY)
             + np.maximum(c - h - x, 0.0) / np.maximum(sl, TINY))
        y = y + a * np.exp(-0.5 * d * d)
    for s in layout.steps:
        a, c, sc = (p[:, k, None] for k in range(*layout.step(s).indices(p.shape[1])))
        y = y + a * np.tanh((x - c) / np.maximum(sc, TINY))
    return y


def model_areas(rf, on, mid, off):
    """Per beat, the areas (mV*s) of the fitted model of one lead (a RecordFit) from
    ``on`` to ``mid`` and from ``mid`` to ``off`` (s from each beat's R peak), above the
    straight line through the model's values at ``on`` and ``off`` (at ``on`` only
    where ``off`` is NaN or not after ``mid``; the second area is then NaN).  Beats not
    fitted (NaN parameters) give NaN."""
    lay = rf.layout
    params = lay.pack(rf.beats) if len(rf.beats) else np.zeros((0, lay.size))
    on, mid, off = (np.asarray(v, dtype=float) for v in (on, mid, off))
    good = np.isfinite(on) & np.isfinite(mid) & (mid > on) & np.all(np.isfinite(params), axis=1)
    has_end = good & np.isfinite(off) & (off > mid)
    first, second = np.full(on.size, np.nan), np.full(on.size, np.nan)
    end = np.where(has_end, off, mid)
    u = np.linspace(0.0, 1.0, GRID)
    idx = np.flatnonzero(good)
    for k in range(0, idx.size, CHUNK):             # bounded memory on long records
        j = idx[k:k + CHUNK]
        xa = on[j, None] + (mid[j] - on[j])[:, None] * u
        xb = mid[j, None] + (end[j] - mid[j])[:, None] * u
        ya, yb = (model_on_grid(params[j], lay, x) for x in (xa, xb))
        slope = np.where(has_end[j], (yb[:, -1] - ya[:, 0]) / (end[j] - on[j]), 0.0)
        first[j] = np.trapezoid(ya - ya[:, :1] - slope[:, None] * (xa - xa[:, :1]), xa, axis=1)
        second[j] = np.trapezoid(yb - ya[:, :1] - slope[:, None] * (xb - xa[:, :1]), xb, axis=1)
    second[~has_end] = np.nan
    return first, second


def _peak_values(beats, lead, wave):
    """The amplitude of ``wave`` in ``lead`` from a combined table, per beat: for QRS a
    (n, 3) array of its Q, R, S amplitudes."""
    cols = [f"{w}_amplitude_{lead}" for w in WAVE_PARTS[wave]]
    have = [c for c in cols if c in beats]
    if not have:
        raise ValueError(f"the table has no {' or '.join(cols)} column: measure='peak' "
                         "needs the per-lead amplitude columns of fit_leads")
    if wave == "T":
        return beats[f"T_amplitude_{lead}"].to_numpy(dtype=float)
    return np.column_stack([beats[c].to_numpy(dtype=float) if c in beats
                            else np.zeros(len(beats)) for c in cols])


def _vectors(fit, beats, system, mapping, measure):
    """(QRS, T) (n, 3) vectors in the ``system`` frame."""
    if measure in ("area", "components"):
        if not hasattr(fit, "fits"):
            raise ValueError("measure='area' needs a LeadsFit (the widths of each lead's "
                             "components); with a beats table give measure='peak'")
        missing = [_signed(real)[0] for real in mapping.values()
                   if _signed(real)[0] not in fit.fits]
        if missing:
            raise ValueError(f"the fit holds no lead {', '.join(missing)}: fit them "
                             "(fit_leads(record, leads=...)) or name others with leads=")
        if measure == "area":
            r = beats["r_peak_s"].to_numpy(dtype=float)
            on, mid, off = (beats[c].to_numpy(dtype=float) - r
                            for c in ("QRS_on_s", "QRS_off_s", "T_off_s"))
            areas = {c: model_areas(fit.fits[_signed(real)[0]], on, mid, off)
                     for c, real in mapping.items()}
            return [to_xyz({c: _signed(mapping[c])[1] * a[k] for c, a in areas.items()}, system)
                    for k in (0, 1)]
        out = []
        for wave in ("QRS", "T"):
            vals = {c: _signed(real)[1] * wave_area(fit.fits[_signed(real)[0]].beats, wave)
                    for c, real in mapping.items()}
            out.append(to_xyz(vals, system))
        return out
    parts = {c: _signed(real)[1] * _peak_values(beats, _signed(real)[0], "QRS")
             for c, real in mapping.items()}
    each = [to_xyz({c: v[:, k] for c, v in parts.items()}, system) for k in range(3)]
    stack = np.stack(each)                                         # (Q/R/S, n, 3)
    norms = np.where(np.isfinite(stack).all(axis=2), np.linalg.norm(stack, axis=2), -1.0)
    qrs = stack[np.argmax(norms, axis=0), np.arange(stack.shape[1])]
    qrs[np.max(norms, axis=0) < 0] = np.nan
    t = to_xyz({c: _signed(real)[1] * _peak_values(beats, _signed(real)[0], "T")
                for c, real in mapping.items()}, system)
    return qrs, t


def spatial_directions(fit, *, measure="area", system="auto", leads=None):
    """Per beat, the spatial direction of QRS and T and the spatial QRS-T angle (deg).

    Parameters
    ----------
    fit : a :class:`~gmesa.ecg.LeadsFit`, or its ``beats`` table (then
        ``measure="peak"``: it holds the amplitudes ``{wave}_amplitude_{lead}`` only).
    measure : ``"area"`` (mean vectors of the fitted curves, the clinical definition),
        ``"components"`` or ``"peak"``; see the module docstring.
    system : ``"auto"`` (Frank leads vx, vy, vz when present, else the inverse Dower
        transform of V1-V6, I, II), ``"frank"`` or ``"dower"``.
    leads : canonical name -> record lead name, for records that name leads otherwise
        (``{"i": "DI", "v1": "V1-chest"}``).

    Returns a DataFrame with the rows of the beats table and the columns
    :data:`SPATIAL_COLUMNS`; T columns and the angle are NaN where T is absent
    (``T_present`` false), everything is NaN where a needed lead was not fitted.
    ``df.attrs`` holds ``system``, ``measure`` and ``leads`` (the mapping used).
    Raises ValueError when the leads allow no frame (the message names the missing ones).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    if isinstance(fit, pd.DataFrame):
        beats = fit
        names = sorted({c.split("_amplitude_", 1)[1] for c in beats.columns
                        if "_amplitude_" in c})
    elif hasattr(fit, "beats") and hasattr(fit, "fits"):
        beats, names = fit.beats, list(fit.fits)
    else:
        raise TypeError(f"fit must be a LeadsFit or its beats DataFrame, got "
                        f"{type(fit).__name__}")
    system, mapping = lead_system(names, system, leads)
    qrs, t = _vectors(fit, beats, system, mapping, measure)
    if "T_present" in beats:
        t[~beats["T_present"].fillna(False).to_numpy(dtype=bool)] = np.nan
    q_az, q_el = direction(qrs)
    t_az, t_el = direction(t)
    out = pd.DataFrame({"QRS_azimuth_deg": q_az, "QRS_elevation_deg": q_el,
                        "T_azimuth_deg": t_az, "T_elevation_deg": t_el,
                        "QRS_T_angle_deg": spatial_angle(qrs, t)}, index=beats.index)
    zero = ~(np.linalg.norm(qrs, axis=1) > 0)
    out.loc[zero, ["QRS_azimuth_deg", "QRS_elevation_deg"]] = np.nan
    zero_t = ~(np.linalg.norm(t, axis=1) > 0)
    out.loc[zero_t, ["T_azimuth_deg", "T_elevation_deg"]] = np.nan
    out.attrs.update(system=system, measure=measure, leads=mapping)
    return out


def add_spatial(fit, **kw):
    """Add :data:`SPATIAL_COLUMNS` to ``fit.beats`` (a LeadsFit) when its leads allow a
    frame and it has none yet; record the frame in ``fit.info["spatial"]``.  Returns
    whether it added them.  ``kw`` go to :func:`spatial_directions`."""
    if all(c in fit.beats for c in SPATIAL_COLUMNS) or not can_build(
            list(fit.fits), kw.get("system", "auto"), kw.get("leads")):
        return False
    df = spatial_directions(fit, **kw)
    for c in SPATIAL_COLUMNS:
        fit.beats[c] = df[c].to_numpy()
    fit.info["spatial"] = dict(df.attrs)
    return True
