"""Reading LUDB/QTDB marks (benchmarks/_annotations.py) and the delineation benchmark's plumbing
(benchmarks/delineation.py). The scoring itself is tested in test_evaluate.py."""
from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from benchmarks._annotations import group_waves
from gmesa.ecg.evaluate import beat_intervals, consecutive_beats, reference_times, unmarked_zones


# -------------------------------------------------------------------------------- grouping
def test_group_waves_by_adjacency():
    sym = ["(", "p", ")", "(", "N", ")", "t", ")", "(", "u", ")"]
    smp = [10, 20, 30, 40, 50, 60, 90, 110, 130, 140, 150]
    waves, notes = group_waves(smp, sym)
    assert [(w.kind, w.onset, w.peak, w.offset) for w in waves] == [
        ("P", 10, 20, 30), ("QRS", 40, 50, 60), ("T", None, 90, 110), ("U", 130, 140, 150)]
    assert notes == ["T: 1 of 1 without onset mark, 0 without offset mark"]
    ref = reference_times(waves, fs=10.0)
    npt.assert_allclose(ref["T_off"], [11.0])
    assert len(ref["T_on"]) == 0
    zones = unmarked_zones(waves, fs=10.0)
    npt.assert_allclose(zones["T_on"], [[6.0, 9.0]])  # from the QRS offset mark to the T peak


def test_group_waves_repairs_peak_before_its_onset_and_reports_orphans():
    waves, notes = group_waves([100, 101, 150, 200, 210], ["N", "(", ")", "(", "t"])
    assert (waves[0].onset, waves[0].peak, waves[0].offset) == (101, 100, 150)
    assert waves[1].onset == 200
    waves, notes = group_waves([1, 2, 3], ["(", ")", "N"])
    assert any("orphan '('" in n for n in notes) and any("orphan ')'" in n for n in notes)


def test_beat_intervals_join_consecutive_beats_only():
    # annotated beats at 1, 2, 3 and 5 s (the beat at 4 s is not annotated), fs = 100 Hz
    sym, smp = [], []
    for q in (100, 200, 300, 500):
        sym += ["(", "p", ")", "(", "N", ")", "t", ")"]
        smp += [q - 25, q - 20, q - 15, q - 5, q, q + 5, q + 30, q + 40]
    waves, _ = group_waves(smp, sym)
    qrs = [100, 200, 300, 500]
    assert list(consecutive_beats(qrs)) == [True, True, False]  # gap <= 1.5 x median gap
    every_beat = [97, 204, 296, 410, 505]  # .atr-like marks, a few samples off, plus the beat at 4 s
    assert list(consecutive_beats(qrs, all_beats=every_beat)) == [True, True, False]
    # every other beat annotated: the median rule cannot tell, the full beat list can
    assert list(consecutive_beats([100, 300, 500], all_beats=range(100, 501, 100))) == [False, False]
    iv = beat_intervals(waves, fs=100.0, margin_s=0.05, all_beats=every_beat)
    npt.assert_allclose(iv, [[0.70, 3.45], [4.70, 5.45]])


# -------------------------------------------------------------------------------- real data
def test_ludb_record_1_lead_ii_grouping(ludb):
    import wfdb

    ann = wfdb.rdann(str(ludb / "data" / "1"), "ii")
    waves, notes = group_waves(ann.sample, ann.symbol)
    assert notes == []
    assert len(ann.sample) == 48
    assert {k: sum(w.kind == k for w in waves) for k in ("QRS", "T", "P")} == {"QRS": 6, "T": 5, "P": 5}
    got = [(w.onset, w.peak, w.offset, w.symbol) for w in waves[:6]]
    assert got == [(644, 662, 682, "N"), (776, 843, 878, "t"), (1250, 1278, 1302, "p"),
                   (1324, 1342, 1374, "N"), (1458, 1524, 1572, "t"), (1911, 1935, 1955, "p")]


def test_qtdb_sel100_reference_and_intervals(qtdb):
    from benchmarks._annotations import read_qtdb

    case = read_qtdb("sel100", qtdb.parent, context_s=5.0)
    assert case.fs == 250.0
    assert len(case.reference["QRS_on"]) == 30 and len(case.reference["T_on"]) == 0
    assert case.reference["QRS_on"][0] == pytest.approx(150316 / 250)
    assert case.intervals[0, 0] == pytest.approx(150272 / 250 - 0.05)
    assert case.offset_s == pytest.approx(np.floor((150272 / 250 - 5.0) * 250) / 250)


