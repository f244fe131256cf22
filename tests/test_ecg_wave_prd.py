"""Each wave's own PRD (``P_prd``, ``QRS_prd``, ``T_prd``): where the model leaves part of
a wave out, that wave's PRD says so even when the whole beat's PRD looks fine."""
import numpy as np
import pytest

from gmesa import ecg
from gmesa.ecg.io import Record


def _fit(notch_mv):
    """A synthetic record whose every QRS carries a narrow bump of R's sign 40 ms after R
    (``notch_mv`` high): an R' the P-Q-R-S-T model has no component for (``r_prime``
    off: the R' component is tested in test_ecg_r_prime.py)."""
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=60, noise=0.01, seed=4)
    sig = np.asarray(syn.record.signal, float).copy()
    t = np.arange(sig.shape[0]) / syn.record.fs
    for r in syn.rpeaks / syn.record.fs:
        sig += (notch_mv * np.exp(-0.5 * ((t - r - 0.040) / 0.006) ** 2))[:, None] \
            if sig.ndim == 2 else notch_mv * np.exp(-0.5 * ((t - r - 0.040) / 0.006) ** 2)
    return ecg.fit_record(Record(sig, syn.record.fs), r_prime=False).beats


def test_wave_prd_columns_are_small_where_the_model_describes_the_beat():
    b = _fit(0.0)
    ok = b["status"] == "ok"
    assert ok.mean() > 0.9
    for w in ("P", "QRS", "T"):
        v = b.loc[ok, f"{w}_prd"]
        assert np.isfinite(v).mean() > 0.9, w
    assert b.loc[ok, "QRS_prd"].median() < 5.0
    assert b.loc[ok, "T_prd"].median() < 15.0


def test_qrs_prd_finds_a_deflection_the_model_leaves_out():
    clean, notched = _fit(0.0), _fit(0.5)
    ok = notched["status"] == "ok"
    assert ok.mean() > 0.8
    q_clean = clean.loc[clean["status"] == "ok", "QRS_prd"].median()
    q_notch = notched.loc[ok, "QRS_prd"].median()
    assert q_notch > 3.0 * q_clean and q_notch > 10.0
    # the misfit is the QRS's: its PRD grows far more than the whole beat's
    p_clean = clean.loc[clean["status"] == "ok", "prd"].median()
    assert q_notch / q_clean > 2.0 * notched.loc[ok, "prd"].median() / p_clean


def test_wave_prd_is_nan_without_the_wave_or_the_fit():
    from types import SimpleNamespace

    from gmesa import mesa_sum
    from gmesa.core import baseline_spec
    from gmesa.ecg.beatmodel import wave_prd
    from gmesa.ecg.options import FitOptions

    opts = FitOptions()
    lay = opts.layout
    X = np.tile(np.linspace(-0.3, 0.5, 401), (2, 1))
    vec = np.zeros(lay.size)
    for w in lay.waves:  # every wave flat but R
        vec[lay.wave(w)] = (1.0 if w == "R" else 0.0, 0.3 * (w == "T"), 0.0, 0.01, 0.01)
    for st in lay.steps:  # flat steps
        vec[lay.step(st)] = (0.0, 0.05, 0.01)
    params = np.tile(vec, (2, 1))
    y = mesa_sum(X[0], vec, baseline=baseline_spec(lay.n_baseline), steps=lay.n_steps)
    rows = SimpleNamespace(X=X, Y=np.tile(y, (2, 1)), valid=np.ones(X.shape, bool),
                           lengths=np.full(2, X.shape[1]))
    fit = SimpleNamespace(opts=opts, rows=rows, params=params)
    fid = {"P_on": np.full(2, np.nan), "P_off": np.full(2, np.nan),
           "QRS_on": np.full(2, -0.04), "QRS_off": np.full(2, 0.04),
           "T_on": np.full(2, 0.1), "T_off": np.full(2, 0.3)}
    out = wave_prd(fit, np.array([True, False]), fid)
    assert out["QRS_prd"][0] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(out["QRS_prd"][1]) and np.isnan(out["P_prd"]).all()


