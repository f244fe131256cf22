"""gmesa.fit_pulses (issue 19): onsets, template, per-pulse fits and their flags, the
interpretability rules on hand-made cases, files, the command line, figures, and the real
PPG/ABP channels (marked ``data``)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import gmesa  # noqa: E402
from gmesa import cli  # noqa: E402
from gmesa.decomp.interpret import interpretability  # noqa: E402
from gmesa.decomp.onsets import dominant_period, find_onsets  # noqa: E402
from gmesa.plot.any_fit import decomposition, pulses, pulses_overview  # noqa: E402
from gmesa.decomp.pulse_io import count_wraps, unwrap  # noqa: E402

FS = 125.0
#: the pulse's three components: amplitude, centre (s from onset), widths (s)
SHAPE = ((1.0, 0.12, 0.0, 0.04, 0.06), (0.45, 0.28, 0.0, 0.05, 0.05),
         (0.30, 0.45, 0.0, 0.06, 0.10))


def pulse_train(n=40, seed=0, noise=0.005, vanish=None):
    """A pulse signal with known onsets; pulse ``vanish`` lacks its second component."""
    rng = np.random.default_rng(seed)
    periods = 0.8 * (1 + 0.04 * rng.standard_normal(n))
    onsets = 0.5 + np.r_[0.0, np.cumsum(periods)[:-1]]
    t = np.arange(int((onsets[-1] + 1.5) * FS)) / FS
    y = 0.2 * np.sin(2 * np.pi * 0.2 * t)                       # breathing
    for i, o in enumerate(onsets):
        scale = 1 + 0.1 * rng.standard_normal()
        for j, (a, c, h, sl, sr) in enumerate(SHAPE):
            if not (i == vanish and j == 1):
                y += gmesa.gmf(t, a * scale, o + c, h, sl, sr)
    return y + noise * rng.standard_normal(t.size), onsets


@pytest.fixture(scope="module")
def train():
    return pulse_train(vanish=20)


@pytest.fixture(scope="module")
def fit(train):
    return gmesa.fit_pulses(train[0], FS, max_components=4, info={"record": "syn", "unit": "au"})


@pytest.mark.parametrize("fs", [50.0, 100.0, 250.0])
def test_a_regular_rhythm_is_read_at_its_period_not_a_multiple(fs):
    """Pulses every 0.8 s without variation: the autocorrelation peaks at 0.8, 1.6 and
    2.4 s have about the same height, and the period is the shortest of them (an
    earlier rule, which only looked at T/2, read 2.4 s at 50 and 250 Hz)."""
    t = np.arange(0, 60, 1 / fs)
    y = sum(gmesa.gmf(t, a, o + c, h, sl, sr) for o in np.arange(0.5, 59, 0.8)
            for a, c, h, sl, sr in SHAPE)
    y = y + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    period, strength = dominant_period(y, fs)
    assert abs(period - 0.8) < 2 / fs and strength > 0.9
    assert find_onsets(y, fs).size == 74


def test_bigeminy_finds_every_pulse():
    """Pulses 0.6 and 1.2 s apart in turn: the rhythm repeats every 1.8 s, but the pulses
    are found at their own spacing (half of them were lost, and every window held two
    pulses, all 'ok')."""
    t = np.arange(0, 60, 1 / FS)
    starts = np.cumsum(np.r_[0.5, np.tile([0.6, 1.2], 40)])
    starts = starts[starts < 58.5]
    y = sum(gmesa.gmf(t, a, o + c, h, sl, sr) for o in starts for a, c, h, sl, sr in SHAPE)
    y = y + 0.005 * np.random.default_rng(1).standard_normal(t.size)
    period, _ = dominant_period(y, FS)
    assert abs(period - 1.8) < 0.02
    on = find_onsets(y, FS) / FS
    assert on.size == starts.size
    assert np.all(np.abs(on - starts) < 0.08)


def test_bigeminy_pulses_are_all_fitted_and_a_missed_onset_is_not():
    """Pulses 0.6 and 1.2 s apart in turn: a long window is a long diastole, fitted (half
    of them were 'failed' as 1.8x the median of their neighbours); with one onset left out
    of the given ones, the window that holds two upstrokes is still not fitted.  (One
    template serves both kinds of window: many pulses are flagged, see docs/decompose.md.)"""
    y, fs = _two_component_train((0.6, 1.2))
    fit = gmesa.fit_pulses(y, fs)
    assert len(fit.pulses) >= 60
    assert not fit.pulses.reason.str.contains("missed or an extra onset").any()
    y, fs = _two_component_train((0.8,))                    # regular: drop one onset
    regular = gmesa.fit_pulses(y, fs)
    onsets = np.round(regular.pulses.onset_s.to_numpy() * fs).astype(int)
    onsets = np.r_[onsets, int(round(regular.info["last_onset_s"] * fs))]
    again = gmesa.fit_pulses(y, fs, onsets=np.delete(onsets, 10))
    failed = again.pulses[again.pulses.status == "failed"]
    assert len(failed) == 1 and "missed or an extra onset" in failed.reason.iloc[0]


def test_an_artefact_or_a_signal_without_pulses_says_so(train):
    y = train[0].copy()
    y[3000] = 1e3        # one absurd sample no longer hides 40 pulses
    assert find_onsets(y, FS).size == train[1].size
    t = np.arange(0, 30, 1 / FS)
    slow = np.sin(2 * np.pi * 0.15 * t)  # no repeating lag between 0.25 and 2.5 s
    assert dominant_period(slow, FS) == (pytest.approx(np.nan, nan_ok=True), 0.0)
    with pytest.raises(ValueError, match="not periodic enough"):
        find_onsets(slow, FS)


@pytest.mark.parametrize("scale", [1e-9, 1e9])
def test_pulses_do_not_depend_on_the_units(fit, train, scale):
    """The same channel in other units (1e-9 gave a one-component template and every pulse
    flagged at PRD 35%)."""
    other = gmesa.fit_pulses(train[0] * scale, FS, max_components=4)
    assert other.template.n_components == fit.template.n_components
    assert (other.pulses.status == fit.pulses.status).mean() > 0.95
    np.testing.assert_allclose(other.pulses.prd.median(), fit.pulses.prd.median(), rtol=0.02)


def test_a_change_of_rate_is_followed():
    """12 pulses at 75/min, then 30 at 133/min: every window is fitted (against the
    median of all windows, the first 12 were 'failed' as 1.77x too long)."""
    t = np.arange(0, 30, 1 / FS)
    starts = 0.5 + np.r_[0.0, np.cumsum(np.r_[np.full(12, 0.8), np.full(30, 0.45)])]
    starts = starts[starts < 28.5]
    y = sum(gmesa.gmf(t, a, o + c * 0.6, h, sl * 0.6, sr * 0.6) for o in starts
            for a, c, h, sl, sr in SHAPE)
    y = y + 0.005 * np.random.default_rng(2).standard_normal(t.size)
    fit = gmesa.fit_pulses(y, FS)
    assert len(fit.pulses) >= starts.size - 2
    assert not fit.pulses.reason.str.contains("a missed or an extra onset").any()


def _two_component_train(rr, wander=0.0, seed=3, fs=250.0, duration=60.0):
    """A PPG-like train of two bi-Gaussian components (the truth: K = 2) with the RR
    intervals ``rr`` (s, cycled), a 0.2-Hz wander of ``wander`` times the pulse height."""
    t = np.arange(0, duration, 1 / fs)
    starts = np.cumsum(np.r_[0.3, np.resize(rr, int(duration / min(rr)) + 2)])
    starts = starts[starts < duration - 1.0]
    y = sum(gmesa.gmf(t, a, o + c, 0.0, sl, sr) for o in starts
            for a, c, sl, sr in ((1.0, 0.14, 0.05, 0.09), (0.45, 0.38, 0.06, 0.12)))
    y = y + wander * np.sin(2 * np.pi * 0.2 * t + 0.7)
    return y + 0.01 * np.random.default_rng(seed).standard_normal(t.size), fs


@pytest.mark.parametrize("rr, wander", [((0.8,), 0.25), ((0.7, 0.9), 0.0), ((0.75, 0.95), 0.1)])
def test_the_template_k_is_chosen_on_the_pulses_not_the_clean_median(rr, wander):
    """Breathing wander of a quarter of the pulse height, or alternating RR: the median
    pulse's own criterion took K 4 (or 3) with a component for the wander, and 72 of 74
    (36 of 49) pulses were flagged; scored on 30 pulses, K is the truth, 2, and the
    pulses are ok."""
    y, fs = _two_component_train(rr, wander)
    fit = gmesa.fit_pulses(y, fs)
    assert fit.template.n_components == 2
    assert (fit.pulses.status == "ok").mean() > 0.95


def test_onsets_and_period(train):
    y, truth = train
    period, strength = dominant_period(y, FS)
    assert abs(period - 0.8) < 0.05 and strength > 0.8
    on = find_onsets(y, FS) / FS
    assert on.size == truth.size
    lag = on - truth       # the tangents' foot sits after the start of the rise
    assert np.all((lag > 0) & (lag < 0.08)) and np.ptp(lag) < 0.03


def test_pulses_decomposed_on_the_template(fit, train):
    s = fit.summary()
    assert fit.template.n_components == 3 and fit.template.names == ("c1", "c2", "c3")
    # windows start at the valley before each onset; the template's components are the truth
    offset = np.median(train[1][:-1] - fit.pulses["start_s"])
    assert 0 < offset < 0.06
    truth = np.array(SHAPE)
    t = fit.template.table
    np.testing.assert_allclose(t["center"], truth[:, 1] + offset, atol=0.01)
    np.testing.assert_allclose(t[["sigma_left", "sigma_right"]], truth[:, 3:], rtol=0.15)
    assert s["pulses"] == 39 and s["interpretable"] >= 0.95 and s["median_prd"] < 3.0
    cols = ["pulse", "onset_s", "c1_amplitude", "c3_sigma_right", "prd", "status", "reason",
            "interpretable"]
    assert set(cols) <= set(fit.pulses.columns)
    assert fit.info["fs"] == FS and fit.info["gmesa_version"] == gmesa.__version__
    assert "tangents" in fit.info["onset_method"]


def test_a_vanished_component_is_flagged_not_renamed(fit):
    row = fit.pulses.iloc[20]
    assert row["status"] == "flagged" and not row["interpretable"]
    assert "c2 vanished" in row["reason"]
    others = fit.pulses.drop(index=20)
    assert (others["status"] == "ok").mean() >= 0.95


def test_given_onsets_and_determinism(train):
    y, truth = train
    on = np.round(truth * FS).astype(np.int64)
    a = gmesa.fit_pulses(y, FS, max_components=3, onsets=on)
    b = gmesa.fit_pulses(y, FS, max_components=3, onsets=on)
    assert a.info["onset_method"] == "given"
    np.testing.assert_allclose(a.pulses["onset_s"], on[:-1] / FS)
    pd.testing.assert_frame_equal(a.pulses, b.pulses)


def test_missing_samples_are_masked(train):
    y = train[0].copy()
    on = train[1]
    short = int((on[10] + 0.5) * FS)
    long_ = int((on[25] + 0.45) * FS)
    y[short:short + 4] = np.nan        # a short gap: masked in its pulse
    y[long_:long_ + 15] = np.nan       # 15% of a pulse: not fitted
    f = gmesa.fit_pulses(y, FS, max_components=3)
    t = f.pulses
    where = [int(np.flatnonzero((t["start_s"] <= i / FS) &
                                (t["start_s"] + t["duration_s"] > i / FS))[0])
             for i in (short, long_)]
    assert t["status"].iloc[where[0]] == "ok"
    assert t["status"].iloc[where[1]] == "failed"
    assert "missing" in t["reason"].iloc[where[1]]


@pytest.mark.parametrize("signal, match", [
    (np.random.default_rng(1).standard_normal(3000), "not periodic enough"),
    (np.cumsum(np.random.default_rng(2).standard_normal(3000)), "not periodic enough"),
    (np.ones(3000), "flat"),
    (np.full(3000, np.nan), "finite"),
    (np.ones((3000, 2)), "1-D"),
    (np.sin(np.arange(100)), "needs at least 7.5 s"),
])
def test_bad_signals_say_what_is_wrong(signal, match):
    with pytest.raises(ValueError, match=match):
        gmesa.fit_pulses(signal, FS)


def test_bad_arguments(train):
    y = train[0]
    with pytest.raises(ValueError, match="fs=0"):
        gmesa.fit_pulses(y, 0)
    with pytest.raises(ValueError, match="onsets must increase"):
        gmesa.fit_pulses(y, FS, onsets=np.array([300, 200, 100, 50]))
    with pytest.raises(ValueError, match="integer sample indices"):
        gmesa.fit_pulses(y, FS, onsets=[1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match="max_components=0"):
        gmesa.fit_pulses(y, FS, max_components=0)
    with pytest.raises(ValueError, match="criterion='prd'"):
        gmesa.fit_pulses(y, FS, criterion="prd")


# -- the interpretability rules on hand-made pulses ---------------------------------------
GOOD = [1.0, 0.10, 0.0, 0.03, 0.04, 0.5, 0.25, 0.0, 0.04, 0.05, 0.3, 0.45, 0.0, 0.05, 0.08, 0.0]


@pytest.mark.parametrize("change, reason", [
    ({}, ""),
    ({5: 0.04}, "c2 vanished"),                              # 4% of the range
    ({11: 0.9}, "c3 centre outside the pulse"),
    ({6: 0.50}, "c2 and c3 out of the template's order"),    # c2 after c3
    ({6: 0.11}, "c1 and c2 centres closer than 20 ms"),
    ({7: 0.11}, "c2 plateau longer than 25% of the pulse"),  # 0.22 s of 0.8 s
    ({0: np.nan}, "not fitted"),
])
def test_interpretability_rules(change, reason):
    p = np.array(GOOD)
    for j, v in change.items():
        p[j] = v
    ok, reasons = interpretability(p, 0.8, 1.0, 3)
    assert ok[0] == (reason == "")
    assert reason in reasons[0]


def test_interpretability_many_rows_and_names():
    P = np.tile(GOOD, (3, 1))
    P[1, 0] = 0.01
    ok, reasons = interpretability(P, [0.8, 0.8, 0.8], [1.0, 1.0, 1.0], 3, names=("P1", "P2", "D"))
    assert ok.tolist() == [True, False, True] and reasons[1].startswith("P1 vanished")
    with pytest.raises(ValueError, match="fewer than 5 per component"):
        interpretability(P[:, :7], 0.8, 1.0, 3)


# -- files, figures, command line ------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_save_load_round_trip(fit, tmp_path, fmt):
    paths = fit.save(tmp_path, fmt=fmt)
    assert paths["pulses"].name == f"syn.pulses.{fmt}" and paths["info"].is_file()
    assert not list(tmp_path.glob(".*.tmp"))                  # atomic writes leave nothing
    back = gmesa.PulseFit.load(tmp_path)
    pd.testing.assert_frame_equal(back.pulses, fit.pulses, check_dtype=False)
    np.testing.assert_array_equal(back.signal, fit.signal)
    np.testing.assert_allclose(back.template.params, fit.template.params)
    np.testing.assert_allclose(back.template.eval(), fit.template.eval())
    assert back.info["onset_method"] == fit.info["onset_method"]


def test_figures(fit):
    ax = pulses(fit, start=12, duration=8)
    assert isinstance(ax, Axes)
    gids = {a.get_gid() for a in ax.get_children()}
    assert {"signal", "fit", "onsets-ok", "onsets-flagged"} <= gids    # pulse 20 at 16.5 s
    ax = decomposition(fit, i=3)
    assert isinstance(ax, Axes) and "pulse 3" in ax.get_title(loc="left")
    assert isinstance(pulses_overview(fit), Figure)
    import gmesa.plot

    assert isinstance(gmesa.plot.pulses(fit), Axes)       # through gmesa.plot as well
    with pytest.raises(ValueError, match="give i="):
        decomposition(fit)


def test_unwrap_a_wrapped_channel(train):
    y = train[0]
    period = 1.2 * np.ptp(y) / 2
    wrapped = (y + period / 2) % period - period / 2
    assert count_wraps(wrapped) > 10 and count_wraps(y) == 0
    back = unwrap(wrapped, period)
    np.testing.assert_allclose(back - back[0], y - y[0], atol=1e-12)


def test_command_line(train, tmp_path):
    npy = tmp_path / "syn.npy"
    np.save(npy, train[0])
    out = tmp_path / "out"
    r = CliRunner().invoke(cli.app, ["pulses", str(npy), "--lead", "0", "--fs", "125",
                                     "--out", str(out)], standalone_mode=False)
    assert r.exit_code == 0 and r.return_value == cli.EXIT_OK, r.output
    assert "interpretable" in r.output and "c3" in r.output
    assert "a.u." in r.output and "mV" not in r.output  # a .npy channel has no unit of its own
    assert "ms from the valley" in r.output
    assert {p.name for p in out.iterdir()} >= {"syn.lead0.pulses.parquet", "syn.lead0.pulses.json",
                                              "syn.lead0.pulses.png"}
    upside = tmp_path / "upside.npy"
    np.save(upside, -train[0])
    r = CliRunner().invoke(cli.app, ["pulses", str(upside), "--lead", "0", "--fs", "125",
                                     "--out", str(out)], standalone_mode=False)
    assert "warnings: the pulses fall" in r.output and "upside down" in r.output
    noise = tmp_path / "noise.npy"
    np.save(noise, np.random.default_rng(3).standard_normal(3000))
    r = CliRunner().invoke(cli.app, ["pulses", str(noise), "--lead", "0", "--fs", "125",
                                     "--out", str(out)], standalone_mode=False)
    assert r.return_value == cli.EXIT_FAILED and "not periodic" in r.output


def test_command_line_usage_errors(tmp_path):
    r = CliRunner().invoke(cli.app, ["pulses", str(tmp_path / "x.npy"), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--lead" in r.output
    r = CliRunner().invoke(cli.app, ["pulses", str(tmp_path / "missing.npy"), "--lead", "0",
                                     "--out", str(tmp_path)])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = CliRunner().invoke(cli.app, ["pulses", str(tmp_path / "x.npy"), "--lead", "0",
                                     "--out", str(tmp_path), "--max-components", "0"])
    assert r.exit_code == 2 and "max-components" in r.output


# -- real channels ------------------------------------------------------------------------------
@pytest.mark.data
@pytest.mark.parametrize("record, lead", [("v102s", "PLETH"), ("03700181", "ABP")])
def test_real_pulse_channels(physionet, record, lead):
    from gmesa.decomp.pulse_io import read_pulse_signal

    import warnings

    sig, fs, info = read_pulse_signal(physionet / record, lead)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = gmesa.fit_pulses(sig, fs, info=info)
    assert not any("upside down" in str(w.message) for w in caught)
    with pytest.warns(RuntimeWarning, match="upside down"):
        gmesa.fit_pulses(-sig, fs)
    s = fit.summary()
    assert s["pulses"] > 400
    assert s["interpretable"] >= 0.95, fit.pulses["reason"].value_counts().head()
    assert s["median_prd"] <= 3.0
    if lead == "PLETH":
        assert info["wraps"] > 100            # v102s PLETH overflows its 12 bits


@pytest.mark.data
def test_a_segment_read_at_its_period(physionet):
    """The multi-segment record's ABP, PAP and PLETH beat together: one period for all
    (ABP alone was read at 3 times it, 1.87 s, before the shortest-lag rule)."""
    from gmesa.decomp.pulse_io import read_pulse_signal

    periods = [dominant_period(*read_pulse_signal(physionet / "multi-segment" / "041s" / "041s01",
                                                  lead)[:2])[0]
               for lead in ("ABP", "PAP", "PLETH")]
    assert np.ptp(periods) < 0.02 and 0.5 < periods[0] < 0.8
