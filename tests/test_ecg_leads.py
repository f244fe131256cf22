"""Several leads fitted on shared R peaks: a wave one lead lacks is read from another."""
from dataclasses import replace

import numpy as np
import pytest

from gmesa import ecg
from gmesa.ecg.leads import combine
from gmesa.ecg.waves import typical_vector


@pytest.fixture(scope="module")
def two_leads():
    """The same beats twice: lead 'flat_p' has no P wave at all, lead 'with_p' has one."""
    beat = typical_vector()
    no_p = beat.copy()
    no_p[0] = 0.0
    kw = dict(duration=30, fs=500, heart_rate=70, noise=0.01, wander=0.0, seed=4)
    flat, clear = ecg.synthesize(beat=no_p, **kw), ecg.synthesize(beat=beat, **kw)
    assert np.allclose(flat.truth["r_peak_s"], clear.truth["r_peak_s"])
    signals = np.column_stack([flat.record.signal, clear.record.signal])
    record = ecg.Record(signals, 500.0, leads=("flat_p", "with_p"), name="two")
    return record, clear.truth


def test_wave_missing_in_primary_read_from_other_lead(two_leads):
    record, truth = two_leads
    alone = ecg.fit_record(record, "flat_p")
    both = ecg.fit_leads(record, primary="flat_p", joint=False)
    inner = both.beats["status"] == "ok"
    assert alone.beats.loc[inner, "P_present"].mean() < 0.2       # no P in that lead
    assert both.beats.loc[inner, "P_present"].mean() > 0.9         # ... but in the other
    assert (both.beats.loc[inner & both.beats["P_present"], "P_lead"] == "with_p").all()
    assert (both.beats.loc[inner, "QRS_lead"] == "flat_p").all()   # the primary shows QRS
    i = np.searchsorted(truth["r_peak_s"], both.beats["r_peak_s"] - 0.01)
    for col in ("P_on_s", "P_off_s", "QRS_on_s", "T_off_s"):
        err_ms = (both.beats[col] - truth[col].to_numpy()[i]).to_numpy()[inner] * 1e3
        assert np.nanmedian(np.abs(err_ms)) < 5.0, (col, np.nanmedian(np.abs(err_ms)))
    # the P wave's fiducials are those of the lead they came from, PR from them
    with_p = both.fits["with_p"].beats
    rows = inner & both.beats["P_present"]
    assert np.allclose(both.beats.loc[rows, "P_on_s"], with_p.loc[rows, "P_on_s"])
    # ... and so is their uncertainty (the learned map's, ms)
    assert np.allclose(both.beats.loc[rows, "P_on_sd_ms"], with_p.loc[rows, "P_on_sd_ms"])
    assert both.beats.loc[rows, "P_on_sd_ms"].gt(0).all()
    pr = (both.beats["QRS_on_s"] - both.beats["P_on_s"]) * 1e3
    assert np.allclose(both.beats["pr_ms"], pr, equal_nan=True)


def test_primary_lead_first_and_shared_rpeaks(two_leads):
    record, _ = two_leads
    both = ecg.fit_leads(record, primary="with_p", joint=False)
    assert both.primary == "with_p" and list(both.fits) == ["flat_p", "with_p"]
    r = [f.beats["r_peak_s"].to_numpy() for f in both.fits.values()]
    assert np.array_equal(r[0], r[1])
    shown = both.fits["with_p"].beats["P_present"].to_numpy()
    assert (both.beats.loc[shown, "P_lead"] == "with_p").all()


