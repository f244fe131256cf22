#!/usr/bin/env python
"""Fast rates on synthetic records with known waves: how often P on and T off are read
right (within 20 ms of the truth), wrong (more than 40 ms off) or withheld.

Two scans of 30-s single-lead records (white noise 0.02 mV, lead gain drawn per seed):

* ``physiological``: sinus rhythm at 110-170/min whose PR shortens with the rate (the
  typical beat's P center times (RR / 0.857 s)**0.4), the T of typical or twice the
  typical height; 2 seeds (20 records).
* ``long-pr``: 95-140/min with the typical beat's PR (about 230 ms: the P starts on the
  previous T from about 125/min), T one to three times the typical height, its right
  tail 1 or 1.5 times the typical; 2 seeds (48 records).

With ``--joint`` both leads (the second a gain of the first) are fitted by the joint
model (``fit_leads``) and its global boundaries scored.  Prints one line per record and
the means; docs/ecg.md section 4 and docs/results.md (session 28) quote them.

    python benchmarks/fast_rates.py [--scan physiological|long-pr|both] [--joint]
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gmesa import ecg  # noqa: E402
from gmesa.ecg.waves import WAVES, typical_vector, wave_layout  # noqa: E402

LAY = wave_layout(WAVES)
RIGHT_MS, WRONG_MS = 20.0, 40.0


def _cases(scan):
    if scan == "physiological":
        for rate in (110, 125, 140, 155, 170):
            for t_scale in (1.0, 2.0):
                for seed in (1, 2):
                    yield rate, t_scale, 1.0, seed, True
    else:
        for rate in (95, 110, 125, 140):
            for t_scale in (1.0, 2.0, 3.0):
                for tail in (1.0, 1.5):
                    for seed in (1, 2):
                        yield rate, t_scale, tail, seed, False


def _errors_ms(fit, syn, key):
    ok = fit.beats[fit.beats["status"] == "ok"]
    truth = syn.truth
    j = np.searchsorted(truth["r_peak_s"].to_numpy(), ok["r_peak_s"].to_numpy() - 0.01)
    return (ok[f"{key}_s"].to_numpy() - truth[f"{key}_s"].to_numpy()[j]) * 1e3


def run(scan, joint=False):
    """Print the scan's records and return its mean (right, wrong, withheld) for P on and
    T off."""
    rows = []
    for rate, t_scale, tail, seed, physio in _cases(scan):
        rr = 60.0 / rate
        beat = typical_vector(WAVES, rr=rr)
        if physio:
            beat[LAY.index("P", "center")] *= (rr / 0.857) ** 0.4
        beat[LAY.index("T", "amplitude")] *= t_scale
        beat[LAY.index("T", "sigma_right")] *= tail
        syn = ecg.synthesize(duration=30, heart_rate=rate, noise=0.02, seed=seed, leads=2,
                             beat=beat)
        fit = ecg.fit_leads(syn.record) if joint else ecg.fit_record(syn.record,
                                                                       lead=seed - 1)
        info = next(iter(fit.fits.values())).info if joint else fit.info
        row = []
        for key in ("P_on", "T_off"):
            err = _errors_ms(fit, syn, key)
            row += [np.mean(np.abs(err) < RIGHT_MS), np.mean(np.abs(err) > WRONG_MS),
                    np.mean(~np.isfinite(err))]
        rows.append(row)
        print(f"{scan:13s} {rate:3d}/min T x{t_scale:.0f} tail x{tail:.1f} seed {seed}  "
              f"path {'yes' if 'neighbour_waves' in info else 'no ':3s}  "
              "P on right %.2f wrong %.2f withheld %.2f | T off right %.2f wrong %.2f "
              "withheld %.2f" % tuple(row), flush=True)
    mean = np.mean(rows, axis=0)
    print(f"{scan}: {len(rows)} records, mean P on right {mean[0]:.3f} wrong {mean[1]:.3f} "
          f"withheld {mean[2]:.3f} | T off right {mean[3]:.3f} wrong {mean[4]:.3f} "
          f"withheld {mean[5]:.3f}\n")
    return mean


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scan", choices=("physiological", "long-pr", "both"), default="both")
    ap.add_argument("--joint", action="store_true",
                    help="fit both leads with the joint model (fit_leads)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    for scan in (("physiological", "long-pr") if args.scan == "both" else (args.scan,)):
        run(scan, args.joint)


if __name__ == "__main__":
    main()
