#!/usr/bin/env python
"""Per-beat tables of a fixed set of records, written once and compared bit for bit later.

A refactor that claims "no change in results" runs this before (``--write DIR``) and after
(``--compare DIR``): every table must be identical (same columns, same dtypes, same values bit
for bit, NaN in the same places).  Records: the bundled synthetic record, MIT-BIH 100 (MLII,
first 10 minutes), the PTB record (lead ii, and every lead through ``fit_leads``), 8 LUDB records
(lead ii) and 6 QTDB records (signal 0, first 5 minutes), read from ``../shared/data`` (or
``$GMESA_DATA``); records that are absent are listed as skipped.  The synthetic record is
the example shipped in ``gmesa/data`` (``gmesa.datasets.example_record()``).

    python benchmarks/table_snapshot.py --write /tmp/before
    python benchmarks/table_snapshot.py --compare /tmp/before
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LUDB = ("1", "2", "7", "33", "58", "101", "121", "157")
QTDB = ("sel100", "sel103", "sel117", "sel231", "sel308", "sele0114")


def _data_dir() -> Path:
    env = os.environ.get("GMESA_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def cases():
    """(name, thunk) pairs; each thunk returns a per-beat DataFrame or None when absent."""
    from gmesa import ecg
    from gmesa.datasets import example_record

    data = _data_dir()

    def rec(path, lead, minutes=None, leads=False):
        def run():
            hea = Path(str(path) + ".hea")
            if not hea.exists():
                return None
            r = ecg.read_record(path, lead=None if leads else lead)
            if minutes is not None:
                n = int(minutes * 60 * r.fs)
                r = ecg.Record(r.signal[:n], r.fs, leads=r.leads, units=r.units)
            if leads:
                return ecg.fit_leads(r, primary=lead).beats
            return ecg.fit_record(r, lead=lead).beats
        return run

    yield "synthetic", rec(example_record().with_suffix(""), None)
    yield "mitbih_100", rec(data / "physionet" / "100", "MLII", minutes=10)
    yield "ptb_s0010_re", rec(data / "physionet" / "s0010_re", "ii")
    yield "ptb_s0010_re_leads", rec(data / "physionet" / "s0010_re", "ii", leads=True)
    for r in LUDB:
        yield f"ludb_{r}", rec(data / "ludb" / "data" / r, "ii")
    for r in QTDB:
        yield f"qtdb_{r}", rec(data / "qtdb" / r, 0, minutes=5)


def same(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    """None when identical bit for bit, else what differs."""
    if list(a.columns) != list(b.columns):
        return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype != y.dtype:
            return f"{c}: dtype {x.dtype} vs {y.dtype}"
        if x.dtype.kind == "f":
            xa, ya = x.to_numpy(), y.to_numpy()
            if not np.array_equal(xa.view(np.int64), ya.view(np.int64)):
                diff = np.flatnonzero(xa.view(np.int64) != ya.view(np.int64))
                return f"{c}: {diff.size} values differ (first row {diff[0]}: {xa[diff[0]]!r} vs {ya[diff[0]]!r})"
        elif not x.equals(y):
            return f"{c}: values differ"
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", type=Path, help="folder to write the tables into")
    g.add_argument("--compare", type=Path, help="folder written earlier by --write")
    args = ap.parse_args(argv)
    bad = n = 0
    for name, run in cases():
        table = run()
        if table is None:
            print(f"{name:24s} skipped (record not found)")
            continue
        n += 1
        table = table.reset_index(drop=True)
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            table.to_parquet(args.write / f"{name}.parquet")
            print(f"{name:24s} written ({len(table)} beats, {table.shape[1]} columns)")
            continue
        ref_path = args.compare / f"{name}.parquet"
        if not ref_path.exists():
            print(f"{name:24s} no reference table")
            bad += 1
            continue
        why = same(pd.read_parquet(ref_path), table)
        bad += why is not None
        print(f"{name:24s} {'identical' if why is None else 'DIFFERS: ' + why} ({len(table)} beats)")
    if args.compare:
        print(f"{n - bad} of {n} tables identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
