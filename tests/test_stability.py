"""gmesa.ecg.stability: a record's fit again under imperceptible noise, beat by beat."""
from __future__ import annotations

import numpy as np
import pytest

from gmesa.ecg import Record, stability, synthesize
from gmesa.ecg.stability import BOUNDARIES, _matched, perturbed


@pytest.fixture(scope="module")
def clean_record():
    return synthesize(duration=20.0, fs=500.0, noise=0.005, seed=4).record


def test_perturbed_adds_noise_in_each_voltage_lead_unit_and_nowhere_else():
    sig = np.zeros((2000, 3))
    sig[5, 0] = np.nan
    rec = Record(sig, 500.0, leads=("ii", "v1", "abp"), units=("mV", "uV", "mmHg"))
    out = perturbed(rec, 0.001, seed=3)
    d = out.signal - rec.signal
    assert np.isnan(out.signal[5, 0])                    # a missing sample stays missing
    assert np.nanstd(d[:, 0]) == pytest.approx(0.001, rel=0.1)    # mV
    assert np.std(d[:, 1]) == pytest.approx(1.0, rel=0.1)         # the same 0.001 mV in uV
    assert np.all(d[:, 2] == 0.0)                                 # not a voltage: untouched
    assert np.array_equal(perturbed(rec, 0.001, seed=3).signal, out.signal, equal_nan=True)
    assert rec.signal[0, 0] == 0.0                                # the record is not changed
    with pytest.raises(ValueError, match="noise_mv"):
        perturbed(rec, 0.0)


def test_beats_are_matched_by_their_r_peaks():
    import pandas as pd
    a = pd.DataFrame({"r_peak_s": [1.0, 2.0, 3.0, 4.0]})
    b = pd.DataFrame({"r_peak_s": [3.01, 0.99, 2.2, 4.04]})   # unsorted; 2.0 has none near
    assert _matched(a, b).tolist() == [1, -1, 0, 3]
    assert _matched(a, b.iloc[:0]).tolist() == [-1, -1, -1, -1]


def test_a_clean_record_is_stable_and_every_boundary_compared(clean_record):
    st = stability(clean_record, repeats=2)
    assert st.stable, st.summary()
    assert list(st.table.index) == [b for b in BOUNDARIES if f"{b}_s" in st.fit.beats]
    ok = int((st.fit.beats["status"] == "ok").sum())
    assert (st.table["beats"] == 2 * ok).all()
    assert st.table.loc["QRS_on", "median_shift_ms"] < 0.5
    assert st.table.loc["QRS_on", "compared"] == 2 * ok
    assert len(st.choices) == 3 and len(set(st.choices)) == 1
    assert st.summary().startswith("stable under 0.0001 mV")


def test_large_noise_moves_the_boundaries_and_the_verdict_says_so(clean_record):
    st = stability(clean_record, repeats=1, noise_mv=0.05, moved_ms=1.0)
    assert not st.stable
    assert st.table["moved"].max() > 0.05
    assert "NOT stable" in st.summary() and "moved > 1 ms" in st.summary()


def test_bad_settings_are_refused(clean_record):
    with pytest.raises(ValueError, match="repeats"):
        stability(clean_record, repeats=0)
    with pytest.raises(ValueError, match="moved_ms"):
        stability(clean_record, moved_ms=0)


def test_a_real_sinus_record_is_stable_and_its_p_waves_compared(ludb):
    from gmesa.ecg import read_record
    rec = read_record(ludb / "data" / "2.hea")
    st = stability(rec, "ii", repeats=2)
    assert st.stable, st.summary()
    assert st.table.loc["P_on", "compared"] > 0
    assert st.table.loc["P_on", "p95_shift_ms"] < 1.0