def test_neurokit_lists_are_aligned_to_beats():
    from benchmarks.delineation import _align_to_beats, detections_from_frame

    npt.assert_array_equal(_align_to_beats([5, 7], 3), [np.nan, 5, 7])
    det, missing = detections_from_frame(pd.DataFrame({"P_on_s": [np.nan, 1.0, 0.5]}), offset_s=10.0)
    npt.assert_allclose(det["P_on"], [10.5, 11.0])
    assert "T_off" in missing and len(det["T_off"]) == 0


def _raising_method(signal, fs):
    raise RuntimeError("boom")


def test_score_dataset_reports_failures_as_no_detections(ludb):
    from benchmarks.delineation import score_dataset

    res = score_dataset("ludb", _raising_method, limit=2, data_dir=str(ludb.parent))
    assert list(res.failures.reason) == ["RuntimeError: boom"] * 2
    assert (res.summary.se == 0).all() and not res.summary.provided.any()
    assert (res.summary.n_ref > 0).all()


# -------------------------------------------------------------------------------- global marks
def test_global_waves_take_earliest_onset_latest_offset_and_the_scored_peak():
    from benchmarks._annotations import global_waves

    ii, _ = group_waves([10, 20, 30, 40, 50, 60, 90, 110], ["(", "p", ")", "(", "N", ")", "t", ")"])
    v1, _ = group_waves([8, 21, 29, 38, 52, 63, 70, 95, 120],
                        ["(", "p", ")", "(", "N", ")", "(", "t", ")"])
    v2, _ = group_waves([42, 49, 58, 200, 210, 220], ["(", "N", ")", "(", "p", ")"])  # P elsewhere
    g = global_waves({"ii": ii, "v1": v1, "v2": v2}, "ii")
    assert [(w.kind, w.onset, w.peak, w.offset) for w in g] == [
        ("P", 8, 20, 30), ("QRS", 38, 50, 63), ("T", 70, 90, 120)]
    # the T onset the scored lead left unmarked comes from v1, so no unmarked zone remains
    assert len(unmarked_zones(g, fs=10.0)["T_on"]) == 0
    assert len(unmarked_zones(ii, fs=10.0)["T_on"]) == 1
    # a lead with no overlapping wave changes nothing; the scored lead must be annotated
    assert [(w.onset, w.offset) for w in global_waves({"ii": ii, "v2": v2[1:]}, "ii")] == [
        (10, 30), (40, 60), (None, 110)]
    with pytest.raises(ValueError, match="scored lead 'i' not among"):
        global_waves({"ii": ii}, "i")


def test_ludb_global_marks_are_wider_than_the_lead_marks(ludb):
    from benchmarks._annotations import read_ludb

    lead = read_ludb("1", ludb.parent, marks="lead")
    glob = read_ludb("1", ludb.parent, marks="global")
    for f in ("P_on", "QRS_on", "T_on"):
        assert len(glob.reference[f]) >= len(lead.reference[f])
    n = len(lead.reference["QRS_on"])
    assert np.all(glob.reference["QRS_on"][:n] <= lead.reference["QRS_on"] + 1e-9)
    assert np.all(glob.reference["QRS_off"] >= lead.reference["QRS_off"] - 1e-9)
    np.testing.assert_allclose(glob.reference["QRS_peak"], lead.reference["QRS_peak"])
    assert glob.reference["QRS_on"].min() < lead.reference["QRS_on"].min() or \
        glob.reference["QRS_off"].max() > lead.reference["QRS_off"].max()
    with pytest.raises(ValueError, match="marks must be one of"):
        read_ludb("1", ludb.parent, marks="all")


