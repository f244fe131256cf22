"""Fit speed and quality of every engine on the same ECG beats (issue 3).

Run:  python benchmarks/fit_speed.py            (300 beats per set, as in the issue)
      python benchmarks/fit_speed.py --beats 100
      python benchmarks/fit_speed.py --quick    (30 beats, fewer repeats: a smoke run)

Two sets of beats, each fitted by every engine from the same p0 and bounds per beat:
(a) synthetic ECG-like beats: 5 GMFs + a constant, 360 Hz, -0.25 s .. +0.45 s around R,
    per-beat P/Q/R/S/T parameters varied around a template, white noise 0.02 mV;
(b) where ``../shared/data/physionet`` is present: the first N normal ('N') beats of
    MIT-BIH record 100, lead MLII (mV), cut from R - 0.25 s to R + 0.45 s around the
    annotated R peaks, each minus its window median (the model's constant term fits
    what is left of the baseline).  Before it, R-peak detection (``detect_rpeaks``) is
    timed on the whole record (target: under 1 s for its 30 minutes).

Start values and bounds (``--start``, the same for every engine):
  guess             read off each beat as gmesa.ecg does: ``guess_beat`` for p0, and
                    ``waves.bounds`` from the beat's observed R, Q and S extrema (centres
                    in their physiological regions, Q/S amplitudes at most 1.5x the
                    observed depth, so components cannot cancel each other);
  template          one generic ECG template and one set of wide bounds for every beat;
  auto (default)    template for the synthetic set (its beats vary around a template),
                    guess for the real beats.
After each set, fit_many is also timed from the other start (its beats/s, iterations
and median PRD), so both starts are on record, and with a Gaussian prior per beat
(``prior=(p0, sd)``, sd a quarter of each finite bound range over an assumed noise of
0.02 mV, so in residual units; inf for unbounded parameters) on 2 threads next to the
figure without (target >= 3,000 beats/s).

Engines (model: 5 GMFs + constant, 26 parameters):
  lmfit peer        five ``lmfit.Model(gmf_numpy, prefix=...)`` + ``ConstantModel``,
                    method leastsq, finite-difference Jacobian: what a user would write;
  MesaSumModel      ``gmesa.MesaSumModel()``, method leastsq with the analytic Jacobian;
  fit_least_squares SciPy least_squares (trf) on the compiled kernels;
  fit_many 1t / 2t  compiled batch LM with threads=1 / threads=2 (whole-batch time / N;
                    the first compile is excluded by a warm-up call).
Every engine uses its own default tolerances.

Per engine: median and p90 wall time per beat (fit_many: batch time / N, over repeats of
the batch), beats per second (1 / mean time per beat), median CPU time per beat, median
iterations (nfev for lmfit/SciPy, nit for fit_many), median PRD = 100 * sqrt(sum(residual^2) / sum(yb^2)) with
yb = y - fitted constant, and the fraction of beats whose cost is within 1% (and 1e-6) of
the best engine's cost for that beat.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

# one BLAS thread for every engine (set before numpy loads; an explicit environment wins):
# the fits are small, and a multi-threaded OpenBLAS on a busy 2-core machine turns lmfit's
# 26x26 eigh for the uncertainties from ~0.1 ms into ~40 ms, which would swamp the
# lmfit-based engines' times.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import lmfit  # noqa: E402
import numba  # noqa: E402

import gmesa  # noqa: E402
from gmesa.models import MesaSumModel  # noqa: E402
from gmesa.solvers import fit_least_squares, fit_many  # noqa: E402

PHYSIONET = Path(__file__).resolve().parents[2] / "shared" / "data" / "physionet"
FS = 360
WINDOW = (-0.25, 0.45)                       # seconds around R
NAMES = ("P", "Q", "R", "S", "T")
FIELDS = ("amplitude", "center", "half_width", "sigma_left", "sigma_right")

# generic ECG template (mV, s): the same p0 for every engine and every beat
TEMPLATE = np.array([
    0.10, -0.17, 0.010, 0.020, 0.020,        # P
    -0.10, -0.03, 0.002, 0.008, 0.006,       # Q
    1.00, 0.00, 0.004, 0.010, 0.010,         # R
    -0.20, 0.03, 0.002, 0.006, 0.010,        # S
    0.30, 0.25, 0.020, 0.050, 0.040,         # T
    0.0,                                     # constant baseline
])
# bounds that keep each wave in its time region (and widths > 0, half-widths >= 0)
LOWER = np.array([
    -0.5, -0.24, 0.0, 0.005, 0.005,
    -3.0, -0.07, 0.0, 0.002, 0.002,
    0.0, -0.03, 0.0, 0.002, 0.002,
    -3.0, 0.005, 0.0, 0.002, 0.002,
    -1.5, 0.12, 0.0, 0.010, 0.010,
    -2.0,
])
UPPER = np.array([
    1.0, -0.08, 0.04, 0.08, 0.08,
    0.0, -0.005, 0.02, 0.04, 0.04,
    6.0, 0.03, 0.02, 0.04, 0.04,
    0.0, 0.07, 0.02, 0.04, 0.04,
    1.5, 0.42, 0.08, 0.15, 0.15,
    2.0,
])


# --------------------------------------------------------------------------- beats

def beat_x():
    n0, n1 = round(WINDOW[0] * FS), round(WINDOW[1] * FS)
    return np.arange(n0, n1) / FS


def synthetic_beats(n, seed=0):
    """ECG-like beats: template waves varied per beat, plus white noise 0.02 mV."""
    rng = np.random.default_rng(seed)
    x = beat_x()
    truth = np.array([
        0.15, -0.17, 0.015, 0.025, 0.020,
        -0.15, -0.035, 0.003, 0.008, 0.006,
        1.30, 0.00, 0.005, 0.010, 0.011,
        -0.30, 0.035, 0.003, 0.006, 0.010,
        0.35, 0.26, 0.030, 0.050, 0.045,
        0.05,
    ])
    P = np.tile(truth, (n, 1))
    P[:, 0::5][:, :5] *= rng.uniform(0.8, 1.2, (n, 5))          # amplitudes
    P[:, 1::5][:, :5] += rng.uniform(-0.008, 0.008, (n, 5))     # centres
    for q in (2, 3, 4):
        P[:, q::5][:, :5] *= rng.uniform(0.8, 1.2, (n, 5))      # half-widths, widths
    P[:, -1] = rng.normal(0.0, 0.05, n)
    Y = np.stack([gmesa.mesa_sum(x, p) for p in P]) + rng.normal(0.0, 0.02, (n, x.size))
    return x, Y, P


def record_100_beats(n, with_rr=False):
    """First n 'N' beats of MIT-BIH 100 (MLII, mV) whose window lies in the record (and,
    ``with_rr``, the RR interval before each, s; the record's first beat: its own RR
    after)."""
    import wfdb

    path = str(PHYSIONET / "100")
    rec = wfdb.rdrecord(path, channel_names=["MLII"])
    ann = wfdb.rdann(path, "atr")
    sig = rec.p_signal[:, 0]
    x = beat_x()
    n0 = round(WINDOW[0] * FS)
    beats, rr = [], []
    for k, (r, s) in enumerate(zip(ann.sample, ann.symbol)):
        if s != "N" or r + n0 < 0 or r + n0 + x.size > sig.size:
            continue
        seg = sig[r + n0:r + n0 + x.size]
        beats.append(seg - np.median(seg))
        rr.append(abs(r - ann.sample[k - 1 if k else 1]) / FS)
        if len(beats) == n:
            break
    return (x, np.array(beats), np.array(rr)) if with_rr else (x, np.array(beats))


# --------------------------------------------------------------------------- engines

def gmf_numpy(x, amplitude=1.0, center=0.0, half_width=0.0, sigma_left=0.01,
              sigma_right=0.01):
    """A plain numpy GMF, as a user would write it for lmfit."""
    d = (np.maximum(x - center - half_width, 0.0) / sigma_right
         + np.maximum(center - x - half_width, 0.0) / sigma_left)
    return amplitude * np.exp(-0.5 * d * d)


def peer_model():
    model = lmfit.models.ConstantModel(prefix="base_")
    for name in NAMES:
        model = model + lmfit.Model(gmf_numpy, prefix=f"{name}_")
    return model


def peer_params(model, p0, lower, upper):
    pars = model.make_params()
    for i, name in enumerate(NAMES):
        for j, f in enumerate(FIELDS):
            k = 5 * i + j
            pars[f"{name}_{f}"].set(value=p0[k], min=lower[k], max=upper[k])
    pars["base_c"].set(value=p0[-1], min=lower[-1], max=upper[-1])
    return pars


def peer_vector(params):
    return np.array([params[f"{n}_{f}"].value for n in NAMES for f in FIELDS]
                    + [params["base_c"].value])


def mesa_params(model, p0, lower, upper):
    pars = model.params_from_vector(p0)
    for k, a in enumerate(model._arg_names):
        pars[a].set(min=lower[k], max=upper[k])
    return pars


def starts(x, Y, mode):
    """(P0, LO, HI), each (N, 26): per-beat start values and bounds for every engine."""
    n = len(Y)
    if mode == "template":
        return (np.tile(TEMPLATE, (n, 1)), np.tile(LOWER, (n, 1)), np.tile(UPPER, (n, 1)))
    from gmesa.ecg.init import clip_into, guess_beat
    from gmesa.ecg.waves import bounds, observed_extrema

    r, q, s = observed_extrema(x, Y)
    lo, hi = bounds(NAMES, r, x[0], x[-1], n_baseline=1, q_depth=q, s_depth=s)
    p0 = np.array([clip_into(guess_beat(x, y, NAMES), lo[i], hi[i]) for i, y in enumerate(Y)])
    return p0, lo, hi


def _timed(fn, cpu_clock=time.thread_time):
    """(wall seconds, CPU seconds, result) of fn()."""
    c = cpu_clock()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, cpu_clock() - c, out


def _progress(text):
    print(text, file=sys.stderr, flush=True)


def _serial(name, Y, fit_one):
    """Fit beat by beat; fit_one(i, y) -> (params vector, iterations)."""
    wall, cpu, vecs, iters = [], [], [], []
    for i, y in enumerate(Y):
        dt, dc, (vec, it) = _timed(lambda: fit_one(i, y))
        wall.append(dt)
        cpu.append(dc)
        vecs.append(vec)
        iters.append(it)
        if (i + 1) % 50 == 0:
            _progress(f"  {name}: {i + 1}/{len(Y)} beats")
    return dict(time=np.array(wall), cpu=np.array(cpu), params=np.array(vecs),
                iters=np.array(iters))


def run_peer(x, Y, start):
    model = peer_model()
    p0, lo, hi = start

    def fit_one(i, y):
        res = model.fit(y, peer_params(model, p0[i], lo[i], hi[i]), x=x, method="leastsq")
        return peer_vector(res.params), res.nfev
    return _serial("lmfit peer", Y, fit_one)


def run_mesa_model(x, Y, start):
    model = MesaSumModel(names=NAMES)
    p0, lo, hi = start
    model.fit(Y[0], mesa_params(model, p0[0], lo[0], hi[0]), x=x)     # warm-up (kernels)

    def fit_one(i, y):
        res = model.fit(y, mesa_params(model, p0[i], lo[i], hi[i]), x=x, method="leastsq")
        return model.vector(res.params), res.nfev
    return _serial("MesaSumModel", Y, fit_one)


def run_least_squares(x, Y, start):
    p0, lo, hi = start

    def fit_one(i, y):
        res = fit_least_squares(x, y, p0[i], lo[i], hi[i])
        return res.params, res.nfev
    return _serial("fit_least_squares", Y, fit_one)


#: the noise assumed when a prior's sd is put in residual units (mV)
PRIOR_NOISE = 0.02


def beat_prior(start, kind="generic", rr=None):
    """A prior per beat.  ``generic``: mean p0, sd a quarter of the finite bound range /
    PRIOR_NOISE; ``ecg``: the ECG population priors (``gmesa.ecg.prior_arrays``) at the
    beats' RR intervals ``rr`` (s), sd / PRIOR_NOISE."""
    p0, lo, hi = start
    if kind == "ecg":
        from gmesa.ecg import prior_arrays
        return prior_arrays(gmesa.Layout(NAMES, (), "constant"), rr, PRIOR_NOISE)
    span = np.broadcast_to(hi - lo, p0.shape)
    return p0, np.where(np.isfinite(span) & (span > 0), span / 4 / PRIOR_NOISE, np.inf)


