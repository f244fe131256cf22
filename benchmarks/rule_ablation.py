#!/usr/bin/env python
"""Every decision rule of gmesa's single-lead ECG pipeline taken out, one at a time.

Issue 17 asks, for every rule kept, for the numbers on both databases that justify it.
For each rule of :data:`benchmarks._ablation.RULES` (and for none), this runs
``benchmarks/delineation.py --methods gmesa --ablate RULE`` on LUDB odd (calibration),
LUDB even (choosing; lead ii) and QTDB lead 0 (report; ``--qtdb-context 10``), each in
a fresh interpreter, and prints one markdown row per rule: the code lines that are there
for the rule alone (without docstrings, comments and blank lines; in parentheses those in
the modules that decide waves, :data:`benchmarks._codelines.DECIDING`, whose total issue
17 counts), then |mean| + SD (ms) of P on, P off, QRS on, QRS off, T off; P Se / PPV
(P on); T Se / PPV (T off).  ``--lines`` prints the code lines alone, without a run.

    python benchmarks/rule_ablation.py [--rules identity,u_wave] [--jobs 2] [--out DIR]
    python benchmarks/rule_ablation.py --lines

About 30 s per rule on 2 cores (docs/results.md, session 30, holds the table).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks._ablation import OPTIONS, PATCHES, RULES, check, code_of  # noqa: E402
from benchmarks._codelines import DECIDING, deciding_lines  # noqa: E402

#: the runs of each row: (label, delineation.py arguments)
SETS = (("LUDB odd", ["--datasets", "ludb", "--ludb-split", "odd"]),
        ("LUDB even", ["--datasets", "ludb", "--ludb-split", "even"]),
        ("QTDB lead 0", ["--datasets", "qtdb", "--qtdb-context", "10"]))

BOUNDARIES = ("P_on", "P_off", "QRS_on", "QRS_off", "T_off")


def run(rule, args, jobs, out, method="gmesa"):
    """The summary table (DataFrame) of one delineation run of ``method`` with ``rule``
    taken out ("": none)."""
    cmd = [sys.executable, str(HERE / "delineation.py"), "--methods", method, "--quiet",
           "--jobs", str(jobs), "--out", str(out), *args]
    if rule:
        cmd += ["--ablate", rule]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return pd.read_csv(out / "summary.csv")


def cell(summary):
    """'P on P off QRS on QRS off T off; P Se/PPV; T Se/PPV' of one summary table."""
    s = summary.set_index("fiducial")
    err = " ".join(f"{abs(s.loc[b, 'mean_ms']) + s.loc[b, 'sd_ms']:.1f}" for b in BOUNDARIES)
    return (f"{err}; P {s.loc['P_on', 'se']:.3f}/{s.loc['P_on', 'ppv']:.3f}; "
            f"T {s.loc['T_off', 'se']:.3f}/{s.loc['T_off', 'ppv']:.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default=",".join(RULES), help="comma list (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep each run's output here")
    ap.add_argument("--lines", action="store_true",
                    help="print each rule's code lines only (no delineation run)")
    a = ap.parse_args(argv)
    rules = [r for r in a.rules.split(",") if r]
    try:
        check(rules)
    except ValueError as exc:
        ap.error(str(exc))
    what = {**{k: v[0] for k, v in PATCHES.items()},
            **{k: f"{v[0]} (`{v[1]}={v[2]!r}`)" for k, v in OPTIONS.items()}}
    total = deciding_lines()
    print(f"code deciding waves ({' + '.join(DECIDING)}): {total} lines; "
          f"the listed rules' own share of it: {code_of(*rules)[1]}\n")
    sets = [] if a.lines else SETS
    print("| " + " | ".join(["without", "code lines"] + [label for label, _ in sets]) + " |")
    print("|---" * (len(sets) + 2) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        root = a.out or Path(tmp)
        for rule in ([] if a.lines else [""]) + rules:
            own, inside = code_of(rule) if rule else (total, total)
            cells = [f"{own} ({inside})"] + [
                cell(run(rule, args, a.jobs, root / f"{rule or 'none'}-{k}"))
                for k, (_, args) in enumerate(sets)]
            print(f"| {what.get(rule, 'nothing (all rules)')} | " + " | ".join(cells) + " |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
