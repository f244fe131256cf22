"""Metamorphic relations of the ECG pipeline: change the input in a way whose effect on the
answer is known, and check the answer changes exactly so (issue 16).

Records: the package's synthetic record (always), MIT-BIH 100 (first 60 s, lead MLII) and
LUDB 1 (lead ii) when the data folder is present.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps

from gmesa import ecg

INTERVALS = ("pr_ms", "qrs_ms", "qt_ms")
FIDUCIALS = ("P_on_s", "P_peak_s", "P_off_s", "QRS_on_s", "QRS_peak_s", "QRS_off_s",
             "T_on_s", "T_peak_s", "T_off_s")


def _synthetic():
    syn = ecg.synthesize(duration=40, fs=500, heart_rate=72, noise=0.01, seed=11)
    return syn.record.signal.ravel().astype(float), 500.0


def _real(physionet_or_ludb, path, lead, seconds):
    rec = ecg.read_record(physionet_or_ludb / path, lead=lead)
    n = int(seconds * rec.fs)
    return np.asarray(rec.signal, dtype=float).ravel()[:n], float(rec.fs)


@pytest.fixture(scope="module", params=["synthetic", "mitbih_100", "ludb_1"])
def lead(request):
    """(signal mV, fs Hz) of one lead."""
    if request.param == "synthetic":
        return _synthetic()
    if request.param == "mitbih_100":
        return _real(request.getfixturevalue("physionet"), "100", "MLII", 60)
    return _real(request.getfixturevalue("ludb") / "data", "1", "ii", 10)


def fit(signal, fs, units="mV", **kw):
    return ecg.fit_record(ecg.Record(np.asarray(signal, dtype=float), fs, units=units), **kw).beats


def ok(beats):
    return beats[beats["status"] == "ok"]


def medians(beats):
    return ok(beats)[list(INTERVALS)].median()


def _match(a, b, tol_s=0.02):
    """Row pairs (i, j) of two beat tables whose R peaks lie within ``tol_s``."""
    ra, rb = a["r_peak_s"].to_numpy(), b["r_peak_s"].to_numpy()
    j = np.clip(np.searchsorted(rb, ra), 1, max(rb.size - 1, 1))
    j = np.where(np.abs(rb[j - 1] - ra) < np.abs(rb[np.minimum(j, rb.size - 1)] - ra), j - 1, j)
    j = np.minimum(j, rb.size - 1)
    keep = np.abs(rb[j] - ra) <= tol_s
    return np.flatnonzero(keep), j[keep]


@pytest.fixture(scope="module")
def base(lead):
    return fit(*lead)


def test_microvolts_give_the_same_fit(lead, base):
    x, fs = lead
    uv = fit(x * 1000.0, fs, units="uV")
    cols = [c for c in base.columns if base[c].dtype.kind == "f"]
    np.testing.assert_allclose(uv[cols].to_numpy(), base[cols].to_numpy(), rtol=1e-6, atol=1e-9)
    assert (uv["status"] == base["status"]).all()


def test_polarity_inversion_keeps_r_peaks_and_negates_amplitudes(lead, base):
    x, fs = lead
    inv = fit(-x, fs)
    i, j = _match(base, inv, tol_s=1.5 / fs)
    assert i.size >= 0.95 * len(base), "inverted signal lost R peaks"
    both = (base["status"].to_numpy()[i] == "ok") & (inv["status"].to_numpy()[j] == "ok")
    ia, ja = i[both], j[both]
    # the largest deflection of the complex changes sign, whatever name it carries
    qrs_a = base[["Q_amplitude", "R_amplitude", "S_amplitude"]].to_numpy()[ia]
    qrs_b = inv[["Q_amplitude", "R_amplitude", "S_amplitude"]].to_numpy()[ja]
    big_a = qrs_a[np.arange(ia.size), np.abs(qrs_a).argmax(1)]
    big_b = qrs_b[np.arange(ja.size), np.abs(qrs_b).argmax(1)]
    assert np.median(np.sign(big_a) * np.sign(big_b)) == -1
    np.testing.assert_allclose(np.median(np.abs(big_b)), np.median(np.abs(big_a)), rtol=0.1)


@pytest.mark.parametrize("new_fs", [250.0, 1000.0])
def test_resampling_keeps_intervals(lead, base, new_fs):
    x, fs = lead
    # LUDB 1 at 250 Hz (issue 16): six beats whose T tails are weakly determined (T
    # sigma_right 84-146 ms beat to beat); by the old rule's T off at 30% of the T
    # amplitude its median QT moved 4.2 ms with the rate (and up to 7 ms with a one-sample
    # shift of the R peaks); the learned map reads T off at 70%, where the tails matter
    # less, and the QT agrees within 4 ms.
    if new_fs == fs:
        pytest.skip("same rate")
    y = sps.resample_poly(x, int(new_fs), int(fs))
    if new_fs < 100:
        pytest.skip("below the pipeline's minimum rate")
    m0, m1 = medians(base), medians(fit(y, new_fs))
    for c in INTERVALS:
        assert abs(m1[c] - m0[c]) <= 4.0, f"{c}: {m0[c]:.1f} ms at {fs:g} Hz, {m1[c]:.1f} ms at {new_fs:g} Hz"


def test_prepended_second_shifts_every_fiducial_by_one_second(lead, base):
    """Shifted by 1 s to half a sample: the high-pass filter's start-up differs by ~1e-6 mV,
    which reaches the template and moves a weakly determined P or T edge by up to ~0.4 ms."""
    x, fs = lead
    pad = np.full(int(fs), x[0])
    later = fit(np.concatenate([pad, x]), fs)
    i, j = _match(base, later.assign(r_peak_s=later["r_peak_s"] - 1.0), tol_s=0.5 / fs)
    assert i.size >= len(base) - 1
    away = base["r_peak_s"].to_numpy()[i] > 3.0          # away from the filter's start-up
    for c in FIDUCIALS:
        a = base[c].to_numpy()[i][away]
        b = later[c].to_numpy()[j][away]
        both = np.isfinite(a) & np.isfinite(b)
        np.testing.assert_allclose(b[both] - a[both], 1.0, atol=0.5 / fs, err_msg=c)
        assert np.isfinite(a).sum() - both.sum() <= 1, f"{c} present in one fit only"


def test_white_noise_at_30db_keeps_median_intervals(lead, base):
    x, fs = lead
    rng = np.random.default_rng(0)
    noise = rng.normal(0, np.std(x) / 10 ** (30 / 20), x.size)
    m0, m1 = medians(base), medians(fit(x + noise, fs))
    for c in INTERVALS:
        assert abs(m1[c] - m0[c]) <= 5.0, f"{c}: {m0[c]:.1f} -> {m1[c]:.1f} ms"


def test_six_glitch_samples_change_nothing_else(lead, base):
    x, fs = lead
    y = x.copy()
    at = int(0.45 * x.size)
    y[at:at + 6] = 1e30
    g = fit(y, fs)
    assert abs(len(g) - len(base)) <= 1
    assert abs(len(ok(g)) - len(ok(base))) <= 1
    m0, m1 = medians(base), medians(g)
    for c in INTERVALS:
        assert abs(m1[c] - m0[c]) <= 2.0, f"{c}: {m0[c]:.1f} -> {m1[c]:.1f} ms"
    hit = (g["window_start_s"] <= at / fs) & (g["window_end_s"] >= at / fs)
    assert g.loc[hit, "reason"].str.contains("glitch").all()


def test_clipped_stretch_leaves_other_beats_unchanged(lead, base):
    """A motion artefact (2 s, or a tenth of a short record) pushes the lead into the
    converter's rail (flat at the lead's highest value): beats 2 s and more away keep their
    intervals (2 ms each, the medians 0.5 ms; the template, the median of the beats, moves a
    little), and beats in the stretch say it in their reason."""
    x, fs = lead
    a = int(0.3 * x.size)
    b = a + int(min(2.0, 0.1 * x.size / fs) * fs)
    ptp = np.ptp(x)
    rail = np.max(x) + 0.25 * ptp
    y = x.copy()
    y[a:b] += 2.0 * ptp
    y = np.minimum(y, rail)
    c = fit(y, fs)
    t_a, t_b = a / fs, b / fs
    i, j = _match(base, c, tol_s=0.5 / fs)
    far = ((base["window_end_s"].to_numpy()[i] < t_a - 2.0)
           | (base["window_start_s"].to_numpy()[i] > t_b + 2.0))
    assert far.sum() >= 1
    for col in INTERVALS:
        u = base[col].to_numpy()[i][far]
        v = c[col].to_numpy()[j][far]
        np.testing.assert_allclose(v, u, atol=2.0, err_msg=col)
        assert abs(np.nanmedian(v) - np.nanmedian(u)) <= 0.5, col
    inside = (c["r_peak_s"] > t_a + 0.3) & (c["r_peak_s"] < t_b - 0.3)
    assert c.loc[inside, "reason"].str.contains("clipped").all()
