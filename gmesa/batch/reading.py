"""Reading the lead(s) of one record for a fit: the header first (WFDB, EDF/BDF) so
that only the chosen lead is read, which keeps memory low for long multi-lead files."""
from __future__ import annotations

from pathlib import Path

from .discovery import carries_no_rate

__all__ = ["peek_leads", "pick_lead", "read_lead", "force_ecg_kwargs"]


def force_ecg_kwargs(func, force_ecg):
    """``{"force_ecg": True}`` when ``force_ecg`` is set and ``func`` (the reader or the
    fitter) takes that keyword, else ``{}``: unset, every call is as before."""
    import inspect
    if not force_ecg:
        return {}
    try:
        takes = "force_ecg" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        takes = False
    return {"force_ecg": True} if takes else {}


def peek_leads(path):
    """Lead names of a WFDB or EDF/BDF file from its header alone (None if unknown)."""
    p = Path(path)
    ext = p.suffix.lower()
    try:
        if ext in (".hea", ".dat") or (not p.exists() and Path(str(p) + ".hea").is_file()):
            import wfdb
            base = p.with_suffix("") if ext in (".hea", ".dat") else p
            h = wfdb.rdheader(str(base))
            return [str(s) for s in (h.sig_name or [])] or None
        if ext in (".edf", ".bdf"):
            return _edf_labels(p)
    except Exception:
        return None
    return None


def _edf_labels(p):
    """Signal labels of an EDF/BDF file, annotation channels left out."""
    with open(p, "rb") as fh:
        head = fh.read(256)
        ns = int(head[252:256].decode("latin-1"))
        labels = fh.read(16 * ns).decode("latin-1")
    names = [labels[16 * i:16 * i + 16].strip() for i in range(ns)]
    return [n for n in names if n not in ("EDF Annotations", "BDF Annotations")] or None


def pick_lead(names):
    """Index of the first lead whose name looks like an ECG lead, else 0."""
    from ..ecg.io import ecg_lead_index
    return ecg_lead_index(names)


def read_lead(path, lead, fs, every_lead=False, force_ecg=False):
    """Read one lead: the given one, else the first ECG-like lead (only that lead is
    read from WFDB and EDF files); ``every_lead``: all of them (for fits of several
    leads).  ``fs`` (Hz) is used only for files that carry no rate; ``force_ecg`` is
    passed to :func:`gmesa.ecg.read_record` when True and the reader takes it."""
    from ..ecg import read_record
    kw = {"fs": fs if carries_no_rate(path) else None,
          **force_ecg_kwargs(read_record, force_ecg)}
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
