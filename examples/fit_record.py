"""Fit every beat of a record file and print the summary.

Usage: python examples/fit_record.py RECORD [--lead NAME] [--fs HZ] [--out DIR]

RECORD is anything gmesa.ecg.read_record reads: a WFDB record (``100`` or ``100.hea``),
EDF, CSV/TSV or NPY (CSV and NPY need ``--fs``).  With ``--out`` the per-beat table
(Parquet), the cleaned signal, the settings and the standard figures are written there;
redraw them later with ``gmesa plot DIR/<record>.info.json``.
"""
from __future__ import annotations

import argparse

from gmesa import ecg
from gmesa.demo import format_demo_summary
from gmesa.plot.files import write_figures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("record")
    ap.add_argument("--lead", default=None, help="lead name or index (default: the first)")
    ap.add_argument("--fs", type=float, default=None, help="sampling rate, Hz (CSV, NPY)")
    ap.add_argument("--out", default=None, help="folder for the table and figures")
    args = ap.parse_args(argv)

    lead = int(args.lead) if args.lead is not None and args.lead.lstrip("-").isdigit() \
        else args.lead
    rec = ecg.read_record(args.record, lead=lead, fs=args.fs)
    fit = ecg.fit_record(rec)
    print(f"{rec.name}: lead {fit.info['lead']}, {rec.fs:g} Hz, {rec.duration_s:.0f} s")
    for line in format_demo_summary(fit):
        print(line)
    if args.out:
        paths = fit.save(args.out)
        figures = write_figures(fit, args.out, stem=fit.info["record"])
        for p in list(paths.values()) + figures:
            print(f"wrote {p}")
    return fit


if __name__ == "__main__":
    main()
