"""The R' component (``R2``): a second lobe of R's sign inside the QRS, added to a
record's model where the template's QRS is misfit without it (a notched or fragmented
QRS), reported per beat as ``QRS_fragmented``."""
import numpy as np
import pytest

from gmesa import ecg
from gmesa.ecg.rprime import R_PRIME_APART, R_PRIME_NEAR, r_prime_bounds
from gmesa.ecg.fiducials import R_PRIME_LOBE, complex_edges
from gmesa.ecg.io import Record
from gmesa.ecg.options import FitOptions
from gmesa.ecg.waves import bounds, wave_layout


def _notched(center_s, amplitude_mv, sd_s, seed=4, leads=1, duration=30):
    """A synthetic record (500 Hz, 60/min, ``leads`` leads) whose every QRS carries a
    bump of R's sign at ``center_s`` from R."""
    syn = ecg.synthesize(duration=duration, fs=500, heart_rate=60, noise=0.01, seed=seed,
                         leads=leads)
    sig = np.asarray(syn.record.signal, float).copy()
    t = np.arange(sig.shape[0]) / syn.record.fs
    for r in syn.rpeaks / syn.record.fs:
        bump = amplitude_mv * np.exp(-0.5 * ((t - r - center_s) / sd_s) ** 2)
        sig += bump[:, None] if sig.ndim == 2 else bump
    return Record(sig, syn.record.fs)


@pytest.fixture(scope="module")
def rsr():
    """An rSR' pattern: R' of 0.8 mV 50 ms after R; fitted with and without the R'."""
    rec = _notched(0.050, 0.8, 0.008)
    return ecg.fit_record(rec), ecg.fit_record(rec, r_prime=False)


def test_a_terminal_r_prime_is_found_and_ends_the_qrs(rsr):
    with_rp, without = rsr
    assert "R2" in with_rp.waves and "R2" not in without.waves
    b = with_rp.beats
    ok = b["status"] == "ok"
    assert ok.mean() > 0.9
    assert b.loc[ok, "QRS_fragmented"].mean() > 0.9
    assert "QRS_fragmented" not in without.beats
    # where and how large: the synthetic R' sits at +50 ms, 0.8 mV
    assert b.loc[ok, "R2_center"].median() == pytest.approx(0.050, abs=0.004)
    assert b.loc[ok, "R2_amplitude"].median() == pytest.approx(0.8, rel=0.25)
    # the QRS it leaves out without it: QRS PRD over 15% without, a few % with
    nb = without.beats
    nok = nb["status"] == "ok"
    assert nb.loc[nok, "QRS_prd"].median() > 15.0
    assert b.loc[ok, "QRS_prd"].median() < 6.0
    assert b.loc[ok, "prd"].median() < 0.6 * nb.loc[nok, "prd"].median()
    # the complex ends after the R' (its center + 2 SD) in every beat; without it the
    # end jumps between the S and the bump beat by beat (41 or 69 ms here)
    off = (b["QRS_off_s"] - b["r_peak_s"])[ok]
    off_without = (nb["QRS_off_s"] - nb["r_peak_s"])[nok]
    assert off.min() > 0.050 + 2 * 0.008
    assert off.std() < 0.002 < 0.005 < off_without.std()


def test_an_r_prime_before_r_starts_the_qrs_without_the_signal_onset_rule():
    rec = _notched(-0.045, 0.5, 0.006)
    fit = ecg.fit_record(rec)
    b = fit.beats
    ok = b["status"] == "ok"
    assert "R2" in fit.waves and b.loc[ok, "QRS_fragmented"].mean() > 0.9
    assert b.loc[ok, "R2_center"].median() == pytest.approx(-0.045, abs=0.004)
    assert b.loc[ok, "QRS_prd"].median() < 5.0
    on = (b["QRS_on_s"] - b["r_peak_s"])[ok].median()
    assert on < -0.045 - 1.5 * 0.006
    # the model holds the notch now: its onset is the model's, not read off the signal
    assert not b.loc[ok, "reason"].str.contains("read off the signal").any()
    # the split-half templates keep the R' too (free, theirs wandered: QRS on 41 and
    # QRS off 91 ms apart), so the boundary SDs do not take a spread the beats lack
    spread = fit.info["template_spread_ms"]
    assert spread["QRS_on"] < 5.0 and spread["QRS_off"] < 5.0


