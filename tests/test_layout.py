"""gmesa.Layout: one parameter layout for every flat vector."""
import numpy as np
import pytest

import gmesa
from gmesa import Layout


def test_layout_slices_and_labels_agree():
    lay = Layout(("P", "Q", "R", "S", "T"), steps=("ST",), baseline="linear")
    assert lay.size == 5 * 5 + 3 + 2
    labels = lay.labels
    assert len(labels) == lay.size
    for w in lay.waves:
        for j, name in enumerate(labels[lay.wave(w)]):
            assert name == f"{w}_{gmesa.core.GMF_PARAMS[j]}"
    assert labels[lay.step("ST")] == ("ST_amplitude", "ST_center", "ST_scale")
    assert labels[lay.baseline_slice] == ("baseline_c0", "baseline_c1")
    assert labels[lay.index("T", "center")] == "T_center"
    assert labels[lay.index("ST", "scale")] == "ST_scale"
    assert lay.baseline_degree == 1


def test_layout_pack_unpack_round_trip_and_errors():
    lay = Layout(3, steps=1, baseline="quadratic")
    m = np.random.default_rng(0).normal(size=(4, lay.size))
    table = lay.unpack(m)
    assert list(table.columns) == list(lay.labels)
    np.testing.assert_array_equal(lay.pack(table), m)
    with pytest.raises(ValueError, match="has 21"):
        lay.unpack(np.zeros(5))
    with pytest.raises(KeyError, match="lacks the columns"):
        lay.pack(table.drop(columns=["g1_center"]))
    with pytest.raises(KeyError, match="no wave 'X'"):
        lay.wave("X")
    with pytest.raises(ValueError, match="unique"):
        Layout(("R", "R"))


def test_layout_of_size_matches_param_labels_and_model_names():
    lay = Layout.of_size(16, baseline="constant", steps=0)
    assert lay.n_waves == 3 and lay.n_baseline == 1
    assert list(lay.labels) == gmesa.core.param_labels(3, 0, "constant")
    model = gmesa.MesaSumModel(names=("P", "R"), steps=("ST",), baseline="linear")
    assert list(model.param_names) == list(Layout(("P", "R"), ("ST",), "linear").labels)