def test_leads_fit_saved(two_leads, tmp_path):
    record, _ = two_leads
    both = ecg.fit_leads(record, ["with_p", 0], joint=False)
    paths = both.save(tmp_path, fmt="csv")
    assert paths["beats"].name == "two.leads.csv" and paths["info"].exists()
    loaded = ecg.RecordFit.load(paths["leads"]["with_p"]["info"])
    assert loaded.beats.shape == both.fits["with_p"].beats.shape
    again = ecg.LeadsFit.load(paths["info"])
    assert again.primary == both.primary and list(again.fits) == list(both.fits)
    assert np.allclose(again.beats["T_off_s"], both.beats["T_off_s"], equal_nan=True)
    assert (again.beats["P_lead"].fillna("") == both.beats["P_lead"]).all()
    assert again.info["record"] == "two"
    with pytest.raises(ValueError, match="leads.json"):
        ecg.LeadsFit.load(paths["leads"]["with_p"]["info"])


def test_leads_bad_input(two_leads):
    record, _ = two_leads
    with pytest.raises(ValueError, match="leads is empty"):
        ecg.fit_leads(record, [])
    with pytest.raises(ValueError, match="lead"):
        ecg.fit_leads(record, ["V9"])
    with pytest.raises(TypeError, match="Record"):
        ecg.fit_leads(np.zeros((100, 2)))
    a = ecg.fit_record(record, 0)
    b = ecg.fit_record(record, 1, rpeaks=np.round(a.beats["r_peak_s"].to_numpy()[:-2] * 500).astype(int))
    with pytest.raises(ValueError, match="same R peaks"):
        combine({"flat_p": a, "with_p": b}, "flat_p")


def test_a_lead_without_signal_is_skipped_with_its_reason(two_leads):
    record, _ = two_leads
    signals = np.column_stack([record.signal, np.full(record.signal.shape[0], np.nan)])
    three = ecg.Record(signals, record.fs, leads=("flat_p", "with_p", "empty"), name="three")
    with pytest.warns(UserWarning, match="'empty' skipped"):
        res = ecg.fit_leads(three, primary="with_p")
    assert list(res.fits) == ["flat_p", "with_p"] and "no finite samples" in res.info[
        "skipped_leads"]["empty"]
    assert res.beats["P_present"].mean() > 0.9
    with pytest.raises(ValueError, match="no finite samples"):
        ecg.fit_leads(three, primary="empty")


def _shift_t(fit, seconds):
    """A copy of ``fit`` whose T wave fiducials sit ``seconds`` later."""
    beats = fit.beats.copy()
    for col in ("T_on_s", "T_peak_s", "T_off_s"):
        beats[col] = beats[col] + seconds
    return replace(fit, beats=beats)


def test_leads_that_disagree_on_t_read_it_where_it_sits_at_its_usual_place(two_leads):
    record, _ = two_leads
    a = ecg.fit_record(record, "with_p")
    b = ecg.fit_record(record, "flat_p", rpeaks=np.round(a.beats["r_peak_s"].to_numpy() * 500).astype(int))
    assert (b.beats["T_amplitude"].abs() / b.beats["rmse"]).median() > 1.0
    b.beats["T_amplitude"] *= 3.0                     # the other lead shows T most strongly
    ok = a.beats["T_present"].to_numpy() & b.beats["T_present"].to_numpy()
    assert ok.mean() > 0.9
    # the primary lead took a late bump (a U wave, say) for T: 250 ms off
    late = combine({"with_p": _shift_t(a, 0.25), "flat_p": b}, "with_p")
    assert (late.loc[ok, "T_lead"] == "flat_p").all()
    assert np.allclose(late.loc[ok, "T_peak_s"], b.beats.loc[ok, "T_peak_s"])
    # within DISAGREE_S the primary lead keeps its T
    near = combine({"with_p": _shift_t(a, 0.05), "flat_p": b}, "with_p")
    assert (near.loc[ok, "T_lead"] == "with_p").all()
    # the strongest lead is the one off its usual place: the primary lead keeps its T
    off = combine({"with_p": a, "flat_p": _shift_t(b, 0.25)}, "with_p")
    assert (off.loc[ok, "T_lead"] == "with_p").all()
    assert np.allclose(off.loc[ok, "qt_ms"], a.beats.loc[ok, "qt_ms"])


