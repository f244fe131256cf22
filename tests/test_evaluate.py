"""gmesa.ecg.evaluate: matching, counting, statistics, scored intervals and R-peak scoring,
on hand-made cases whose answer is known."""
from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from gmesa import ecg
from gmesa.ecg.evaluate import (
    ALL_FIDUCIALS, CSE_TOLERANCE_MS, FIDUCIALS, MATCH_TOLERANCE_S, Wave, beat_extents,
    beat_intervals, consecutive_beats, error_stats, in_intervals, match, merge_intervals,
    per_record_sd, reference_times, score_fiducial, score_rpeaks, fiducial_summary, unmarked_zones,
)


def test_public_api_is_exported_from_gmesa_ecg():
    for name in ("match", "score_fiducial", "FiducialScore", "error_stats", "fiducial_summary",
                 "score_rpeaks", "rpeaks_from_annotations", "CSE_TOLERANCE_MS"):
        assert getattr(ecg, name) is getattr(ecg.evaluate, name), name
        assert name in ecg.__all__
    assert set(ecg.evaluate.__all__) <= set(dir(ecg.evaluate))


def test_cse_tolerances_and_defaults():
    assert CSE_TOLERANCE_MS == {"P_on": 10.2, "P_off": 12.7, "QRS_on": 6.5, "QRS_off": 11.6,
                                "T_off": 30.6}
    assert MATCH_TOLERANCE_S == 0.150
    assert set(FIDUCIALS) == set(ALL_FIDUCIALS) - {"QRS_peak"}


# -------------------------------------------------------------------------------- matching
def test_one_missed_mark_and_one_false_detection():
    # references at 1, 2, 3 s; detections near 1 and 3 s and one at 2.5 s (0.5 s from 2 and 3)
    ri, di = match([1.0, 2.0, 3.0], [1.01, 2.5, 2.98], tol=0.15)
    npt.assert_array_equal(ri, [0, 2])
    npt.assert_array_equal(di, [0, 2])
    s = score_fiducial([1.0, 2.0, 3.0], [1.01, 2.5, 2.98], intervals=[[0.0, 4.0]], tol=0.15)
    npt.assert_allclose(s.ref_missed, [2.0])
    npt.assert_allclose(s.det_false, [2.5])
    npt.assert_allclose(s.errors_ms, [10.0, -20.0], atol=1e-9)
    row = fiducial_summary("QRS_on", s.n_ref, len(s.ref_matched), len(s.det_false), s.errors_ms)
    assert (row["n_ref"], row["tp"], row["fn"], row["fp"]) == (3, 2, 1, 1)
    assert row["se"] == pytest.approx(2 / 3) and row["ppv"] == pytest.approx(2 / 3)


def test_nearest_detection_wins_and_the_pairing_is_one_to_one():
    ri, di = match([1.0, 2.0, 3.0, 4.0], [1.02, 1.05, 2.30, 2.97, 3.01], tol=0.15)
    npt.assert_array_equal(ri, [0, 2])
    npt.assert_array_equal(di, [0, 4])  # 1.02 beats 1.05; 3.01 beats 2.97
    # 1.10 is nearest to 1.12, so 1.00 must take 0.90 although 1.10 is nearer to it
    ri, di = match([1.00, 1.12], [0.90, 1.10], tol=0.15)
    npt.assert_array_equal(ri, [0, 1])
    npt.assert_array_equal(di, [0, 1])
    ri, di = match([1.0, 1.01], [1.005], tol=0.15)  # one detection for two references
    assert len(ri) == 1 and len(di) == 1


def test_ties_go_to_the_earlier_reference_then_the_earlier_detection():
    # exact binary fractions: the distances are exactly equal
    ri, di = match([1.0, 1.5], [1.25], tol=0.5)
    npt.assert_array_equal(ri, [0])
    npt.assert_array_equal(di, [0])
    ri, di = match([1.0], [1.25, 0.75], tol=0.5)  # detection 0 is later in time, earlier in order
    npt.assert_array_equal(di, [0])
    ri, di = match([1.0], [0.75, 1.25], tol=0.5)
    npt.assert_array_equal(di, [0])


