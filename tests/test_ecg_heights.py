"""Wave heights and the ST level read off the fitted beat (gmesa.ecg.heights): above the
isoelectric level, whatever the split between the ST step and the waves."""
from __future__ import annotations

import numpy as np
import pytest

from gmesa import ecg
from gmesa.core import Layout
from gmesa.ecg.heights import J_OFFSET, heights
from gmesa.ecg.waves import WAVES, typical_vector

LAY = Layout(WAVES, ("ST",), "linear")


def _beat(st_amplitude=0.0):
    """The typical beat with an ST step of ``st_amplitude`` (its rise 0.12 s after R)
    and a baseline 0.3 mV high and sloping (the heights do not see it)."""
    vec = np.zeros(LAY.size)
    vec[LAY.waves_slice] = typical_vector(WAVES)
    vec[LAY.step("ST")] = (st_amplitude, 0.12, 0.02)
    vec[LAY.baseline_slice] = (0.3, -0.2)
    return vec


def _fid(vec, qrs_off=0.05):
    return {"P_peak": np.array([vec[LAY.index("P", "center")]]),
            "T_peak": np.array([vec[LAY.index("T", "center")]]),
            "QRS_off": np.array([qrs_off])}


def test_heights_are_the_waves_above_the_pr_level():
    """No step: P and T heights are their amplitudes (the other waves' tails are far);
    with an ST step of A (from -A before the QRS to +A after it), the T stands 2A higher
    and the ST level 60 ms after J is 2A up, while the P height does not move."""
    flat = _beat()
    h = heights(flat[None], LAY, _fid(flat))
    assert h["p_height_mv"][0] == pytest.approx(typical_vector(WAVES)[0], abs=1e-3)
    assert h["t_height_mv"][0] == pytest.approx(typical_vector(WAVES)[20], abs=1e-3)
    assert abs(h["st_j60_mv"][0]) < 0.02
    raised = _beat(0.05)
    g = heights(raised[None], LAY, _fid(raised))
    assert g["p_height_mv"][0] == pytest.approx(h["p_height_mv"][0], abs=1e-4)
    assert g["t_height_mv"][0] == pytest.approx(h["t_height_mv"][0] + 0.1, abs=2e-3)
    assert g["st_j60_mv"][0] - h["st_j60_mv"][0] == pytest.approx(
        0.05 * (1 + np.tanh((0.05 + J_OFFSET - 0.12) / 0.02)), abs=1e-6)


def test_heights_are_nan_without_the_fiducial_or_the_fit():
    vec = _beat()
    fid = _fid(vec)
    fid["T_peak"] = np.array([np.nan])
    h = heights(np.vstack([vec, np.full(LAY.size, np.nan)]), LAY,
                {k: np.repeat(v, 2) for k, v in fid.items()})
    assert np.isnan(h["t_height_mv"]).all() and np.isfinite(h["p_height_mv"][0])
    assert np.isnan([h[k][1] for k in h]).all()
    assert all(v.shape == (0,) for v in heights(np.zeros((0, LAY.size)), LAY,
                                                {k: np.zeros(0) for k in fid}).values())


def test_a_record_reports_its_t_height_and_st_level():
    """A synthetic record (no ST shift): the table's T height is the true T amplitude
    within 0.03 mV and the ST level near 0; each lead of a joint fit has its own."""
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=60, noise=0.01, seed=3, leads=2)
    fit = ecg.fit_record(syn.record, lead=0)
    ok = fit.beats["status"] == "ok"
    true_t = np.median(syn.params["T_amplitude"])       # lead 0: gain 1
    assert np.nanmedian(fit.beats.loc[ok, "t_height_mv"]) == pytest.approx(true_t, abs=0.03)
    assert abs(np.nanmedian(fit.beats.loc[ok, "st_j60_mv"])) < 0.05
    joint = ecg.fit_leads(syn.record)
    cols = [c for c in joint.beats.columns if c.startswith("st_j60_mv_")]
    assert len(cols) == 2 and joint.beats[cols].notna().any().all()
