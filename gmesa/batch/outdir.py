"""The output folder: its lock, the resume check (fingerprints of complete results),
the index, the run log and the temporary files a killed run leaves behind."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import __version__
from .._atomic import jsonable, write_table
from .discovery import carries_no_rate
from .summary import outcome, to_frame

__all__ = ["OutputFolderError", "LOCK_NAME", "prepare_out", "locked", "clean_temporaries",
           "fingerprint", "info_name", "existing_result", "unlink_info", "write_index",
           "read_index", "read_log", "RunLog"]

#: the lock file a batch holds in its output folder while it writes there
LOCK_NAME = ".gmesa-batch.lock"


class OutputFolderError(RuntimeError):
    """The output folder cannot be used: it cannot be created or written, or another
    gmesa batch holds its lock.  Nothing was fitted."""


def prepare_out(out):
    """Create ``out`` (parents too) and check that a file can be written in it; return
    its absolute path.  Raises :class:`OutputFolderError` with a one-line reason."""
    out = Path(out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputFolderError(f"{out}: exists and is not a folder") from None
    except OSError as exc:
        raise OutputFolderError(f"{out}: cannot create the output folder "
                                f"({exc.strerror or exc})") from None
    probe = out.resolve() / f".gmesa-probe.{os.getpid()}.tmp"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputFolderError(f"{out}: cannot write in the output folder "
                                f"({exc.strerror or exc})") from None
    return out.resolve()


@contextlib.contextmanager
def locked(out):
    """Hold ``out/.gmesa-batch.lock`` (an OS lock via ``filelock``, released even on
    kill -9); another holder makes :class:`OutputFolderError`."""
    import filelock
    lock = filelock.FileLock(str(Path(out) / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise OutputFolderError(f"{out}: another gmesa batch is writing to this folder; "
                                "wait for it to finish or choose another --out") from None
    except OSError as exc:
        raise OutputFolderError(f"{out}: cannot lock the output folder "
                                f"({exc.strerror or exc})") from None
    try:
        yield
    finally:
        lock.release()


def clean_temporaries(out):
    """Remove temporary files a killed run left behind (``.{name}.*.tmp``)."""
    for p in Path(out).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            p.unlink()


# ---------------------------------------------------------------------------------
# resume: fingerprints and complete results
# ---------------------------------------------------------------------------------
def fingerprint(path, lead, fs, fmt, fit_options, leads=None, force_ecg=False):
    """20 hex digits naming the input and every setting that changes its result."""
    spec = {"input": os.path.abspath(path), "lead": lead,
            "fs": fs if carries_no_rate(path) else None,
            "fit_options": {k: v for k, v in fit_options.items() if k != "threads"},
            "gmesa": __version__}
    if leads is not None:
        spec["leads"] = leads
    if force_ecg:  # only when set: earlier results keep their fingerprint
        spec["force_ecg"] = True
    text = json.dumps(spec, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def info_name(stem, leads=None):
    """The file whose presence marks a record's results complete (written last)."""
    return f"{stem}.info.json" if leads is None else f"{stem}.leads.json"


def existing_result(out, stem, fmt, fp, leads=None):
    """The stored summary row of a complete result with fingerprint ``fp``, else None."""
    info_path = Path(out) / info_name(stem, leads)
    try:
        info = json.loads(info_path.read_text())
        batch = info["batch"]
        if batch["fingerprint"] != fp:
            return None
        beats = info["beats_file"]
        if leads is None:
            signal, parts = info["signal_file"], []
        else:  # every lead's info, beats and signal
            lead_infos = {lead: json.loads((Path(out) / name).read_text())
                          for lead, name in info["lead_files"].items()}
            parts = [f for one in lead_infos.values()
                     for f in (one["beats_file"], one["signal_file"])]
            signal = lead_infos[info["primary"]]["signal_file"]
        if not beats.endswith(f".{'beats' if leads is None else 'leads'}.{fmt}"):
            return None
        if not all((Path(out) / f).is_file() for f in [beats, signal, *parts]):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    row = dict(batch.get("summary") or {})
    row.update(beats_file=beats, signal_file=signal, info_file=info_path.name)
    return row


def unlink_info(out, stem, leads):
    """Remove the record's old info file: its result is incomplete from here on."""
    info_path = Path(out) / info_name(stem, leads)
    if info_path.resolve().parent != Path(out).resolve():  # cannot happen with safe_stem
        raise ValueError(f"output name {stem!r} leaves the output folder")
    with contextlib.suppress(FileNotFoundError):
        info_path.unlink()


# ---------------------------------------------------------------------------------
# index and log
# ---------------------------------------------------------------------------------
def write_index(out, rows):
    """``index.parquet`` and ``index.csv``, each atomically; ``status`` is the record's
    outcome (a record skipped by resume has that of the run that fitted it)."""
    rows = [dict(r, status=outcome(r), reason=r.get("index_reason", ""))
            if r.get("status") == "skipped" else r for r in rows]
    df = to_frame(rows)
    for fmt in ("parquet", "csv"):
        write_table(Path(out) / f"index.{fmt}", df, fmt)
    return df


def read_index(out):
    """The combined index of an output folder as a DataFrame."""
    return pd.read_parquet(Path(out) / "index.parquet")


def read_log(out):
    """Every line of ``out/log.jsonl`` that parses, as a DataFrame (a line cut short
    by a killed run is left out)."""
    rows = []
    path = Path(out) / "log.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                rows.append(json.loads(line))
    return pd.DataFrame(rows)


class RunLog:
    """JSON lines appended to ``path`` with one ``write`` each (O_APPEND): a kill leaves
    at most one cut line, which the next run closes with a newline.  ``path=None``
    logs nothing."""

    def __init__(self, path, run):
        self.run = run
        self.fd = None
        if path is None:
            return
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self.fd).st_size
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    os.write(self.fd, b"\n")

    def __call__(self, event, **fields):
        if self.fd is None:
            return
        rec = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
               "run": self.run, "event": event}
        rec.update(fields)
        line = json.dumps(jsonable(rec), default=str) + "\n"
        os.write(self.fd, line.encode())

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
