"""Several spectra sharing their peaks' places and shapes, each with its own non-negative
intensities: one fit of all of them with gmesa.fit_shared, amplitudes bounded at 0.

Usage: python examples/shared_spectra.py [--out PNG] [--snr DB]

A reaction followed by eight spectra (1,000 samples from 400 to 1800 cm^-1): five
asymmetric, partly flat-topped peaks keep their places and shapes while their
intensities change; two of the peaks are absent (intensity 0) from some spectra.  Each
spectrum has its own linear baseline and white noise at 25 dB.  The fit shares the 20
timing parameters (center, half-width, tails of each peak) over the eight spectra and
solves each spectrum's intensities and baseline in closed form (variable projection);
``coef_lower`` holds the intensities at >= 0.  Without the bound, the absent peaks come
back with small negative intensities, which no spectrum can have.  The figure (default
shared_spectra.png) stacks the spectra with their fits.
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gmesa  # noqa: E402

#: center, half_width, sigma_left, sigma_right of each peak (cm^-1)
SHAPES = np.array([
    [600.0, 0.0, 15.0, 30.0],
    [690.0, 20.0, 10.0, 10.0],
    [1000.0, 0.0, 25.0, 25.0],
    [1085.0, 0.0, 20.0, 35.0],
    [1400.0, 40.0, 15.0, 25.0],
])
N_SPECTRA = 8


def intensities(seed=3):
    """(8, 5) non-negative intensities: peaks 1 and 3 fade out during the reaction."""
    rng = np.random.default_rng(seed)
    amp = rng.uniform(0.3, 1.0, (N_SPECTRA, len(SHAPES)))
    fade = np.linspace(1.0, -0.6, N_SPECTRA).clip(0.0)
    amp[:, 1] *= fade
    amp[:, 3] *= fade[::-1]
    return amp


def spectra(snr_db=25.0, seed=7):
    """(x, Y (8, 1000), true intensities (8, 5))."""
    x = np.linspace(400.0, 1800.0, 1000)
    amp = intensities()
    rng = np.random.default_rng(seed)
    theta = SHAPES.ravel()
    Y = np.stack([gmesa.mesa_sum(x, gmesa.join_shared(theta, np.r_[a, 0.0], len(SHAPES)))
                  for a in amp])
    sd = np.sqrt(np.mean(Y ** 2) / 10 ** (snr_db / 10))
    base = rng.uniform(0.0, 0.1, (N_SPECTRA, 1)) + rng.uniform(-3e-5, 3e-5, (N_SPECTRA, 1)) * x
    return x, Y + base + sd * rng.standard_normal(Y.shape), amp


def fit(x, Y, bounded=True):
    """The shared fit from a start 2 % off every timing parameter."""
    k = len(SHAPES)
    start = SHAPES.ravel() * 1.02
    start[1::4] = np.maximum(start[1::4], 1.0)          # half-widths from 1 cm^-1
    lower = np.tile([x[0], 0.0, 1.0, 1.0], k)
    upper = np.tile([x[-1], 80.0, 80.0, 80.0], k)
    lo = np.r_[np.zeros(k), -np.inf, -np.inf] if bounded else None   # intensities >= 0
    return gmesa.fit_shared(x, Y, start, lower, upper, baseline="linear", coef_lower=lo)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="shared_spectra.png", help="figure to write")
    ap.add_argument("--snr", type=float, default=25.0, help="signal-to-noise ratio, dB")
    args = ap.parse_args(argv)
    x, Y, truth = spectra(args.snr)
    k = len(SHAPES)
    for bounded in (True, False):
        res = fit(x, Y, bounded)
        amp = res.coef[0, :, :k]
        err = np.abs(res.theta[0].reshape(k, 4) - SHAPES).max(axis=0)
        print(f"{'intensities >= 0' if bounded else 'unbounded':>16}: status "
              f"{gmesa.SOLVER_STATUS.get(int(res.status[0]), res.status[0])}, cost "
              f"{res.cost[0]:.4g}, largest timing error (center, half-width, tails) "
              f"{', '.join(f'{v:.2f}' for v in err)} cm^-1, intensity error "
              f"{np.abs(amp - truth).max():.3f}, negative intensities "
              f"{int(np.sum(amp < 0))} (most negative {amp.min():.4f})")
        if bounded:
            kept = res
    fig, ax = plt.subplots(figsize=(8, 7))
    step = 1.2 * np.max(Y)
    for i, y in enumerate(Y):
        ax.plot(x, y + i * step, ".", ms=1.5, color="0.55")
        ax.plot(x, gmesa.mesa_sum(x, kept.params[0, i], baseline="linear") + i * step,
                lw=1.2, color="C0")
    for c in kept.theta[0, 0::4]:
        ax.axvline(c, color="C3", lw=0.6, ls=":")
    ax.set_xlabel("wavenumber (cm$^{-1}$)")
    ax.set_ylabel("intensity (offset per spectrum)")
    ax.set_title("eight spectra, one fit: shared peak places and shapes, intensities >= 0")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
