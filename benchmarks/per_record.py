#!/usr/bin/env python
"""Per-record delineation: each record's mean error per boundary, its P and T sensitivity,
and gmesa's record-level model choice with its confidence -- worst records first, with a
figure of each, so that a whole-record mistake is visible at a glance (issue 17).

Reads the ``--out`` folder of ``benchmarks/delineation.py`` (``events.csv.gz``: every
reference mark with its matched detection) and fits each listed record again with gmesa on
the signal the benchmark handed it (``_annotations.read_case``) for ``info["model_choice"]``.

A record's **badness** is its largest |mean error| over the boundaries (ms, matched marks
only), where a wave missed on a share ``m`` of the record's marks counts as ``m`` times the
150 ms match window: a record whose P is on the wrong deflection or missing on every beat
ranks at the top either way.

With ``--noisy``, the ``--out`` folders of the same runs with 0.0001 mV of white noise added
(``benchmarks/knife_edge.py --out``: ``1-seed1``, ... for LUDB even, ``2-seed1``, ... for
QTDB), a record's **edge** is the most its row moves between the run without noise and
any of those, on the badness's scale: the largest change of a boundary's mean error (ms)
or of a sensitivity times 150 ms.  A record with a large edge had its whole-record choice
decided by which of two nearly equal fits the optimizer reached.

    python benchmarks/delineation.py --methods gmesa --ludb-split even --qtdb-context 10 --out /tmp/d
    python benchmarks/knife_edge.py --out /tmp/k
    python benchmarks/per_record.py /tmp/d --markdown docs/delineation_records.md \\
        --figures docs/figures/worst --noisy /tmp/k/1-seed* /tmp/k/2-seed*
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import QTDB_MARGIN_S, read_case  # noqa: E402

BOUNDARIES = ("P_on", "P_off", "QRS_on", "QRS_off", "T_off")
#: a missed mark counts as an error of the match window (ms)
MISS_MS = 150.0


def record_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, record): mean error (ms) per boundary, P and T-off
    sensitivity, P waves reported where no mark is (``P_fp``: inside the scored
    stretches), and the badness (see the module docstring)."""
    rows = []
    for (dataset, record), ev in events.groupby(["dataset", "record"], sort=False):
        row = {"dataset": dataset, "record": record}
        bad = 0.0
        for b in BOUNDARIES:
            e = ev[ev["fiducial"] == b]
            refs = e[e["outcome"].isin(("TP", "FN"))]
            tp = e[e["outcome"] == "TP"]["error_ms"]
            row[f"{b}_mean_ms"] = float(tp.mean()) if len(tp) else np.nan
            se = len(tp) / len(refs) if len(refs) else np.nan
            if b in ("P_on", "T_off"):
                row[f"{b[0]}_se"] = se
            if len(tp):
                bad = max(bad, abs(row[f"{b}_mean_ms"]))
            if np.isfinite(se):
                bad = max(bad, (1.0 - se) * MISS_MS)
        row["P_fp"] = int((ev["fiducial"].eq("P_on") & ev["outcome"].eq("FP")).sum())
        row["badness_ms"] = bad
        rows.append(row)
    return pd.DataFrame(rows)


def edges(table: pd.DataFrame, noisy: list) -> pd.Series:
    """Per row of ``table`` (:func:`record_table`), the largest change against the
    tables ``noisy`` of the same records under noise (module docstring), ms; NaN where no
    noisy run holds the record."""
    key = ["dataset", "record"]
    cols = [f"{b}_mean_ms" for b in BOUNDARIES]
    base = table.set_index(key)
    moves = []
    for other in noisy:
        o = other.set_index(key).reindex(base.index)
        moves += [(o[c] - base[c]).abs() for c in cols]
        moves += [(o[c] - base[c]).abs() * MISS_MS for c in ("P_se", "T_se")]
    edge = pd.concat(moves, axis=1).max(axis=1, skipna=True)
    return pd.Series(edge.to_numpy(), index=table.index)


def _fit(case):
    from gmesa.ecg import Record, fit_record

    return fit_record(Record(np.asarray(case.signal, dtype=float), case.fs))


def choice_label(mc: dict) -> str:
    """The record's model in words: the hypothesis the beats chose (``mc["chosen"]``,
    :func:`gmesa.ecg.choice.choose_model`), with "U added" where a U wave was added to
    it after the choice (``mc["hypothesis"]["U"]``) and "" without a choice."""
    name = mc.get("chosen", "")
    if name.endswith("no U") and (mc.get("hypothesis") or {}).get("U"):
        name = name[: -len("no U")] + "U added"
    return name


def add_choice(table: pd.DataFrame, data=None, context_s=10.0) -> tuple[pd.DataFrame, dict]:
    """The table with ``choice`` (the chosen hypothesis), ``margin`` (delta-BIC to the
    runner-up), ``agree_T`` (the share of scored beats whose own BIC agrees with the T
    choice) and ``confidence`` of each record's fit, the median over its ok beats of the
    SD gmesa reports for P on and T off (``P_on_sd_ms``, ``T_off_sd_ms``: does the
    library say the record's boundaries are uncertain?); and the fits (record -> (case,
    RecordFit)) for the figures."""
    fits, chosen, margin, agree, conf = {}, [], [], [], []
    sds = {"P_on_sd_ms": [], "T_off_sd_ms": []}
    for dataset, record in zip(table["dataset"], table["record"]):
        case = read_case(dataset, record, data, margin_s=QTDB_MARGIN_S, context_s=context_s)
        fit = _fit(case)
        mc = fit.info.get("model_choice") or {}
        chosen.append(choice_label(mc))
        margin.append(mc.get("margin", np.nan))
        agree.append((mc.get("beats_agreeing") or {}).get("T", np.nan))
        conf.append(mc.get("confidence", np.nan))
        ok = (fit.beats["status"] == "ok").to_numpy()
        for col, v in sds.items():
            x = fit.beats[col].to_numpy(dtype=float)[ok] if col in fit.beats else np.zeros(0)
            v.append(float(np.nanmedian(x)) if np.isfinite(x).any() else np.nan)
        fits[(dataset, record)] = (case, fit)
    return table.assign(choice=chosen, margin=margin, agree_T=agree, confidence=conf,
                        **sds), fits