def test_ludb_with_some_leads_hands_over_those_and_spans_their_marks(ludb):
    from benchmarks._annotations import read_ludb

    lead = read_ludb("1", ludb.parent, marks="lead")
    two = read_ludb("1", ludb.parent, marks="global", with_leads=("V5",))
    every = read_ludb("1", ludb.parent, marks="global")
    assert two.leads().shape[1] == 2 and every.leads().shape[1] == 12
    assert lead.leads().shape[1] == 12 and read_ludb("1", ludb.parent, with_leads=()).others is None
    for f in ("QRS_on", "P_on", "T_on"):   # two leads' earliest onset: between one lead's and 12's
        n = min(len(two.reference[f]), len(every.reference[f]), len(lead.reference[f]))
        assert np.all(every.reference[f][:n] <= two.reference[f][:n] + 1e-9)
    n = len(lead.reference["QRS_off"])
    assert np.all(two.reference["QRS_off"][:n] >= lead.reference["QRS_off"] - 1e-9)
    assert np.all(two.reference["QRS_off"][:n] <= every.reference["QRS_off"][:n] + 1e-9)
    with pytest.raises(ValueError, match=r"leads \['v7'\] not in LUDB record"):
        read_ludb("1", ludb.parent, with_leads=("v7",))


def test_gmesa_joint_is_available_exactly_when_fit_leads_has_joint():
    import inspect

    from benchmarks.delineation import METHODS, method_available
    from gmesa.ecg import fit_leads

    has = "joint" in inspect.signature(fit_leads).parameters
    ok, why = method_available("gmesa_joint")
    assert ok == has and (has or "joint" in why)
    assert getattr(METHODS["gmesa_joint"], "multilead", False)
    if not has:
        with pytest.raises(RuntimeError, match="no joint= option"):
            METHODS["gmesa_joint"](np.zeros((5000, 2)), 500.0)


def test_per_record_badness_ranks_a_whole_record_mistake_first():
    """benchmarks/per_record.py: a record whose P is 130 ms off on every beat, or whose T
    is missed on every beat, ranks above one with small errors; false P counted."""
    import pandas as pd

    from benchmarks.per_record import MISS_MS, record_table

    rows = []
    for rec, p_err, t_out in (("good", 2.0, "TP"), ("p_wrong", 130.0, "TP"), ("t_missed", 2.0, "FN")):
        for k in range(5):
            rows.append(("ludb", "gmesa", rec, "P_on", "TP", k, k + p_err / 1e3, p_err))
            rows.append(("ludb", "gmesa", rec, "T_off", t_out, k, k if t_out == "TP" else None,
                         3.0 if t_out == "TP" else None))
    rows.append(("ludb", "gmesa", "good", "P_on", "FP", None, 9.0, None))
    ev = pd.DataFrame(rows, columns=["dataset", "method", "record", "fiducial", "outcome",
                                     "ref_s", "det_s", "error_ms"])
    t = record_table(ev).set_index("record")
    assert t.loc["good", "badness_ms"] == 3.0 and t.loc["good", "P_fp"] == 1
    assert t.loc["p_wrong", "badness_ms"] == 130.0
    assert t.loc["t_missed", "badness_ms"] == MISS_MS and t.loc["t_missed", "T_se"] == 0.0


def test_per_record_choice_label_says_when_a_u_wave_was_added_after_the_choice():
    """The per-record table and figure titles name the model the record was fitted with:
    the scored hypothesis, "U added" where the U wave came after the choice."""
    from benchmarks.per_record import choice_label

    scored = "P free, T upright, no U"
    assert choice_label({"chosen": scored, "hypothesis": {"U": False}}) == scored
    assert choice_label({"chosen": scored, "hypothesis": {"U": True}}) == (
        "P free, T upright, U added")
    assert choice_label({}) == ""


def test_compare_runs_pairs_two_designs_by_record():
    """benchmarks/compare_runs.py: a design whose errors are smaller on every record is
    lower in every draw; the table names both runs, the difference and its interval."""
    from benchmarks.compare_runs import compare

    rng = np.random.default_rng(2)
    rows = []
    for rec in range(12):
        bias = rng.normal(0, 4)
        for _ in range(8):
            e = bias + rng.normal(0, 6)
            rows.append(dict(dataset="ludb", record=f"r{rec}", fiducial="QRS_on", error_ms=e))
    a = pd.DataFrame(rows)
    b = a.assign(error_ms=0.5 * a["error_ms"])
    t = compare({"A": a, "B": b}, n_boot=400)
    row = t.iloc[0]
    assert row["boundary"] == "QRS_on" and row["B - A"] < 0 and row["B lower"] == 1.0
    lo, hi = row["B - A 95%"]
    assert lo <= row["B - A"] <= hi < 0
    assert set(compare({"A": a}, n_boot=50).columns) == {"dataset", "boundary", "A", "A 95%"}


