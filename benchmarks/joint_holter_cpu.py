"""CPU time per 2-lead beat of the joint model on a long record, against another checkout.

The first ``--minutes`` of a WFDB record (default: a synthetic 2-lead 360 Hz Holter
such as ``batch_speed.py --tmp DIR`` writes) fitted by ``gmesa.ecg.fit_leads(record,
threads=1)`` (joint, the default), in a fresh interpreter per run, after one untimed fit
of a short piece (compile, or load from Numba's cache).  CPU seconds are
``time.process_time`` (all threads of that interpreter), per beat of the fit, with the
share of each stage (the primary lead's own pass, the joint fits, the tables).  With
``--against DIR`` (another checkout of gmesa, e.g. one made by ``git worktree add``)
the two alternate, ``--repeat`` times each, and the medians are printed side by side.

    python benchmarks/joint_holter_cpu.py --record /work/holter/holter --minutes 30 \\
        --against /tmp/base --repeat 3

CPU time is what a busy shared machine distorts least; wall time is not reported.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STAGES = {"fit_record": "primary lead's own pass", "fit_shared": "joint fits (solver)",
          "_lead_table": "lead tables"}


def _child(record, minutes):
    import time

    import wfdb

    import gmesa.ecg.joint as joint
    from gmesa.ecg import Record, fit_leads
    rec = wfdb.rdrecord(record, sampto=int(rec_fs(record) * 60 * minutes))
    r = Record(rec.p_signal.copy(), float(rec.fs), leads=tuple(rec.sig_name))
    fit_leads(Record(r.signal[:int(100 * r.fs)], r.fs, leads=r.leads), threads=1)
    spent = {}
    for name in STAGES:
        fn = getattr(joint, name)

        def timed(*a, _fn=fn, _name=name, **k):
            c0 = time.process_time()
            try:
                return _fn(*a, **k)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.process_time() - c0
        setattr(joint, name, timed)
    c0 = time.process_time()
    n = len(fit_leads(r, threads=1).beats)
    cpu = time.process_time() - c0
    print(json.dumps({"beats": n, "cpu_s": cpu, **spent}))


def rec_fs(record):
    import wfdb
    return float(wfdb.rdheader(record).fs)


def _run(src, record, minutes):
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, str(HERE / "joint_holter_cpu.py"), "--child",
                          "--record", record, "--minutes", str(minutes)], env=env,
                         cwd=str(src), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", required=True, help="WFDB record path (no extension)")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--against", type=Path, default=None, help="another gmesa checkout")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.record, args.minutes)
        return 0
    srcs = {"this": HERE.parent}
    if args.against is not None:
        srcs["against"] = args.against.resolve()
    runs = {k: [] for k in srcs}
    for _ in range(args.repeat):
        for k, src in srcs.items():
            runs[k].append(_run(src, args.record, args.minutes))
    print(f"{args.record}, first {args.minutes:g} min, fit_leads(threads=1), median of "
          f"{args.repeat}; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for k, rs in runs.items():
        beats = rs[0]["beats"]
        per = {s: 1e3 * float(np.median([r.get(s, np.nan) for r in rs])) / beats
               for s in ("cpu_s", *STAGES)}
        parts = ", ".join(f"{STAGES[s]} {per[s]:.3f}" for s in STAGES)
        print(f"  {k:8s} ({srcs[k]}): {beats} beats, {per['cpu_s']:.3f} ms CPU per 2-lead "
              f"beat ({parts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