def figure(case, fit, row, path):
    """The ok beat nearest the record's middle marked beat, with its components and the
    cardiologists' marks (black ticks at the bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from gmesa import plot

    beats = fit.beats
    r_all = beats["r_peak_s"].to_numpy(dtype=float)
    marked = np.asarray(case.reference.get("QRS_peak", []), dtype=float) - case.offset_s
    ok = (beats["status"] == "ok").to_numpy()
    if marked.size and ok.any():  # the ok beat nearest the middle marked beat
        i = int(np.argmin(np.where(ok, np.abs(r_all - marked[marked.size // 2]), np.inf)))
    else:
        i = len(beats) // 2
    ax = plot.beat(fit, i)
    for name, times in case.reference.items():
        t = np.asarray(times, dtype=float) - case.offset_s - r_all[i]
        for x in t[np.abs(t) < 0.6] * 1e3:
            ax.axvline(x, color="k", lw=1.5, ymax=0.12)
    ax.set_title(f"{row['dataset']} {row['record']}: badness {row['badness_ms']:.0f} ms, "
                 f"{row['choice']} (confidence {row['confidence']:.2f}); black ticks: marks",
                 fontsize=9)
    ax.figure.savefig(path, dpi=80)
    plt.close(ax.figure)


def markdown(table: pd.DataFrame, worst: int, figures: dict) -> str:
    cols = ([f"{b}_mean_ms" for b in BOUNDARIES] + ["P_se", "P_fp", "T_se", "badness_ms"]
            + (["edge_ms"] if "edge_ms" in table else []) + ["choice",
                                                      "margin", "agree_T", "confidence",
                                                      "P_on_sd_ms", "T_off_sd_ms"])
    out = []
    for dataset, t in table.groupby("dataset", sort=False):
        t = t.sort_values("badness_ms", ascending=False)
        out.append(f"\n### {dataset}: {len(t)} records, worst first\n")
        out.append("| record | " + " | ".join(c.replace("_mean_ms", " mean").replace("_sd_ms", " SD")
                                              for c in cols)
                   + " |")
        out.append("|---" * (len(cols) + 1) + "|")
        for _, r in t.iterrows():
            cells = [f"{r[c]:.1f}" if isinstance(r[c], float) and c.endswith("ms")
                     else f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c])
                     for c in cols]
            name = r["record"]
            fig = figures.get((dataset, name))
            out.append(f"| {f'[{name}]({fig})' if fig else name} | " + " | ".join(cells) + " |")
        out.append(f"\n(The {worst} worst have a figure: the ok beat nearest the middle marked beat.)")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="the --out folder of benchmarks/delineation.py")
    ap.add_argument("--method", default="gmesa")
    ap.add_argument("--worst", type=int, default=10, help="figures of this many per dataset")
    ap.add_argument("--figures", type=Path, default=None, help="folder for the PNGs")
    ap.add_argument("--markdown", type=Path, default=None)
    ap.add_argument("--qtdb-context", type=float, default=10.0)
    ap.add_argument("--data", default=None)
    ap.add_argument("--noisy", type=Path, nargs="*", default=[],
                    help="--out folders of the same runs with noise (module docstring)")
    ap.add_argument("--no-fit", action="store_true",
                    help="no single-lead refit (no model choice, no figures): the table of "
                         "errors only, e.g. for --method gmesa_joint")
    a = ap.parse_args(argv)
    events = pd.read_csv(a.out / "events.csv.gz")
    events = events[events["method"] == a.method]
    if a.no_fit:
        table, fits = record_table(events).assign(choice="", margin=np.nan, agree_T=np.nan,
                                                  confidence=np.nan, P_on_sd_ms=np.nan,
                                                  T_off_sd_ms=np.nan), {}
        a.figures = None
    else:
        table, fits = add_choice(record_table(events), a.data, a.qtdb_context)
    if a.noisy:
        noisy = [pd.read_csv(d / "events.csv.gz") for d in a.noisy]
        noisy = [record_table(e[e["method"] == a.method]) for e in noisy]
        table["edge_ms"] = edges(table, noisy)
    figs = {}
    if a.figures is not None:
        a.figures.mkdir(parents=True, exist_ok=True)
        for dataset, t in table.groupby("dataset", sort=False):
            for _, row in t.nlargest(a.worst, "badness_ms").iterrows():
                key = (dataset, row["record"])
                path = a.figures / f"{dataset}_{row['record'].replace('/', '_')}.png"
                figure(*fits[key], row, path)
                figs[key] = (Path("figures") / a.figures.name / path.name).as_posix()
    text = markdown(table, a.worst, figs)
    print(text)
    if a.markdown:
        a.markdown.write_text("# Delineation per record (gmesa, lead ii / lead 0)\n\n"
                              "`python benchmarks/per_record.py` on the events of "
                              "`benchmarks/delineation.py`; see its docstring for the "
                              "badness" + (" and the edge (how far a record's row moves "
                                           "under 0.0001 mV of white noise, "
                                           "`benchmarks/knife_edge.py`)" if a.noisy else "")
                              + ".\n" + text)


if __name__ == "__main__":
    main()
