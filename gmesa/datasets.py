"""Where gmesa finds data: the example record it ships, and one folder of real records
that you name.

The example record
    A 60 s, 500 Hz, one-lead (II) synthetic ECG in WFDB format (mV) with its ground
    truth, shipped inside the package (``gmesa/data/synthetic.hea``, ``.dat``,
    ``synthetic_truth.csv``) so it is there after any install, editable or not.  It was
    written by ``examples/make_synthetic_data.py`` with
    ``gmesa.ecg.synthesize(**EXAMPLE_SETTINGS)``.  :func:`example_record` gives its path,
    :func:`example_truth` the path of its truth table.

Real records (PhysioNet and others)
    are never bundled, and gmesa never guesses where they are.  Name the folder as an
    argument (``data_dir("/data/ecg")``, ``gmesa demo --data DIR``) or in the environment
    variable ``GMESA_DATA``; :func:`data_dir` resolves it (argument first, then
    ``GMESA_DATA``, else None).  Inside it, PhysioNet records live in ``physionet/``
    (``physionet/100.hea`` ...); :func:`physionet_record` finds one there.

    >>> from gmesa import datasets, ecg
    >>> rec = ecg.read_record(datasets.example_record())
    >>> rec.fs, rec.leads
    (500.0, ('II',))
"""
from __future__ import annotations

import os
from pathlib import Path

#: environment variable naming the folder of real records
__all__ = ["example_record", "example_truth", "data_dir", "physionet_record", "package_file",
           "ENV_VAR", "PACKAGE_DATA", "EXAMPLE_SETTINGS"]

ENV_VAR = "GMESA_DATA"

#: the folder of the data shipped with the package
PACKAGE_DATA = Path(__file__).resolve().parent / "data"

#: the settings of :func:`gmesa.ecg.synthesize` that made the example record
EXAMPLE_SETTINGS = dict(duration=60, fs=500, heart_rate=72, snr_db=25, wander=0.1, seed=7)


def data_dir(path=None):
    """The folder of real records: ``path`` when given, else the environment variable
    ``GMESA_DATA`` when set (and not empty), else None.

    Raises FileNotFoundError, naming the folder and where it came from, when the folder
    named does not exist.
    """
    if path is not None:
        folder, origin = Path(path), "given as the data folder"
    elif os.environ.get(ENV_VAR):
        folder, origin = Path(os.environ[ENV_VAR]), f"named by ${ENV_VAR}"
    else:
        return None
    folder = folder.expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} ({origin}) does not exist or is "
                                "not a folder")
    return folder


def example_record():
    """Path of the ``.hea`` file of the synthetic example record shipped with gmesa
    (read it with ``gmesa.ecg.read_record``)."""
    return package_file("synthetic.hea")


def example_truth():
    """Path of the example record's ground truth (CSV, one row per beat: true fiducials
    ``*_s`` in s from the start, intervals ``*_ms``, the GMF parameters of every wave)."""
    return package_file("synthetic_truth.csv")


def physionet_record(name, path=None, required=True):
    """Path of the ``.hea`` file of PhysioNet record ``name`` (``"100"``,
    ``"s0010_re"`` ...) in ``physionet/`` of :func:`data_dir` ``(path)``.

    When no data folder is named, or the record is not in it: FileNotFoundError saying
    so, or None when ``required`` is false.  A named folder that does not exist is an
    error either way.
    """
    root = data_dir(path)
    if root is None:
        if not required:
            return None
        raise FileNotFoundError(f"PhysioNet record {name!r}: no data folder named; pass "
                                f"one or set {ENV_VAR} to the folder holding physionet/")
    hea = root / "physionet" / f"{name}.hea"
    if hea.is_file():
        return hea
    if not required:
        return None
    raise FileNotFoundError(f"PhysioNet record {name!r} is not in the data folder {root}: "
                            f"no {hea}")


def package_file(name):
    """Path of a file that ships in ``gmesa/data`` (the example record, the ECG prior
    table, the fiducial map); FileNotFoundError when this installation lacks it."""
    p = PACKAGE_DATA / name
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing from this installation of gmesa (it ships "
                                "in gmesa/data; its docstring or docs/ecg.md names the "
                                "script that writes it again)")
    return p
