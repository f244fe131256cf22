"""Shared fixtures: the real PhysioNet data beside the repository (read in place, never copied).

``shared_data`` is ``<repo>/../shared/data``; ``physionet``, ``ludb`` and ``qtdb`` are its
sub-folders and skip the test, with the path in the reason, when absent.
"""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data`` (may not exist; the sub-folder fixtures skip)."""
    return SHARED_DATA


def _folder(root: Path, name: str, marker: str) -> Path:
    folder = root / name
    if not (folder / marker).exists():
        pytest.skip(f"{name} data not found at {folder}")
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
        pytest.skip(f"PhysioNet sample records not found in {physionet}")
    return physionet
