"""The public helpers of gmesa.plot: figure files (gmesa.plot.files), the shared style
helpers (gmesa.plot.style), RecordFit.layout as the figures' only view of the parameters,
and the ok/trusted masks of gmesa.ecg.result."""
from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gmesa import ecg, plot  # noqa: E402
from gmesa.core import Layout  # noqa: E402
from gmesa.ecg.result import ok_mask, trusted_mask  # noqa: E402
from gmesa.plot import files, style  # noqa: E402


@pytest.fixture(scope="module")
def fit():
    syn = ecg.synthesize(duration=12, fs=500, heart_rate=72, noise=0.02, wander=0.1, seed=5)
    return ecg.fit_record(syn.record)


def png_ok(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


# --------------------------------------------------------------------------- layout
def test_record_fit_layout_is_the_table_layout(fit):
    lay = fit.layout
    assert isinstance(lay, Layout)
    assert lay.waves == fit.waves and lay.steps == fit.steps
    assert lay.size == fit.params.shape[1]
    assert list(lay.labels) == list(fit.param_names)
    np.testing.assert_array_equal(lay.pack(fit.beats), fit.params)
    assert fit.beats.columns[fit.beats.columns.get_loc("R_center")] == \
        lay.labels[lay.index("R", "center")]


def test_figures_need_no_parameter_matrix(fit):
    """The figures read the parameters from the table through ``fit.layout``."""
    bare = dataclasses.replace(fit, params=None)
    ax = plot.template(bare)
    assert [ln for ln in ax.lines if ln.get_gid() == "median-fit"]
    plot.beat(bare, 1)


# --------------------------------------------------------------------------- masks
def test_ok_and_trusted_masks(fit):
    beats = fit.beats.copy()
    beats["status"] = "ok"
    beats["flagged"] = False
    beats.loc[beats.index[0], "status"] = "failed"
    beats.loc[beats.index[1], "flagged"] = True
    ok = ok_mask(beats)
    assert not ok[0] and not ok[1] and ok[2:].all()
    assert ok_mask(beats, flagged=True)[1]
    np.testing.assert_array_equal(trusted_mask(beats), ok)
    beats["flagged"] = True                       # every ok beat flagged: fall back
    np.testing.assert_array_equal(trusted_mask(beats), beats["status"].eq("ok").to_numpy())


# --------------------------------------------------------------------------- files
def test_write_figures_default_names_and_empty_fit(fit, tmp_path):
    written = files.write_figures(fit, tmp_path / "figs")
    assert [p.name for p in written] == [f"{k}.png" for k in files.FIGURES]
    assert all(png_ok(p) for p in written)
    empty = dataclasses.replace(fit, beats=fit.beats.iloc[:0], params=fit.params[:0])
    assert files.write_figures(empty, tmp_path / "none") == []


def test_save_figure_makes_folders_and_closes(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.subplots().plot([0, 1], [0, 1])
    p = files.save_figure(fig, tmp_path / "a" / "b" / "f.png", dpi=60)
    assert p.is_file() and p.read_bytes()[:4] == b"\x89PNG"
    assert fig.number not in plt.get_fignums()


def test_plot_results_default_name_from_a_folder(fit, tmp_path):
    fit.save(tmp_path, "rec")
    n = int(fit.beats["beat"].iloc[3])
    p = files.plot_results(tmp_path, beat=n)
    assert p == tmp_path / f"rec.beat{n}.png" and png_ok(p)


# --------------------------------------------------------------------------- style
def test_beat_residual_into_given_axes(fit):
    fig = Figure()
    ax, rax = fig.subplots(2, 1, sharex=True)
    assert plot.beat(fit, 2, ax=ax, residual=rax) is ax
    assert [ln for ln in rax.lines if ln.get_gid() == "residual"]
    assert rax.get_xlabel() == "time from R peak (ms)" and ax.get_xlabel() == ""


def test_style_helpers(fit):
    assert style.robust_limits([np.nan]) is None
    lo, hi = style.robust_limits(np.r_[np.zeros(50), np.ones(50)], 0, 100, 0.1)
    assert (lo, hi) == pytest.approx((-0.1, 1.1))
    assert style.beat_position(fit, -1) == len(fit.beats) - 1
    with pytest.raises(IndexError, match="out of range"):
        style.beat_position(fit, len(fit.beats))
    assert style.wave_color("T2") == plot.WAVE_COLORS["T2"]
    assert style.wave_color("Tx") == plot.WAVE_COLORS["T"]
    assert style.wave_style("Q")["hatch"] == plot.WAVE_STYLES["Q"]["hatch"]
    ax = Figure().subplots()
    drawn = style.mark_fiducials(ax, {"P_on": -200.0, "QRS_on": -40.0, "T_off": np.nan})
    assert drawn == ["P_on", "QRS_on"]
    assert {ln.get_gid() for ln in ax.lines} == {"fiducial-P_on", "fiducial-QRS_on"}
    assert style.record_name(dataclasses.replace(fit, info={"record": "100", "lead": "V5"})) \
        == "100, lead V5"
    assert style.record_name(dataclasses.replace(fit, info={"record": "7", "lead": "lead0"})) == "7"
    assert style.unit(dataclasses.replace(fit, info={"units": ["uV"]})) == "uV"