def run_fit_many(x, Y, start, threads, repeats, prior=None):
    p0, lo, hi = start
    fit_many(x, Y[:4], p0[:4], lo[:4], hi[:4], threads=threads,      # warm-up / compile
             prior=None if prior is None else (prior[0][:4], prior[1][:4]))
    wall, cpu, res = [], [], None
    for _ in range(repeats):
        dt, dc, res = _timed(lambda: fit_many(x, Y, p0, lo, hi, threads=threads, prior=prior),
                             cpu_clock=time.process_time)
        wall.append(dt / len(Y))
        cpu.append(dc / len(Y))
    return dict(time=np.array(wall), cpu=np.array(cpu), params=res.params, iters=res.nit,
                status=res.status)


# --------------------------------------------------------------------------- report

def quality(x, Y, params):
    cost, prd = np.empty(len(Y)), np.empty(len(Y))
    for i, (y, p) in enumerate(zip(Y, params)):
        r = y - gmesa.mesa_sum(x, p)
        yb = y - p[-1]
        cost[i] = 0.5 * r @ r
        prd[i] = 100.0 * np.sqrt((r @ r) / (yb @ yb))
    return cost, prd


def report(title, x, Y, results):
    n = len(Y)
    costs, prds = {}, {}
    for name, res in results.items():
        costs[name], prds[name] = quality(x, Y, res["params"])
    best = np.min(np.stack(list(costs.values())), axis=0)
    print(f"\n== {title}: {n} beats, {x.size} samples each, 26 parameters ==")
    head = (f"{'engine':<18}{'median ms':>10}{'p90 ms':>9}{'beats/s':>9}{'CPU ms':>8}"
            f"{'iters':>6}{'PRD %':>7}{'<=1% best':>10}{'<=1e-6':>7}")
    print(head)
    print("-" * len(head))
    rows = {}
    for name, res in results.items():
        t = res["time"]
        rate = 1.0 / np.mean(t)
        within = np.mean(costs[name] <= best * 1.01)
        within6 = np.mean(costs[name] <= best * (1 + 1e-6))
        rows[name] = dict(median=np.median(t), rate=rate, prd=np.median(prds[name]),
                          within=within, cpu=np.median(res["cpu"]))
        print(f"{name:<18}{1e3 * np.median(t):>10.3f}{1e3 * np.percentile(t, 90):>9.3f}"
              f"{rate:>9.0f}{1e3 * np.median(res['cpu']):>8.3f}{np.median(res['iters']):>6.0f}"
              f"{np.median(prds[name]):>7.2f}{within:>10.3f}{within6:>7.3f}")
    for name, res in results.items():
        if "status" in res:
            codes, counts = np.unique(res["status"], return_counts=True)
            print(f"  {name} status counts: {dict(zip(codes.tolist(), counts.tolist()))}")
    print("  time per beat: wall clock; fit_many rows: whole-batch time / N, median and p90 "
          "over repeats of the batch.\n  beats/s = 1 / mean wall time per beat.  CPU ms: "
          "median CPU time per beat (fit_many: process CPU time of the batch / N, both\n"
          "  threads summed), which a loaded machine inflates less than the wall clock.")
    return rows


