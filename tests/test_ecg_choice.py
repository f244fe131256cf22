"""Record-level model choice (gmesa.ecg.choice): hypotheses fitted on the template and
scored by the BIC of the beats; the truth of synthetic records is known."""
import numpy as np
import pandas as pd
import pytest

import gmesa
from gmesa import ecg
from gmesa.ecg import choice
from gmesa.ecg.choice import Hypothesis, choose_model, constrain, options_for
from gmesa.ecg.options import FitOptions
from gmesa.ecg.waves import TYPICAL_BEAT, WAVES


def _beat(**changes):
    rows = {w: list(TYPICAL_BEAT[w]) for w in WAVES}
    for w, row in changes.items():
        rows[w] = list(row)
    return np.array([v for w in WAVES for v in rows[w]])


def _choice(beat=None, noise=0.01, seed=3, extra=None, heart_rate=60, factors=("P", "T")):
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=heart_rate, noise=noise,
                         wander=0.0, seed=seed, beat=beat, variability=0.02)
    rec = syn.record
    if extra is not None:
        t = np.arange(rec.signal.size) / rec.fs
        sig = rec.signal + sum(extra(t - r) for r in syn.truth["r_peak_s"])
        rec = ecg.Record(sig, rec.fs, name="extra")
    fit = ecg.fit_record(rec, model_choice=factors)
    return fit, fit.info["model_choice"]


def test_typical_beat_chooses_p_and_t_upright_with_a_large_margin():
    fit, mc = _choice()
    assert mc["hypothesis"] == {"P": "free", "T": "upright", "U": False, "T2": False,
                                "R2": False}
    assert mc["factor_margins"]["P"] > 100 and mc["factor_margins"]["T"] > 100
    assert mc["confidence"] > 0.99 and mc["margin"] > 10
    assert len(mc["scores"]) == 4 and mc["chosen"] in mc["scores"]
    assert fit.beats["P_present"].mean() > 0.9


@pytest.mark.parametrize("noise", [0.01, 0.04])
def test_no_p_wave_chooses_p_absent(noise):
    """P amplitude 0: the P region holds only noise; P absent wins, no beat has a P."""
    fit, mc = _choice(_beat(P=(0.0,) + tuple(TYPICAL_BEAT["P"][1:])), noise=noise)
    assert mc["hypothesis"]["P"] == "absent"
    assert mc["factor_margins"]["P"] > 5
    assert not fit.beats["P_present"].any()
    assert fit.beats["reason"].str.contains("model choice").mean() > 0.9


def test_inverted_t_is_chosen():
    t = TYPICAL_BEAT["T"]
    fit, mc = _choice(_beat(T=(-abs(t[0]),) + tuple(t[1:])))
    assert mc["hypothesis"]["T"] == "inverted" and mc["factor_margins"]["T"] > 100
    assert (fit.beats["T_amplitude"] < 0).mean() > 0.9


def test_u_wave_is_chosen_only_where_there_is_one():
    low_t = _beat(T=(0.12,) + tuple(TYPICAL_BEAT["T"][1:]))
    fit, mc = _choice(low_t, extra=lambda x: gmesa.gmf(x, 0.18, 0.52, 0.0, 0.04, 0.04),
                      heart_rate=55)
    assert mc["hypothesis"]["U"] and mc["factor_margins"]["U"] is None  # the T_LATEST rule
    assert "U" in fit.waves and mc["hypothesis"]["T"] == "upright"
    fit, mc = _choice(low_t)
    assert not mc["hypothesis"]["U"] and "U" not in fit.waves


def test_default_chooses_t_only_and_bad_factors_are_refused():
    fit, mc = _choice(factors=FitOptions().model_choice)
    assert FitOptions().model_choice == ("T",)
    assert mc["hypothesis"] == {"P": "free", "T": "upright", "U": False, "T2": False,
                                "R2": False}
    assert mc["factor_margins"]["P"] is None and mc["factor_margins"]["T"] > 100
    assert len(mc["scores"]) == 2 and fit.beats["P_present"].mean() > 0.9
    none = ecg.fit_record(ecg.synthesize(duration=10, seed=1).record, model_choice=())
    assert none.info["model_choice"]["scores"] == {}
    assert none.info["model_choice"]["margin"] is None
    with pytest.raises(ValueError, match="factors the beats may choose are 'P' and 'T'"):
        FitOptions(model_choice=("U",))