def _misfit_case(qrs_prd):
    """One beat at 500 Hz whose QRS starts with a deflection 40 ms before R (its signal
    onset about -50 ms) while the model's QRS onset says -20 ms."""
    from types import SimpleNamespace

    t = np.arange(-0.3, 0.4, 0.002)
    y = np.exp(-0.5 * (t / 0.008) ** 2) + 0.4 * np.exp(-0.5 * ((t + 0.04) / 0.005) ** 2)
    rows = SimpleNamespace(Xv=t[None], Yv=y[None])
    fid = {"QRS_on": np.array([-0.020]), "P_off": np.array([-0.010])}
    reason = np.array([""], dtype=object)
    return fid, rows, reason, np.array([qrs_prd])


def test_a_misfit_qrs_starts_where_the_signal_does():
    """QRS PRD above QRS_MISFIT_PRD: the onset is the earlier of the model's and the
    signal's; the P offset stays before it; the reason says so.  Below it: the model's."""
    from gmesa.ecg.beatmodel import QRS_MISFIT_PRD, misfit_qrs_onset

    fid, rows, reason, prd = _misfit_case(QRS_MISFIT_PRD + 5.0)
    misfit_qrs_onset(fid, prd, rows, reason)
    assert -0.065 < fid["QRS_on"][0] < -0.045
    assert fid["P_off"][0] <= fid["QRS_on"][0]
    assert "QRS onset read off the signal" in reason[0]
    fid, rows, reason, prd = _misfit_case(QRS_MISFIT_PRD - 5.0)
    misfit_qrs_onset(fid, prd, rows, reason)
    assert fid["QRS_on"][0] == -0.020 and reason[0] == ""


def test_a_misfit_qrs_keeps_an_absent_p_absent_and_a_later_signal_onset_out():
    from gmesa.ecg.beatmodel import QRS_MISFIT_PRD, misfit_qrs_onset

    fid, rows, reason, prd = _misfit_case(QRS_MISFIT_PRD + 5.0)
    fid["P_off"][0] = np.nan           # no P wave: none appears
    misfit_qrs_onset(fid, prd, rows, reason)
    assert np.isnan(fid["P_off"][0]) and fid["QRS_on"][0] < -0.045
    fid, rows, reason, prd = _misfit_case(QRS_MISFIT_PRD + 5.0)
    fid["QRS_on"][0] = -0.090          # the model's is already earlier: it stays
    misfit_qrs_onset(fid, prd, rows, reason)
    assert fid["QRS_on"][0] == -0.090 and reason[0] == ""


def test_fit_record_reads_a_notched_qrs_from_its_first_deflection():
    """Every QRS of a synthetic record starts with a bump of R's sign 45 ms before R (SD 6
    ms), which no component holds (``r_prime=False``): the QRS PRD flags it and the onset
    is read before the bump (with ``signal_onset``, the default); ``signal_onset=False``
    keeps the model's, inside the bump, as the pooled reading of several leads does."""
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=60, noise=0.01, seed=4)
    sig = np.asarray(syn.record.signal, float).copy()
    t = np.arange(sig.size) / syn.record.fs
    for r in syn.rpeaks / syn.record.fs:
        sig += 0.5 * np.exp(-0.5 * ((t - r + 0.045) / 0.006) ** 2)
    onsets = {}
    for signal_onset in (True, False):
        b = ecg.fit_record(Record(sig, syn.record.fs), signal_onset=signal_onset,
                           r_prime=False).beats
        ok = b["status"] == "ok"
        assert ok.mean() > 0.9 and b.loc[ok, "QRS_prd"].median() > 15.0
        onsets[signal_onset] = float((b["QRS_on_s"] - b["r_peak_s"])[ok].median())
        said = b.loc[ok, "reason"].str.contains("QRS onset read off the signal").mean()
        assert said > 0.8 if signal_onset else said == 0.0
    assert onsets[True] < -0.045 - 1.5 * 0.006 < onsets[False]
