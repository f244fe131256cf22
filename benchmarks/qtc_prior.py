#!/usr/bin/env python
"""The typical QTc of the calibration records, from the cardiologists' marks.

For every LUDB record with an odd number (lead ii marks): each marked T end paired with the
latest marked QRS onset before it (a QT shorter than 0.8 RR), the record's median QT over
sqrt(its median RR) (Bazett); printed: the mean and SD over the records.  The mean is
``gmesa.ecg.waves.QTC_TYPICAL``.

    python benchmarks/qtc_prior.py [--data DIR]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import list_records, read_ludb  # noqa: E402


def record_qtc(reference):
    """The median QTc (s) of one record's marks (dict of times, s), NaN without a QT."""
    q = np.sort(np.asarray(reference["QRS_on"], float))
    t = np.sort(np.asarray(reference["T_off"], float))
    if q.size < 3 or t.size == 0:
        return np.nan
    rr = float(np.median(np.diff(q)))
    j = np.searchsorted(q, t) - 1
    qt = (t - q[np.maximum(j, 0)])[j >= 0]
    qt = qt[qt < 0.8 * rr]
    return float(np.median(qt) / np.sqrt(rr)) if qt.size else np.nan


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="the shared data folder (default ../shared/data)")
    a = ap.parse_args(argv)
    names = [r for r in list_records("ludb", a.data) if int(r.split("/")[-1]) % 2 == 1]
    qtc = np.array([record_qtc(read_ludb(r, a.data).reference) for r in names])
    qtc = qtc[np.isfinite(qtc)]
    print(f"LUDB odd, lead ii marks: {qtc.size} records, QTc (Bazett) mean {qtc.mean():.3f} s, "
          f"SD {qtc.std():.3f} s, median {np.median(qtc):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