def test_constraints():
    opts = FitOptions()
    assert "U" in options_for(opts, Hypothesis("upright", "upright", True)).waves
    assert "U" not in options_for(opts, Hypothesis("upright", "upright", False)).waves
    lay = opts.layout
    lo, hi = np.full(lay.size, -1.0), np.full(lay.size, 1.0)
    a_lo, a_hi = constrain(opts, Hypothesis("absent", "inverted", False), lo, hi)
    p = lay.wave("P")
    assert np.all(a_lo[p] == a_hi[p]) and a_hi[lay.index("P", "amplitude")] == 0
    t = lay.index("T", "amplitude")
    assert a_lo[t] == -1 and a_hi[t] == 0
    u_lo, _ = constrain(opts, Hypothesis("upright", "upright", False), lo, hi)
    assert u_lo[lay.index("P", "amplitude")] == 0 and u_lo[t] == 0
    f_lo, f_hi = constrain(opts, Hypothesis("inverted", "free", False), lo, hi)
    assert f_lo[t] == -1 and f_hi[t] == 1 and f_hi[lay.index("P", "amplitude")] == 0
    assert lo[t] == -1                                  # the input is not changed


def test_choose_model_in_turn_with_margins_and_confidence():
    """P is chosen with T free, then T given P; a failed beat is left out of a stage."""
    true_p, true_t = "free", "upright"
    calls = []

    def evaluate(h):
        calls.append(h)
        per_beat = np.full(4, 10.0)
        per_beat -= 3.0 * (h.p == true_p) + 1.0 * (h.t == true_t)
        if h.p == "absent":
            per_beat[0] = np.nan
        return per_beat, 2.0
    hyp, info = choose_model(FitOptions(model_choice=("P", "T")), evaluate)
    assert hyp == Hypothesis("free", "upright", False)
    assert len(calls) == len(set(calls)) == 4         # P absent, P free; T upright, inverted
    assert info["factor_margins"]["P"] == pytest.approx(9.0)  # 3 beats common to both
    assert info["factor_margins"]["T"] == pytest.approx(4.0)
    assert info["margin"] == pytest.approx(4.0) and info["factor_margins"]["U"] is None
    assert info["confidence"] == 1.0                  # every beat agrees, by as much
    assert info["beats_agreeing"] == {"P": 1.0, "T": 1.0, "U": None}
    assert info["chosen"] == "P free, T upright, no U" and len(info["scores"]) == 4


def test_an_unsure_choice_is_not_imposed():
    """model_choice=("P", "T") on a 0.05 mV P under 0.1 mV noise (39 beats): the beats'
    BIC leans to P absent by a small margin, but only half the beats agree (confidence
    below CHOICE_CONFIDENCE), so P stays free and is found in most beats (until session
    11 it was chosen absent: no P anywhere)."""
    beat = _beat(P=(0.05,) + tuple(TYPICAL_BEAT["P"][1:]))
    syn = ecg.synthesize(duration=30, fs=500, heart_rate=80, noise=0.1, seed=4, beat=beat,
                         variability=0.0)
    fit = ecg.fit_record(syn.record, model_choice=("P", "T"))
    mc = fit.info["model_choice"]
    assert mc["factor_margins"]["P"] < 30 and mc["confidence"] < choice.CHOICE_CONFIDENCE
    assert mc["hypothesis"]["P"] == "free" and mc["hypothesis"]["T"] == "upright"
    assert fit.beats["P_present"].mean() > 0.8


