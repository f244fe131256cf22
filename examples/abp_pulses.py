"""Decompose every pulse of an arterial pressure signal: PhysioNet 03700181, channel ABP.

Usage: python examples/abp_pulses.py [--out DIR]

03700181 is a multi-frequency MIMIC record (ECG at 500 Hz, ABP and RESP at 125 Hz); the
ABP channel is read at its own 125 Hz from $GMESA_DATA/physionet (default:
../shared/data beside the repository; it is never copied).  Prints the template's
components and the summary, and writes the pulse table, the template and a figure into
--out (default: abp-pulses/).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import gmesa
from gmesa.plot.any_fit import pulses_overview
from gmesa.decomp.pulse_io import read_pulse_signal

DATA = Path(os.environ.get("GMESA_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
RECORD, LEAD = "03700181", "ABP"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="abp-pulses", help="folder for the table and figure")
    args = ap.parse_args(argv)
    path = DATA / "physionet" / RECORD
    if not Path(str(path) + ".hea").is_file():
        raise SystemExit(f"{path}.hea not found: set GMESA_DATA to the shared data folder")
    signal, fs, info = read_pulse_signal(path, LEAD)      # mmHg at 125 Hz
    fit = gmesa.fit_pulses(signal, fs, max_components=4, info=info)
    print(fit)
    print(fit.template.table[["amplitude", "center", "sigma_left", "sigma_right", "area"]]
          .round(3).to_string())
    print(fit.pulses["status"].value_counts().to_string())
    # pulse by pulse: e.g. the timing of the late components against the main one
    t = fit.pulses[fit.pulses["status"] == "ok"]
    lag = 1e3 * (t[f"c{fit.template.n_components}_center"] - t["c2_center"])
    print(f"c{fit.template.n_components} after c2: median {lag.median():.0f} ms "
          f"(IQR {lag.quantile(0.25):.0f}-{lag.quantile(0.75):.0f} ms)")
    out = Path(args.out)
    paths = fit.save(out, stem=f"{RECORD}.{LEAD}")
    png = out / f"{RECORD}.{LEAD}.png"
    pulses_overview(fit, start=100).savefig(png, dpi=110)
    for p in list(paths.values()) + [png]:
        print(f"wrote {p}")
    return fit


if __name__ == "__main__":
    main()