# -------------------------------------------------------------------------------- acquisition
def _case(record="a", n=5000, fs=500.0, leads=3):
    from benchmarks._annotations import Case

    t = np.arange(n) / fs
    sig = np.column_stack([np.sin(2 * np.pi * (1 + k) * t) for k in range(leads)])
    ref = {"QRS_on": np.array([1.0, 2.0])}
    return Case("ludb", record, "ii", fs, sig[:, 0], ref, np.array([[0.5, 9.5]]), 0.0,
                others=sig[:, 1:])


def test_acquired_resamples_every_lead_and_keeps_the_marks_in_seconds():
    from benchmarks._annotations import acquired

    case = _case()
    assert acquired(case) is case  # nothing asked, nothing changed
    low = acquired(case, resample_hz=128)
    assert low.fs == 128.0 and low.signal.size == 1280 and low.others.shape == (1280, 2)
    t = np.arange(1280) / 128.0
    inner = slice(50, -50)  # away from the filter's edges, each lead is its own sine
    for k, y in enumerate(low.leads().T):
        npt.assert_allclose(y[inner], np.sin(2 * np.pi * (1 + k) * t)[inner], atol=0.02)
    npt.assert_array_equal(low.reference["QRS_on"], case.reference["QRS_on"])
    npt.assert_array_equal(low.intervals, case.intervals)
    assert case.fs == 500.0 and case.signal.size == 5000  # the original is untouched
    with pytest.raises(ValueError, match="sampling rate > 0"):
        acquired(case, resample_hz=0)


def test_acquired_noise_is_the_same_for_a_record_and_differs_between_records():
    from benchmarks._annotations import acquired

    a1 = acquired(_case("a"), noise_mv=0.05, seed=3)
    a2 = acquired(_case("a"), noise_mv=0.05, seed=3)
    b = acquired(_case("b"), noise_mv=0.05, seed=3)
    a_other_seed = acquired(_case("a"), noise_mv=0.05, seed=4)
    npt.assert_array_equal(a1.leads(), a2.leads())
    added = a1.leads() - _case("a").leads()
    assert abs(np.std(added) - 0.05) < 0.003 and abs(np.mean(added)) < 0.003
    assert not np.allclose(added, b.leads() - _case("b").leads())
    assert not np.allclose(added, a_other_seed.leads() - _case("a").leads())
    with pytest.raises(ValueError, match="noise SD > 0"):
        acquired(_case(), noise_mv=-1.0)


def test_benchmark_run_records_the_acquisition(ludb):
    from benchmarks.delineation import METHODS, Options, run

    opt = Options(data_dir=str(ludb.parent), resample_hz=250.0, noise_mv=0.01)
    res = run(("ludb",), {"gmesa": METHODS["gmesa"]}, records={"ludb": ["data/1"]}, options=opt,
              progress=False)
    assert res.info["resample_hz"] == 250.0 and res.info["noise_mv"] == 0.01
    s = res.summary.set_index("fiducial")
    assert s.loc["QRS_on", "n_ref"] > 0 and s.loc["QRS_on", "tp"] == s.loc["QRS_on", "n_ref"]


def test_qtc_prior_pairs_each_t_end_with_the_qrs_before_it():
    from benchmarks.qtc_prior import record_qtc

    q = np.arange(5) * 0.81            # RR 0.81 s
    ref = {"QRS_on": q, "T_off": q[:-1] + 0.36}
    assert record_qtc(ref) == pytest.approx(0.36 / 0.9)
    # a T end with no QRS before it, or one a beat too far, is not a QT
    ref = {"QRS_on": q, "T_off": np.r_[-0.1, q[:-1] + 0.36, q[-1] + 0.75]}
    assert record_qtc(ref) == pytest.approx(0.4)
    assert np.isnan(record_qtc({"QRS_on": q[:2], "T_off": q[:1] + 0.3}))


def _interval_events(records, rng):
    """Events of records whose beats have known PR, QRS and QT (ms): per record
    ``(name, pr, qrs, qt, det_shift_ms)`` with the detections' QT longer by the shift, one
    unmatched T (FN) and one false P (FP) that must not count."""
    import pandas as pd

    rows = []
    for name, pr, qrs, qt, shift in records:
        for k in range(6):
            on = 1.0 + 0.8 * k
            marks = {"P_on": on - pr / 1e3, "QRS_on": on, "QRS_off": on + qrs / 1e3,
                     "T_off": on + qt / 1e3}
            for f, ref in marks.items():
                det = ref + (shift / 1e3 if f == "T_off" else 0.0) + rng.normal(0, 1e-4)
                out = "FN" if (f == "T_off" and k == 5) else "TP"
                rows.append(("qtdb", "m", name, f, out, ref, det if out == "TP" else None,
                             1e3 * (det - ref) if out == "TP" else None))
        rows.append(("qtdb", "m", name, "P_on", "FP", None, 0.5, None))
    return pd.DataFrame(rows, columns=["dataset", "method", "record", "fiducial", "outcome",
                                       "ref_s", "det_s", "error_ms"])


