"""Global QRS edges of the joint model from the spatial curve (gmesa.ecg.joint_edges)."""
import math

import numpy as np
import pytest

from gmesa.ecg.fiducials import wave_fiducials
from gmesa.ecg.joint_edges import (QRS_SPREAD, WAVE_SPREAD, expected_max, global_qrs_edges,
                                   spatial_edges, spread_sd)
from gmesa.ecg.waves import WAVES, typical_vector


def _beats(n=6, seed=1):
    rng = np.random.default_rng(seed)
    rows = np.tile(typical_vector(WAVES), (n, 1))
    rows[:, 2::5] *= 1 + 0.1 * rng.standard_normal((n, len(WAVES)))
    rows[:, 0::5] *= rng.uniform(0.5, 1.5, (n, len(WAVES)))
    return rows


def test_expected_max_of_normals():
    assert expected_max(1) == 0.0
    assert expected_max(2) == pytest.approx(1.0 / math.sqrt(math.pi), abs=1e-6)
    draws = np.random.default_rng(0).standard_normal((200_000, 12)).max(axis=1)
    assert expected_max(12) == pytest.approx(draws.mean(), abs=0.01)


@pytest.mark.parametrize("method", ["map", "rule"])
def test_one_lead_is_the_single_lead_reading(method):
    rows = _beats()
    noise, rr = np.full(len(rows), 0.02), np.full(len(rows), 0.85)
    fid = wave_fiducials(rows, WAVES, method=method, noise=noise, rr=rr)
    on, pk, off = global_qrs_edges(rows[None], WAVES, noise[None], rr, method)
    assert np.allclose(on, fid["QRS_on"], atol=1e-12)
    assert np.allclose(off, fid["QRS_off"], atol=1e-12)
    assert np.allclose(pk, fid["QRS_peak"], atol=1e-12)


def test_global_sd_is_the_leads_with_the_uncertain_extreme():
    """One lead: the global QRS edges' SD is that lead's map SD.  Two identical leads:
    the same SD combined with the spread times the SD of the larger of two standard
    normal draws, sqrt(1 - 1/pi) (of twelve: 0.569, by simulation 0.5693)."""
    rows = _beats()
    noise, rr = np.full((2, len(rows)), 0.02), np.full(len(rows), 0.85)
    fid, sd = wave_fiducials(rows, WAVES, method="map", noise=noise[0], rr=rr, with_sd=True)
    one = global_qrs_edges(rows[None], WAVES, noise[:1], rr, "map", with_sd=True)[3]
    assert np.allclose(one[0], sd["QRS_on"]) and np.allclose(one[1], sd["QRS_off"])
    two = global_qrs_edges(np.stack([rows, rows]), WAVES, noise, rr, "map", with_sd=True)[3]
    s2 = math.sqrt(1 - 1 / math.pi)
    assert np.allclose(two[0], np.hypot(sd["QRS_on"], QRS_SPREAD["QRS_on"] * s2), rtol=1e-4)
    assert np.allclose(spread_sd(np.full(3, 0.01), "T_off", [1, 2, 12]),
                       np.hypot(0.01, WAVE_SPREAD["T_off"] * np.array([0.0, s2, 0.5689])),
                       atol=2e-4)
    assert np.all(np.isnan(global_qrs_edges(rows[None], WAVES, noise[:1], rr, "rule",
                                            with_sd=True)[3][0]))


def test_identical_leads_move_out_by_the_spread():
    rows = _beats()
    noise = np.full((2, len(rows)), 0.02)
    one = global_qrs_edges(rows[None], WAVES, noise[:1], None, "rule")
    two = global_qrs_edges(np.stack([rows, rows]), WAVES, noise, None, "rule")
    ext = expected_max(2)
    assert np.allclose(two[0], one[0] - QRS_SPREAD["QRS_on"] * ext)
    assert np.allclose(two[2], one[2] + QRS_SPREAD["QRS_off"] * ext)


def test_spatial_curve_weights_leads_by_noise():
    """A lead whose QRS starts earlier pulls the onset the more, the cleaner it is;
    a lead of zero or NaN weight is left out."""
    rows = _beats(3)
    early = rows.copy()
    early[:, 1::5] -= 0.010                      # every component 10 ms earlier
    qrs = np.concatenate([np.arange(5 * i, 5 * i + 5) for i in (1, 2, 3)])
    sub = np.stack([rows[:, qrs], early[:, qrs]], axis=1)      # (N, 2 leads, 15)
    # the timing is shared in the joint model: the early lead keeps its shape, moved
    on_a, _, _, share_a = spatial_edges(sub, np.array([[1.0, 0.1]] * 3), 0.3, 0.6)
    on_b, _, _, share_b = spatial_edges(sub, np.array([[1.0, 1.0]] * 3), 0.3, 0.6)
    on_x, _, _, share_x = spatial_edges(sub, np.array([[1.0, np.nan]] * 3), 0.3, 0.6)
    alone = spatial_edges(sub[:, :1], np.ones((3, 1)), 0.3, 0.6)[0]
    assert np.all(on_b < on_a) and np.all(on_a <= alone + 1e-9)
    assert np.allclose(on_x, alone) and np.allclose(share_x[:, 1], 0.0)
    assert np.allclose(share_b.sum(axis=1), 1.0, atol=0.05)


