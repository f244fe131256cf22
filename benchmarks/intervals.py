#!/usr/bin/env python
"""Interval agreement with the cardiologists: PR, QRS and QT per record, Bland-Altman.

A cardiology researcher reads intervals, not single boundaries: a record's QT is what a
drug-safety study compares.  This script pairs the matched marks of
``benchmarks/delineation.py``'s ``--out`` folder (``events.csv.gz``) into beats, takes
each beat's PR (QRS on - P on), QRS (QRS off - QRS on) and QT (T off - QRS on) from the
cardiologists' marks and from the method's matched detections, and compares each
record's median interval (at least :data:`MIN_BEATS` beats) by Bland-Altman:

* bias: the mean over the records of (method - cardiologists), ms;
* SD of the difference and the 95% limits of agreement, bias +- 1.96 SD;
* proportional bias: the slope of the difference on the mean of the two readings (0: the
  error does not grow with the interval; below 0: long intervals are read short), with
  its 95% confidence interval;
* the share of records within the interval's tolerance (:data:`TOLERANCE_MS`);
* the SD over the records of the method's and of the cardiologists' intervals: a method
  whose intervals vary less than theirs (a negative proportional bias) reads a long
  interval short *given the cardiologists' reading*; whether it does given its own
  reading is the slope of the difference on the method's interval (``slope_on_method``),
  about 0 where no recalibration of the method's reading could help.

A beat is the cardiologists' QRS onset; its P onset is the matched mark within
:data:`P_BEFORE` before it, its QRS offset and T offset the matched marks within
:data:`QRS_AFTER` and :data:`T_AFTER` after it.  Only marks the method matched (``TP``)
count, so each method's intervals come from the beats it delineated: the ``records``
column says how many records each could measure.

    python benchmarks/delineation.py --methods gmesa,neurokit2_dwt --ludb-split even \\
        --qtdb-context 10 --out /tmp/d
    python benchmarks/delineation.py --methods gmesa_joint --datasets ludb --ludb-split even \
        --ludb-marks global --out /tmp/g
    python benchmarks/intervals.py /tmp/d /tmp/g --markdown docs/intervals.md

LUDB scored against global marks (each wave's earliest onset and latest offset over the
12 leads, ``--ludb-marks global``) is labelled "ludb global": the joint model's and the
pooled boundaries are global by design, so their intervals are longer than one lead's.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: interval -> (the mark that starts it, the mark that ends it)
INTERVALS = {"PR": ("P_on", "QRS_on"), "QRS": ("QRS_on", "QRS_off"), "QT": ("QRS_on", "T_off")}
#: the window (s) about the beat's QRS onset in which its other marks are looked for
P_BEFORE = (0.04, 0.50)
QRS_AFTER = (0.02, 0.25)
T_AFTER = (0.10, 0.80)
#: a record's median interval needs at least this many beats
MIN_BEATS = 3
#: a record's interval agrees when within this of the cardiologists' (ms): twice the CSE
#: tolerances' SD of the boundaries that bound it, combined (P on 10.2, QRS on 6.5, QRS
#: off 11.6, T off 30.6 ms: sqrt(a^2 + b^2), rounded)
TOLERANCE_MS = {"PR": 24.0, "QRS": 27.0, "QT": 65.0}


def beat_intervals(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, method, record, beat): the reference and detected PR, QRS
    and QT (ms; NaN where a bounding mark is missing or unmatched).  ``events``: the
    columns of ``benchmarks/delineation.py``'s ``events.csv.gz``."""
    tp = events[events["outcome"] == "TP"]
    rows = []
    for (dataset, method, record), ev in tp.groupby(["dataset", "method", "record"], sort=False):
        marks = {f: g.sort_values("ref_s") for f, g in ev.groupby("fiducial")}
        if "QRS_on" not in marks:
            continue
        on = marks["QRS_on"]
        ref_on, det_on = on["ref_s"].to_numpy(), on["det_s"].to_numpy()
        beat = {"QRS_on": (ref_on, det_on)}
        for f, (lo, hi), before in (("P_on", P_BEFORE, True), ("QRS_off", QRS_AFTER, False),
                                    ("T_off", T_AFTER, False)):
            beat[f] = _attach(ref_on, marks.get(f), lo, hi, before)
        out = {"dataset": dataset, "method": method, "record": record}
        for name, (start, end) in INTERVALS.items():
            for k, side in ((0, "ref"), (1, "det")):
                out[f"{name}_{side}"] = 1000.0 * (beat[end][k] - beat[start][k])
        rows.append(pd.DataFrame({**out, "beat": np.arange(len(ref_on))}))
    if not rows:
        return pd.DataFrame(columns=["dataset", "method", "record", "beat"]
                            + [f"{n}_{s}" for n in INTERVALS for s in ("ref", "det")])
    return pd.concat(rows, ignore_index=True)


