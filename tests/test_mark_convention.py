"""``benchmarks/mark_convention.py``: two leads' readings of a boundary, their extreme and
their mean, scored on the marks both runs matched."""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.mark_convention import matched, readings, table


def _events(folder, rows):
    folder.mkdir()
    pd.DataFrame(rows, columns=["record", "fiducial", "ref_s", "error_ms", "outcome"]).to_csv(
        folder / "events.csv.gz", index=False)


def test_only_marks_both_leads_matched_are_read(tmp_path):
    _events(tmp_path / "a", [("r1", "QRS_on", 1.0, -4.0, "TP"), ("r1", "QRS_on", 2.0, 6.0, "TP"),
                             ("r1", "QRS_on", 3.0, np.nan, "FN")])
    _events(tmp_path / "b", [("r1", "QRS_on", 1.0, 2.0, "TP"), ("r1", "QRS_on", 3.0, 1.0, "TP"),
                             ("r2", "QRS_on", 1.0, 5.0, "TP")])
    m = matched(tmp_path / "a", tmp_path / "b")
    assert len(m) == 1 and m.iloc[0]["a"] == -4.0 and m.iloc[0]["b"] == 2.0


def test_the_extreme_is_the_earlier_onset_and_the_later_offset():
    m = pd.DataFrame({"fiducial": ["QRS_on", "QRS_on", "T_off", "T_off"],
                      "a": [-4.0, 6.0, -10.0, 3.0], "b": [2.0, 1.0, 5.0, -7.0]})
    on, off = readings(m, "QRS_on"), readings(m, "T_off")
    np.testing.assert_array_equal(on["extreme"], [-4.0, 1.0])
    np.testing.assert_array_equal(off["extreme"], [5.0, 3.0])
    np.testing.assert_array_equal(on["mean"], [-1.0, 3.5])


def test_marks_at_the_leads_extreme_favour_the_extreme_reading():
    """Marks drawn at the earlier of two noisy lead onsets: the extreme reading scores best
    (bold); marks between them: the mean does."""
    rng = np.random.default_rng(0)
    n = 400
    spread = rng.normal(0.0, 10.0, (n, 2))  # each lead's true onset about the heart's
    at_extreme = spread - spread.min(axis=1, keepdims=True)  # reading - mark, mark at the min
    central = spread - spread.mean(axis=1, keepdims=True)
    for err, best in ((at_extreme, "extreme of A, B"), (central, "mean of A, B")):
        err = err + rng.normal(0.0, 1.0, err.shape)  # each reading's own noise
        m = pd.DataFrame({"fiducial": "QRS_on", "a": err[:, 0], "b": err[:, 1]})
        lines = table("A", "B", m).splitlines()
        header = [c.strip() for c in lines[3].split("|")]
        row = [c.strip() for c in next(x for x in lines if x.startswith("| QRS_on")).split("|")]
        bold = [h for h, c in zip(header, row) if c.startswith("**")]
        assert bold == [best], (best, row)