def test_confidence_comes_from_the_beats_agreeing():
    """A large margin made of beats that disagree is not a sure choice: the confidence is
    the bootstrap probability of the total's sign (normal approximation)."""
    from math import erfc
    from gmesa.ecg.choice import beat_confidence
    split = np.array([40.0, 40.0, 40.0, -30.0, -30.0])
    sd = np.std(split, ddof=1)
    assert beat_confidence(split) == pytest.approx(0.5 * erfc(-60 / (np.sqrt(10) * sd)))
    assert 0.6 < beat_confidence(split) < 0.9
    assert beat_confidence(np.full(5, 2.0)) == 1.0
    assert beat_confidence(np.array([100.0, 1.0, 1.0, 1.0])) < beat_confidence(np.full(4, 2.0))

    def evaluate(h):
        return (np.zeros(5) if h.t == "upright" else split), 0.0
    hyp, info = choose_model(FitOptions(), evaluate)
    assert info["factor_margins"]["T"] == pytest.approx(60.0)
    assert info["beats_agreeing"]["T"] == pytest.approx(0.6)
    assert info["confidence"] == pytest.approx(beat_confidence(split))
    assert hyp.t == "free"  # upright by the BIC, but the beats are not sure of it

    def sure(h):
        return (np.zeros(5) if h.t == "upright" else np.full(5, 12.0)), 0.0
    hyp, info = choose_model(FitOptions(), sure)
    assert hyp.t == "upright" and info["confidence"] == 1.0


def _upright_then_inverted(duration=125.0, fs=250.0):
    """A record whose T wave inverts half-way (``duration`` s upright, then inverted)."""
    t = TYPICAL_BEAT["T"]
    kw = dict(duration=duration, fs=fs, heart_rate=60, noise=0.01, wander=0.0,
              variability=0.02)
    up = ecg.synthesize(seed=1, beat=_beat(), **kw).record.signal
    inv = ecg.synthesize(seed=2, beat=_beat(T=(-abs(t[0]),) + tuple(t[1:])), **kw).record.signal
    return ecg.Record(np.concatenate([up, inv]), fs, name="inverts")


def test_chunks_share_the_choice_until_the_t_wave_inverts():
    """60-s chunks: the two chunks before the inversion keep the first chunk's choice (it
    is made once), the chunk where T has turned over makes a new one, which the last
    chunks keep; each part's beats follow its own choice."""
    fit = ecg.fit_record(_upright_then_inverted(), chunk_s=60)
    mc = fit.info["model_choice"]
    parts = [(s["start_s"], s["end_s"], s["n_chunks"], s["hypothesis"]["T"])
             for s in mc["stretches"]]
    assert parts == [(0.0, 120.0, 2, "upright"), (120.0, 250.0, 2, "inverted")]
    assert mc["hypothesis"]["T"] == "upright" and mc["margin"] > 100   # the first stretch's
    b = fit.beats[fit.beats["status"] == "ok"]
    early, late = b["r_peak_s"] < 120, b["r_peak_s"] > 130
    assert (b.loc[early, "T_amplitude"] > 0).mean() > 0.95
    assert (b.loc[late, "T_amplitude"] < 0).mean() > 0.95


def test_a_kept_choice_gives_the_tables_of_choosing_in_every_chunk(monkeypatch):
    """Keeping the choice only skips the scoring and the template's split-half spread
    (measured when the choice is made): with every chunk choosing again (STRETCH_CORR
    above any correlation) the table is the same, bit for bit, but for the later chunks'
    boundary SDs, which then hold their own spread."""
    syn = ecg.synthesize(duration=180, fs=250, heart_rate=70, noise=0.02, seed=6)
    kept = ecg.fit_record(syn.record, chunk_s=60)
    assert [s["n_chunks"] for s in kept.info["model_choice"]["stretches"]] == [3]
    monkeypatch.setattr(choice, "STRETCH_CORR", 2.0)
    every = ecg.fit_record(syn.record, chunk_s=60)
    assert [s["n_chunks"] for s in every.info["model_choice"]["stretches"]] == [1, 1, 1]
    sd = [c for c in kept.beats if c.endswith("_sd_ms")]
    assert sd
    pd.testing.assert_frame_equal(kept.beats.drop(columns=sd), every.beats.drop(columns=sd))
    first = (kept.beats["r_peak_s"] < 60.0).to_numpy()
    pd.testing.assert_frame_equal(kept.beats[sd][first], every.beats[sd][first])
    pd.testing.assert_frame_equal(kept.beats[sd], every.beats[sd], atol=1.0)   # ms
    one = ecg.fit_record(ecg.synthesize(duration=10, seed=1).record).info["model_choice"]
    assert "stretches" not in one and one["n_chunks"] == 1


