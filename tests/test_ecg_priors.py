"""ECG population priors (gmesa.ecg.priors): the shipped table, the arrays for a
layout, bad input, and a pipeline fit with them."""
import numpy as np
import pandas as pd
import pytest

from gmesa import Layout
from gmesa.ecg import FitOptions, fit_record, load_priors, prior_arrays, synthesize
from gmesa.ecg.priors import shape_prior


def test_table_loads_and_names_layout_labels():
    tab = load_priors()
    assert list(tab.columns[:5]) == ["label", "n", "loc", "sd", "rr_exponent"]
    full = Layout(("P", "Q", "R", "S", "T", "T2", "U"), ("ST",), "linear").labels
    assert set(tab["label"]) <= set(full)
    assert {"P_center", "T_center", "R_sigma_left"} <= set(tab["label"])
    assert (tab["sd"] > 0).all() and np.isfinite(tab["loc"]).all()
    assert not tab["label"].str.endswith("_amplitude").any()     # no amplitude priors
    assert tab.set_index("label").loc["P_center", "loc"] < 0 < tab.set_index("label").loc[
        "T_center", "loc"]


def test_arrays_match_the_layout_shapes_and_units():
    lay = FitOptions().layout
    tab = load_priors().set_index("label")
    mean, sd = prior_arrays(lay, 1.0)
    assert mean.shape == sd.shape == (lay.size,)
    rr = np.array([0.6, 1.0, 1.5])
    m2, s2 = prior_arrays(lay, rr, scale=np.array([0.01, 0.02, 0.04]))
    assert m2.shape == s2.shape == (3, lay.size)
    for j, label in enumerate(lay.labels):
        if label.endswith("_amplitude") or label.startswith("baseline") or label not in tab.index:
            assert np.all(np.isinf(sd[j])), label
            continue
        row = tab.loc[label]
        np.testing.assert_allclose(m2[:, j], row["loc"] * rr ** row["rr_exponent"])
        np.testing.assert_allclose(s2[:, j], row["sd"] / np.array([0.01, 0.02, 0.04]))
    t = lay.index("T", "center")
    if tab.loc["T_center", "rr_exponent"] > 0:     # QT lengthens with RR
        assert m2[0, t] < m2[1, t] < m2[2, t]


def test_parts_limit_the_priors():
    lay = FitOptions().layout
    _, sd = prior_arrays(lay, 1.0, parts=("T",))
    finite = [lab for lab, s in zip(lay.labels, sd) if np.isfinite(s)]
    assert finite and all(lab.startswith("T_") for lab in finite)


def test_a_shape_prior_holds_only_plateaus_and_tails():
    """The prior the P refit and the tied template use: each wave's plateau and tails,
    never its place or height, with prior_arrays' values where it holds."""
    lay = FitOptions().layout
    mean, sd = shape_prior(lay, 0.8, 0.02, ("P", "T"))
    full_mean, full_sd = prior_arrays(lay, 0.8, 0.02)
    held = [lab for lab, s in zip(lay.labels, sd) if np.isfinite(s)]
    assert sorted(held) == sorted(f"{w}_{k}" for w in ("P", "T")
                                  for k in ("half_width", "sigma_left", "sigma_right"))
    for lab in held:
        j = lay.labels.index(lab)
        assert sd[j] == full_sd[j] and mean[j] == full_mean[j]


@pytest.mark.parametrize("kwargs, message", [
    (dict(rr=0.0), "rr must be finite RR intervals > 0"),
    (dict(rr=np.nan), "rr must be finite RR intervals > 0"),
    (dict(rr=1.0, scale=-1.0), "scale must be > 0"),
])
def test_bad_input_says_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        prior_arrays(FitOptions().layout, **kwargs)


def test_not_a_layout():
    with pytest.raises(TypeError, match="layout must be a gmesa.Layout"):
        prior_arrays(("P", "T"), 1.0)


def test_bad_table_file(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"label": ["P_center"], "loc": [-0.15]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="lacks columns .*calibrate_priors"):
        load_priors(path)


def test_fit_record_with_priors_fits_every_beat():
    syn = synthesize(duration=20, fs=500, heart_rate=70, snr_db=20, seed=3)
    plain = fit_record(syn.record, priors=False).beats
    fit = fit_record(syn.record, priors=True).beats
    inner = fit["status"] != "edge"
    assert (fit.loc[inner, "status"] == "ok").mean() >= 0.95
    # a weak prior on a clean record moves the T peak by little (s)
    dt = np.nanmedian(np.abs(fit["T_peak_s"] - plain["T_peak_s"]))
    assert dt < 0.005


@pytest.mark.parametrize("bad", ["T", 1, (), ("T", 2)])
def test_priors_option_is_checked(bad):
    with pytest.raises(ValueError, match="priors=.*use True, False or a tuple"):
        FitOptions(priors=bad)
