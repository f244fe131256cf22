#!/usr/bin/env python
"""Where do a database's marks lie between two leads' readings: at their extreme or between them?

A joint model's global boundary is, by issue 18's definition, the earliest onset and the
latest offset over the leads (LUDB's global marks are built that way from its per-lead
marks).  QTDB's experts placed one set of marks looking at both leads; nothing says
where.  This fits each of two leads alone (``delineation.py --methods gmesa``: the
single-lead pipeline, each calibrated on its own lead's marks) and, on the beats both
readings match, scores four readings of each boundary against the same marks: lead A,
lead B, the extreme of the two (the earlier onset, the later offset) and their mean.
Where the marks follow the extreme convention, the extreme scores best; where they lie
between the leads, the mean does.  Nothing is fitted to the marks here.

Sets: QTDB's two signals (10-s context, as the benchmark) and LUDB's leads ii and v5
scored against the global marks of those two leads (``--ludb-leads``; ``--ludb-split``
odd, even or all).  Prints |mean| + SD (mean +- SD) in ms per reading and boundary.

    python benchmarks/mark_convention.py [--sets qtdb,ludb] [--ludb-split even] [--jobs 2]

About 2 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.rule_ablation import BOUNDARIES, run  # noqa: E402
from gmesa.ecg.evaluate import error_stats  # noqa: E402


def sets(split):
    """{name: ((label A, args A), (label B, args B))}: the two single-lead runs per set."""
    qtdb = ["--datasets", "qtdb", "--qtdb-context", "10"]
    ludb = ["--datasets", "ludb", "--ludb-split", split, "--ludb-marks", "global"]
    return {"qtdb": (("QTDB signal 0", qtdb + ["--channel", "0"]),
                     ("QTDB signal 1", qtdb + ["--channel", "1"])),
            "ludb": ((f"LUDB {split} ii", ludb + ["--lead", "ii", "--ludb-leads", "v5"]),
                     (f"LUDB {split} v5", ludb + ["--lead", "v5", "--ludb-leads", "ii"]))}


def matched(folder_a, folder_b):
    """Errors (ms) of the marks both runs matched: columns fiducial, a, b."""
    cols = ["record", "fiducial", "ref_s", "error_ms"]
    ev = [pd.read_csv(f / "events.csv.gz") for f in (folder_a, folder_b)]
    ev = [e.loc[e.outcome == "TP", cols] for e in ev]
    m = ev[0].merge(ev[1], on=cols[:3], suffixes=("_a", "_b"))
    return m.rename(columns={"error_ms_a": "a", "error_ms_b": "b"})


def readings(m, boundary):
    """{reading: errors (ms)} of one boundary: each lead, their extreme and their mean."""
    x = m[m.fiducial == boundary]
    a, b = x["a"].to_numpy(), x["b"].to_numpy()
    extreme = np.minimum(a, b) if boundary.endswith("_on") else np.maximum(a, b)
    return {"A": a, "B": b, "extreme": extreme, "mean": 0.5 * (a + b)}


def criterion(err):
    """|mean| + SD (ms) of errors (:func:`~gmesa.ecg.evaluate.error_stats`; NaN under 2)."""
    st = error_stats(err)
    return abs(st["mean"]) + st["sd"]


def cell(err):
    """'|mean| + SD (mean +- SD)' of errors (ms)."""
    st = error_stats(err)
    if not np.isfinite(st["sd"]):
        return "n/a"
    return f"{abs(st['mean']) + st['sd']:.1f} ({st['mean']:+.1f} ± {st['sd']:.1f})"


def table(name_a, name_b, m):
    """Markdown rows: one per boundary, the four readings."""
    lines = [f"\n{name_a} (A) and {name_b} (B), beats both matched; |mean| + SD (mean ± SD), ms\n",
             "| boundary | n | A | B | extreme of A, B | mean of A, B |", "|---|---|---|---|---|---|"]
    for b in BOUNDARIES:
        r = readings(m, b)
        score = {k: criterion(v) for k, v in r.items()}
        score = {k: v for k, v in score.items() if np.isfinite(v)}
        best = min(score, key=score.get) if score else None
        cells = [f"**{cell(v)}**" if k == best else cell(v) for k, v in r.items()]
        lines.append(f"| {b} | {r['A'].size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="qtdb,ludb", help="comma list of qtdb, ludb")
    ap.add_argument("--ludb-split", choices=("odd", "even", "all"), default="even")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep each run's output here")
    a = ap.parse_args(argv)
    chosen = [s for s in a.sets.split(",") if s]
    known = sets(a.ludb_split)
    unknown = [s for s in chosen if s not in known]
    if unknown:
        ap.error(f"unknown set(s) {unknown}; choose from {', '.join(known)}")
    with tempfile.TemporaryDirectory() as tmp:
        root = a.out or Path(tmp)
        for s in chosen:
            (name_a, args_a), (name_b, args_b) = known[s]
            folders = [root / f"{s}-{k}" for k in ("a", "b")]
            for folder, args in zip(folders, (args_a, args_b)):
                run("", args, a.jobs, folder)
            print(table(name_a, name_b, matched(*folders)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
