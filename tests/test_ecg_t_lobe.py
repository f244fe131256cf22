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
