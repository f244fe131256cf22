"""gmesa.batch: finding records, bad input, resume after kill -9, Dask = local."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gmesa.batch import (RECORD_STATUS, SUMMARY_COLUMNS, TIMING_COLUMNS, OutputFolderError,
                         find_records, fit_files, fit_one, read_index, read_log)
from gmesa.batch.discovery import output_stems, safe_stem

REPO = Path(__file__).resolve().parents[1]

#: short copies keep the tests fast: (record, seconds kept or None for a plain copy)
GOOD = (("03700181", 120.0), ("100", 90.0), ("s0010_re", None), ("test_generator_2.edf", None))
GOOD_STEMS = ("03700181", "100", "s0010_re", "test_generator_2")


# ---------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------


def copy_record(src_dir, name, dst_dir, seconds=None):
    """Copy a record (WFDB: its .hea/.dat; else the file) into dst_dir, keeping only the
    first ``seconds`` of a WFDB record (rewritten with wfdb.wrsamp)."""
    dst_dir = Path(dst_dir)
    dst_dir.mkdir(parents=True, exist_ok=True)
    if name.endswith(".edf"):
        shutil.copy(src_dir / name, dst_dir / name)
        return
    if seconds is None:
        for f in Path(src_dir).glob(f"{name}.*"):
            shutil.copy(f, dst_dir / f.name)
        return
    import wfdb
    h = wfdb.rdheader(str(src_dir / name))
    rec = wfdb.rdrecord(str(src_dir / name), sampto=int(seconds * h.fs), physical=False)
    wfdb.wrsamp(name, fs=rec.fs, units=rec.units, sig_name=rec.sig_name,
                d_signal=rec.d_signal, fmt=rec.fmt, adc_gain=rec.adc_gain,
                baseline=rec.baseline, write_dir=str(dst_dir))




@pytest.fixture(scope="session")
def good_dir(physionet_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    for name, seconds in GOOD:
        copy_record(physionet_dir, name, d, seconds)
    return d


@pytest.fixture(scope="session")
def reference(good_dir, tmp_path_factory):
    """An uninterrupted in-process run over good_dir: (out folder, summary)."""
    out = tmp_path_factory.mktemp("reference")
    summary = fit_files([good_dir], out=out, workers=1, progress=False)
    return out, summary


def without_timing(df):
    return df.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


def assert_same_output(out_a, out_b, stems=GOOD_STEMS, fmt="parquet"):
    """Index (timing aside) and every per-record beat and signal table are equal."""
    pd.testing.assert_frame_equal(without_timing(read_index(out_a)),
                                  without_timing(read_index(out_b)))
    for stem in stems:
        read = pd.read_parquet if fmt == "parquet" else pd.read_csv
        pd.testing.assert_frame_equal(read(Path(out_a) / f"{stem}.beats.{fmt}"),
                                      read(Path(out_b) / f"{stem}.beats.{fmt}"))
        pd.testing.assert_frame_equal(pd.read_parquet(Path(out_a) / f"{stem}.signal.parquet"),
                                      pd.read_parquet(Path(out_b) / f"{stem}.signal.parquet"))
        a = json.loads((Path(out_a) / f"{stem}.info.json").read_text())
        b = json.loads((Path(out_b) / f"{stem}.info.json").read_text())
        for info in (a, b):
            info["batch"]["summary"] = {k: v for k, v in info["batch"]["summary"].items()
                                        if k not in TIMING_COLUMNS}
        assert a == b


# ---------------------------------------------------------------------------------
# finding records and naming results
# ---------------------------------------------------------------------------------
def test_find_records_folders_globs_and_companions(tmp_path):
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    (d / ".hidden").mkdir()
    for f in ("a.hea", "a.dat", "a.atr", "b.edf", "c.csv", "d.npy", "README.md", "lone.dat",
              "sub/e.hea", "sub/e.dat", ".hidden/h.edf", "notes.txt"):
        (d / f).write_text("x")
    out = d / "results"
    out.mkdir()
    (out / "index.csv").write_text("x")   # an earlier run's output is not an input
    found = find_records([d], exclude=[out])
    names = [Path(p).name for p, problem in found]
    assert names == ["a.hea", "b.edf", "c.csv", "d.npy", "lone.dat", "e.hea"]
    assert all(problem is None for _, problem in found)
    # a .dat or a bare record name stands for its .hea; each record once
    again = find_records([d / "a.dat", d / "a", d / "a.hea", str(d / "*.dat")])
    assert [Path(p).name for p, _ in again] == ["a.hea", "lone.dat"]
    (tmp_path / "empty_folder").mkdir()
    nothing = find_records([str(d / "*.xyz"), tmp_path / "empty_folder"])
    assert [problem is not None for _, problem in nothing] == [True, True]
    assert "no file matches" in nothing[0][1] and "no ECG record" in nothing[1][1]
    # a missing file is an input: the reader says "file not found"
    assert find_records([tmp_path / "missing.hea"]) == [(str(tmp_path / "missing.hea"), None)]


#: hand-written WFDB headers of a PhysioNet-style folder: name -> header text
HEADERS = {
    # a variable-layout multi-segment record: master, layout and segment headers
    "msr": "msr/3 2 125 2500\nmsr_layout 0\nmsr_0001 1000\n~ 500\nmsr_0002 1000\n",
    "msr_layout": "msr_layout 2 125 0\n~ 0 200 16 0 0 0 0 II\n~ 0 200 16 0 0 0 0 ABP\n",
    "msr_0001": "msr_0001 2 125 1000\nmsr_0001.dat 16 200 16 0 0 0 0 II\n"
                "msr_0001.dat 16 200 16 0 0 0 0 ABP\n",
    "msr_0002": "msr_0002 2 125 1000\nmsr_0002.dat 16 200 16 0 0 0 0 II\n"
                "msr_0002.dat 16 200 16 0 0 0 0 ABP\n",
    # one data file per signal, named unlike the record
    "multi": "multi 2 250 5000\nmulti_ecg.dat 16 200 16 0 0 0 0 II\n"
             "multi_abp.dat 16 200 16 0 0 0 0 ABP\n",
    # a WFDB .mat record, and one whose leads span two files (PTB's .dat + .xyz)
    "m001": "m001 1 250 5000\nm001.mat 16+24 200 16 0 0 0 0 ECG\n",
    "ptb": "ptb 2 1000 5000\nptb.dat 16 2000 16 0 0 0 0 i\nptb.xyz 16 2000 16 0 0 0 0 vx\n",
    "a": "a 1 250 5000\na.dat 16 200 16 0 0 0 0 II\n",
    # a layout header no master names: a part, never a record by itself
    "orphan_layout": "orphan_layout 1 250 0\n~ 0 200 16 0 0 0 0 II\n",
}
DATA_FILES = ("msr_0001.dat", "msr_0002.dat", "multi_ecg.dat", "multi_abp.dat", "m001.mat",
              "ptb.dat", "ptb.xyz", "a.dat", "a.atr", "x.edf", "notes.csv", "lone.dat")


def database_folder(d):
    """A folder laid out like a PhysioNet database: 8 records (7 and a lone .dat)."""
    d.mkdir(parents=True, exist_ok=True)
    for name, text in HEADERS.items():
        (d / f"{name}.hea").write_text(text)
    for f in DATA_FILES:
        (d / f).write_bytes(b"\0" * 64)
    return d


def test_find_records_counts_records_of_a_physionet_folder(physionet_dir):
    """The PhysioNet sample folder holds 6 records: a multi-segment record's segment
    headers and a record's second data file (.xyz) are parts of a record, not inputs."""
    found = find_records([physionet_dir])
    assert all(problem is None for _, problem in found)
    names = sorted(Path(p).name for p, _ in found)
    assert names == ["03700181.hea", "041s.hea", "100.hea", "s0010_re.hea", "test_generator_2.edf",
                     "v102s.hea"]
    seg = physionet_dir / "multi-segment" / "041s"
    # a glob over the parts finds the record once; a part named explicitly is an input
    assert find_records([str(seg / "*.hea"), str(seg / "*.dat")]) == [(str(seg / "041s.hea"), None)]
    assert find_records([seg / "041s01.hea"]) == [(str(seg / "041s01.hea"), None)]