def test_interval_agreement_pairs_marks_into_beats_and_finds_a_proportional_bias():
    """benchmarks/intervals.py: each beat's PR, QRS and QT come from the marks around its
    QRS onset (an unmatched mark drops the interval, a false P adds none); a method whose
    QT error grows with the QT shows a proportional bias, one with a constant error none."""
    from benchmarks.intervals import agreement, beat_intervals, record_intervals

    rng = np.random.default_rng(5)
    qts = (340.0, 380.0, 420.0, 460.0, 500.0, 540.0)
    growing = [(f"r{i}", 150.0, 90.0, qt, -0.5 * (qt - 340.0)) for i, qt in enumerate(qts)]
    beats = beat_intervals(_interval_events(growing, rng))
    assert len(beats) == 36 and beats["QT_ref"].isna().sum() == 6
    per = record_intervals(beats)
    qt = per[per["interval"] == "QT"].set_index("record")
    assert qt.loc["r0", "beats"] == 5 and qt.loc["r5", "ref_ms"] == pytest.approx(540.0)
    assert qt.loc["r5", "det_ms"] == pytest.approx(440.0, abs=0.5)
    table = agreement(per).set_index("interval")
    assert table.loc["PR", "bias_ms"] == pytest.approx(0.0, abs=0.3)
    assert table.loc["PR", "records"] == 6
    # det - ref = -0.5 (ref - 340): on the mean m = ref - 0.25 (ref - 340), slope -2/3
    assert table.loc["QT", "slope"] == pytest.approx(-2.0 / 3.0, abs=0.02)
    assert table.loc["QT", "slope_high"] < 0 and table.loc["QT", "within_tol"] == pytest.approx(4 / 6)
    steady = [(f"r{i}", 150.0, 90.0, qt, -20.0) for i, qt in enumerate(qts)]
    flat = agreement(record_intervals(beat_intervals(_interval_events(steady, rng))))
    flat = flat.set_index("interval")
    assert flat.loc["QT", "bias_ms"] == pytest.approx(-20.0, abs=0.3)
    assert flat.loc["QT", "slope_low"] < 0.0 < flat.loc["QT", "slope_high"] or abs(
        flat.loc["QT", "slope"]) < 0.01


