"""Matching, counting and annotation grouping used by benchmarks/delineation.py."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks._annotations import (  # noqa: E402
    beat_intervals, consecutive_beats, error_stats, group_waves, in_intervals, match, merge_intervals,
    reference_times, score_fiducial, summarize, unmarked_zones,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def ludb_data() -> Path:
    """``../shared/data`` with LUDB in it (skips with the path when absent)."""
    if not (SHARED / "ludb" / "data" / "1.ii").exists():
        pytest.skip(f"LUDB not found under {SHARED / 'ludb'}")
    return SHARED


@pytest.fixture
def qtdb_data() -> Path:
    """``../shared/data`` with QTDB in it (skips with the path when absent)."""
    if not (SHARED / "qtdb" / "sel100.q1c").exists():
        pytest.skip(f"QTDB not found under {SHARED / 'qtdb'}")
    return SHARED


# -------------------------------------------------------------------------------- matching
def test_match_nearest_one_to_one_within_tolerance():
    ref = np.array([1.00, 2.00, 3.00, 4.00])
    det = np.array([1.02, 1.05, 2.30, 2.97, 3.01])  # two near 1.0, none near 2.0 or 4.0, two near 3.0
    ri, di = match(ref, det, tol=0.15)
    npt.assert_array_equal(ri, [0, 2])
    npt.assert_array_equal(di, [0, 4])  # the nearest one: 1.02 beats 1.05, 3.01 beats 2.97


def test_match_is_one_to_one_and_prefers_the_closest_pair():
    # detection 1.10 is closest to ref 1.12, so ref 1.00 must take 0.90 even though 1.10 is nearer it
    ri, di = match([1.00, 1.12], [0.90, 1.10], tol=0.15)
    npt.assert_array_equal(ri, [0, 1])
    npt.assert_array_equal(di, [0, 1])
    ri, di = match([1.0, 1.01], [1.005], tol=0.15)  # one detection, two references
    assert len(ri) == 1


def test_match_tolerance_is_inclusive_and_ignores_nan():
    ri, _ = match([1.0], [1.15], tol=0.15)
    assert len(ri) == 1
    ri, _ = match([1.0], [1.1501], tol=0.15)
    assert len(ri) == 0
    ri, di = match([1.0, np.nan], [np.nan, 1.01], tol=0.15)
    npt.assert_array_equal(ri, [0])
    npt.assert_array_equal(di, [1])


# -------------------------------------------------------------------------------- counting
def test_sensitivity_ppv_and_error_sign():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    det = np.array([1.010, 2.000, 2.980, 3.50, 9.0])  # 3 matches; 3.50 unmatched inside; 9.0 outside
    s = score_fiducial(ref, det, intervals=[[0.5, 4.5]], tol=0.15)
    npt.assert_allclose(s.errors_ms, [10.0, 0.0, -20.0])  # detected - reference
    npt.assert_allclose(s.ref_missed, [4.0])
    npt.assert_allclose(s.det_false, [3.5])  # 9.0 is outside the annotated span: not counted
    assert s.n_det_in_span == 4
    row = summarize("QRS_on", s.n_ref, len(s.ref_matched), len(s.det_false), s.errors_ms)
    assert row["se"] == pytest.approx(3 / 4)
    assert row["ppv"] == pytest.approx(3 / 4)
    assert row["mean_ms"] == pytest.approx(-10 / 3)
    assert row["sd_ms"] == pytest.approx(np.std([10.0, 0.0, -20.0], ddof=1))
    assert row["criterion_ms"] == pytest.approx(abs(row["mean_ms"]) + row["sd_ms"])
    assert row["cse_tol_ms"] == 6.5 and row["cse_ok"] is False


def test_matched_detection_outside_span_counts_and_ppv_stays_below_one():
    s = score_fiducial([1.0], [0.95], intervals=[[1.0, 2.0]], tol=0.15)
    assert len(s.ref_matched) == 1 and len(s.det_false) == 0
    row = summarize("P_on", 1, 1, 0, s.errors_ms)
    assert row["se"] == 1.0 and row["ppv"] == 1.0


def test_excluded_zone_hides_false_positives_only():
    # a detection where the annotator left the boundary unmarked is neither TP nor FP
    s = score_fiducial([], [1.3], intervals=[[0, 5]], tol=0.15, exclude=[[1.2, 1.4]])
    assert len(s.det_false) == 0 and s.n_det_in_span == 0
    s = score_fiducial([], [1.3], intervals=[[0, 5]], tol=0.15)
    assert len(s.det_false) == 1


def test_error_stats_robust_sd():
    e = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 100.0])
    st = error_stats(e)
    assert st["median"] == pytest.approx(0.5)
    assert st["rsd"] == pytest.approx(1.4826 * np.median(np.abs(e - 0.5)))
    assert error_stats([])["n"] == 0


def test_intervals_helpers():
    npt.assert_allclose(merge_intervals([[3, 4], [0, 1], [0.5, 2]]), [[0, 2], [3, 4]])
    npt.assert_array_equal(in_intervals([0, 1, 2.5, 4], [[0, 1], [3, 4]]), [True, True, False, True])


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
def test_ludb_record_1_lead_ii_grouping(ludb_data):
    import wfdb

    ann = wfdb.rdann(str(ludb_data / "ludb" / "data" / "1"), "ii")
    waves, notes = group_waves(ann.sample, ann.symbol)
    assert notes == []
    assert len(ann.sample) == 48
    assert {k: sum(w.kind == k for w in waves) for k in ("QRS", "T", "P")} == {"QRS": 6, "T": 5, "P": 5}
    got = [(w.onset, w.peak, w.offset, w.symbol) for w in waves[:6]]
    assert got == [(644, 662, 682, "N"), (776, 843, 878, "t"), (1250, 1278, 1302, "p"),
                   (1324, 1342, 1374, "N"), (1458, 1524, 1572, "t"), (1911, 1935, 1955, "p")]


def test_qtdb_sel100_reference_and_intervals(qtdb_data):
    from benchmarks._annotations import read_qtdb

    case = read_qtdb("sel100", qtdb_data, context_s=5.0)
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


def test_score_dataset_reports_failures_as_no_detections(ludb_data):
    from benchmarks.delineation import score_dataset

    res = score_dataset("ludb", _raising_method, limit=2, data_dir=str(ludb_data))
    assert list(res.failures.reason) == ["RuntimeError: boom"] * 2
    assert (res.summary.se == 0).all() and not res.summary.provided.any()
    assert (res.summary.n_ref > 0).all()