def _attach(ref_on, marks, lo, hi, before):
    """(reference, detected) times of ``marks`` (matched events of one fiducial), one per
    beat (the QRS onsets ``ref_on``, s): the mark nearest the onset within [``lo``,
    ``hi``] s before it (``before``) or after it; NaN where there is none."""
    ref = np.full(len(ref_on), np.nan)
    det = np.full(len(ref_on), np.nan)
    if marks is None or not len(marks):
        return ref, det
    t, d = marks["ref_s"].to_numpy(), marks["det_s"].to_numpy()
    for i, r in enumerate(ref_on):
        gap = (r - t) if before else (t - r)
        ok = np.flatnonzero((gap >= lo) & (gap <= hi))
        if len(ok):
            j = ok[np.argmin(gap[ok])]
            ref[i], det[i] = t[j], d[j]
    return ref, det


def record_intervals(beats: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, method, record, interval): the median reference and detected
    interval (ms) over the beats that have both, and their number; records with fewer
    than :data:`MIN_BEATS` such beats are left out."""
    rows = []
    for (dataset, method, record), g in beats.groupby(["dataset", "method", "record"], sort=False):
        for name in INTERVALS:
            ref, det = g[f"{name}_ref"].to_numpy(float), g[f"{name}_det"].to_numpy(float)
            both = np.isfinite(ref) & np.isfinite(det)
            if both.sum() >= MIN_BEATS:
                rows.append({"dataset": dataset, "method": method, "record": record,
                             "interval": name, "beats": int(both.sum()),
                             "ref_ms": float(np.median(ref[both])),
                             "det_ms": float(np.median(det[both]))})
    return pd.DataFrame(rows, columns=["dataset", "method", "record", "interval", "beats",
                                       "ref_ms", "det_ms"])


def agreement(per_record: pd.DataFrame) -> pd.DataFrame:
    """Bland-Altman per (dataset, method, interval) over the records (module docstring):
    records, bias, SD, limits of agreement, proportional bias with its 95% CI (ms/ms),
    share of records within :data:`TOLERANCE_MS`."""
    rows = []
    for (dataset, method, name), g in per_record.groupby(["dataset", "method", "interval"],
                                                          sort=False):
        diff = (g["det_ms"] - g["ref_ms"]).to_numpy()
        mean = 0.5 * (g["det_ms"] + g["ref_ms"]).to_numpy()
        n = len(diff)
        sd = float(np.std(diff, ddof=1)) if n > 1 else np.nan
        slope = lo = hi = np.nan
        if n > 2 and np.ptp(mean) > 0:
            fit = stats.linregress(mean, diff)
            half = stats.t.ppf(0.975, n - 2) * fit.stderr
            slope, lo, hi = fit.slope, fit.slope - half, fit.slope + half
        own = (stats.linregress(g["det_ms"], diff).slope
               if n > 2 and np.ptp(g["det_ms"]) > 0 else np.nan)
        bias = float(np.mean(diff))
        rows.append({"dataset": dataset, "method": method, "interval": name, "records": n,
                     "bias_ms": bias, "sd_ms": sd, "loa_low_ms": bias - 1.96 * sd,
                     "loa_high_ms": bias + 1.96 * sd, "slope": slope, "slope_low": lo,
                     "slope_high": hi, "slope_on_method": own,
                     "sd_method_ms": float(np.std(g["det_ms"], ddof=1)) if n > 1 else np.nan,
                     "sd_ref_ms": float(np.std(g["ref_ms"], ddof=1)) if n > 1 else np.nan,
                     "within_tol": float(np.mean(np.abs(diff) <= TOLERANCE_MS[name]))})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The agreement table as Markdown, one block per dataset and interval."""
    lines = []
    for (dataset, name), t in table.groupby(["dataset", "interval"], sort=False):
        lines += ["", f"### {dataset}: {name} (tolerance {TOLERANCE_MS[name]:.0f} ms)", "",
                  "| method | records | bias ms | SD ms | 95% limits ms | proportional bias "
                  "(95% CI) | slope on the method's | SD over records, method / "
                  "cardiologists ms | within tolerance |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for _, r in t.sort_values("sd_ms").iterrows():
            lines.append(
                f"| {r['method']} | {r['records']} | {r['bias_ms']:+.1f} | {r['sd_ms']:.1f} "
                f"| {r['loa_low_ms']:+.0f} to {r['loa_high_ms']:+.0f} | {r['slope']:+.2f} "
                f"({r['slope_low']:+.2f} to {r['slope_high']:+.2f}) | {r['slope_on_method']:+.2f} "
                f"| {r['sd_method_ms']:.0f} / {r['sd_ref_ms']:.0f} | {r['within_tol']:.0%} |")
    return "\n".join(lines) + "\n"


def read_events(out: Path) -> pd.DataFrame:
    """The events of one ``--out`` folder, LUDB's dataset named "ludb global" when the run
    scored it against the global marks (its ``summary.json``)."""
    events = pd.read_csv(out / "events.csv.gz")
    info = json.loads((out / "summary.json").read_text()).get("info", {})
    if info.get("ludb_marks", "lead") != "lead":
        events["dataset"] = events["dataset"].replace("ludb", f"ludb {info['ludb_marks']}")
    return events


def run_command(out: Path) -> str:
    """The command line of the delineation run whose ``--out`` folder is ``out``."""
    info = json.loads((out / "summary.json").read_text()).get("info", {})
    return info.get("command", f"delineation.py (command not recorded) --out {out}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, nargs="+",
                    help="--out folder(s) of benchmarks/delineation.py")
    ap.add_argument("--methods", default=None, help="comma-separated (default: all in the events)")
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--csv", type=Path, default=None, help="the per-record intervals")
    a = ap.parse_args(argv)
    events = pd.concat([read_events(o) for o in a.out], ignore_index=True)
    if a.methods:
        events = events[events["method"].isin(a.methods.split(","))]
    per_record = record_intervals(beat_intervals(events))
    table = agreement(per_record)
    text = markdown(table)
    print(text)
    if a.csv:
        per_record.to_csv(a.csv, index=False)
    if a.markdown:
        runs = "".join(f"- `python benchmarks/{run_command(o)}`\n" for o in a.out)
        a.markdown.write_text(
            "# Interval agreement with the cardiologists (PR, QRS, QT per record)\n\n"
            "`python benchmarks/intervals.py OUT...`, on the events of these runs:\n\n"
            + runs + "\nEach record's median interval over the beats a method delineated, "
            "against the cardiologists' on the same beats; Bland-Altman over the records "
            "(module docstring of `benchmarks/intervals.py`).  A proportional bias below 0: "
            "long intervals are read short, given the cardiologists' reading; the slope on "
            "the method's own reading says whether that could be recalibrated (about 0: "
            "no).  Sorted by the SD of the difference.\n" + text)

if __name__ == "__main__":
    main()
