"""Shared fixtures: the real PhysioNet data, read in place and never copied into the repository.

``shared_data`` is the data folder: ``$GMESA_DATA`` when set, else ``<repo>/../shared/data``.
``physionet``, ``ludb`` and ``qtdb`` are its sub-folders; each skips the test, naming the path it
looked at, when the folder is absent. A test that uses any of these fixtures (directly or through
another fixture) is marked ``data`` here, so ``-m "not data"`` deselects every real-data test.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: fixtures that read the data folder: a test using one of them is a ``data`` test
DATA_FIXTURES = frozenset({"shared_data", "physionet", "ludb", "qtdb", "physionet_dir"})


def data_dir() -> Path:
    """``$GMESA_DATA`` when set, else ``../shared/data`` relative to the repository."""
    env = os.environ.get("GMESA_DATA")
    return Path(env).expanduser() if env else REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The data folder (``$GMESA_DATA`` or ``<repo>/../shared/data``); skips when it is absent."""
    root = data_dir()
    if not root.is_dir():
        pytest.skip(f"data folder not found at {root} (set GMESA_DATA)")
    return root


def _folder(root: Path, name: str, marker: str) -> Path:
    folder = root / name
    if not (folder / marker).exists():
        pytest.skip(f"{name} data not found at {folder} (no {marker}; set GMESA_DATA)")
    return folder


@pytest.fixture(scope="session")
def physionet(shared_data) -> Path:
    """MIT-BIH 100, PTB s0010_re, v102s, 03700181 and test_generator_2.edf."""
    return _folder(shared_data, "physionet", "100.hea")


@pytest.fixture(scope="session")
def ludb(shared_data) -> Path:
    """LUDB (160 records, 12 leads, 500 Hz, per-lead annotations)."""
    return _folder(shared_data, "ludb", "RECORDS")


@pytest.fixture(scope="session")
def qtdb(shared_data) -> Path:
    """QT Database subset (75 records, 250 Hz)."""
    return _folder(shared_data, "qtdb", "RECORDS")


@pytest.fixture(scope="session")
def physionet_dir(physionet) -> Path:
    """The physionet folder, when it also holds the small PTB record the batch tests copy."""
    if not (physionet / "s0010_re.hea").is_file():
        pytest.skip(f"PhysioNet sample record s0010_re not found in {physionet}")
    return physionet