def test_find_records_groups_headers_and_data_files_into_records(tmp_path):
    d = database_folder(tmp_path / "db")
    found = find_records([d])
    assert all(problem is None for _, problem in found)
    assert [Path(p).name for p, _ in found] == [
        "a.hea", "lone.dat", "m001.hea", "msr.hea", "multi.hea", "notes.csv", "ptb.hea", "x.edf"]
    # globs map parts to their record, each record once
    dats = find_records([str(d / "*.dat"), str(d / "*.mat"), str(d / "*.xyz")])
    assert [Path(p).name for p, _ in dats] == ["a.hea", "lone.dat", "msr.hea", "multi.hea",
                                                "ptb.hea", "m001.hea"]
    heas = find_records([str(d / "msr*.hea"), str(d / "orphan*.hea")])
    assert [Path(p).name for p, _ in heas] == ["msr.hea", "orphan*.hea"] and heas[0][1] is None
    assert "no ECG record" in heas[1][1]  # a layout header alone is no record
    # a data file named explicitly stands for the record whose header names it
    assert find_records([d / "multi_abp.dat"]) == [(str(d / "multi.hea"), None)]
    # a PhysioNet RECORDS list: other files count only when it names them
    (d / "RECORDS").write_text("a\nm001\nmsr\nmulti\nptb\nx.edf\n")
    listed = [Path(p).name for p, _ in find_records([tmp_path])]
    assert listed == ["a.hea", "lone.dat", "m001.hea", "msr.hea", "multi.hea", "ptb.hea", "x.edf"]
    assert [Path(p).name for p, _ in find_records([str(d / "*.csv")])] == ["notes.csv"]


