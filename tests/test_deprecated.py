"""Old public names work for one release, each with a DeprecationWarning."""
from __future__ import annotations

import pytest

import gmesa
from gmesa import ecg, solvers


@pytest.mark.parametrize("module, old, new", [
    (gmesa, "STATUS", "SOLVER_STATUS"),
    (solvers, "STATUS", "SOLVER_STATUS"),
    (solvers.many, "STATUS", "SOLVER_STATUS"),
    (ecg, "STATUS", "BEAT_STATUS"),
    (ecg.fit, "STATUS", "BEAT_STATUS"),
])
def test_old_status_names(module, old, new):
    with pytest.warns(DeprecationWarning, match=new):
        value = getattr(module, old)
    assert value is getattr(module, new)


def test_status_levels_differ():
    assert set(gmesa.SOLVER_STATUS) != set(ecg.BEAT_STATUS)
    assert "STATUS" not in gmesa.__all__ and "STATUS" not in ecg.__all__


def test_unknown_attribute_still_raises():
    with pytest.raises(AttributeError):
        ecg.NO_SUCH_NAME
    with pytest.raises(AttributeError):
        solvers.NO_SUCH_NAME


# ---------------------------------------------------------------------------------
# "wander" is the drift removed by cleaning; "baseline" the per-beat polynomial
# ---------------------------------------------------------------------------------
def test_old_wander_names():
    import importlib

    import numpy as np

    clean_mod = importlib.import_module("gmesa.ecg.clean")  # gmesa.ecg.clean: the function

    x = np.sin(np.linspace(0, 20, 2000)) + np.linspace(0, 1, 2000)
    with pytest.warns(DeprecationWarning, match="WANDER_METHODS"):
        assert clean_mod.BASELINE_METHODS == clean_mod.WANDER_METHODS
    with pytest.warns(DeprecationWarning, match="remove_wander"):
        old = clean_mod.remove_baseline(x, 250.0, "median")
    np.testing.assert_array_equal(old, clean_mod.remove_wander(x, 250.0, "median"))
    with pytest.warns(DeprecationWarning, match="remove_wander"):
        assert ecg.remove_baseline is ecg.remove_wander
    with pytest.warns(DeprecationWarning, match="wander="):
        old = clean_mod.clean(x, 250.0, baseline="median")
    np.testing.assert_array_equal(old, clean_mod.clean(x, 250.0, wander="median"))
    with pytest.raises(TypeError, match="both"):
        clean_mod.clean(x, 250.0, baseline="median", wander="median")


def test_old_fit_record_keywords_and_attributes():
    syn = ecg.synthesize(duration=6, fs=250, seed=1)
    new = ecg.fit_record(syn.record, wander=None)
    with pytest.warns(DeprecationWarning, match="wander="):
        old = ecg.fit_record(syn.record, clean=None)
    assert old.beats.equals(new.beats) and old.info["wander"] is None
    with pytest.warns(DeprecationWarning, match="n_baseline"):
        assert new.n_base == new.n_baseline == 2
    opts = ecg.FitOptions(wander="median")
    with pytest.warns(DeprecationWarning, match="FitOptions.wander"):
        assert opts.clean == "median"
    with pytest.warns(DeprecationWarning, match="FitOptions.n_baseline"):
        assert opts.n_base == opts.n_baseline == 2


def test_old_n_base_keywords():
    import numpy as np
    from gmesa.ecg.init import guess_beat
    from gmesa.ecg.waves import bounds
    from gmesa.guess import greedy_guess

    t = np.linspace(-0.3, 0.5, 200)
    y = np.exp(-0.5 * (t / 0.01) ** 2)
    with pytest.warns(DeprecationWarning, match="n_baseline="):
        old = guess_beat(t, y, n_base=2)
    np.testing.assert_array_equal(old, guess_beat(t, y, n_baseline=2))
    with pytest.warns(DeprecationWarning, match="n_baseline="):
        old = bounds(("R",), 1.0, -0.3, 0.5, n_base=2)
    np.testing.assert_array_equal(old, bounds(("R",), 1.0, -0.3, 0.5, n_baseline=2))
    with pytest.warns(DeprecationWarning, match="n_baseline="):
        old = greedy_guess(t, y, 1, baseline_size=2)
    np.testing.assert_array_equal(old, greedy_guess(t, y, 1, n_baseline=2))


def test_saved_result_with_old_keys_loads(tmp_path):
    """Files written before the rename say ``n_base`` (and ``clean``): they still load."""
    import json

    syn = ecg.synthesize(duration=6, fs=250, seed=2)
    fit = ecg.fit_record(syn.record, baseline="quadratic")
    paths = fit.save(tmp_path, stem="old")
    info = json.loads(paths["info"].read_text())
    info["n_base"] = info.pop("n_baseline")
    info["clean"] = info.pop("wander")
    paths["info"].write_text(json.dumps(info))
    back = ecg.RecordFit.load(paths["info"])
    assert back.n_baseline == 3 and back.param_names == fit.param_names
    assert (back.params == fit.params).all() or back.params.tobytes() == fit.params.tobytes()


def test_lineshapes_baseline_is_polynomial():
    import numpy as np
    from gmesa import lineshapes as ls

    x = np.linspace(-1, 1, 5)
    with pytest.warns(DeprecationWarning, match="polynomial"):
        old = ls.baseline(x, [1.0, 2.0])
    np.testing.assert_array_equal(old, ls.polynomial(x, [1.0, 2.0]))


def test_low_level_helpers_moved_to_core_still_work_with_a_warning():
    import gmesa
    for name in ("baseline_size", "check_params", "layout", "param_labels"):
        with pytest.warns(DeprecationWarning, match=f"gmesa.core.{name}"):
            assert getattr(gmesa, name) is getattr(gmesa.core, name)
        assert name not in gmesa.__all__
