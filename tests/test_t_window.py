"""No silent wrong intervals (issue 16, item 4): the beat window holds the end of the T
wave where the next beat allows it, a T off the window cuts is not reported, and the
template decides which deflection is the T wave for every beat.

Records are synthesized: at 123 beats/min (the T wave outlasts 0.62 RR), and with a
positive ST hump before an inverted T (either can be taken for T).  On main before this
change: the long-T record reported a T off at (or past) the window's end in 121 of 122
beats; the default beat at 123/min reported QTc 462 ms against a true 487 ms (the next
beat's P in the window); the hump record took the hump for T in 39% of its beats (QTc
about 300 against 440 ms).
"""
from __future__ import annotations

import numpy as np
import pytest

import gmesa
from gmesa import ecg
from gmesa.ecg.beats import (T_END_GAP, T_MARGIN, beat_windows, p_after_previous_t, p_start_seen,
                              room, t_end_seen)
from gmesa.ecg.identity import IDENTITY_NEAR, disagreements
from gmesa.ecg.options import FitOptions
from gmesa.ecg.waves import WAVES, typical_vector, wave_layout

LAY = wave_layout(WAVES)


def _beat(**waves):
    """The typical beat at 123/min with some waves replaced (5-tuples, s from R, mV)."""
    vec = typical_vector(WAVES, rr=60 / 123)
    for w, row in waves.items():
        vec[LAY.wave(w)] = row
    return vec


def _ok(fit):
    return fit.beats[fit.beats["status"] == "ok"]


def _matched_truth(beats, syn, column):
    """``column`` of the synthetic truth for each row of ``beats`` (by R peak)."""
    truth = syn.truth
    j = np.searchsorted(truth["r_peak_s"].to_numpy(), beats["r_peak_s"].to_numpy() - 0.01)
    return truth[column].to_numpy()[np.clip(j, 0, len(truth) - 1)]


def _no_qt_from_the_window(beats):
    """Every reported T off lies at least T_END_GAP inside its window; every ok beat
    without one says why."""
    reported = beats["qt_ms"].notna()
    inside = beats["window_end_s"] - 1 / 500 - beats["T_off_s"]
    assert (inside[reported] >= T_END_GAP - 1e-9).all()
    assert beats.loc[reported & beats["rr_ms"].notna(), "qtc_ms"].notna().all()
    silent = ~reported & beats["T_present"] & ~beats["reason"].str.contains("T wave runs")
    assert not silent.any()


@pytest.fixture(scope="module")
def long_t():
    """123/min, a T wave ending 0.32 s after R (past 0.62 RR = 0.30 s) and a short PR,
    so the T ends before the next beat's P begins."""
    syn = ecg.synthesize(duration=60, fs=500, heart_rate=123, noise=0.01, seed=3,
                         beat=_beat(P=(0.12, -0.10, 0.005, 0.012, 0.012),
                                    T=(0.3, 0.21, 0.02, 0.05, 0.035)))
    return syn, ecg.fit_record(syn.record)


def test_window_reaches_the_t_end_at_123_per_minute(long_t):
    syn, fit = long_t
    ok = _ok(fit)
    _no_qt_from_the_window(ok)
    post = (ok["window_end_s"] - ok["r_peak_s"]).median()
    assert post > 0.62 * 60 / 123 + 0.02        # longer than the RR rule alone
    reported = ok[ok["qt_ms"].notna()]
    assert len(reported) >= 0.75 * len(ok)
    err = reported["qtc_ms"].to_numpy() - _matched_truth(reported, syn, "qtc_ms")
    assert abs(np.nanmedian(err)) < 8.0, np.nanmedian(err)


def test_t_running_into_the_next_beat_is_fitted_less_the_next_p():
    """The default beat at 123/min: the T wave (off 0.295 s after R) ends after the next
    beat's P has begun (0.26 s).  Each beat is fitted on the signal less its neighbours'
    waves (gmesa.ecg.overlap): QT and PR on at least 95% of the beats, 95% of them within
    10 ms of the truth and all within 15 (before: QT on 3%, PR on 5%, every other beat
    withheld as 'T wave runs into the next beat'; with the template's rounds every beat
    within 10 ms, PR median |error| 2.6 ms; with the tied fit 1.8 ms, one beat 10.7)."""
    syn = ecg.synthesize(duration=60, fs=500, heart_rate=123, noise=0.01, seed=3)
    fit = ecg.fit_record(syn.record)
    ok = _ok(fit)
    assert "neighbour_waves" in fit.info and ok["neighbours_out"].all()
    _no_qt_from_the_window(ok)
    for column in ("qt_ms", "pr_ms"):
        err = ok[column].to_numpy() - _matched_truth(ok, syn, column)
        assert np.isfinite(err).mean() >= 0.95, column
        assert np.nanpercentile(np.abs(err), 95) < 10.0, column
        assert np.nanmax(np.abs(err)) < 15.0, column
    assert not ok["reason"].str.contains("runs into the next beat").any()