def test_output_names_are_safe_and_unique(tmp_path):
    for bad in ("../../etc/passwd", "..", "/abs/path", "a/../../b", "con", "-rf", "", "名前"):
        stem = safe_stem(bad)
        assert stem and "/" not in stem and "\\" not in stem and not stem.startswith((".", "-"))
        assert (tmp_path / f"{stem}.info.json").resolve().parent == tmp_path.resolve()
    assert safe_stem("con").lower() != "con"
    inputs = [("/a/100.hea", None), ("/b/100.hea", None), ("/c/100.EDF", None), ("/d/x.csv", None)]
    stems = output_stems(inputs)
    assert len({s.casefold() for s in stems}) == 4 and stems[3] == "x"
    assert all(s.startswith("100-") for s in stems[:3])
    assert output_stems(inputs) == stems  # deterministic: resume finds the same names


# ---------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------
def test_bad_inputs_are_reported_and_the_rest_goes_on(tmp_path, physionet_dir):
    d = tmp_path / "in"
    copy_record(physionet_dir, "s0010_re", d)
    fs = 250.0
    t = np.arange(int(20 * fs)) / fs
    np.save(d / "allnan.npy", np.full(t.size, np.nan))
    np.save(d / "flat.npy", np.zeros(t.size))
    np.save(d / "sine.npy", 0.5 * np.sin(2 * np.pi * 0.3 * t))
    out = tmp_path / "out"
    paths = [d / "s0010_re.hea", d / "allnan.npy", d / "flat.npy",
             tmp_path / "missing.hea", str(tmp_path / "*.nothing"), d / "unsupported.xyz"]
    (d / "unsupported.xyz").write_text("hello")
    summary = fit_files(paths, out=out, workers=1, progress=False, fs=fs)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    status = dict(zip(summary["record"], summary["status"]))
    reason = dict(zip(summary["record"], summary["reason"]))
    assert status["s0010_re"] == "ok" and summary.attrs["n_failed"] == 4
    assert summary.attrs["outcomes"] == {"ok": 1, "no_ok_beat": 1, "failed": 4}
    assert "NaN" in reason["allnan"]
    assert status["flat"] == "no_ok_beat" and "no beats" in reason["flat"]
    assert "not found" in reason["missing"]
    assert "no file matches" in reason["nothing"]
    assert "unsupported" in reason["unsupported"]
    # nothing written for a failed input; everything in the log with its reason
    assert sorted(p.name for p in out.glob("*.info.json")) == ["s0010_re.info.json"]
    log = read_log(out)
    recs = log[log["event"] == "record"].set_index("record")
    assert set(recs.index) == set(summary["record"])
    assert all(recs.loc[r, "reason"] for r in status if status[r] == "failed")
    # a text file and no sampling rate
    (d / "nofs.csv").write_text("ecg\n" + "\n".join("0.1" for _ in range(300)))
    nofs = fit_files([d / "nofs.csv"], workers=1, progress=False)
    assert nofs["status"][0] == "failed" and "fs=" in nofs["reason"][0]
    # a lead the record lacks
    wrong = fit_files([d / "s0010_re.hea"], out=out, workers=1, progress=False, lead="MLII",
                      resume=False)
    assert wrong["status"][0] == "failed" and "MLII" in wrong["reason"][0]
    assert "available leads" in wrong["reason"][0]


