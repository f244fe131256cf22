#!/usr/bin/env python
"""Does a beat read the same in a whole long record as in a short cut of it?  No marks.

A long record is fitted in chunks (``FitOptions.chunk_s``, 10 min), each with its own
template; a later chunk keeps the record's model choice while its median beat looks the
same (docs/ecg.md, the record-level choice).  This fits each QTDB record (15 min, signal
0, 250 Hz) twice -- whole, and cut to its annotated stretch +- 10 s as
``benchmarks/delineation.py --qtdb-context 10`` hands it -- and compares the beats of
the cut, 10 s in from its ends (matched by R peak within 50 ms).  Per boundary it
prints the share of beats where the boundary is read in one fit only, and the share of
those read in both that moved by more than 20 ms, averaged over the records, then the
records where either share passes 10%.  The marks are not used: only their stretch.

    GMESA_DATA=/work/shared/data python benchmarks/chunk_consistency.py [--jobs 2] \\
        [--limit N] [--out FILE.csv]

About 75 s on 2 cores.  docs/results.md (session 33) quotes it.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import default_data_dir, list_records, read_qtdb  # noqa: E402

BOUNDARIES = ("P_on", "P_off", "QRS_on", "QRS_off", "T_off")
#: a boundary moved when the two fits read it this far apart (s)
MOVED_S = 0.020
#: beats this close (s) to either end of the cut are left out (its edges lack context)
EDGE_S = 10.0
CONTEXT_S = 10.0


def _beats(case):
    """The fit's beats: R peak in record seconds, each boundary in s from its R."""
    from gmesa.ecg import Record, fit_record
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = fit_record(Record(np.asarray(case.signal, dtype=float), case.fs)).beats
    out = pd.DataFrame({"t": b["r_peak_s"].to_numpy(float) + case.offset_s})
    for k in BOUNDARIES:
        out[k] = b[f"{k}_s"].to_numpy(float) - b["r_peak_s"].to_numpy(float)
    return out.sort_values("t")


def compare(record, data_dir=None):
    """{record, n, ``{boundary}_one_fit``, ``{boundary}_moved``} of one QTDB record."""
    cut = _beats(read_qtdb(record, data_dir, context_s=CONTEXT_S))
    whole = _beats(read_qtdb(record, data_dir))
    cut = cut[(cut["t"] > cut["t"].min() + EDGE_S) & (cut["t"] < cut["t"].max() - EDGE_S)]
    m = pd.merge_asof(cut, whole, on="t", suffixes=("_cut", "_whole"), tolerance=0.05,
                      direction="nearest")
    row = {"record": record, "n": len(m)}
    for k in BOUNDARIES:
        a, b = m[f"{k}_cut"].to_numpy(float), m[f"{k}_whole"].to_numpy(float)
        both = np.isfinite(a) & np.isfinite(b)
        row[f"{k}_one_fit"] = float(np.mean(np.isfinite(a) != np.isfinite(b))) if len(m) else np.nan
        row[f"{k}_moved"] = (float(np.mean(np.abs(a[both] - b[both]) > MOVED_S))
                             if both.any() else np.nan)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help=f"shared data folder (default {default_data_dir()})")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="first N records")
    ap.add_argument("--out", type=Path, default=None, help="write the per-record table (CSV)")
    args = ap.parse_args(argv)
    data = args.data or default_data_dir()
    if not (Path(data) / "qtdb").is_dir():
        raise SystemExit(f"no QTDB under {data}: give --data or set GMESA_DATA")
    records = list_records("qtdb", data)[:args.limit]
    with ProcessPoolExecutor(max(1, args.jobs)) as ex:
        rows = list(ex.map(compare, records, [data] * len(records)))
    table = pd.DataFrame(rows)
    if args.out is not None:
        table.to_csv(args.out, index=False)
    print(f"QTDB, {len(table)} records, {int(table['n'].sum())} beats of the cuts: "
          f"share of beats (mean over the records)")
    print(f"{'boundary':10s} {'in one fit only':>16s} {'moved > 20 ms':>14s}")
    for k in BOUNDARIES:
        print(f"{k:10s} {table[f'{k}_one_fit'].mean():16.3f} {table[f'{k}_moved'].mean():14.3f}")
    cols = [c for c in table if c.endswith(("_one_fit", "_moved"))]
    worst = table[(table[cols] > 0.1).any(axis=1)]
    print(f"\nrecords with a share over 0.10 ({len(worst)}):")
    print(worst.set_index("record")[cols].round(2).to_string() if len(worst) else "none")


if __name__ == "__main__":
    main()