def test_noise_floor_and_missing_noise():
    """A lead fitted perfectly (noise 0) is weighted as at the floor, not infinitely; a
    lead of unknown noise is left out."""
    rows = _beats(4)
    on1, _, off1 = global_qrs_edges(rows[None], WAVES, np.zeros((1, 4)), None, "rule")
    assert np.all(np.isfinite(on1)) and np.all(np.isfinite(off1))
    noise = np.vstack([np.full(4, 0.02), np.full(4, np.nan)])
    on2, _, off2 = global_qrs_edges(np.stack([rows, rows * 3]), WAVES, noise, None, "rule")
    assert np.allclose(on2, on1) and np.allclose(off2, off1)


def test_p_and_t_edges_move_out_with_the_number_of_leads():
    """One lead: unchanged; L leads: onset earlier and offset later by the wave's spread
    times the expected largest of L standard normals (the extreme of L leads' marks)."""
    from gmesa.ecg.joint_edges import WAVE_SPREAD, expected_max, spread_out
    on, off = np.array([-0.20, -0.21, -0.19]), np.array([-0.10, -0.11, -0.09])
    same = spread_out(on, off, "P", np.ones(3, int))
    assert np.array_equal(same[0], on) and np.array_equal(same[1], off)
    n = np.array([1, 2, 12])
    new_on, new_off = spread_out(on, off, "P", n)
    ext = np.array([0.0, expected_max(2), expected_max(12)])
    np.testing.assert_allclose(on - new_on, WAVE_SPREAD["P_on"] * ext)
    np.testing.assert_allclose(new_off - off, WAVE_SPREAD["P_off"] * ext)
    t_on, t_off = spread_out(0.1, 0.4, "T", 12)
    assert t_on < 0.1 and t_off == pytest.approx(0.4 + WAVE_SPREAD["T_off"] * expected_max(12))


def test_a_q_at_its_tail_bound_does_not_set_the_onset(monkeypatch):
    """A Q whose left tail sits at its bound is left out of the QRS edges, in one lead's
    reading and in the joint model's spatial one alike."""
    from gmesa.ecg import fiducials
    from gmesa.ecg.waves import REGIONS, wave_layout

    lay = wave_layout(WAVES)
    rows = _beats(4)
    q = lay.wave("Q").start
    rows[:, q] = -0.9 * rows[:, lay.wave("R").start]   # a deep, broad Q ...
    rows[:, q + 2] = 0.015
    rows[:2, q + 3] = REGIONS["Q"][3]                  # ... at its tail bound in beats 0, 1
    without = rows.copy()
    without[:2, q] = 0.0
    noise, rr = np.full(len(rows), 0.02), np.full(len(rows), 0.85)
    on = wave_fiducials(rows, WAVES)["QRS_on"]
    np.testing.assert_allclose(on[:2], wave_fiducials(without, WAVES)["QRS_on"][:2], atol=1e-12)
    joint = global_qrs_edges(rows[None], WAVES, noise[None], rr, "rule")[0]
    np.testing.assert_allclose(joint, on, atol=1e-12)
    monkeypatch.setattr(fiducials, "AT_BOUND", np.inf)   # kept, it moves the onset out
    kept = wave_fiducials(rows, WAVES)["QRS_on"]
    assert np.all(on[:2] - kept[:2] > 0.005)
    np.testing.assert_allclose(kept[2:], on[2:], atol=1e-12)