@pytest.mark.parametrize("bad", ["zeros", "noise"])
def test_a_default_primary_without_an_ecg_gives_way(bad):
    """Lead II off (zeros) or noise: it would set every lead's R peaks (every beat
    'not_ecg'); the next lead that shows an ECG does, with a warning.  A primary the
    user names is kept."""
    syn = ecg.synthesize(duration=20, fs=250, leads=3, seed=6)
    sig = np.array(syn.record.signal, dtype=float)
    sig[:, 0] = 0.0 if bad == "zeros" else 0.3 * np.random.default_rng(2).standard_normal(len(sig))
    rec = ecg.Record(sig, 250.0, leads=("II", "V5", "V2"))
    with pytest.warns(UserWarning, match=r"lead 'II' shows no ECG .* lead 'V5' sets the R peaks"):
        fit = ecg.fit_leads(rec)
    assert fit.primary == "V5" and (fit.beats.status == "ok").sum() >= 0.8 * len(syn.rpeaks)
    if bad == "zeros":  # a primary the user names is kept, and says why it cannot serve
        for joint in (True, False):
            with pytest.raises(ValueError, match=r"the primary lead 'II' gives no beats"):
                ecg.fit_leads(rec, primary="II", joint=joint)


def test_default_leads_are_the_ecg_leads(physionet):
    """fit_leads with no leads= fits the leads that may be ECG: v102s's PLETH and RESP
    are left out (by unit and name), not fitted as ECG nor skipped with a warning."""
    import warnings as _w
    rec = ecg.read_record(physionet / "v102s")
    n = int(20 * rec.fs)
    short = ecg.Record(rec.signal[:n], rec.fs, leads=rec.leads, units=rec.units)
    with _w.catch_warnings():
        _w.simplefilter("error", UserWarning)
        fits = ecg.fit_leads(short)
    assert fits.info["leads"] == ["II", "V"] and fits.info["skipped_leads"] == {}


def _shift_edges(fit, group, on_s, off_s):
    """A copy of ``fit`` whose ``group`` onset and offset sit ``on_s``, ``off_s`` later
    (arrays per beat or scalars)."""
    beats = fit.beats.copy()
    beats[f"{group}_on_s"] = beats[f"{group}_on_s"] + on_s
    beats[f"{group}_off_s"] = beats[f"{group}_off_s"] + off_s
    return replace(fit, beats=beats)


@pytest.fixture(scope="module")
def same_beats(two_leads):
    record, _ = two_leads
    a = ecg.fit_record(record, "with_p")
    r = np.round(a.beats["r_peak_s"].to_numpy() * 500).astype(int)
    return a, r


def test_pooled_boundaries_are_the_median_of_the_leads_moved_out(same_beats):
    from gmesa.ecg.joint_edges import expected_max
    from gmesa.ecg.leads import POOLED_SPREAD

    a, _ = same_beats
    n = len(a.beats)
    rng = np.random.default_rng(3)
    # five leads: the same fit, each boundary moved by its own error (ms scale)
    errs = rng.normal(0.0, 0.008, size=(5, 2, n))
    fits = {f"l{i}": _shift_edges(a, "QRS", errs[i, 0], errs[i, 1]) for i in range(5)}
    pooled = combine(fits, "l0", "pooled")
    picked = combine(fits, "l0")
    ok = np.isfinite(a.beats["QRS_on_s"].to_numpy())
    assert ok.mean() > 0.9 and (pooled.loc[ok, "QRS_n_leads"] == 5).all()
    out = expected_max(5)
    want_on = a.beats["QRS_on_s"] + np.median(errs[:, 0], axis=0) - POOLED_SPREAD["QRS_on"] * out
    want_off = a.beats["QRS_off_s"] + np.median(errs[:, 1], axis=0) + POOLED_SPREAD["QRS_off"] * out
    assert np.allclose(pooled.loc[ok, "QRS_on_s"], want_on[ok], atol=1e-12)
    assert np.allclose(pooled.loc[ok, "QRS_off_s"], want_off[ok], atol=1e-12)
    # the peak is the picked lead's; the pooled SD is the leads' standard error (ms)
    assert np.allclose(pooled["QRS_peak_s"], picked["QRS_peak_s"], equal_nan=True)
    sem = np.std(errs[:, 0], axis=0, ddof=1) / np.sqrt(5) * 1e3
    assert np.allclose(pooled.loc[ok, "QRS_on_sd_ms"], sem[ok])
    # the intervals follow the pooled boundaries
    qrs = (pooled["QRS_off_s"] - pooled["QRS_on_s"]) * 1e3
    assert np.allclose(pooled["qrs_ms"], qrs, equal_nan=True)
    # independent errors average out: the median of five lies nearer than one lead
    centred = pooled.loc[ok, "QRS_on_s"] + POOLED_SPREAD["QRS_on"] * out - a.beats.loc[ok, "QRS_on_s"]
    assert np.mean(np.abs(centred)) < 0.8 * np.mean(np.abs(errs[0, 0][ok]))


