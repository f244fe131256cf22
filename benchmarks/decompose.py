"""Decomposition against its peers, one run (issue 19).

Run:  python benchmarks/decompose.py            (1,000 synthetic signals per SNR, every pulse)
      python benchmarks/decompose.py --quick    (100 signals per SNR, 300 pulses per channel)

(a) Synthetic sums of K = 1..6 overlapping mesa components (K cycles 1..6), 500 samples
    on x in [0, 1], centres uniform in [0.1, 0.9] at least 0.08 apart, tail widths
    sqrt(sl * sr) ~ U(0.015, 0.04) with sr/sl log-uniform in [1/2, 2], half of the
    components flat-topped (half_width ~ U(0, 0.02)), amplitudes ~ U(0.3, 1), a constant
    baseline 0.1, white noise at 20 and 30 dB SNR (mean square of the components' sum
    over the noise variance).  Seeds are fixed: every method sees the same signals.
    Methods:
      decompose            gmesa.decompose(x, y) with its defaults (mesa, BIC, any sign)
      decompose +          the same with sign="positive"
      lmfit guess, true K  MesaSumModel(K names).guess() + fit (leastsq, analytic Jacobian)
      lmfit guess, BIC K   the same for K = 1..8 (stopping 2 K after the best), lowest BIC
      find_peaks+curve_fit Savitzky-Golay smoothing (11 samples, cubic), scipy.signal.
                           find_peaks (prominence 5% of the range, at most 8) for K and
                           the starts (heights, positions, peak_widths), then curve_fit of
                           K Gaussians + a constant, as users write it
    Columns: fraction with K exact; on those, the median |centre error| (% of the span),
    |amplitude error| (% of the true height) and |area error| (%), components matched in
    order of their centres; median PRD (% = 100 |y - fit| / |y - mean y|); ms per signal.
(b) PhysioNet v102s PLETH (PPG, 250 Hz, unwrapped: it overflows its 12 bits) and
    03700181 ABP (125 Hz), read from $GMESA_DATA/physionet (default ../shared/data).
    gmesa.fit_pulses with its defaults (2 threads); the peers fit the same pulse windows
    (the valley-to-valley windows fit_pulses found): lmfit MesaSumModel.guess() at the
    template's K and at a BIC-chosen K (1..4), and find_peaks + curve_fit.  Interpretable
    = the rules of gmesa.decomp.interpret (amplitudes >= 5% of the pulse range, centres inside
    and >= 20 ms apart, plateaus <= 1/4 of the pulse, the template's order); for the peers,
    which have no template, "the same components" = the K most of their pulses have.
    Pulses/s: fit_pulses after the template (info["seconds"]["pulses"]); peers: their
    per-pulse loop.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

import gmesa
from gmesa.decomp.interpret import interpretability

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GMESA_DATA", REPO.parent / "shared" / "data"))
AREA = np.sqrt(np.pi / 2)


# ------------------------------------------------------------------------------------
# (a) synthetic sums
# ------------------------------------------------------------------------------------
def synthetic(seed, k, snr_db, n=500):
    """x, y, truth rows (K, 5) of one synthetic sum (see the module docstring)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n)
    while True:
        c = np.sort(rng.uniform(0.1, 0.9, k))
        if k == 1 or np.min(np.diff(c)) > 0.08:
            break
    rows = []
    for ci in c:
        s = rng.uniform(0.015, 0.04)
        r = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
        h = rng.uniform(0.0, 0.02) if rng.random() < 0.5 else 0.0
        rows.append((rng.uniform(0.3, 1.0), ci, h, s / np.sqrt(r), s * np.sqrt(r)))
    truth = np.array(rows)
    clean = gmesa.mesa_sum(x, np.r_[truth.ravel(), 0.0])
    sd = np.sqrt(np.mean(clean ** 2) / 10 ** (snr_db / 10))
    return x, clean + 0.1 + sd * rng.standard_normal(n), truth


def prd(y, fit):
    return 100 * np.linalg.norm(y - fit) / np.linalg.norm(y - y.mean())


def m_decompose(x, y, **kw):
    d = gmesa.decompose(x, y, **kw)
    return d.params[:5 * d.n_components].reshape(-1, 5), d.eval()


