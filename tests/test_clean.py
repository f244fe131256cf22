"""gmesa.ecg.clean: zero-phase wander removal, notch and low-pass; NaN gaps do not spread."""
from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from gmesa.ecg.clean import WANDER_METHODS, clean, fill_gaps, lowpass, notch, remove_wander


def _bumps(fs, duration=10.0, centers=(2.0, 4.5, 7.25), width=0.012, amplitude=1.0):
    """Gaussian bumps (QRS-like, width in s) on a zero line; returns t (s), x (mV), peak samples."""
    t = np.arange(int(duration * fs)) / fs
    x = np.zeros_like(t)
    peaks = np.array([int(round(c * fs)) for c in centers])  # centres on samples
    for p in peaks:
        x += amplitude * np.exp(-0.5 * ((t - p / fs) / width) ** 2)
    return t, x, peaks


FILTERS = {
    "highpass": lambda x, fs: remove_wander(x, fs, "highpass"),
    "median": lambda x, fs: remove_wander(x, fs, "median"),
    "notch50": lambda x, fs: notch(x, fs, 50.0),
    "lowpass40": lambda x, fs: lowpass(x, fs, 40.0),
    "clean": lambda x, fs: clean(x, fs),
    "clean_all": lambda x, fs: clean(x, fs, wander="median", powerline=60.0, lowpass=40.0),
}


@pytest.mark.parametrize("fs", [125.0, 360.0, 1000.0])
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_peaks_stay_at_the_same_sample(name, fs):
    t, x, peaks = _bumps(fs)
    x = x + 0.3 * np.sin(2 * np.pi * 0.2 * t)  # slow baseline wander
    y = FILTERS[name](x, fs)
    assert y.shape == x.shape and y.dtype == np.float64
    half = int(0.05 * fs)
    for p in peaks:
        assert p - half + int(np.argmax(y[p - half:p + half + 1])) == p


@pytest.mark.parametrize("method", WANDER_METHODS)
def test_wander_removed(method):
    fs = 500.0
    t, x, peaks = _bumps(fs, duration=20.0, centers=np.arange(0.5, 20, 0.8))
    wander = 0.8 * np.sin(2 * np.pi * 0.15 * t) + 0.3 * t / 20
    y = remove_wander(x + wander, fs, method=method)
    inner = slice(int(2 * fs), int(18 * fs))
    between = np.ones(t.size, dtype=bool)
    for p in peaks:
        between[max(p - int(0.1 * fs), 0):p + int(0.1 * fs)] = False
    between[: inner.start] = between[inner.stop:] = False
    # the line between bumps is back near zero (wander was up to 1.1 mV)
    assert np.max(np.abs(y[between])) < 0.08
    # bumps keep most of their height
    assert np.min(y[peaks[(peaks > inner.start) & (peaks < inner.stop)]]) > 0.85


def test_notch_removes_mains_and_keeps_the_rest():
    fs = 500.0
    t = np.arange(int(10 * fs)) / fs
    slow = np.sin(2 * np.pi * 5 * t)
    for f in (50.0, 60.0):
        y = notch(slow + 0.5 * np.sin(2 * np.pi * f * t), fs, freq=f)
        inner = slice(int(2 * fs), int(8 * fs))
        npt.assert_allclose(y[inner], slow[inner], atol=0.01)


def test_lowpass_and_clean_skip_rule():
    fs = 250.0
    t = np.arange(int(8 * fs)) / fs
    x = np.sin(2 * np.pi * 3 * t) + 0.3 * np.sin(2 * np.pi * 90 * t)
    y = lowpass(x, fs, 40.0)
    inner = slice(int(1 * fs), int(7 * fs))
    npt.assert_allclose(y[inner], np.sin(2 * np.pi * 3 * t)[inner], atol=0.01)
    # lowpass >= 0.45 fs is skipped, powerline >= fs/2 is skipped
    npt.assert_allclose(clean(x, fs, wander=None, lowpass=120.0), x)
    npt.assert_allclose(clean(x, fs, wander=None, powerline=150.0), x)
    npt.assert_allclose(clean(x, fs, wander=None), x)


