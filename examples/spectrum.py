"""Decompose a synthetic spectrum of overlapping, asymmetric, flat-topped peaks whose truth
is known, and compare the recovered peaks with it.

Usage: python examples/spectrum.py [--out PNG] [--snr DB]

Six peaks on a sloped baseline, 1,000 samples from 400 to 1800 (a wavenumber axis, cm^-1),
white noise at 30 dB.  gmesa.decompose chooses K by BIC among 1..8 mesa components with
a linear baseline and positive amplitudes.  The figure (default spectrum.png) shows the
truth, the decomposition with its residual, and BIC and PRD against K.
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gmesa  # noqa: E402

#: amplitude, center, half_width, sigma_left, sigma_right of each peak (x in cm^-1)
TRUTH = np.array([
    [1.00, 600.0, 0.0, 15.0, 30.0],      # asymmetric
    [0.60, 690.0, 20.0, 10.0, 10.0],     # flat top, overlapping the first
    [0.80, 1000.0, 0.0, 25.0, 25.0],
    [0.50, 1085.0, 0.0, 20.0, 35.0],     # shoulder of the third
    [0.70, 1400.0, 40.0, 15.0, 25.0],    # wide flat top
    [0.30, 1510.0, 0.0, 30.0, 20.0],
])
BASELINE = [0.10, 1e-4]                  # 0.1 + 1e-4 x


def spectrum(snr_db=30.0, seed=7):
    x = np.linspace(400.0, 1800.0, 1000)
    peaks = gmesa.mesa_sum(x, np.r_[TRUTH.ravel(), 0.0])
    sd = np.sqrt(np.mean(peaks ** 2) / 10 ** (snr_db / 10))
    y = peaks + BASELINE[0] + BASELINE[1] * x
    return x, y + sd * np.random.default_rng(seed).standard_normal(x.size)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="spectrum.png", help="figure to write")
    ap.add_argument("--snr", type=float, default=30.0, help="signal-to-noise ratio, dB")
    args = ap.parse_args(argv)
    x, y = spectrum(args.snr)
    dec = gmesa.decompose(x, y, max_components=8, baseline="linear", sign="positive")
    print(dec)
    table = dec.table[["amplitude", "center", "half_width", "sigma_left", "sigma_right",
                       "center_se"]]
    print(table.round(2).to_string())
    if dec.n_components == len(TRUTH):
        err = table.to_numpy()[:, :5] - TRUTH
        worst = np.abs(err).max(axis=0)
        print("largest error per parameter:",
              ", ".join(f"{c} {v:.2f}" for c, v in zip(table.columns[:5], worst)))

    fig = plt.figure(figsize=(12.5, 7.2), layout="constrained")
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.25])
    ax_t = fig.add_subplot(grid[0, :2])
    ax_t.plot(x, y, ".", ms=2, color="0.45", label="spectrum (30 dB)")
    for i, row in enumerate(TRUTH):
        ax_t.plot(x, gmesa.gmf(x, *row) + BASELINE[0] + BASELINE[1] * x, lw=1.2,
                  label="true peaks" if i == 0 else None, color="#1b9e77")
    ax_t.set(title="truth: six peaks on a sloped baseline", xlabel="wavenumber (cm$^{-1}$)",
             ylabel="intensity")
    ax_t.legend(frameon=False, fontsize=8)
    ax_k = fig.add_subplot(grid[0, 2])
    c = dec.criteria
    ax_k.plot(c["K"], c["bic"], "o-", color="black", label="BIC")
    ax_k.axvline(dec.n_components, color="#d95f02", ls="--", lw=1, label="chosen K")
    for k, b, p in zip(c["K"], c["bic"], c["prd"]):
        ax_k.annotate(f"{p:.1f}%", (k, b), xytext=(4, 4), textcoords="offset points",
                      fontsize=7, color="#7570b3")
    ax_k.set(xlabel="K (components)", ylabel="BIC", title="choosing K (labels: PRD)")
    ax_k.legend(frameon=False, fontsize=8, loc="upper right")
    ax_d = fig.add_subplot(grid[1, :])
    dec.plot(ax=ax_d, xlabel="wavenumber (cm$^{-1}$)", ylabel="intensity")
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return dec


if __name__ == "__main__":
    main()