def test_tolerance_edge_is_inclusive():
    assert len(match([1.0], [1.125], tol=0.125)[0]) == 1  # exactly at +tol
    assert len(match([1.0], [0.875], tol=0.125)[0]) == 1  # exactly at -tol
    assert len(match([1.0], [np.nextafter(1.125, 2.0)], tol=0.125)[0]) == 0
    assert len(match([1.0], [np.nextafter(0.875, 0.0)], tol=0.125)[0]) == 0


def test_nan_never_matches_and_empty_inputs():
    ri, di = match([1.0, np.nan], [np.nan, 1.01], tol=0.15)
    npt.assert_array_equal(ri, [0])
    npt.assert_array_equal(di, [1])
    ri, di = match([], [1.0])
    assert ri.size == 0 and di.size == 0 and ri.dtype == np.int64
    s = score_fiducial([], [], intervals=[[0.0, 1.0]])
    row = fiducial_summary("P_on", s.n_ref, 0, 0, s.errors_ms)
    assert np.isnan(row["se"]) and np.isnan(row["ppv"]) and row["cse_ok"] is None


# -------------------------------------------------------------------------------- counting
def test_sensitivity_ppv_and_error_sign():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    det = np.array([1.010, 2.000, 2.980, 3.50, 9.0])  # 3 matches; 3.50 unmatched inside; 9.0 outside
    s = score_fiducial(ref, det, intervals=[[0.5, 4.5]], tol=0.15)
    npt.assert_allclose(s.errors_ms, [10.0, 0.0, -20.0])  # detected - reference
    npt.assert_allclose(s.ref_missed, [4.0])
    npt.assert_allclose(s.det_false, [3.5])  # 9.0 is outside the annotated span: not counted
    assert s.n_det_in_span == 4
    row = fiducial_summary("QRS_on", s.n_ref, len(s.ref_matched), len(s.det_false), s.errors_ms)
    assert row["se"] == pytest.approx(3 / 4)
    assert row["ppv"] == pytest.approx(3 / 4)
    assert row["mean_ms"] == pytest.approx(-10 / 3)
    assert row["sd_ms"] == pytest.approx(np.std([10.0, 0.0, -20.0], ddof=1))
    assert row["criterion_ms"] == pytest.approx(abs(row["mean_ms"]) + row["sd_ms"])
    assert row["cse_tol_ms"] == 6.5 and row["cse_ok"] is False


def test_false_positives_only_inside_intervals_and_outside_excluded_zones():
    s = score_fiducial([1.0], [1.0, 3.0, 6.0, 7.5], intervals=[[0.0, 5.0], [7.0, 8.0]], tol=0.15,
                       exclude=[[7.4, 7.6]])
    npt.assert_allclose(s.det_false, [3.0])  # 6.0 outside the intervals, 7.5 excluded
    assert s.n_det_in_span == 2  # 1.0 and 3.0
    # a matched detection counts even outside the scored intervals
    s = score_fiducial([1.0], [0.95], intervals=[[1.0, 2.0]], tol=0.15)
    assert len(s.ref_matched) == 1 and len(s.det_false) == 0 and s.n_det_in_span == 0


def test_interval_helpers():
    npt.assert_allclose(merge_intervals([[3, 4], [0, 1], [0.5, 2], [2, 2.5]]), [[0, 2.5], [3, 4]])
    assert merge_intervals([]).shape == (0, 2)
    npt.assert_array_equal(in_intervals([0, 1, 2.5, 4, 4.01], [[0, 1], [3, 4]]),
                           [True, True, False, True, False])


# -------------------------------------------------------------------------------- statistics
def test_error_statistics_on_known_values():
    e = [1.0, 2.0, 3.0, 4.0, 100.0]
    st = error_stats(e)
    assert st["n"] == 5 and st["mean"] == pytest.approx(22.0) and st["median"] == 3.0
    assert st["sd"] == pytest.approx(np.sqrt(((np.array(e) - 22.0) ** 2).sum() / 4))
    assert st["rsd"] == pytest.approx(1.4826)  # |e - 3| = 2, 1, 0, 1, 97: MAD = 1
    one = error_stats([5.0, np.nan])
    assert one["n"] == 1 and one["mean"] == 5.0 and np.isnan(one["sd"]) and one["rsd"] == 0.0
    assert error_stats([])["n"] == 0 and np.isnan(error_stats([])["mean"])


