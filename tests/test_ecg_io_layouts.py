"""gmesa.ecg.io on real-world recordings (issue 16, "Reading" and "Units"): every signal
at its own sampling rate, multi-segment and .mat WFDB records, voltages in mV, leads
that are not ECG refused by the ECG pipeline, CSV time columns and undeclared units."""
from __future__ import annotations

import warnings

import numpy as np
import numpy.testing as npt
import pandas as pd
import pytest

from gmesa.ecg import fit_record, synthesize
from gmesa.ecg.io import (Record, RecordError, RecordNotFoundError, ecg_lead_index, ecg_lead_mv,
                          header_leads, not_ecg_reason, read_record, segment_headers,
                          to_millivolts)


def _no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------------------
# 1. every signal at its own sampling rate
# ---------------------------------------------------------------------------------
def _multi_frequency_record(folder, name="mf", frame_fs=62.5, spf=4, n_frames=1000):
    """A format-16 record: 'ECG' at spf samples per frame (mV), 'ABP' at one (mmHg)."""
    rng = np.random.default_rng(5)
    ecg = rng.integers(-2000, 2000, size=n_frames * spf).astype(np.int16)
    abp = rng.integers(500, 1500, size=n_frames).astype(np.int16)
    frames = np.column_stack([ecg.reshape(n_frames, spf), abp[:, None]])
    (folder / f"{name}.dat").write_bytes(frames.astype("<i2").tobytes())
    (folder / f"{name}.hea").write_text(
        f"{name} 2 {frame_fs} {n_frames}\n"
        f"{name}.dat 16x{spf} 1000/mV 16 0 0 0 0 ECG\n"
        f"{name}.dat 16 10/mmHg 16 0 0 0 0 ABP\n")
    return folder / name, ecg / 1000.0, abp / 10.0


def test_multi_frequency_ecg_at_its_own_rate_though_frames_are_slow(tmp_path):
    import wfdb

    base, ecg, abp = _multi_frequency_record(tmp_path)
    wfdb.wrann("mf", "atr", np.array([10, 500]), symbol=["N", "N"], write_dir=str(tmp_path))
    one = read_record(base, "ECG")  # frames at 62.5 Hz, the ECG at 250 Hz
    assert one.fs == 250.0 and one.n_samples == 4000 and one.units == ("mV",)
    npt.assert_allclose(one.signal, ecg, rtol=0, atol=1e-12)
    # annotations count frames: moved to the lead's samples
    assert one.annotations["sample"].tolist() == [40, 2000]
    with pytest.warns(RuntimeWarning, match=r"signals ABP \(62\.5 Hz\) have another sampling rate "
                                            r"than 'ECG' \(250 Hz\) and were left out"):
        every = read_record(base)
    assert every.leads == ("ECG",) and every.fs == 250.0
    with pytest.raises(RecordError, match=r"mf\.hea: sampling rate 62\.5 Hz \(signal 'ABP'\) "
                                          r"is below 100 Hz"):
        read_record(base, "ABP")
    assert [(x.name, x.fs) for x in header_leads(base)] == [("ECG", 250.0), ("ABP", 62.5)]


def test_03700181_ecg_at_500_hz_not_averaged(physionet):
    import wfdb

    rec = read_record(physionet / "03700181", lead="MCL1")
    assert rec.fs == 500.0 and rec.n_samples == 300000
    ref = wfdb.rdrecord(str(physionet / "03700181"), channels=[0], smooth_frames=False,
                        return_res=64).e_p_signal[0]
    npt.assert_array_equal(rec.signal, ref)
    with pytest.warns(RuntimeWarning, match=r"ABP \(125 Hz\), RESP \(125 Hz\) have another "
                                            r"sampling rate than 'MCL1' \(500 Hz\)"):
        every = read_record(physionet / "03700181")
    assert every.leads == ("MCL1",)
    npt.assert_array_equal(every.signal, rec.signal)