def test_no_r_prime_where_the_qrs_is_not_notched():
    rec = _notched(0.0, 0.0, 0.01)
    fit = ecg.fit_record(rec)
    assert "R2" not in fit.waves and "QRS_fragmented" not in fit.beats
    assert fit.info["model_choice"]["hypothesis"]["R2"] is False


def test_r_prime_off_never_adds_it_and_bad_values_say_what_to_use():
    fit = ecg.fit_record(_notched(-0.045, 0.5, 0.006), r_prime=False)
    assert "R2" not in fit.waves
    with pytest.raises(ValueError, match="r_prime='yes'; use 'auto' or False"):
        FitOptions(r_prime="yes")


def test_the_pooled_reading_keeps_each_leads_model_qrs():
    """``fit_leads(joint=False, boundaries="pooled")`` takes the earliest onset over the
    leads, so the other leads overrule one that misfits its QRS: no lead reads its onset
    off the signal (``signal_onset``) or fits an R' (``r_prime``; with it, LUDB even's
    global QRS on was 9.8 -> 10.7 ms), unless asked."""
    rec = _notched(-0.045, 0.5, 0.006, leads=2, duration=20)
    for kw, said_expected, r_prime_expected in (({}, False, False),
                                                ({"signal_onset": True}, True, False),
                                                ({"r_prime": "auto"}, False, True)):
        fit = ecg.fit_leads(rec, joint=False, boundaries="pooled", **kw)
        said = any(f.beats["reason"].str.contains("read off the signal").any()
                   for f in fit.fits.values())
        assert said == said_expected, kw
        assert all(("R2" in f.waves) == r_prime_expected for f in fit.fits.values()), kw


def test_r_prime_keeps_rs_sign_and_stays_apart_from_r():
    lay = wave_layout(("P", "Q", "R", "S", "T", "R2"))
    a = lay.index("R2", "amplitude")
    for r_amp in (1.0, -0.8):
        lo, hi = bounds(lay.waves, r_amp, -0.3, 0.5, n_baseline=0)
        assert (lo[a] >= 0.0) if r_amp > 0 else (hi[a] <= 0.0)
        assert max(abs(lo[a]), abs(hi[a])) == pytest.approx(1.4 * (abs(r_amp) + 1e-3))
    # held near the template's, on its side of R, no larger than the cap
    for center in (0.030, -0.025):
        lo, hi = bounds(lay.waves, 1.0, -0.3, 0.5, n_baseline=0)
        r_prime_bounds(lay, lo, hi, center, cap=0.2)
        c = lay.index("R2", "center")
        assert lo[c] >= center - R_PRIME_NEAR - 1e-12 and hi[c] <= center + R_PRIME_NEAR + 1e-12
        assert (lo[c] >= R_PRIME_APART) if center > 0 else (hi[c] <= -R_PRIME_APART)
        assert lo[a] == 0.0 and hi[a] == pytest.approx(0.2)


def test_a_small_r_prime_still_ends_the_complex():
    """complex_edges with one share per component: a lobe of 20% of the peak ends the
    complex when its share is R_PRIME_LOBE, not at the scalar 0.45."""
    r = [1.0, 0.0, 0.0, 0.008, 0.008]
    late = [0.2, 0.06, 0.0, 0.006, 0.006]
    p = np.array([r + late])
    _, _, off_scalar = complex_edges(p, 0.3, 0.6, 0.45)
    _, _, off_shares = complex_edges(p, 0.3, 0.6, [0.45, R_PRIME_LOBE])
    assert off_scalar[0] < 0.03 < 0.06 < off_shares[0] < 0.08
    # the same shares as the scalar give the scalar's edges
    np.testing.assert_allclose(complex_edges(p, 0.3, 0.6, [0.45, 0.45]),
                               complex_edges(p, 0.3, 0.6, 0.45))


