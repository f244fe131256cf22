"""Reading the lead(s) of one record for a fit: the header first (WFDB, EDF/BDF) so
that only the chosen lead is read, which keeps memory low for long multi-lead files."""
from __future__ import annotations

from .discovery import carries_no_rate

__all__ = ["peek_leads", "pick_lead", "read_lead"]


def peek_leads(path):
    """Lead names of a WFDB (any layout, .dat or .mat) or EDF/BDF file from its header
    alone (None if unknown)."""
    from ..ecg.io import header_leads
    try:
        leads = header_leads(path)
    except Exception:
        return None
    return [x.name for x in leads] if leads else None


def pick_lead(names):
    """Index of lead II or MLII, else of the first lead whose name looks like an ECG
    lead, else 0 (:func:`~gmesa.ecg.io.rhythm_lead_index`)."""
    from ..ecg.io import rhythm_lead_index
    return rhythm_lead_index(names)


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
    names = peek_leads(path)
    if names:
        return read_record(path, lead=names[pick_lead(names)], **kw)
    rec = read_record(path, **kw)
    if rec.n_leads > 1:
        rec = rec.select(pick_lead(rec.leads))
    return rec