def _lmfit(x, y, k):
    model = gmesa.MesaSumModel(names=[f"c{i}" for i in range(k)])
    res = model.fit(y, model.guess(y, x=x), x=x)
    return res, model.vector(res.params)[:5 * k].reshape(k, 5)


def m_lmfit_true(x, y, k):
    res, rows = _lmfit(x, y, k)
    return rows, res.best_fit


def m_lmfit_bic(x, y, k_max=8, patience=2):
    best, best_k = None, 0
    for k in range(1, k_max + 1):
        res, rows = _lmfit(x, y, k)
        if best is None or res.bic < best[0].bic:
            best, best_k = (res, rows), k
        elif k - best_k >= patience:
            break
    return best[1], best[0].best_fit


def _gauss_sum(x, *p):
    out = np.full_like(x, p[-1])
    for a, c, s in zip(p[0:-1:3], p[1:-1:3], p[2:-1:3]):
        out += a * np.exp(-0.5 * ((x - c) / s) ** 2)
    return out


def m_findpeaks(x, y, max_peaks=8):
    from scipy.optimize import curve_fit
    from scipy.signal import find_peaks, peak_widths, savgol_filter

    base = float(np.median(y))
    ys = savgol_filter(y, min(11, y.size - (1 - y.size % 2)), 3) - base
    peaks, props = find_peaks(ys, prominence=0.05 * np.ptp(ys))
    if peaks.size == 0:
        return np.zeros((0, 5)), np.full_like(y, base)
    peaks = np.sort(peaks[np.argsort(props["prominences"])[::-1][:max_peaks]])
    dx = x[1] - x[0]
    w = peak_widths(ys, peaks, rel_height=0.5)[0] * dx / 2.355
    p0 = [v for i, p in enumerate(peaks) for v in (ys[p], x[p], max(w[i], dx))] + [base]
    popt, _ = curve_fit(_gauss_sum, x, y, p0=p0, maxfev=2000)
    rows = np.array([(a, c, 0.0, abs(s), abs(s)) for a, c, s in
                     zip(popt[0:-1:3], popt[1:-1:3], popt[2:-1:3])])
    return rows, _gauss_sum(x, *popt)


def _errors(truth, rows):
    t = truth[np.argsort(truth[:, 1])]
    r = rows[np.argsort(rows[:, 1])]
    area = lambda m: m[:, 0] * (2 * m[:, 2] + AREA * (m[:, 3] + m[:, 4]))  # noqa: E731
    return (100 * np.abs(r[:, 1] - t[:, 1]), 100 * np.abs(r[:, 0] / t[:, 0] - 1),
            100 * np.abs(area(r) / area(t) - 1))


def run_synthetic(n_per_snr):
    methods = {
        "gmesa.decompose": lambda x, y, k: m_decompose(x, y),
        "gmesa.decompose sign=+": lambda x, y, k: m_decompose(x, y, sign="positive"),
        "lmfit guess(), true K": m_lmfit_true,
        "lmfit guess(), BIC K": lambda x, y, k: m_lmfit_bic(x, y),
        "find_peaks + curve_fit": lambda x, y, k: m_findpeaks(x, y),
    }
    m_decompose(*synthetic(0, 2, 30)[:2])  # compile / warm up
    rows = []
    for snr in (30, 20):
        signals = [synthetic(1000 * snr + i, 1 + i % 6, snr) for i in range(n_per_snr)]
        for name, fn in methods.items():
            exact, errs, prds, secs = 0, [[], [], []], [], []
            for x, y, truth in signals:
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        comps, fit = fn(x, y, truth.shape[0])
                except (RuntimeError, ValueError):
                    comps, fit = np.zeros((0, 5)), np.full_like(y, np.nan)
                secs.append(time.perf_counter() - t0)
                prds.append(prd(y, fit))
                if comps.shape[0] == truth.shape[0]:
                    exact += 1
                    for acc, e in zip(errs, _errors(truth, comps)):
                        acc.extend(e)
            rows.append((snr, name, exact / len(signals), *[np.median(e) if e else np.nan
                                                             for e in errs],
                         np.nanmedian(prds), 1e3 * np.mean(secs)))
            print(f"  {snr} dB {name}: done", flush=True)
    return rows


