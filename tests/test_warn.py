"""Warnings name the caller's line, not a line inside gmesa, however deep the call."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gmesa
from gmesa import ecg
from gmesa._warn import warn


def _caught(call):
    """The warnings ``call()`` emits, every one recorded."""
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        call()
    return got


def test_helper_skips_every_gmesa_frame():
    got = _caught(lambda: warn("plain", RuntimeWarning))
    assert len(got) == 1 and got[0].category is RuntimeWarning
    assert got[0].filename == __file__


@pytest.mark.parametrize("case", ["not an ECG", "renamed keyword", "renamed attribute",
                                  "CSV time column"])
def test_warnings_point_at_the_callers_line(case, tmp_path):
    """Through a decorator (the renamed-keyword shim around ``fit_record``), a module
    ``__getattr__`` and a reader three calls deep, the warning's file is this test's."""
    rng = np.random.default_rng(0)
    if case == "not an ECG":
        rec = ecg.Record(0.3 * rng.standard_normal(30 * 500), 500.0, leads=("II",))
        call, match = (lambda: ecg.fit_record(rec)), "does not look like an ECG"
    elif case == "renamed keyword":
        syn = ecg.synthesize(duration=4, fs=250, seed=1)
        call, match = (lambda: ecg.fit_record(syn.record, clean=None)), "wander="
    elif case == "renamed attribute":
        call, match = (lambda: gmesa.STATUS), "SOLVER_STATUS"
    else:
        path = tmp_path / "x.csv"
        t = np.arange(2000) / 500.0
        np.savetxt(path, np.column_stack([t, np.sin(t)]), delimiter=",",
                   header="time,ii", comments="")
        call, match = (lambda: ecg.read_record(path, fs=250.0)), "time column"
    got = [w for w in _caught(call) if match in str(w.message)]
    assert got, f"no warning matching {match!r}"
    assert all(w.filename == __file__ for w in got), [(w.filename, w.lineno) for w in got]
