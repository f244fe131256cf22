"""gmesa.ecg.io: Record and read_record (WFDB, EDF/EDF+/BDF, CSV/TSV, NPY) and every error."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from gmesa.ecg.io import Record, RecordError, RecordNotFoundError, read_record


# ---------------------------------------------------------------------------------
# Record from an array
# ---------------------------------------------------------------------------------
def test_record_from_1d_array_defaults():
    x = np.arange(1000, dtype=np.int16)
    rec = Record(x, 250)
    assert rec.signal.dtype == np.float64 and rec.signal.shape == (1000,)
    assert rec.fs == 250.0 and isinstance(rec.fs, float)
    assert rec.leads == ("lead0",) and rec.units == ("mV",)
    assert rec.n_samples == 1000 and rec.n_leads == 1
    assert rec.duration_s == pytest.approx(4.0)
    npt.assert_allclose(rec.time[:3], [0.0, 0.004, 0.008])
    assert rec.time.shape == (1000,)
    assert rec.start_time is None and rec.annotations is None and rec.path is None
    assert rec.name == "record"
    npt.assert_array_equal(rec.lead(0), x)
    npt.assert_array_equal(rec.lead("LEAD0"), x)
    assert "fs=250 Hz" in repr(rec)


def test_record_from_2d_array_leads_and_select():
    x = np.column_stack([np.zeros(500), np.ones(500), 2 * np.ones(500)])
    rec = Record(x, 500, leads=("I", "II", "V1"), units=("mV", "uV", "mV"), name="r1")
    assert rec.n_leads == 3
    assert rec.lead_index("ii") == 1 and rec.lead_index(-1) == 2 and rec.lead_index("2") == 2
    npt.assert_array_equal(rec.lead("v1"), 2.0)
    assert rec.lead("II").flags["C_CONTIGUOUS"]
    one = rec.select("ii")
    assert isinstance(one, Record) and one.signal.ndim == 1
    assert one.leads == ("II",) and one.units == ("uV",) and one.name == "r1" and one.fs == 500.0
    npt.assert_array_equal(one.signal, 1.0)
    assert Record(x, 500).leads == ("lead0", "lead1", "lead2")
    assert Record(x, 500, units="uV").units == ("uV",) * 3


def test_record_crop_moves_annotations_and_start_time():
    sig = np.arange(1000.0).reshape(500, 2)
    ann = pd.DataFrame({"sample": [10, 150, 400], "symbol": ["N", "V", "N"], "aux": ""})
    rec = Record(sig, 100.0, leads=("ii", "v5"), start_time=datetime(2026, 1, 1),
                 annotations=ann, name="r", adc_limits=((-5, 5), None))
    cut = rec.crop(1.0, 3.0)
    npt.assert_array_equal(cut.signal, sig[100:300])
    assert cut.leads == ("ii", "v5") and cut.name == "r" and cut.adc_limits == rec.adc_limits
    assert cut.annotations["sample"].tolist() == [50] and cut.annotations["symbol"].tolist() == ["V"]
    assert cut.start_time == datetime(2026, 1, 1, 0, 0, 1)
    assert rec.annotations["sample"].tolist() == [10, 150, 400]      # the record is unchanged
    assert rec.crop(4.5).n_samples == 50                               # to the end
    assert rec.crop(4.0, 99.0).n_samples == 100                        # clipped at the end
    for bad in [(-1.0, 2.0), (3.0, 2.0), (6.0, 9.0), (float("nan"), 1.0)]:
        with pytest.raises(ValueError, match="crop"):
            rec.crop(*bad)


def test_record_crop_fits_one_stretch():
    """A minute of a longer synthetic record fits as that minute: same beats, times from
    the cut's start."""
    from gmesa import ecg
    syn = ecg.synthesize(duration=90, fs=250, heart_rate=70, noise=0.01, seed=2)
    cut = syn.record.crop(30.0, 60.0)
    beats = ecg.fit_record(cut).beats
    r_true = np.asarray(syn.truth["r_peak_s"], dtype=float)
    inside = r_true[(r_true > 30.5) & (r_true < 59.5)] - 30.0
    found = beats["r_peak_s"].to_numpy()
    assert np.all(np.min(np.abs(found[:, None] - inside[None, :]), axis=0) < 0.02)