def test_an_s_at_both_width_bounds_does_not_set_the_offset(monkeypatch):
    """An S whose plateau and right tail both sit at their bounds is left out of the QRS
    offset (one lead and the joint reading alike); its right tail alone at the bound
    (a broad S, as in bundle branch block) keeps it."""
    from gmesa.ecg import fiducials
    from gmesa.ecg.waves import REGIONS, wave_layout

    lay = wave_layout(WAVES)
    rows = _beats(6)
    k = lay.wave("S").start
    rows[:, k] = -0.9 * rows[:, lay.wave("R").start]   # a deep S ...
    rows[:, k + 4] = REGIONS["S"][3]                   # ... its right tail at the bound in all
    rows[:3, k + 2] = REGIONS["S"][4]                  # and its plateau too in beats 0-2
    without = rows.copy()
    without[:3, k] = 0.0
    noise, rr = np.full(len(rows), 0.02), np.full(len(rows), 0.85)
    off = wave_fiducials(rows, WAVES)["QRS_off"]
    np.testing.assert_allclose(off[:3], wave_fiducials(without, WAVES)["QRS_off"][:3], atol=1e-12)
    np.testing.assert_allclose(global_qrs_edges(rows[None], WAVES, noise[None], rr, "rule")[2],
                               off, atol=1e-12)
    monkeypatch.setattr(fiducials, "AT_BOUND", np.inf)
    kept = wave_fiducials(rows, WAVES)["QRS_off"]
    assert np.all(kept[:3] - off[:3] > 0.005)           # kept, it moves the offset out
    np.testing.assert_allclose(kept[3:], off[3:], atol=1e-12)   # the tail alone: kept anyway


def test_a_q_at_its_bound_that_cancels_another_tail_does_not_lengthen_the_qrs():
    """A broad Q at its tail bound of R's sign in one lead (the joint model's amplitudes
    have any sign) cancels a broad S's left tail there: left out alone, it would lay that
    tail bare and start the QRS 25+ ms early (LUDB 54 with v1).  The edges are then those
    of the whole complex (``fiducials.no_longer``), in one lead's reading and the spatial
    one alike; where leaving it out shortens the QRS (a Q on the PR sag) it stays out."""
    from gmesa.ecg.fiducials import no_longer
    from gmesa.ecg.waves import REGIONS, wave_layout

    lay = wave_layout(WAVES)
    rows = _beats(3)
    q, r, s = (lay.wave(w).start for w in "QRS")
    # the QRS of LUDB 54's joint fit with v1, as lead v1 sees it (amplitudes mV, times s)
    rows[:, q:q + 5] = (0.45, -0.008, 0.0021, REGIONS["Q"][3], 0.0071)
    rows[:, r:r + 5] = (0.54, -0.0009, 0.0018, 0.0099, 0.0074)
    rows[:, s:s + 5] = (-0.63, 0.0087, 0.0, 0.0368, 0.0156)
    noise, rr = np.full(3, 0.02), np.full(3, 0.85)
    got = wave_fiducials(rows, WAVES)
    cut = rows.copy()
    cut[:, q] = 0.0
    bare = wave_fiducials(cut, WAVES)["QRS_on"]
    assert np.all(got["QRS_on"] - bare > 0.025), (got["QRS_on"], bare)
    joint = global_qrs_edges(rows[None], WAVES, noise[None], rr, "rule")
    np.testing.assert_allclose(joint[0], got["QRS_on"], atol=1e-12)
    np.testing.assert_allclose(joint[2], got["QRS_off"], atol=1e-12)
    on, off = no_longer(np.array([-0.05, np.nan]), np.array([0.05, 0.06]),
                        (np.array([-0.04, -0.03]), None, np.array([0.07, np.nan])))
    np.testing.assert_array_equal(on, [-0.04, -0.03])
    np.testing.assert_array_equal(off, [0.05, 0.06])


@pytest.mark.parametrize("method", ["map", "rule"])
def test_one_lead_with_an_r_prime_is_the_single_lead_reading(method):
    """An R' (``R2``) of 20% of R, 45 ms after it, starts the walk as one lead's reading
    does (10% of the peak, not the 45% of Q, R and S): the offset moves out with it."""
    rows = _beats()
    r = WAVES.index("R")
    r_prime = np.column_stack([0.2 * rows[:, 5 * r], np.full(len(rows), 0.045),
                               np.zeros(len(rows)), np.full((len(rows), 2), 0.006)])
    names = WAVES + ("R2",)
    with_rp = np.hstack([rows, r_prime])
    noise, rr = np.full(len(rows), 0.02), np.full(len(rows), 0.85)
    fid = wave_fiducials(with_rp, names, method=method, noise=noise, rr=rr)
    on, pk, off = global_qrs_edges(with_rp[None], names, noise[None], rr, method)
    assert np.allclose(on, fid["QRS_on"], atol=1e-12)
    assert np.allclose(off, fid["QRS_off"], atol=1e-12)
    without = global_qrs_edges(rows[None], WAVES, noise[None], rr, method)[2]
    assert np.all(off > without + 0.005)
    assert np.all(off > 0.045 + 2 * 0.006)
