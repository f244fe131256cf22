"""gmesa.datasets: one documented resolver for data (argument > $GMESA_DATA > none), the
example record shipped inside the package, and PhysioNet records found only in the folder
named; the demo and ``gmesa demo --data`` go through it."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gmesa import datasets, demo, ecg
from gmesa.cli import app

PACKAGE = Path(datasets.__file__).resolve().parent


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)


def test_argument_wins_over_environment(tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("GMESA_DATA", str(other))
    assert datasets.data_dir(tmp_path) == tmp_path
    assert datasets.data_dir(str(tmp_path)) == tmp_path


def test_environment_when_no_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("GMESA_DATA", str(tmp_path))
    assert datasets.data_dir() == tmp_path


def test_none_without_argument_or_environment(no_env, monkeypatch):
    assert datasets.data_dir() is None
    monkeypatch.setenv("GMESA_DATA", "")          # set but empty: not set
    assert datasets.data_dir() is None


def test_missing_folder_is_a_clear_error(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="given as the data folder") as err:
        datasets.data_dir(missing)
    assert str(missing) in str(err.value) and "does not exist" in str(err.value)
    monkeypatch.setenv("GMESA_DATA", str(missing))
    with pytest.raises(FileNotFoundError, match=r"named by \$GMESA_DATA"):
        datasets.data_dir()
    with pytest.raises(FileNotFoundError, match="does not exist"):   # even when optional
        datasets.physionet_record("100", required=False)


def test_example_record_ships_inside_the_package(no_env):
    hea = datasets.example_record()
    assert hea.is_file() and hea.suffix == ".hea" and hea.parent == PACKAGE / "data"
    assert hea.with_suffix(".dat").is_file()
    rec = ecg.read_record(hea)
    assert rec.fs == 500 and rec.duration_s == pytest.approx(60.0) and tuple(rec.leads) == ("II",)
    truth = datasets.example_truth()
    assert truth.parent == PACKAGE / "data"
    header = truth.read_text().splitlines()[0].split(",")
    assert {"r_peak_s", "P_on_s", "T_off_s", "qt_ms"} <= set(header)
    assert f"seed={datasets.EXAMPLE_SETTINGS['seed']}" in hea.read_text()


def test_pyproject_ships_the_package_data():
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'gmesa = ["data/*"]' in text


def test_physionet_record_only_in_the_named_folder(tmp_path, no_env):
    with pytest.raises(FileNotFoundError, match="GMESA_DATA"):
        datasets.physionet_record("100")
    assert datasets.physionet_record("100", required=False) is None
    with pytest.raises(FileNotFoundError, match="not in the data folder"):
        datasets.physionet_record("100", tmp_path)
    assert datasets.physionet_record("100", tmp_path, required=False) is None
    (tmp_path / "physionet").mkdir()
    (tmp_path / "physionet" / "100.hea").write_text("100 1 360 10\n")
    assert datasets.physionet_record("100", tmp_path) == tmp_path / "physionet" / "100.hea"


def test_demo_falls_back_to_the_example_record(tmp_path, no_env):
    record, truth, desc = demo.demo_record(data=tmp_path)
    assert record.name == "synthetic" and truth is not None and len(truth) > 50
    assert "synthetic example record" in desc and "holds no physionet/100" in desc
    record, truth, desc = demo.demo_record()
    assert truth is not None and "holds no" not in desc


def test_cli_demo_with_a_missing_data_folder(tmp_path):
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "o"),
                                   "--data", str(tmp_path / "nowhere")])
    assert res.exit_code == 1
    assert "nowhere" in res.output and "does not exist" in res.output


def test_readme_ten_lines_run_as_written(no_env, capsys):
    readme = (PACKAGE.parent / "README.md").read_text()
    code = readme.split("## Ten lines", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert "datasets.example_record()" in code and "shared" not in code
    exec(compile(code, "README.md", "exec"), {})
    assert "qt_ms" in capsys.readouterr().out