def test_pooled_leaves_out_a_lead_that_disagrees_and_one_lead_is_picked(same_beats, two_leads):
    record, _ = two_leads
    a, r = same_beats
    b = ecg.fit_record(record, "flat_p", rpeaks=r)
    ok = a.beats["T_present"].to_numpy() & b.beats["T_present"].to_numpy()
    # a lead whose T sits 250 ms later fitted something else: it is not pooled
    far = combine({"with_p": a, "flat_p": _shift_t(b, 0.25)}, "with_p", "pooled")
    assert (far.loc[ok, "T_n_leads"] == 1).all()
    assert np.allclose(far.loc[ok, "T_off_s"], a.beats.loc[ok, "T_off_s"])  # one lead: no spread
    assert far.loc[ok, "T_off_sd_ms"].isna().all()
    # a wave only one lead shows (P) is that lead's reading, with no spread
    only = combine({"with_p": a, "flat_p": b}, "flat_p", "pooled")
    p = only["P_present"].to_numpy() & ~b.beats["P_present"].to_numpy()
    assert p.mean() > 0.8 and (only.loc[p, "P_n_leads"] == 1).all()
    assert np.allclose(only.loc[p, "P_on_s"], a.beats.loc[p, "P_on_s"])


def test_pooled_boundaries_options(two_leads):
    record, _ = two_leads
    res = ecg.fit_leads(record, primary="with_p", joint=False, boundaries="pooled")
    assert res.info["boundaries"] == "pooled"
    assert {"P_n_leads", "QRS_n_leads", "T_n_leads"} <= set(res.beats.columns)
    inner = res.beats["status"] == "ok"
    assert (res.beats.loc[inner, "QRS_n_leads"] == 2).mean() > 0.9
    with pytest.raises(ValueError, match="boundaries='median'"):
        ecg.fit_leads(record, joint=False, boundaries="median")
    with pytest.raises(ValueError, match="joint=False"):
        ecg.fit_leads(record, boundaries="pooled")


def test_pooled_p_waves_keep_one_place(same_beats, two_leads):
    """P waves found at places that wander from beat to beat (as fibrillation waves in
    one lead) are not pooled into a P rhythm; picked, each beat keeps its own."""
    record, _ = two_leads
    a, r = same_beats
    b = ecg.fit_record(record, "flat_p", rpeaks=r)
    shift = np.random.default_rng(5).uniform(-0.2, 0.2, len(a.beats))
    beats = a.beats.copy()
    for col in ("P_on_s", "P_peak_s", "P_off_s"):
        beats[col] = beats[col] + shift
    wander = replace(a, beats=beats)
    picked = combine({"flat_p": b, "with_p": wander}, "flat_p")
    pooled = combine({"flat_p": b, "with_p": wander}, "flat_p", "pooled")
    assert picked["P_present"].mean() > 0.8
    assert pooled["P_present"].mean() < 0.5 * picked["P_present"].mean()
    kept = pooled["P_present"].to_numpy()
    assert np.ptp(shift[kept]) <= 0.1          # those kept sit at one place (+-40 ms)
    assert pooled.loc[~kept, ["P_on_s", "P_off_s", "pr_ms"]].isna().all().all()
    # steady P waves are all kept
    steady = combine({"flat_p": b, "with_p": a}, "flat_p", "pooled")
    assert steady["P_present"].sum() == combine({"flat_p": b, "with_p": a}, "flat_p")["P_present"].sum()


