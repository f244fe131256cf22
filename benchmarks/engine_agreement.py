"""How often the three engines reach the same fit on MIT-BIH 100, with and without the
ECG population priors (issue 17: a report, no target).

300 normal beats of record 100 (MLII), each started from ``gmesa.ecg.guess_beat`` within
bounds from its own extrema (as ``benchmarks/fit_speed.py --start guess``), fitted by
``fit_many`` (compiled LM), ``fit_least_squares`` (SciPy trf) and ``MesaSumModel``
(lmfit leastsq), first without a prior, then with the priors of
``gmesa.ecg.prior_arrays`` for the beat's RR interval, their spreads divided by an
assumed residual SD of ``--noise`` mV (unit weights, docs/priors.md).  Per beat the
objective each engine reached (0.5 SSE + the prior's 0.5 sum z**2, computed here the
same way for all) is compared with the best of the three: the share of beats within 1%
and within 1e-6 (relative), and the share whose P and T centers agree within 1 ms
across all three engines.

    python benchmarks/engine_agreement.py [--beats 300] [--noise 0.02]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gmesa  # noqa: E402
from benchmarks.fit_speed import FS, NAMES, PHYSIONET, beat_x, starts  # noqa: E402
from gmesa.ecg import prior_arrays  # noqa: E402
from gmesa.models import MesaSumModel  # noqa: E402
from gmesa.solvers import fit_least_squares, fit_many  # noqa: E402


def beats_and_rr(n):
    """First n 'N' beats of record 100 (MLII, median removed) and the RR before each (s)."""
    import wfdb

    path = str(PHYSIONET / "100")
    sig = wfdb.rdrecord(path, channel_names=["MLII"]).p_signal[:, 0]
    ann = wfdb.rdann(path, "atr")
    x = beat_x()
    n0 = round(x[0] * FS)
    beats, rr = [], []
    for k, (r, s) in enumerate(zip(ann.sample, ann.symbol)):
        if s != "N" or k == 0 or r + n0 < 0 or r + n0 + x.size > sig.size:
            continue
        seg = sig[r + n0:r + n0 + x.size]
        beats.append(seg - np.median(seg))
        rr.append((r - ann.sample[k - 1]) / FS)
        if len(beats) == n:
            break
    return x, np.array(beats), np.array(rr)


def objective(x, Y, params, prior):
    """0.5 SSE + 0.5 sum(((p - mean)/sd)**2) per beat."""
    out = np.empty(len(Y))
    for i, (y, p) in enumerate(zip(Y, params)):
        r = y - gmesa.mesa_sum(x, p)
        out[i] = 0.5 * r @ r
        if prior is not None:
            z = (p - prior[0][i]) / prior[1][i]
            out[i] += 0.5 * np.sum(np.where(np.isfinite(prior[1][i]), z, 0.0) ** 2)
    return out


def run_engines(x, Y, start, prior):
    p0, lo, hi = start
    out = {}
    t = time.process_time()
    out["fit_many"] = fit_many(x, Y, p0, lo, hi, threads=1, prior=prior).params
    times = {"fit_many": time.process_time() - t}
    vecs = []
    t = time.process_time()
    for i, y in enumerate(Y):
        pri = None if prior is None else (prior[0][i], prior[1][i])
        vecs.append(fit_least_squares(x, y, p0[i], lo[i], hi[i], prior=pri).params)
    out["fit_least_squares"], times["fit_least_squares"] = np.array(vecs), time.process_time() - t
    model = MesaSumModel(names=NAMES)
    vecs = []
    t = time.process_time()
    for i, y in enumerate(Y):
        pars = model.params_from_vector(p0[i])
        for name, a, b in zip(model.param_names, lo[i], hi[i]):
            pars[name].set(min=a, max=b)
        named = None if prior is None else {
            nm: (m, s) for nm, m, s in zip(model.param_names, prior[0][i], prior[1][i])
            if np.isfinite(s)}
        vecs.append(model.vector(model.fit(y, pars, x=x, method="leastsq", prior=named).params))
    out["MesaSumModel"], times["MesaSumModel"] = np.array(vecs), time.process_time() - t
    return out, times


def report(title, x, Y, fits, times, prior):
    costs = {k: objective(x, Y, p, prior) for k, p in fits.items()}
    best = np.min(np.stack(list(costs.values())), axis=0)
    print(f"\n{title}")
    print(f"{'engine':20s} {'CPU ms/beat':>11s} {'within 1%':>10s} {'within 1e-6':>12s}")
    for k, c in costs.items():
        print(f"{k:20s} {1e3 * times[k] / len(Y):11.2f} {np.mean(c <= best * 1.01):10.3f} "
              f"{np.mean(c <= best * (1 + 1e-6)):12.3f}")
    allc = np.stack(list(costs.values()))
    same = np.all(allc <= best * (1 + 1e-6), axis=0)
    lay = gmesa.Layout(NAMES, (), "constant")
    centers = [lay.index("P", "center"), lay.index("T", "center")]
    stack = np.stack([fits[k][:, centers] for k in fits])
    agree = np.all(np.ptp(stack, axis=0) <= 0.001, axis=1)
    print(f"all three within 1e-6 of the best: {np.mean(same):.3f}; P and T centers within "
          f"1 ms across the three: {np.mean(agree):.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beats", type=int, default=300)
    ap.add_argument("--noise", type=float, default=0.02,
                    help="residual SD (mV) the prior spreads are divided by")
    args = ap.parse_args(argv)
    x, Y, rr = beats_and_rr(args.beats)
    start = starts(x, Y, "guess")
    lay = gmesa.Layout(NAMES, (), "constant")
    print(f"MIT-BIH 100 MLII, {len(Y)} normal beats, start: guess; priors from "
          f"gmesa/data/ecg_priors.csv, sd / {args.noise} mV")
    fits, times = run_engines(x, Y, start, None)
    report("without priors", x, Y, fits, times, None)
    prior = prior_arrays(lay, rr, args.noise)
    fits, times = run_engines(x, Y, start, prior)
    report("with the ECG priors", x, Y, fits, times, prior)


if __name__ == "__main__":
    main()