# ------------------------------------------------------------------------------------
# (b) real pulses
# ------------------------------------------------------------------------------------
def _peer_pulses(fit, name, max_pulses):
    """The same windows as ``fit`` fitted by a peer: (interpretable, PRDs, pulses/s)."""
    k_t = fit.template.n_components
    tab = fit.pulses[fit.pulses["status"] != "failed"].head(max_pulses)
    rows, prds, spans, secs = [], [], [], 0.0
    for _, r in tab.iterrows():
        p = fit.pulse(int(r["pulse"]))
        ok = np.isfinite(p.y)
        t, y = p.t[ok], p.y[ok]
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "lmfit guess(), template K":
                    comps, f = m_lmfit_true(t, y, k_t)
                elif name == "lmfit guess(), BIC K":
                    comps, f = m_lmfit_bic(t, y, k_max=4)
                else:
                    comps, f = m_findpeaks(t, y)
        except (RuntimeError, ValueError):
            comps, f = np.zeros((0, 5)), np.full_like(y, np.nan)
        secs += time.perf_counter() - t0
        rows.append(comps[np.argsort(comps[:, 1])] if comps.size else comps)
        prds.append(prd(y, f))
        spans.append((t[-1], np.ptp(y)))
    ks = [c.shape[0] for c in rows]
    k_mode = max(set(ks), key=ks.count) if ks else 0
    good = [c.shape[0] == k_mode and k_mode > 0
            and interpretability(c.ravel(), d, rng, k_mode)[0][0]
            for c, (d, rng) in zip(rows, spans)]
    n_all = len(fit.pulses)
    return (sum(good) / max(len(rows), 1), np.nanmedian(prds), len(rows) / max(secs, 1e-9),
            f"K={k_mode} (mode), {len(rows)} of {n_all} pulses")


def run_real(max_pulses):
    from gmesa.decomp.pulse_io import read_pulse_signal

    folder = DATA / "physionet"
    rows = []
    for record, lead in (("v102s", "PLETH"), ("03700181", "ABP")):
        if not (folder / f"{record}.hea").is_file():
            print(f"  {record}: not found in {folder} (set GMESA_DATA); skipped")
            continue
        sig, fs, info = read_pulse_signal(folder / record, lead)
        gmesa.fit_pulses(sig[:int(30 * fs)], fs, threads=2)           # warm up
        t0 = time.perf_counter()
        fit = gmesa.fit_pulses(sig, fs, threads=2, info=info)
        total = time.perf_counter() - t0
        s = fit.summary()
        n_fit = int((fit.pulses["status"] != "failed").sum())
        rows.append((f"{record} {lead}", "gmesa.fit_pulses", s["interpretable"],
                     s["median_prd"], n_fit / fit.info["seconds"]["pulses"],
                     f"K={s['components']}, {s['pulses']} pulses, {total:.2f} s in all"))
        for name in ("lmfit guess(), template K", "lmfit guess(), BIC K",
                     "find_peaks + curve_fit"):
            rows.append((f"{record} {lead}", name, *_peer_pulses(fit, name, max_pulses)))
        print(f"  {record} {lead}: done", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 signals per SNR, 300 pulses")
    ap.add_argument("--signals", type=int, default=None, help="signals per SNR (default 1000)")
    args = ap.parse_args(argv)
    n = args.signals or (100 if args.quick else 1000)
    max_pulses = 300 if args.quick else 10 ** 9
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"gmesa {gmesa.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, load {load}")
    print(f"(a) synthetic sums: {n} signals per SNR")
    syn = run_synthetic(n)
    print(f"(b) real pulses from {DATA / 'physionet'}")
    real = run_real(max_pulses)
    print("\n(a) synthetic sums of 1-6 mesa components, K cycling 1..6\n")
    print("| SNR | method | K exact | centre err % span | amplitude err % | area err % "
          "| median PRD % | ms/signal |")
    print("|---|---|---|---|---|---|---|---|")
    for snr, name, k, ce, ae, ar, p, ms in syn:
        print(f"| {snr} dB | {name} | {k:.3f} | {ce:.2f} | {ae:.1f} | {ar:.1f} | {p:.2f} "
              f"| {ms:.0f} |")
    print("\n(b) real pulse channels\n")
    print("| channel | method | interpretable | median PRD % | pulses/s | notes |")
    print("|---|---|---|---|---|---|")
    for ch, name, frac, p, rate, note in real:
        print(f"| {ch} | {name} | {frac:.3f} | {p:.2f} | {rate:,.0f} | {note} |")
    print(f"\nload at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