def test_windows_reach_the_template_t_end_up_to_the_next_beat():
    fs = 500.0
    r = np.arange(1, 11) * 250                        # RR 0.5 s
    _, end, _, _ = beat_windows(r, 6000, fs)
    post = lambda e: (e - r - 1) / fs                  # noqa: E731  (s after R)
    assert post(end) == pytest.approx(np.full(r.size, 0.31))          # 0.62 RR
    _, longer, _, _ = beat_windows(r, 6000, fs, reach=(0.28, 0.10))
    assert post(longer) == pytest.approx(np.full(r.size, 0.28 + T_MARGIN))
    _, capped, _, _ = beat_windows(r, 6000, fs, reach=(0.33, 0.15))
    assert post(capped) == pytest.approx(room(r, fs, 0.15))          # the next beat's P
    assert room(r, fs, 0.15) == pytest.approx(np.full(r.size, 0.35))
    _, never_shorter, _, _ = beat_windows(r, 6000, fs, reach=(0.10, 0.45))
    assert np.all(never_shorter == end)
    _, at_end, _, _ = beat_windows(np.array([250, 500, 750]), 920, fs, reach=(0.3, 0.0))
    assert at_end.tolist() == [421, 671, 920]         # not past the signal's end


def test_windows_reach_back_to_a_long_pr_up_to_the_previous_t():
    fs = 500.0
    r = np.arange(1, 11) * 375                        # RR 0.75 s: 0.317 s before R
    start, _, _, _ = beat_windows(r, 6000, fs)
    pre = lambda s: (r - s) / fs                       # noqa: E731  (s before R)
    assert pre(start) == pytest.approx(np.full(r.size, 0.75 - 0.5 * np.sqrt(0.75)), abs=1e-3)
    same, _, _, _ = beat_windows(r, 6000, fs, reach=(0.36, 0.40))          # no reach back
    assert np.all(same == start)
    back, _, _, _ = beat_windows(r, 6000, fs, reach=(0.36, 0.30, 0.34))
    assert pre(back) == pytest.approx(np.full(r.size, 0.34))
    capped, _, _, _ = beat_windows(r, 6000, fs, reach=(0.36, 0.40, 0.44))  # previous T end
    assert pre(capped) == pytest.approx(np.full(r.size, 0.75 - 0.36))


@pytest.mark.parametrize("rate", [70, 75])
def test_a_long_pr_interval_is_read(rate):
    """First-degree AV block, PR 346 ms: at 70 and 75/min the P wave starts where the
    window does.  The windows reach back to the template's P onset as far as the
    previous T wave allows, and the template built on them must show the same P wave.
    (On main before this change: at 70/min PR 379 ms, the P on 30 ms early; at 75/min
    the P on of 18 of 74 beats withheld, its P peaking at the window start.)"""
    beat = typical_vector(WAVES)
    beat[LAY.index("P", "center")] = -0.33
    syn = ecg.synthesize(duration=60, fs=500, heart_rate=rate, beat=beat, seed=3, snr_db=25)
    beats = _ok(ecg.fit_record(syn.record))
    true_pr = np.median(syn.truth["QRS_on_s"] - syn.truth["P_on_s"]) * 1e3
    assert beats["pr_ms"].notna().mean() > 0.85
    assert abs(np.nanmedian(beats["pr_ms"]) - true_pr) < 10.0, (np.nanmedian(beats["pr_ms"]), true_pr)
    _no_pr_from_before_the_window(beats)


def test_t_end_seen():
    cut, note = t_end_seen(np.array([0.30, 0.335, 0.30, np.nan]), np.array([0.34, 0.34, 0.40, 0.4]),
                           np.array([0.5, 0.5, 0.28, 0.5]))
    assert cut.tolist() == [False, True, True, False]
    assert note.tolist() == ["", "T wave runs to the window end",
                             "T wave runs into the next beat", ""]


