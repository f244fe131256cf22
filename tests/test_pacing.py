"""Pacemaker spikes: found on the raw lead, bridged before cleaning, reported per beat."""
import numpy as np
import pytest

from gmesa import ecg
from gmesa.ecg.artefacts import find_artefacts
from gmesa.ecg.io import Record
from gmesa.ecg.pacing import SPIKE_MIN_FS, bridge, find_spikes, spike_before_r
from gmesa.ecg.waves import WAVES, typical_vector


def _paced(fs, amp=1.0, before=0.060, snr_db=40.0, seed=2):
    """A synthetic lead without P waves (ventricular pacing) and a one-sample spike of
    ``amp`` mV ``before`` s before each R peak: (lead, spike samples, R peaks s)."""
    beat = typical_vector(WAVES).copy()
    beat[0] = 0.0                                    # P amplitude
    syn = ecg.synthesize(duration=30, fs=fs, heart_rate=70, beat=beat, seed=seed,
                         snr_db=snr_db)
    x = np.asarray(syn.record.signal, dtype=float).ravel().copy()
    r_s = syn.truth["r_peak_s"].to_numpy()
    k = np.round(r_s * fs).astype(int) - int(round(before * fs))
    k = k[k > 0]
    clean = x.copy()
    x[k] += amp
    return x, clean, k, r_s


@pytest.mark.parametrize("fs", [500.0, 1000.0])
def test_every_spike_is_found_at_its_sample_and_nothing_on_the_clean_lead(fs):
    x, clean, k, _ = _paced(fs)
    centres, amps = find_spikes(x, fs)
    assert np.array_equal(centres, k)
    assert np.allclose(amps, 1.0, atol=0.1)
    assert find_spikes(clean, fs)[0].size == 0      # no QRS peak is taken for a spike


def test_empty_flat_and_missing_leads_have_no_spike():
    for x in (np.zeros(0), np.zeros(5000), np.full(5000, np.nan), np.ones(3)):
        centres, amps = find_spikes(x, 500.0)
        assert centres.size == 0 and amps.size == 0


def test_spikes_are_not_sought_below_the_lowest_rate():
    x, _, k, _ = _paced(500.0)
    assert k.size > 20
    assert find_spikes(x, SPIKE_MIN_FS - 1.0)[0].size == 0


def test_a_spike_on_a_slope_or_a_wide_bump_is_not_a_spike():
    fs = 500.0
    t = np.arange(2000) / fs
    ramp = 5.0 * t                                   # 10 mV/s: flanks at different levels
    ramp[1000] += 0.3
    assert find_spikes(ramp, fs)[0].size == 0
    bump = np.random.default_rng(0).normal(0.0, 0.002, 2000)   # a quiet lead
    bump[1000:1004] += 0.5                            # 8 ms wide: wider than a pacing pulse
    assert find_spikes(bump, fs)[0].size == 0
    bump[1500] += 0.5                                # one sample: a spike
    assert list(find_spikes(bump, fs)[0]) == [1500]


def test_bridge_replaces_only_the_spike_samples_by_the_line_between_its_flanks():
    fs = 500.0
    x = np.linspace(0.0, 1.0, 100)
    y = x.copy()
    y[50] += 2.0
    out = bridge(y, [50], fs)
    assert np.allclose(out, x)
    assert y[50] == pytest.approx(x[50] + 2.0)      # the input is not changed


def test_spike_before_r_takes_the_latest_spike_in_the_window():
    r = np.array([1.0, 2.0, 3.0])
    start = r - 0.4
    spikes = np.array([0.5, 0.93, 0.95, 2.5, 2.98])
    out = spike_before_r(r, start, spikes)
    assert out[0] == pytest.approx(-0.05) and np.isnan(out[1]) and out[2] == pytest.approx(-0.02)


def test_artefacts_report_the_spikes_and_do_not_mask_them():
    x, _, k, _ = _paced(500.0)
    art = find_artefacts(x, 500.0)
    assert np.array_equal(art.spikes, k) and not art.mask.any()
    assert art.summary()["pacing_spikes"] == k.size
    assert find_artefacts(x, 500.0, pacing=False).spikes.size == 0


