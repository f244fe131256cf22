"""The gmesa command through click's test runner (and once as ``python -m gmesa.cli``)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gmesa.batch import read_index, read_log
from gmesa.cli import app

REPO = Path(__file__).resolve().parents[1]




@pytest.fixture
def runner():
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps stderr apart already
        return CliRunner()


@pytest.fixture(scope="module")
def small_record(physionet_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("rec")
    for f in physionet_dir.glob("s0010_re.*"):
        shutil.copy(f, d / f.name)
    return d / "s0010_re.hea"


def _commands():
    return [(name, cmd) for name, cmd in app.commands.items()]


# ---------------------------------------------------------------------------------
# help and the command line
# ---------------------------------------------------------------------------------
def test_every_option_has_help_text():
    for name, cmd in _commands():
        assert cmd.help, f"gmesa {name} has no help"
        for p in cmd.params:
            if isinstance(p, click.Option):
                assert p.help and len(p.help) > 15, f"gmesa {name} {p.opts} lacks help text"


@pytest.mark.parametrize("args", [["--help"], ["batch", "--help"], ["fit", "--help"],
                                  ["demo", "--help"], ["plot", "--help"], ["-h"]])
def test_help(runner, args):
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Usage: gmesa" in text
    if args[0] in ("batch", "--help", "-h"):
        for word in ("Exit codes:", "0 every input", "1 some inputs failed", "2 bad",
                     "3 the output folder is locked", "4 no beat fitted ok", "130 interrupted"):
            assert word in text
    if args[0] == "batch":
        for word in ("--workers", "--scheduler", "--dask-local", "--resume", "--lead",
                     "--format", "--force-ecg"):
            assert word in text
    if args[0] == "fit":
        for word in ("--lead", "--out", "--format", "--fs", "--figures", "--force-ecg",
                     "Exit codes:", "1 the record could not be read", "3 --out cannot",
                     "4 the record was fitted but no beat was fitted ok"):
            assert word in text


@pytest.mark.parametrize("args, hint", [
    (["batch"], "Missing argument"),
    (["batch", "x"], "--out"),
    (["batch", "x", "--out", "o", "--wrkers", "2"], "--workers"),
    (["batch", "x", "--out", "o", "--workers", "0"], "--workers"),
    (["batch", "x", "--out", "o", "--format", "xlsx"], "parquet"),
    (["batch", "x", "--out", "o", "--scheduler", "tcp://h:8786", "--dask-local", "2"], "not both"),
    (["batch", "x", "--out", "o", "--workers", "2", "--dask-local", "2"], "--workers"),
    (["batch", "x", "--out", "o", "--fs", "20"], "--fs"),
    (["fit"], "Missing argument"),
    (["fit", "no_such_file.hea"], "does not exist"),
    (["fit", "x.hea", "--lead", " "], "--lead"),
    (["plot", "no_such_result.info.json"], "RESULTS"),
    (["frobnicate"], "No such command"),
])
def test_bad_command_line_is_one_line_and_exit_2(runner, args, hint, tmp_path):
    if args[:2] == ["fit", "x.hea"]:
        (tmp_path / "x.hea").write_text("x")
        args = ["fit", str(tmp_path / "x.hea")] + args[2:]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, (res.output, res.stderr)
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert hint in err and "--help" in err and "error:" in err


def test_python_dash_m(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-m", "gmesa.cli", "--help"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "batch" in res.stdout
    res = subprocess.run([sys.executable, "-m", "gmesa.cli", "batch", "--workers", "x"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------
# gmesa fit
# ---------------------------------------------------------------------------------
def test_fit_prints_a_summary_and_writes_tables(runner, small_record, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["fit", str(small_record), "--out", str(out), "--lead", "ii",
                              "--format", "csv"])
    assert res.exit_code == 0, (res.output, res.stderr)
    for word in ("s0010_re", "lead ii", "beats", "ok", "median PRD", "median RR", "median PR",
                 "median QRS", "median QT", "median QTc"):
        assert word in res.output
    assert "paced beats" not in res.output
    # its fragmented QRS (two deflections of R's sign) is modelled with an R'
    assert "R' (fragmented QRS)" in res.output and "fragmented QRS" in res.output
    beats = pd.read_csv(out / "s0010_re.beats.csv")
    assert len(beats) > 30 and {"status", "reason", "prd", "qt_ms"} <= set(beats.columns)
    assert (out / "s0010_re.info.json").is_file() and (out / "s0010_re.signal.parquet").is_file()
    from gmesa.ecg import RecordFit
    fit = RecordFit.load(out / "s0010_re.info.json")
    assert fit.info["lead"] == "ii" and len(fit) == len(beats)


def test_fit_of_a_paced_record_counts_its_paced_beats(runner, ludb, tmp_path):
    """LUDB 74 (ventricular pacing, 500 Hz): the summary says how many beats follow a
    pacemaker spike, and no PR is read off the spikes; PTB s0010_re has no such line."""
    out = tmp_path / "out"
    res = runner.invoke(app, ["fit", str(ludb / "data" / "74"), "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.stderr)
    line = [s for s in res.output.splitlines() if "paced beats" in s]
    assert line and int(line[0].split()[2]) >= 8
    assert [s for s in res.output.splitlines() if "median PR " in s][0].split()[-1] == "-"


def test_summary_says_over_how_many_beats_a_median_interval_is():
    """A median PR of the few beats that report one (P on withheld on the others, at a
    fast rate) says so; an interval nearly every ok beat reports is printed plain."""
    from types import SimpleNamespace

    from gmesa._cli_report import interval_rows

    n = 20
    beats = pd.DataFrame({"status": ["ok"] * n + ["poor_fit"],
                          "rr_ms": [800.0] * n + [np.nan], "qrs_ms": [90.0] * (n + 1),
                          "pr_ms": [160.0, 170.0, 180.0] + [np.nan] * (n - 2),
                          "qt_ms": [400.0] * (n - 1) + [np.nan, 400.0],
                          "qtc_ms": [np.nan] * (n + 1)})
    summary = {"median_rr_ms": 800.0, "median_pr_ms": 170.0, "median_qrs_ms": 90.0,
               "median_qt_ms": 400.0, "median_qtc_ms": np.nan,
               "fit": SimpleNamespace(beats=beats)}
    rows = dict(interval_rows(summary))
    assert rows["median PR"] == "170 ms (3 of 20 ok beats)"
    assert rows["median QT"] == "400 ms" and rows["median RR"] == "800 ms"
    assert rows["median QTc"] == "-"
    del summary["fit"]
    assert dict(interval_rows(summary))["median PR"] == "170 ms"
    # with the boundaries' SDs, one beat's uncertainty of the interval
    beats = beats.assign(P_on_sd_ms=6.0, QRS_on_sd_ms=8.0, T_off_sd_ms=[15.0] * 5 + [60.0] * 16)
    rows = dict(interval_rows(dict(summary, fit=SimpleNamespace(beats=beats))))
    assert rows["median PR"] == "170 ms ±10 (3 of 20 ok beats)"
    assert rows["median QT"] == "400 ms ±61" and rows["median QRS"] == "90 ms"


def test_summary_says_the_model_each_stretch_of_rhythm_chose():
    """The "model" line: the T the beats chose, with its lobe and a U wave; each stretch
    with its times where a long record has several; nothing without a choice."""
    from types import SimpleNamespace

    from gmesa._cli_report import model_rows

    one = {"hypothesis": {"P": "free", "T": "inverted", "U": True, "T2": True},
           "start_s": 0.0, "end_s": 600.0}
    fit = SimpleNamespace(info={"model_choice": one})
    assert model_rows({"fit": fit, "n_ok": 5}) == [
        ("model", "T inverted with a terminal lobe, U wave")]
    two = dict(hypothesis={"P": "absent", "T": "upright", "U": False, "T2": False},
               start_s=600.0, end_s=3725.0)
    fit.info["model_choice"] = dict(one, stretches=[one, two])
    (_, text), = model_rows({"fit": fit, "n_ok": 5})
    assert text == ("T inverted with a terminal lobe, U wave (0:00:00-0:10:00); "
                    "no P wave, T upright (0:10:00-1:02:05)")
    assert model_rows({"fit": fit, "n_ok": 0}) == [] and model_rows({}) == []
    fit.info["model_choice"] = {"hypothesis": {"P": "free", "T": "upright", "R2": True}}
    assert model_rows({"fit": fit, "n_ok": 5}) == [("model", "T upright, R' (fragmented QRS)")]


def test_summary_gives_the_median_t_height_and_st_level_of_the_ok_beats():
    from types import SimpleNamespace

    import pandas as pd

    from gmesa._cli_report import height_rows

    beats = pd.DataFrame({"status": ["ok", "ok", "ok", "poor_fit"],
                          "t_height_mv": [0.2, 0.3, np.nan, 5.0],
                          "st_j60_mv": [-0.1, -0.12, -0.11, 3.0]})
    fit = SimpleNamespace(beats=beats)
    assert height_rows({"fit": fit, "n_ok": 3}) == [("median T height", "+0.250 mV"),
                                                    ("median ST J+60", "-0.110 mV")]
    assert height_rows({"fit": fit, "n_ok": 0}) == [] and height_rows({}) == []
    fit.beats = beats.drop(columns=["t_height_mv", "st_j60_mv"])   # an older table
    assert height_rows({"fit": fit, "n_ok": 3}) == []


def test_summary_says_where_the_neighbours_waves_were_taken_out():
    """A "neighbours' waves" line counts the ok beats fitted less their neighbours' P and
    T (gmesa.ecg.overlap); none, no ok beat or an older table without the column: no
    line."""
    from types import SimpleNamespace

    import pandas as pd

    from gmesa._cli_report import overlap_rows

    beats = pd.DataFrame({"status": ["ok", "ok", "poor_fit"],
                          "neighbours_out": [True, True, True]})
    fit = SimpleNamespace(beats=beats)
    (label, text), = overlap_rows({"fit": fit, "n_ok": 2})
    assert label == "neighbours' waves" and text.startswith("taken out of 2 of 2 ok beats")
    fit.beats = beats.assign(neighbours_out=False)
    assert overlap_rows({"fit": fit, "n_ok": 2}) == []
    assert overlap_rows({"fit": fit, "n_ok": 0}) == [] and overlap_rows({}) == []
    fit.beats = beats.drop(columns=["neighbours_out"])
    assert overlap_rows({"fit": fit, "n_ok": 2}) == []


def test_summary_counts_the_ok_beats_whose_qrs_the_model_misfits():
    """A "QRS misfit" line counts the ok beats whose QRS PRD is above QRS_MISFIT_PRD; no
    such beat, no ok beat or an older table without the column: no line."""
    from types import SimpleNamespace

    import pandas as pd

    from gmesa._cli_report import misfit_rows
    from gmesa.ecg.beatmodel import QRS_MISFIT_PRD

    beats = pd.DataFrame({"status": ["ok", "ok", "ok", "poor_fit"],
                          "QRS_prd": [2.0, QRS_MISFIT_PRD + 5.0, QRS_MISFIT_PRD + 9.0, 80.0]})
    fit = SimpleNamespace(beats=beats)
    (label, text), = misfit_rows({"fit": fit, "n_ok": 3})
    assert label == "QRS misfit" and text.startswith("2 of 3 ok beats")
    assert "median 20.0%" in text
    fit.beats = beats.assign(QRS_prd=[2.0, 3.0, np.nan, 80.0])
    assert misfit_rows({"fit": fit, "n_ok": 3}) == []
    assert misfit_rows({"fit": fit, "n_ok": 0}) == [] and misfit_rows({}) == []
    fit.beats = beats.drop(columns=["QRS_prd"])
    assert misfit_rows({"fit": fit, "n_ok": 3}) == []


def test_summary_names_the_boundaries_the_template_split_moves():
    """A boundary whose template reading moves 10 ms or more between the halves of the
    beats is named, largest first; none: no line (and none without a fit)."""
    from types import SimpleNamespace

    from gmesa._cli_report import spread_rows

    fit = SimpleNamespace(info={"template_spread_ms": {"P_on": 12.4, "QRS_on": 0.3,
                                                       "T_off": 85.2, "T_on": 9.9}})
    (label, text), = spread_rows({"fit": fit, "n_ok": 10})
    assert label == "template split" and text.startswith("T off 85 ms, P on 12 ms between")
    assert spread_rows({"fit": fit, "n_ok": 0}) == []           # no beat fitted ok
    fit.info["template_spread_ms"] = {"P_on": 1.0, "T_off": 2.0}
    assert spread_rows({"fit": fit, "n_ok": 10}) == []
    fit.info["template_spread_ms"] = None
    assert spread_rows({"fit": fit, "n_ok": 10}) == [] and spread_rows({}) == []


def test_fit_bad_record_exits_1_with_the_reason(runner, tmp_path):
    bad = tmp_path / "broken.edf"
    bad.write_bytes(b"0       " + bytes(100))
    res = runner.invoke(app, ["fit", str(bad), "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "broken.edf" in res.stderr and "EDF" in res.stderr
    missing_lead = runner.invoke(app, ["fit", str(bad.with_name("x.npy")), "--fs", "250"])
    assert missing_lead.exit_code == 2  # does not exist


def test_fit_several_leads(runner, tmp_path):
    from gmesa import ecg
    syn = ecg.synthesize(duration=20, fs=250, leads=2, seed=1)
    path = tmp_path / "two.npy"
    np.save(path, syn.record.signal)
    out = tmp_path / "out"
    res = runner.invoke(app, ["fit", str(path), "--fs", "250", "--leads", "all", "--lead", "1",
                              "--out", str(out), "--format", "csv"])
    assert res.exit_code == 0, (res.output, res.stderr)
    for word in ("leads lead0, lead1 (primary lead1)", "joint: wave timing shared", "median QT"):
        assert word in res.output
    beats = pd.read_csv(out / "two.leads.csv", keep_default_na=False)
    assert len(beats) >= len(syn.truth) - 2
    assert {"R_amplitude_lead0", "R_amplitude_lead1", "rmse_lead0"} <= set(beats.columns)
    for lead in ("lead0", "lead1"):
        assert (out / f"two.{lead}.beats.csv").is_file() and (out / f"two.{lead}.info.json").is_file()
    bad = runner.invoke(app, ["fit", str(path), "--fs", "250", "--leads", "0,V9", "--out", str(out)])
    assert bad.exit_code == 1 and "V9" in bad.stderr
    figs = runner.invoke(app, ["fit", str(path), "--fs", "250", "--leads", "all", "--figures",
                               "--out", str(tmp_path / "figs")])
    assert figs.exit_code == 0, figs.output
    for name in ("two.leads.beat.png", "two.leads.trends.png"):
        png = tmp_path / "figs" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {png}" in figs.output
    redraw = runner.invoke(app, ["plot", str(tmp_path / "figs"), "--beat", "3"])  # the folder
    assert redraw.exit_code == 0 and (tmp_path / "figs" / "two.leads.beat3.png").is_file()
    missing = runner.invoke(app, ["plot", str(tmp_path / "figs" / "two.leads.json"), "--beat", "999"])
    assert missing.exit_code == 2 and "beat 999" in missing.stderr
    alone = runner.invoke(app, ["fit", str(path), "--fs", "250", "--leads", "all", "--per-lead",
                                "--out", str(tmp_path / "alone"), "--format", "csv"])
    assert alone.exit_code == 0 and "each lead alone" in alone.output
    assert "P_lead" in pd.read_csv(tmp_path / "alone" / "two.leads.csv").columns
    pooled = runner.invoke(app, ["fit", str(path), "--fs", "250", "--leads", "all", "--per-lead",
                                 "--pooled", "--out", str(tmp_path / "pooled"), "--format", "csv"])
    assert pooled.exit_code == 0 and "boundaries pooled over the leads" in pooled.output
    table = pd.read_csv(tmp_path / "pooled" / "two.leads.csv")
    assert (table["QRS_n_leads"] == 2).mean() > 0.8
    for wrong in (["--pooled"], ["--leads", "all", "--pooled"]):  # no leads; the joint model
        res = runner.invoke(app, ["fit", str(path), "--fs", "250", *wrong])
        assert res.exit_code == 2 and "--pooled" in res.stderr


def test_fit_wrong_lead_lists_the_leads(runner, small_record, tmp_path):
    res = runner.invoke(app, ["fit", str(small_record), "--out", str(tmp_path), "--lead", "MLII"])
    assert res.exit_code == 1 and "available leads" in res.stderr


@pytest.fixture
def fake_demo(monkeypatch):
    """gmesa.demo and gmesa.plot.files stand in for the plotting issue's modules: record
    the calls."""
    calls = {}
    mod = types.ModuleType("gmesa.demo")
    files = types.ModuleType("gmesa.plot.files")

    def run_demo(out, data=None):
        calls["run_demo"] = out
        print("demo summary table")
        return {"paths": [Path(out) / "demo.csv"], "summary": pd.DataFrame({"beats": [10]})}

    def plot_results(results, beat, out):
        calls["plot_results"] = (results, beat, out)
        return out

    def write_figures(fit, out_dir, stem=None):
        calls["write_figures"] = (len(fit), out_dir)
        return [Path(out_dir) / "fig.png"]

    mod.run_demo = run_demo
    files.plot_results, files.write_figures = plot_results, write_figures
    monkeypatch.setitem(sys.modules, "gmesa.demo", mod)
    monkeypatch.setitem(sys.modules, "gmesa.plot.files", files)
    return calls


def test_demo_plot_and_figures_call_gmesa_demo(runner, fake_demo, small_record, tmp_path):
    res = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.stderr
    assert fake_demo["run_demo"] == tmp_path / "demo" and "demo summary" in res.output
    info = tmp_path / "r.info.json"
    info.write_text("{}")
    res = runner.invoke(app, ["plot", str(info), "--beat", "3", "--out", str(tmp_path / "b.png")])
    assert res.exit_code == 0, res.stderr
    assert fake_demo["plot_results"] == (info, 3, tmp_path / "b.png")
    res = runner.invoke(app, ["fit", str(small_record), "--out", str(tmp_path), "--figures"])
    assert res.exit_code == 0, res.stderr
    assert fake_demo["write_figures"][1] == tmp_path and "fig.png" in res.output


def test_plot_a_saved_result(runner, small_record, tmp_path):
    pytest.importorskip("gmesa.demo")
    res = runner.invoke(app, ["fit", str(small_record), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.stderr
    info = tmp_path / "s0010_re.info.json"
    png = tmp_path / "beat.png"
    res = runner.invoke(app, ["plot", str(info), "--beat", "3", "--out", str(png)])
    assert res.exit_code == 0, res.stderr
    assert png.stat().st_size > 1000
    figs = tmp_path / "figures"     # an existing folder takes the default name
    figs.mkdir()
    res = runner.invoke(app, ["plot", str(info), "--beat", "3", "--out", str(figs)])
    assert res.exit_code == 0, res.stderr
    assert (figs / "s0010_re.beat3.png").stat().st_size > 1000
    res = runner.invoke(app, ["plot", str(info), "--beat", "9999"])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "--beat" in res.stderr


# ---------------------------------------------------------------------------------
# gmesa batch
# ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_batch_exit_codes_results_index_and_log(runner, physionet_dir, tmp_path):
    import wfdb

    d = tmp_path / "in"
    d.mkdir()
    for f in physionet_dir.glob("s0010_re.*"):
        shutil.copy(f, d / f.name)
    shutil.copy(physionet_dir / "test_generator_2.edf", d / "test_generator_2.edf")
    rec = wfdb.rdrecord(str(physionet_dir / "03700181"), sampto=125 * 60, physical=False)
    wfdb.wrsamp("03700181", fs=rec.fs, units=rec.units, sig_name=rec.sig_name,
                d_signal=rec.d_signal, fmt=rec.fmt, adc_gain=rec.adc_gain,
                baseline=rec.baseline, write_dir=str(d))
    good = {"s0010_re", "test_generator_2", "03700181"}
    # what users leave in folders
    rng = np.random.default_rng(1)
    (d / "x.hea").write_bytes(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    (d / "x.dat").write_bytes(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    (d / "empty.edf").write_bytes(b"")
    text = "time,ecg\n" + "".join(f"{i / 250:.3f},{np.sin(i / 9):.4f}\n" for i in range(500))
    (d / "notes.dat").write_text(text)                     # text renamed .dat, no header
    hea = (physionet_dir / "s0010_re.hea").read_text().replace("s0010_re", "export")
    (d / "export.hea").write_text(hea)                     # ... or beside a copied header
    (d / "export.dat").write_text(text)
    bad = {"x": "malformed", "empty": "empty file", "notes": "header",
           "export": "truncated"}
    out = tmp_path / "out"
    res = runner.invoke(app, ["batch", str(d), "--out", str(out), "--workers", "2",
                              "--no-progress"])
    assert res.exit_code == 1, (res.output, res.stderr)
    assert f"{len(bad)} of {len(bad) + len(good)} inputs failed" in res.stderr
    assert f"{len(bad)} failed" in res.output
    # one result per good record, nothing for the bad ones
    assert {p.name.split(".")[0] for p in out.glob("*.info.json")} == good
    assert {p.name.split(".")[0] for p in out.glob("*.beats.parquet")} == good
    idx = read_index(out)
    assert len(idx) == len(good) + len(bad)
    st = dict(zip(idx["record"], idx["status"]))
    assert {k for k, v in st.items() if v == "ok"} == good
    log = read_log(out)
    recs = log[log["event"] == "record"].set_index("record")
    for name, word in bad.items():
        assert recs.loc[name, "status"] == "failed"
        assert word in recs.loc[name, "reason"], recs.loc[name, "reason"]
        assert word in idx.set_index("record").loc[name, "reason"]
    for name in good:
        assert recs.loc[name, "status"] == "ok" and recs.loc[name, "n_beats"] > 0
        assert recs.loc[name, "seconds"] > 0
    # the bad files removed, the same command: everything skipped, exit 0
    for name in bad:
        for f in d.glob(f"{name}.*"):
            f.unlink()
    res = runner.invoke(app, ["batch", str(d), "--out", str(out), "--workers", "1",
                              "--no-progress"])
    assert res.exit_code == 0, (res.output, res.stderr)
    assert "0 fitted, 3 skipped" in res.output and "0 failed" in res.output


def test_batch_several_leads(runner, tmp_path):
    from gmesa import ecg
    d = tmp_path / "in"
    d.mkdir()
    for seed in (1, 2):
        np.save(d / f"rec{seed}.npy", ecg.synthesize(duration=20, fs=250, leads=2, seed=seed).record.signal)
    out = tmp_path / "out"
    res = runner.invoke(app, ["batch", str(d), "--out", str(out), "--fs", "250", "--leads", "all",
                              "--lead", "1", "--workers", "1", "--no-progress"])
    assert res.exit_code == 0, (res.output, res.stderr)
    assert "2 fitted" in res.output
    index = pd.read_csv(out / "index.csv")
    assert list(index["beats_file"]) == ["rec1.leads.parquet", "rec2.leads.parquet"]
    assert (index["lead"] == "lead1").all()
    again = runner.invoke(app, ["batch", str(d), "--out", str(out), "--fs", "250", "--leads", "all",
                                "--lead", "1", "--workers", "1", "--no-progress"])
    assert again.exit_code == 0 and "2 skipped" in again.output
    alone = runner.invoke(app, ["batch", str(d), "--out", str(tmp_path / "alone"), "--fs", "250",
                                "--leads", "all", "--per-lead", "--workers", "1", "--no-progress"])
    assert alone.exit_code == 0, (alone.output, alone.stderr)
    info = json.loads((tmp_path / "alone" / "rec1.leads.json").read_text())
    assert "joint" not in info and "joint" in json.loads((out / "rec1.leads.json").read_text())
    pooled = runner.invoke(app, ["batch", str(d), "--out", str(tmp_path / "pooled"), "--fs", "250",
                                 "--leads", "all", "--per-lead", "--pooled", "--workers", "1",
                                 "--no-progress"])
    assert pooled.exit_code == 0, (pooled.output, pooled.stderr)
    assert json.loads((tmp_path / "pooled" / "rec1.leads.json").read_text())["boundaries"] == "pooled"
    assert "QRS_n_leads" in pd.read_parquet(tmp_path / "pooled" / "rec1.leads.parquet").columns


# ---------------------------------------------------------------------------------
# exit codes 3 and 4, --force-ecg, records of a database folder
# ---------------------------------------------------------------------------------
def _noise_and_flat(folder, fs=250.0, seconds=20.0):
    folder.mkdir(parents=True, exist_ok=True)
    n = int(seconds * fs)
    np.save(folder / "noise.npy", np.random.default_rng(7).normal(size=n))
    np.save(folder / "flat.npy", np.zeros(n))
    return folder / "noise.npy", folder / "flat.npy"


def test_no_beat_fitted_ok_exits_4(runner, small_record, tmp_path):
    noise, flat = _noise_and_flat(tmp_path / "in")
    res = runner.invoke(app, ["fit", str(flat), "--fs", "250", "--out", str(tmp_path / "o")])
    assert res.exit_code == 4, (res.output, res.stderr)
    assert "no beats detected" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["fit", str(noise), "--fs", "250", "--out", str(tmp_path / "o"),
                              "--threads", "1"])
    assert res.exit_code == 4, (res.output, res.stderr)
    assert "no beat fitted ok" in res.stderr and "ok          0 (0.0%)" in res.output
    assert (tmp_path / "o" / "noise.beats.parquet").is_file()
    # a batch in which no input gives an ok beat: 4; with one good record: 1
    out = tmp_path / "batch"
    res = runner.invoke(app, ["batch", str(tmp_path / "in"), "--out", str(out), "--fs", "250",
                              "--workers", "1", "--no-progress"])
    assert res.exit_code == 4, (res.output, res.stderr)
    assert "2 with no beat fitted ok" in res.output
    assert "2 of 2 inputs gave no beat fitted ok" in res.stderr
    assert "no input gave a beat fitted ok" in res.stderr
    assert set(read_index(out)["status"]) == {"no_ok_beat"}
    shutil.copy(small_record, tmp_path / "in")
    shutil.copy(small_record.with_suffix(".dat"), tmp_path / "in")
    shutil.copy(small_record.with_suffix(".xyz"), tmp_path / "in")
    res = runner.invoke(app, ["batch", str(tmp_path / "in"), "--out", str(out), "--fs", "250",
                              "--workers", "1", "--no-progress"])
    assert res.exit_code == 1, (res.output, res.stderr)
    assert "3 inputs: 1 fitted, 1 skipped" in res.output and "2 of 3 inputs gave no beat" in res.stderr
    # a batch whose every input failed is a failure (1), not "no beat fitted ok" (4)
    res = runner.invoke(app, ["batch", str(tmp_path / "missing.hea"), "--out", str(out),
                              "--no-progress"])
    assert res.exit_code == 1 and "1 of 1 inputs failed" in res.stderr


@pytest.mark.parametrize("command", ["fit", "batch"])
def test_unwritable_out_is_one_line_and_exit_3(runner, command, tmp_path):
    noise, _ = _noise_and_flat(tmp_path / "in")
    (tmp_path / "file").write_text("x")
    args = [command, str(noise), "--fs", "250"] + (["--no-progress"] if command == "batch" else [])
    bad = [(tmp_path / "file" / "out", "cannot create the output folder")]
    if sys.platform.startswith("linux") and Path("/proc/self").is_dir():
        bad.append((Path("/proc/self"), "cannot write in the output folder"))  # even for root
    for out, why in bad:
        res = runner.invoke(app, args + ["--out", str(out)])
        assert res.exit_code == 3, (out, res.output, res.stderr)
        err = res.stderr.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith(f"gmesa {command}: error: {out}: {why}"), err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into a read-only folder")
def test_read_only_out_exits_3(runner, tmp_path):
    noise, _ = _noise_and_flat(tmp_path / "in")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        for out in (ro, ro / "sub"):
            res = runner.invoke(app, ["fit", str(noise), "--fs", "250", "--out", str(out)])
            assert res.exit_code == 3 and len(res.stderr.strip().splitlines()) == 1
    finally:
        ro.chmod(0o755)


def test_batch_on_a_locked_out_exits_3(runner, tmp_path):
    from filelock import FileLock
    from gmesa.batch.outdir import LOCK_NAME
    noise, _ = _noise_and_flat(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(out / LOCK_NAME), timeout=0):  # another batch is running
        res = runner.invoke(app, ["batch", str(noise), "--fs", "250", "--out", str(out),
                                  "--no-progress"])
    assert res.exit_code == 3, (res.output, res.stderr)
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and "another gmesa batch is writing" in err
    assert not any(out.glob("noise.*"))


def test_force_ecg_lets_a_non_ecg_lead_through(runner, tmp_path):
    """A lead named PLETH is refused by the ECG pipeline with one line naming --force-ecg
    (exit 1); with --force-ecg it is fitted (exit 0), in `gmesa fit` and in `gmesa batch`."""
    from gmesa import ecg
    syn = ecg.synthesize(duration=20, fs=250, seed=2)
    csv = tmp_path / "pleth.csv"
    np.savetxt(csv, np.asarray(syn.record.signal, dtype=float).reshape(-1, 1), fmt="%.5f",
               header="PLETH", comments="")
    base = ["fit", str(csv), "--fs", "250", "--out", str(tmp_path / "o")]
    res = runner.invoke(app, base)
    assert res.exit_code == 1, (res.output, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1 and "--force-ecg" in res.stderr
    res = runner.invoke(app, base + ["--force-ecg"])
    assert res.exit_code == 0, (res.output, res.stderr)
    args = ["batch", str(csv), "--fs", "250", "--out", str(tmp_path / "b"), "--workers", "1",
            "--no-progress"]
    assert runner.invoke(app, args).exit_code == 1
    res = runner.invoke(app, args + ["--force-ecg"])  # other settings: fitted again
    assert res.exit_code == 0 and "1 fitted" in res.output


def test_batch_counts_records_not_files(runner, physionet_dir, small_record, tmp_path):
    """A database folder with a multi-segment record (master, segment headers and their
    data files) and a two-file record (.dat + .xyz): 2 inputs, not 6."""
    d = tmp_path / "db"
    shutil.copytree(physionet_dir / "multi-segment" / "041s", d / "041s")
    for f in small_record.parent.glob("s0010_re.*"):
        shutil.copy(f, d / f.name)
    res = runner.invoke(app, ["batch", str(d), "--out", str(tmp_path / "out"), "--workers", "1",
                              "--no-progress"])
    assert res.exit_code == 0, (res.output, res.stderr)
    assert res.output.startswith("2 inputs:"), res.output
    assert sorted(read_index(tmp_path / "out")["record"]) == ["041s", "s0010_re"]


def test_fit_several_leads_prints_the_spatial_qrs_t_angle(runner, tmp_path):
    """With orthogonal leads the summary gives the median spatial QRS-T angle and its
    frame; the figure is the table's median over the ok beats."""
    from dipoles import synthetic_record

    rec = synthetic_record(seconds=10.0, frank=True)
    path = tmp_path / "xyz.csv"
    pd.DataFrame(rec.signal, columns=rec.leads).to_csv(path, index=False)
    res = runner.invoke(app, ["fit", str(path), "--fs", "500", "--leads", "all", "--lead", "vx",
                              "--out", str(tmp_path), "--format", "csv"])
    assert res.exit_code == 0, res.output
    beats = pd.read_csv(tmp_path / "xyz.leads.csv")
    ok = beats[beats["status"] == "ok"]["QRS_T_angle_deg"].dropna()
    assert len(ok) >= 5
    line = next(s for s in res.output.splitlines() if "QRS-T angle" in s)
    assert f"{np.median(ok):.0f}° median" in line and "Frank" in line, line
    two = runner.invoke(app, ["fit", str(path), "--fs", "500", "--leads", "vx,vy", "--lead", "vx",
                              "--out", str(tmp_path / "two")])
    assert two.exit_code == 0 and "QRS-T angle" not in two.output   # no frame: no row