def test_per_record_sd_leaves_out_between_record_bias():
    # record a: 0, 2 (SD sqrt 2); b: 10, 10, 10 (SD 0); c: one error, left out
    e = [0.0, 2.0, 10.0, 10.0, 10.0, 7.0, np.nan]
    rec = ["a", "a", "b", "b", "b", "c", "c"]
    assert per_record_sd(e, rec) == pytest.approx(np.sqrt(2) / 2)
    assert error_stats(e, rec)["record_sd"] == pytest.approx(np.sqrt(2) / 2)
    assert error_stats(e)["sd"] > 4  # the pooled SD carries the 10 ms offset of record b
    assert np.isnan(per_record_sd([1.0, 2.0], ["a", "b"]))
    with pytest.raises(ValueError, match="2 errors but 1 record labels"):
        per_record_sd([1.0, 2.0], ["a"])


def test_summary_row_cse_check_and_criterion():
    ok = fiducial_summary("QRS_on", 4, 4, 0, [1.0, -1.0, 2.0, -2.0])
    sd = np.std([1.0, -1.0, 2.0, -2.0], ddof=1)
    assert ok["mean_ms"] == 0.0 and ok["sd_ms"] == pytest.approx(sd)
    assert ok["cse_tol_ms"] == 6.5 and ok["cse_ok"] is True
    assert ok["criterion_ms"] == pytest.approx(sd)
    bad = fiducial_summary("QRS_on", 4, 3, 1, [10.0, 0.0, -20.0])
    assert bad["cse_ok"] is False and bad["mean_ms"] == pytest.approx(-10 / 3)
    assert bad["criterion_ms"] == pytest.approx(10 / 3 + bad["sd_ms"])
    assert bad["ppv"] == pytest.approx(0.75) and bad["se"] == pytest.approx(0.75)
    peak = fiducial_summary("T_peak", 2, 2, 0, [1.0, 3.0])
    assert np.isnan(peak["cse_tol_ms"]) and peak["cse_ok"] is None
    assert "record_sd_ms" not in peak
    with_rec = fiducial_summary("T_peak", 2, 2, 0, [1.0, 3.0], records=["r", "r"])
    assert with_rec["record_sd_ms"] == pytest.approx(np.sqrt(2))


# -------------------------------------------------------------------------------- partly annotated
def _beats(qrs_samples):
    """Waves of beats P-QRS-T around each QRS peak (samples at 100 Hz), every boundary marked."""
    waves = []
    for q in qrs_samples:
        waves += [Wave("P", q - 20, q - 25, q - 15), Wave("QRS", q, q - 5, q + 5),
                  Wave("T", q + 30, q + 20, q + 40)]
    return waves


def test_beat_intervals_join_only_consecutive_annotated_beats():
    waves = _beats([100, 200, 300, 500])  # the beat at 400 is not annotated
    qrs, ext, orphans = beat_extents(waves)
    npt.assert_array_equal(qrs, [100, 200, 300, 500])
    npt.assert_array_equal(ext[0], [75, 140])
    assert orphans.shape == (0, 2)
    assert list(consecutive_beats(qrs)) == [True, True, False]  # gap <= 1.5 x median gap
    every_beat = [97, 204, 296, 410, 505]  # a full beat list a few samples off, with 400
    assert list(consecutive_beats(qrs, all_beats=every_beat)) == [True, True, False]
    # every other beat annotated: the median-gap rule cannot tell, the full beat list can
    assert list(consecutive_beats([100, 300, 500])) == [True, True]
    assert list(consecutive_beats([100, 300, 500], all_beats=range(100, 501, 100))) == [False, False]
    iv = beat_intervals(waves, fs=100.0, margin_s=0.05, all_beats=every_beat)
    npt.assert_allclose(iv, [[0.70, 3.45], [4.70, 5.45]])