def test_record_from_dataframe_takes_column_names():
    df = pd.DataFrame({"MLII": np.zeros(200), "V5": np.ones(200)})
    rec = Record(df, 360)
    assert rec.leads == ("MLII", "V5") and rec.signal.shape == (200, 2)


def test_record_annotations_normalised():
    ann = pd.DataFrame({"sample": [10.0, 20.0], "symbol": ["N", "V"]})
    rec = Record(np.zeros(100), 100, annotations=ann)
    assert list(rec.annotations.columns[:3]) == ["sample", "symbol", "aux"]
    assert rec.annotations["sample"].dtype == np.int64
    assert rec.annotations["aux"].tolist() == ["", ""]


def test_record_start_time_iso_string():
    rec = Record(np.zeros(100), 100, start_time="2020-01-02T03:04:05")
    assert rec.start_time == datetime(2020, 1, 2, 3, 4, 5)


@pytest.mark.parametrize("fs", [99.9, 50, 0, -1, float("nan"), float("inf")])
def test_record_rejects_low_or_bad_sampling_rate(fs):
    with pytest.raises(ValueError, match=r"gmesa needs a finite sampling rate >= 100 Hz") as err:
        Record(np.zeros(100), fs)
    assert isinstance(err.value, RecordError)
    assert repr(fs) in str(err.value) or str(fs) in str(err.value)


def test_record_accepts_exactly_100_hz():
    assert Record(np.zeros(10), 100).fs == 100.0


@pytest.mark.parametrize("signal, message", [
    (np.array(["a", "b"]), r"real numbers"),
    (np.zeros((2, 2, 2)), r"1-D \(n,\) or 2-D"),
    (np.zeros(0), r"empty"),
    (np.zeros((0, 3)), r"empty"),
    (np.zeros((3, 200)), r"looks like \(n_leads, n_samples\)"),
    (np.array([True, False]), r"real numbers"),
    (np.array([1 + 2j]), r"real numbers"),
])
def test_record_rejects_bad_signals(signal, message):
    with pytest.raises(RecordError, match=message):
        Record(signal, 250)


def test_record_rejects_bad_fs_type_and_metadata():
    with pytest.raises(RecordError, match=r"fs='abc' is not a number"):
        Record(np.zeros(10), "abc")
    with pytest.raises(RecordError, match=r"2 lead names .* for a signal with 3 lead"):
        Record(np.zeros((10, 3)), 250, leads=("a", "b"))
    with pytest.raises(RecordError, match=r"1 units .* for 2 lead"):
        Record(np.zeros((10, 2)), 250, units=("mV",))
    with pytest.raises(RecordError, match=r"annotations lack column"):
        Record(np.zeros(10), 250, annotations=pd.DataFrame({"time": [1]}))


def test_missing_lead_lists_available_leads():
    rec = Record(np.zeros((10, 2)), 360, leads=("MLII", "V5"))
    with pytest.raises(ValueError, match=r"lead 'V1' not found; available leads: 'MLII', 'V5'"):
        rec.lead("V1")
    with pytest.raises(ValueError, match=r"lead index 2 is out of range for 2 lead\(s\); available leads"):
        rec.lead(2)
    with pytest.raises(ValueError, match=r"lead index -3 is out of range"):
        rec.select(-3)
    with pytest.raises(ValueError, match=r"by name \(str\) or index \(int\)"):
        rec.lead(1.5)


