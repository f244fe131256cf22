#!/usr/bin/env python
"""Where does gmesa miss the QT Database's P waves, and does each lead show them?

The QTDB experts marked P looking at both leads.  For every record with marked P waves
this prints: the marks, how many gmesa found from signal 0 alone and from signal 1
alone (a found mark: P_on within +-150 ms, as in ``delineation.py``), and how large the
P wave is in each lead's median beat (aligned on the experts' QRS onsets): its
deflection (mV, largest distance from the chord joining the median at the experts'
median P onset and offset) and that deflection over the beat-to-beat spread (1.4826 MAD
across beats, mV), which says whether one beat shows it.  ``--figure`` draws the
median beats of the records with the most misses in signal 0, both leads side by side.

    python benchmarks/p_wave_leads.py --figure docs/figures/qtdb_p_leads.png
"""
from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import default_data_dir, list_records, read_qtdb  # noqa: E402
from gmesa.ecg.evaluate import MATCH_TOLERANCE_S  # noqa: E402

PRE_S, POST_S = 0.45, 0.15  # median beat span around the experts' QRS onset (s)


def _cleaned(signal, fs):
    from gmesa.ecg.clean import clean
    return clean(signal, fs, wander="highpass", powerline=None, lowpass=40.0, cutoff=0.3)


def _before_next(times, qrs_on):
    """Each time relative to the first expert QRS onset after it (s; NaN if none)."""
    k = np.searchsorted(qrs_on, times)
    ok = k < qrs_on.size
    out = np.full(times.shape, np.nan)
    out[ok] = times[ok] - qrs_on[k[ok]]
    return out


def median_beat(signal, fs, qrs_on):
    """(t, median beat, per-sample spread across beats) around ``qrs_on`` (s), each
    beat's level taken from its first 40 ms."""
    offs = np.arange(int(-PRE_S * fs), int(POST_S * fs))
    at = np.round(np.asarray(qrs_on) * fs).astype(int)
    at = at[(at + offs[0] >= 0) & (at + offs[-1] < signal.size)]
    segs = signal[at[:, None] + offs[None, :]]
    segs = segs - np.median(segs[:, :max(1, int(0.04 * fs))], axis=1, keepdims=True)
    med = np.median(segs, axis=0)
    spread = 1.4826 * np.median(np.abs(segs - med), axis=0)
    return offs / fs, med, spread, segs


def p_deflection(t, med, spread, p_on, p_off):
    """(deflection mV, deflection over the median spread) of the median beat between
    ``p_on`` and ``p_off`` (s from QRS onset)."""
    m = (t >= p_on) & (t <= p_off)
    if m.sum() < 3:
        return np.nan, np.nan
    seg = med[m]
    chord = np.linspace(seg[0], seg[-1], seg.size)
    d = float(np.max(np.abs(seg - chord)))
    return d, d / max(float(np.median(spread[m])), 1e-9)


def _found(fit_beats, offset_s, marks):
    det = fit_beats["P_on_s"].to_numpy(dtype=float) + offset_s
    det = np.sort(det[np.isfinite(det)])
    if det.size == 0:
        return 0
    k = np.clip(np.searchsorted(det, marks), 1, det.size - 1)
    near = np.minimum(np.abs(det[k - 1] - marks), np.abs(det[k] - marks))
    return int(np.sum(near <= MATCH_TOLERANCE_S))


def one(args):
    record, data_dir = args
    from gmesa.ecg import Record, fit_record
    case = read_qtdb(record, data_dir, channel=0, context_s=10)
    ref = case.reference
    marks = ref.get("P_on", np.array([]))
    if marks.size == 0 or case.others is None or case.others.shape[1] == 0:
        return None
    inside = (marks >= case.intervals[:, :1]) & (marks <= case.intervals[:, 1:])
    marks = marks[inside.any(axis=0)]
    row = {"record": record, "P_marks": int(marks.size)}
    qrs_on = ref["QRS_on"] - case.offset_s
    p_on = float(np.nanmedian(_before_next(ref["P_on"] - case.offset_s, qrs_on)))
    p_off = float(np.nanmedian(_before_next(ref["P_off"] - case.offset_s, qrs_on)))
    for k, signal in enumerate((case.signal, case.others[:, 0])):
        fit = fit_record(Record(signal, case.fs))
        row[f"found_{k}"] = _found(fit.beats, case.offset_s, marks)
        t, med, spread, _ = median_beat(_cleaned(signal, case.fs), case.fs, qrs_on)
        row[f"P_mV_{k}"], row[f"P_snr_{k}"] = p_deflection(t, med, spread, p_on, p_off)
    return row


def figure(records, data_dir, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(records), 2, figsize=(10, 1.9 * len(records)),
                             sharex=True, squeeze=False)
    for row, record in zip(axes, records):
        case = read_qtdb(record, data_dir, channel=0, context_s=10)
        qrs_on = case.reference["QRS_on"] - case.offset_s
        p_on = np.nanmedian(_before_next(case.reference["P_on"] - case.offset_s, qrs_on))
        p_off = np.nanmedian(_before_next(case.reference["P_off"] - case.offset_s, qrs_on))
        names = [case.lead, "the other lead"]
        for k, (ax, signal) in enumerate(zip(row, (case.signal, case.others[:, 0]))):
            t, med, _, segs = median_beat(_cleaned(signal, case.fs), case.fs, qrs_on)
            for s in segs[:20]:
                ax.plot(t, s, color="0.8", lw=0.5)
            ax.plot(t, med, "k", lw=1.2)
            ax.axvspan(p_on, p_off, color="tab:blue", alpha=0.15, lw=0)
            lo, hi = np.percentile(segs[:, t < -0.02], [1, 99])
            ax.set_ylim(lo - 0.05, hi + 0.05)
            ax.set_title(f"{record}, signal {k} ({names[k]})", fontsize=8)
            ax.set_ylabel("mV", fontsize=7)
            ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("s from the experts' QRS onset", fontsize=8)
    fig.suptitle("QTDB: 20 marked beats (grey), their median (black) and the experts' median "
                 "P span (blue)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=None, help="shared data folder")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--top", type=int, default=6, help="records drawn (most misses first)")
    p.add_argument("--figure", type=Path, default=None, help="write the median-beat figure")
    a = p.parse_args(argv)
    data_dir = a.data or default_data_dir()
    if not (data_dir / "qtdb").is_dir():
        print(f"no QT Database under {data_dir}; nothing to do")
        return 0
    tasks = [(r, data_dir) for r in list_records("qtdb", data_dir)]
    with ProcessPoolExecutor(a.jobs) as ex:
        rows = [r for r in ex.map(one, tasks) if r is not None]
    d = pd.DataFrame(rows)
    d["missed_0"] = d.P_marks - d.found_0
    d = d.sort_values("missed_0", ascending=False)
    n = d.P_marks.sum()
    print(f"{len(d)} records, {n} P marks; found from signal 0: {d.found_0.sum()} "
          f"({d.found_0.sum() / n:.3f}), from signal 1: {d.found_1.sum()} "
          f"({d.found_1.sum() / n:.3f})")
    print(d.head(15).round(3).to_string(index=False))
    if a.figure:
        figure(list(d.record.head(a.top)), data_dir, a.figure)
        print(f"figure: {a.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
