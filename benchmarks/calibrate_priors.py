"""Population priors of the ECG beat model, learned from the calibration records.

Fits every LUDB record with an odd number (lead ii) with ``gmesa.ecg.fit_record``
(default options, no priors), keeps the ``ok`` beats (P parameters only where P is
present, T where T is present) and writes, per parameter, a robust location and spread
to ``gmesa/data/ecg_priors.csv`` with a note of what it was built from
(``gmesa/data/ecg_priors.json``):

* P and T centers (s from R) scale with the RR interval before the beat as
  ``loc * RR**k``: ``k`` is fitted on the calibration beats (least squares of
  log|center| on log RR) and printed; the spread is the 1.4826 MAD of the residual (s).
* Other centers (Q, R, S, the ST step), the widths (half-width, sigmas) and the ST
  scale: median and 1.4826 MAD (s), the spread at least ``MIN_SD`` (1 ms).
* No amplitude priors: amplitudes enter the model linearly and are well determined
  wherever the wave is seen; a prior would pull an absent P or T towards a typical
  size and fool the presence tests that decide whether a wave is there.

    python benchmarks/calibrate_priors.py [--limit N] [--jobs 2] [--dry-run]
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._calib_fits import calibration_records, fit_calibration  # noqa: E402

#: parameters whose center scales with RR (physiology: PR and QT lengthen with RR)
RR_SCALED = ("P_center", "T_center")
#: the smallest spread written (s): a pile of beats at a bound has MAD 0
MIN_SD = 0.001
#: waves and steps that get priors, if at least MIN_BEATS beats show them
PARTS = ("P", "Q", "R", "S", "T", "T2", "U", "ST")
PARAMS = ("center", "half_width", "sigma_left", "sigma_right", "scale")
MIN_BEATS = 200
OUT = ROOT / "gmesa" / "data" / "ecg_priors.csv"


def beat_values(fits):
    """One DataFrame of the ok beats of every fit: the parameter columns, RR (s) and
    P/T presence."""
    frames = []
    for f in fits:
        b = f["beats"]
        ok = (b["status"] == "ok").to_numpy() & np.isfinite(b["rr_s"].to_numpy())
        sub = b.loc[ok, [c for c in b.columns if c in f["labels"]] + ["rr_s", "P_present",
                                                                    "T_present"]].copy()
        sub["record"] = f["record"]
        frames.append(sub)
    return pd.concat(frames, ignore_index=True)


def robust(x):
    """(median, 1.4826 MAD) of ``x``."""
    med = float(np.median(x))
    return med, float(1.4826 * np.median(np.abs(x - med)))


def rr_fit(center, rr):
    """(loc, exponent k, spread) of ``center = loc * rr**k`` (s; trimmed least squares
    of log|center| on log rr, refitted without residuals beyond 3 robust SD)."""
    sign = np.sign(np.median(center))
    y, x = np.log(np.abs(center)), np.log(rr)
    keep = np.isfinite(y) & (sign * center > 0)
    for _ in range(2):
        k, a = np.polyfit(x[keep], y[keep], 1)
        res = y - (a + k * x)
        med, rsd = robust(res[keep])
        keep &= np.abs(res - med) <= 3 * rsd
    loc = sign * float(np.exp(a))
    _, sd = robust(center - loc * rr ** k)
    return loc, float(k), sd


def table(values):
    """The prior table: label, n beats, loc, sd (s), rr_exponent (0: not scaled)."""
    rows = []
    for part in PARTS:
        for par in PARAMS:
            label = f"{part}_{par}"
            if label not in values.columns:
                continue
            use = values[label].notna()
            if part in ("P", "T", "T2", "U"):
                flag = "P_present" if part == "P" else "T_present"
                use &= values[flag].astype(bool)
            x = values.loc[use, label].to_numpy(dtype=float)
            if x.size < MIN_BEATS:
                continue
            if label in RR_SCALED:
                loc, k, sd = rr_fit(x, values.loc[use, "rr_s"].to_numpy(dtype=float))
            else:
                (loc, sd), k = robust(x), 0.0
            rows.append(dict(label=label, n=int(x.size), loc=round(loc, 5),
                             sd=round(max(sd, MIN_SD), 5), rr_exponent=round(k, 3)))
    return pd.DataFrame(rows)


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N calibration records")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--dry-run", action="store_true", help="print the table, write nothing")
    args = ap.parse_args(argv)
    fits = fit_calibration(args.limit, args.jobs, options=dict(priors=False, fiducials="rule"))
    values = beat_values(fits)
    tab = table(values)
    print(f"calibration: {len(fits)} LUDB records (odd numbers), lead ii, "
          f"{len(values)} ok beats")
    print(tab.to_string(index=False))
    for label in RR_SCALED:
        row = tab[tab.label == label]
        if len(row):
            print(f"{label}: {row.loc[row.index[0], 'loc']:+.4f} s * RR**"
                  f"{row.loc[row.index[0], 'rr_exponent']:.3f}")
    if args.dry_run:
        return
    tab.to_csv(OUT, index=False)
    note = dict(built_by="benchmarks/calibrate_priors.py",
                command="python " + " ".join(["benchmarks/calibrate_priors.py"] + (argv or sys.argv[1:])),
                records=[Path(r).name for r in calibration_records(args.limit)],
                dataset="LUDB", lead="ii", beats=int(len(values)),
                date=datetime.date.today().isoformat(), gmesa_commit=_commit(),
                columns=dict(label="Layout label", n="beats used", loc="location (s); "
                             "times RR**rr_exponent when rr_exponent != 0",
                             sd="spread (s): 1.4826 MAD (of the residual for RR-scaled)",
                             rr_exponent="power of the RR interval before the beat (s)"))
    OUT.with_suffix(".json").write_text(json.dumps(note, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} and {OUT.with_suffix('.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