def test_several_lead_figures_of_a_wfdb_record_draw_the_samples(runner, tmp_path):
    """A WFDB record's leads are written as they are fitted and only their tables kept in
    memory; the figures read the samples back (a lead without samples is refused, not
    drawn as empty panels)."""
    import dataclasses

    import wfdb

    from gmesa import ecg
    from gmesa.plot import leads_beat

    syn = ecg.synthesize(duration=20, fs=250, leads=2, seed=1)
    wfdb.wrsamp("two", fs=250, units=["mV", "mV"], sig_name=["II", "V5"],
                p_signal=syn.record.signal, write_dir=str(tmp_path))
    out = tmp_path / "out"
    res = runner.invoke(app, ["fit", str(tmp_path / "two.hea"), "--leads", "all", "--figures",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output + res.stderr
    assert (out / "two.leads.beat.png").stat().st_size > 20_000
    fit = ecg.LeadsFit.load(out / "two.leads.json")
    bare = ecg.LeadsFit(fit.beats, {k: dataclasses.replace(v, signal=np.zeros(0))
                                    for k, v in fit.fits.items()}, fit.primary, fit.info)
    with pytest.raises(ValueError, match="no samples"):
        leads_beat(bare, 0)


def test_fit_stability_says_whether_the_lead_moves_under_tiny_noise(runner, small_record,
                                                                      tmp_path):
    res = runner.invoke(app, ["fit", str(small_record), "--out", str(tmp_path),
                              "--stability"])
    assert res.exit_code == 0, res.stderr
    assert "under 0.0001 mV of white noise (3 fits compared" in res.output
    res = runner.invoke(app, ["fit", str(small_record), "--out", str(tmp_path),
                              "--stability", "--leads", "all"])
    assert res.exit_code == 2 and "--stability checks one lead" in res.stderr
