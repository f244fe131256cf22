#!/usr/bin/env python
"""Global boundaries and P presence of the joint model: compare rules on the same fits.

Each record is fitted once with ``fit_leads(joint=True)`` exactly as
``benchmarks/delineation.py``'s ``gmesa_joint`` does (scored lead first, primary 0); the
arguments the pipeline hands :func:`gmesa.ecg.joint_table.global_table` are cached (a
pickle per record in ``--cache`` when given, a folder only this script writes; delete it
when the fit itself changes), and the global table is then rebuilt under each rule
(``joint_table.QRS_EDGES``, ``joint_table.P_PRESENCE``, ``joint_edges.QRS_SPREAD``,
``fiducials.AT_BOUND``: see
:data:`RULES`) and scored as the delineation
benchmark scores it (one-to-one matching within 150 ms, Se, PPV, mean +- SD).  LUDB is
scored against lead ii's own marks and against the global marks (earliest onset, latest
offset over the 12 leads); QTDB (report only, never tuned on) against its q1c marks.

    GMESA_DATA=/work/shared/data python benchmarks/joint_rules.py --datasets ludb \\
        --ludb-split even --jobs 2
    ... --ludb-leads ii,v1      # only these leads fitted, global marks over them

The mean error of ``spatial0`` against the global marks on LUDB odd, divided by
``joint_edges.expected_max(12)``, is how ``QRS_SPREAD`` was calibrated; that of ``pt0``
(the P and T edges without a spread), how ``WAVE_SPREAD`` was.
"""
from __future__ import annotations

import argparse
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._annotations import list_records, read_case, split_records  # noqa: E402
from gmesa.ecg.evaluate import fiducial_summary, score_fiducial  # noqa: E402

FIDS = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off")


def _subset_case(record, leads):
    """LUDB ``record`` with only ``leads`` (the first scored): the signals, the first
    lead's marks and the global marks over ``leads`` (as ``read_ludb(marks="global")``
    forms them over all 12), as (lead case, global case)."""
    import wfdb
    from benchmarks._annotations import (Case, default_data_dir, global_waves, group_waves,
                                         reference_times, unmarked_zones)
    path = str(default_data_dir() / "ludb" / record)
    rec = wfdb.rdrecord(path)
    names = [n.lower() for n in rec.sig_name]
    sig = rec.p_signal.astype(float)[:, [names.index(n) for n in leads]]
    fs = float(rec.fs)
    by_lead, first = {}, None
    for lead in leads:
        ann = wfdb.rdann(path, lead)
        by_lead[lead] = group_waves(ann.sample, ann.symbol)[0]
        first = ann if first is None else first
    out = []
    for waves in (by_lead[leads[0]], global_waves(by_lead, leads[0])):
        lo = min([first.sample.min()] + [w.first for w in waves])
        hi = max([first.sample.max()] + [w.last for w in waves])
        out.append(Case("ludb", record, leads[0], fs, sig[:, 0], reference_times(waves, fs),
                        np.array([[lo / fs, hi / fs]]), 0.0, [], unmarked_zones(waves, fs),
                        sig[:, 1:]))
    return out


