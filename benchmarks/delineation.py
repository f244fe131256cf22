#!/usr/bin/env python
"""Score ECG wave delineation against cardiologists' marks, for several methods in one run.

Datasets (read from ``../shared/data``, never copied):

* ``ludb``: LUDB, 160 records x 10 s at 500 Hz, lead ii, scored between the lead's first and last mark.
* ``qtdb``: QT Database, 75 records x 15 min at 250 Hz, signal 0, manual marks ``.q1c`` (annotator 1,
  second pass) on 30-100 beats per record; detections count as false positives only inside the
  annotated beats (see ``benchmarks/_annotations.py`` and ``gmesa.ecg.evaluate`` for the exact
  rule).

Fiducials: P_on, P_peak, P_off, QRS_on, QRS_off, T_on, T_peak, T_off (a fiducial with no reference mark
is skipped: QTDB has T_on on ~40% of T waves only). Each reference mark is matched one-to-one with the
nearest detection within +-150 ms. Se = TP / references, PPV = TP / (TP + FP), error = detected -
reference (ms): mean +- SD, median +- 1.4826 MAD, the CSE check SD <= 2-sigma tolerance (P_on 10.2,
P_off 12.7, QRS_on 6.5, QRS_off 11.6, T_off 30.6 ms) and ``|mean| + SD`` to rank methods.

A method is ``delineate(signal_1d, fs) -> DataFrame`` with one row per beat and the columns
``P_on_s, P_peak_s, P_off_s, QRS_on_s, QRS_peak_s, QRS_off_s, T_on_s, T_peak_s, T_off_s`` in seconds
from the signal's first sample (NaN where absent; missing columns count as "not provided"). A method
that raises on a record gives no detections for that record; the failure and its reason are reported.
A method with the attribute ``multilead = True`` is handed every lead of the record instead,
``(n, leads)`` with the scored lead in column 0 (``gmesa_leads``: ``gmesa.ecg.fit_leads``;
``gmesa_joint``: ``fit_leads(..., joint=True)``, the joint model, skipped where fit_leads lacks it).
``--ludb-marks global`` scores LUDB against global marks: each wave's earliest onset and latest
offset over the 12 leads' marks (peaks from the scored lead), see ``_annotations.global_waves``.
``--ludb-leads v5`` hands the methods the scored lead and only these (a two-lead record, as QTDB's
and a Holter's), and global marks span only them.

Examples::

    python benchmarks/delineation.py --limit 5                     # quick look, all methods
    python benchmarks/delineation.py --methods neurokit2_dwt,neurokit2_peak --jobs 2 \\
        --markdown out/delineation.md --out out/delineation
    python benchmarks/delineation.py --datasets qtdb --methods gmesa --qtdb-context 10
    python benchmarks/delineation.py --datasets ludb --methods gmesa --resample 128   # another recorder
    python benchmarks/delineation.py --datasets ludb --methods gmesa --noise 0.02     # + 20 uV white noise
    python benchmarks/delineation.py --datasets ludb --methods gmesa,gmesa_joint --ludb-marks global \\
        --ludb-leads v5                                            # lead ii with v5 only

``--resample`` and ``--noise`` hand every method the record as another recorder would
(``_annotations.acquired``): all leads resampled, or white noise added (the same noise for a
record in every run); the marks stay in seconds.  ``--noise 0.0001`` shows which records'
whole-record decisions sit on a knife edge (docs/results.md, session 19).

From Python (``method_fn`` must be a module-level function when ``jobs > 1``)::

    from benchmarks.delineation import score_dataset
    res = score_dataset("ludb", my_delineate, limit=20)
    print(res.summary)
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import (  # noqa: E402
    LUDB_MARKS, QTDB_MARGIN_S, acquired, default_data_dir, list_records, read_case,
    split_records,
)
from gmesa.ecg.evaluate import (  # noqa: E402
    ALL_FIDUCIALS, CSE_TOLERANCE_MS, FIDUCIALS, MATCH_TOLERANCE_S, score_fiducial, fiducial_summary,
)

COLUMNS = tuple(f"{f}_s" for f in ALL_FIDUCIALS)
DATASET_LABEL = {"ludb": "LUDB", "qtdb": "QTDB"}
Method = Callable[[np.ndarray, float], pd.DataFrame]


# ============================================================================================
# Methods
# ============================================================================================
_NK_KEYS = {
    "ECG_P_Onsets": "P_on_s", "ECG_P_Peaks": "P_peak_s", "ECG_P_Offsets": "P_off_s",
    "ECG_R_Onsets": "QRS_on_s", "ECG_R_Offsets": "QRS_off_s",
    "ECG_T_Onsets": "T_on_s", "ECG_T_Peaks": "T_peak_s", "ECG_T_Offsets": "T_off_s",
}


def _align_to_beats(values, n_beats: int) -> np.ndarray:
    """NeuroKit's per-beat list as a length-``n_beats`` float array.

    ``ecg_delineate`` drops entries <= 0 from its lists (``waves_sanitized``), which shortens a list
    when an early beat's onset falls before sample 1; such entries can only belong to the first
    beats, so the list is padded with NaN at the front.
    """
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    if len(v) > n_beats:
        raise ValueError(f"{len(v)} values for {n_beats} beats")
    return np.concatenate([np.full(n_beats - len(v), np.nan), v])


def _neurokit(signal: np.ndarray, fs: float, method: str) -> pd.DataFrame:
    import neurokit2 as nk

    sr = int(round(fs)) if abs(fs - round(fs)) < 1e-9 else fs
    clean = nk.ecg_clean(np.asarray(signal, dtype=float), sampling_rate=sr)
    _, info = nk.ecg_peaks(clean, sampling_rate=sr)
    rpeaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    if len(rpeaks) == 0:
        raise RuntimeError("ecg_peaks found no R peak")
    # The ``waves`` dict holds sample indices per beat; ``signals`` is only a 0/1 marker frame.
    _, waves = nk.ecg_delineate(clean, rpeaks, sampling_rate=sr, method=method)
    df = pd.DataFrame(np.nan, index=pd.RangeIndex(len(rpeaks), name="beat"), columns=list(COLUMNS))
    df["QRS_peak_s"] = rpeaks / fs
    for key, col in _NK_KEYS.items():
        if key in waves:
            df[col] = _align_to_beats(waves[key], len(rpeaks)) / fs
    return df


def neurokit2_dwt(signal: np.ndarray, fs: float) -> pd.DataFrame:
    """``nk.ecg_clean`` -> ``nk.ecg_peaks`` -> ``nk.ecg_delineate(method="dwt")`` (Martinez et al. 2004 style)."""
    return _neurokit(signal, fs, "dwt")


def neurokit2_peak(signal: np.ndarray, fs: float) -> pd.DataFrame:
    """``nk.ecg_delineate(method="peak")``: derivative zero-crossings; gives P_on, P/T peaks, T_off only."""
    return _neurokit(signal, fs, "peak")


def neurokit2_prominence(signal: np.ndarray, fs: float) -> pd.DataFrame:
    """``nk.ecg_delineate(method="prominence")`` (Emrich et al. 2024), new in neurokit2 0.2.10."""
    return _neurokit(signal, fs, "prominence")


def gmesa_fit(signal: np.ndarray, fs: float) -> pd.DataFrame:
    """gmesa: ``fit_record(Record(signal, fs)).beats``, fiducial columns only."""
    from gmesa.ecg import Record, fit_record

    fit = fit_record(Record(np.asarray(signal, dtype=float), fs))
    return fit.beats


def _leads_beats(signals: np.ndarray, fs: float, **options) -> pd.DataFrame:
    """``fit_leads(Record(signals, fs), primary=0, **options).beats``, the leads named
    lead0, lead1, ... (column 0 is the scored lead)."""
    from gmesa.ecg import Record, fit_leads

    signals = np.asarray(signals, dtype=float)
    leads = [f"lead{j}" for j in range(signals.shape[1])]
    return fit_leads(Record(signals, fs, leads=leads), primary=0, **options).beats


def gmesa_leads(signals: np.ndarray, fs: float) -> pd.DataFrame:
    """gmesa, every lead of the record fitted alone: ``fit_leads(Record(signals, fs),
    primary=0, joint=False).beats`` (column 0 is the scored lead; a wave it does not show
    is read from another lead)."""
    return _leads_beats(signals, fs, joint=False)


gmesa_leads.multilead = True  # the method is handed every lead: (n, leads), scored lead first


def gmesa_pooled(signals: np.ndarray, fs: float) -> pd.DataFrame:
    """gmesa, every lead fitted on its own and each boundary pooled over the leads that
    show the wave: ``fit_leads(..., joint=False, boundaries="pooled").beats``."""
    return _leads_beats(signals, fs, joint=False, boundaries="pooled")


gmesa_pooled.multilead = True


def gmesa_joint(signals: np.ndarray, fs: float) -> pd.DataFrame:
    """gmesa's joint multi-lead model: ``fit_leads(Record(signals, fs), primary=0, joint=True).beats``
    (shared wave timing over the leads, global boundaries)."""
    try:
        return _leads_beats(signals, fs, joint=True)
    except TypeError as exc:
        if "joint" in str(exc):
            raise RuntimeError("this gmesa's fit_leads has no joint= option (the joint model is "
                               "not merged yet)") from None
        raise


gmesa_joint.multilead = True


def gmesa_joint_priors(signals: np.ndarray, fs: float) -> pd.DataFrame:
    """The joint model fitted by MAP with the ECG population priors:
    ``fit_leads(..., joint=True, priors=True).beats`` (docs/priors.md)."""
    return _leads_beats(signals, fs, joint=True, priors=True)


gmesa_joint_priors.multilead = True
gmesa_joint_priors.on_request = True  # not in the default --methods

METHODS: dict[str, Method] = {
    "neurokit2_dwt": neurokit2_dwt,
    "neurokit2_peak": neurokit2_peak,
    "neurokit2_prominence": neurokit2_prominence,
    "gmesa": gmesa_fit,
    "gmesa_leads": gmesa_leads,
    "gmesa_pooled": gmesa_pooled,
    "gmesa_joint": gmesa_joint,
    "gmesa_joint_priors": gmesa_joint_priors,
}


def method_available(name: str) -> tuple[bool, str]:
    """Can the built-in method ``name`` run here? ``(ok, reason)``."""
    try:
        if name.startswith("neurokit2"):
            import neurokit2 as nk
            if name == "neurokit2_prominence":
                import inspect
                if "prominence" not in inspect.getsource(nk.ecg_delineate):
                    return False, f"neurokit2 {nk.__version__} has no 'prominence' method"
        elif name.startswith("gmesa"):
            from gmesa.ecg import Record, fit_leads, fit_record  # noqa: F401
            if name == "gmesa_joint":
                import inspect
                if "joint" not in inspect.signature(fit_leads).parameters:
                    return False, "fit_leads has no joint= option (the joint model is not merged yet)"
        elif name not in METHODS:
            return False, "unknown method"
    except Exception as exc:  # ImportError, or a broken package
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def detections_from_frame(df: pd.DataFrame, offset_s: float = 0.0) -> tuple[dict[str, np.ndarray], list[str]]:
    """Detections per fiducial (sorted, seconds of the record) and the fiducials the frame lacks."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"method returned {type(df).__name__}, expected a pandas DataFrame")
    out, missing = {}, []
    for f in ALL_FIDUCIALS:
        col = f"{f}_s"
        if col not in df.columns:
            missing.append(f)
            out[f] = np.zeros(0)
            continue
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        out[f] = np.sort(v[np.isfinite(v)]) + offset_s
    return out, missing


