"""Reading the lead(s) of one record for a fit: the header first (WFDB, EDF/BDF) so
that only the chosen lead is read, which keeps memory low for long multi-lead files."""
from __future__ import annotations

from .discovery import carries_no_rate

__all__ = ["peek_leads", "pick_lead", "read_lead", "other_ecg_leads"]


def peek_leads(path, with_units=False):
    """Lead names of a WFDB (any layout, .dat or .mat) or EDF/BDF file from its header
    alone (None if unknown); ``with_units``: (names, units)."""
    from ..ecg.io import header_leads
    try:
        leads = header_leads(path)
    except Exception:
        return None
    if not leads:
        return None
    names = [x.name for x in leads]
    return (names, [x.unit for x in leads]) if with_units else names


def pick_lead(names, units=None):
    """Index of lead II or MLII, else of the first lead whose name (and unit) looks like
    an ECG lead, else 0 (:func:`~gmesa.ecg.io.rhythm_lead_index`)."""
    from ..ecg.io import rhythm_lead_index
    return rhythm_lead_index(names, units)


def read_lead(path, lead, fs, every_lead=False):
    """Read one lead: the given one, else lead II (or the first ECG-like lead; only that lead is
    read from WFDB and EDF files); ``every_lead``: all of them (for fits of several
    leads).  ``fs`` (Hz) is used only for files that carry no rate."""
    from ..ecg import read_record
    kw = {"fs": fs if carries_no_rate(path) else None}
    if every_lead:
        return read_record(path, **kw)
    if lead is not None:
        return read_record(path, lead=lead, **kw)
    peeked = peek_leads(path, with_units=True)
    if peeked:
        names, units = peeked
        return read_record(path, lead=names[pick_lead(names, units)], **kw)
    rec = read_record(path, **kw)
    if rec.n_leads > 1:
        rec = rec.select(pick_lead(rec.leads, rec.units))
    return rec


def other_ecg_leads(path, fs, tried):
    """The leads of the record at ``path`` that may be ECG (by name and unit), in the
    record's order, other than ``tried``: where a default lead gave no beat, the next
    ones to try.  ``fs`` (Hz) as in :func:`read_lead`."""
    from ..ecg import read_record
    from ..ecg.io import ecg_leads, header_leads
    try:
        infos = header_leads(path)
        if infos is None:
            rec = read_record(path, fs=fs if carries_no_rate(path) else None)
            names, units = rec.leads, rec.units
        else:
            names, units = [i.name for i in infos], [i.unit for i in infos]
    except (ValueError, OSError):
        return []
    return [n for n in ecg_leads(names, units) if n not in tried]