# ---------------------------------------------------------------------------------
# WFDB (real records)
# ---------------------------------------------------------------------------------
def test_read_wfdb_100(physionet):
    import wfdb

    rec = read_record(physionet / "100")
    assert rec.fs == 360.0 and rec.leads == ("MLII", "V5") and rec.units == ("mV", "mV")
    assert rec.signal.shape == (650000, 2) and rec.name == "100"
    assert rec.path.endswith("100.hea")
    ann = rec.annotations
    assert len(ann) == 2274 and (ann["symbol"] == "N").sum() == 2239
    assert ann["sample"].is_monotonic_increasing
    ref = wfdb.rdrecord(str(physionet / "100"), channels=[0]).p_signal[:, 0]
    one = read_record(physionet / "100.hea", "mlii")
    assert one.signal.ndim == 1 and one.leads == ("MLII",)
    npt.assert_allclose(one.signal, ref)
    npt.assert_array_equal(read_record(str(physionet / "100.dat"), lead=1).signal, rec.signal[:, 1])
    assert read_record(physionet / "100", annotator=False).annotations is None


def test_read_wfdb_ptb_1000_hz(physionet):
    rec = read_record(physionet / "s0010_re")
    assert rec.fs == 1000.0 and rec.signal.shape == (38400, 15)
    assert rec.leads[:3] == ("i", "ii", "iii") and rec.leads[-3:] == ("vx", "vy", "vz")
    assert rec.annotations is None
    v6 = read_record(physionet / "s0010_re", "V6")
    npt.assert_array_equal(v6.signal, rec.lead("v6"))


def test_read_wfdb_noisy_icu(physionet):
    rec = read_record(physionet / "v102s")
    assert rec.fs == 250.0 and rec.leads == ("II", "V", "PLETH", "RESP")
    assert rec.units[:2] == ("mV", "mV") and rec.n_samples == 75000
    ii = read_record(physionet / "v102s", "ii").signal
    assert np.isnan(ii).sum() == 3  # invalid samples in the file become NaN
    assert np.isfinite(ii).sum() == 75000 - 3


def test_read_wfdb_multi_frequency_lead_at_its_own_rate(physionet):
    # MCL1 is stored at 4 samples per 125 Hz frame: 500 Hz, not averaged down to 125 Hz
    rec = read_record(physionet / "03700181", lead="MCL1")
    assert rec.fs == 500.0 and rec.n_samples == 300000 and rec.duration_s == pytest.approx(600.0)
    assert rec.start_time == datetime(1994, 8, 15, 17, 27, 45)
    assert np.isfinite(rec.signal).all()
    abp = read_record(physionet / "03700181", lead="ABP")  # 125 Hz, read for non-ECG use
    assert abp.fs == 125.0 and abp.n_samples == 75000 and abp.units == ("mmHg",)


def test_read_wfdb_other_annotator(ludb):
    rec = read_record(ludb / "data" / "1", "ii", annotator="ii")
    assert rec.fs == 500.0 and rec.n_samples == 5000
    assert (rec.annotations["symbol"] == "N").sum() == 6
    with pytest.raises(RecordNotFoundError, match=r"1\.xyz: annotation file not found"):
        read_record(ludb / "data" / "1", "ii", annotator="xyz")


# ---------------------------------------------------------------------------------
# EDF
# ---------------------------------------------------------------------------------
def test_read_edf_test_generator(physionet):
    rec = read_record(physionet / "test_generator_2.edf")
    assert rec.fs == 200.0 and rec.n_samples == 120000 and rec.n_leads == 11
    # the file says uV: read in mV; the degree sign of the sine signals is kept
    assert rec.leads[3] == "ECG" and rec.units[3] == "mV" and rec.units[8] == "°"
    assert rec.start_time == datetime(2009, 12, 10, 12, 44, 2)
    assert rec.annotations["symbol"].tolist() == ["RECORD START", "REC STOP"]
    ecg = read_record(physionet / "test_generator_2.edf", lead="ecg")
    assert ecg.leads == ("ECG",) and ecg.signal.ndim == 1
    npt.assert_array_equal(ecg.signal, rec.lead("ECG"))
    assert 0.05 < np.ptp(ecg.signal) < 0.2  # mV (50-200 uV in the file)
    numpy_only = read_record(physionet / "test_generator_2.edf", edf_reader="numpy")
    npt.assert_array_equal(numpy_only.signal, rec.signal)


