"""``gmesa demo``: fit a whole record, write the per-beat table and the figures, print a
summary -- and the helpers ``gmesa fit --figures`` and ``gmesa plot`` use.

The demo needs nothing from the network.  By default it fits MIT-BIH record 100 when
``../shared/data/physionet/100`` lies beside the repository (the first
``max_minutes``), and otherwise a synthetic record made by
:func:`gmesa.ecg.synthesize` (60 s, 500 Hz, 72 beats/min, noise and baseline wander),
whose true fiducials are known, so the demo also prints how far the fitted boundaries
land from the truth.

    >>> from gmesa.demo import run_demo
    >>> result = run_demo("gmesa-demo")          # doctest: +SKIP
    >>> result["summary"]                         # doctest: +SKIP
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

#: seed of the synthetic demo record (so the demo prints the same numbers every run)
DEMO_SEED = 7

#: settings of the synthetic demo record
SYNTHETIC = dict(duration=60.0, fs=500.0, heart_rate=72.0, noise=0.02, wander=0.1)

#: figure files written by :func:`write_figures`, in this order
FIGURES = ("beat", "record", "template", "trends")

#: resolution of the PNGs (dots per inch); the strip is drawn finer for its 1 mm grid
DPI = {"beat": 130, "record": 150, "template": 130, "trends": 120, "construction": 110,
       "overview": 120}

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
    ("T amplitude", "T_amplitude", "{u}", 3),
    ("PRD", "prd", "%", 1),
    ("RMSE", "rmse", "{u}", 4),
)


# ---------------------------------------------------------------------------------
# the record
# ---------------------------------------------------------------------------------
def shared_record():
    """Path (without extension) of MIT-BIH record 100 in ``../shared/data/physionet``
    beside the repository (or beside the working directory), or None."""
    repo = Path(__file__).resolve().parents[1]
    for root in (repo.parent, Path.cwd().resolve().parent):
        p = root / "shared" / "data" / "physionet" / "100"
        if p.with_suffix(".hea").is_file() and p.with_suffix(".dat").is_file():
            return p
    return None


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


def demo_record(source=None, seed=DEMO_SEED, max_minutes=60.0):
    """The record the demo fits: ``(record, truth, description)``.

    ``source``: None (MIT-BIH 100 lead MLII from ``../shared/data/physionet`` when
    present, else the synthetic record), ``"synthetic"`` (always the synthetic record)
    or a path :func:`gmesa.ecg.read_record` understands (its first lead).  ``truth`` is
    the synthetic record's true fiducials (:class:`gmesa.ecg.Synthetic` ``.truth``) or
    None.  Records longer than ``max_minutes`` are cut to their first ``max_minutes``.
    """
    from .ecg import read_record, synthesize

    if source is None:
        source = shared_record() or "synthetic"
    if isinstance(source, str) and source == "synthetic":
        syn = synthesize(**SYNTHETIC, seed=seed, name="synthetic")
        desc = (f"synthetic record ({SYNTHETIC['duration']:g} s, {SYNTHETIC['fs']:g} Hz, "
                f"{SYNTHETIC['heart_rate']:g} beats/min, noise {SYNTHETIC['noise']:g} mV, "
                f"wander {SYNTHETIC['wander']:g} mV, seed {seed})")
        return syn.record, syn.truth, desc
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
def summarize(fit):
    """Medians and interquartile ranges of the intervals, amplitudes and fit quality over
    the beats with status ``ok`` that are not flagged (over every ok beat when all of
    them are flagged).

    Returns a DataFrame indexed by quantity with columns ``unit``, ``median``, ``q25``,
    ``q75`` and ``beats`` (how many beats had a value).
    """
    from .plot import _trusted_mask, unit

    b = fit.beats
    ok = _trusted_mask(b) if len(b) else np.zeros(0, bool)
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


def format_summary(fit, summary=None):
    """The summary as aligned text lines: counts, then one row per quantity."""
    summary = summarize(fit) if summary is None else summary
    b = fit.beats
    n = len(b)
    status = b["status"].value_counts() if n else pd.Series(dtype=int)
    n_ok = int(status.get("ok", 0))
    flagged = int(b["flagged"].fillna(False).astype(bool).sum()) if "flagged" in b else 0
    not_ok = ", ".join(f"{int(c)} {s}" for s, c in status.items() if s != "ok")
    lines = [f"beats: {n} found, {n_ok} fitted ok"
             + (f" ({not_ok} not ok)" if not_ok else "")
             + f", {flagged} flagged as unlike the template"]
    from .plot import _ok_mask, _trusted_mask
    if n and n_ok and not _ok_mask(b).any():
        lines.append("every ok beat is flagged as unlike the template: the numbers below "
                     "are over all ok beats")
    if n and "P_present" in b and "T_present" in b:
        ok = _trusted_mask(b)
        if ok.any():
            p = 100.0 * b["P_present"].fillna(False).astype(bool)[ok].mean()
            t = 100.0 * b["T_present"].fillna(False).astype(bool)[ok].mean()
            which = "ok, unflagged" if _ok_mask(b).any() else "ok"
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
# figures
# ---------------------------------------------------------------------------------
def _save(fig, path, dpi):
    from . import plot

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plot.close(fig)
    return path


def write_figures(fit, out_dir, stem=None, start=None, grid=True):
    """Draw the standard figures of a fit as PNG into ``out_dir``.

    Writes ``beat.png`` (a typical beat, :func:`gmesa.plot.typical_beat`, with its
    components and residual), ``record.png`` (10 s strip from ``start``, ECG paper grid
    when ``grid``), ``template.png`` (beats superimposed with the median fit) and
    ``trends.png`` (QT, T amplitude and RR over time); with ``stem`` the names are
    ``{stem}.beat.png`` and so on.  Returns the list of paths written.
    """
    from . import plot

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = (lambda k: f"{stem}.{k}.png") if stem else (lambda k: f"{k}.png")
    files = []
    if len(fit.beats) == 0:
        return files
    i = plot.typical_beat(fit)
    files.append(_save(plot.beat(fit, i).figure, out_dir / name("beat"), DPI["beat"]))
    files.append(_save(plot.record(fit, start=start, duration=10, grid=grid).figure,
                       out_dir / name("record"), DPI["record"]))
    files.append(_save(plot.template(fit).figure, out_dir / name("template"), DPI["template"]))
    files.append(_save(plot.trends(fit), out_dir / name("trends"), DPI["trends"]))
    return files


def _row_of_beat(fit, beat):
    """Row position of the beat numbered ``beat`` (the ``beat`` column)."""
    b = fit.beats
    if "beat" in b:
        hits = np.flatnonzero(b["beat"].to_numpy() == int(beat))
        if hits.size:
            return int(hits[0])
    n = len(b)
    raise IndexError(f"beat {beat} is not in this result (beats "
                     f"{int(b['beat'].min()) if n else 0}..{int(b['beat'].max()) if n else -1})")


def plot_results(results, beat=None, out=None, start=None, duration=10):
    """Redraw a saved result (``RecordFit.save``) without refitting: ``gmesa plot``.

    ``results``: the ``.info.json`` written by ``save`` or a folder holding one result.
    ``beat``: None -> one figure with a record strip (``start``, ``duration`` s) on top
    and a typical beat with its residual below; a beat number (the table's ``beat``
    column) -> that beat with its components, fiducials and residual.
    ``out``: PNG path; default beside the result, ``{stem}.overview.png`` or
    ``{stem}.beat{N}.png`` for ``{stem}.info.json``.  Returns the path written.
    """
    from . import plot
    from .ecg import RecordFit

    path = Path(results)
    fit = RecordFit.load(path)
    info = path if not path.is_dir() else next(iter(sorted(path.glob("*.info.json"))), path)
    stem = info.name[:-len(".info.json")] if info.name.endswith(".info.json") \
        else str(fit.info.get("record", "record"))
    folder = info.parent
    if beat is None:
        fig = plot.overview(fit, start=start, duration=duration)
        default, dpi = folder / f"{stem}.overview.png", DPI["overview"]
    else:
        fig = plot.beat(fit, _row_of_beat(fit, beat)).figure
        default, dpi = folder / f"{stem}.beat{int(beat)}.png", DPI["beat"]
    return _save(fig, Path(out) if out is not None else default, dpi)


# ---------------------------------------------------------------------------------
# the demo
# ---------------------------------------------------------------------------------
def run_demo(out="gmesa-demo", source=None, *, seed=DEMO_SEED, max_minutes=60.0,
             verbose=True):
    """Fit a record, write its per-beat table and figures into ``out``, print a summary.

    Parameters
    ----------
    out : output folder (created).
    source : None (MIT-BIH record 100 from ``../shared/data/physionet`` when it lies
        beside the repository, else a synthetic record generated by
        :func:`gmesa.ecg.synthesize` -- nothing is downloaded), ``"synthetic"``, or a
        record file (WFDB, EDF, CSV, NPY; its first lead is fitted).
    seed : seed of the synthetic record.
    max_minutes : fit at most the first this many minutes of a file (record 100, 30 min,
        is fitted whole in a few seconds).
    verbose : print the summary and the file list.

    Writes ``{record}.beats.csv``, ``{record}.beats.parquet``, ``{record}.signal.parquet``
    and ``{record}.info.json`` (reload with ``RecordFit.load``, redraw with
    ``gmesa plot``), and ``beat.png``, ``record.png``, ``template.png``, ``trends.png``,
    ``construction.png``.

    Returns ``{"fit": RecordFit, "summary": DataFrame (:func:`summarize`), "files":
    [Path, ...], "paths": the same list, "errors": DataFrame (:func:`truth_errors`, the
    synthetic record only) or None, "source": str}``.
    """
    from . import plot
    from .ecg import fit_record

    say = print if verbose else (lambda *a, **k: None)
    t_start = time.perf_counter()
    record, truth, desc = demo_record(source, seed=seed, max_minutes=max_minutes)
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
    files.append(_save(plot.construction(), out / "construction.png", DPI["construction"]))

    summary = summarize(fit)
    say(f"fitted {record.duration_s / 60:.1f} min in {t_fit:.1f} s "
        f"({fit.info.get('method', '')}, waves {'/'.join(fit.waves)}"
        + (f" + {'/'.join(fit.steps)} step" if fit.steps else "") + ")")
    for line in format_summary(fit, summary):
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


def readme_figures(out_dir=None, source="synthetic", seed=DEMO_SEED, max_kb=120):
    """Write the README figures ``demo_beat.png`` (a typical beat's decomposition) and
    ``demo_record.png`` (a 10 s strip) into ``out_dir`` (default ``docs/figures`` of the
    repository), small enough to commit (below ``max_kb``, palette PNG).  Returns the
    paths."""
    from . import plot
    from .ecg import fit_record

    out_dir = Path(out_dir) if out_dir else Path(__file__).resolve().parents[1] / "docs" / "figures"
    record, _, _ = demo_record(source, seed=seed, max_minutes=1.0)
    fit = fit_record(record)
    fit.info.setdefault("units", _units(record))
    figs = {"demo_beat.png": (plot.beat(fit, plot.typical_beat(fit)).figure, 120),
            "demo_record.png": (plot.record(fit, duration=10, grid=True).figure, 130)}
    paths = []
    for name, (fig, dpi) in figs.items():
        paths.append(_save_small(fig, Path(out_dir) / name, dpi, max_kb))
    return paths


def _save_small(fig, path, dpi, max_kb):
    """Save as a palette PNG (256 colours) when Pillow is there; check the size."""
    import io

    from . import plot

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plot.close(fig)
    data = buf.getvalue()
    try:
        from PIL import Image
        img = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        small = io.BytesIO()
        img.save(small, format="PNG", optimize=True)
        data = small.getvalue() if len(small.getvalue()) < len(data) else data
    except ImportError:        # pragma: no cover - Pillow comes with matplotlib
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if len(data) > max_kb * 1024:
        raise ValueError(f"{path}: {len(data) / 1024:.0f} kB is above {max_kb} kB")
    return path
