#!/usr/bin/env python
"""How do LUDB's marks of one wave move from lead to lead?  No fitting.

LUDB's cardiologists marked every lead on its own.  For each lead this pairs each of its
marked waves (P, QRS, T) with the same wave in a reference lead (its peak within 150 ms)
and prints, as medians over the records of each record's median: the wave's duration
(offset - onset, ms) in the lead, and how far the lead's onset and offset lie from the
reference lead's (ms); and the share of records whose median offset lies over 20 ms
before the reference's.  A single-lead method scored against one lead's marks is scored
against that lead's convention: on the calibration half the P waves marked in V1 are a
third shorter than lead II's (docs/results.md, session 35).

    GMESA_DATA=/work/shared/data python benchmarks/lead_marks.py [--split odd] [--ref ii]

A few seconds (it reads the marks only).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import (default_data_dir, group_waves, list_records,  # noqa: E402
                                     split_records)
from gmesa.ecg.evaluate import match  # noqa: E402

LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
WAVES = ("P", "QRS", "T")
#: two leads' marks of a wave are one wave when their peaks lie this close (s)
PAIR_S = 0.150
#: an offset this much earlier (s) than the reference's ends the wave early
EARLY_S = 0.020


def marked_waves(path, lead, fs):
    """{kind: (onset, offset) s, arrays} of the complete waves (both boundaries marked)
    in ``lead``'s annotation of the LUDB record ``path``; and their peaks (s)."""
    import wfdb

    ann = wfdb.rdann(path, lead)
    waves = group_waves(ann.sample, ann.symbol)[0]
    out = {}
    for kind in WAVES:
        w = [x for x in waves if x.kind == kind and x.onset is not None and x.offset is not None]
        out[kind] = (np.array([x.peak for x in w], float) / fs,
                     np.array([x.onset for x in w], float) / fs,
                     np.array([x.offset for x in w], float) / fs)
    return out


def paired(a, b, within=PAIR_S):
    """Index pairs (i into ``a``, j into ``b``) of peaks within ``within`` (s) of each
    other, one to one, nearest first (:func:`gmesa.ecg.evaluate.match`)."""
    return match(a, b, within)


def record_rows(path, leads, ref, fs):
    """Per lead and wave: (median duration, median onset shift, median offset shift), s,
    of one record (NaN where the lead or the reference marks no such wave)."""
    marks = {lead: marked_waves(path, lead, fs) for lead in leads}
    rows = {}
    for lead in leads:
        for kind in WAVES:
            pk, on, off = marks[lead][kind]
            rpk, ron, roff = marks[ref][kind]
            i, j = paired(pk, rpk)
            dur = np.median(off - on) if on.size else np.nan
            if i.size == 0:
                rows[lead, kind] = (dur, np.nan, np.nan)
                continue
            rows[lead, kind] = (dur, np.median(on[i] - ron[j]), np.median(off[i] - roff[j]))
    return rows


def summary(per_record, leads):
    """Lines of the table: per lead and wave, the medians over the records (ms)."""
    lines = ["lead | " + " | ".join(f"{k} dur, on-ref, off-ref, early%" for k in WAVES)]
    for lead in leads:
        cells = []
        for kind in WAVES:
            v = np.array([r[lead, kind] for r in per_record], float)
            ok = np.isfinite(v[:, 2])
            early = 100.0 * np.mean(v[ok, 2] < -EARLY_S) if ok.any() else np.nan
            dur, on, off = (1000.0 * np.nanmedian(v[:, c]) if np.isfinite(v[:, c]).any() else
                            np.nan for c in range(3))
            cells.append(f"{dur:5.0f} {on:+5.1f} {off:+5.1f} {early:3.0f}%")
        lines.append(f"{lead:4s} | " + " | ".join(cells))
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=("all", "odd", "even"), default="odd",
                   help="LUDB records by number parity (odd: the calibration half)")
    p.add_argument("--ref", default="ii", help="the reference lead (default ii)")
    p.add_argument("--limit", type=int, default=None, help="the first N records of the split")
    p.add_argument("--data", default=None, help="shared data folder")
    a = p.parse_args(argv)
    data = Path(a.data) if a.data else default_data_dir()
    if not (data / "ludb" / "RECORDS").exists():
        print(f"skipped: no LUDB records under {data / 'ludb'}")
        return 0
    import wfdb

    names = split_records(list_records("ludb", data), a.split)[:a.limit]
    per_record = []
    for name in names:
        path = str(data / "ludb" / name)
        fs = float(wfdb.rdheader(path).fs)
        per_record.append(record_rows(path, LEADS, a.ref, fs))
    print(f"LUDB {a.split} records ({len(per_record)}), marks of each lead against lead "
          f"{a.ref}'s (paired by peak within {PAIR_S * 1000:.0f} ms); medians over the "
          f"records of each record's median, ms; early%: records whose offset lies over "
          f"{EARLY_S * 1000:.0f} ms before the reference's")
    print("\n".join(summary(per_record, LEADS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