def test_edf_pyedflib_and_fallback_give_the_same_samples(physionet, tmp_path):
    pytest.importorskip("pyedflib")
    raw = (physionet / "test_generator_2.edf").read_bytes()
    # pyedflib refuses the file's non-ASCII unit (0xB0 = degree); patch a copy in tmp_path
    with pytest.raises(RecordError, match=r"pyedflib cannot read this file"):
        read_record(physionet / "test_generator_2.edf", edf_reader="pyedflib")
    ns = int(raw[252:256])
    start = 256 + ns * (16 + 80)
    dims = raw[start:start + 8 * ns].replace(b"\xb0       ", b"deg     ")
    patched = tmp_path / "tg.edf"
    patched.write_bytes(raw[:start] + dims + raw[start + 8 * ns:])
    a = read_record(patched, edf_reader="pyedflib")
    b = read_record(patched, edf_reader="numpy")
    assert a.leads == b.leads and a.units == b.units and a.fs == b.fs
    assert a.start_time == b.start_time
    npt.assert_array_equal(a.signal, b.signal)
    pd.testing.assert_frame_equal(a.annotations, b.annotations)


def _write_edf(path, bdf=False):
    import pyedflib

    ftype = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    fs = [250, 250, 10]
    n_s = 4
    rng = np.random.default_rng(3)
    data = [rng.normal(0, 0.5, fs[0] * n_s), np.sin(np.arange(fs[1] * n_s) / 7.0),
            rng.normal(0, 1, fs[2] * n_s)]
    w = pyedflib.EdfWriter(str(path), 3, file_type=ftype)
    try:
        for i, (label, unit) in enumerate([("ECG II", "mV"), ("ECG V1", "mV"), ("Resp", "a.u.")]):
            w.setSignalHeader(i, {"label": label, "dimension": unit, "sample_frequency": fs[i],
                                  "physical_min": -5.0, "physical_max": 5.0,
                                  "digital_min": -8388608 if bdf else -32768,
                                  "digital_max": 8388607 if bdf else 32767,
                                  "transducer": "", "prefilter": ""})
        w.setStartdatetime(datetime(2021, 5, 6, 7, 8, 9))
        w.writeSamples(data)
        w.writeAnnotation(1.5, -1, "beat")
        w.writeAnnotation(2.0, 0.5, "artefact")
    finally:
        w.close()
    return data


@pytest.mark.parametrize("bdf", [False, True])
def test_edf_and_bdf_written_by_pyedflib(tmp_path, bdf):
    pytest.importorskip("pyedflib")
    path = tmp_path / ("x.bdf" if bdf else "x.edf")
    data = _write_edf(path, bdf)
    with pytest.warns(RuntimeWarning, match=r"another sampling rate"):
        a = read_record(path, edf_reader="pyedflib")
    with pytest.warns(RuntimeWarning, match=r"another sampling rate"):
        b = read_record(path, edf_reader="numpy")
    assert a.leads == b.leads == ("ECG II", "ECG V1")  # Resp (10 Hz) left out
    assert a.fs == b.fs == 250.0
    npt.assert_array_equal(a.signal, b.signal)
    npt.assert_allclose(b.signal[:, 0], data[0], atol=2e-4)  # 16-bit steps of 1.5e-4 mV
    assert a.start_time == b.start_time == datetime(2021, 5, 6, 7, 8, 9)
    pd.testing.assert_frame_equal(a.annotations, b.annotations)
    assert b.annotations["sample"].tolist() == [375, 500]
    assert b.annotations["aux"].tolist() == ["", "duration=0.5s"]
    with pytest.raises(RecordError, match=r"sampling rate 10 Hz \(signal 'Resp'\) is below 100 Hz"):
        read_record(path, lead="resp", edf_reader="numpy")


