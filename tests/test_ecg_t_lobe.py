"""A terminal T lobe (gmesa.ecg.template.with_t_lobe): an upright lobe right after an
inverted T is modelled (T2) where the template shows it and the QT read with it lies nearer
the typical QTc than the QT read without it."""
from __future__ import annotations

import numpy as np
import pytest

from gmesa import ecg
from gmesa.core import mesa_sum
from gmesa.ecg.waves import QTC_TYPICAL, WAVES, typical_vector

FS, RR = 500.0, 1.0


def _record(t_wave, lobe=None, n=30, noise=0.004, seed=1):
    """Beats every RR s: the typical P, Q, R, S, the T ``t_wave`` (amplitude mV, center,
    half-width, sigmas s) and, given, an upright ``lobe`` after it (the same five)."""
    rng = np.random.default_rng(seed)
    r_times = 0.7 + RR * np.arange(n)
    x = np.arange(int((r_times[-1] + 0.9) * FS)) / FS
    y = np.zeros_like(x)
    for r in r_times:
        p = typical_vector(WAVES, rr=RR)
        p[20:25] = t_wave
        if lobe is not None:
            p = np.concatenate([p, lobe])
        p[1::5] += r
        near = (x > r - 0.6) & (x < r + 0.9)
        y[near] += mesa_sum(x[near], p, baseline="none")
    return ecg.Record(y + noise * rng.standard_normal(x.size), FS), r_times


#: an inverted T ending early (QT about 0.35 s at RR 1 s: shorter than any typical QTc)
SHORT_T = (-0.15, 0.20, 0.02, 0.04, 0.03)
#: ... then a small upright lobe: the T ends about 0.12 s later
LOBE = (0.08, 0.33, 0.01, 0.03, 0.03)


def test_a_lobe_that_brings_the_qt_nearer_the_typical_one_is_modelled():
    rec, r = _record(SHORT_T, LOBE)
    fit = ecg.fit_record(rec)
    assert "T2" in fit.waves and fit.info["t_lobe"] is True
    qt = np.nanmedian(fit.beats["qt_ms"]) / 1000.0
    assert abs(qt - QTC_TYPICAL) < 0.06, qt          # the QT runs to the lobe's end
    without = ecg.fit_record(rec, t_lobe=False)
    assert "T2" not in without.waves
    assert np.nanmedian(without.beats["qt_ms"]) / 1000.0 < qt - 0.08


def test_an_inverted_t_without_a_lobe_is_fitted_as_before():
    rec, _ = _record((-0.2, 0.28, 0.0, 0.05, 0.04))
    fit = ecg.fit_record(rec)
    assert "T2" not in fit.waves and fit.info["t_lobe"] is False
    assert fit.beats["T_amplitude"].median() < 0


def test_a_lobe_after_a_typical_qt_is_left_out():
    """A bump after an inverted T whose QT is already typical is not taken into the T."""
    rec, _ = _record((-0.2, 0.30, 0.0, 0.05, 0.03), (0.05, 0.45, 0.01, 0.03, 0.03))
    fit = ecg.fit_record(rec)
    assert "T2" not in fit.waves


def test_t_lobe_must_be_auto_or_false():
    with pytest.raises(ValueError, match="t_lobe"):
        ecg.FitOptions(t_lobe="yes")


def _two_stretches(first, second):
    """59.6 s of beats ``first`` then 61.6 s of beats ``second`` (each a (t_wave, lobe)
    pair of :func:`_record`): with ``chunk_s=60`` each fills one chunk (a chunk's beats
    follow its template)."""
    (a, _), (b, _) = _record(*first, n=59, seed=1), _record(*second, n=61, seed=2)
    split = a.signal.size / FS
    return ecg.Record(np.concatenate([a.signal, b.signal]), FS), split, b


UPRIGHT_T = tuple(typical_vector(WAVES)[20:25])


def test_a_lobe_is_decided_per_stretch_not_forced_on_a_later_upright_t():
    """An inverted T with a terminal lobe, then (a later chunk) an upright T: the later
    stretch is fitted without the lobe and reads the QT its beats alone read."""
    rec, split, later = _two_stretches((SHORT_T, LOBE), (UPRIGHT_T, None))
    fit = ecg.fit_record(rec, chunk_s=60)
    beats = fit.beats
    assert "T2" in fit.waves and fit.info["t_lobe"] is True
    stretches = fit.info["model_choice"]["stretches"]
    assert [s["hypothesis"]["T2"] for s in stretches] == [True, False]
    late = (beats["r_peak_s"] > split + 2).to_numpy()
    early = (beats["r_peak_s"] < split - 2).to_numpy()
    assert np.all(beats["T2_amplitude"][late] == 0.0)
    assert np.nanmedian(beats["T2_amplitude"][early]) > 0.05
    alone = np.nanmedian(ecg.fit_record(later, chunk_s=60).beats["qt_ms"])
    assert abs(np.nanmedian(beats["qt_ms"][late]) - alone) < 5.0   # 449 vs 416 ms before
    assert np.all(np.isfinite(fit.beat(int(np.flatnonzero(late)[3])).fit))  # a null lobe


def test_a_later_stretch_with_an_inverted_t_gets_its_own_lobe():
    """An upright T first, then an inverted T with its lobe: the record's first chunk no
    longer decides for all, the later stretch models the lobe and its QT runs to it."""
    rec, split, later = _two_stretches((UPRIGHT_T, None), (SHORT_T, LOBE))
    fit = ecg.fit_record(rec, chunk_s=60)
    beats = fit.beats
    assert "T2" in fit.waves
    late = (beats["r_peak_s"] > split + 2).to_numpy()
    early = (beats["r_peak_s"] < split - 2).to_numpy()
    assert np.all(beats["T2_amplitude"][early] == 0.0)
    qt_late = np.nanmedian(beats["qt_ms"][late]) / 1000.0
    assert abs(qt_late - QTC_TYPICAL) < 0.06, qt_late
    assert fit.info["template_params"]["T2_amplitude"] == 0.0   # the first template's


def test_beats_whose_t_inverts_within_one_chunk_are_not_read_upright():
    """Two morphologies in one chunk (59 beats of an inverted T with its lobe, 61 of an
    upright T): the template takes the upright one; the inverted beats, which its start
    describes far worse (RMSE 12 times the others'), are started again from their own
    guess and read inverted, saying that they are unlike the template (before: T read
    upright on the lobe, +0.21 mV, and no QT)."""
    rec, split, _ = _two_stretches((SHORT_T, LOBE), (UPRIGHT_T, None))
    beats = ecg.fit_record(rec).beats
    early = (beats["r_peak_s"] < split - 2).to_numpy()
    late = (beats["r_peak_s"] > split + 2).to_numpy()
    assert np.all(beats["T_amplitude"][early] < 0) and np.all(beats["T_amplitude"][late] > 0)
    assert beats["reason"][early].str.contains("unlike the template: T wave opposite sign").all()
    assert np.isfinite(beats["qt_ms"][early]).mean() > 0.9