# ---------------------------------------------------------------------------------
# 2. multi-segment records
# ---------------------------------------------------------------------------------
def test_041s_multi_segment_fixed_layout(physionet):
    import wfdb

    folder = physionet / "multi-segment" / "041s"
    if not (folder / "041s.hea").is_file():
        pytest.skip(f"multi-segment record not found in {folder}")
    with pytest.warns(RuntimeWarning, match=r"ABP \(125 Hz\), PAP \(125 Hz\), PLETH \(125 Hz\), "
                                            r"RESP \(125 Hz\) have another sampling rate than 'III'"):
        rec = read_record(folder / "041s")
    assert rec.fs == 500.0 and rec.leads == ("III", "I", "V") and rec.n_samples == 8000
    assert rec.units == ("mV",) * 3 and rec.duration_s == pytest.approx(16.0)
    ref = wfdb.rdrecord(str(folder / "041s"), smooth_frames=False, return_res=64)
    for k in range(3):
        npt.assert_array_equal(rec.signal[:, k], ref.e_p_signal[k])
    v = read_record(folder / "041s.hea", "v")
    assert v.fs == 500.0 and v.n_samples == 8000
    abp = read_record(folder / "041s", "ABP")
    assert abp.fs == 125.0 and abp.n_samples == 2000 and abp.units == ("mmHg",)
    assert [x.name for x in header_leads(folder / "041s")] == [
        "III", "I", "V", "ABP", "PAP", "PLETH", "RESP"]


def _variable_layout(folder):
    """rec = seg1 (II, ABP; 500 samples) + a 100-sample gap + seg2 (II, V; 400 samples)."""
    import wfdb

    rng = np.random.default_rng(2)
    a, b = np.round(rng.normal(size=(500, 2)), 3), np.round(rng.normal(size=(400, 2)), 3)
    wfdb.wrsamp("seg1", fs=250, units=["mV", "mmHg"], sig_name=["II", "ABP"], p_signal=a,
                fmt=["16", "16"], adc_gain=[1000, 1000], baseline=[0, 0], write_dir=str(folder))
    wfdb.wrsamp("seg2", fs=250, units=["mV", "mV"], sig_name=["II", "V"], p_signal=b,
                fmt=["16", "16"], adc_gain=[1000, 1000], baseline=[0, 0], write_dir=str(folder))
    (folder / "rec_layout.hea").write_text(
        "rec_layout 3 250 0\n~ 0 1/mV 16 0 0 0 0 II\n~ 0 1/mV 16 0 0 0 0 V\n"
        "~ 0 1/mmHg 16 0 0 0 0 ABP\n")
    (folder / "rec.hea").write_text("rec/4 3 250 1000\nrec_layout 0\nseg1 500\n~ 100\nseg2 400\n")
    return folder / "rec", a, b


def test_multi_segment_variable_layout_nan_where_a_signal_is_absent(tmp_path):
    base, a, b = _variable_layout(tmp_path)
    rec = read_record(base)
    assert rec.leads == ("II", "V", "ABP") and rec.fs == 250.0 and rec.n_samples == 1000
    assert rec.units == ("mV", "mV", "mmHg")
    ii, v, abp = rec.signal.T
    npt.assert_allclose(ii[:500], a[:, 0], atol=1e-9)
    assert np.isnan(ii[500:600]).all()  # the gap
    npt.assert_allclose(ii[600:], b[:, 0], atol=1e-9)
    assert np.isnan(v[:600]).all() and np.isnan(abp[500:]).all()
    npt.assert_allclose(v[600:], b[:, 1], atol=1e-9)
    one = read_record(base, "V")
    assert one.signal.ndim == 1 and np.isnan(one.signal).sum() == 600
    seg2 = (tmp_path / "seg2.hea").read_text().splitlines()
    seg2[1] = seg2[1].replace("/mV", "/uV")
    (tmp_path / "seg2.hea").write_text("\n".join(seg2) + "\n")
    with pytest.raises(RecordError, match=r"rec\.hea: signal 'II' is in 'uV' in segment 'seg2' but "
                                          r"in 'mV' in 'rec_layout'"):
        read_record(base)


def test_multi_segment_parts_are_not_records_of_their_own(tmp_path):
    base, _, _ = _variable_layout(tmp_path)
    assert segment_headers(tmp_path / "rec.hea") == [tmp_path / "rec_layout.hea",
                                                     tmp_path / "seg1.hea", tmp_path / "seg2.hea"]
    assert segment_headers(tmp_path / "seg1") == []
    with pytest.raises(RecordError, match=r"rec_layout\.hea: WFDB header with no data file \(a "
                                          r"multi-segment record's layout header\?\)"):
        read_record(tmp_path / "rec_layout")


