#!/usr/bin/env python
"""The real-world cases of issue 16, each run as a user would and its outcome printed.

Each case prints one line: what was asked and what came back (figures, or the error's
first line).  Run it on two versions of gmesa to get a before/after table:

    PYTHONPATH=/path/to/old/checkout python benchmarks/real_world_cases.py
    python benchmarks/real_world_cases.py --markdown

Data: ``$GMESA_DATA`` or ``../shared/data`` (the PhysioNet folder); cases whose record is
absent say so.  Synthetic cases need nothing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GMESA_DATA", ROOT.parent / "shared" / "data"))
PHYSIONET = DATA / "physionet"


def _first_line(exc):
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:150]}"


def _ecg():
    from gmesa import ecg
    return ecg


def _fit_summary(fit):
    b = fit.beats
    ok = b[b["status"] == "ok"]
    q = ok[["qrs_ms", "qt_ms", "qtc_ms"]]
    return (f"{len(b)} beats, {len(ok)} ok; QRS median {q['qrs_ms'].median():.0f} ms "
            f"(p90 {q['qrs_ms'].quantile(0.9):.0f}), QTc {q['qtc_ms'].median():.0f} ms")


def case_multifrequency():
    ecg = _ecg()
    rec = ecg.read_record(PHYSIONET / "03700181", lead="MCL1")
    n = int(60 * rec.fs)
    fit = ecg.fit_record(ecg.Record(rec.signal[:n], rec.fs, leads=rec.leads, units=rec.units))
    return f"read at {rec.fs:g} Hz; first 60 s: {_fit_summary(fit)}"


def case_multisegment():
    rec = _ecg().read_record(PHYSIONET / "multi-segment" / "041s" / "041s")
    return f"read: leads {rec.leads} at {rec.fs:g} Hz, {rec.duration_s:.0f} s"


def case_mat():
    import scipy.io
    ecg = _ecg()
    syn = ecg.synthesize(duration=10, fs=500, seed=1)
    d = np.round(np.asarray(syn.record.signal).ravel() * 1000).astype(np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        scipy.io.savemat(Path(tmp) / "A0001.mat", {"val": d[None, :]}, format="4")
        (Path(tmp) / "A0001.hea").write_text(
            f"A0001 1 500 {d.size}\nA0001.mat 16+24 1000/mV 16 0 0 0 0 II\n")
        rec = ecg.read_record(Path(tmp) / "A0001.mat")
    return f"read: {rec.n_samples} samples at {rec.fs:g} Hz, unit {rec.units[0]}"


def case_batch_folder():
    from gmesa.batch import find_records
    found = [p[0] if isinstance(p, tuple) else p for p in find_records([PHYSIONET])]
    return f"{len(found)} inputs found in physionet/ ({', '.join(sorted(Path(p).name for p in found))})"


def _synthetic(seconds=60, **kw):
    ecg = _ecg()
    syn = ecg.synthesize(duration=seconds, fs=360, seed=5, **kw)
    return np.asarray(syn.record.signal, dtype=float).ravel(), 360.0


def case_microvolts():
    ecg = _ecg()
    x, fs = _synthetic()
    a = ecg.fit_record(ecg.Record(x, fs, units="mV")).beats
    b = ecg.fit_record(ecg.Record(x * 1000, fs, units="uV")).beats
    return (f"mV: {(a['status'] == 'ok').sum()} of {len(a)} ok; "
            f"uV: {(b['status'] == 'ok').sum()} of {len(b)} ok")


def case_glitches():
    ecg = _ecg()
    x, fs = _synthetic()
    y = x.copy()
    y[10000:10006] = 1e30
    a = ecg.fit_record(ecg.Record(x, fs)).beats
    b = ecg.fit_record(ecg.Record(y, fs)).beats
    return (f"clean: {len(a)} beats ({(a['status'] == 'ok').sum()} ok); "
            f"6 samples of 1e30: {len(b)} beats ({(b['status'] == 'ok').sum()} ok)")


def case_clipping():
    ecg = _ecg()
    x, fs = _synthetic()
    rail = np.percentile(x, 99.0)
    fit = ecg.fit_record(ecg.Record(np.minimum(x, rail), fs))
    b = fit.beats
    said = b["reason"].astype(str).str.contains("clipped").sum()
    return (f"R peaks flat at the rail: {len(b)} beats, {said} say 'clipped'; "
            f"R amplitude median {b['R_amplitude'].median():.2f} mV (true peak "
            f"{np.max(x):.2f}, rail {rail:.2f})")


def _refused_or_fitted(record, lead):
    ecg = _ecg()
    rec = ecg.read_record(PHYSIONET / record, lead=lead)
    try:
        fit = ecg.fit_record(rec)
    except Exception as exc:
        return f"refused: {_first_line(exc)}"
    return f"fitted as ECG: {_fit_summary(fit)}"


def case_abp():
    return _refused_or_fitted("03700181", "ABP")


def case_pleth():
    return _refused_or_fitted("v102s", "PLETH")


def _cli(*args):
    r = subprocess.run([sys.executable, "-m", "gmesa.cli", *args], capture_output=True, text=True,
                       cwd=tempfile.gettempdir())
    return r.returncode, r.stderr.strip().splitlines()


def case_out_unwritable():
    x, fs = _synthetic(10)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "x.npy"
        np.save(f, x)
        (Path(tmp) / "afile").write_text("")
        code, err = _cli("fit", str(f), "--fs", "360", "--out", str(Path(tmp) / "afile" / "o"))
    return f"exit {code}, {len(err)} line(s) on stderr: {err[-1][:100] if err else ''}"


def case_no_ok_beat():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "noise.npy"
        np.save(f, rng.normal(0, 1, 360 * 30))
        code, err = _cli("fit", str(f), "--fs", "360", "--out", str(Path(tmp) / "o"))
    return f"exit {code}: {err[-1][:140] if err else '(nothing on stderr)'}"


def case_tachycardia():
    ecg = _ecg()
    syn = ecg.synthesize(duration=60, fs=500, heart_rate=123, seed=4)
    fit = ecg.fit_record(syn.record)
    b = fit.beats
    ok = b[b["status"] == "ok"]
    near = (ok["window_end_s"] - ok["T_off_s"]) < 0.010
    return (f"HR 123: {len(ok)} ok beats, T off within 10 ms of the window end in "
            f"{100 * near.mean():.0f}%, QTc median {ok['qtc_ms'].median():.0f} ms, "
            f"QT reported for {ok['qt_ms'].notna().sum()}")


def case_tachycardia_real():
    ecg = _ecg()
    rec = ecg.read_record(PHYSIONET / "03700181", lead="MCL1")
    b = ecg.fit_record(rec).beats
    ok = b[b["status"] == "ok"]
    near = (ok["window_end_s"] - ok["T_off_s"]) < 0.010
    hr = 60.0 / ok["rr_s"].median()
    return (f"HR {hr:.0f}: {len(ok)} ok beats, T off within 10 ms of the window end in "
            f"{near.sum()}, QT reported for {ok['qt_ms'].notna().sum()}, QTc median "
            f"{ok['qtc_ms'].median():.0f} ms")


CASES = {
    "multi-frequency WFDB (03700181, ECG 500 Hz in 125 Hz frames)": case_multifrequency,
    "multi-segment WFDB (041s)": case_multisegment,
    "WFDB .mat record (16+24)": case_mat,
    "batch discovery on physionet/": case_batch_folder,
    "same signal in uV": case_microvolts,
    "six glitch samples (1e30)": case_glitches,
    "clipped R peaks": case_clipping,
    "ABP lead fitted as ECG": case_abp,
    "PLETH lead (v102s) fitted as ECG": case_pleth,
    "tachycardia, synthetic HR 123": case_tachycardia,
    "tachycardia, 03700181 (whole record)": case_tachycardia_real,
    "gmesa fit --out under a file": case_out_unwritable,
    "gmesa fit on white noise": case_no_ok_beat,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--only", default=None, help="run the cases whose name contains this")
    args = ap.parse_args(argv)
    import gmesa
    print(f"gmesa from {Path(gmesa.__file__).parent}")
    if args.markdown:
        print("| case | outcome |\n|---|---|")
    for name, run in CASES.items():
        if args.only and args.only not in name:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = run()
            except Exception as exc:
                out = f"error: {_first_line(exc)}"
        print(f"| {name} | {out} |" if args.markdown else f"{name}: {out}")


if __name__ == "__main__":
    main()
