#!/usr/bin/env python
"""How sure is a delineation figure, and is one design better than another beyond the
luck of which records were scored?

Reads the ``events.csv.gz`` of one or two ``--out`` folders of
``benchmarks/delineation.py`` and resamples the records
(:func:`gmesa.ecg.evaluate.record_bootstrap`: a record's errors come or go together, both
runs drawn alike).  One run: each boundary's |mean| + SD with its 95% interval.  Two
runs A and B: both, B - A with its 95% interval and the share of draws in which B is
better (lower).  A difference whose interval holds 0 is one that another set of records
could reverse.

    python benchmarks/compare_runs.py /tmp/main-even /tmp/new-even [--method gmesa]
    python benchmarks/compare_runs.py /tmp/d /tmp/d --method gmesa,neurokit2_prominence
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gmesa.ecg.evaluate import record_bootstrap  # noqa: E402

BOUNDARIES = ("P_on", "P_off", "QRS_on", "QRS_off", "T_off")


def read_events(folder: Path, method: str | None) -> pd.DataFrame:
    """The matched events (TP) of one run, of ``method`` (default: the run's only one)."""
    path = Path(folder) / "events.csv.gz"
    if not path.is_file():
        raise SystemExit(f"{path}: not found; give the --out folder of benchmarks/delineation.py")
    ev = pd.read_csv(path)
    methods = sorted(ev["method"].unique())
    if method is None:
        if len(methods) > 1:
            raise SystemExit(f"{folder} holds methods {methods}; choose one with --method")
        method = methods[0]
    if method not in methods:
        raise SystemExit(f"{folder} has no method {method!r}; it holds {methods}")
    return ev[(ev["method"] == method) & (ev["outcome"] == "TP")]


def compare(runs: dict[str, pd.DataFrame], n_boot=2000, seed=0) -> pd.DataFrame:
    """One row per (dataset, boundary): each run's |mean| + SD (ms) and 95% interval;
    with two runs, their difference (second - first), its interval and the share of
    draws where the second is lower."""
    rows = []
    names = list(runs)
    datasets = sorted(set().union(*(set(r["dataset"]) for r in runs.values())))
    for ds in datasets:
        for b in BOUNDARIES:
            sel = {n: r[(r["dataset"] == ds) & (r["fiducial"] == b)] for n, r in runs.items()}
            if any(s.empty for s in sel.values()):
                continue
            boot = record_bootstrap({n: (s["error_ms"].to_numpy(), s["record"].to_numpy())
                                     for n, s in sel.items()}, n_boot, seed)
            row = {"dataset": ds, "boundary": b}
            for n, s in sel.items():
                e = s["error_ms"].to_numpy(dtype=float)
                row[n] = abs(e.mean()) + e.std(ddof=1)
                row[f"{n} 95%"] = tuple(np.nanpercentile(boot[n], [2.5, 97.5]))
            if len(names) == 2:
                d = boot[names[1]] - boot[names[0]]
                row["B - A"] = row[names[1]] - row[names[0]]
                row["B - A 95%"] = tuple(np.nanpercentile(d, [2.5, 97.5]))
                row["B lower"] = float(np.nanmean(d < 0))
            rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v):
    if isinstance(v, tuple):
        d = 2 if max(abs(v[0]), abs(v[1])) < 1.0 else 1
        return f"[{v[0]:.{d}f}, {v[1]:.{d}f}]"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 1.0 else f"{v:.1f}"
    return str(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="one or two --out folders (A [B])")
    ap.add_argument("--method", default=None, help="the method to read (default: the only "
                    "one), or one per run (A,B): two methods of one run compared")
    ap.add_argument("--boot", type=int, default=2000, help="resamples of the records")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if len(a.runs) > 2:
        ap.error("give one run, or two to compare")
    names = ["A", "B"][:len(a.runs)]
    methods = (a.method or "").split(",") if a.method and "," in a.method else [a.method] * 2
    if len(methods) != 2:
        ap.error("--method: one name, or two separated by a comma")
    table = compare({n: read_events(p, m) for n, p, m in zip(names, a.runs, methods)},
                    a.boot, a.seed)
    for n, p in zip(names, a.runs):
        print(f"{n}: {p}")
    print(f"|mean| + SD (ms), 95% intervals over {a.boot} resamples of the records")
    print(table.to_string(index=False, formatters={c: _fmt for c in table.columns}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