# ============================================================================================
# Running
# ============================================================================================
@dataclass
class Options:
    fiducials: tuple[str, ...] = FIDUCIALS
    tol_s: float = MATCH_TOLERANCE_S
    lead: str = "ii"
    channel: int = 0
    margin_s: float = QTDB_MARGIN_S
    context_s: float | None = None
    data_dir: str | None = None
    ludb_marks: str = "lead"
    ludb_leads: tuple[str, ...] | None = None
    resample_hz: float | None = None
    noise_mv: float = 0.0
    noise_seed: int = 0


def _score_record(dataset: str, record: str, methods: dict[str, Method], opt: Options) -> dict:
    """Read one record, run every method on it, match. Runs in a worker process."""
    out = dict(dataset=dataset, record=record, read_error=None, notes=[], methods={})
    try:
        case = read_case(dataset, record, opt.data_dir, lead=opt.lead, channel=opt.channel,
                         margin_s=opt.margin_s, context_s=opt.context_s, marks=opt.ludb_marks,
                         with_leads=opt.ludb_leads)
        case = acquired(case, opt.resample_hz, opt.noise_mv, opt.noise_seed)
    except Exception as exc:
        out["read_error"] = f"{type(exc).__name__}: {exc}"
        return out
    out["notes"] = case.notes
    out["n_ref"] = {f: int(len(case.reference[f])) for f in opt.fiducials}
    out["signal_s"] = len(case.signal) / case.fs
    for name, fn in methods.items():
        error, det, missing, n_beats = None, {f: np.zeros(0) for f in ALL_FIDUCIALS}, [], 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            try:
                df = fn(case.leads() if getattr(fn, "multilead", False) else case.signal.copy(), case.fs)
                det, missing = detections_from_frame(df, case.offset_s)
                n_beats = len(df)
            except Exception as exc:
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
            seconds = time.perf_counter() - t0
        events, counts = [], {}
        for f in opt.fiducials:
            s = score_fiducial(case.reference[f], det[f], case.intervals, opt.tol_s, case.unmarked.get(f))
            counts[f] = dict(n_ref=s.n_ref, tp=len(s.ref_matched), fp=len(s.det_false),
                             n_det=int(len(det[f])), n_det_in_span=s.n_det_in_span)
            events += [(f, "TP", r, d) for r, d in zip(s.ref_matched, s.det_matched)]
            events += [(f, "FN", r, np.nan) for r in s.ref_missed]
            events += [(f, "FP", np.nan, d) for d in s.det_false]
        out["methods"][name] = dict(error=error, seconds=seconds, n_beats=n_beats, missing=missing,
                                    warnings=[str(w.message).splitlines()[0][:160] for w in caught],
                                    counts=counts, events=events)
    return out