def test_the_beat_figure_names_the_r_prime(rsr):
    pytest.importorskip("matplotlib")
    from gmesa import plot

    fit = rsr[0]
    i = int(np.flatnonzero((fit.beats["status"] == "ok") & fit.beats["QRS_fragmented"])[0])
    ax = plot.beat(fit, i)
    ax = ax[0] if isinstance(ax, (list, tuple)) else ax
    labels = {t.get_text() for t in ax.texts}
    assert "R'" in labels
    assert "fragmented QRS" in ax.get_title()
    plot.close(ax.figure)


def test_a_fragmented_qrs_on_a_real_record_is_modelled(physionet):
    """PTB s0010_re lead ii: two deflections of R's sign in every QRS (median QRS PRD
    16.9% without an R'); with it the QRS PRD is under 10% and every ok beat is
    fragmented.  MIT-BIH 100 (normal QRS complexes) gets none."""
    from gmesa.ecg.io import read_record

    fit = ecg.fit_record(read_record(physionet / "s0010_re.hea"), "ii")
    b = fit.beats
    ok = b["status"] == "ok"
    assert "R2" in fit.waves and b.loc[ok, "QRS_fragmented"].mean() > 0.9
    assert b.loc[ok, "QRS_prd"].median() < 10.0
    # the R' is the deflection about 40 ms before R, of R's (negative) sign
    assert b.loc[ok, "R2_center"].median() == pytest.approx(-0.040, abs=0.010)
    assert np.all(np.sign(b.loc[ok, "R2_amplitude"]) == np.sign(b.loc[ok, "R_amplitude"]))
    assert "R2" not in ecg.fit_record(read_record(physionet / "100.hea")).waves


def test_several_leads_name_the_fragmented_ones_and_the_clinical_criterion():
    """``fit_leads(joint=False)``: ``QRS_fragmented_leads`` lists the leads whose QRS has
    an R'; ``fQRS`` needs two of one coronary territory (II, III, aVF inferior)."""
    from gmesa.ecg.leads import fragmented_leads

    notched = np.asarray(_notched(-0.045, 0.5, 0.006, duration=20).signal, float).ravel()
    clean = np.asarray(_notched(-0.045, 0.0, 0.006, duration=20).signal, float).ravel()
    for leads, expect in (((notched, notched, clean), True), ((notched, clean, clean), False)):
        rec = Record(np.stack(leads, axis=1), 500.0, leads=["II", "III", "aVF"])
        b = ecg.fit_leads(rec, joint=False).beats
        ok = b["status"] == "ok"
        listed = b.loc[ok, "QRS_fragmented_leads"]
        assert (listed == ("II,III" if expect else "II")).mean() > 0.9
        assert b.loc[ok, "fQRS"].mean() > 0.9 if expect else not b.loc[ok, "fQRS"].any()
    # no lead modelled an R': no columns
    assert fragmented_leads({}, 3) == {}