def test_multi_segment_missing_or_truncated_segment(tmp_path):
    base, _, _ = _variable_layout(tmp_path)
    (tmp_path / "seg2.dat").write_bytes((tmp_path / "seg2.dat").read_bytes()[:100])
    with pytest.raises(RecordError, match=r"seg2\.dat: truncated WFDB data file: 100 bytes, "
                                          r"seg2\.hea implies 1600"):
        read_record(base)
    (tmp_path / "seg2.hea").unlink()
    with pytest.raises(RecordNotFoundError, match=r"seg2\.hea: header of segment 'seg2' named in "
                                                  r"rec\.hea not found"):
        read_record(base)


# ---------------------------------------------------------------------------------
# 3. WFDB .mat records (PhysioNet/CinC challenges)
# ---------------------------------------------------------------------------------
def test_mat_record_as_the_challenges_ship_them(tmp_path):
    from scipy.io import savemat

    val = (np.random.default_rng(0).normal(size=(2, 1500)) * 1000).astype(np.int16)
    savemat(tmp_path / "A0001.mat", {"val": val}, format="4")  # 24-byte MAT v4 header
    (tmp_path / "A0001.hea").write_text(
        "A0001 2 500 1500\nA0001.mat 16+24 1000/mV 16 0 0 0 0 I\n"
        "A0001.mat 16+24 1000/mV 16 0 0 0 0 II\n")
    for path in ("A0001.mat", "A0001", "A0001.hea"):
        rec = read_record(tmp_path / path)
        assert rec.fs == 500.0 and rec.leads == ("I", "II") and rec.units == ("mV", "mV")
        npt.assert_array_equal(rec.signal, val.T / 1000.0)
    npt.assert_array_equal(read_record(tmp_path / "A0001.mat", "ii").signal, val[1] / 1000.0)
    (tmp_path / "B.mat").write_bytes((tmp_path / "A0001.mat").read_bytes())
    with pytest.raises(RecordNotFoundError, match=r"B\.mat: gmesa reads a \.mat file as a WFDB "
                                                  r"record .* needs its header B\.hea"):
        read_record(tmp_path / "B.mat")


def test_mat_record_written_by_wfdb(tmp_path, monkeypatch):
    import wfdb
    from wfdb.io.convert.matlab import wfdb_to_mat

    x = np.random.default_rng(1).normal(size=(1000, 2))
    wfdb.wrsamp("r", fs=500, units=["mV", "mV"], sig_name=["I", "II"], p_signal=x,
                fmt=["16", "16"], write_dir=str(tmp_path))
    monkeypatch.chdir(tmp_path)
    wfdb_to_mat("r")  # rm.mat (MAT v5, '16x1+192') and rm.hea
    npt.assert_array_equal(read_record(tmp_path / "rm.mat").signal, read_record(tmp_path / "r").signal)


# ---------------------------------------------------------------------------------
# 4. units
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("unit, scale", [("uV", 1e3), ("µV", 1e3), ("μV", 1e3), ("UV", 1e3),
                                         ("microvolt", 1e3), ("V", 1e-3), ("v", 1e-3),
                                         ("nV", 1e6), ("mV", 1.0), ("MV", 1.0)])