def test_ablation_takes_rules_out_in_its_process_and_children():
    """``delineation.py --ablate`` (benchmarks/_ablation.py): a named rule is replaced in
    the process that asks and, through the environment, in its workers; an unknown name
    is refused by name.  Run in a fresh interpreter: the patches would stay."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from benchmarks import _ablation
    with pytest.raises(ValueError, match="no_such_rule"):
        _ablation.check(["p_floor", "no_such_rule"])
    code = ("import os; from benchmarks import _ablation; _ablation.from_env(); "
            "import gmesa.ecg.presence as P, gmesa.ecg.fit as F; "
            "from gmesa.ecg import FitOptions; o = FitOptions(); "
            "assert P.P_MIN_OF_R == 0.0 and o.u_wave is False and o.model_choice == (); "
            "assert F.second_starts(None) is None; "
            "assert FitOptions(model_choice=('T',)).model_choice == (); print('ok')")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, GMESA_ABLATE="p_floor,u_wave,t_choice,second_starts",
               PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, text=True,
                         capture_output=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
    plain = subprocess.run([sys.executable, "-c", "import gmesa.ecg.presence as P; "
                            "print(P.P_MIN_OF_R)"], env=dict(os.environ, PYTHONPATH=str(root)),
                           cwd=root, text=True, capture_output=True)
    assert float(plain.stdout) > 0.0                      # untouched without it


def test_code_lines_count_code_only_and_each_line_once(tmp_path, monkeypatch):
    """``benchmarks/_codelines.py``: docstrings, comments and blank lines are not code; a
    statement over several lines counts them all; parts that overlap count a line once;
    an unknown module or function is refused by name."""
    from benchmarks import _codelines
    (tmp_path / "toy.py").write_text(
        '"""Module docstring,\nover two lines."""\n'
        "import math  # a comment\n"
        "\n"
        "# a comment line\n"
        "X = (1,\n"
        "     2)\n"
        "\n"
        "def f(a):\n"
        '    """Docstring."""\n'
        "    return math.sqrt(a)\n"
        "\n"
        "class C:\n"
        "    y = 1\n")
    monkeypatch.setattr(_codelines, "ECG", tmp_path)
    _codelines._module.cache_clear()
    try:
        assert _codelines.code_lines("toy") == 7     # import, X (2 lines), def, return, class, y
        assert _codelines.code_lines("toy:f") == 2
        assert _codelines.code_lines("toy:f", "toy:C") == 4
        assert _codelines.code_lines("toy", "toy:f") == 7
        with pytest.raises(ValueError, match="'g'"):
            _codelines.code_lines("toy:g")
        with pytest.raises(ValueError, match="nope"):
            _codelines.code_lines("nope")
    finally:
        _codelines._module.cache_clear()


def test_every_ablation_rule_names_code_that_exists():
    """Each rule of ``rule_ablation.py`` names the code that is there for it alone, and
    that code is found in gmesa.ecg; the deciding modules' total is the sum of theirs."""
    from benchmarks import _ablation, _codelines
    assert set(_ablation.CODE) == set(_ablation.RULES)
    for rule in _ablation.RULES:
        own, inside = _ablation.code_of(rule)
        assert 0 <= inside <= own
        assert own > 0 or rule == "p_floor"
    assert _ablation.code_of("identity") == (_codelines.code_lines("identity"),) * 2
    both = _ablation.code_of("identity", "p_lock")
    assert both == tuple(a + b for a, b in zip(_ablation.code_of("identity"),
                                               _ablation.code_of("p_lock")))
    assert _ablation.code_of("p_lock", "p_lock") == _ablation.code_of("p_lock")
    assert _codelines.deciding_lines() == sum(_codelines.code_lines(m)
                                              for m in _codelines.DECIDING)


def test_knife_edge_reads_each_set_and_gives_its_band_over_the_seeds():
    from benchmarks.knife_edge import band, figures
    rows = [dict(fiducial=f, mean_ms=m, sd_ms=s, se=se, ppv=ppv)
            for f, m, s, se, ppv in (("P_on", -2.0, 10.0, 0.98, 0.97),
                                     ("P_off", 3.0, 9.0, 0.98, 0.97),
                                     ("QRS_on", 0.5, 8.0, 1.0, 1.0),
                                     ("QRS_off", -1.0, 12.0, 1.0, 1.0),
                                     ("T_off", 4.0, 20.0, 0.95, 0.99))]
    got = figures(pd.DataFrame(rows))
    assert got["P_on"] == 12.0 and got["P_off"] == 12.0 and got["QRS_off"] == 13.0
    assert got["P Se"] == 0.98 and got["T PPV"] == 0.99
    # the band is the range over the seeds' runs, which need not hold the run without noise
    assert band(14.4, [14.3, 11.6, 14.4]) == "14.4 [11.6-14.4]"
    assert band(0.9695, [0.943, 0.959, 0.951]) == "0.970 [0.943-0.959]"


def test_per_record_edge_is_the_largest_move_under_noise():
    from benchmarks.per_record import edges
    base = pd.DataFrame({"dataset": ["ludb", "ludb"], "record": ["data/1", "data/2"],
                         "P_on_mean_ms": [1.0, 60.0], "P_off_mean_ms": [0.0, 50.0],
                         "QRS_on_mean_ms": [0.0, 0.0], "QRS_off_mean_ms": [0.0, 0.0],
                         "T_off_mean_ms": [5.0, np.nan], "P_se": [1.0, 0.9],
                         "T_se": [1.0, np.nan]})
    a = base.copy()
    a.loc[1, "P_on_mean_ms"] = 4.0           # record 2's P moves 56 ms under one seed
    b = base.copy()
    b.loc[0, "T_se"] = 0.9                   # record 1 loses a tenth of its T waves
    got = edges(base, [a, b])
    npt.assert_allclose(got.to_numpy(), [15.0, 56.0])
    assert edges(base, [base]).to_numpy().tolist() == [0.0, 0.0]
