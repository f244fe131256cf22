#!/usr/bin/env python
"""Do the Frank leads and the inverse Dower transform of the 12 leads agree on a wave's
direction?  For a record that has both (PTB's 15-lead records: 12 leads plus vx, vy, vz)
this fits every lead with ``fit_leads`` and prints, for each measure (``area``: the mean
vectors, the default; ``components``; ``peak``) and each frame, the median over the beats
of the QRS and T azimuth and elevation and of the spatial QRS-T angle (deg), its
interquartile range, and the median angle between the two frames' QRS (and T) vectors,
with the Frank leads as recorded and with vz negated (``leads={"vz": "-vz"}``: a Z lead
whose front is positive, where the inverse Dower Z points to the back).
``--figure`` also writes the multi-lead figure of a typical beat and the trends figure.

    python benchmarks/spatial_frames.py                      # PTB s0010_re from $GMESA_DATA
    python benchmarks/spatial_frames.py RECORD --figure out/ptb
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import default_data_dir  # noqa: E402


def _unit(df, wave):
    az, el = (np.radians(df[f"{wave}_{k}_deg"].to_numpy(dtype=float)) for k in ("azimuth", "elevation"))
    return np.column_stack([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("record", nargs="?", default=None, help="record path (default PTB s0010_re)")
    p.add_argument("--figure", type=Path, default=None, help="stem of the PNGs to write")
    a = p.parse_args(argv)
    from gmesa.ecg import fit_leads, read_record
    from gmesa.ecg.spatial import spatial_angle, spatial_directions

    path = a.record or str(default_data_dir() / "physionet" / "s0010_re")
    rec = read_record(path)
    t0 = time.process_time()
    fit = fit_leads(rec)
    print(f"{rec.name}: {len(rec.leads)} leads, {len(fit)} beats; fit_leads {time.process_time() - t0:.1f} s "
          f"CPU (process time, compile included); frame used by default: {fit.info.get('spatial')}")
    cols = ["QRS_azimuth_deg", "QRS_elevation_deg", "T_azimuth_deg", "T_elevation_deg", "QRS_T_angle_deg"]
    print(f"{'measure':<11}{'frame':<10}" + "".join(f"{c[:-4]:>16}" for c in cols) + f"{'angle IQR':>11}"
          + f"{'QRS apart':>11}{'T apart':>9}  (from dower)")
    for measure in ("area", "components", "peak"):
        got = {s: spatial_directions(fit, measure=measure, system=s) for s in ("frank", "dower")}
        got["frank -vz"] = spatial_directions(fit, measure=measure, system="frank", leads={"vz": "-vz"})
        for s, df in got.items():
            q1, q3 = np.nanpercentile(df["QRS_T_angle_deg"], [25, 75])
            tail = "" if s == "dower" else "".join(
                f"{np.nanmedian(spatial_angle(_unit(df, w), _unit(got['dower'], w))):>{k}.1f}"
                for w, k in (("QRS", 11), ("T", 9)))
            print(f"{measure:<11}{s:<10}" + "".join(f"{np.nanmedian(df[c]):>16.1f}" for c in cols)
                  + f"{q3 - q1:>11.1f}" + tail)
    if a.figure:
        from gmesa import plot

        a.figure.parent.mkdir(parents=True, exist_ok=True)
        i = plot.typical_beat(fit.fits[fit.primary])
        plot.leads_beat(fit, i).savefig(f"{a.figure}_leads_beat.png", dpi=90)
        plot.trends(fit).savefig(f"{a.figure}_trends.png", dpi=90)
        print(f"wrote {a.figure}_leads_beat.png (beat {i}) and {a.figure}_trends.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
