"""Figures (gmesa.plot), their files (gmesa.plot.files) and the demo (gmesa.demo): what is
drawn, not just that nothing raised.

Everything runs under the Agg backend on a short synthetic record fitted once per module.
"""
from __future__ import annotations

import dataclasses
import runpy
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gmesa import datasets, demo, ecg, plot  # noqa: E402
from gmesa.ecg.result import ok_mask, trusted_mask  # noqa: E402
from gmesa.plot import files  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WAVES = ("P", "Q", "R", "S", "T")
BOUNDARIES = ("P_on", "P_off", "QRS_on", "QRS_off", "T_on", "T_off")


@pytest.fixture(scope="module")
def syn():
    return ecg.synthesize(duration=20, fs=500, heart_rate=72, noise=0.02, wander=0.1, seed=3)


@pytest.fixture(scope="module")
def fit(syn):
    return ecg.fit_record(syn.record)


@pytest.fixture(scope="module")
def typical(fit):
    return plot.typical_beat(fit)


@pytest.fixture(scope="module")
def saved(fit, tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    paths = fit.save(folder, "syn")
    return paths["info"]


def by_gid(artists, prefix):
    return [a for a in artists if (a.get_gid() or "").startswith(prefix)]


def with_beats(fit, beats):
    """A copy of ``fit`` with another per-beat table (and parameters read from it)."""
    return dataclasses.replace(fit, beats=beats, params=fit.layout.pack(beats))


# --------------------------------------------------------------------------- beat
def test_beat_draws_components_fiducials_residual(fit, typical):
    ax = plot.beat(fit, typical)
    fig = ax.figure
    assert isinstance(fig, Figure)
    # two panels, 3:1, the residual below sharing the time axis
    assert len(fig.axes) == 2
    rax = fig.axes[1]
    assert ax.get_position().height > 2.2 * rax.get_position().height
    assert rax.get_shared_x_axes().joined(ax, rax)
    # one filled component per wave, labelled, in its wave colour, each with its own hatch
    comps = by_gid(ax.collections, "component-")
    assert sorted(c.get_label() for c in comps) == sorted(WAVES)
    hatches = set()
    for c in comps:
        w = c.get_label()
        assert np.allclose(c.get_facecolor()[0][:3], to_rgb(plot.WAVE_COLORS[w]))
        hatches.add(c.get_hatch())
    assert len(hatches) == len(WAVES)
    labels = {t.get_text() for t in by_gid(ax.texts, "label-")}
    assert labels == set(WAVES)
    # onsets and offsets: one vertical line each, named above the axes
    lines = {ln.get_gid(): ln for ln in by_gid(ax.lines, "fiducial-")}
    assert set(lines) == {f"fiducial-{b}" for b in BOUNDARIES}
    bf = fit.beat(typical)
    for b in BOUNDARIES:
        x = lines[f"fiducial-{b}"].get_xdata()[0]
        assert x == pytest.approx(bf.fiducials[b] * 1e3)
    # each boundary's uncertainty: a faint band of +-1 SD (the table's {b}_sd_ms) around it
    for b in BOUNDARIES:
        band = by_gid(ax.patches, f"fiducial-sd-{b}")
        sd = bf.row[f"{b}_sd_ms"]
        assert len(band) == 1 and np.isfinite(sd), b
        x = lines[f"fiducial-{b}"].get_xdata()[0]
        lo, hi = ((band[0].get_x(), band[0].get_x() + band[0].get_width())
                  if hasattr(band[0], "get_width") else
                  (band[0].get_xy()[:, 0].min(), band[0].get_xy()[:, 0].max()))
        assert (lo, hi) == (pytest.approx(x - sd), pytest.approx(x + sd)), b
    sec = [c for c in ax.child_axes if c.get_gid() == "fiducial-labels"]
    assert len(sec) == 1
    names = [t.get_text() for t in sec[0].get_xticklabels()]
    assert names == ["P on", "P off", "QRS on", "QRS off", "T on", "T off"]
    # samples, fitted sum, residual = samples - fit; ms and mV on the axes
    samples = by_gid(ax.lines, "samples")[0]
    np.testing.assert_allclose(samples.get_xdata(), bf.t * 1e3)
    np.testing.assert_allclose(by_gid(ax.lines, "fit")[0].get_ydata(), bf.fit)
    np.testing.assert_allclose(by_gid(rax.lines, "residual")[0].get_ydata(), bf.y - bf.fit)
    assert rax.get_xlabel() == "time from R peak (ms)"
    assert ax.get_ylabel() == "amplitude (mV)"
    assert rax.get_ylabel() == "residual (mV)"
    assert f"PRD {bf.row['prd']:.1f}%" in ax.get_title()
    # every wave label lies inside the y range (nothing clipped)
    lo, hi = ax.get_ylim()
    for t in by_gid(ax.texts, "label-"):
        assert lo <= t.xy[1] <= hi


def test_beat_into_given_axes_skips_residual(fit, typical):
    fig = Figure()
    ax = fig.subplots()
    out = plot.beat(fit, typical, ax=ax, components=False, fiducials=False)
    assert out is ax
    assert len(fig.axes) == 1
    assert not by_gid(ax.collections, "component-")
    assert not by_gid(ax.lines, "fiducial-")
    assert ax.get_xlabel() == "time from R peak (ms)"


def test_beat_absent_wave_not_drawn(fit, typical):
    beats = fit.beats.copy()
    for part in ("on", "peak", "off"):
        beats.loc[beats.index[typical], f"P_{part}_s"] = np.nan
    beats.loc[beats.index[typical], "P_present"] = False
    ax = plot.beat(with_beats(fit, beats), typical)
    assert "P" not in {c.get_label() for c in by_gid(ax.collections, "component-")}
    assert "P" not in {t.get_text() for t in by_gid(ax.texts, "label-")}
    gids = {ln.get_gid() for ln in by_gid(ax.lines, "fiducial-")}
    assert "fiducial-P_on" not in gids and "fiducial-T_on" in gids
    assert "P absent" in ax.get_title()


def test_beat_not_fitted_shows_samples_and_reason(fit):
    beats = fit.beats.copy()
    cols = list(fit.layout.labels)
    beats.loc[beats.index[2], cols] = np.nan
    beats.loc[beats.index[2], "status"] = "failed"
    beats.loc[beats.index[2], "reason"] = "the solver stopped"
    ax = plot.beat(with_beats(fit, beats), 2)
    assert by_gid(ax.lines, "samples")
    assert not by_gid(ax.lines, "fit") and not by_gid(ax.collections, "component-")
    assert "status failed" in ax.get_title() and "not fitted" in ax.get_title()


def test_beat_index_checked(fit):
    with pytest.raises(IndexError, match="out of range"):
        plot.beat(fit, len(fit.beats) + 5)


# --------------------------------------------------------------------------- record
def test_record_strip(fit):
    ax = plot.record(fit, start=2.0, duration=8.0)
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "amplitude (mV)"
    assert ax.get_xlim() == pytest.approx((2.0, 10.0))
    sig = by_gid(ax.lines, "signal")[0]
    assert sig.get_xdata()[0] == pytest.approx(2.0)
    assert sig.get_xdata().size == 8 * 500
    assert by_gid(ax.lines, "fit")
    r = fit.beats["r_peak_s"].to_numpy()
    inside = (r >= 2.0) & (r < 10.0)
    ok = ok_mask(fit.beats)
    marks = by_gid(ax.lines, "beats-ok")[0]
    np.testing.assert_allclose(marks.get_xdata(), r[inside & ok])
    numbers = [t.get_text() for t in by_gid(ax.texts, "beat-number")]
    assert numbers == [str(b) for b in fit.beats["beat"][inside]]
    assert not by_gid(ax.collections, "ecg-grid")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "fitted model" in legend and "signal (cleaned)" in legend


def test_record_flagged_beats_and_paper_grid(fit):
    beats = fit.beats.copy()
    beats.loc[beats.index[3], "flagged"] = True
    beats.loc[beats.index[5], "status"] = "max_iter"
    f2 = with_beats(fit, beats)
    ax = plot.record(f2, duration=10, grid=True)
    bad = by_gid(ax.lines, "beats-flagged")[0]
    np.testing.assert_allclose(sorted(bad.get_xdata()),
                               sorted(beats["r_peak_s"].to_numpy()[[3, 5]]))
    assert bad.get_color() != by_gid(ax.lines, "beats-ok")[0].get_color()
    assert bad.get_marker() != by_gid(ax.lines, "beats-ok")[0].get_marker()
    assert "flagged or not ok" in [t.get_text() for t in ax.get_legend().get_texts()]
    # ECG paper: 40 ms and 0.1 mV minor squares, 0.2 s and 0.5 mV major ones, square
    minor = by_gid(ax.collections, "ecg-grid-minor")[0].get_segments()
    major = by_gid(ax.collections, "ecg-grid-major")[0].get_segments()
    vx = sorted({round(s[0][0], 6) for s in minor + major if s[0][0] == s[1][0]})
    hy = sorted({round(s[0][1], 6) for s in minor + major if s[0][1] == s[1][1]})
    assert np.allclose(np.diff(vx), 0.04)
    assert np.allclose(np.diff(hy), 0.1)
    mx = sorted({round(s[0][0], 6) for s in major if s[0][0] == s[1][0]})
    assert np.allclose(np.diff(mx), 0.2)
    assert ax.get_aspect() == pytest.approx(0.4)
    assert "25 mm/s" in ax.get_title(loc="left")


def test_record_start_checked(fit):
    with pytest.raises(ValueError, match="outside the record"):
        plot.record(fit, start=1e6)


# --------------------------------------------------------------------------- template
def test_template(fit):
    ax = plot.template(fit)
    beats = by_gid(ax.collections, "beats-ok")[0]
    ok = trusted_mask(fit.beats)
    assert 0.8 * ok.sum() <= len(beats.get_segments()) <= ok.sum()
    med = by_gid(ax.lines, "median-fit")[0]
    x = med.get_xdata()
    assert x[0] < -150 and x[-1] > 300          # ms around R
    assert abs(x[np.argmax(med.get_ydata())]) < 10      # the R peak at 0 ms
    assert by_gid(ax.collections, "fit-iqr")
    assert {ln.get_gid() for ln in by_gid(ax.lines, "fiducial-")} == \
        {f"fiducial-{b}" for b in BOUNDARIES}
    assert ax.get_xlabel() == "time from R peak (ms)"
    assert "(mV)" in ax.get_ylabel()


def test_template_caps_beats(fit):
    ax = plot.template(fit, max_beats=5)
    n = sum(len(c.get_segments()) for c in by_gid(ax.collections, "beats-"))
    assert n == 5


# --------------------------------------------------------------------------- trends
def test_trends_figure(fit):
    fig = plot.trends(fit)
    assert isinstance(fig, Figure)
    axes = [a for a in fig.axes if a.get_ylabel()]
    assert [a.get_ylabel() for a in axes] == ["QT (ms)", "T height (mV)", "RR (s)"]
    assert axes[-1].get_xlabel() == "time (s)"
    ok = trusted_mask(fit.beats)
    for a, col in zip(axes, ("qt_ms", "t_height_mv", "rr_s")):
        pts = by_gid(a.lines, f"trend-{col}")[0]
        assert pts.get_xdata().size == np.isfinite(fit.beats[col][ok]).sum()
        assert by_gid(a.lines, f"rolling-{col}")
    t_pts = by_gid(axes[1].lines, "trend-t_height_mv")[0]
    assert to_rgb(t_pts.get_color()) == to_rgb(plot.WAVE_COLORS["T"])


def test_trends_into_axes(fit):
    fig = Figure()
    axes = fig.subplots(2, 1)
    out = plot.trends(fit, columns=("prd", "R_amplitude"), ax=axes)
    assert list(out) == list(axes)
    assert axes[0].get_ylabel() == "PRD (%)" and axes[1].get_ylabel() == "R amplitude (mV)"
    one = Figure().subplots()
    assert plot.trends(fit, columns="qrs_ms", ax=one) is one
    with pytest.raises(ValueError, match="one Axes"):
        plot.trends(fit, ax=one)
    with pytest.raises(KeyError, match="not in the per-beat table"):
        plot.trends(fit, columns=("no_such_column",))


def test_trends_long_record_in_hours(fit):
    long = dataclasses.replace(fit, signal=np.zeros(int(5 * 3600 * fit.fs)))
    fig = plot.trends(long, columns=("rr_s",))
    assert fig.axes[0].get_xlabel() == "time (h)"


# --------------------------------------------------------------------------- colours
def test_wave_colours_distinct_and_styles_complete():
    rgb = [to_rgb(plot.WAVE_COLORS[w]) for w in WAVES]
    for i in range(len(rgb)):
        for j in range(i + 1, len(rgb)):
            assert np.abs(np.subtract(rgb[i], rgb[j])).sum() > 0.25
    assert {plot.WAVE_STYLES[w]["hatch"] for w in WAVES}.__len__() == len(WAVES)


def test_overview(fit):
    fig = plot.overview(fit)
    axes = [a for a in fig.axes if a.get_xlabel()]
    assert {a.get_xlabel() for a in axes} == {"time (s)", "time from R peak (ms)"}


def test_pyplot_figures_when_pyplot_is_loaded(fit, typical):
    import matplotlib.pyplot as plt
    ax = plot.beat(fit, typical)
    try:
        assert ax.figure.number in plt.get_fignums()
    finally:
        plot.close(ax.figure)
    assert ax.figure.number not in plt.get_fignums()


# --------------------------------------------------------------------------- demo
def png_ok(path):
    path = Path(path)
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_run_demo_synthetic(tmp_path, capsys):
    res = demo.run_demo(tmp_path, source="synthetic")
    out = capsys.readouterr().out
    names = {p.name for p in res["files"]}
    for fig in ("beat", "record", "template", "trends", "construction"):
        assert f"{fig}.png" in names and png_ok(tmp_path / f"{fig}.png")
    table = pd.read_csv(tmp_path / "synthetic.beats.csv")
    assert len(table) == len(res["fit"].beats) > 50
    assert len(pd.read_parquet(tmp_path / "synthetic.beats.parquet")) == len(table)
    assert {"QT", "PR", "QRS", "PRD"} <= set(res["summary"].index)
    err = res["errors"]
    assert {"P_on", "QRS_on", "QRS_off", "T_off", "qt_ms"} <= set(err.index)
    assert (err["beats"] > 0).all()
    assert "median |error|" in out and "QTc (Bazett)" in out and str(tmp_path) in out


def test_run_demo_default_source(tmp_path):
    """``source=None``: MIT-BIH 100 when $GMESA_DATA holds it, else the example record."""
    res = demo.run_demo(tmp_path, max_minutes=1.0, verbose=False)
    assert all(Path(p).exists() for p in res["files"])
    assert all(png_ok(p) for p in res["files"] if p.suffix == ".png")
    stem = res["fit"].info["record"]
    assert (tmp_path / f"{stem}.beats.csv").stat().st_size > 1000
    if datasets.physionet_record("100", required=False) is not None:
        assert stem == "100" and res["errors"] is None
    else:
        assert res["errors"] is not None


def test_plot_results_does_not_refit(saved, fit, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("plot_results must not refit")

    monkeypatch.setattr(ecg, "fit_record", boom)
    monkeypatch.setattr(ecg.fit, "fit_record", boom, raising=False)
    monkeypatch.setattr("gmesa.ecg.fit._fit_segment", boom)
    p = files.plot_results(saved)
    assert p == saved.parent / "syn.overview.png" and png_ok(p)
    n = int(fit.beats["beat"].iloc[4])
    q = files.plot_results(saved.parent, beat=n, out=tmp_path / "b.png")
    assert q == tmp_path / "b.png" and png_ok(q)
    with pytest.raises(IndexError, match="not in this result"):
        files.plot_results(saved, beat=10_000)


def test_write_figures_with_stem(fit, tmp_path):
    written = files.write_figures(fit, tmp_path, stem="rec")
    assert [p.name for p in written] == [f"rec.{k}.png" for k in files.FIGURES]
    assert all(png_ok(p) for p in written)


def test_truth_errors_small_on_clean_synthetic(fit, syn):
    err = demo.truth_errors(fit, syn.truth)
    assert err.loc["R_peak", "median_abs_ms"] < 5
    assert err.attrs["matched"] >= len(syn.truth) - 1


def test_readme_figures_small(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["make_figures.py", str(tmp_path)])
    runpy.run_path(str(REPO / "docs" / "make_figures.py"), run_name="__main__")
    paths = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in paths] == ["demo_beat.png", "demo_record.png"]
    for p in paths:
        assert png_ok(p) and p.stat().st_size < 120 * 1024


# --------------------------------------------------------------------------- examples
def run_example(name, argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", [name] + list(argv))
    return runpy.run_path(str(REPO / "examples" / name), run_name="__main__")


def test_example_fit_one_beat(tmp_path, monkeypatch, capsys):
    out = tmp_path / "beat.png"
    run_example("fit_one_beat.py", [str(out)], monkeypatch)
    assert png_ok(out)
    assert "PRD" in capsys.readouterr().out


def test_example_shared_spectra(tmp_path, monkeypatch, capsys):
    out = tmp_path / "spectra.png"
    run_example("shared_spectra.py", ["--out", str(out)], monkeypatch)
    assert png_ok(out)
    bounded, free = [line for line in capsys.readouterr().out.splitlines() if "status" in line]
    assert "negative intensities 0 " in bounded and "converged" in bounded
    assert "negative intensities 0 " not in free


def test_example_fit_record(tmp_path, monkeypatch, capsys, syn):
    npy = tmp_path / "rec.npy"
    np.save(npy, syn.record.signal)
    run_example("fit_record.py", [str(npy), "--fs", "500", "--out", str(tmp_path / "o")],
                monkeypatch)
    text = capsys.readouterr().out
    assert "QT" in text and "beats:" in text
    assert (tmp_path / "o" / "rec.info.json").exists()
    assert png_ok(tmp_path / "o" / "rec.beat.png")


# --------------------------------------------------------------------------- several leads
@pytest.fixture(scope="module")
def leads_fit():
    from dipoles import synthetic_record

    return ecg.fit_leads(synthetic_record(seconds=6.0, frank=True), primary="vx")


def test_leads_beat_stacks_every_lead_with_the_global_boundaries(leads_fit):
    i = 2
    fig = plot.leads_beat(leads_fit, i)
    assert isinstance(fig, Figure)
    axes = [a for a in fig.axes if a.get_ylabel()]
    assert [a.get_ylabel().split("\n")[0] for a in axes] == ["vx", "vy", "vz"]
    assert axes[-1].get_xlabel() == "time from R peak (ms)"
    row = leads_fit.beats.iloc[i]
    for a, lead in zip(axes, leads_fit.fits):
        assert len(by_gid(a.lines, "fit")) == 1 and len(by_gid(a.lines, "samples")) == 1
        assert by_gid(a.collections, "component-R")
        assert by_gid(a.texts, "lead-quality")[0].get_text().startswith("PRD ")
        for b in ("P_on", "QRS_on", "QRS_off", "T_off"):   # the same global line in each lead
            (line,) = by_gid(a.lines, f"fiducial-{b}")
            want = (row[f"{b}_s"] - row["r_peak_s"]) * 1e3
            assert line.get_xdata()[0] == pytest.approx(want)
            assert len(by_gid(a.patches, f"fiducial-sd-{b}")) == 1   # its global SD
    assert "spatial QRS-T angle" in fig._suptitle.get_text()
    two = Figure().subplots(2, 1)
    out = plot.leads_beat(leads_fit, i, ax=two, leads=["vz", "vx"], components=False)
    assert [a.get_ylabel().split("\n")[0] for a in out] == ["vz", "vx"]
    assert not by_gid(out[0].collections, "component-")


def test_leads_beat_bad_input_is_named(leads_fit):
    with pytest.raises(TypeError, match="LeadsFit"):
        plot.leads_beat(leads_fit.fits["vx"], 0)
    with pytest.raises(ValueError, match=r"not in the fit; its leads are vx, vy, vz"):
        plot.leads_beat(leads_fit, 0, leads=["v1"])
    with pytest.raises(ValueError, match="2 Axes given for 3 leads"):
        plot.leads_beat(leads_fit, 0, ax=Figure().subplots(2, 1))
    with pytest.raises(IndexError):
        plot.leads_beat(leads_fit, 999)


def test_trends_of_several_leads_draw_the_qrs_t_angle(leads_fit):
    fig = plot.trends(leads_fit)
    axes = [a for a in fig.axes if a.get_ylabel()]
    assert [a.get_ylabel() for a in axes] == ["QT (ms)", "RR (s)", "spatial QRS-T angle (°)"]
    ok = trusted_mask(leads_fit.beats)
    pts = by_gid(axes[-1].lines, "trend-QRS_T_angle_deg")[0]
    assert pts.get_xdata().size == np.isfinite(leads_fit.beats["QRS_T_angle_deg"][ok]).sum() > 0
    assert "3 leads" in fig._suptitle.get_text()
    one = plot.trends(leads_fit.fits["vx"])           # one lead: no angle, as before
    assert "spatial QRS-T angle (°)" not in [a.get_ylabel() for a in one.axes]
