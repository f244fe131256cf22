"""Decompose every pulse of a PPG: PhysioNet v102s, channel PLETH (250 Hz, 5 min).

Usage: python examples/ppg_pulses.py [--out DIR]

The record is read from $GMESA_DATA/physionet (default: ../shared/data beside the
repository); it is never copied.  This PLETH channel overflows its 12-bit converter at
every pulse; gmesa.decomp.pulse_io.read_pulse_signal unwraps it from the WFDB header.  Prints
the template's components and the summary, and writes the pulse table, the template and
a figure into --out (default: ppg-pulses/).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import gmesa
from gmesa.plot.any_fit import pulses_overview
from gmesa.decomp.pulse_io import read_pulse_signal

DATA = Path(os.environ.get("GMESA_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
RECORD, LEAD = "v102s", "PLETH"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="ppg-pulses", help="folder for the table and figure")
    args = ap.parse_args(argv)
    path = DATA / "physionet" / RECORD
    if not Path(str(path) + ".hea").is_file():
        raise SystemExit(f"{path}.hea not found: set GMESA_DATA to the shared data folder")
    signal, fs, info = read_pulse_signal(path, LEAD)      # unwraps the 12-bit overflow
    if info["note"]:
        print(info["note"])
    fit = gmesa.fit_pulses(signal, fs, max_components=4, info=info)
    print(fit)
    print(fit.template.table[["amplitude", "center", "sigma_left", "sigma_right", "area"]]
          .round(3).to_string())
    print(fit.pulses["status"].value_counts().to_string())
    out = Path(args.out)
    paths = fit.save(out, stem=f"{RECORD}.{LEAD}")
    png = out / f"{RECORD}.{LEAD}.png"
    pulses_overview(fit, start=60).savefig(png, dpi=110)
    for p in list(paths.values()) + [png]:
        print(f"wrote {p}")
    return fit


if __name__ == "__main__":
    main()