def _curve(t, beat):
    return gmesa.mesa_sum(t, np.append(beat, 0.0))   # no baseline


def test_same_stretch_criterion():
    """Kept: the same beat scaled (a gain change) or with a little noise.  Made again: a T
    turned over or flattened, a new QRS, a choice that won by a small margin; the P region
    counts only when P is a factor."""
    t = np.arange(-0.3, 0.5, 0.004)
    y = _curve(t, _beat())
    summary = {"margin": 200.0, "confidence": 1.0}
    stretch = choice.Stretch(Hypothesis("free", "upright", False), t, y, summary)
    rng = np.random.default_rng(0)
    assert choice.same_stretch(stretch, t, 0.7 * y + 0.003 * rng.standard_normal(t.size))
    assert choice.same_stretch(stretch, t[10:-20], y[10:-20])          # the common samples
    tw = TYPICAL_BEAT["T"]
    flipped = _curve(t, _beat(T=(-tw[0],) + tuple(tw[1:])))
    flat = _curve(t, _beat(T=(0.0,) + tuple(tw[1:]))) + 0.01 * rng.standard_normal(t.size)
    wide_qrs = _curve(t, _beat(S=(-0.8, 0.06, 0.01, 0.03, 0.03)))
    for other in (flipped, flat, wide_qrs):
        assert not choice.same_stretch(stretch, t, other)
    unsure = {"margin": 500.0, "confidence": 0.9}   # a large margin the beats disagree on
    assert not choice.same_stretch(stretch._replace(summary=unsure), t, y)
    assert choice.same_stretch(stretch._replace(summary={"margin": None}), t, y)
    p_gone = _curve(t, _beat(P=(0.0,) + tuple(TYPICAL_BEAT["P"][1:])))
    p_gone = p_gone + 0.005 * rng.standard_normal(t.size)
    assert choice.same_stretch(stretch, t, p_gone, ("T",))
    assert not choice.same_stretch(stretch, t, p_gone, ("P", "T"))


def test_a_kept_choice_starts_the_chunks_template_from_its_own_fit(monkeypatch):
    """A chunk that keeps the choice in force fits its template from the guesses and from
    the template fit the choice was made with (the same model of a beat that looks the
    same: a guess that lands elsewhere in a later chunk no longer decides alone); the
    chunk that chose fits from the guesses only."""
    from gmesa.ecg import template
    starts = []
    fit_rows = template._fit_rows

    def spy(opts, t, y, rows, lo, hi):
        starts.append(np.array(rows))
        return fit_rows(opts, t, y, rows, lo, hi)

    monkeypatch.setattr(template, "_fit_rows", spy)
    syn = ecg.synthesize(duration=180, fs=250, heart_rate=70, noise=0.02, seed=6)
    fit = ecg.fit_record(syn.record, chunk_s=60)
    assert [s["n_chunks"] for s in fit.info["model_choice"]["stretches"]] == [3]
    chosen = np.array(list(fit.info["template_params"].values()))
    held = [s for s in starts if len(s) == 4]
    assert len(held) == 2 and len(starts) == 6          # chunks 2 and 3, one fit each
    for rows in held:
        np.testing.assert_allclose(rows[3, :chosen.size], chosen, atol=1e-5)   # clipped in
        assert not np.allclose(rows[0, :chosen.size], chosen, atol=1e-3)   # a guess