def test_edf_fallback_when_pyedflib_missing(physionet, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyedflib", None)  # import raises ImportError
    rec = read_record(physionet / "test_generator_2.edf", lead="ECG")
    assert rec.fs == 200.0 and rec.n_samples == 120000
    with pytest.raises(RecordError, match=r"pyedflib is not installed"):
        read_record(physionet / "test_generator_2.edf", edf_reader="pyedflib")


# ---------------------------------------------------------------------------------
# CSV / TSV / NPY
# ---------------------------------------------------------------------------------
def test_csv_with_header_and_time_column(tmp_path):
    n = 400
    t = np.arange(n) / 200
    x, y = np.sin(t), np.cos(t)
    p = tmp_path / "ecg.csv"
    pd.DataFrame({"time": t, "II": x, "V1": y}).to_csv(p, index=False)
    assert read_record(p).fs == 200.0  # the evenly spaced time column gives the rate
    q = tmp_path / "ecg_no_time.csv"
    pd.DataFrame({"II": x, "V1": y}).to_csv(q, index=False)
    with pytest.raises(RecordError, match=r"ecg_no_time\.csv: a \.csv file holds no sampling rate: pass fs="):
        read_record(q)
    rec = read_record(p, fs=200)
    assert rec.leads == ("II", "V1") and rec.signal.shape == (n, 2)  # time is not a lead
    npt.assert_allclose(rec.signal, np.column_stack([x, y]))
    npt.assert_allclose(read_record(p, "v1", fs=200).signal, y)
    npt.assert_allclose(read_record(p, fs=200, column="II").signal, x)
    npt.assert_allclose(read_record(p, fs=200, column=2).signal, y)  # file position
    assert rec.name == "ecg" and rec.units == ("mV", "mV")
    with pytest.raises(RecordError, match=r"lead 'V2' not found; available leads: 'II', 'V1'"):
        read_record(p, "V2", fs=200)
    with pytest.raises(RecordError, match=r"column index 5 out of range; columns: 0='time'"):
        read_record(p, fs=200, column=5)
    with pytest.raises(RecordError, match=r"give lead= or column=, not both"):
        read_record(p, "II", fs=200, column="V1")


def test_csv_without_header_tsv_semicolon_and_units_row(tmp_path):
    x = np.round(np.random.default_rng(0).normal(size=(300, 2)), 6)
    p = tmp_path / "raw.csv"
    np.savetxt(p, x, delimiter=",")
    rec = read_record(p, fs=250)
    assert rec.leads == ("lead0", "lead1")
    npt.assert_allclose(rec.signal, x)
    p = tmp_path / "raw.tsv"
    np.savetxt(p, x, delimiter="\t", header="I\tII", comments="")
    npt.assert_allclose(read_record(p, "II", fs=250).signal, x[:, 1])
    p = tmp_path / "semi.txt"
    np.savetxt(p, x, delimiter=";")
    npt.assert_allclose(read_record(p, 1, fs=250).signal, x[:, 1])
    p = tmp_path / "spaces.txt"
    np.savetxt(p, x, delimiter="  ")
    npt.assert_allclose(read_record(p, fs=250).signal, x)
    # PhysioNet-style export: quoted names and a units row
    p = tmp_path / "physionet.csv"
    lines = ["'Elapsed time','MLII','V5'", "'hh:mm:ss.mmm','mV','mV'"]
    lines += [f"'0:00.{i:03d}',{a},{b}" for i, (a, b) in enumerate(x[:50])]
    p.write_text("\n".join(lines) + "\n")
    rec = read_record(p, fs=360)
    assert rec.leads == ("MLII", "V5") and rec.units == ("mV", "mV")
    npt.assert_allclose(rec.signal, x[:50])
    p = tmp_path / "other.csv"
    np.savetxt(p, x[:, 0], delimiter=";", header="ECG", comments="")
    npt.assert_allclose(read_record(p, fs=250, delimiter=";").signal, x[:, 0])


def test_csv_missing_values_and_malformed_cells(tmp_path):
    p = tmp_path / "gaps.csv"
    p.write_text("a,b\n1,2\n,3\nnan,4\n5,6\n")
    rec = read_record(p, fs=100)
    npt.assert_array_equal(np.isnan(rec.signal[:, 0]), [False, True, True, False])
    p = tmp_path / "bad.csv"
    p.write_text("a,b\n1,2\n3,x7\n")
    with pytest.raises(RecordError, match=r"bad\.csv: malformed data: column 'b' row 2 holds 'x7'"):
        read_record(p, fs=100)
    p = tmp_path / "header_only.csv"
    p.write_text("a,b\n")
    with pytest.raises(RecordError, match=r"header_only\.csv: no data rows"):
        read_record(p, fs=100)
    p = tmp_path / "comments.csv"
    p.write_text("# just a comment\n")
    with pytest.raises(RecordError, match=r"comments\.csv: empty file"):
        read_record(p, fs=100)
    p = tmp_path / "ragged.csv"
    p.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(RecordError, match=r"ragged\.csv: malformed \.csv file"):
        read_record(p, fs=100)


def test_all_nan_lead(tmp_path):
    p = tmp_path / "nan.csv"
    p.write_text("a,b\nnan,1\nnan,2\n")
    with pytest.raises(RecordError, match=r"nan\.csv: lead 'a' is all NaN"):
        read_record(p, "a", fs=100)
    with pytest.warns(RuntimeWarning, match=r"lead\(s\) \['a'\] are all NaN"):
        rec = read_record(p, fs=100)
    assert rec.n_leads == 2
    q = tmp_path / "nan.npy"
    np.save(q, np.full(100, np.nan))
    with pytest.raises(RecordError, match=r"nan\.npy: lead 'lead0' is all NaN"):
        read_record(q, fs=100)


def test_npy(tmp_path):
    x = np.random.default_rng(1).normal(size=(1000, 3)).astype(np.float32)
    p = tmp_path / "sig.npy"
    np.save(p, x)
    with pytest.raises(RecordError, match=r"sig\.npy: a \.npy file holds no sampling rate: pass fs="):
        read_record(p)
    rec = read_record(p, fs=500)
    assert rec.signal.dtype == np.float64 and rec.signal.shape == (1000, 3)
    npt.assert_array_equal(rec.signal, x.astype(np.float64))
    npt.assert_array_equal(read_record(p, 2, fs=500).signal, x[:, 2])
    np.save(p, x.T.copy())  # (n_leads, n) is transposed
    assert read_record(p, fs=500).signal.shape == (1000, 3)
    np.save(p, x[:, 0].astype(np.int16))
    assert read_record(p, fs=500).signal.shape == (1000,)
    rec = np.zeros(50, dtype=[("II", "f8"), ("V1", "f4")])
    np.save(p, rec)
    assert read_record(p, fs=500).leads == ("II", "V1")
    with pytest.raises(RecordError, match=r"sampling rate fs=50 Hz is not supported: gmesa needs"):
        read_record(p, fs=50)


def test_npy_refuses_pickles_and_bad_arrays(tmp_path):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(RecordError, match=r"obj\.npy: the array holds Python objects; .*never loaded"):
        read_record(p, fs=250)
    p = tmp_path / "text.npy"
    np.save(p, np.array(["a", "b"]))
    with pytest.raises(RecordError, match=r"text\.npy: array dtype <U1 is not numeric"):
        read_record(p, fs=250)
    p = tmp_path / "cut.npy"
    np.save(p, np.zeros(1000))
    p.write_bytes(p.read_bytes()[:500])
    with pytest.raises(RecordError, match=r"cut\.npy: truncated or malformed \.npy file"):
        read_record(p, fs=250)
    p = tmp_path / "empty_array.npy"
    np.save(p, np.zeros(0))
    with pytest.raises(RecordError, match=r"empty_array\.npy: empty array"):
        read_record(p, fs=250)
    p = tmp_path / "table.npy"  # a text table under a .npy name
    p.write_text("0.1,0.2\n0.3,0.4\n")
    with pytest.raises(RecordError, match=r"table\.npy: not a NumPy \.npy file .*read as \.csv"):
        read_record(p, fs=250)


# ---------------------------------------------------------------------------------
# errors on files
# ---------------------------------------------------------------------------------
def _wfdb_record(folder: Path, name="rec", fs=250, n=2000):
    import wfdb

    x = np.random.default_rng(0).normal(size=(n, 2))
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["I", "II"], p_signal=x,
                fmt=["16", "16"], write_dir=str(folder))
    return folder / name


