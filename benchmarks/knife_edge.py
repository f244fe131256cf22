#!/usr/bin/env python
"""How far an imperceptible change of the input moves the delineation figures.

White noise of 0.0001 mV (0.1 uV: below any recorder's resolution) is added to every lead
(``delineation.py --noise 0.0001 --noise-seed S``, the same noise for a record in every
run) for a few seeds, and each set is scored again.  A figure that moves under it was
decided by which of two nearly equal fits the optimizer reached in one or two records
(a whole-record choice, or a beat's local optimum), not by the method: read a margin
smaller than that band as a tie.  Prints, per set, the figures without noise and their
range over the seeds: |mean| + SD (ms) of P on, P off, QRS on, QRS off, T off; P Se / PPV
(P on); T Se / PPV (T off).

    python benchmarks/knife_edge.py [--seeds 1 2 3] [--joint] [--jobs 2] [--out DIR]

About 15 s per set and seed on 2 cores (``--joint``: the joint model on LUDB's global
marks, twelve leads, and QTDB's two leads, instead of lead ii / lead 0 alone).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.rule_ablation import BOUNDARIES, SETS, run  # noqa: E402

#: the joint model's sets: LUDB's global marks over the twelve leads, QTDB's two leads
JOINT_SETS = (("LUDB odd, 12 leads", SETS[0][1] + ["--ludb-marks", "global"]),
              ("LUDB even, 12 leads", SETS[1][1] + ["--ludb-marks", "global"]),
              ("QTDB, 2 leads", SETS[2][1]))

#: the noise (mV) added: far below a recorder's least significant bit
NOISE_MV = 0.0001


def figures(summary):
    """{name: value} of one run's summary table: |mean| + SD per boundary (ms) and the
    P and T sensitivity and PPV."""
    s = summary.set_index("fiducial")
    out = {b: abs(s.loc[b, "mean_ms"]) + s.loc[b, "sd_ms"] for b in BOUNDARIES}
    out.update({"P Se": s.loc["P_on", "se"], "P PPV": s.loc["P_on", "ppv"],
                "T Se": s.loc["T_off", "se"], "T PPV": s.loc["T_off", "ppv"]})
    return out


def band(base, seeds):
    """'base [min-max]' of one figure, the range over the seeds' runs."""
    fmt = "{:.1f}" if base > 1.5 else "{:.3f}"
    lo, hi = np.min(seeds), np.max(seeds)
    return f"{fmt.format(base)} [{fmt.format(lo)}-{fmt.format(hi)}]"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--joint", action="store_true",
                    help="the joint model (gmesa_joint) on its sets instead of one lead")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep each run's output here")
    a = ap.parse_args(argv)
    sets, method = (JOINT_SETS, "gmesa_joint") if a.joint else (SETS, "gmesa")
    names = list(BOUNDARIES) + ["P Se", "P PPV", "T Se", "T PPV"]
    print(f"{method}: without noise [range with {NOISE_MV:g} mV of white noise, seeds "
          f"{', '.join(map(str, a.seeds))}]\n")
    print("| set | " + " | ".join(n.replace("_", " ") for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        root = a.out or Path(tmp)
        for k, (label, args) in enumerate(sets):
            base = figures(run("", args, a.jobs, root / f"{k}-none", method))
            runs = [figures(run("", args + ["--noise", str(NOISE_MV), "--noise-seed", str(s)],
                                a.jobs, root / f"{k}-seed{s}", method)) for s in a.seeds]
            cells = [band(base[n], [r[n] for r in runs]) for n in names]
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
