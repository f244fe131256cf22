"""The template's split-half spread (gmesa.ecg.spread): the record-level part of each
boundary's uncertainty, added in quadrature to the learned map's per-beat SD."""
from __future__ import annotations

import numpy as np
import numpy.testing as npt

from gmesa import ecg
from gmesa.core import mesa_sum
from gmesa.ecg.spread import SPREAD_BOUNDARIES, SPLIT_MIN_BEATS, with_spread
from gmesa.ecg.waves import WAVES, typical_vector

FS = 500.0


def _record(p_centers, rr=0.8, noise=0.005, seed=0):
    """A lead of beats every ``rr`` s whose P waves sit at ``p_centers`` (s from R)."""
    rng = np.random.default_rng(seed)
    r_times = 0.7 + rr * np.arange(len(p_centers))
    x = np.arange(int((r_times[-1] + 0.9) * FS)) / FS
    y = np.zeros_like(x)
    for r, pc in zip(r_times, p_centers):
        p = typical_vector(WAVES, rr=rr)
        p[1] = pc                       # the P center: the first wave's second parameter
        p[1::5] += r
        near = (x > r - 0.6) & (x < r + 0.8)
        y[near] += mesa_sum(x[near], p, baseline="none")
    return ecg.Record(y + noise * rng.standard_normal(x.size), FS)


def test_a_steady_record_reads_the_same_template_from_either_half():
    rec = _record([-0.16] * 40)
    fit = ecg.fit_record(rec)
    spread = fit.info["template_spread_ms"]
    assert set(spread) == set(SPREAD_BOUNDARIES)
    assert max(spread.values()) < 3.0, spread
    # the boundaries are the same with and without it; their SDs grow by it in quadrature
    bare = ecg.fit_record(rec, template_spread=False)
    assert bare.info["template_spread_ms"] is None
    for b in SPREAD_BOUNDARIES:
        npt.assert_array_equal(fit.beats[f"{b}_s"], bare.beats[f"{b}_s"])
        npt.assert_allclose(fit.beats[f"{b}_sd_ms"],
                            np.hypot(bare.beats[f"{b}_sd_ms"], spread[b]), rtol=1e-9)


def test_alternating_p_waves_make_the_p_reading_uncertain_not_the_qrs():
    rec = _record([-0.24, -0.12] * 20)        # every other beat's P 120 ms earlier
    fit = ecg.fit_record(rec)
    spread = fit.info["template_spread_ms"]
    assert spread["P_on"] > 20.0 and spread["P_off"] > 20.0, spread
    assert spread["QRS_on"] < 3.0 and spread["QRS_off"] < 3.0, spread
    ok = fit.beats["P_on_sd_ms"].dropna()
    assert len(ok) and ok.min() >= spread["P_on"]


def test_too_few_beats_give_no_spread():
    rec = _record([-0.16] * (2 * SPLIT_MIN_BEATS - 1))
    fit = ecg.fit_record(rec)
    assert fit.info["template_spread_ms"] == {}


def test_with_spread_adds_in_quadrature_and_leaves_the_others():
    sd = {"P_on": np.array([0.003, np.nan]), "T_off": np.array([0.004])}
    out = with_spread(sd, {"P_on": 0.004})
    npt.assert_allclose(out["P_on"], [0.005, np.nan])
    assert out["T_off"] is sd["T_off"]
    assert with_spread(sd, None) == sd


def test_a_kept_choice_keeps_its_spread(monkeypatch):
    """The spread is measured when a stretch's model choice is made: chunks that keep the
    choice in force keep it (a 24-hour record measures it once per stretch, not per chunk)."""
    import gmesa.ecg.fit as fit_module
    from gmesa.ecg import choice

    calls = []
    real = fit_module.split_half_spread

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "split_half_spread", counted)
    rec = ecg.synthesize(duration=180, fs=250, heart_rate=70, noise=0.02, seed=6).record
    kept = ecg.fit_record(rec, chunk_s=60)
    assert [s["n_chunks"] for s in kept.info["model_choice"]["stretches"]] == [3]
    assert len(calls) == 1
    calls.clear()
    monkeypatch.setattr(choice, "STRETCH_CORR", 2.0)   # every chunk chooses again
    ecg.fit_record(rec, chunk_s=60)
    assert len(calls) == 3
    calls.clear()
    ecg.fit_record(rec, chunk_s=60, template_spread=False)
    assert not calls
