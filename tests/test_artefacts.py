"""Glitches and clipping are found before anything is fitted (gmesa.ecg.artefacts)."""
import numpy as np
import pytest

from gmesa import ecg
from gmesa.ecg.artefacts import find_artefacts, mask_artefacts


@pytest.fixture(scope="module")
def lead():
    syn = ecg.synthesize(duration=20, fs=500, heart_rate=70, seed=3)
    return np.asarray(syn.record.signal, dtype=float).ravel(), syn.record.fs


def test_clean_synthetic_lead_has_no_artefacts(lead):
    x, fs = lead
    art = find_artefacts(x, fs)
    assert not art.any
    assert art.summary() == {"glitch_samples": 0, "clipped_samples": 0, "clipped_s": 0.0,
                             "pacing_spikes": 0}


def test_six_absurd_samples_are_glitches_and_nothing_else(lead):
    x, fs = lead
    y = x.copy()
    where = np.arange(4000, 4006)
    y[where] = 1e30
    art = find_artefacts(y, fs)
    assert np.array_equal(np.flatnonzero(art.glitch), where)
    assert not art.clipped.any()
    masked, art2 = mask_artefacts(y, fs)
    assert np.isnan(masked[where]).all()
    np.testing.assert_array_equal(np.delete(masked, where), np.delete(x, where))


def test_moderate_spike_is_a_glitch_but_a_tall_beat_is_not(lead):
    x, fs = lead
    y = x.copy()
    y[7000] += 40.0                       # 40 mV on a ~1 mV ECG
    y[8000:8010] *= 2.5                   # a tall (ectopic-like) deflection stays
    art = find_artefacts(y, fs)
    assert np.flatnonzero(art.glitch).tolist() == [7000]


def test_flat_top_at_the_extreme_is_clipped(lead):
    x, fs = lead
    top = np.percentile(x, 99.7)
    y = np.minimum(x, top)                 # every R peak saturates at `top`
    art = find_artefacts(y, fs)
    assert art.clipped.any() and not art.glitch.any()
    assert np.all(y[art.clipped] == top)
    # the rail is hit by every beat: runs of 2 samples and more count, single samples not
    d = np.diff(np.concatenate([[0], art.clipped.astype(int), [0]]))
    runs = np.flatnonzero(d == -1) - np.flatnonzero(d == 1)
    assert runs.min() >= 2 and runs.size >= 3
    assert art.clipped.sum() == sum(r for r in runs)


def test_a_peak_reaching_its_maximum_once_is_not_clipping(lead):
    x, fs = lead
    y = x.copy()
    i = int(np.argmax(y))
    y[i - 1:i + 2] = y[i] + 0.2           # the tallest peak, flat for 3 samples (6 ms)
    assert not find_artefacts(y, fs).clipped.any()
    y[i - 4:i + 4] = y[i]                 # flat for 8 samples (16 ms): a rail
    assert find_artefacts(y, fs).clipped[i - 4:i + 4].all()


def test_converter_limits_from_the_header(lead):
    x, fs = lead
    lo, hi = float(np.min(x)) - 0.1, float(np.percentile(x, 99.9))
    y = np.minimum(x, hi)
    art = find_artefacts(y, fs, limits=(lo, hi))
    assert np.array_equal(art.clipped, y >= hi)
    z = x.copy()
    z[100] = hi + 10 * (hi - lo)           # beyond the converter's range: impossible
    assert find_artefacts(z, fs, limits=(lo, hi)).glitch[100]


def test_constant_and_missing_samples_are_not_artefacts():
    art = find_artefacts(np.full(5000, 0.3), 500.0)
    assert not art.any
    x = np.sin(np.arange(5000) / 40.0)
    x[100:200] = np.nan
    art = find_artefacts(x, 500.0)
    assert not art.mask[100:200].any()


def test_windows_report_what_they_hold(lead):
    x, fs = lead
    y = x.copy()
    y[1000:1003] = -1e6
    art = find_artefacts(y, fs)
    hit, reason = art.in_windows([900, 2000, -50], [1100, 2500, 10])
    assert hit.tolist() == [True, False, False]
    assert reason[0] == "artefact in the beat window: 3 glitch samples (masked)"
    assert reason[1] == ""


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one lead"):
        find_artefacts(np.zeros((10, 2)), 500)
    with pytest.raises(ValueError, match="positive sampling rate"):
        find_artefacts(np.zeros(10), 0)


def test_wfdb_converter_range_reaches_the_fit(tmp_path):
    """A WFDB header's ADC resolution, zero, baseline and gain give each lead's physical
    range; R peaks cut at that range are masked and their beats say 'clipped'."""
    import wfdb

    syn = ecg.synthesize(duration=20, fs=500, seed=1)
    d = np.round(np.asarray(syn.record.signal, dtype=float).ravel() * 200).astype(int)
    d = np.clip(d, -127, 127)                       # an 8-bit converter at 200 adu/mV
    wfdb.wrsamp("clip", fs=500, units=["mV"], sig_name=["ii"], d_signal=d[:, None],
                fmt=["16"], adc_gain=[200.0], baseline=[0], write_dir=str(tmp_path))
    hea = tmp_path / "clip.hea"
    lines = hea.read_text().splitlines()
    f = lines[1].split()
    f[3] = "8"                                      # adc_res: 8 bits
    lines[1] = " ".join(f)
    hea.write_text("\n".join(lines) + "\n")
    rec = ecg.read_record(tmp_path / "clip")
    assert rec.limits("ii") == (-0.635, 0.635)
    fit = ecg.fit_record(rec)
    assert fit.info["artefacts"]["clipped_samples"] == int(np.sum(d >= 127) + np.sum(d <= -127))
    hit = fit.beats["status"] != "edge"
    assert fit.beats.loc[hit, "reason"].str.contains("clipped").mean() > 0.9