def test_a_paced_lead_reports_no_p_wave_made_of_the_spike():
    """Without the spikes bridged, their low-passed trace is a 'P wave' 60 ms before
    every R; bridged, no beat has a P and each beat gives its spike."""
    fs = 500.0
    x, _, k, r_s = _paced(fs)
    rec = Record(x[:, None], fs, leads=("ii",))
    paced = ecg.fit_record(rec).beats
    ok = (paced["status"] == "ok").to_numpy()
    assert ok.sum() >= 30
    assert paced["P_present"][ok].sum() == 0
    assert np.allclose(paced["pacing_spike_s"][ok], -0.060, atol=0.003)
    unbridged = ecg.fit_record(rec, pacing_spikes=False).beats
    ok = (unbridged["status"] == "ok").to_numpy()
    assert unbridged["P_present"][ok].mean() > 0.9
    assert unbridged["pacing_spike_s"].isna().all()


def test_ludb_spikes_only_in_the_paced_records(ludb):
    """Over every LUDB record's lead ii (500 Hz), spikes are found only in records whose
    diagnoses name pacing; in the unipolar-paced 34 and 74, before most QRS complexes."""
    import wfdb

    found, paced = {}, set()
    for hea in sorted((ludb / "data").glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")), channel_names=["ii"])
        x = rec.p_signal[:, 0].astype(float)
        n = find_spikes(x, rec.fs)[0].size
        name = hea.stem
        if n:
            found[name] = n
        if any("pacing" in c.lower() for c in (rec.comments or [])):
            paced.add(name)
    assert found, "no spikes found at all"
    assert set(found) <= paced, {k: v for k, v in found.items() if k not in paced}
    assert found.get("34", 0) >= 8 and found.get("74", 0) >= 8


def test_a_wider_pacing_artefact_with_its_recharge_is_bridged():
    """A 4-sample (8 ms) artefact, 2 and 6 mV with a -1 mV recharge, 160 ms before each R:
    found and bridged, PR within 3 ms of the truth; left in, the PR reads short."""
    syn = ecg.synthesize(duration=30, fs=500, seed=5)
    x = syn.record.signal.copy().ravel()
    for r in syn.rpeaks[syn.rpeaks >= 80]:
        x[r - 80:r - 76] += (2.0, 6.0, 2.0, -1.0)
    rec = Record(x[:, None], 500.0, leads=("II",))
    truth = syn.truth["pr_ms"].median()
    beats = ecg.fit_record(rec).beats
    ok = beats["status"] == "ok"
    assert ok.sum() >= 33 and beats["pacing_spike_s"][ok].notna().all()
    assert abs(beats["pr_ms"][ok].median() - truth) < 3
    left = ecg.fit_record(rec, pacing_spikes=False).beats
    assert abs(left["pr_ms"][left["status"] == "ok"].median() - truth) > 15


def test_a_spike_that_reaches_the_converter_limit_is_a_spike_not_clipping():
    x, _, k, _ = _paced(500.0, amp=2.0)
    limits = (-5.0, float(np.max(x[k])))                  # the highest spike touches the rail
    assert limits[1] > np.max(np.delete(x, k))
    art = find_artefacts(x, 500.0, limits)
    assert np.array_equal(art.spikes, k) and not art.clipped.any()
    assert find_artefacts(x, 500.0, limits, pacing=False).clipped.any()


def test_the_beat_figure_marks_the_spike():
    import matplotlib

    matplotlib.use("Agg")
    import gmesa.plot as gp

    x, _, k, _ = _paced(500.0)
    fit = ecg.fit_record(Record(x[:, None], 500.0, leads=("ii",)))
    ax = gp.beat(fit, 5, residual=False)
    ax = ax if hasattr(ax, "lines") else ax.axes[0]
    bars = [ln for ln in ax.lines if ln.get_gid() == "pacing_spike"]
    assert len(bars) == 1
    assert bars[0].get_xdata()[0] == pytest.approx(1e3 * fit.beats["pacing_spike_s"][5])
    clean = ecg.fit_record(Record(x[:, None], 500.0, leads=("ii",)), pacing_spikes=False)
    ax = gp.beat(clean, 5, residual=False)
    ax = ax if hasattr(ax, "lines") else ax.axes[0]
    assert not [ln for ln in ax.lines if ln.get_gid() == "pacing_spike"]