def test_the_joint_model_holds_the_r_prime_in_the_leads_that_show_it():
    """``fit_leads(r_prime="auto")`` (the joint model; it has no R' unless asked): the
    primary lead's template decides the R', its
    timing is shared and held near the template's (``timing_bounds``), each lead has its
    own R' amplitude, and the same ``QRS_fragmented_leads`` and ``fQRS`` columns as
    ``joint=False``."""
    from gmesa.ecg.joint_template import timing_bounds

    notched = np.asarray(_notched(-0.045, 0.5, 0.006, duration=20).signal, float).ravel()
    clean = np.asarray(_notched(-0.045, 0.0, 0.006, duration=20).signal, float).ravel()
    rec = Record(np.stack((notched, notched, clean), axis=1), 500.0, leads=["II", "III", "aVF"])
    assert "R2" not in ecg.fit_leads(rec).info["waves"]  # the joint model's default
    fit = ecg.fit_leads(rec, r_prime="auto")
    assert fit.info["joint"] and "R2" in fit.info["waves"]
    b = fit.beats
    ok = b["status"] == "ok"
    assert ok.mean() > 0.9
    assert (b.loc[ok, "QRS_fragmented_leads"] == "II,III").mean() > 0.9
    assert b.loc[ok, "fQRS"].mean() > 0.9
    assert b.loc[ok, "R2_center"].median() == pytest.approx(-0.045, abs=0.005)
    assert b.loc[ok, "R2_amplitude_II"].median() == pytest.approx(0.5, rel=0.3)
    assert abs(b.loc[ok, "R2_amplitude_aVF"].median()) < 0.1
    assert fit.fits["II"].beats.loc[ok, "QRS_fragmented"].mean() > 0.9
    assert not fit.fits["aVF"].beats.loc[ok, "QRS_fragmented"].any()
    # the shared R' center stays within R_PRIME_NEAR of the template's, on its side of R
    opts = FitOptions(waves=("P", "Q", "R", "S", "T", "R2"))
    lo, hi = timing_bounds(opts, -0.4, 0.6, 1.0, -0.05, r_prime_at=-0.03)
    k = 4 * opts.waves.index("R2")
    assert lo[k] == pytest.approx(-0.03 - R_PRIME_NEAR)
    assert hi[k] == pytest.approx(-R_PRIME_APART)
    free = timing_bounds(opts, -0.4, 0.6, 1.0, -0.05)
    assert free[0][k] < lo[k] and free[1][k] > hi[k]
    # each lead's R' in the beats: R's sign in that lead's template, at most 1.5 times
    # its template's R' + 5% of its R; in the template, the sign and size of the lead's
    # median beat at R and at the R'
    from types import SimpleNamespace

    from gmesa.ecg.joint import r_prime_caps
    from gmesa.ecg.joint_template import r_prime_signs
    k = opts.waves.index("R2")
    coef = np.zeros((2, 9))
    coef[:, [opts.waves.index("R"), k]] = [[1.0, 0.2], [-2.0, 0.0]]
    clo, chi = r_prime_caps(opts, SimpleNamespace(coef=coef))
    assert chi[:, k] == pytest.approx([0.35, 0.0]) and clo[:, k] == pytest.approx([0.0, -0.1])
    assert np.isinf(chi[:, opts.waves.index("T")]).all()
    assert r_prime_caps(FitOptions(), SimpleNamespace(coef=coef)) == (None, None)
    t = np.linspace(-0.3, 0.5, 401)
    shape = np.exp(-0.5 * (t / 0.01) ** 2) + 0.4 * np.exp(-0.5 * ((t - 0.04) / 0.01) ** 2)
    theta = np.zeros(4 * len(opts.waves) + opts.layout.n_steps)
    theta[4 * k] = 0.04
    lo, hi = r_prime_signs(opts, t, np.stack([shape, -2.0 * shape]), theta)
    assert hi[:, k] == pytest.approx([1.5 * 0.4 + 0.05, 0.0], abs=0.01)
    assert lo[:, k] == pytest.approx([0.0, -(1.5 * 0.8 + 0.1)], abs=0.02)
    assert lo.shape == (2, len(opts.waves) + opts.layout.n_steps + opts.layout.n_baseline)
    # without a notch in any lead, no R' and no columns
    clean_rec = Record(np.stack((clean, clean), axis=1), 500.0, leads=["II", "III"])
    quiet = ecg.fit_leads(clean_rec, r_prime="auto")
    assert "R2" not in quiet.info["waves"] and "fQRS" not in quiet.beats


def test_the_summary_of_several_leads_names_the_fragmented_ones():
    from types import SimpleNamespace

    import pandas as pd

    from gmesa._cli_report import fragmented_rows

    beats = pd.DataFrame({"status": ["ok", "ok", "ok", "nan"],
                          "QRS_fragmented_leads": ["II,III", "II", "", "II,III"],
                          "fQRS": [True, False, False, True]})
    fit = SimpleNamespace(beats=beats, fits={"II": None, "III": None, "aVF": None})
    assert fragmented_rows(fit) == [
        ("fragmented QRS", "II 67%, III 33%; fQRS (2 leads of one territory) in 33% of ok beats")]
    assert fragmented_rows(SimpleNamespace(beats=beats.drop(columns=["QRS_fragmented_leads"]),
                                           fits={})) == []
