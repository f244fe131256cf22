"""Speed of the joint multi-lead model against the per-lead one, in the same run.

A 10-s, 12-lead, 500 Hz LUDB record (default ``ludb/data/1`` under ``$GMESA_DATA``)
fitted by ``gmesa.ecg.fit_leads(record)`` (joint, the default) and by
``fit_leads(record, joint=False)`` (each lead alone, shared R peaks), alternately,
after one untimed fit of each (compile, or load from Numba's cache).  Prints the median
wall-clock and CPU seconds (``time.process_time``: all threads of this process) per
record of each, and the joint fit's solver figures.

    GMESA_DATA=/work/shared/data python benchmarks/joint_speed.py [--record PATH] [--repeat 7]

Timings on a shared 2-core machine are noisy: read the CPU figures and the ratio.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np


def _time(fn, repeat):
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", default=None, help="WFDB record path (no extension)")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    args = ap.parse_args(argv)
    from gmesa.ecg import fit_leads, read_record
    path = args.record or str(Path(os.environ.get("GMESA_DATA", "data")) / "ludb" / "data" / "1")
    rec = read_record(path)
    print(f"record {path}: {len(rec.leads)} leads, {rec.fs:g} Hz, {rec.duration_s:.1f} s")
    opts = {} if args.threads is None else {"threads": args.threads}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        joint = fit_leads(rec, **opts)                 # compile / load the caches
        fit_leads(rec, joint=False, **opts)
        rows = {}
        for _ in range(args.repeat):  # alternate, so both see the same machine load
            for name, kw in (("joint", {}), ("per-lead", {"joint": False})):
                w, c = _time(lambda: fit_leads(rec, **kw, **opts), 1)
                rows.setdefault(name, []).append((w, c))
    print(f"{'model':10s} {'wall s (median)':>16s} {'cpu s (median)':>15s}")
    for name, v in rows.items():
        v = np.array(v)
        print(f"{name:10s} {np.median(v[:, 0]):16.3f} {np.median(v[:, 1]):15.3f}")
    b = joint.beats
    print(f"joint: {len(b)} beats, {int((b['status'] == 'ok').sum())} ok, solver iterations "
          f"median {np.median(b['nit']):.0f}, max {b['nit'].max():.0f}")


if __name__ == "__main__":
    main()