def test_nan_gaps_do_not_spread():
    fs = 360.0
    t, x, peaks = _bumps(fs, duration=20.0, centers=np.arange(0.5, 20, 0.9))
    x = x + 0.2 * np.sin(2 * np.pi * 0.3 * t)
    gap = slice(int(8 * fs), int(10 * fs))
    xg = x.copy()
    xg[gap] = np.nan
    xg[:5] = np.nan
    xg[-3:] = np.nan
    for name, f in FILTERS.items():
        y = f(xg, fs)
        npt.assert_array_equal(np.isnan(y), np.isnan(xg), err_msg=name)
        ref = f(x, fs)
        far = np.r_[int(1 * fs):int(6 * fs), int(12 * fs):int(19 * fs)]
        # away from the gap the result hardly depends on it
        assert np.max(np.abs(y[far] - ref[far])) < 0.05, name


def test_fill_gaps():
    x = np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.inf])
    y, mask = fill_gaps(x)
    npt.assert_allclose(y, [1.0, 1.0, 2.0, 3.0, 4.0, 4.0])
    npt.assert_array_equal(mask, [True, False, True, True, False, True])
    z = np.arange(3.0)
    same, none = fill_gaps(z)
    assert same is z and none is None
    allnan, m = fill_gaps(np.full(4, np.nan))
    npt.assert_array_equal(allnan, 0.0)
    assert m.all()


def test_two_dimensional_matches_per_lead():
    fs = 250.0
    t, x, _ = _bumps(fs)
    X = np.column_stack([x + 0.2 * np.sin(t), -x, np.full_like(x, np.nan)])
    X[100:200, 0] = np.nan
    Y = clean(X, fs, wander="median", powerline=50.0, lowpass=40.0)
    assert Y.shape == X.shape
    for j in range(2):
        npt.assert_allclose(Y[:, j], clean(X[:, j], fs, wander="median", powerline=50.0, lowpass=40.0))
    assert np.isnan(Y[:, 2]).all()
    Y2 = remove_wander(X, fs)
    npt.assert_allclose(Y2[:, 1], remove_wander(X[:, 1], fs))


def test_short_and_constant_signals():
    fs = 500.0
    for n in (1, 2, 5, 30):
        x = np.linspace(0, 1, n)
        for name, f in FILTERS.items():
            y = f(x, fs)
            assert y.shape == (n,) and np.isfinite(y).all(), (name, n)
    npt.assert_allclose(remove_wander(np.full(2000, 3.0), fs), 0.0, atol=1e-9)
    npt.assert_allclose(remove_wander(np.full(2000, 3.0), fs, "median"), 0.0, atol=1e-12)


def test_input_not_modified():
    x = np.random.default_rng(0).normal(size=1000)
    x[10:20] = np.nan
    before = x.copy()
    clean(x, 250.0, powerline=50.0, lowpass=40.0)
    npt.assert_array_equal(x, before)


def test_errors_list_valid_choices():
    x = np.zeros(1000)
    with pytest.raises(ValueError, match=r"unknown wander method 'wavelet'; valid methods: highpass, median"):
        remove_wander(x, 250.0, method="wavelet")
    with pytest.raises(ValueError, match=r"unknown wander method 'butter'; valid methods: highpass, median or None"):
        clean(x, 250.0, wander="butter")
    with pytest.raises(ValueError, match=r"cutoff=200.0 Hz must lie between 0 and fs/2 = 125 Hz"):
        remove_wander(x, 250.0, cutoff=200.0)
    with pytest.raises(ValueError, match=r"notch freq=150 Hz must lie between 0 and fs/2 = 125 Hz"):
        notch(x, 250.0, freq=150.0)
    with pytest.raises(ValueError, match=r"quality"):
        notch(x, 250.0, quality=0.0)
    with pytest.raises(ValueError, match=r"lowpass cutoff=130 Hz"):
        lowpass(x, 250.0, 130.0)
    with pytest.raises(ValueError, match=r"lowpass=-1 Hz must be positive"):
        clean(x, 250.0, lowpass=-1)
    with pytest.raises(ValueError, match=r"fs=0(\.0)? Hz must be a positive finite sampling rate"):
        clean(x, 0)
    with pytest.raises(ValueError, match=r"1-D \(n,\) or 2-D"):
        clean(np.zeros((2, 2, 2)), 250.0)