def test_unmarked_boundaries_are_excluded_not_false():
    # a T wave with a peak and an offset mark but no onset mark, after a QRS offset at 60
    waves = [Wave("QRS", 50, 40, 60, after=90), Wave("T", 90, None, 110, before=60)]
    ref = reference_times(waves, fs=10.0)
    assert ref["T_on"].size == 0 and ref["T_off"].tolist() == [11.0]
    zones = unmarked_zones(waves, fs=10.0)
    npt.assert_allclose(zones["T_on"], [[6.0, 9.0]])  # from the previous mark to the T peak
    assert zones["QRS_on"].shape == (0, 2)
    s = score_fiducial(ref["T_on"], [7.5], intervals=[[0.0, 20.0]], exclude=zones["T_on"])
    assert len(s.det_false) == 0  # in the zone: neither matched nor false
    s = score_fiducial(ref["T_on"], [7.5], intervals=[[0.0, 20.0]])
    assert len(s.det_false) == 1
    # no neighbouring mark: the zone reaches tol_s from the peak
    alone = unmarked_zones([Wave("P", 100, None, None)], fs=100.0, tol_s=0.1)
    npt.assert_allclose(alone["P_on"], [[0.9, 1.0]])
    npt.assert_allclose(alone["P_off"], [[1.0, 1.1]])


# -------------------------------------------------------------------------------- R peaks
def test_score_rpeaks_counts_a_miss_a_false_detection_and_a_double():
    fs = 100.0  # tolerance 0.05 s = 5 samples
    s = score_rpeaks([102, 195, 250, 400, 401], [100, 200, 300, 400], fs, tolerance_s=0.05)
    assert (s["tp"], s["fp"], s["fn"]) == (3, 2, 1)  # 300 missed; 250 and 401 false
    assert s["se"] == pytest.approx(0.75) and s["ppv"] == pytest.approx(0.6)
    assert s["f1"] == pytest.approx(6 / 9)
    assert s["error_ms"] == pytest.approx(0.0)  # median of +2, -5, 0 samples
    # the tolerance edge is inclusive: 5 samples off matches, 6 does not
    assert score_rpeaks([105], [100], fs, tolerance_s=0.05)["tp"] == 1
    assert score_rpeaks([106], [100], fs, tolerance_s=0.05)["tp"] == 0
    # two detections near one beat: the closer one matches
    s = score_rpeaks([96, 99], [100], fs, tolerance_s=0.05)
    assert (s["tp"], s["fp"], s["fn"]) == (1, 1, 0) and s["error_ms"] == pytest.approx(-10.0)


def test_score_rpeaks_window_and_empty_input():
    fs = 100.0
    det, ref = [102, 199, 250, 305, 500], [100, 200, 300, 400]
    s = score_rpeaks(det, ref, fs, tolerance_s=0.05, start=150, stop=350)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 0)  # refs 200, 300; 250 false; 102 and 500 out
    s = score_rpeaks([], [], fs)
    assert s["tp"] == 0 and np.isnan(s["se"]) and np.isnan(s["ppv"]) and np.isnan(s["error_ms"])


def test_record_bootstrap_resamples_records_not_errors():
    """Paired draws: identical runs never differ, a run better on every record is better
    in every draw; a bias shared by a record's errors widens the interval against the
    same errors each counted as its own record; bad input is refused."""
    from gmesa.ecg.evaluate import record_bootstrap

    rng = np.random.default_rng(3)
    rec = np.repeat(np.arange(30), 12)
    e = rng.normal(0, 5, 30)[rec] + rng.normal(0, 8, rec.size)
    out = record_bootstrap({"a": (e, rec), "same": (e.copy(), rec), "better": (0.7 * e, rec)},
                           n_boot=1000, seed=1)
    out["beats"] = record_bootstrap({"beats": (e, np.arange(e.size))}, n_boot=1000)["beats"]
    assert np.all(out["same"] == out["a"])
    assert np.all(out["better"] < out["a"])
    whole = abs(e.mean()) + e.std(ddof=1)
    assert np.percentile(out["a"], 2.5) < whole < np.percentile(out["a"], 97.5)
    width = np.subtract(*np.percentile(out["a"], [97.5, 2.5]))
    assert width > 1.3 * np.subtract(*np.percentile(out["beats"], [97.5, 2.5]))
    with pytest.raises(ValueError, match="record labels"):
        record_bootstrap({"x": (e, rec[:-1])})