def targets(title, rows):
    peer = rows["lmfit peer"]
    print(f"-- targets ({title}) --")
    speedup = peer["median"] / rows["MesaSumModel"]["median"]
    _target(f"MesaSumModel >= 5x faster than the lmfit peer (median time): {speedup:.1f}x",
            speedup >= 5)
    r2, r1 = rows["fit_many 2t"]["rate"], rows["fit_many 1t"]["rate"]
    _target(f"fit_many >= 2,500 beats/s on 2 threads: {r2:,.0f}", r2 >= 2500)
    _target(f"fit_many >= 1,250 beats/s on 1 thread: {r1:,.0f}", r1 >= 1250)
    cpu1 = 1.0 / rows["fit_many 1t"]["cpu"]
    print(f"  (CPU-time view: fit_many does {cpu1:,.0f} beats per CPU-second on one thread, "
          f"i.e. at most ~{2 * cpu1:,.0f} beats/s on 2 idle cores)")
    for name, row in rows.items():
        if name == "lmfit peer":
            continue
        ok_prd = row["prd"] <= peer["prd"] * 1.001
        ok_within = row["within"] >= peer["within"]
        _target(f"{name} quality no worse than the peer: median PRD {row['prd']:.3f} vs "
                f"{peer['prd']:.3f}, within 1% of best {row['within']:.3f} vs "
                f"{peer['within']:.3f}", ok_prd and ok_within)


