"""Finding records: files, folders and glob patterns expanded into one input per
record, and the safe, unique output name of each."""
from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path

__all__ = ["RECORD_EXTENSIONS", "find_records", "record_key", "record_name", "safe_stem",
           "output_stems", "carries_no_rate"]

#: file extensions a folder or a glob is searched for (a WFDB record is its .hea)
RECORD_EXTENSIONS = (".hea", ".edf", ".bdf", ".csv", ".tsv", ".npy")

_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".npy")   # files without their own sampling rate
_NAMED_SUFFIXES = (".hea", ".dat", ".edf", ".bdf", ".csv", ".tsv", ".txt", ".npy")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}


def carries_no_rate(path):
    """True for files that hold no sampling rate of their own (CSV/TSV/TXT, NPY)."""
    return Path(path).suffix.lower() in _TEXT_SUFFIXES


def record_key(p):
    """One key per record: a WFDB record's .hea and .dat share it."""
    p = Path(os.path.abspath(p))
    if p.suffix.lower() in (".hea", ".dat"):
        return str(p.with_suffix(""))
    return str(p)


def _member(p):
    """What a file found in a folder or by a glob stands for: a record path, or None
    for a companion file (annotations, notes, .dat of a .hea, results ...)."""
    ext = p.suffix.lower()
    if ext == ".dat":
        # a .dat without its header is reported (read_record says why), not hidden
        return None if p.with_suffix(".hea").is_file() else p
    if ext in RECORD_EXTENSIONS:
        return p
    return None


def _scan(folder, exclude):
    found = []
    for root, dirs, files in os.walk(folder):
        rootp = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not any(_same(rootp / d, x) for x in exclude))
        for f in sorted(files):
            if f.startswith("."):
                continue
            m = _member(rootp / f)
            if m is not None:
                found.append(m)
    return found


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _inside(p, folder):
    try:
        Path(os.path.abspath(p)).relative_to(os.path.abspath(folder))
        return True
    except ValueError:
        return False


def find_records(paths, exclude=()):
    """Expand files, folders (searched recursively, hidden folders and ``exclude``
    left out) and glob patterns into record inputs, in order, each record once.

    Returns a list of ``(path, problem)``: ``problem`` is None, or why the input
    stands for no record (a pattern that matches nothing, a folder with no record).
    A folder or glob contributes ``.hea`` (WFDB), ``.edf``, ``.bdf``, ``.csv``,
    ``.tsv`` and ``.npy`` files, and ``.dat`` files that lack their ``.hea`` (so they
    are reported rather than silently ignored).  A file named explicitly is always
    an input, whatever its type: the reader says when it cannot read it.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    exclude = [Path(x) for x in exclude if x is not None]
    out, seen = [], set()

    def add(p, problem=None):
        key = record_key(p) if problem is None else f"?{p}"
        if key not in seen:
            seen.add(key)
            out.append((str(p), problem))

    for item in paths:
        s = os.path.expanduser(str(item))
        p = Path(s)
        if p.is_dir():
            found = _scan(p, exclude)
            if not found:
                add(p, f"{p}: no ECG record ({', '.join(RECORD_EXTENSIONS)}) in this folder")
            for f in found:
                add(f)
        elif p.exists() or Path(s + ".hea").is_file():
            if p.suffix.lower() == ".dat" and p.with_suffix(".hea").is_file():
                p = p.with_suffix(".hea")
            add(p)
        elif glob.has_magic(s):
            records, problem = _glob_records(s, exclude)
            for f in records:
                add(f)
            if problem:
                add(s, problem)
        else:
            add(p)  # read_record reports it: file not found
    return out


def _glob_records(pattern, exclude):
    """The records a glob pattern matches, and the problem when there are none."""
    matches = sorted(glob.glob(pattern, recursive=True))
    records = []
    for m in matches:
        mp = Path(m)
        if mp.is_dir():
            records += _scan(mp, exclude)
        elif not any(_inside(mp, x) for x in exclude):
            rec = _member(mp)
            if rec is None and mp.suffix.lower() == ".dat":
                rec = mp.with_suffix(".hea")
            if rec is not None:
                records.append(rec)
    if not matches:
        return records, f"{pattern}: no file matches this pattern"
    if not records:
        return records, (f"{pattern}: the files matching this pattern hold no ECG record "
                         f"({', '.join(RECORD_EXTENSIONS)})")
    return records, None


# ---------------------------------------------------------------------------------
# output names
# ---------------------------------------------------------------------------------
def safe_stem(name):
    """A file-name stem that cannot leave its folder: letters, digits, ``._-`` only,
    no leading dot or dash, at most 80 characters, never a reserved device name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))
    s = re.sub(r"_+", "_", s).lstrip("._-")[:80].rstrip("._ ")
    if not s:
        s = "record"
    if s.split(".")[0].casefold() in _WINDOWS_RESERVED:
        s = "_" + s
    return s


def record_name(path):
    """The record's name: the file name without its extension (a WFDB record named
    without extension, or a pattern, keeps its whole name)."""
    p = Path(path)
    if p.suffix.lower() in _NAMED_SUFFIXES or (p.suffix and p.is_file()):
        return p.stem
    return p.name


def output_stems(inputs):
    """Unique, safe output stems for ``[(path, problem), ...]``: the record name, plus
    a short hash of the input's absolute path where two inputs share a name
    (case-insensitively)."""
    base = [safe_stem(record_name(p)) for p, _ in inputs]
    counts = {}
    for b in base:
        counts[b.casefold()] = counts.get(b.casefold(), 0) + 1
    stems = []
    for (p, _), b in zip(inputs, base):
        if counts[b.casefold()] > 1:
            h = hashlib.sha1(os.path.abspath(p).encode()).hexdigest()[:8]
            b = f"{b[:71]}-{h}"
        stems.append(b)
    return stems