def test_p_after_previous_t():
    # beat 1's P starts 20 ms before beat 0's T ends (0.40 s after its R, RR 0.60 s)
    cut, note = p_after_previous_t(np.array([-0.2, -0.22, -0.15, np.nan]),
                                   np.array([0.40, 0.30, np.nan, 0.3]), np.array([np.nan, 0.6, 0.6, 0.6]))
    assert cut.tolist() == [False, True, False, False]
    assert note[1] == "P wave starts before the previous T wave ends"


@pytest.mark.parametrize("rate", [100, 110])
def test_a_p_wave_on_the_previous_t_gives_no_pr(rate):
    """First-degree AV block (PR 317 ms) at 100 and 110/min: the P starts on the previous
    T wave.  Before this check the PR read was 209 and 174 ms on 92 of 99 and 108 of 109
    beats; now every PR reported is within 25 ms of the truth, and the beats without
    one say why."""
    beat = typical_vector(WAVES)
    beat[LAY.index("P", "center")] = -0.30
    syn = ecg.synthesize(duration=60, fs=500, heart_rate=rate, beat=beat, seed=3, snr_db=25)
    beats = _ok(ecg.fit_record(syn.record))
    true_pr = np.median(syn.truth["QRS_on_s"] - syn.truth["P_on_s"]) * 1e3
    pr = beats["pr_ms"].dropna()
    assert (np.abs(pr - true_pr) < 25).all() or len(pr) <= 2, (pr.describe(), true_pr)
    _no_pr_from_before_the_window(beats)


def test_p_start_seen():
    cut, note = p_start_seen(np.array([-0.195, -0.185, -0.25, np.nan]),
                             np.array([-0.20, -0.20, -0.30, -0.2]))
    assert cut.tolist() == [True, False, False, False]
    assert note.tolist() == ["P wave peaks at the window start", "", "", ""]


def _no_pr_from_before_the_window(beats):
    """Every reported P on belongs to a P wave peaking at least T_END_GAP inside the
    window; every beat with a P but no P on says why."""
    reported = beats["P_on_s"].notna()
    inside = beats["P_peak_s"] - beats["window_start_s"]
    assert (inside[reported] >= T_END_GAP - 1e-9).all()
    assert beats.loc[~reported, "pr_ms"].isna().all()
    why = "P wave peaks|P wave starts before the previous T wave ends"
    silent = ~reported & beats["P_present"] & ~beats["reason"].str.contains(why)
    assert not silent.any()


def test_no_pr_from_a_p_wave_before_the_window():
    """At 140/min with a PR of 236 ms the P wave peaks where the window (0.2 s before R)
    begins: its onset would be the model's extrapolation (on main before this check:
    PR 257 ms reported on all 69 beats, the P on 21 ms early), so no P on or PR is
    reported and the reason says why."""
    beat = typical_vector(WAVES, rr=60 / 140)
    beat[LAY.wave("P")] = (0.15, -0.22, 0.01, 0.02, 0.02)
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=140, noise=0.01, seed=3, beat=beat)
    beats = _ok(ecg.fit_record(syn.record))
    assert len(beats) > 60
    _no_pr_from_before_the_window(beats)
    assert beats["P_present"].mean() > 0.9                       # the P wave is there...
    cut = beats["reason"].str.contains("P wave peaks at the window start")
    assert cut.mean() > 0.9 and beats.loc[cut, "pr_ms"].isna().all()   # ... its start is not


def test_no_pr_from_before_the_window_on_a_fast_icu_record(physionet):
    """ICU record 03700181 (MCL1, 10 min at about 122/min): most beats' fitted P peaks
    at the window start (median PR 246 ms reported before this check); none of them
    reports a P on or PR."""
    beats = _ok(ecg.fit_record(ecg.read_record(physionet / "03700181.hea", lead="MCL1")))
    _no_pr_from_before_the_window(beats)
    assert beats["reason"].str.contains("P wave peaks at the window start").mean() > 0.5


# --- wave identity ----------------------------------------------------------------