def test_wfdb_header_without_a_rate_or_names(tmp_path):
    from gmesa.batch.discovery import carries_no_rate

    base = _wfdb_record(tmp_path, fs=360)
    hea = Path(f"{base}.hea")
    lines = hea.read_text().splitlines()
    lines[0] = " ".join(lines[0].split()[:2])  # "rec 2": WFDB then assumes 250 Hz
    lines[1] = " ".join(lines[1].split()[:-1])  # the first signal without a description
    hea.write_text("\n".join(lines) + "\n")
    with pytest.warns(RuntimeWarning, match=r"rec\.hea: the header gives no sampling rate; WFDB's "
                                            r"default of 250 Hz is assumed \(pass fs="):
        assert read_record(base).fs == 250.0
    rec = read_record(base, fs=360)  # the caller's rate, which the header does not contradict
    assert rec.fs == 360.0 and rec.leads == ("lead0", "II") and rec.n_samples == 2000
    assert carries_no_rate(hea) and carries_no_rate(base)
    assert not carries_no_rate(_wfdb_record(tmp_path, name="stated"))


def test_missing_file(tmp_path):
    with pytest.raises(RecordNotFoundError, match=r"nothere\.edf: file not found"):
        read_record(tmp_path / "nothere.edf")
    with pytest.raises(FileNotFoundError):
        read_record(tmp_path / "norecord")
    with pytest.raises(ValueError, match=r"file not found"):
        read_record(tmp_path / "norecord")