def _target(text, ok):
    print(f"  [{'met' if ok else 'MISSED'}] {text}")


def time_rpeaks(repeats=3):
    """R-peak detection speed: best-of-``repeats`` wall time of ``gmesa.ecg.detect_rpeaks`` on
    all of MIT-BIH 100 (MLII, 30 min, 650,000 samples), after one warm-up call."""
    import wfdb

    from gmesa.ecg import detect_rpeaks

    rec = wfdb.rdrecord(str(PHYSIONET / "100"), channel_names=["MLII"])
    x, fs = rec.p_signal[:, 0], float(rec.fs)
    detect_rpeaks(x[:20000], fs)                 # compiled kernels loaded from the cache
    best = min(_timed(lambda: detect_rpeaks(x, fs))[0] for _ in range(repeats))
    print(f"\n== R-peak detection, MIT-BIH 100 MLII ({x.size} samples) ==")
    _target(f"detect_rpeaks under 1 s (best of {repeats}): {best:.3f} s, "
            f"{detect_rpeaks(x, fs).size} beats", best < 1.0)
    return best


def run_set(title, x, Y, repeats, mode, prior="generic", rr=None):
    results = {}
    t0 = time.perf_counter()
    start = starts(x, Y, mode)
    results["lmfit peer"] = run_peer(x, Y, start)
    results["MesaSumModel"] = run_mesa_model(x, Y, start)
    results["fit_least_squares"] = run_least_squares(x, Y, start)
    results["fit_many 1t"] = run_fit_many(x, Y, start, 1, repeats)
    results["fit_many 2t"] = run_fit_many(x, Y, start, 2, repeats)
    rows = report(f"{title}, start: {mode}", x, Y, results)
    targets(title, rows)
    other = "template" if mode == "guess" else "guess"
    alt = starts(x, Y, other)
    for threads in (1, 2):
        res = run_fit_many(x, Y, alt, threads, repeats)
        _, prd = quality(x, Y, res["params"])
        print(f"  fit_many {threads}t from the {other} start instead: "
              f"{1.0 / np.mean(res['time']):,.0f} beats/s, median iterations "
              f"{np.median(res['iters']):.0f}, median PRD {np.median(prd):.2f}%, "
              f"{np.sum(res['status'] == -1)} at the iteration limit")
    res = run_fit_many(x, Y, start, 2, repeats, prior=beat_prior(start, prior, rr))
    _, prd = quality(x, Y, res["params"])
    rate = 1.0 / np.mean(res["time"])
    print(f"  fit_many 2t with the {prior} prior (start: {mode}): {rate:,.0f} beats/s (without: "
          f"{rows['fit_many 2t']['rate']:,.0f}), CPU ms {1e3 * np.median(res['cpu']):.3f} "
          f"(without: {1e3 * rows['fit_many 2t']['cpu']:.3f}), median iterations "
          f"{np.median(res['iters']):.0f}, median PRD {np.median(prd):.2f}%, "
          f"{np.sum(res['status'] == -1)} at the iteration limit")
    _target(f"fit_many with a prior >= 3,000 beats/s on 2 threads: {rate:,.0f}", rate >= 3000)
    print(f"  ({time.perf_counter() - t0:.0f} s for this set)")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--beats", type=int, default=None, help="beats per set (default 300)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 30 beats per set, 3 repeats of the batch fits")
    ap.add_argument("--repeats", type=int, default=None,
                    help="repeats of each fit_many batch (default 9, --quick 3)")
    ap.add_argument("--start", choices=("auto", "guess", "template"), default="auto",
                    help="p0 and bounds: read off each beat, one generic template with "
                         "wide bounds, or auto (template for synthetic, guess for real)")
    ap.add_argument("--prior", choices=("generic", "ecg"), default="generic",
                    help="the prior of the 'with a prior' line: a quarter of each bound "
                         "range around p0, or the ECG population priors (gmesa.ecg.priors)")
    ap.add_argument("--real-only", action="store_true", help="skip the synthetic set")
    args = ap.parse_args(argv)
    n = args.beats or (30 if args.quick else 300)
    repeats = args.repeats or (3 if args.quick else 9)

    print(f"gmesa {gmesa.__version__}, numpy {np.__version__}, lmfit {lmfit.__version__}, "
          f"numba {numba.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, numba threads {numba.config.NUMBA_NUM_THREADS}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    if hasattr(os, "getloadavg"):
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
    if not args.real_only:
        x, Y, _ = synthetic_beats(n)
        run_set("synthetic ECG-like beats", x, Y, repeats,
                "template" if args.start == "auto" else args.start, args.prior,
                np.ones(len(Y)))
    if (PHYSIONET / "100.hea").exists():
        time_rpeaks()
        x, Y, rr = record_100_beats(n, with_rr=True)
        run_set("MIT-BIH 100 MLII, normal beats", x, Y, repeats,
                "guess" if args.start == "auto" else args.start, args.prior, rr)
    else:
        print(f"\n(record 100 not found at {PHYSIONET}: real-beat set skipped)")
    if hasattr(os, "getloadavg"):
        print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