def _hump_record(seed=1):
    """80/min, an inverted T (-0.2 mV at 0.24 s) after a positive ST hump (0.2 mV at
    0.12 s, modulated by +-0.1 mV over 4 s as breathing does); the hump is no wave of
    the synthesizer's, so the truth's T is the inverted one."""
    beat = typical_vector(WAVES)
    beat[LAY.wave("T")] = (-0.2, 0.24, 0.02, 0.04, 0.035)
    syn = ecg.synthesize(duration=60, fs=500, heart_rate=80, noise=0.01, seed=seed,
                         beat=beat)
    fs = syn.record.fs
    sig = np.asarray(syn.record.signal, dtype=float).copy()
    x = np.arange(sig.size) / fs
    for ri in syn.truth["r_peak_s"]:
        a = 0.2 + 0.1 * np.sin(2 * np.pi * ri / 4.0)
        lo, hi = int(ri * fs), min(int((ri + 0.4) * fs), sig.size)
        sig[lo:hi] += gmesa.mesa_sum(x[lo:hi], np.array([a, ri + 0.12, 0.01, 0.03, 0.03, 0.0]))
    return syn, ecg.Record(sig, fs, name="hump")


@pytest.fixture(scope="module")
def hump():
    syn, rec = _hump_record()
    # every beat from its own guess (as beats whose QRS correlates below template_corr
    # are): each then takes the larger of hump and T, and the record splits
    return syn, ecg.fit_record(rec, template_corr=0.999)


def test_one_t_identity_for_the_hump_record(hump):
    syn, fit = hump
    ok = _ok(fit)
    assert (ok["start"] == "own").mean() > 0.8
    inverted = ok["T_amplitude"] < 0
    assert inverted.mean() >= 0.95, inverted.mean()
    assert ok.loc[~inverted, "reason"].str.contains("unlike the template").all()
    agree = ok[inverted & ok["qtc_ms"].notna()]
    qtc = agree["qtc_ms"].to_numpy()
    assert np.mean(np.abs(qtc - np.median(qtc)) < 40) >= 0.95      # unimodal
    truth = np.median(_matched_truth(agree, syn, "qtc_ms"))
    assert abs(np.median(qtc) - truth) < 30, (np.median(qtc), truth)   # hump: ~150 ms off


def test_beats_with_another_t_keep_it_and_say_so():
    """Every fifth beat has its T inverted (as after an ectopic focus would): held at the
    template's upright T it fits far worse, so it keeps its own and its reason says so;
    the other beats are untouched."""
    syn = ecg.synthesize(duration=40, fs=500, heart_rate=70, noise=0.01, seed=5)
    fs = syn.record.fs
    sig = np.asarray(syn.record.signal, dtype=float).copy()
    x = np.arange(sig.size) / fs
    flip = np.zeros(len(syn.params), dtype=bool)
    flip[2::5] = True
    for i in np.flatnonzero(flip):
        t_row = syn.params.loc[i, [f"T_{p}" for p in gmesa.lineshapes.GMF_PARAMS]].to_numpy()
        lo, hi = int((t_row[1] - 0.3) * fs), int((t_row[1] + 0.3) * fs)
        sig[lo:hi] -= 2 * gmesa.mesa_sum(x[lo:hi], np.append(t_row, 0.0))
    fit = ecg.fit_record(ecg.Record(sig, fs))
    b = fit.beats
    r = _matched_truth(b, syn, "beat")
    ok = (b["status"] == "ok").to_numpy()
    flipped = flip[r] & ok
    assert flipped.sum() >= 5
    assert (b.loc[flipped, "T_amplitude"] < 0).all()
    assert b.loc[flipped, "reason"].str.contains("T wave opposite sign").all()
    assert not b.loc[~flip[r] & ok, "reason"].str.contains("unlike").any()


def test_disagreements_by_sign_and_place():
    opts = FitOptions()
    lay = opts.layout
    tmpl = np.zeros(lay.size)
    tmpl[lay.wave("R")] = (1.0, 0.0, 0.0, 0.01, 0.01)
    tmpl[lay.wave("T")] = (0.3, 0.25, 0.0, 0.05, 0.04)
    beats = np.tile(tmpl, (4, 1))
    beats[1, lay.index("T", "amplitude")] = -0.2                     # other sign
    beats[2, lay.index("T", "center")] = 0.25 + IDENTITY_NEAR + 0.01  # elsewhere
    beats[3, lay.index("T", "amplitude")] = -0.005                   # no sign to speak of
    assert disagreements(beats, tmpl, lay).tolist() == [False, True, True, False]
    tmpl[lay.index("T", "amplitude")] = 0.001                        # template shows no T
    assert disagreements(beats, tmpl, lay) is None