def test_empty_file_and_directory(tmp_path):
    for ext in (".edf", ".csv", ".npy", ".hea"):
        p = tmp_path / f"empty{ext}"
        p.write_bytes(b"")
        with pytest.raises(RecordError, match=rf"empty{ext}: empty file \(0 bytes\)"):
            read_record(p, fs=250)
    with pytest.raises(RecordError, match=r"is a directory"):
        read_record(tmp_path)


def test_unsupported_extension_lists_supported(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"PK\x03\x04 not a spreadsheet we read")
    with pytest.raises(RecordError, match=r"x\.xlsx: unsupported file type '\.xlsx'; supported: "
                                          r"\.hea, \.dat, \.edf, \.bdf, \.csv, \.tsv, \.txt, \.npy"):
        read_record(p)


def test_content_sniffing_without_extension(tmp_path):
    p = tmp_path / "array.bin"
    with open(p, "wb") as fh:
        np.save(fh, np.arange(300.0))
    assert read_record(p, fs=300).n_samples == 300


def test_wfdb_written_record_round_trip_and_fs_check(tmp_path):
    base = _wfdb_record(tmp_path)
    rec = read_record(base)
    assert rec.fs == 250.0 and rec.leads == ("I", "II") and rec.annotations is None
    assert read_record(base, fs=250).fs == 250.0
    with pytest.raises(RecordError, match=r"fs=500 Hz was given but the file says 250 Hz"):
        read_record(base, fs=500)
    with pytest.raises(RecordError, match=r"rec\.hea: lead 'V5' not found; available leads: 'I', 'II'"):
        read_record(base, "V5")


