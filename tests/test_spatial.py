"""Spatial direction of QRS and T and the spatial QRS-T angle (gmesa.ecg.spatial), on
synthetic beats whose waves are dipoles of known direction projected onto the leads."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dipoles import TWELVE, WAVES, synthetic_record, true_vectors, twelve_from_xyz
from gmesa.ecg import fit_leads
from gmesa.ecg.spatial import (DOWER_LEADS, INVERSE_DOWER, SPATIAL_COLUMNS, direction,
                               lead_system, spatial_angle, spatial_directions)
from gmesa.lineshapes import gmf

def test_pseudo_inverse_round_trip_and_angles():
    xyz = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.3, -0.4, 0.5]])
    leads = twelve_from_xyz(xyz)
    back = np.column_stack([leads[n] for n in DOWER_LEADS]) @ INVERSE_DOWER.T
    np.testing.assert_allclose(back, xyz, atol=1e-12)
    az, el = direction(xyz)
    np.testing.assert_allclose(az[:2], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(el[:2], [0.0, 90.0], atol=1e-12)
    np.testing.assert_allclose(spatial_angle(xyz[:2], xyz[[1, 0]]), [90.0, 90.0])
    assert np.isnan(spatial_angle([0, 0, 0], [1, 0, 0])[0])


def _lead_tables(amplitudes):
    """A LeadsFit-like object from per-lead amplitudes (lead -> {wave: (n,)})."""
    fits, beats = {}, {"T_present": np.ones(3, dtype=bool)}
    for lead, amp in amplitudes.items():
        cols = {"rmse": np.full(3, 0.01)}
        for w, (timing, _) in WAVES.items():
            cols[f"{w}_amplitude"] = amp[w]
            cols.update({f"{w}_{k}": np.full(3, v) for k, v in
                         zip(("center", "half_width", "sigma_left", "sigma_right"), timing)})
            beats[f"{w}_amplitude_{lead}"] = amp[w]
        fits[lead] = SimpleNamespace(beats=pd.DataFrame(cols))
    return SimpleNamespace(beats=pd.DataFrame(beats), fits=fits)


@pytest.mark.parametrize("frame", ["dower", "frank"])
def test_amplitudes_of_known_dipoles_give_their_angle(frame):
    scale = np.array([1.0, 0.8, 1.2])[:, None]          # three beats, three sizes
    if frame == "dower":
        per = {w: twelve_from_xyz(scale * np.asarray(d)) for w, (_, d) in WAVES.items()}
        amps = {lead: {w: per[w][lead] for w in WAVES} for lead in TWELVE}
    else:
        amps = {f"v{a}": {w: scale[:, 0] * d[k] for w, (_, d) in WAVES.items()}
                for k, a in enumerate("xyz")}
    fit = _lead_tables(amps)
    qrs, t = true_vectors()
    df = spatial_directions(fit, measure="components")
    assert df.attrs["system"] == frame
    np.testing.assert_allclose(df["QRS_T_angle_deg"], spatial_angle(qrs, t)[0], atol=1e-9)
    az, el = direction(t)
    np.testing.assert_allclose(df["T_azimuth_deg"], az[0], atol=1e-9)
    np.testing.assert_allclose(df["T_elevation_deg"], el[0], atol=1e-9)
    if frame == "frank":   # a Z lead negated by name: azimuths flip, the angle stays
        neg = spatial_directions(fit, measure="components", leads={"vz": "-vz"})
        np.testing.assert_allclose(neg["T_azimuth_deg"], -az[0], atol=1e-9)
        np.testing.assert_allclose(neg["T_elevation_deg"], el[0], atol=1e-9)
        np.testing.assert_allclose(neg["QRS_T_angle_deg"], df["QRS_T_angle_deg"], atol=1e-9)
        assert neg.attrs["leads"]["vz"] == "-vz"
    # peak vectors: T is its amplitude vector, QRS the largest of Q, R, S (here R)
    peak = spatial_directions(fit.beats, measure="peak")
    want = spatial_angle(WAVES["R"][1], WAVES["T"][1])[0]
    np.testing.assert_allclose(peak["QRS_T_angle_deg"], want, atol=1e-9)


def test_absent_t_and_unfitted_lead_give_nan():
    amps = {f"v{a}": {w: np.full(3, d[k]) for w, (_, d) in WAVES.items()}
            for k, a in enumerate("xyz")}
    fit = _lead_tables(amps)
    fit.beats.loc[1, "T_present"] = False
    fit.fits["vy"].beats.loc[2, "rmse"] = np.nan
    df = spatial_directions(fit, measure="components")
    assert np.isfinite(df.loc[0, list(SPATIAL_COLUMNS)].to_numpy(dtype=float)).all()
    assert np.isnan(df.loc[1, "QRS_T_angle_deg"]) and np.isfinite(df.loc[1, "QRS_azimuth_deg"])
    assert df.loc[2].isna().all()


def test_missing_leads_and_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"dower needs leads v4, v5, v6.*leads=\{"):
        lead_system(["i", "ii", "v1", "v2", "v3"])
    with pytest.raises(ValueError, match="frank needs leads vz"):
        lead_system(["vx", "vy"], system="frank")
    with pytest.raises(ValueError, match="not among the leads"):
        lead_system(["vx", "vy", "vz"], leads={"vx": "X"})
    system, mapping = lead_system(["X", "Y", "Z"], leads={"vx": "X", "vy": "Y", "vz": "Z"})
    assert system == "frank" and mapping == {"vx": "X", "vy": "Y", "vz": "Z"}
    with pytest.raises(ValueError, match="measure must be one of"):
        spatial_directions(pd.DataFrame(), measure="mean")
    with pytest.raises(ValueError, match="needs a LeadsFit"):
        spatial_directions(pd.DataFrame({"R_amplitude_vx": [1.0], "R_amplitude_vy": [1.0],
                                         "R_amplitude_vz": [1.0]}))
    with pytest.raises(TypeError, match="LeadsFit or its beats"):
        spatial_directions([1, 2, 3])


def _true_areas(on, mid, off):
    """The (QRS, ST-T) area vectors of the noise-free XYZ beat between boundaries (s from
    R) above the line through its values at ``on`` and ``off``, as ``measure="area"``."""
    x = np.linspace(on, off, 4001)
    xyz = sum(gmf(x, 1.0, *timing)[:, None] * np.asarray(d) for timing, d in WAVES.values())
    v = xyz - (xyz[0] + (xyz[-1] - xyz[0]) * ((x - on) / (off - on))[:, None])
    k = x <= mid
    return np.trapezoid(v[k], x[k], axis=0), np.trapezoid(v[~k], x[~k], axis=0)


@pytest.mark.parametrize("frank", [False, True])
def test_fit_leads_recovers_the_qrs_t_angle_of_synthetic_leads(frank):
    fit = fit_leads(synthetic_record(frank=frank), primary="vx" if frank else "ii")
    names = ("vx", "vy", "vz") if frank else DOWER_LEADS
    assert fit.info["spatial"] == {"system": "frank" if frank else "dower", "measure": "area",
                                   "leads": {n: n for n in names}}
    assert {f"{w}_amplitude_{lead}" for w in "PQRST" for lead in fit.fits} <= set(fit.beats)
    b = fit.beats[fit.beats["status"] == "ok"]
    assert len(b) >= 5
    r = b["r_peak_s"].to_numpy()
    truth = [_true_areas(*(b[c].to_numpy()[j] - r[j] for c in ("QRS_on_s", "QRS_off_s", "T_off_s")))
             for j in range(len(b))]
    qrs, t = np.array([q for q, _ in truth]), np.array([t for _, t in truth])
    want = spatial_angle(qrs, t)
    assert np.all((30 < want) & (want < 120))
    err = np.abs(b["QRS_T_angle_deg"].to_numpy() - want)
    assert np.median(err) <= 5.0, (b["QRS_T_angle_deg"].to_numpy(), want)
    for wave, vec in (("QRS", qrs), ("T", t)):   # each direction within 6 degrees
        assert np.median(spatial_angle(_unit(b, wave), vec)) <= 6.0, wave


def _unit(b, wave):
    """Unit vectors from the azimuth and elevation columns of ``wave``."""
    az, el = (np.radians(b[f"{wave}_{k}_deg"].to_numpy()) for k in ("azimuth", "elevation"))
    return np.column_stack([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])


def test_model_areas_match_the_model_integrated_beat_by_beat():
    from scipy.integrate import quad

    from gmesa.core import baseline_spec, mesa_sum
    from gmesa.ecg.spatial import model_areas

    fit = fit_leads(synthetic_record(seconds=4.0, frank=True), primary="vx")
    rf, b = fit.fits["vy"], fit.beats
    r = b["r_peak_s"].to_numpy()
    on, mid, off = (b[c].to_numpy() - r for c in ("QRS_on_s", "QRS_off_s", "T_off_s"))
    off[0] = np.nan                                      # no T offset: no second area
    first, second = model_areas(rf, on, mid, off)
    assert np.isnan(second[0]) and np.isfinite(first).all()
    lay = rf.layout
    for i in range(1, len(b)):
        vec = lay.pack(rf.beats)[i]
        f = lambda x: mesa_sum(np.atleast_1d(x), vec, baseline=baseline_spec(lay.n_baseline),  # noqa: E731
                               steps=lay.n_steps)[0]
        y0, y1 = f(on[i]), f(off[i])
        line = lambda x: y0 + (y1 - y0) * (x - on[i]) / (off[i] - on[i])  # noqa: E731
        want_a = quad(lambda x: f(x) - line(x), on[i], mid[i], limit=200)[0]
        want_b = quad(lambda x: f(x) - line(x), mid[i], off[i], limit=200)[0]
        assert first[i] == pytest.approx(want_a, rel=1e-3, abs=1e-7)
        assert second[i] == pytest.approx(want_b, rel=1e-3, abs=1e-7)
