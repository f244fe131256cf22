"""gmesa._atomic: complete content, the mode a plain open() gives, fsync before the rename, and
the process umask left alone (it is process-wide: changing it races with other threads)."""
from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pandas as pd
import pytest

from gmesa._atomic import atomic_path, write_table, write_text

POSIX = sys.platform != "win32"


@pytest.fixture
def umask_027():
    """Run the test under umask 0o027 (then restore the previous one)."""
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"beat": np.arange(1000), "qt_ms": np.linspace(350.0, 420.0, 1000),
                         "status": ["ok"] * 999 + ["edge"]})


@pytest.mark.parametrize("fmt", ["parquet", "csv", "text"])
def test_content_complete_and_mode_of_a_plain_open(tmp_path, umask_027, fmt):
    plain = tmp_path / "plain"
    with open(plain, "w") as fh:
        fh.write("x")
    target = tmp_path / "sub" / f"out.{fmt}"  # the folder is created too
    df = _frame()
    text = "".join(f"line {i}\n" for i in range(5000))
    if fmt == "text":
        write_text(target, text)
        assert target.read_text() == text
    else:
        write_table(target, df, fmt)
        back = pd.read_parquet(target) if fmt == "parquet" else pd.read_csv(target)
        pd.testing.assert_frame_equal(back, df)
    if POSIX:
        assert _mode(target) == _mode(plain) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary left


def test_an_existing_file_is_replaced_with_the_usual_mode(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    os.chmod(target, 0o600)
    write_text(target, "new")
    assert target.read_text() == "new"
    if POSIX:
        umask = os.umask(0)
        os.umask(umask)
        assert _mode(target) == 0o666 & ~umask


def test_the_umask_is_never_touched(tmp_path, monkeypatch):
    def no_umask(*_):
        raise AssertionError("os.umask called: it is process-wide and races with other threads")

    monkeypatch.setattr(os, "umask", no_umask)
    write_text(tmp_path / "a.txt", "a")
    write_table(tmp_path / "b.csv", _frame(), "csv")
    assert (tmp_path / "a.txt").read_text() == "a"


def test_data_is_synced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        return real_fsync(fd)

    def replace(a, b):
        events.append("rename")
        return real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_text(tmp_path / "a.txt", "a")
    expected = ["fsync file", "rename", "fsync dir"] if POSIX else ["fsync file", "rename"]
    assert events == expected


def test_an_error_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_write_column_round_trips_in_row_groups(tmp_path, monkeypatch):
    """A long signal is written row group by row group (no whole copy) and reads back
    bit for bit, float32 kept; an empty one is an empty column."""
    import pyarrow.parquet as pq

    from gmesa import _atomic

    monkeypatch.setattr(_atomic, "COLUMN_CHUNK", 1000)
    x = np.random.default_rng(0).standard_normal(4321).astype(np.float32)
    _atomic.write_column(tmp_path / "s.parquet", "signal", x)
    assert pq.ParquetFile(tmp_path / "s.parquet").num_row_groups == 5
    y = pd.read_parquet(tmp_path / "s.parquet")["signal"].to_numpy()
    assert y.dtype == np.float32 and np.array_equal(x, y)
    _atomic.write_column(tmp_path / "e.parquet", "signal", np.zeros(0))
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.parquet", "s.parquet"]


def test_long_table_written_row_group_by_row_group(tmp_path, monkeypatch):
    """A table longer than TABLE_ROWS is written in row groups and reads back equal
    (NaN, strings, booleans kept)."""
    import pyarrow.parquet as pq

    from gmesa import _atomic
    monkeypatch.setattr(_atomic, "TABLE_ROWS", 100)
    rng = np.random.default_rng(1)
    n = 1050
    df = pd.DataFrame({"x": rng.standard_normal(n), "k": np.arange(n),
                       "status": np.where(rng.random(n) < 0.5, "ok", "poor_fit"),
                       "flag": rng.random(n) < 0.1})
    df.loc[7, "x"] = np.nan
    path = tmp_path / "t.parquet"
    _atomic.write_table(path, df, "parquet")
    assert pq.ParquetFile(path).num_row_groups == 11
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)
