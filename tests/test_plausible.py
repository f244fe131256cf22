"""A lead that is no ECG (noise, a sine) is said to be none: no beat of it is 'ok'."""
from __future__ import annotations

import numpy as np
import pytest

from gmesa import ecg
from gmesa.ecg.plausible import (CLEAR_QRS_SLOPE, MIN_EXPLAINED, MIN_QRS_SLOPE, beat_evidence,
                                 is_ecg)


def _fit(x, fs=500.0):
    with pytest.warns(UserWarning, match="does not look like an ECG"):
        return ecg.fit_record(ecg.Record(x, fs, leads=("II",)))


@pytest.mark.parametrize("kind", ["white", "pink", "sine"])
def test_noise_and_a_sine_are_not_reported_as_beats(kind):
    rng = np.random.default_rng(3)
    t = np.arange(30 * 500) / 500.0
    if kind == "white":
        x = 0.3 * rng.standard_normal(t.size)
    elif kind == "pink":  # AR(1) noise
        x = np.zeros(t.size)
        e = 0.05 * rng.standard_normal(t.size)
        for i in range(1, t.size):
            x[i] = 0.95 * x[i - 1] + e[i]
    else:
        x = np.sin(2 * np.pi * 1.2 * t)
    fit = _fit(x)
    b = fit.beats
    assert len(b) > 20 and not (b.status == "ok").any()
    assert (b.status == "not_ecg").sum() >= 0.5 * len(b)
    assert b.loc[b.status == "not_ecg", "reason"].str.contains("share no ECG shape").all()
    assert fit.info["ecg_evidence"]["is_ecg"] is False
    assert "does not look like an ECG" in fit.info["warning"]


@pytest.mark.parametrize("snr_db", [0.0, 20.0])
def test_a_noisy_synthetic_ecg_is_an_ecg(snr_db):
    syn = ecg.synthesize(duration=30, fs=500, seed=2, snr_db=snr_db)
    fit = ecg.fit_record(syn.record)
    ev = fit.info["ecg_evidence"]
    assert ev["is_ecg"] and ev["qrs_slope"] > CLEAR_QRS_SLOPE
    assert not (fit.beats.status == "not_ecg").any() and (fit.beats.status == "ok").mean() > 0.7


def test_evidence_of_clean_beats_and_the_rule():
    syn = ecg.synthesize(duration=20, fs=500, seed=1, noise=0.0, wander=0.0)
    explained, slope = beat_evidence(syn.record.signal, syn.rpeaks, 500.0)
    assert explained > 0.95 and slope > 20
    assert np.isnan(beat_evidence(syn.record.signal, syn.rpeaks[:3], 500.0)[0])
    assert is_ecg(np.nan, np.nan)
    assert not is_ecg(0.99, MIN_QRS_SLOPE - 0.1)                  # no QRS
    assert not is_ecg(MIN_EXPLAINED - 0.01, CLEAR_QRS_SLOPE - 1)  # no shared shape, no clear QRS
    assert is_ecg(MIN_EXPLAINED - 0.01, CLEAR_QRS_SLOPE + 1)
    assert is_ecg(MIN_EXPLAINED + 0.01, MIN_QRS_SLOPE + 0.1)


@pytest.mark.parametrize("record, lead", [("sel104", "V2"), ("sel102", "V2"), ("sel221", "V1")])
def test_the_least_ecg_like_qtdb_leads_stay_ecgs(qtdb, record, lead):
    # the lowest 'explained' (sel104 V2, 0.33) and 'qrs_slope' (sel102 V2, 7.4) of the
    # 310 LUDB and QTDB leads measured (gmesa/ecg/plausible.py)
    fit = ecg.fit_record(ecg.read_record(qtdb / record), lead)
    assert fit.info["ecg_evidence"]["is_ecg"]
    assert (fit.beats.status == "ok").mean() > 0.8
