"""End-to-end speed and memory of ``gmesa.batch.fit_files`` against NeuroKit2.

What is measured, each in a fresh child process whose whole process tree is watched
(RSS of the child and all its descendants, summed, sampled every 20 ms):

* **gmesa**: ``fit_files([record], out=tmp, workers=W)`` -- read the lead, clean,
  detect R peaks, fit every beat, fiducials and intervals, write the beat table,
  the cleaned signal and the info file.  Timed after the child has imported gmesa
  and compiled (or loaded from Numba's cache) every kernel by fitting a short
  synthetic record: "after the first compile".  For ONE record, ``workers`` = W
  gives the fit W Numba threads inside one process (fit_files hands spare cores to
  the fit when there are fewer records than workers); the record is not split
  across processes.
* **neurokit2** (the peer): the same lead read by the same reader, then
  ``nk.ecg_process(signal, sampling_rate=fs)`` (clean, R peaks, rate, quality, DWT
  delineation, phases) and its peaks and wave boundaries written as a Parquet
  table.  Single-threaded (numpy/scipy).

Records: MIT-BIH 100 (30 min, lead MLII, from ../shared/data/physionet) and a
synthetic 24-hour, 2-lead, 360 Hz Holter from ``gmesa.ecg.synthesize`` written as a
WFDB record (``wfdb.wrsamp``, format 16) into a temporary folder.  NeuroKit2 on 24 h
needs tens of GiB: it runs under a memory cap and, when stopped, on the first hour
(figures extrapolated linearly, marked so).

    python benchmarks/batch_speed.py                 # everything (about 30 min here)
    python benchmarks/batch_speed.py --hours 2       # a shorter synthetic record
    python benchmarks/batch_speed.py --skip-holter   # record 100 only
    python benchmarks/batch_speed.py --leads         # also both Holter leads at once

Timings on a shared 2-core machine are noisy: other jobs compete for the cores.  Each gmesa
run also prints its CPU seconds (user + system, all threads and ended child processes),
which the load distorts less than wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data" / "physionet"
GIB = 2 ** 30

TARGET_100_S = 3.0
TARGET_HOLTER_S = 60.0
TARGET_HOLTER_RSS = 1 * GIB


# ---------------------------------------------------------------------------------
# child jobs (run in a fresh interpreter: python batch_speed.py --child JSON)
# ---------------------------------------------------------------------------------
def _cpu_seconds():
    """CPU seconds (user + system) of this process, all its threads, and its children
    that have ended: what a busy shared machine distorts least."""
    import resource
    own, ended = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                   resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def _child(job):
    t0 = time.perf_counter()
    res = {"job": job}
    if job["kind"] == "synth":
        import numpy as np
        import wfdb
        from gmesa.ecg import synthesize
        s = synthesize(duration=job["hours"] * 3600.0, fs=360.0, leads=2, seed=0,
                       name="holter")
        res["synth_s"] = time.perf_counter() - t0
        res["beats_true"] = int(len(s.rpeaks))
        sig = s.record.signal
        del s
        t1 = time.perf_counter()
        wfdb.wrsamp("holter", fs=360.0, units=["mV", "mV"], sig_name=["lead0", "lead1"],
                    p_signal=sig, fmt=["16", "16"], adc_gain=[1000.0, 1000.0],
                    baseline=[0, 0], write_dir=job["dir"])
        res["write_s"] = time.perf_counter() - t1
        res["n_samples"] = int(sig.shape[0])
        del sig, np
    elif job["kind"] == "gmesa":
        from gmesa.batch import fit_files, warm_up
        warm_up()
        t1 = time.perf_counter()
        res["startup_s"] = t1 - t0
        cpu0 = _cpu_seconds()
        with tempfile.TemporaryDirectory() as out:
            s = fit_files([job["path"]], out=out, workers=job["workers"], lead=job["lead"],
                          leads=job.get("leads"), progress=False, resume=False)
            res["seconds"] = time.perf_counter() - t1
        res["cpu_s"] = _cpu_seconds() - cpu0
        row = s.iloc[0]
        res.update(status=row["status"], reason=row["reason"], beats=int(row["n_beats"] or 0),
                   n_ok=int(row["n_ok"] or 0), read_s=float(row["read_s"]),
                   fit_s=float(row["fit_s"]), write_s=float(row["write_s"]))
    elif job["kind"] == "neurokit2":
        import warnings

        import neurokit2 as nk
        import numpy as np
        import pandas as pd
        from gmesa.ecg import read_record
        t1 = time.perf_counter()
        res["startup_s"] = t1 - t0
        rec = read_record(job["path"], lead=job["lead"])
        sig = rec.signal
        if job.get("seconds"):
            sig = sig[: int(job["seconds"] * rec.fs)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, info = nk.ecg_process(sig, sampling_rate=int(round(rec.fs)))
        r = np.asarray(info["ECG_R_Peaks"])
        cols = {"r_peak": r}
        for key in ("ECG_P_Onsets", "ECG_P_Peaks", "ECG_P_Offsets", "ECG_R_Onsets",
                    "ECG_R_Offsets", "ECG_T_Onsets", "ECG_T_Peaks", "ECG_T_Offsets"):
            v = np.asarray(info.get(key, []), dtype=float)
            cols[key] = v if v.size == r.size else np.full(r.size, np.nan)
        with tempfile.TemporaryDirectory() as out:
            pd.DataFrame(cols).to_parquet(Path(out) / "beats.parquet")
        res["seconds"] = time.perf_counter() - t1
        res["beats"] = int(r.size)
        res["status"] = "ok"
    print("RESULT " + json.dumps(res), flush=True)


# ---------------------------------------------------------------------------------
# parent: run a child, watch its process tree
# ---------------------------------------------------------------------------------
def _tree_rss(proc):
    import psutil
    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_child(job, timeout=3600.0, rss_cap=None):
    """Run a job in a fresh interpreter; return its result with ``peak_rss`` (bytes,
    whole process tree) and ``wall_s``; stop it past ``timeout`` s or ``rss_cap``."""
    import psutil
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    popen = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child",
                              json.dumps(job)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    proc = psutil.Process(popen.pid)
    peak = [0]
    stopped = [None]

    def watch():
        while popen.poll() is None:
            rss = _tree_rss(proc)
            peak[0] = max(peak[0], rss)
            if rss_cap is not None and rss > rss_cap:
                stopped[0] = (f"process tree above {rss_cap / GIB:.1f} GiB after "
                              f"{time.perf_counter() - t0:.0f} s")
                _kill_tree(proc)
                return
            if time.perf_counter() - t0 > timeout:
                stopped[0] = f"still running after {timeout:.0f} s"
                _kill_tree(proc)
                return
            time.sleep(0.02)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    out, err = popen.communicate()
    th.join()
    res = {"job": job}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    res["peak_rss"] = peak[0]
    res["wall_s"] = time.perf_counter() - t0
    if stopped[0]:
        res.update(status="stopped", reason=stopped[0], elapsed_s=res["wall_s"])
    elif popen.returncode != 0:
        res.update(status="error", reason=err.strip().splitlines()[-1] if err.strip() else
                   f"exit code {popen.returncode}")
    return res


def _kill_tree(proc):
    import psutil
    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        kids = []
    for p in kids + [proc]:
        try:
            p.kill()
        except psutil.Error:
            pass


# ---------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------
def _mib(b):
    return f"{b / 2 ** 20:,.0f} MiB"


def _line(name, r):
    if r.get("status") != "ok":
        return f"  {name:<34} {r.get('status', '?')}: {r.get('reason', '')}"
    bps = r["beats"] / r["seconds"] if r["seconds"] > 0 else float("nan")
    parts = f"{r['seconds']:8.2f} s  {r['beats']:>7,} beats  {bps:8,.0f} beats/s  " \
            f"peak RSS {_mib(r['peak_rss']):>10}"
    if "fit_s" in r:
        parts += f"  (read {r['read_s']:.2f} + fit {r['fit_s']:.2f} + write {r['write_s']:.2f} s)"
    if "cpu_s" in r:
        parts += f"  CPU {r['cpu_s']:.2f} s"
    return f"  {name:<34} {parts}"


def _verdict(ok):
    return "met" if ok else "MISSED"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=SHARED,
                    help="folder holding MIT-BIH record 100 (default ../shared/data/physionet)")
    ap.add_argument("--hours", type=float, default=24.0,
                    help="length of the synthetic Holter in hours (default 24)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                    help="worker counts to measure (default 1 2)")
    ap.add_argument("--skip-holter", action="store_true", help="record 100 only")
    ap.add_argument("--skip-peer", action="store_true", help="leave NeuroKit2 out")
    ap.add_argument("--peer-cap-gib", type=float, default=6.0,
                    help="stop NeuroKit2 when its RSS passes this (default 6 GiB)")
    ap.add_argument("--leads", action="store_true",
                    help="also fit both Holter leads with fit_files(leads='all') (no target)")
    ap.add_argument("--tmp", type=Path, default=None,
                    help="folder for the synthetic record (default: a temporary folder)")
    args = ap.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return 0

    import platform

    import psutil
    print(f"gmesa batch_speed: {platform.node()}, {psutil.cpu_count()} logical cores, "
          f"{psutil.virtual_memory().total / GIB:.1f} GiB RAM, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: noisy)")
    results = {}

    rec100 = args.data / "100.hea"
    if rec100.is_file():
        print("\nMIT-BIH 100, lead MLII (30 min 5 s, 360 Hz): end to end, after the first compile")
        for w in args.workers:
            r = run_child({"kind": "gmesa", "path": str(rec100), "lead": "MLII", "workers": w})
            results[("100", w)] = r
            print(_line(f"gmesa, workers={w} (Numba threads)", r), flush=True)
        if not args.skip_peer:
            r = run_child({"kind": "neurokit2", "path": str(rec100), "lead": "MLII"})
            results[("100", "nk")] = r
            print(_line("neurokit2 ecg_process (1 thread)", r), flush=True)
    else:
        print(f"\nrecord 100 not found in {args.data}: skipped")

    if not args.skip_holter:
        tmp_ctx = tempfile.TemporaryDirectory() if args.tmp is None else None
        folder = Path(tmp_ctx.name) if tmp_ctx else args.tmp
        folder.mkdir(parents=True, exist_ok=True)
        hea = folder / "holter.hea"
        n_expected = int(round(args.hours * 3600 * 360))
        gen = None
        if not (hea.is_file() and (folder / "holter.dat").stat().st_size == n_expected * 4):
            gen = run_child({"kind": "synth", "hours": args.hours, "dir": str(folder)})
        label = f"{args.hours:g}-hour"
        print(f"\nsynthetic {label} Holter, 2 leads, 360 Hz (gmesa.ecg.synthesize -> wfdb.wrsamp)")
        if gen is not None:
            if gen.get("status") in ("error", "stopped"):
                print(f"  generation failed: {gen.get('reason')}")
                return 1
            print(f"  generated: synthesize {gen['synth_s']:.1f} s, wrsamp {gen['write_s']:.1f} s, "
                  f"{gen['beats_true']:,} beats, peak RSS {_mib(gen['peak_rss'])}")
        for w in args.workers:
            r = run_child({"kind": "gmesa", "path": str(hea), "lead": "lead0", "workers": w})
            results[("holter", w)] = r
            print(_line(f"gmesa, workers={w} (Numba threads)", r), flush=True)
        if args.leads:
            w = max(args.workers)
            r = run_child({"kind": "gmesa", "path": str(hea), "lead": "lead0", "workers": w,
                           "leads": "all"})
            print(_line(f"gmesa, both leads, workers={w}", r), flush=True)
        if not args.skip_peer:
            r = run_child({"kind": "neurokit2", "path": str(hea), "lead": "lead0"},
                          rss_cap=args.peer_cap_gib * GIB, timeout=1800)
            results[("holter", "nk")] = r
            print(_line("neurokit2 ecg_process (1 thread)", r), flush=True)
            if r.get("status") == "stopped":
                r1 = run_child({"kind": "neurokit2", "path": str(hea), "lead": "lead0",
                                "seconds": 3600.0}, rss_cap=args.peer_cap_gib * GIB)
                print(_line("neurokit2, first hour only", r1))
                if r1.get("status") == "ok":
                    f = args.hours
                    print(f"  {'neurokit2, time x' + format(f, 'g') + ' (extrapolated)':<34} "
                          f"{r1['seconds'] * f:8.1f} s  ~{r1['beats'] * f:>6,.0f} beats  "
                          f"{r1['beats'] / r1['seconds']:8,.0f} beats/s  peak RSS: more than "
                          f"{args.peer_cap_gib:g} GiB (stopped above)")
        if tmp_ctx:
            tmp_ctx.cleanup()

    print("\ntargets")
    best100 = [results[k] for k in results if k[0] == "100" and k[1] != "nk"
               and results[k].get("status") == "ok"]
    if best100:
        b = min(best100, key=lambda r: r["seconds"])
        print(f"  record 100 end to end <= {TARGET_100_S:g} s after the first compile: "
              f"{b['seconds']:.2f} s (workers={b['job']['workers']}) -> "
              f"{_verdict(b['seconds'] <= TARGET_100_S)}")
    hol = [results[k] for k in results if k[0] == "holter" and k[1] != "nk"
           and results[k].get("status") == "ok"]
    if hol:
        b = min(hol, key=lambda r: r["seconds"])
        print(f"  {args.hours:g}-hour Holter <= {TARGET_HOLTER_S:g} s: {b['seconds']:.1f} s "
              f"(workers={b['job']['workers']}, {b['beats']:,} beats) -> "
              f"{_verdict(b['seconds'] <= TARGET_HOLTER_S)}")
        worst = max(r["peak_rss"] for r in hol)
        print(f"  {args.hours:g}-hour Holter peak RSS < 1 GiB (whole process tree): "
              f"{_mib(worst)} -> {_verdict(worst < TARGET_HOLTER_RSS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
