"""``benchmarks/lead_marks.py``: how a wave's marks move from one LUDB lead to another."""
from __future__ import annotations

import numpy as np

from benchmarks.lead_marks import LEADS, main, paired, record_rows, summary


def test_waves_pair_by_the_nearest_peak_within_the_window():
    a = np.array([1.00, 2.00, 3.00])
    b = np.array([1.05, 2.40, 2.98])
    i, j = paired(a, b)
    np.testing.assert_array_equal(i, [0, 2])  # 2.00 has no peak within 150 ms
    np.testing.assert_array_equal(j, [0, 2])
    assert paired(a, np.zeros(0))[0].size == 0


def test_the_summary_gives_medians_in_ms_and_the_share_of_early_offsets():
    # three records, one lead and its reference: P ends 30, 10 and 25 ms early
    records = [{key: value for k in ("P", "QRS", "T")
                for key, value in ((("v1", k), (0.08, 0.01, off)), (("ii", k), (0.11, 0.0, 0.0)))}
               for off in (-0.030, -0.010, -0.025)]
    lines = summary(records, ("ii", "v1"))
    v1 = next(x for x in lines if x.startswith("v1"))
    p_cell = v1.split("|")[1].split()
    assert p_cell == ["80", "+10.0", "-25.0", "67%"]


def test_a_record_read_against_its_own_lead_moves_nothing(ludb):
    rows = record_rows(str(ludb / "data" / "1"), ("ii", "v1"), "ii", 500.0)
    for kind in ("P", "QRS", "T"):
        dur, on, off = rows["ii", kind]
        if np.isfinite(on):
            assert on == 0.0 and off == 0.0 and dur > 0.0
    assert set(rows) == {(lead, k) for lead in ("ii", "v1") for k in ("P", "QRS", "T")}


def test_the_script_prints_every_lead(ludb, capsys):
    assert main(["--split", "odd", "--limit", "3", "--data", str(ludb.parent)]) == 0
    out = capsys.readouterr().out
    assert all(any(line.startswith(f"{lead:4s} |") for line in out.splitlines()) for lead in LEADS)