def _fit_one(task):
    """Fit one record jointly; cache the global table's arguments and the marks."""
    dataset, record, cache, context, subset = task
    tag = "" if not subset else "_" + "-".join(subset)
    path = None if cache is None else Path(cache) / f"{dataset}_{record.replace('/', '_')}{tag}.pkl"
    if path is not None and path.exists():
        return str(path)
    import gmesa.ecg.joint as joint
    from gmesa.ecg import Record, fit_leads
    seen = []
    original = joint.global_table

    def spy(*args):
        seen.append(args)
        return original(*args)

    joint.global_table = spy
    try:
        if subset:
            case, glob = _subset_case(record, subset)
            refs = {"lead": case, "global": glob}
        else:
            case = read_case(dataset, record, context_s=context)
            refs = {"lead": case}
            if dataset == "ludb":
                refs["global"] = read_case(dataset, record, marks="global")
        sig = case.leads()
        leads = [f"lead{j}" for j in range(sig.shape[1])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_leads(Record(sig, case.fs, leads=leads), primary=0, joint=True)
    finally:
        joint.global_table = original
    marks = {k: (c.reference, c.intervals, c.unmarked) for k, c in refs.items()}
    data = {"blocks": seen, "marks": marks, "offset": case.offset_s}
    if path is None:
        return data
    with open(path, "wb") as fh:
        pickle.dump(data, fh)
    return str(path)


def table(blocks, **rule):
    """The global table of the cached blocks with module settings ``rule`` of joint_table."""
    from gmesa.ecg import fiducials as fi
    from gmesa.ecg import joint_edges as je
    from gmesa.ecg import joint_table as jt
    home = {k: next(m for m in (je, fi, jt) if hasattr(m, k) or m is jt) for k in rule}
    old = {k: getattr(home[k], k) for k in rule}
    try:
        for k, v in rule.items():
            setattr(home[k], k, v)
        return pd.concat([jt.global_table(*b) for b in blocks], ignore_index=True)
    finally:
        for k, v in old.items():
            setattr(home[k], k, v)


def score(caches, rules, marks):
    """Summary rows per rule and fiducial against ``marks`` ("lead" or "global")."""
    rows = []
    for name, rule in rules.items():
        acc = {f: [0, 0, 0, []] for f in FIDS}
        for c in caches:
            if marks not in c["marks"]:
                continue
            ref, intervals, unmarked = c["marks"][marks]
            t = table(c["blocks"], **rule)
            for f in FIDS:
                det = t[f"{f}_s"].to_numpy(float) + c["offset"]
                s = score_fiducial(ref[f], det, intervals, 0.150, unmarked.get(f))
                a = acc[f]
                a[0] += s.n_ref
                a[1] += len(s.ref_matched)
                a[2] += len(s.det_false)
                a[3] += list((np.asarray(s.det_matched) - np.asarray(s.ref_matched)) * 1e3)
        for f, (n_ref, tp, fp, err) in acc.items():
            if n_ref:
                rows.append(dict(rule=name, **fiducial_summary(f, n_ref, tp, fp, err)))
    return pd.DataFrame(rows)


def print_table(df, title):
    print(f"\n{title}: |mean|+SD ms (mean +- SD); P_on Se/PPV")
    print(f"{'rule':16s} " + " ".join(f"{f:>20s}" for f in FIDS) + "   P Se / PPV")
    for rule, g in df.groupby("rule", sort=False):
        g = g.set_index("fiducial")
        cells = [f"{g.loc[f, 'criterion_ms']:5.1f} ({g.loc[f, 'mean_ms']:+5.1f}+-"
                 f"{g.loc[f, 'sd_ms']:4.1f})" if f in g.index else "-" for f in FIDS]
        p = g.loc["P_on"] if "P_on" in g.index else None
        pse = f"{p.se:.3f} / {p.ppv:.3f}" if p is not None else "-"
        print(f"{rule:16s} " + " ".join(f"{c:>20s}" for c in cells) + "   " + pse)


#: rules compared: settings of gmesa.ecg.joint_table / joint_edges ("now": the defaults;
#: "before": main fb4d779's extreme QRS edges and P in any lead; "qrs_spatial": both QRS
#: edges off the spatial curve, the default before session 31)
RULES = {
    "now": {},
    "before": dict(QRS_EDGES=dict(QRS_on="extreme", QRS_off="extreme"), P_PRESENCE="any"),
    "qrs_extreme": dict(QRS_EDGES=dict(QRS_on="extreme", QRS_off="extreme")),
    "qrs_spatial": dict(QRS_EDGES=dict(QRS_on="spatial", QRS_off="spatial")),
    "qrs_median": dict(QRS_EDGES=dict(QRS_on="median", QRS_off="median")),
    "spatial0": dict(QRS_SPREAD={"QRS_on": 0.0, "QRS_off": 0.0}),
    "pt0": dict(WAVE_SPREAD={"P_on": 0.0, "P_off": 0.0, "T_on": 0.0, "T_off": 0.0}),
    "p_any": dict(P_PRESENCE="any"),
    "p_primary": dict(P_PRESENCE="primary"),
    "p_own": dict(P_PRESENCE="own"),
    "p_summed": dict(P_PRESENCE="summed"),
    "bound_kept": dict(AT_BOUND=np.inf),
}


def cpu_per_beat(caches, rules):
    """CPU ms per beat of rebuilding the global tables under each rule (after a first
    call that compiles), on one process."""
    import time
    nb = sum(len(b[1]) for c in caches for b in c["blocks"])
    table(caches[0]["blocks"])
    out = {}
    for name, rule in rules.items():
        t0 = time.process_time()
        for c in caches:
            table(c["blocks"], **rule)
        out[name] = (time.process_time() - t0) / nb * 1e3
    return out, nb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="ludb,qtdb")
    ap.add_argument("--ludb-split", choices=("odd", "even", "all"), default="odd")
    ap.add_argument("--cache", default=None,
                    help="a folder of this script's own fits to reuse between runs (pickles: "
                         "give a folder no one else writes); default: none, fit every run")
    ap.add_argument("--qtdb-context", type=float, default=10.0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--ludb-leads", default=None,
                    help="LUDB: fit only these leads (comma list, the first scored; global "
                         "marks over them), e.g. ii,v1")
    ap.add_argument("--time", action="store_true",
                    help="also print the CPU time per beat of the global table per rule")
    args = ap.parse_args(argv)
    if args.cache is not None:
        Path(args.cache).mkdir(parents=True, exist_ok=True)
    rules = {r: RULES[r] for r in args.rules.split(",")}
    for ds in args.datasets.split(","):
        recs = list_records(ds)
        if ds == "ludb":
            recs = split_records(recs, args.ludb_split)
        recs = recs[:args.limit] if args.limit else recs
        subset = args.ludb_leads.split(",") if args.ludb_leads and ds == "ludb" else None
        tasks = [(ds, r, args.cache, args.qtdb_context if ds == "qtdb" else None, subset)
                 for r in recs]
        if args.jobs > 1:
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(args.jobs) as pool:
                paths = list(pool.map(_fit_one, tasks))
        else:
            paths = [_fit_one(t) for t in tasks]
        caches = []
        for p in paths:
            if isinstance(p, dict):
                caches.append(p)
                continue
            with open(p, "rb") as fh:
                caches.append(pickle.load(fh))
        if args.time:
            cpu, nb = cpu_per_beat(caches, rules)
            print(f"\n{ds}: global table CPU ms per beat ({nb} beats): "
                  + ", ".join(f"{k} {v:.3f}" for k, v in cpu.items()))
        for marks in (("lead", "global") if ds == "ludb" else ("lead",)):
            label = f"{ds} {args.ludb_split if ds == 'ludb' else ''} {marks} marks"
            label += f" (leads {args.ludb_leads})" if subset else ""
            print_table(score(caches, rules, marks), f"{label}, {len(caches)} records")


if __name__ == "__main__":
    main()
