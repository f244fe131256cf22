"""Value + Jacobian speed of the mesa-sum kernels against a vectorised numpy version.

Run:  python benchmarks/kernels.py [--repeats 15] [--samples 250] [--components 5]

Model: 5 GMF components + a constant baseline (26 parameters) on 250 samples (an ECG
beat at 360 Hz is ~250 samples).  Each line is the median over ``--repeats`` timeit
repeats (each repeat runs the call enough times to last ~20 ms); ns per sample =
time per call / number of samples.

Lines:
  numpy           gmesa.lineshapes.mesa_sum + gmesa.lineshapes.mesa_sum_jacobian
  numba kernel    gmesa._kernels.mesa_sum_jac_into: value + full Jacobian, one pass,
                  preallocated output (what the solvers call)
  numba kernel, value and Jacobian as two calls: mesa_sum_into + mesa_sum_jac_into
  public          gmesa.mesa_sum_and_jacobian (validation + allocation included), and
                  gmesa.mesa_sum + gmesa.mesa_sum_jacobian
Targets (issue 2): >= 20x faster than numpy and <= 40 ns per sample for the value plus
the full 26-column Jacobian (checked on the one-pass kernel; the other lines are printed
against the same targets for information).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

import gmesa  # noqa: E402
from gmesa import _kernels as K  # noqa: E402
from gmesa import lineshapes as ls  # noqa: E402

ECG = np.array([
    0.15, -0.17, 0.015, 0.025, 0.020,        # P
    -0.15, -0.035, 0.003, 0.008, 0.006,      # Q
    1.30, 0.00, 0.005, 0.010, 0.011,         # R
    -0.30, 0.035, 0.003, 0.006, 0.010,       # S
    0.35, 0.26, 0.030, 0.050, 0.045,         # T
])


def params_for(k):
    """k components: the ECG waves, repeated with shifted centres beyond five."""
    rows = [ECG[5 * (i % 5):5 * (i % 5) + 5].copy() for i in range(k)]
    for i, r in enumerate(rows):
        r[1] += 0.05 * (i // 5)
    return np.concatenate(rows + [np.array([0.05])])


def median_time(fn, repeats, timer=time.perf_counter):
    """Median and p90 seconds per call over ``repeats`` timeit repeats of ~20 ms each."""
    fn()
    number = 1
    while timeit.timeit(fn, number=number, timer=timer) < 0.02:
        number *= 2
    times = np.array(timeit.repeat(fn, number=number, repeat=repeats, timer=timer)) / number
    return float(np.median(times)), float(np.percentile(times, 90))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--samples", type=int, default=250)
    ap.add_argument("--components", type=int, default=5)
    args = ap.parse_args(argv)

    n, k = args.samples, args.components
    x = np.linspace(-0.25, 0.45, n)
    p = params_for(k)
    P = p.size
    out = np.empty(n)
    jt = np.empty((P, n))

    # the compiled kernels agree with the reference before anything is timed
    K.mesa_sum_jac_into(x, p, k, 0, 1, out, jt)
    scale = np.sum(np.abs(p[0:5 * k:5])) + abs(p[-1])
    assert np.max(np.abs(out - ls.mesa_sum(x, p))) <= 1e-12 * scale
    ref_j = ls.mesa_sum_jacobian(x, p)
    assert np.all(np.max(np.abs(jt.T - ref_j), axis=0)
                  <= 1e-12 * np.maximum(np.max(np.abs(ref_j), axis=0), 1e-300))

    def numpy_both():
        ls.mesa_sum(x, p)
        ls.mesa_sum_jacobian(x, p)

    def kernel_one_pass():
        K.mesa_sum_jac_into(x, p, k, 0, 1, out, jt)

    def kernel_two_calls():
        K.mesa_sum_into(x, p, k, 0, 1, out)
        K.mesa_sum_jac_into(x, p, k, 0, 1, out, jt)

    def kernel_value():
        K.mesa_sum_into(x, p, k, 0, 1, out)

    def public_one_call():
        gmesa.mesa_sum_and_jacobian(x, p)

    def public_two_calls():
        gmesa.mesa_sum(x, p)
        gmesa.mesa_sum_jacobian(x, p)

    def numpy_value():
        ls.mesa_sum(x, p)

    print(f"gmesa {gmesa.__version__}, numpy {np.__version__}, numba {numba.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs"
          + (f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""))
    print(f"model: {k} GMF components + constant = {P} parameters, {n} samples; "
          f"median of {args.repeats} repeats (~20 ms each)\n")
    rows = [
        ("numpy: mesa_sum + mesa_sum_jacobian", numpy_both, True),
        ("numba kernel: mesa_sum_jac_into (one pass)", kernel_one_pass, True),
        ("numba kernel: mesa_sum_into + mesa_sum_jac_into", kernel_two_calls, True),
        ("public: gmesa.mesa_sum_and_jacobian", public_one_call, True),
        ("public: gmesa.mesa_sum + gmesa.mesa_sum_jacobian", public_two_calls, True),
        ("numpy: mesa_sum (value only)", numpy_value, False),
        ("numba kernel: mesa_sum_into (value only)", kernel_value, False),
    ]
    wall, wall90, cpu = {}, {}, {}
    for name, fn, _ in rows:
        wall[name], wall90[name] = median_time(fn, args.repeats)
        cpu[name], _ = median_time(fn, args.repeats, timer=time.thread_time)
    print(f"{'':<50}{'wall us':>9}{'p90':>8}{'ns/smp':>8}{'vs numpy':>9}"
          f"{'| CPU us':>9}{'ns/smp':>8}{'vs numpy':>9}")
    for name, fn, both in rows:
        base = rows[0][0] if both else "numpy: mesa_sum (value only)"
        print(f"{name:<50}{1e6 * wall[name]:>9.2f}{1e6 * wall90[name]:>8.2f}"
              f"{1e9 * wall[name] / n:>8.1f}{wall[base] / wall[name]:>8.1f}x"
              f"{'|':>2}{1e6 * cpu[name]:>7.2f}{1e9 * cpu[name] / n:>8.1f}"
              f"{cpu[base] / cpu[name]:>8.1f}x")
    print("(wall: time.perf_counter; CPU: time.thread_time, which does not count time the "
          "thread waits for a core on a loaded machine)")

    print("\ntargets: value + full Jacobian >= 20x faster than numpy and <= 40 ns/sample")
    base = rows[0][0]
    for name in (rows[1][0], rows[2][0], rows[3][0], rows[4][0]):
        tag = "TARGET" if name == rows[1][0] else "info  "
        parts = []
        for clock, t in (("wall", wall), ("CPU", cpu)):
            speed, ns = t[base] / t[name], 1e9 * t[name] / n
            parts.append(f"{clock} {speed:.1f}x [{'met' if speed >= 20 else 'MISSED'}], "
                         f"{ns:.1f} ns/sample [{'met' if ns <= 40 else 'MISSED'}]")
        print(f"  {tag} {name}:\n           " + ";  ".join(parts))


if __name__ == "__main__":
    main()