def _withhold(fit, column, rows):
    """A copy of ``fit`` whose ``column`` is NaN on ``rows`` (an edge the lead cannot
    read: a T off the window cuts, a P on before the window)."""
    beats = fit.beats.copy()
    beats.loc[rows, column] = np.nan
    return replace(fit, beats=beats)


def test_an_edge_one_lead_withholds_is_read_from_the_leads_that_agree(same_beats):
    """The primary lead shows T but its T off is cut on half the beats: picked, the T
    (peak, onset) stays the primary's and the T off comes from the other lead; pooled,
    the T off is that lead's alone (no spread) and the T on still pools both.  A lead
    whose T sits elsewhere gives no T off (on main before: the whole T switched to the
    other lead, or the T was lost with its T off)."""
    a, _ = same_beats
    n = len(a.beats)
    cut = np.zeros(n, bool)
    cut[::2] = True
    ok = a.beats["T_present"].to_numpy()
    other = _shift_edges(a, "T", 0.004, 0.006)
    fits = {"prim": _withhold(a, "T_off_s", cut), "other": other}
    picked = combine(fits, "prim")
    both = ok & cut
    assert both.sum() > 5
    assert (picked.loc[ok, "T_lead"] == "prim").all()
    assert np.allclose(picked.loc[both, "T_off_s"], other.beats.loc[both, "T_off_s"])
    assert np.allclose(picked.loc[ok & ~cut, "T_off_s"], a.beats.loc[ok & ~cut, "T_off_s"])
    assert np.allclose(picked.loc[ok, "T_on_s"], a.beats.loc[ok, "T_on_s"])
    assert np.allclose(picked.loc[both, "T_off_sd_ms"], other.beats.loc[both, "T_off_sd_ms"])
    pooled = combine(fits, "prim", "pooled")
    assert np.allclose(pooled.loc[both, "T_off_s"], other.beats.loc[both, "T_off_s"])
    assert (pooled.loc[ok, "T_n_leads"] == 2).all()
    assert pooled.loc[both, "T_off_sd_ms"].isna().all()        # one lead: no SE
    # ... not from a lead whose T is another wave
    far = {"prim": fits["prim"], "other": _shift_t(other, 0.25)}
    for mode in ("picked", "pooled"):
        t = combine(far, "prim", mode)
        assert (t.loc[ok, "T_lead"] == "prim").all()
        assert t.loc[both, "T_off_s"].isna().all() and t.loc[both, "qt_ms"].isna().all()
        assert np.isfinite(t.loc[ok & ~cut, "T_off_s"]).all()


def test_per_lead_fits_without_a_p_wave_in_the_model(two_leads):
    """``waves`` without P: the leads' table has no P (a KeyError on P_amplitude before)."""
    record, _ = two_leads
    for mode in ("picked", "pooled"):
        res = ecg.fit_leads(record, joint=False, boundaries=mode, waves=("Q", "R", "S", "T"))
        inner = res.beats["status"] == "ok"
        assert not res.beats["P_present"].any() and res.beats["pr_ms"].isna().all()
        assert res.beats.loc[inner, "T_present"].mean() > 0.9
        assert res.beats.loc[inner, "qrs_ms"].notna().all()
