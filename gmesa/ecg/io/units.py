"""Voltage units to mV; samples whose unit nobody declared are mV, or µV / V where their
amplitude is implausible for mV and looks like that (with a warning)."""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .record import RecordError
from ..._warn import warn

#: the unit every voltage lead has once read (the ECG pipeline works in mV)
MV = "mV"

#: robust peak-to-peak amplitude (mV) above which undeclared samples look like µV
PTP_UV_ABOVE = 50.0
#: robust peak-to-peak amplitude (mV) below which undeclared samples look like V
PTP_V_BELOW = 0.005

# (divide by, multiply by) to get mV; division keeps decimal values such as 1234.5 uV exact
_VOLTAGE = {"v": (1.0, 1e3), "mv": (1.0, 1.0), "uv": (1e3, 1.0), "nv": (1e6, 1.0)}
_PREFIX_WORDS = {"": "v", "milli": "mv", "micro": "uv", "nano": "nv"}


def _voltage_key(unit) -> str | None:
    """'v', 'mv', 'uv' or 'nv' for a voltage unit in any usual spelling, else None."""
    u = str(unit).strip().replace("µ", "u").replace("μ", "u").casefold()
    u = re.sub(r"[\s._]", "", u)
    if u in _VOLTAGE:
        return u
    m = re.fullmatch(r"(milli|micro|nano|)volts?", u)
    if m:
        return _PREFIX_WORDS[m.group(1)]
    m = re.fullmatch(r"([mun]?)volts?", u)
    return (m.group(1) + "v") if m else None


def is_voltage(unit) -> bool:
    """True for V, mV, µV/uV, nV in any case or spelling (``"microvolt"`` too)."""
    return _voltage_key(unit) is not None


def is_declared(unit) -> bool:
    """False for a missing unit (``None``, ``""``, ``"?"``)."""
    return unit is not None and str(unit).strip() not in ("", "?")


def to_millivolts(signal: np.ndarray, units: Sequence[str],
                  copy: bool = True) -> tuple[np.ndarray, tuple[str, ...]]:
    """``signal`` (n,) or (n, n_leads) with every voltage lead converted to mV, and the
    units afterwards (``"mV"`` for those leads; others as they were).  Leads already in
    mV are left untouched (no copy when no lead needs converting); ``copy=False``
    converts a float64 ``signal`` in place."""
    units = tuple(units)
    keys = [_voltage_key(u) for u in units]
    out_units = tuple(MV if k else u for k, u in zip(keys, units))
    todo = [i for i, k in enumerate(keys) if k and k != "mv"]
    if not todo:
        return signal, out_units
    out = np.array(signal, dtype=np.float64, copy=copy)
    cols = out if out.ndim == 2 else out[:, None]
    for i in todo:
        div, mul = _VOLTAGE[keys[i]]
        cols[:, i] = cols[:, i] / div if div != 1.0 else cols[:, i] * mul
    return out, out_units


def robust_ptp(x: np.ndarray) -> float:
    """Peak-to-peak amplitude between the 0.5th and 99.5th percentiles of the finite
    samples (NaN when there are none)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    lo, hi = np.percentile(x, [0.5, 99.5])
    return float(hi - lo)


def looks_like(ptp: float) -> str | None:
    """``"µV"`` or ``"V"`` when an amplitude (robust peak-to-peak) is implausible for
    mV, else None."""
    if not np.isfinite(ptp) or ptp == 0.0:
        return None
    if ptp > PTP_UV_ABOVE:
        return "µV"
    if ptp < PTP_V_BELOW:
        return "V"
    return None


def undeclared_units(signal: np.ndarray, leads: Sequence[str], path, how: str) -> list[str]:
    """The unit each lead of undeclared unit is read in: mV, or µV / V where its amplitude
    is implausible for mV and looks like that (:func:`looks_like`: an ECG exported in µV
    read as mV is a thousand times too large, and every amplitude the pipeline judges in
    mV is then wrong), with a warning saying so; ``how`` says how to declare the unit
    for this kind of file."""
    cols = signal if signal.ndim == 2 else signal[:, None]
    out = []
    for i, name in enumerate(leads):
        ptp = robust_ptp(cols[:, i])
        unit = looks_like(ptp)
        if unit:
            warn(
                 f"{path}: lead {name!r} has no declared unit and a peak-to-peak amplitude of "
                 f"{ptp:.4g}, implausible for mV: it is read as {unit}; if it is not {unit}, "
                 f"{how}", RuntimeWarning)
        out.append({"µV": "uV", "V": "V"}.get(unit, MV))
    return out


def settle_units(signal: np.ndarray, leads: Sequence[str], units, path, how: str):
    """(signal, units) for a file whose units may be undeclared: ``units`` (one str for
    every lead, one per lead, or None) are converted to mV where they are voltages; a
    lead with no unit is read as mV, or as µV or V where its amplitude looks like that,
    with a warning (:func:`undeclared_units`; ``how`` says how to declare it)."""
    n = len(leads)
    if units is None or isinstance(units, str):
        units = [units] * n
    units = list(units)
    if len(units) != n:
        raise RecordError(f"{path}: {len(units)} units {tuple(units)} for {n} lead(s) {tuple(leads)}")
    unknown = [i for i, u in enumerate(units) if not is_declared(u)]
    read_as = {}
    if unknown:
        cols = signal if signal.ndim == 2 else signal[:, None]
        read_as = dict(zip(unknown, undeclared_units(cols[:, unknown], [leads[i] for i in unknown],
                                                     path, how)))
    return to_millivolts(signal, [read_as[i] if i in unknown else str(units[i]).strip()
                                  for i in range(n)])