def test_wfdb_sampling_rate_below_100_hz(tmp_path):
    base = _wfdb_record(tmp_path, name="slow", fs=50)
    with pytest.raises(RecordError, match=r"slow\.hea: sampling rate 50 Hz is below 100 Hz: gmesa needs >= 100 Hz"):
        read_record(base)


def test_wfdb_truncated_data_file(tmp_path):
    base = _wfdb_record(tmp_path, name="cut")
    dat = tmp_path / "cut.dat"
    dat.write_bytes(dat.read_bytes()[:3001])
    with pytest.raises(RecordError, match=r"cut\.dat: truncated WFDB data file: 3001 bytes, cut\.hea implies 8000"):
        read_record(base)


def test_wfdb_missing_data_file_and_header(tmp_path):
    base = _wfdb_record(tmp_path, name="nodat")
    (tmp_path / "nodat.dat").unlink()
    with pytest.raises(RecordNotFoundError, match=r"nodat\.dat: WFDB data file named in nodat\.hea not found"):
        read_record(base)
    base = _wfdb_record(tmp_path, name="nohea")
    (tmp_path / "nohea.hea").unlink()
    with pytest.raises(RecordNotFoundError, match=r"nohea\.dat: a WFDB \.dat file needs its header nohea\.hea"):
        read_record(tmp_path / "nohea.dat")


@pytest.mark.parametrize("text, message", [
    ("bad 2 abc 1000\nbad.dat 16 200 16 0 0 0 0 I\nbad.dat 16 200 16 0 0 0 0 II\n",
     r"malformed WFDB header: sampling frequency field 'abc' is not a number"),
    ("bad 2 250 1000\nbad.dat 16 200 16 0 0 0 0 I\n",
     r"truncated WFDB header: the record line announces 2 signal\(s\) but 1 signal line\(s\) follow"),
    ("# only a comment\n", r"malformed WFDB header: no record line"),
    ("bad\n", r"malformed WFDB header: record line 'bad' lacks the signal count"),
    ("bad 1 250 12x\nbad.dat 16 200 16 0 0 0 0 I\n", r"signal length field '12x' is not an integer"),
    ("bad 1 250 1000\nbad.dat 999 200 16 0 0 0 0 I\n", r"bad\.hea: malformed WFDB header: unknown storage format '999' for signal 'I'"),
])
def test_wfdb_malformed_header(tmp_path, text, message):
    (tmp_path / "bad.hea").write_text(text)
    (tmp_path / "bad.dat").write_bytes(b"\x00" * 4000)
    with pytest.raises(RecordError, match=message):
        read_record(tmp_path / "bad")


def test_edf_truncated_and_malformed(physionet, tmp_path):
    raw = (physionet / "test_generator_2.edf").read_bytes()
    p = tmp_path / "cut.edf"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(RecordError, match=r"cut\.edf: truncated EDF data: .* the header implies"):
        read_record(p)
    p = tmp_path / "head.edf"
    p.write_bytes(raw[:1000])
    with pytest.raises(RecordError, match=r"head\.edf: truncated EDF header \(1000 of 3328 bytes\)"):
        read_record(p)
    p = tmp_path / "short.edf"
    p.write_bytes(raw[:100])
    with pytest.raises(RecordError, match=r"short\.edf: truncated EDF header \(100 of 256 bytes\)"):
        read_record(p)
    p = tmp_path / "version.edf"
    p.write_bytes(b"9       " + raw[8:])
    with pytest.raises(RecordError, match=r"version\.edf: malformed EDF header: version field"):
        read_record(p)
    p = tmp_path / "count.edf"
    p.write_bytes(raw[:252] + b"xx  " + raw[256:])
    with pytest.raises(RecordError, match=r"count\.edf: malformed EDF header: unreadable"):
        read_record(p)
