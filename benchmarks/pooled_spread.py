#!/usr/bin/env python
"""Calibrate ``gmesa.ecg.leads.POOLED_SPREAD`` on LUDB odd records: how far the median of
the leads' own readings lies from the global marks.

Every lead of each record is fitted on its own (``fit_leads(joint=False)``); the pooled
boundaries are read with no spread (the median of the leads that show the wave) and
matched to LUDB's global marks (earliest onset, latest offset over the 12 leads' marks)
as ``benchmarks/delineation.py`` matches them.  For each boundary the mean error over
the matched beats, divided by the mean of ``expected_max(n)`` over those beats (n the
leads pooled), is the spread that centres it: an onset's mean error is the spread times
``expected_max``, an offset's minus that.  Also prints the spreads in use and the mean
error they leave.

    GMESA_DATA=/work/shared/data python benchmarks/pooled_spread.py --ludb-split odd --jobs 2
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import list_records, read_case  # noqa: E402
from gmesa.ecg.evaluate import score_fiducial  # noqa: E402

BOUNDS = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off")


def _record(record):
    """(boundary -> [(error s with no spread, error s with the spreads in use, leads
    pooled)]) of one LUDB record against its global marks."""
    from gmesa.ecg import Record, fit_leads
    from gmesa.ecg import leads as L
    case = read_case("ludb", record, marks="global")
    sig = case.leads()
    names = [f"lead{j}" for j in range(sig.shape[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = fit_leads(Record(sig, case.fs, leads=names), primary=0, joint=False).fits
    now = L.combine(fits, names[0], "pooled")
    bare = L.combine(fits, names[0], "pooled", spread=dict.fromkeys(L.POOLED_SPREAD, 0.0))
    out = {}
    for b in BOUNDS:
        group, col = b.split("_")[0], f"{b}_s"
        t_bare = bare[col].to_numpy(float) + case.offset_s
        t_now = now[col].to_numpy(float) + case.offset_s
        n = bare[f"{group}_n_leads"].to_numpy(float)
        ok = np.flatnonzero(np.isfinite(t_bare))
        s = score_fiducial(case.reference[b], t_bare[ok], case.intervals,
                           exclude=case.unmarked.get(b))
        row = ok[[int(np.flatnonzero(t_bare[ok] == d)[0]) for d in s.det_matched]]
        out[b] = list(zip(t_bare[row] - s.ref_matched, t_now[row] - s.ref_matched, n[row]))
    return out


def main(argv=None):
    from gmesa.ecg.joint_edges import expected_max
    from gmesa.ecg.leads import POOLED_SPREAD
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ludb-split", choices=("odd", "even", "all"), default="odd")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    recs = list_records("ludb")
    if args.ludb_split != "all":
        recs = [r for r in recs if int(r.split("/")[-1]) % 2 == (args.ludb_split == "odd")]
    recs = recs[:args.limit] if args.limit else recs
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(_record, recs))
    else:
        results = [_record(r) for r in recs]
    print(f"LUDB {args.ludb_split}, {len(recs)} records, global marks; ms")
    print(f"{'boundary':8s} {'n':>5s} {'mean, no spread':>16s} {'spread':>8s} "
          f"{'in use':>8s} {'mean now':>9s}")
    for b in BOUNDS:
        rows = [x for r in results for x in r[b]]
        if not rows:
            continue
        bare, now, n = (np.array(v, dtype=float) for v in zip(*rows))
        ext = np.mean([expected_max(int(k)) for k in n])
        spread = (1 if b.endswith("_on") else -1) * np.mean(bare) / ext
        print(f"{b:8s} {len(rows):5d} {1e3 * np.mean(bare):16.1f} {1e3 * spread:8.2f} "
              f"{1e3 * POOLED_SPREAD[b]:8.2f} {1e3 * np.nanmean(now):9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
