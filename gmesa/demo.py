"""``gmesa demo``: fit a whole record, write the per-beat table and the figures, print a
summary of its intervals, amplitudes and fit quality.

The demo needs nothing from the network.  It fits MIT-BIH record 100 (the first
``max_minutes``) when the data folder -- ``data=`` (``gmesa demo --data DIR``) or the
environment variable ``GMESA_DATA``, see :mod:`gmesa.datasets` -- holds
``physionet/100``, and otherwise the synthetic example record shipped with gmesa
(:func:`gmesa.datasets.example_record`: 60 s, 500 Hz, 72 beats/min, noise and baseline
wander), whose true fiducials are known, so the demo also prints how far the fitted
boundaries land from the truth.  The figures are those of
:func:`gmesa.plot.files.write_figures` and the theory figure.

    >>> from gmesa.demo import run_demo
    >>> result = run_demo("gmesa-demo")          # doctest: +SKIP
    >>> result["summary"]                         # doctest: +SKIP
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from .datasets import EXAMPLE_SETTINGS, data_dir, example_record, example_truth, physionet_record
from .ecg.result import ok_mask, trusted_mask

_FIDUCIALS = ("P_on", "P_peak", "P_off", "QRS_on", "QRS_peak", "QRS_off",
              "T_on", "T_peak", "T_off")

_SUMMARY_ROWS = (  # quantity, column, unit, decimals
    ("RR", "rr_ms", "ms", 0),
    ("heart rate", None, "1/min", 1),
    ("PR", "pr_ms", "ms", 0),
    ("QRS", "qrs_ms", "ms", 0),
    ("QT", "qt_ms", "ms", 0),
    ("QTc (Bazett)", "qtc_ms", "ms", 0),
    ("QTc (Fridericia)", "qtc_fridericia_ms", "ms", 0),
    ("R amplitude", "R_amplitude", "{u}", 3),
    ("T height", "t_height_mv", "mV", 3),
    ("ST at J+60 ms", "st_j60_mv", "mV", 3),
    ("PRD", "prd", "%", 1),
    ("RMSE", "rmse", "{u}", 4),
)


# ---------------------------------------------------------------------------------
# the record
# ---------------------------------------------------------------------------------
def _truncate(record, max_minutes):
    from .ecg import Record

    if max_minutes is None or record.duration_s <= 60.0 * max_minutes:
        return record
    n = int(round(60.0 * max_minutes * record.fs))
    ann = record.annotations
    if ann is not None:
        ann = ann[ann["sample"] < n].reset_index(drop=True)
    return Record(record.signal[:n], record.fs, leads=record.leads, units=record.units,
                  start_time=record.start_time, annotations=ann, name=record.name,
                  path=record.path)


def demo_record(source=None, data=None, max_minutes=60.0):
    """The record the demo fits: ``(record, truth, description)``.

    ``source``: None (MIT-BIH 100, its first lead MLII, from ``physionet/`` of the data
    folder -- ``data``, else ``$GMESA_DATA``, see :func:`gmesa.datasets.data_dir` --
    when it is there, else the synthetic example record), ``"synthetic"`` (always the
    example record, :func:`gmesa.datasets.example_record`) or a path
    :func:`gmesa.ecg.read_record` understands (its first lead).  ``truth`` is the
    example record's true fiducials (:func:`gmesa.datasets.example_truth`) or None.
    Records longer than ``max_minutes`` are cut to their first ``max_minutes``.
    """
    from .ecg import read_record

    note = ""
    if source is None:
        source = physionet_record("100", data, required=False)
        if source is None:
            root = data_dir(data)
            note = f"; {root} holds no physionet/100.hea" if root is not None else ""
            source = "synthetic"
    if isinstance(source, str) and source == "synthetic":
        record = read_record(example_record(), lead=0)
        truth = pd.read_csv(example_truth())
        s = EXAMPLE_SETTINGS
        desc = (f"synthetic example record ({s['duration']:g} s, {s['fs']:g} Hz, "
                f"{s['heart_rate']:g} beats/min, SNR {s['snr_db']:g} dB, "
                f"wander {s['wander']:g} mV, seed {s['seed']}){note}")
        return record, truth, desc
    path = Path(source)
    record = read_record(path, lead=0)
    full = record.duration_s
    record = _truncate(record, max_minutes)
    lead = record.leads[0] if record.leads else "lead 0"
    desc = (f"record {record.name} (lead {lead}, {record.fs:g} Hz, "
            f"{record.duration_s / 60:.1f} min"
            + (f" of {full / 60:.1f}" if record.duration_s < full else "") + f") from {path}")
    return record, None, desc


def _units(record):
    u = record.units
    if isinstance(u, (list, tuple)):
        u = u[0] if u else None
    return str(u) if u else "mV"


# ---------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------
def demo_summary(fit):
    """The table the demo prints: median and interquartile range of RR, heart rate, PR,
    QRS, QT, QTc, R amplitude, T height, ST level, PRD and RMSE over the beats the figures
    trust (:func:`gmesa.ecg.result.trusted_mask`: status ``ok`` and not flagged, or every ok
    beat when all of them are flagged).

    Returns a DataFrame indexed by quantity with columns ``unit``, ``median``, ``q25``,
    ``q75`` and ``beats`` (how many beats had a value).  (``gmesa.batch.summarize`` is
    the one-row summary of a record in a batch: medians over the ok beats.)
    """
    from .plot import unit

    b = fit.beats
    ok = trusted_mask(b) if len(b) else np.zeros(0, bool)
    u = unit(fit)
    rows = []
    for name, col, unit_, _ in _SUMMARY_ROWS:
        if col is None:            # heart rate from RR
            v = 60000.0 / b["rr_ms"].to_numpy(dtype=float)[ok] if "rr_ms" in b else np.zeros(0)
        elif col in b:
            v = pd.to_numeric(b[col], errors="coerce").to_numpy(dtype=float)[ok]
        else:
            continue
        v = v[np.isfinite(v)]
        q = np.percentile(v, [50, 25, 75]) if v.size else [np.nan] * 3
        rows.append({"quantity": name, "unit": unit_.format(u=u), "median": q[0],
                     "q25": q[1], "q75": q[2], "beats": int(v.size)})
    return pd.DataFrame(rows).set_index("quantity")


def truth_errors(fit, truth, tolerance=0.05):
    """Fitted fiducials and intervals against the known truth of a synthetic record.

    Each fitted beat is matched to the true beat whose R peak is nearest (within
    ``tolerance`` s).  Returns a DataFrame indexed by fiducial (``R_peak``, ``P_on`` ...
    ``T_off``, then ``pr_ms``, ``qrs_ms``, ``qt_ms``) with columns ``beats`` (matched
    beats with both values), ``missed`` (matched beats where the truth has a value and
    the fit has none), ``median_abs_ms``, ``median_ms`` (bias, fit - truth) and
    ``p95_abs_ms``, all in ms.  Rows of every fitted beat count, whatever its status.
    """
    b = fit.beats
    rt = truth["r_peak_s"].to_numpy(dtype=float)
    rf = b["r_peak_s"].to_numpy(dtype=float)
    if rt.size == 0 or rf.size == 0:
        return pd.DataFrame(columns=["beats", "missed", "median_abs_ms", "median_ms",
                                     "p95_abs_ms"])
    j = np.clip(np.searchsorted(rt, rf), 1, rt.size - 1) if rt.size > 1 else np.zeros(rf.size, int)
    if rt.size > 1:
        j = np.where(np.abs(rt[j - 1] - rf) < np.abs(rt[j] - rf), j - 1, j)
    matched = np.abs(rt[j] - rf) <= tolerance
    fi, ti = np.flatnonzero(matched), j[matched]
    rows = []

    def row(name, f, t, scale):
        err = (f - t) * scale
        both = np.isfinite(f) & np.isfinite(t)
        e = np.abs(err[both])
        rows.append({"fiducial": name, "beats": int(both.sum()),
                     "missed": int(np.sum(np.isfinite(t) & ~np.isfinite(f))),
                     "median_abs_ms": float(np.median(e)) if e.size else np.nan,
                     "median_ms": float(np.median(err[both])) if e.size else np.nan,
                     "p95_abs_ms": float(np.percentile(e, 95)) if e.size else np.nan})

    row("R_peak", rf[fi], rt[ti], 1000.0)
    for name in _FIDUCIALS:
        col = f"{name}_s"
        if col in b and col in truth:
            row(name, b[col].to_numpy(dtype=float)[fi], truth[col].to_numpy(dtype=float)[ti],
                1000.0)
    for col in ("pr_ms", "qrs_ms", "qt_ms"):
        if col in b and col in truth:
            row(col, b[col].to_numpy(dtype=float)[fi], truth[col].to_numpy(dtype=float)[ti], 1.0)
    out = pd.DataFrame(rows).set_index("fiducial")
    out.attrs["unmatched_fit"] = int((~matched).sum())
    out.attrs["true_beats"] = int(rt.size)
    out.attrs["matched"] = int(matched.sum())
    return out


def _fmt(v, d):
    return "-" if v is None or not np.isfinite(v) else f"{v:.{d}f}"


def format_demo_summary(fit, summary=None):
    """:func:`demo_summary` as aligned text lines: counts, then one row per quantity."""
    summary = demo_summary(fit) if summary is None else summary
    b = fit.beats
    n = len(b)
    status = b["status"].value_counts() if n else pd.Series(dtype=int)
    n_ok = int(status.get("ok", 0))
    flagged = int(b["flagged"].fillna(False).astype(bool).sum()) if "flagged" in b else 0
    not_ok = ", ".join(f"{int(c)} {s}" for s, c in status.items() if s != "ok")
    lines = [f"beats: {n} found, {n_ok} fitted ok"
             + (f" ({not_ok} not ok)" if not_ok else "")
             + f", {flagged} flagged as unlike the template"]
    if n and n_ok and not ok_mask(b).any():
        lines.append("every ok beat is flagged as unlike the template: the numbers below "
                     "are over all ok beats")
    if n and "P_present" in b and "T_present" in b:
        ok = trusted_mask(b)
        if ok.any():
            p = 100.0 * b["P_present"].fillna(False).astype(bool)[ok].mean()
            t = 100.0 * b["T_present"].fillna(False).astype(bool)[ok].mean()
            which = "ok, unflagged" if ok_mask(b).any() else "ok"
            lines.append(f"P wave found in {p:.0f}% and T wave in {t:.0f}% of the {which} beats")
    decimals = {name: d for name, _, _, d in _SUMMARY_ROWS}
    lines.append("")
    lines.append(f"  {'':<18}{'median':>9}   {'IQR':<17}{'unit':<7}{'beats':>6}")
    for name, r in summary.iterrows():
        d = decimals.get(name, 2)
        iqr = f"{_fmt(r['q25'], d)} - {_fmt(r['q75'], d)}"
        lines.append(f"  {name:<18}{_fmt(r['median'], d):>9}   {iqr:<17}{r['unit']:<7}"
                     f"{int(r['beats']):>6}")
    return lines


def format_errors(errors):
    """The fiducial errors against the truth as aligned text lines."""
    lines = [f"  {'':<10}{'median |error|':>15}{'median error':>14}{'95% |error|':>13}"
             f"{'beats':>7}{'missed':>8}"]
    for name, r in errors.iterrows():
        lines.append(f"  {name:<10}{_fmt(r['median_abs_ms'], 1):>12} ms{_fmt(r['median_ms'], 1):>11} ms"
                     f"{_fmt(r['p95_abs_ms'], 1):>10} ms{int(r['beats']):>7}{int(r['missed']):>8}")
    return lines


# ---------------------------------------------------------------------------------
# the demo
# ---------------------------------------------------------------------------------
def run_demo(out="gmesa-demo", source=None, *, data=None, max_minutes=60.0, verbose=True):
    """Fit a record, write its per-beat table and figures into ``out``, print a summary.

    Parameters
    ----------
    out : output folder (created).
    source : None (MIT-BIH record 100 from ``physionet/`` of the data folder when it is
        there, else the synthetic example record shipped with gmesa -- nothing is
        downloaded), ``"synthetic"`` (the example record), or a record file (WFDB, EDF,
        CSV, NPY; its first lead is fitted).  See :func:`demo_record`.
    data : the data folder (default: the environment variable ``GMESA_DATA``, see
        :func:`gmesa.datasets.data_dir`); FileNotFoundError when it does not exist.
    max_minutes : fit at most the first this many minutes of a file (record 100, 30 min,
        is fitted whole in a few seconds).
    verbose : print the summary and the file list.

    Writes ``{record}.beats.csv``, ``{record}.beats.parquet``, ``{record}.signal.parquet``
    and ``{record}.info.json`` (reload with ``RecordFit.load``, redraw with
    ``gmesa plot``), and ``beat.png``, ``record.png``, ``template.png``, ``trends.png``,
    ``construction.png``.

    Returns ``{"fit": RecordFit, "summary": DataFrame (:func:`demo_summary`), "files":
    [Path, ...], "paths": the same list, "errors": DataFrame (:func:`truth_errors`, the
    synthetic record only) or None, "source": str}``.
    """
    from .ecg import fit_record
    from .plot import construction
    from .plot.files import DPI, save_figure, write_figures

    say = print if verbose else (lambda *a, **k: None)
    t_start = time.perf_counter()
    record, truth, desc = demo_record(source, data=data, max_minutes=max_minutes)
    say(f"gmesa demo: {desc}")
    t0 = time.perf_counter()
    fit = fit_record(record)
    t_fit = time.perf_counter() - t0
    fit.info.setdefault("units", _units(record))
    fit.info.setdefault("source", desc)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = str(fit.info.get("record") or "record")
    files = []
    csv = fit.save(out, stem, fmt="csv")
    files.append(csv["beats"])
    saved = fit.save(out, stem, fmt="parquet")      # the .info.json points at the Parquet
    files += [saved["beats"], saved["signal"], saved["info"]]
    files += write_figures(fit, out)
    files.append(save_figure(construction(), out / "construction.png", DPI["construction"]))

    summary = demo_summary(fit)
    say(f"fitted {record.duration_s / 60:.1f} min in {t_fit:.1f} s "
        f"({fit.info.get('method', '')}, waves {'/'.join(fit.waves)}"
        + (f" + {'/'.join(fit.steps)} step" if fit.steps else "") + ")")
    for line in format_demo_summary(fit, summary):
        say(line)
    errors = None
    if truth is not None:
        errors = truth_errors(fit, truth)
        say("")
        say(f"fitted minus true fiducials (synthetic record: the truth is the same boundary "
            f"rule applied to the generating parameters; {errors.attrs['matched']} of "
            f"{errors.attrs['true_beats']} true beats matched):")
        for line in format_errors(errors):
            say(line)
    say("")
    say(f"wrote {len(files)} files to {out.resolve()}:")
    for f in files:
        say(f"  {Path(f).name:<28}{Path(f).stat().st_size / 1024:8.0f} kB")
    say(f"redraw without refitting: gmesa plot {Path(saved['info'])} --beat N "
        f"(done in {time.perf_counter() - t_start:.1f} s)")
    files = [Path(f) for f in files]
    return {"fit": fit, "summary": summary, "files": files, "paths": files,
            "errors": errors, "source": desc}