def _worker_init() -> None:
    warnings.simplefilter("ignore")
    from benchmarks import _ablation
    _ablation.from_env()  # the rules --ablate took out, in this worker too
    try:  # one Numba thread per worker process
        import numba
        numba.set_num_threads(1)
    except Exception:
        pass


@dataclass
class BenchmarkResult:
    """Everything a run produced. ``summary`` has one row per dataset x method x fiducial."""

    summary: pd.DataFrame
    per_record: pd.DataFrame
    events: pd.DataFrame
    failures: pd.DataFrame
    timing: pd.DataFrame
    notes: pd.DataFrame
    info: dict = field(default_factory=dict)


def run(datasets=("ludb", "qtdb"), methods: dict[str, Method] | None = None, *, limit: int | None = None,
        records: dict[str, list[str]] | None = None, jobs: int = 1, options: Options | None = None,
        progress: bool = True) -> BenchmarkResult:
    """Score ``methods`` (name -> function) on ``datasets``; see the module docstring.

    ``records`` maps a dataset to the record names to use (default: its ``RECORDS`` file), ``limit``
    keeps the first N of them, ``jobs`` > 1 runs records in a process pool.
    """
    opt = options or Options()
    methods = dict(METHODS if methods is None else methods)
    t_start = time.perf_counter()
    tasks = []
    for ds in datasets:
        recs = list((records or {}).get(ds) or list_records(ds, opt.data_dir))
        tasks += [(ds, r) for r in (recs[:limit] if limit else recs)]
    results = []

    def report(i: int) -> None:
        if progress and (i == len(tasks) or i % max(1, len(tasks) // 20) == 0):
            print(f"  {i}/{len(tasks)} records ({time.perf_counter() - t_start:.0f} s)", file=sys.stderr,
                  flush=True)

    if jobs <= 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, (ds, r) in enumerate(tasks, 1):
                results.append(_score_record(ds, r, methods, opt))
                report(i)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init) as pool:
            futures = {pool.submit(_score_record, ds, r, methods, opt): (ds, r) for ds, r in tasks}
            for i, fut in enumerate(as_completed(futures), 1):
                ds, r = futures[fut]
                try:
                    results.append(fut.result())
                except Exception as exc:  # a worker died (e.g. BrokenProcessPool)
                    results.append(dict(dataset=ds, record=r, notes=[], methods={},
                                        read_error=f"worker: {type(exc).__name__}: {exc}"))
                report(i)
    order = {t: i for i, t in enumerate(tasks)}
    results.sort(key=lambda x: order[(x["dataset"], x["record"])])
    res = _collect(results, list(datasets), methods, opt)
    res.info.update(
        wall_seconds=round(time.perf_counter() - t_start, 1), jobs=jobs, limit=limit,
        tol_ms=opt.tol_s * 1000, qtdb_margin_ms=opt.margin_s * 1000, qtdb_context_s=opt.context_s,
        ludb_lead=opt.lead, ludb_marks=opt.ludb_marks,
        ludb_leads=None if opt.ludb_leads is None else list(opt.ludb_leads), qtdb_channel=opt.channel, python=platform.python_version(),
        versions=_versions(), methods=list(methods), datasets=list(datasets),
        resample_hz=opt.resample_hz, noise_mv=opt.noise_mv, noise_seed=opt.noise_seed,
    )
    return res


def _versions() -> dict:
    out = {}
    for mod in ("numpy", "pandas", "wfdb", "neurokit2", "gmesa"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            out[mod] = None
    return out


def _collect(results: list[dict], datasets: list[str], methods: dict, opt: Options) -> BenchmarkResult:
    per_record, events, failures, timing, notes = [], [], [], [], []
    for r in results:
        ds, rec = r["dataset"], r["record"]
        notes += [dict(dataset=ds, record=rec, note=n) for n in r.get("notes", [])]
        if r["read_error"]:
            failures += [dict(dataset=ds, method=m, record=rec, reason=f"read: {r['read_error']}")
                         for m in methods]
            continue
        for m, mr in r["methods"].items():
            if mr["error"]:
                failures.append(dict(dataset=ds, method=m, record=rec, reason=mr["error"]))
            timing.append(dict(dataset=ds, method=m, record=rec, seconds=mr["seconds"], n_beats=mr["n_beats"],
                               signal_s=r["signal_s"], failed=bool(mr["error"]),
                               n_warnings=len(mr["warnings"]),
                               warnings=" | ".join(sorted(set(mr["warnings"])))[:500]))
            for f, c in mr["counts"].items():
                per_record.append(dict(dataset=ds, method=m, record=rec, fiducial=f, **c))
            events += [(ds, m, rec, *e) for e in mr["events"]]
    per_record = pd.DataFrame(per_record, columns=["dataset", "method", "record", "fiducial", "n_ref", "tp",
                                                   "fp", "n_det", "n_det_in_span"])
    events = pd.DataFrame(events, columns=["dataset", "method", "record", "fiducial", "outcome", "ref_s",
                                           "det_s"])
    events["error_ms"] = (events["det_s"] - events["ref_s"]) * 1000.0
    failures = pd.DataFrame(failures, columns=["dataset", "method", "record", "reason"])
    timing = pd.DataFrame(timing, columns=["dataset", "method", "record", "seconds", "n_beats", "signal_s",
                                           "failed", "n_warnings", "warnings"])
    summary = []
    for ds in datasets:
        for m in methods:
            pr = per_record[(per_record.dataset == ds) & (per_record.method == m)]
            ev = events[(events.dataset == ds) & (events.method == m) & (events.outcome == "TP")]
            tm = timing[(timing.dataset == ds) & (timing.method == m)]
            for f in opt.fiducials:
                p = pr[pr.fiducial == f]
                row = fiducial_summary(f, p.n_ref.sum(), p.tp.sum(), p.fp.sum(), ev.loc[ev.fiducial == f, "error_ms"])
                row.update(dataset=ds, method=m, n_records=int(tm.shape[0]), n_failed=int(tm.failed.sum()),
                           n_det=int(p.n_det.sum()), provided=bool(p.n_det.sum() > 0))
                summary.append(row)
    cols = ["dataset", "method", "fiducial", "n_records", "n_failed", "provided", "n_ref", "n_det", "tp", "fn",
            "fp", "se", "ppv", "mean_ms", "sd_ms", "median_ms", "rsd_ms", "criterion_ms", "cse_tol_ms", "cse_ok"]
    summary = pd.DataFrame(summary)
    summary = summary[cols] if len(summary) else pd.DataFrame(columns=cols)
    return BenchmarkResult(summary, per_record, events, failures, timing,
                           pd.DataFrame(notes, columns=["dataset", "record", "note"]), {})


def score_dataset(name: str, method_fn: Method, *, method_name: str | None = None, limit: int | None = None,
                  records: list[str] | None = None, jobs: int = 1, progress: bool = False,
                  **options) -> BenchmarkResult:
    """Score one method on one dataset (``"ludb"`` or ``"qtdb"``); ``options`` go to :class:`Options`
    (``fiducials``, ``tol_s``, ``lead``, ``channel``, ``margin_s``, ``context_s``, ``data_dir``)."""
    method_name = method_name or getattr(method_fn, "__name__", "method")
    return run([name], {method_name: method_fn}, limit=limit, records={name: records} if records else None,
               jobs=jobs, options=Options(**options), progress=progress)


# ============================================================================================
# Tables
# ============================================================================================
def _fmt(x, spec: str, na: str = "-") -> str:
    return na if x is None or not np.isfinite(x) else format(x, spec)


def _cell(row: pd.Series) -> list[str]:
    """Se, PPV, mean+-SD, CSE for one method x fiducial."""
    if not row.provided:
        return ["n/p", "", "", ""]
    ok = "" if row.cse_ok is None or pd.isna(row.cse_ok) else ("yes" if row.cse_ok else "no")
    return [_fmt(row.se, ".3f"), _fmt(row.ppv, ".3f"),
            f"{_fmt(row.mean_ms, '+.1f')}±{_fmt(row.sd_ms, '.1f')}", ok]


def _robust_cell(row: pd.Series) -> list[str]:
    if not row.provided:
        return ["n/p", ""]
    return [f"{_fmt(row.median_ms, '+.1f')}±{_fmt(row.rsd_ms, '.1f')}", _fmt(row.criterion_ms, ".1f")]


def _dataset_header(res: BenchmarkResult, ds: str) -> str:
    s = res.summary[res.summary.dataset == ds]
    n_rec = int(s.n_records.max()) if len(s) else 0
    n_qrs = int(res.per_record.query("dataset == @ds and fiducial == 'QRS_on'")
                .drop_duplicates("record").n_ref.sum()) if len(res.per_record) else 0
    marks = res.info.get("ludb_marks", "lead")
    if ds == "ludb":
        extra = res.info.get("ludb_leads")
        span = "12 leads" if extra is None else f"{1 + len(extra)} leads"
        where = f"lead {res.info.get('ludb_lead', 'ii')}" + (f" with {', '.join(extra)}" if extra else "")
        where += f", global marks ({span})" if marks == "global" else ""
    else:
        where = f"signal {res.info.get('qtdb_channel', 0)}"
    if res.info.get("resample_hz"):
        where += f", resampled to {res.info['resample_hz']:g} Hz"
    if res.info.get("noise_mv"):
        where += f", white noise {res.info['noise_mv']:g} mV added"
    return f"{DATASET_LABEL.get(ds, ds)} {where}: {n_rec} records, {n_qrs} reference QRS onsets"


def tables(res: BenchmarkResult, markdown: bool = False) -> str:
    """The compact per-dataset tables: rows = fiducial, columns = method x (Se, PPV, mean±SD, CSE)."""
    out = []
    methods = list(dict.fromkeys(res.summary.method))
    tol = res.info.get("tol_ms", MATCH_TOLERANCE_S * 1000)
    for ds in dict.fromkeys(res.summary.dataset):
        s = res.summary[res.summary.dataset == ds].set_index(["method", "fiducial"])
        fids = [f for f in dict.fromkeys(res.summary.fiducial) if s.xs(f, level="fiducial").n_ref.sum() > 0]
        skipped = [f for f in dict.fromkeys(res.summary.fiducial) if f not in fids]
        head = ["fiducial", "CSE tol", "n ref"]
        main = [head + [f"{m} {c}" for m in methods for c in ("Se", "PPV", "mean±SD", "CSE")]]
        rob = [head + [f"{m} {c}" for m in methods for c in ("median±rSD", "|mean|+SD")]]
        for f in fids:
            tol_f = _fmt(CSE_TOLERANCE_MS.get(f, np.nan), ".1f", "")
            n_ref = str(int(s.loc[(methods[0], f), "n_ref"]))
            main.append([f, tol_f, n_ref] + sum((_cell(s.loc[(m, f)]) for m in methods), []))
            rob.append([f, tol_f, n_ref] + sum((_robust_cell(s.loc[(m, f)]) for m in methods), []))
        title = (f"{_dataset_header(res, ds)}; match ±{tol:g} ms; error = detected - reference (ms); "
                 f"CSE = SD <= tol; n/p = method does not provide it")
        if skipped:
            title += f"; no reference marks: {', '.join(skipped)}"
        fail = res.timing[(res.timing.dataset == ds)].groupby("method", sort=False).agg(
            failed=("failed", "sum"), n=("failed", "size"), sec=("seconds", "mean"))
        foot = "; ".join(f"{m}: {int(r.failed)}/{int(r.n)} records failed, {r.sec:.2f} s/record"
                         for m, r in fail.iterrows())
        if markdown:
            out += [f"### {title}", "", _md(main), "", "Robust error (median ± 1.4826 MAD) and |mean| + SD, ms:",
                    "", _md(rob), "", foot, ""]
        else:
            out += [title, _text(main, methods, 4), "", "robust: median±1.4826·MAD and |mean|+SD (ms)",
                    _text(rob, methods, 2), foot, ""]
    return "\n".join(out)


def _md(rows: list[list[str]]) -> str:
    rows = [[c.replace("|", "\\|") for c in r] for r in rows]  # "|mean|+SD" must not split cells
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _text(rows: list[list[str]], methods: list[str], per: int) -> str:
    """Fixed-width table with one group header line per method."""
    sub = [rows[0][:3] + [h.split(" ", 1)[1] for h in rows[0][3:]]] + rows[1:]  # drop method from headers
    widths = [max(len(r[i]) for r in sub) for i in range(len(sub[0]))]
    groups = [3 + k * per for k in range(len(methods))]
    for k, m in enumerate(methods):  # widen the group so the method name fits
        idx = list(range(groups[k], groups[k] + per))
        need = len(m) - (sum(widths[i] for i in idx) + per - 1)
        if need > 0:
            widths[idx[-1]] += need

    def line(r):
        cells = [r[i].ljust(widths[i]) if i == 0 else r[i].rjust(widths[i]) for i in range(len(r))]
        parts = [" ".join(cells[:3])] + [" ".join(cells[g:g + per]) for g in groups]
        return " | ".join(parts)

    w0 = len(" ".join(" " * widths[i] for i in range(3)))
    top = [" " * w0] + [m.center(sum(widths[g:g + per]) + per - 1) for m, g in zip(methods, groups)]
    body = [line(r) for r in sub]
    rule = "-" * len(body[0])
    return "\n".join([" | ".join(top), body[0], rule] + body[1:])


def failure_report(res: BenchmarkResult) -> str:
    """Failures grouped by dataset, method and reason, with example records."""
    if res.failures.empty:
        return "failures: none"
    lines = ["failures (method gave no detections on these records):"]
    for (ds, m, reason), g in res.failures.groupby(["dataset", "method", "reason"], sort=False):
        ex = ", ".join(g.record.head(5)) + (" ..." if len(g) > 5 else "")
        lines.append(f"  {ds} {m}: {len(g)} x {reason}  [{ex}]")
    return "\n".join(lines)


def warning_report(res: BenchmarkResult) -> str:
    """Warnings the methods raised, counted per dataset and method."""
    t = res.timing[res.timing.n_warnings > 0]
    if t.empty:
        return "method warnings: none"
    lines = ["method warnings (kept going):"]
    for (ds, m), g in t.groupby(["dataset", "method"], sort=False):
        msgs = sorted(set(" | ".join(g.warnings).split(" | ")))
        lines.append(f"  {ds} {m}: {int(g.n_warnings.sum())} on {len(g)} records: {'; '.join(msgs)[:200]}")
    return "\n".join(lines)


def write_outputs(res: BenchmarkResult, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    res.summary.to_csv(out_dir / "summary.csv", index=False, float_format="%.4f")
    res.per_record.to_csv(out_dir / "per_record.csv", index=False)
    res.events.to_csv(out_dir / "events.csv.gz", index=False, float_format="%.4f")
    res.failures.to_csv(out_dir / "failures.csv", index=False)
    res.timing.to_csv(out_dir / "timing.csv", index=False, float_format="%.4f")
    res.notes.to_csv(out_dir / "annotation_notes.csv", index=False)
    summary = json.loads(res.summary.to_json(orient="records"))
    with open(out_dir / "summary.json", "w") as fh:
        json.dump(dict(info=res.info, summary=summary, failures=json.loads(res.failures.to_json(orient="records")),
                       annotation_notes=json.loads(res.notes.to_json(orient="records"))), fh, indent=1)


# ============================================================================================
# CLI
# ============================================================================================
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="ludb,qtdb", help="comma list of ludb, qtdb (default both)")
    default = [m for m, f in METHODS.items() if not getattr(f, "on_request", False)]
    p.add_argument("--methods", default=",".join(default), help=f"comma list from {', '.join(METHODS)}")
    p.add_argument("--limit", type=int, default=None, help="first N records per dataset")
    p.add_argument("--records", default=None, help="comma list of record names (applied to every dataset)")
    p.add_argument("--ludb-split", choices=("all", "odd", "even"), default="all",
                   help="LUDB records by number parity (gmesa's fiducial rule is calibrated on odd ones)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--fiducials", default=",".join(FIDUCIALS), help="comma list (QRS_peak is also available)")
    p.add_argument("--tol-ms", type=float, default=MATCH_TOLERANCE_S * 1000, help="matching window ± ms")
    p.add_argument("--lead", default="ii", help="LUDB lead (default ii)")
    p.add_argument("--ludb-marks", choices=LUDB_MARKS, default="lead",
                   help="LUDB reference: the scored lead's marks, or global marks (earliest onset, latest "
                        "offset over the 12 leads' marks of the same wave; peaks from the scored lead)")
    p.add_argument("--ludb-leads", default=None, metavar="LEADS",
                   help="comma list of LUDB leads handed to the methods besides --lead, and spanned by "
                        "--ludb-marks global (default: all 12; e.g. v5 for a two-lead record)")
    p.add_argument("--channel", type=int, default=0, help="QTDB signal index (default 0)")
    p.add_argument("--qtdb-margin-ms", type=float, default=QTDB_MARGIN_S * 1000,
                   help="margin around annotated QTDB beats where unmatched detections are FPs")
    p.add_argument("--qtdb-context", type=float, default=None, metavar="SECONDS",
                   help="crop QTDB to the annotated stretch ± SECONDS (default: whole 15-min record)")
    p.add_argument("--resample", type=float, default=None, metavar="HZ",
                   help="hand the methods every lead resampled to HZ (how the marks carry over to another "
                        "recorder's sampling rate)")
    p.add_argument("--noise", type=float, default=0.0, metavar="MV",
                   help="add white noise of SD MV (mV) to every lead, the same for a record in every run")
    p.add_argument("--noise-seed", type=int, default=0, help="seed of --noise (with the record's name)")
    p.add_argument("--data", default=None, help=f"shared data folder (default {default_data_dir()})")
    p.add_argument("--markdown", type=Path, default=None, help="also write the tables as markdown")
    p.add_argument("--out", type=Path, default=None, help="write summary.csv/json, per_record, events, ...")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--ablate", default=None, metavar="RULES",
                   help="take these decision rules out of gmesa's ECG pipeline (comma list; "
                        "diagnostics: what each is worth, benchmarks/rule_ablation.py)")
    a = p.parse_args(argv)
    if a.ablate:
        from benchmarks import _ablation
        try:
            _ablation.apply(a.ablate.split(","))
        except ValueError as exc:
            p.error(f"--ablate: {exc}")

    datasets = [d.strip() for d in a.datasets.split(",") if d.strip()]
    bad = [d for d in datasets if d not in DATASET_LABEL]
    if bad:
        p.error(f"unknown dataset(s) {bad}")
    fiducials = tuple(f.strip() for f in a.fiducials.split(",") if f.strip())
    if any(f not in ALL_FIDUCIALS for f in fiducials):
        p.error(f"fiducials must be from {ALL_FIDUCIALS}")
    methods = {}
    for m in (m.strip() for m in a.methods.split(",") if m.strip()):
        if m not in METHODS:
            p.error(f"unknown method {m!r}; choose from {list(METHODS)}")
        ok, why = method_available(m)
        if ok:
            methods[m] = METHODS[m]
        else:
            print(f"method {m} unavailable, skipped: {why}", flush=True)
    if not methods:
        print("no method available", file=sys.stderr)
        return 2
    opt = Options(fiducials=fiducials, tol_s=a.tol_ms / 1000, lead=a.lead, channel=a.channel,
                  margin_s=a.qtdb_margin_ms / 1000, context_s=a.qtdb_context, data_dir=a.data,
                  ludb_marks=a.ludb_marks,
                  ludb_leads=None if a.ludb_leads is None else tuple(
                      x.strip().lower() for x in a.ludb_leads.split(",") if x.strip()),
                  resample_hz=a.resample, noise_mv=a.noise,
                  noise_seed=a.noise_seed)
    recs = {d: a.records.split(",") for d in datasets} if a.records else {}
    if a.ludb_split != "all" and "ludb" in datasets:
        names = recs.get("ludb") or list_records("ludb", a.data)
        recs["ludb"] = split_records(names, a.ludb_split)
    print(f"scoring {', '.join(methods)} on {', '.join(datasets)} (jobs={a.jobs}"
          f"{', limit=%d' % a.limit if a.limit else ''})", flush=True)
    res = run(datasets, methods, limit=a.limit, records=recs, jobs=a.jobs, options=opt, progress=not a.quiet)
    res.info["ludb_split"] = a.ludb_split
    res.info["unavailable"] = {m: method_available(m)[1] for m in a.methods.split(",") if m not in methods}
    res.info["command"] = " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:]))
    n_notes = res.notes.groupby("dataset").size().to_dict() if len(res.notes) else {}
    report = [tables(res), failure_report(res), warning_report(res)]
    if n_notes:
        report.append(f"annotation notes: {n_notes} (see annotation_notes.csv with --out)")
    report.append(f"wall time {res.info['wall_seconds']:.1f} s with {a.jobs} job(s)")
    if a.markdown:  # files first, so that a closed stdout does not lose them
        a.markdown.parent.mkdir(parents=True, exist_ok=True)
        md = ["# Delineation benchmark", "", f"`{res.info['command']}`; wall time {res.info['wall_seconds']:.0f} s "
              f"with {a.jobs} job(s); versions {res.info['versions']}", "", tables(res, markdown=True),
              "```", *report[1:], "```", ""]
        a.markdown.write_text("\n".join(md))
    if a.out:
        write_outputs(res, a.out)
        report.append(f"wrote {a.out}/summary.csv, summary.json, per_record.csv, events.csv.gz, failures.csv, "
                      "timing.csv, annotation_notes.csv")
    print()
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    # Re-enter through the package so that worker processes pickle ``benchmarks.delineation.*``.
    from benchmarks.delineation import main as _main

    sys.exit(_main())
