"""Which leads are ECG: by name (II, V1, MLII, "ECG" ... against ABP, PLETH, RESP ...) and
by unit (a voltage or undeclared, against mmHg, NU, % ...), and the ECG pipeline's
refusal of a lead that is not one.

Reading (:func:`~gmesa.ecg.io.read_record`) refuses nothing on these grounds: any lead
can be read.  The refusal lives in the ECG pipeline (``fit_record``, hence ``fit_leads``
and the batch), which calls :func:`ecg_lead_mv`; ``force_ecg=True`` lets a lead through.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from .record import RecordError
from .units import is_declared, is_voltage, to_millivolts

#: ECG lead names: "ECG..."/"EKG..."; the limb and chest leads (I-III, aVR/aVL/aVF,
#: V1-V9, "V" alone, bipolar pairs like V4-V5, "mod.V1"); Holter and monitor leads (MLII,
#: ML5, MCL1, CM5, CC5, CS2, D3); Frank leads (X, Y, Z, vx, vy, vz); "lead ..."
_ECG_LABEL = re.compile(
    r"(ecg|ekg|^(ml(i{1,3}|\d)|i{1,3}|a?v[rlf]|v[1-9](\s*-\s*v[1-9])?|mod\.?\s*v[1-9]|v"
    r"|mcl\d|c[cms]\d|d\d|v?[xyz]|lead\s*\w+)$)",
    re.IGNORECASE,
)
# names of signals that are not ECG: pressures, pulse oximetry, respiration, others
_NOT_ECG_LABEL = re.compile(
    r"(^|[^a-z0-9])(abp|art|pap|cvp|icp|rap|lap|uap|nbp|nibp|bp|ap|pleth|ppg|resp|respiration|"
    r"spo2|sao2|sp02|co2|etco2|o2|hr|pulse|temp|eeg|emg|eog|flow|pressure|airway|imp)"
    r"($|[^a-z0-9])",
    re.IGNORECASE,
)


def looks_like_ecg(name: Any) -> bool:
    """True when a lead name looks like an ECG lead (II, V1, MLII, "ECG II", ...)."""
    return bool(_ECG_LABEL.search(str(name).strip()))


def not_ecg_reason(name: Any, unit: Any = None) -> str | None:
    """Why a lead cannot be an ECG (its unit is not a voltage, or its name says it is
    a pressure, pleth, respiration ...), or None when it may be one."""
    if is_declared(unit) and not is_voltage(unit):
        return f"unit {str(unit).strip()!r} is not a voltage"
    if not looks_like_ecg(name) and _NOT_ECG_LABEL.search(str(name).strip()):
        return "its name says it is not an ECG"
    return None


def _units(names: Sequence[Any], units: Any) -> list:
    if units is None or isinstance(units, str):
        return [units] * len(names)
    return list(units)


def ecg_leads(names: Sequence[Any], units: Any = None) -> list[str]:
    """The leads among ``names`` (with their ``units``) that may be ECG."""
    return [str(n) for n, u in zip(names, _units(names, units)) if not_ecg_reason(n, u) is None]


def named_ecg_leads(names: Sequence[Any], units: Any = None) -> tuple[list[str], list[str]]:
    """(the leads among ``names`` that may be ECG and whose names look like ECG leads,
    the other leads that may be ECG): a voltage signal with another name (an EEG
    derivation, a test signal) is no ECG lead when the record names its ECG leads."""
    maybe = ecg_leads(names, units)
    named = [n for n in maybe if looks_like_ecg(n)]
    return named, [n for n in maybe if n not in named]


def ecg_lead_index(names: Sequence[Any], units: Any = None) -> int:
    """Index of the first lead whose name looks like an ECG lead, else of the first lead
    that may be one (by name and unit), else 0."""
    us = _units(names, units)
    for i, n in enumerate(names):
        if looks_like_ecg(n) and not_ecg_reason(n, us[i]) is None:
            return i
    for i, n in enumerate(names):
        if not_ecg_reason(n, us[i]) is None:
            return i
    return 0


#: the rhythm lead's names: limb lead II and its Holter form MLII ("II", "MLII", "ECG II",
#: "lead II", "DII"), where the P wave is usually plainest and on which gmesa's fiducial map
#: was learned
_RHYTHM_LABEL = re.compile(r"^((ecg|ekg)[\s_-]*)?(lead[\s_-]*)?(ml|d)?ii$", re.IGNORECASE)


def rhythm_lead_index(names: Sequence[Any], units: Any = None) -> int:
    """Index of the lead an ECG is read from by default: lead II (or MLII) when the
    record has it and it may be an ECG, else :func:`ecg_lead_index`."""
    us = _units(names, units)
    for i, n in enumerate(names):
        if _RHYTHM_LABEL.match(str(n).strip()) and not_ecg_reason(n, us[i]) is None:
            return i
    return ecg_lead_index(names, units)


def _file_ecg_leads(record) -> list[str] | None:
    """ECG leads of the file a one-lead record was read from (header only), if known."""
    if not record.path:
        return None
    from .read import header_leads  # read imports the readers, which import this module

    try:
        infos = header_leads(record.path)
    except (RecordError, OSError):
        return None
    return None if infos is None else ecg_leads([i.name for i in infos], [i.unit for i in infos])


def check_ecg_lead(record, lead: str, force_ecg: bool = False) -> None:
    """Refuse lead ``lead`` of ``record`` for the ECG pipeline when it is not an ECG
    (see :func:`not_ecg_reason`), with one line naming the lead, its unit and the ECG
    leads the record has; ``force_ecg=True`` lets it through."""
    i = record.lead_index(lead)
    name, unit = record.leads[i], record.units[i]
    why = not_ecg_reason(name, unit)
    if why is None or force_ecg:
        return
    others = ecg_leads(record.leads, record.units)
    if not others:  # the record may hold only the leads read from a file: ask the file
        others = _file_ecg_leads(record) or []
    have = (f"ECG leads in this record: {', '.join(repr(x) for x in others)}" if others
            else "this record has no lead that looks like an ECG")
    where = record.path or record.name
    raise RecordError(
        f"{where}: lead {name!r} (unit {unit!r}) is not an ECG: {why}; {have}. Choose an ECG "
        "lead (lead=...), or pass force_ecg=True (command line: --force-ecg) to fit it anyway")


def ecg_lead_mv(record, lead: str, signal: np.ndarray, force_ecg: bool = False):
    """(``signal`` of lead ``lead`` in mV, its unit): refuses a lead that is not an ECG
    (unless ``force_ecg``) and converts a voltage in V, µV or nV to mV; other units are
    left as they are."""
    check_ecg_lead(record, lead, force_ecg)
    unit = record.units[record.lead_index(lead)]
    out, (unit_out,) = to_millivolts(signal, (unit,))
    return out, unit_out