def test_csv_units_row_converts_voltages_to_mv(tmp_path, unit, scale):
    x = np.round(np.random.default_rng(0).normal(size=(300, 2)), 6)
    mv = tmp_path / "mv.csv"
    mv.write_text("II,V1\nmV,mV\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in x))
    other = tmp_path / "other.csv"
    other.write_text(f"II,V1\n{unit},{unit}\n"
                     + "".join(f"{float(a * scale)!r},{float(b * scale)!r}\n" for a, b in x))
    a = read_record(mv, fs=250)
    b = _no_warnings(read_record, other, fs=250)
    assert a.units == b.units == ("mV", "mV")
    npt.assert_allclose(b.signal, a.signal, rtol=1e-15, atol=0)


def test_uv_csv_gives_the_same_mv_values(tmp_path):
    x = np.round(np.random.default_rng(3).normal(scale=0.5, size=400), 4)
    (tmp_path / "uv.csv").write_text("ECG\nuV\n" + "".join(f"{v * 1000:.1f}\n" for v in x))
    rec = read_record(tmp_path / "uv.csv", fs=500)
    assert rec.units == ("mV",)
    npt.assert_allclose(rec.signal, x, rtol=1e-15, atol=0)


def test_wfdb_units_in_uv_and_other_units_kept(tmp_path, physionet):
    import wfdb

    x = np.round(np.random.default_rng(0).normal(size=(1000, 2)), 3)
    wfdb.wrsamp("uvrec", fs=500, units=["uV", "mmHg"], sig_name=["II", "ABP"], p_signal=x * 1000,
                fmt=["16", "16"], adc_gain=[1, 1], baseline=[0, 0], write_dir=str(tmp_path))
    rec = read_record(tmp_path / "uvrec")
    assert rec.units == ("mV", "mmHg")
    npt.assert_allclose(rec.signal[:, 0], x[:, 0], rtol=1e-15)
    npt.assert_allclose(rec.signal[:, 1], x[:, 1] * 1000)
    v102 = read_record(physionet / "v102s")
    assert v102.units == ("mV", "mV", "NU", "NU")


def test_not_ecg_reason_by_unit_and_name():
    assert not_ecg_reason("ABP", "mmHg") == "unit 'mmHg' is not a voltage"
    assert not_ecg_reason("PLETH", "NU") == "unit 'NU' is not a voltage"
    assert not_ecg_reason("SpO2", "%") == "unit '%' is not a voltage"
    assert not_ecg_reason("RESP", "mV") == "its name says it is not an ECG"
    assert not_ecg_reason("PLETH", "mV") == "its name says it is not an ECG"
    assert not_ecg_reason("ART", "") == "its name says it is not an ECG"
    for name in ("II", "MLII", "V5", "ECG II", "vx", "lead0", "ECG"):
        assert not_ecg_reason(name, "mV") is None and not_ecg_reason(name, "uV") is None
    assert not_ecg_reason("II", None) is None and not_ecg_reason("lead0", "") is None
    assert ecg_lead_index(["ABP", "lead1"], ["mmHg", "mV"]) == 1
    assert ecg_lead_index(["PLETH", "RESP", "II"]) == 2


def test_rhythm_lead_is_the_default():
    """Lead II (MLII, "ECG II", "lead II", DII) is the lead read by default when the record
    has it; III, aVR or a pressure named II do not count; without it, the first ECG lead."""
    from gmesa.ecg.io import rhythm_lead_index

    for names in (["I", "II", "III"], ["V5", "MLII"], ["ECG I", "ECG II"], ["i", "lead ii"],
                  ["DI", "DII"]):
        assert rhythm_lead_index(names) == 1, names
    assert rhythm_lead_index(["III", "aVR", "V1"]) == 0
    assert rhythm_lead_index(["ABP", "II"], ["mV", "mmHg"]) == 0
    assert rhythm_lead_index(["PLETH", "V1", "II"]) == 2
    assert rhythm_lead_index(["ABP", "V5"], ["mmHg", "mV"]) == 1


def test_fits_read_lead_ii_by_default():
    """fit_record and fit_leads (its primary) take lead II of a record listing lead I first."""
    from gmesa import ecg

    syn = ecg.synthesize(duration=12, fs=250, heart_rate=70, seed=1)
    y = syn.record.lead(0)
    rec = Record(np.column_stack([0.5 * y, y, 0.5 * y]), syn.record.fs, leads=("I", "II", "III"))
    assert ecg.fit_record(rec).info["lead"] == "II"
    assert ecg.fit_leads(rec, leads=["I", "II"], joint=False).primary == "II"


def test_ecg_lead_names():
    """Lead names of the records beside us (QTDB's CC5, ML5, mod.V1, V4-V5; PTB's Frank
    vx, vy, vz; MIMIC's V) look like ECG leads; EEG derivations and test signals do not."""
    from gmesa.ecg.io import looks_like_ecg, named_ecg_leads

    for name in ("ECG1", "MLII", "MLIII", "ML5", "MCL1", "D3", "D4", "CM5", "CC5", "CS2",
                 "mod.V1", "V4-V5", "V1", "V9", "V", "aVR", "avf", "I", "III", "vx", "Z",
                 "Lead II", "lead0"):
        assert looks_like_ecg(name), name
    for name in ("sine 8 Hz", "ramp", "noise", "squarewave", "C3-A2", "Fpz-Cz", "ch1",
                 "IV", "V10", "Vx1"):
        assert not looks_like_ecg(name), name
    named, others = named_ecg_leads(["ECG", "ramp", "sine 50 Hz", "ABP"],
                                    ["uV", "uV", "uV", "mmHg"])
    assert named == ["ECG"] and others == ["ramp", "sine 50 Hz"]
    assert named_ecg_leads(["ch1", "ch2"], "mV") == ([], ["ch1", "ch2"])


def test_default_leads_leave_out_voltage_signals_without_an_ecg_name(physionet):
    """The EDF test file holds one "ECG" and voltage test signals (ramp, noise, sines):
    by default only the ECG is fitted, with a warning naming the others (before, all
    eight joined the joint model, whose QRS then read 188 ms against 86 ms); asked for
    by name, they are fitted."""
    from gmesa.ecg.leads import choose_leads

    rec = read_record(physionet / "test_generator_2.edf")
    with pytest.warns(UserWarning, match=r"ramp.*left out.*pass leads="):
        chosen, primary = choose_leads(list(rec.leads), units=rec.units, path=rec.path)
    assert chosen == ["ECG"] and primary == "ECG"
    assert choose_leads(list(rec.leads), ["ECG", "ramp"], units=rec.units)[0] == ["ECG", "ramp"]
    ptb = read_record(physionet / "s0010_re.hea")
    assert len(choose_leads(list(ptb.leads), units=ptb.units)[0]) == 15


def test_abp_refused_by_fit_record_naming_the_ecg_leads(physionet):
    abp = read_record(physionet / "03700181", "ABP")  # reading it is fine
    with pytest.raises(RecordError, match=r"03700181\.hea: lead 'ABP' \(unit 'mmHg'\) is not an ECG: "
                                          r"unit 'mmHg' is not a voltage; ECG leads in this record: "
                                          r"'MCL1'\. .*force_ecg=True \(command line: --force-ecg\)"):
        fit_record(abp)
    v102 = read_record(physionet / "v102s")
    with pytest.raises(RecordError, match=r"lead 'PLETH' \(unit 'NU'\) is not an ECG: .* "
                                          r"ECG leads in this record: 'II', 'V'\."):
        fit_record(v102, "PLETH")


def test_resp_refused_by_name_and_force_ecg_lets_a_lead_through():
    syn = synthesize(duration=8.0, fs=250.0, seed=1).record
    x = syn.lead(0)
    two = Record(np.column_stack([x, x]), syn.fs, leads=("II", "RESP"), units=("mV", "mV"))
    with pytest.raises(RecordError, match=r"lead 'RESP' \(unit 'mV'\) is not an ECG: its name says "
                                          r"it is not an ECG; ECG leads in this record: 'II'"):
        fit_record(two, "RESP")
    abp = Record(x, syn.fs, leads=("ABP",), units=("mmHg",), name="pressure")
    with pytest.raises(RecordError, match=r"pressure: lead 'ABP' .* this record has no lead that "
                                          r"looks like an ECG"):
        fit_record(abp)
    fit = fit_record(abp, force_ecg=True)
    assert len(fit.beats) > 5 and fit.info["units"] == "mmHg" and fit.info["lead"] == "ABP"


def test_fit_record_works_in_mv_whatever_the_voltage_unit():
    syn = synthesize(duration=8.0, fs=250.0, seed=1).record
    x = syn.lead(0)
    uv = Record(x * 1000, syn.fs, leads=("II",), units=("uV",))
    sig, unit = ecg_lead_mv(uv, "II", uv.lead(0))
    assert unit == "mV"
    npt.assert_allclose(sig, x, rtol=1e-15)
    a, b = fit_record(uv), fit_record(syn)
    assert a.info["units"] == "mV" and len(a.beats) == len(b.beats)
    npt.assert_allclose(a.beats["R_amplitude"], b.beats["R_amplitude"], rtol=1e-6)
    same, units = to_millivolts(x, ("mV",))
    assert same is x and units == ("mV",)


def test_undeclared_units_warn_when_amplitude_looks_like_uv_or_v(tmp_path):
    x = np.random.default_rng(4).normal(scale=0.3, size=2000)
    p = tmp_path / "raw.csv"
    np.savetxt(p, x * 1000, header="ECG", comments="")
    with pytest.warns(RuntimeWarning, match=r"raw\.csv: lead 'ECG' has no declared unit and a "
                                            r"peak-to-peak amplitude of .* implausible for mV: it "
                                            r"is read as µV; if it is not µV, declare it with a "
                                            r"units row"):
        rec = read_record(p, fs=500)
    assert rec.units == ("mV",)
    npt.assert_allclose(rec.signal, x, rtol=1e-12)  # read as the µV it looks like
    rec = _no_warnings(read_record, p, fs=500, units="uV")
    npt.assert_allclose(rec.signal, x, rtol=1e-12)
    assert rec.units == ("mV",)
    q = tmp_path / "volts.npy"
    np.save(q, x / 1000)
    with pytest.warns(RuntimeWarning, match=r"volts\.npy: lead 'lead0' .* it is read as V; if it "
                                            r"is not V, declare it with read_record\(\.\.\., "
                                            r"units='uV'\)"):
        npt.assert_allclose(read_record(q, fs=500).signal, x, rtol=1e-12)
    npt.assert_allclose(_no_warnings(read_record, q, fs=500, units="V").signal, x, rtol=1e-12)
    _no_warnings(read_record, tmp_path / "raw.csv", fs=500, units="mmHg")  # not a voltage: kept


def test_units_argument_only_where_the_file_has_none(tmp_path, physionet):
    with pytest.raises(RecordError, match=r"100\.hea: a WFDB file declares its own units; units= is "
                                          r"for CSV/TSV/TXT without a units row and NPY"):
        read_record(physionet / "100.hea", units="uV")
    p = tmp_path / "u.csv"
    p.write_text("II\nmV\n0.1\n0.2\n0.3\n")
    with pytest.raises(RecordError, match=r"u\.csv: the file's units row declares the units \(mV\); "
                                          r"drop units="):
        read_record(p, fs=250, units="uV")
    q = tmp_path / "two.npy"
    np.save(q, np.zeros((100, 2)))
    with pytest.raises(RecordError, match=r"two\.npy: 3 units .* for 2 lead"):
        read_record(q, fs=250, units=("uV", "uV", "uV"))


# ---------------------------------------------------------------------------------
# 5. CSV sampling rate: fs=, --fs, or an evenly spaced time column
# ---------------------------------------------------------------------------------
def test_csv_without_rate_names_fs_and_the_cli_flag(tmp_path):
    p = tmp_path / "plain.csv"
    p.write_text("II\n0.1\n0.2\n0.3\n")
    with pytest.raises(RecordError, match=r"plain\.csv: a \.csv file holds no sampling rate: pass "
                                          r"fs= \(Hz\), e\.g\. read_record\('.*plain\.csv', fs=500\), "
                                          r"or --fs 500 on the command line"):
        read_record(p)
    np.save(tmp_path / "x.npy", np.zeros(10))
    with pytest.raises(RecordError, match=r"x\.npy: a \.npy file holds no sampling rate: .*--fs 500"):
        read_record(tmp_path / "x.npy")


@pytest.mark.parametrize("header, times, fs", [
    ("time", [f"{i / 250:.4f}" for i in range(600)], 250.0),
    ("time_ms", [f"{i * 2}" for i in range(600)], 500.0),
    ("t (ms)", [f"{i * 1000 / 360:.3f}" for i in range(600)], 360.0),
    ("'Elapsed time'", [f"'{i // 360 // 60}:{(i / 360) % 60:06.3f}'" for i in range(800)], 360.0),
    ("timestamp", [str(pd.Timestamp("2024-01-01") + pd.Timedelta(milliseconds=4 * i)).replace(" ", "T")
                   for i in range(600)], 250.0),
])
def test_csv_rate_from_an_evenly_spaced_time_column(tmp_path, header, times, fs):
    x = np.sin(np.arange(len(times)) / 9)
    p = tmp_path / "timed.csv"
    p.write_text(f"{header},ECG\n" + "".join(f"{t},{v:.5f}\n" for t, v in zip(times, x)))
    rec = _no_warnings(read_record, p)
    assert rec.fs == fs and rec.leads == ("ECG",)


def test_csv_time_column_uneven_slow_or_contradicted(tmp_path):
    t = np.arange(600) / 250
    uneven = np.delete(t, np.arange(100, 110))  # 10 samples missing
    p = tmp_path / "gap.csv"
    pd.DataFrame({"time": uneven, "ECG": np.zeros(uneven.size)}).to_csv(p, index=False)
    with pytest.raises(RecordError, match=r"gap\.csv: a \.csv file holds no sampling rate"):
        read_record(p)
    p = tmp_path / "slow.csv"
    pd.DataFrame({"time": np.arange(100) / 50, "ECG": np.zeros(100)}).to_csv(p, index=False)
    with pytest.raises(RecordError, match=r"slow\.csv: sampling rate 50 Hz \(from time column "
                                          r"'time'\) is below 100 Hz"):
        read_record(p)
    p = tmp_path / "given.csv"
    pd.DataFrame({"time": t, "ECG": np.zeros(600)}).to_csv(p, index=False)
    with pytest.warns(RuntimeWarning, match=r"fs=500 Hz was given but time column 'time' says "
                                            r"250 Hz: using fs=500 Hz"):
        assert read_record(p, fs=500).fs == 500.0
    p = tmp_path / "index.csv"  # a sample number is not a time
    pd.DataFrame({"sample": np.arange(600), "ECG": np.zeros(600)}).to_csv(p, index=False)
    with pytest.raises(RecordError, match=r"index\.csv: a \.csv file holds no sampling rate"):
        read_record(p)
    assert read_record(p, fs=250).leads == ("ECG",)


def _ecg_rows(n=600, fs=250):
    return np.round(np.sin(np.arange(n) / 9), 5), np.arange(n) / fs


def test_csv_semicolons_with_decimal_commas(tmp_path):
    x, t = _ecg_rows()
    p = tmp_path / "euro.csv"
    p.write_text("time;ecg\n" + "".join(f"{a:.4f};{b:.5f}\n".replace(".", ",") for a, b in zip(t, x)))
    rec = _no_warnings(read_record, p)
    assert rec.fs == 250.0 and rec.leads == ("ecg",)
    npt.assert_allclose(rec.signal, x)
    q = tmp_path / "euro_plain.txt"  # no header, no time column
    q.write_text("".join(f"{b:.5f};{-b:.5f}\n".replace(".", ",") for b in x))
    npt.assert_allclose(read_record(q, fs=250).signal, np.stack([x, -x], axis=1))


@pytest.mark.parametrize("times, fs", [
    ([f"{v:.4f}" for v in np.arange(600) / 250], 250.0),      # s
    ([f"{v * 4}" for v in range(600)], 250.0),                # ms
    ([f"{v * 2000}" for v in range(600)], 500.0),             # us
])
def test_headerless_first_column_of_times_gives_the_rate(tmp_path, times, fs):
    x, _ = _ecg_rows()
    p = tmp_path / "nohdr.csv"
    p.write_text("".join(f"{a},{b}\n" for a, b in zip(times, x)))
    rec = _no_warnings(read_record, p)
    assert rec.fs == fs and rec.leads == ("lead1",)
    npt.assert_allclose(rec.signal, x)


def test_headerless_clock_column_gives_the_rate(tmp_path):
    x, _ = _ecg_rows()
    p = tmp_path / "clock_nohdr.csv"
    p.write_text("".join(f"00:{i * 0.004:06.3f},{b}\n" for i, b in enumerate(x)))
    rec = _no_warnings(read_record, p)
    assert rec.fs == 250.0 and rec.leads == ("lead1",)


def test_headerless_sample_numbers_are_not_a_lead(tmp_path):
    x, _ = _ecg_rows()
    p = tmp_path / "numbered.txt"
    p.write_text("".join(f"{i} {b}\n" for i, b in enumerate(x)))
    with pytest.raises(RecordError, match="holds no sampling rate"):
        read_record(p)
    rec = read_record(p, fs=250)
    assert rec.leads == ("lead1",)
    npt.assert_allclose(rec.signal, x)


@pytest.mark.parametrize("header, times", [
    ("time", [f"{i // 15000:02d}:{(i * 0.004) % 60:06.3f}" for i in range(600)]),   # mm:ss.fff
    ("time", [f"13:{i // 15000:02d}:{(i * 0.004) % 60:06.3f}" for i in range(600)]),  # hh:mm:ss.fff
])
def test_clock_time_columns_are_data_not_a_units_row(tmp_path, header, times):
    x, _ = _ecg_rows()
    p = tmp_path / "clock.csv"
    p.write_text(f"{header},ECG\n" + "".join(f"{a},{b}\n" for a, b in zip(times, x)))
    rec = _no_warnings(read_record, p)
    assert rec.fs == 250.0 and rec.units == ("mV",)
    npt.assert_allclose(rec.signal, x)


def test_time_column_without_a_unit_is_read_in_ms_where_only_that_is_plausible(tmp_path):
    x, _ = _ecg_rows()
    p = tmp_path / "t.csv"
    p.write_text("t,ECG\n" + "".join(f"{4 * i}.0,{b}\n" for i, b in enumerate(x)))
    with pytest.warns(RuntimeWarning, match=r"time column 't' read in ms: in seconds it gives 0\.25 Hz"):
        assert read_record(p).fs == 250.0
    q = tmp_path / "epoch.csv"
    q.write_text("timestamp,ECG\n" + "".join(f"{1_700_000_000_000 + 4 * i},{b}\n" for i, b in enumerate(x)))
    with pytest.warns(RuntimeWarning, match="read in ms"):
        assert read_record(q).fs == 250.0


def test_uneven_time_column_says_where_and_is_named_when_fs_overrides_it(tmp_path):
    x, t = _ecg_rows()
    t = t.copy()
    t[300:] += 1.0  # a second missing after row 300
    p = tmp_path / "gap.csv"
    pd.DataFrame({"time": t, "ECG": x}).to_csv(p, index=False)
    with pytest.raises(RecordError, match=r"time column 'time' is not evenly spaced \(data row 301 "
                                          r"comes 1004 ms after row 300, the usual step 4 ms\); "
                                          r"pass fs= to read its samples as evenly spaced"):
        read_record(p)
    with pytest.warns(RuntimeWarning, match=r"not evenly spaced .*read as evenly spaced at fs=250 Hz"):
        assert read_record(p, fs=250).n_samples == 600


def test_header_leads_of_each_format(physionet, tmp_path):
    assert [(x.name, x.unit, x.fs) for x in header_leads(physionet / "03700181.hea")] == [
        ("MCL1", "mV", 500.0), ("ABP", "mmHg", 125.0), ("RESP", "mV", 125.0)]
    edf = header_leads(physionet / "test_generator_2.edf")
    assert edf[3] == ("ECG", "uV", 200.0) and len(edf) == 11
    p = tmp_path / "x.csv"
    p.write_text("II\n1\n")
    assert header_leads(p) is None
    with pytest.raises(RecordNotFoundError):
        header_leads(tmp_path / "absent.hea")


@pytest.mark.parametrize("block", [7, 64, 333])
def test_long_records_read_block_by_block_give_the_same_signal(tmp_path, monkeypatch, block):
    """A long record is read READ_BLOCK_FRAMES frames at a time (memory): blocks that
    cut through frames of several samples, segments and gaps change no value."""
    from gmesa.ecg.io import wfdb as wfdb_reader

    mf, ecg, _ = _multi_frequency_record(tmp_path, n_frames=1000)
    vl, _, _ = _variable_layout(tmp_path)
    whole = [read_record(mf, "ECG").signal, read_record(vl).signal, read_record(vl, "V").signal]
    monkeypatch.setattr(wfdb_reader, "READ_BLOCK_FRAMES", block)
    blocks = [read_record(mf, "ECG").signal, read_record(vl).signal, read_record(vl, "V").signal]
    for a, b in zip(whole, blocks):
        assert a.shape == b.shape
        npt.assert_array_equal(a, b)
    npt.assert_allclose(blocks[0], ecg, atol=1e-12)
