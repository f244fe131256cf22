"""Atomic file writes: write to a temporary file in the same folder, then rename."""
from __future__ import annotations

import contextlib
import math
import os
import secrets
import stat
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    A crash (even ``kill -9``) leaves either the old file or the new one, never a
    partial file under the final name: the data is flushed to disk (``fsync``) before
    the rename, and the folder after it where the OS allows.  The file gets the mode a
    plain ``open(path, "w")`` would give (0o666 less the umask, which is never changed).
    The temporary file is removed on error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, mode = _new_temp(path)
    try:
        if not mode & stat.S_IWUSR:  # a umask without owner write: let the writer in
            os.chmod(tmp, mode | stat.S_IWUSR)
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _new_temp(path: Path) -> tuple[Path, int]:
    """Create an empty ``.<name>.<random>.tmp`` beside ``path`` with ``os.open(..., 0o666)``, so
    the OS applies the umask (and a default ACL) as for any new file; return it and its mode."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            return tmp, stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
    raise FileExistsError(f"no free temporary name beside {path}")


def _fsync_file(path: Path) -> None:
    """Flush the file's data to disk."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened
    (Windows) or synced (some file systems)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_table_format(fmt):
    """Raise ValueError unless ``fmt`` is a table format gmesa writes."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt={fmt!r}; use 'parquet' or 'csv'")


#: rows per Parquet row group when a table is written (see :func:`write_table`); a group
#: of a joint fit's table (about 70 columns) is then some 5 MB of Arrow memory at a time
TABLE_ROWS = 1 << 13


def write_table(path, df, fmt):
    """Write DataFrame ``df`` to ``path`` atomically as Parquet or CSV (no index).
    Parquet is written row group by row group (:data:`TABLE_ROWS` rows each): a long
    table (a 24-hour record's beats) costs no whole Arrow copy in memory."""
    check_table_format(fmt)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            _write_parquet(tmp, df)
        else:
            df.to_csv(tmp, index=False)


def _write_parquet(tmp, df):
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(df, preserve_index=False)
    with pq.ParquetWriter(tmp, schema) as writer:
        for a in range(0, max(len(df), 1), TABLE_ROWS):
            part = df.iloc[a:a + TABLE_ROWS]
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))


#: values per row group when one long column is written (see :func:`write_column`)
COLUMN_CHUNK = 1 << 20


def write_column(path, name, values):
    """Write one long array ``values`` as a one-column Parquet file ``path`` atomically,
    row group by row group: a 24-hour signal costs no whole copy in memory (a DataFrame
    and its Arrow table would cost two)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = np.asarray(values)
    schema = pa.schema([(name, pa.from_numpy_dtype(values.dtype))])
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for a in range(0, max(values.size, 1), COLUMN_CHUNK):
            part = values[a:a + COLUMN_CHUNK]
            writer.write_table(pa.table({name: pa.array(part)}, schema=schema))


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def jsonable(obj):
    """``obj`` with numpy scalars as Python numbers and NaN/inf/NA as None (for JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is not None and type(obj).__name__ == "NAType":
        return None
    return obj
