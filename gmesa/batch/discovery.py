"""Finding records: files, folders and glob patterns expanded into one input per
record, and the safe, unique output name of each."""
from __future__ import annotations

import contextlib
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
    """True for files that hold no sampling rate of their own: CSV/TSV/TXT, NPY, and a
    WFDB record whose header's record line gives none."""
    p = Path(path)
    if p.suffix.lower() in _TEXT_SUFFIXES:
        return True
    hea = p.with_suffix(".hea") if p.suffix.lower() in (".hea", ".dat") else Path(f"{p}.hea")
    from ..ecg.io.wfdb_header import states_rate
    return hea.is_file() and not states_rate(hea)


def record_key(p):
    """One key per record: a WFDB record's .hea and .dat share it."""
    p = Path(os.path.abspath(p))
    if p.suffix.lower() in (".hea", ".dat"):
        return str(p.with_suffix(""))
    return str(p)


def find_records(paths, exclude=()):
    """Expand files, folders (searched recursively, hidden folders and ``exclude``
    left out) and glob patterns into record inputs, in order, each record once.

    Returns a list of ``(path, problem)``: ``problem`` is None, or why the input
    stands for no record (a pattern that matches nothing, a folder with no record).

    A folder or glob contributes records, not files: a WFDB record is its header
    (``.hea``); a multi-segment record is its master header, and its segment headers,
    its layout header (``*_layout.hea``) and every data file any of its headers names
    (``.dat``, ``.mat``, ``.edf`` ...) are parts of it, not inputs.  Other records are
    ``.edf``, ``.bdf``, ``.csv``, ``.tsv`` and ``.npy`` files; in a folder with a
    PhysioNet ``RECORDS`` list those count only when the list names them (metadata
    tables such as ``ludb.csv`` are no records).  A ``.dat`` that no header names is
    an input (the reader reports its missing header).  A file named explicitly is
    always an input, whatever its type: the reader says when it cannot read it.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    finder = _Finder([Path(x) for x in exclude if x is not None])
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
            found = finder.scan(p)
            if not found:
                add(p, f"{p}: no ECG record ({', '.join(RECORD_EXTENSIONS)}) in this folder")
            for f in found:
                add(f)
        elif p.exists() or Path(s + ".hea").is_file():
            add(finder.named(p))
        elif glob.has_magic(s):
            records, problem = finder.glob(s)
            for f in records:
                add(f)
            if problem:
                add(s, problem)
        else:
            add(p)  # read_record reports it: file not found
    return out


class _Finder:
    """Records among files, with the WFDB headers and RECORDS lists of each folder read
    once (``exclude``: folders left out, such as the output folder)."""

    def __init__(self, exclude):
        self.exclude = exclude
        self.owners = {}   # folder -> {file: the input its record stands for, or None}
        self.lists = {}    # folder -> names a RECORDS file lists, or None

    def scan(self, folder):
        """The records in ``folder`` and below, in sorted order."""
        found = []
        for root, dirs, files in os.walk(folder):
            rootp = Path(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and not any(_same(rootp / d, x) for x in self.exclude))
            for f in sorted(files):
                m = None if f.startswith(".") else self.member(rootp / f, Path(folder))
                if m is not None:
                    found.append(m)
        return found

    def glob(self, pattern):
        """The records a glob pattern matches, and the problem when there are none."""
        matches = sorted(glob.glob(pattern, recursive=True))
        records = []
        for m in matches:
            mp = Path(m)
            if mp.is_dir():
                records += self.scan(mp)
            elif not any(_inside(mp, x) for x in self.exclude):
                rec = self.member(mp)
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

    def named(self, p):
        """A file named explicitly: itself, or for a ``.dat`` the header of its record."""
        if p.suffix.lower() != ".dat":
            return p
        if p.with_suffix(".hea").is_file():
            return p.with_suffix(".hea")
        return self.owner_of(p) or p

    def member(self, p, root=None):
        """What a file found in a folder (``root``: the folder searched) or by a glob
        (``root`` None) stands for: its record's input, or None (a part of a record
        met in a folder, annotations, notes, results ...)."""
        ext = p.suffix.lower()
        owners = self._owners(p.parent)
        key = os.path.abspath(p)
        if key in owners:  # a header, or a data file some header names
            owner = owners[key]
            if root is None or (owner is not None and os.path.abspath(owner) == key):
                return owner
            return None
        if ext == ".dat":  # a .dat without its header is reported, not hidden
            return None if p.with_suffix(".hea").is_file() else p
        if ext in RECORD_EXTENSIONS and (root is None or self._listed(p, root)):
            return p
        return None

    def owner_of(self, p):
        """The input of the record whose header names file ``p``, else None."""
        return self._owners(p.parent).get(os.path.abspath(p))

    def _owners(self, folder):
        key = os.path.abspath(folder)
        if key not in self.owners:
            self.owners[key] = _wfdb_owners(Path(folder))
        return self.owners[key]

    def _listed(self, p, root):
        """False when the nearest RECORDS list (up to ``root``) does not name ``p``."""
        root = os.path.abspath(root)
        folder = Path(os.path.abspath(p.parent))
        while True:
            listed = self._records_list(folder)
            if listed is not None:
                key = os.path.abspath(p)
                return key in listed or os.path.splitext(key)[0] in listed
            if str(folder) == root or folder.parent == folder:
                return True
            folder = folder.parent

    def _records_list(self, folder):
        key = str(folder)
        if key not in self.lists:
            self.lists[key] = None
            with contextlib.suppress(OSError, UnicodeDecodeError):
                lines = (folder / "RECORDS").read_text().splitlines()
                self.lists[key] = {os.path.abspath(folder / ln.strip().rstrip("/"))
                                   for ln in lines if ln.strip() and not ln.startswith("#")}
        return self.lists[key]


def _wfdb_owners(folder):
    """Every WFDB header in ``folder`` and every data file a header names, mapped to
    the input its record stands for: the header itself, the master header of a
    multi-segment record (for its segment and layout headers), or None for a layout
    header that no master names (never a record by itself)."""
    try:
        headers = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".hea"
                         and not p.name.startswith(".") and p.is_file())
    except OSError:
        return {}
    parsed = {h: _read_header(h) for h in headers}
    owner = {}
    for h, (segments, _) in parsed.items():  # masters claim their segments first
        if segments is not None:
            owner.setdefault(h, h)
            for seg in segments:
                owner.setdefault(h.with_name(f"{seg}.hea"), h)
    for h in headers:
        if h not in owner:
            owner[h] = None if h.stem.endswith("_layout") else h
    for h, (_, files) in parsed.items():
        for f in files:
            owner.setdefault(h.parent / f, owner[h])
    return {os.path.abspath(k): v for k, v in owner.items()}


def _read_header(hea):
    """``(segment names or None, data file names)`` of a WFDB header (``wfdb.rdheader``);
    ``(None, [])`` when it cannot be parsed (the reader reports it)."""
    import wfdb
    try:
        h = wfdb.rdheader(str(hea.with_suffix("")), rd_segments=False)
    except Exception:
        return None, []
    segments = getattr(h, "seg_name", None)
    if segments is not None:
        return [s for s in segments if s and s != "~"], []
    return None, [f for f in dict.fromkeys(getattr(h, "file_name", None) or [])
                  if f and f not in ("-", "~")]


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
