#!/usr/bin/env python
"""How to read a global boundary off the joint model's per-lead views: earliest/latest
over the leads, a quartile, or the median?  Scored on LUDB (default: the odd records,
the calibration half) against lead ii's marks and against global marks (earliest onset,
latest offset over the 12 leads' marks of the same wave, within 60 ms of lead ii's).

Rules: the extreme, the quartile or the median of the leads' own boundaries (each lead's
view of the joint model, unshifted), and ``table``: the global table's column (with its
QRS rule).  For each boundary and each rule, the error (ms) of the matched beats: mean +- SD and
``|mean| + SD``.  Prints one table.

    GMESA_DATA=/work/shared/data python benchmarks/joint_global_rule.py [--split odd] [--limit N]
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import list_records, read_ludb, split_records  # noqa: E402

LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
KEYS = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off")
RULES = ("extreme", "quartile", "median", "table")


def _rule(values, key, rule):
    """Global boundary of one beat from the per-lead values (NaN: lead not showing it)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.nan
    onset = key.endswith("_on")
    if rule == "extreme":
        return v.min() if onset else v.max()
    if rule == "quartile":
        return np.quantile(v, 0.25 if onset else 0.75)
    return np.median(v)


def _global_marks(cases, key):
    """Per lead-ii mark of ``key``: the earliest (onset) or latest (offset) mark of that
    wave over the leads within 60 ms of it."""
    ref = cases[0].reference.get(key, np.zeros(0))
    out = []
    for t in ref:
        near = [c.reference[key][np.argmin(np.abs(c.reference[key] - t))] for c in cases
                if c.reference.get(key) is not None and c.reference[key].size]
        near = [x for x in near if abs(x - t) <= 0.060]
        out.append(min(near) if key.endswith("_on") else max(near))
    return np.array(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("odd", "even", "all"), default="odd")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    from gmesa.ecg import Record, fit_leads
    recs = split_records(list_records("ludb"), args.split)
    recs = recs[:args.limit] if args.limit else recs
    err = {(k, ref, r): [] for k in KEYS for ref in ("ii", "global") for r in RULES}
    for name in recs:
        cases = [read_ludb(name, lead=lead) for lead in LEADS]
        signals = np.column_stack([c.signal for c in cases])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_leads(Record(signals, cases[0].fs, leads=LEADS), primary="ii")
        r_peaks = fit.beats["r_peak_s"].to_numpy()
        present = {w: fit.beats[f"{w}_present"].to_numpy() for w in ("P", "T")}
        for key in KEYS:
            per_lead = np.stack([fit.fits[lead].beats[f"{key}_s"].to_numpy() for lead in LEADS])
            wave = key.split("_")[0]
            glob = {r: np.array([_rule(per_lead[:, b], key, r) for b in range(len(r_peaks))])
                    for r in RULES if r != "table"}
            glob["table"] = fit.beats[f"{key}_s"].to_numpy()  # the global table itself
            if wave in present:
                glob = {r: np.where(present[wave], v, np.nan) for r, v in glob.items()}
            for ref_name, ref in (("ii", cases[1].reference.get(key, np.zeros(0))),
                                  ("global", _global_marks([cases[1]] + cases, key))):
                ref = ref[(ref > cases[1].intervals[0, 0]) & (ref < cases[1].intervals[0, 1])]
                for r, det in glob.items():
                    d = det[np.isfinite(det)]
                    if d.size == 0:
                        continue
                    for t in ref:
                        e = d[np.argmin(np.abs(d - t))] - t
                        if abs(e) <= 0.150:
                            err[(key, ref_name, r)].append(e * 1e3)
        print(f"  {name}", file=sys.stderr)
    print(f"LUDB {args.split}: {len(recs)} records; error ms: mean+-SD (|mean|+SD)")
    print(f"{'boundary':9s} {'marks':7s} " + " ".join(f"{r:>22s}" for r in RULES))
    print("(rows 'ii': lead ii's own marks; 'global': earliest onset / latest offset over "
          "the 12 leads' marks)")
    for key in KEYS:
        for ref in ("ii", "global"):
            cells = []
            for r in RULES:
                e = np.array(err[(key, ref, r)])
                cells.append(f"{e.mean():+6.1f}+-{e.std():5.1f} ({abs(e.mean()) + e.std():5.1f})"
                             if e.size else "-")
            print(f"{key:9s} {ref:7s} " + " ".join(f"{c:>22s}" for c in cells))


if __name__ == "__main__":
    main()