def noise_and_flat(folder, fs=250.0, seconds=20.0):
    """Two records that give no beat fitted ok: white noise (beats found, every one
    rejected) and a flat line (no beat found)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = int(seconds * fs)
    np.save(folder / "noise.npy", np.random.default_rng(7).normal(size=n))
    np.save(folder / "flat.npy", np.zeros(n))
    return folder / "noise.npy", folder / "flat.npy"


def test_records_with_no_ok_beat_are_reported_as_such(tmp_path, physionet_dir):
    assert set(RECORD_STATUS) == {"ok", "no_ok_beat", "failed", "skipped"}
    noise, flat = noise_and_flat(tmp_path / "in")
    row = fit_one(noise, tmp_path / "one", fs=250, threads=1)
    assert row["status"] == "no_ok_beat" and row["n_beats"] > 10 and row["n_ok"] == 0
    assert "no beat fitted ok" in row["reason"] and "not_ecg" in row["reason"]
    assert (tmp_path / "one" / row["info_file"]).is_file()   # its tables are written
    flat_row = fit_one(flat, None, fs=250)
    assert flat_row["status"] == "no_ok_beat" and "no beats detected" in flat_row["reason"]
    copy_record(physionet_dir, "s0010_re", tmp_path / "in")
    out = tmp_path / "out"
    summary = fit_files(tmp_path / "in", out=out, fs=250, workers=1, progress=False)
    assert dict(zip(summary["record"], summary["status"])) == {
        "flat": "no_ok_beat", "noise": "no_ok_beat", "s0010_re": "ok"}
    assert summary.attrs["outcomes"] == {"ok": 1, "no_ok_beat": 2, "failed": 0}
    # run again: noise's results are complete (skipped), flat has none (fitted again);
    # the index keeps each record's outcome
    again = fit_files(tmp_path / "in", out=out, fs=250, workers=1, progress=False)
    assert dict(zip(again["record"], again["status"])) == {
        "flat": "no_ok_beat", "noise": "skipped", "s0010_re": "skipped"}
    assert again.attrs["outcomes"] == {"ok": 1, "no_ok_beat": 2, "failed": 0}
    index = read_index(out).set_index("record")
    assert dict(index["status"]) == {"flat": "no_ok_beat", "noise": "no_ok_beat", "s0010_re": "ok"}
    assert "no beat fitted ok" in index.loc["noise", "reason"]


def test_an_unusable_output_folder_stops_before_any_work(tmp_path):
    from filelock import FileLock
    from gmesa.batch.outdir import LOCK_NAME
    noise, _ = noise_and_flat(tmp_path / "in")
    (tmp_path / "file").write_text("x")
    for call in (lambda o: fit_files([noise], out=o, fs=250, progress=False),
                 lambda o: fit_one(noise, o, fs=250)):
        with pytest.raises(OutputFolderError, match="cannot create the output folder"):
            call(tmp_path / "file" / "out")
        with pytest.raises(OutputFolderError, match="not a folder"):
            call(tmp_path / "file")
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(out / LOCK_NAME), timeout=0):
        with pytest.raises(OutputFolderError, match="another gmesa batch"):
            fit_files([noise], out=out, fs=250, progress=False)
    assert not (out / "index.parquet").exists() and not (out / "log.jsonl").exists()


def test_options_are_checked_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        fit_files([tmp_path], out=tmp_path, fmt="xlsx")
    with pytest.raises(ValueError, match="workers"):
        fit_files([tmp_path], out=tmp_path, workers=0)
    with pytest.raises(ValueError, match="engine"):
        fit_files([tmp_path], out=tmp_path, engine="magic")
    with pytest.raises(TypeError, match="executor"):
        fit_files([tmp_path], out=tmp_path, executor=object())


# ---------------------------------------------------------------------------------
# resume
# ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_skips_complete_results_and_refits_incomplete(good_dir, reference, tmp_path):
    ref_out, ref_summary = reference
    assert list(ref_summary["status"]) == ["ok"] * len(GOOD)
    assert list(ref_summary["record"]) == list(GOOD_STEMS)
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    (out / "s0010_re.beats.parquet").unlink()        # an incomplete result
    (out / ".100.beats.parquet.abc.tmp").write_text("left by a killed run")
    again = fit_files([good_dir], out=out, workers=1, progress=False)
    assert dict(zip(again["record"], again["status"])) == {
        "03700181": "skipped", "100": "skipped", "s0010_re": "ok", "test_generator_2": "skipped"}
    assert not list(out.glob(".*.tmp"))
    assert_same_output(ref_out, out)
    # other options: not the same result, fitted again
    other = fit_files([good_dir / "100.hea"], out=out, workers=1, progress=False, max_iter=50)
    assert other["status"][0] == "ok"
    # resume=False fits everything again
    redo = fit_files([good_dir / "s0010_re.hea"], out=tmp_path / "o2", workers=1,
                     progress=False)
    redo2 = fit_files([good_dir / "s0010_re.hea"], out=tmp_path / "o2", workers=1,
                      progress=False, resume=False)
    assert redo["status"][0] == "ok" and redo2["status"][0] == "ok"
    runs = read_log(tmp_path / "o2").query("event == 'start'")
    assert len(runs) == 2


def _wait_for(pred, timeout, proc=None):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return pred()
        time.sleep(0.02)
    return False


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_batch_resumes_to_the_uninterrupted_output(good_dir, reference, tmp_path):
    ref_out, _ = reference
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "gmesa.cli", "batch", str(good_dir), "--out", str(out),
           "--workers", "1", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = _wait_for(lambda: any(out.glob("*.info.json")), 120, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert first, "the batch wrote no result before it ended"
    assert proc.returncode == -signal.SIGKILL
    done = sorted(p.name for p in out.glob("*.info.json"))
    assert 1 <= len(done) < len(GOOD), f"killed too late to test anything: {done}"
    # what a killed run leaves is consistent: every index row is true
    if (out / "index.parquet").is_file():
        idx = read_index(out)
        assert set(idx["status"]) <= {"ok", "failed"}
        for _, row in idx[idx["status"] == "ok"].iterrows():
            assert (out / row["info_file"]).is_file()
    # the same command again
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "skipped" in res.stdout
    assert_same_output(ref_out, out)
    log = read_log(out)
    assert (log["event"] == "start").sum() == 2 and (log["event"] == "end").sum() == 1
    last = log[log["run"] == log["run"].iloc[-1]]
    assert set(last.loc[last["event"] == "record", "status"]) == {"ok", "skipped"}


# ---------------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_dask_local_cluster_gives_the_local_tables(good_dir, reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    ref_out, _ = reference
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        summary = fit_files([good_dir], out=out, executor=client, progress=False)
    assert list(summary["status"]) == ["ok"] * len(GOOD)
    assert_same_output(ref_out, out)


def test_concurrent_futures_executor_and_in_memory_results(good_dir, reference):
    from concurrent.futures import ThreadPoolExecutor
    ref_out, _ = reference
    with ThreadPoolExecutor(2) as pool:
        summary = fit_files([good_dir / "s0010_re.hea", good_dir / "100.hea"], executor=pool,
                            progress=False)
    assert summary.attrs["out"] is None and list(summary["status"]) == ["ok", "ok"]
    beats = summary.attrs["beats"]
    for stem in ("s0010_re", "100"):
        pd.testing.assert_frame_equal(beats[stem].reset_index(drop=True),
                                      pd.read_parquet(ref_out / f"{stem}.beats.parquet"))


# ---------------------------------------------------------------------------------
# several leads per record
# ---------------------------------------------------------------------------------
def _write_wfdb(folder, name, signals, fs, leads):
    import wfdb
    k = signals.shape[1]
    wfdb.wrsamp(name, fs=fs, units=["mV"] * k, sig_name=list(leads), p_signal=signals,
                fmt=["16"] * k, write_dir=str(folder))


def test_a_default_lead_without_beats_gives_way_to_the_next_ecg_lead(tmp_path):
    from gmesa import ecg
    syn = ecg.synthesize(duration=20, fs=250, seed=4)
    x = syn.record.signal
    rng = np.random.default_rng(0)
    cases = {"zero_first": (np.stack([np.zeros_like(x), x], 1), ("I", "V5")),   # lead-off
             "noise_first": (np.stack([0.3 * rng.standard_normal(x.size), x], 1), ("CH0", "CH1")),
             "both_flat": (np.zeros((x.size, 2)), ("I", "V5"))}
    for name, (sig, leads) in cases.items():
        _write_wfdb(tmp_path, name, sig, 250, leads)
    row = fit_one(tmp_path / "zero_first.hea", tmp_path / "out", threads=1)
    assert row["status"] == "ok" and row["lead"] == "V5" and row["n_ok"] >= 15
    assert ("lead 'I', read by default, gave no beat (no beats detected); lead 'V5' is fitted "
            "instead") in row["warnings"]
    row = fit_one(tmp_path / "noise_first.hea", tmp_path / "out", threads=1)
    assert row["status"] == "ok" and row["lead"] == "CH1"
    assert "lead 'CH0', read by default, gave no beat (lead 'CH0' does not look like" in row["warnings"]
    row = fit_one(tmp_path / "zero_first.hea", None, lead="I", threads=1)  # chosen: kept
    assert row["status"] == "no_ok_beat" and row["lead"] == "I"
    row = fit_one(tmp_path / "both_flat.hea", None, threads=1)
    assert row["status"] == "no_ok_beat" and row["lead"] == "I"
    from gmesa.batch.reading import pick_lead
    assert pick_lead(["Accel X", "CH2"], ["g", "mV"]) == 1  # a lead in g is no ECG


def test_batch_of_several_leads_combines_resumes_and_reports_a_missing_lead(tmp_path):
    from gmesa import ecg
    src = tmp_path / "in"
    src.mkdir()
    for seed in (1, 2):
        syn = ecg.synthesize(duration=20, fs=250, leads=2, seed=seed)
        _write_wfdb(src, f"rec{seed}", syn.record.signal, 250, ("ii", "v5"))
    _write_wfdb(src, "single", syn.record.signal[:, :1], 250, ("ii",))
    out = tmp_path / "out"
    kw = dict(out=out, lead="ii", leads=["ii", "v5"], workers=1, progress=False)
    first = fit_files(src, **kw).set_index("record")
    assert list(first.loc[["rec1", "rec2"], "status"]) == ["ok", "ok"]
    assert first.loc["single", "status"] == "failed" and "v5" in first.loc["single", "reason"]
    assert first.loc["rec1", "beats_file"] == "rec1.leads.parquet"
    assert first.loc["rec1", "info_file"] == "rec1.leads.json"
    assert (out / first.loc["rec1", "signal_file"]).is_file()
    res = ecg.LeadsFit.load(out / "rec1.leads.json")
    assert res.primary == "ii" and list(res.fits) == ["ii", "v5"]
    direct = ecg.fit_leads(ecg.read_record(src / "rec1"), ["ii", "v5"], primary="ii")
    assert np.allclose(res.beats["T_off_s"], direct.beats["T_off_s"], equal_nan=True)
    assert first.loc["rec1", "n_beats"] == len(direct.beats)
    assert np.isfinite(first.loc["rec1", "median_prd"])  # the primary lead's
    # run again: complete results are skipped, the bad record is tried again
    again = fit_files(src, **kw).set_index("record")
    assert list(again.loc[["rec1", "rec2"], "status"]) == ["skipped", "skipped"]
    assert again.loc["single", "status"] == "failed"
    # a lost per-lead file makes the record incomplete: it is fitted again
    (out / "rec2.v5.beats.parquet").unlink()
    third = fit_files(src, **kw).set_index("record")
    assert third.loc["rec2", "status"] == "ok" and third.loc["rec1", "status"] == "skipped"
    assert (out / "rec2.v5.beats.parquet").is_file()
    # one lead per record is a different result set: not taken for the leads' one
    one = fit_files(src, out=out, lead="ii", workers=1, progress=False).set_index("record")
    assert (one["status"] == "ok").all() and (out / "rec1.info.json").is_file()


def test_batch_leads_read_and_written_one_lead_at_a_time(tmp_path, monkeypatch):
    """A WFDB record's leads are read one at a time and each lead's files are written as
    soon as it is fitted (only its beat table is kept): the result equals fit_leads on
    the whole record; a crash after the first lead leaves no .leads.json, so the record
    is fitted again on the next run."""
    from gmesa import ecg
    from gmesa.batch import reading
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    syn = ecg.synthesize(duration=20, fs=250, leads=3, seed=3)
    _write_wfdb(src, "rec", syn.record.signal, 250, ("ii", "v5", "v2"))
    reads = []
    real_read = reading.read_lead

    def spy(path, lead, fs, every_lead=False):
        reads.append((lead, every_lead))
        return real_read(path, lead, fs, every_lead)
    monkeypatch.setattr(reading, "read_lead", spy)
    row = fit_files(src, out=out, leads="all", workers=1, progress=False).iloc[0]
    assert row["status"] == "ok"
    assert sorted(reads) == [("ii", False), ("v2", False), ("v5", False)]
    direct = ecg.fit_leads(ecg.read_record(src / "rec"))
    res = ecg.LeadsFit.load(out / "rec.leads.json")
    assert res.primary == direct.primary == "ii" and list(res.fits) == list(direct.fits)
    pd.testing.assert_frame_equal(res.beats, direct.beats)
    for lead in direct.fits:
        pd.testing.assert_frame_equal(res.fits[lead].beats, direct.fits[lead].beats)
        assert res.fits[lead].signal.size == direct.fits[lead].signal.size
    # a crash while fitting the second lead: the first lead's files are written, the
    # record's .leads.json is not, and the next run fits the record again
    real_fit = ecg.fit.fit_record
    calls = []

    def crash_on_second(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real_fit(*args, **kw)
    monkeypatch.setattr("gmesa.ecg.leads.fit_record", crash_on_second)
    again = fit_files(src, out=out, leads="all", workers=1, progress=False, resume=False,
                      joint=False)  # the per-lead model writes each lead as it is fitted
    assert again["status"].iloc[0] == "failed" and "killed" in again["reason"].iloc[0]
    assert not (out / "rec.leads.json").exists() and (out / "rec.ii.info.json").is_file()
    monkeypatch.setattr("gmesa.ecg.leads.fit_record", real_fit)
    third = fit_files(src, out=out, leads="all", workers=1, progress=False)
    assert third["status"].iloc[0] == "ok" and (out / "rec.leads.json").is_file()


def test_batch_leads_of_a_csv_record(tmp_path):
    """CSV names no leads before it is read: the record is read whole and its leads
    fitted together; the result is the same set of files."""
    from gmesa import ecg
    syn = ecg.synthesize(duration=20, fs=250, leads=2, seed=4)
    src = tmp_path / "rec.csv"
    pd.DataFrame(syn.record.signal, columns=["ii", "v5"]).to_csv(src, index=False)
    row = fit_files([src], out=tmp_path / "out", fs=250, leads="all", workers=1,
                    progress=False).iloc[0]
    assert row["status"] == "ok" and row["lead"] == "ii"
    res = ecg.LeadsFit.load(tmp_path / "out" / "rec.leads.json")
    assert list(res.fits) == ["ii", "v5"] and res.fits["v5"].signal.size == syn.record.signal.shape[0]


def test_batch_leads_option_is_checked(tmp_path):
    for bad in ([], [1.5], [True]):
        with pytest.raises(ValueError, match="leads="):
            fit_files(tmp_path, leads=bad, progress=False)
