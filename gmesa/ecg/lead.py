"""One lead of a record as the single-lead fit takes it: its samples, the converter's
range in the unit it is fitted in, and the R peaks the caller gave."""
from __future__ import annotations

import numpy as np

from .io import rhythm_lead_index
from .io.units import to_millivolts
from .rpeaks import rpeaks_from_annotations


def lead_signal(record, lead):
    """(samples, name) of ``lead`` of ``record`` (default: lead II or MLII, else the
    first ECG-like lead: :func:`~gmesa.ecg.io.rhythm_lead_index`)."""
    if record.signal.ndim == 1 or record.signal.shape[1] == 1:
        if lead not in (None, 0, -1) and record.lead_index(lead) != 0:
            record.lead(lead)
        return record.lead(0), record.leads[0]
    if lead is None:
        lead = rhythm_lead_index(record.leads, record.units)
    i = record.lead_index(lead)
    return record.lead(i), record.leads[i]


def mv_limits(record, lead_name, unit):
    """The converter's range of the lead in the unit it is fitted in (None if unknown)."""
    limits = record.limits(lead_name)
    if limits is None:
        return None
    original = record.units[record.lead_index(lead_name)]
    if original == unit:
        return limits
    (lo, hi), _ = to_millivolts(np.array([[limits[0]], [limits[1]]]), (original,))
    return float(lo[0]), float(hi[0])


def given_rpeaks(record, rpeaks, n):
    """R peak samples given by the caller (``rpeaks`` "annotations" or sample indices
    into a lead of ``n`` samples), or None (detect them)."""
    if isinstance(rpeaks, str):
        if rpeaks != "annotations":
            raise ValueError(f"rpeaks={rpeaks!r}; use None, 'annotations' or an array")
        if record.annotations is None:
            raise ValueError(f"{record.name}: rpeaks='annotations' but the record has none")
        return rpeaks_from_annotations(record.annotations)
    if rpeaks is None:
        return None
    given = np.unique(np.asarray(rpeaks, dtype=np.int64))
    if given.size and (given[0] < 0 or given[-1] >= n):
        raise ValueError(f"rpeaks must be sample indices in [0, {n}), got "
                         f"[{given[0]}, {given[-1]}]")
    return given
