"""A normal (non-editable) pip install: the bundled calibration set is package data, so
``edgeseg convert RUN --int8`` without ``--calibration`` works outside a source checkout.

The install is offline and quick: ``--no-deps`` into a venv that sees this interpreter's
packages (TensorFlow included) through a .pth file; only edgeseg itself is copied in."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras")

ROOT = Path(__file__).resolve().parents[1]
# What a source distribution holds: pyproject's package folders, the bundled data, the readme.
SOURCE = (
    "pyproject.toml",
    "README.md",
    "edgeseg",
    "train",
    "convert",
    "edge_runtime",
    "calibration_data",
)
pytestmark = pytest.mark.slow


def _source_copy(where: Path) -> Path:
    """The package's sources copied to ``where``: pip builds there (its build/ and egg-info),
    never in the checkout, where a stale build/lib would also ship files deleted since."""
    where.mkdir(parents=True)
    for name in SOURCE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, where / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, where / name)
    return where


def _venv(where: Path) -> Path:
    """A venv with system site packages plus this interpreter's; its python, or a skip."""
    made = subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(where)],
        capture_output=True,
        text=True,
    )
    python = where / "bin" / "python"
    if made.returncode != 0 or not python.is_file():
        pytest.skip(f"cannot make a venv here: {(made.stderr or made.stdout).strip()[-200:]}")
    has_pip = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True)
    if has_pip.returncode != 0:
        pytest.skip("the venv has no pip (install python3-venv / ensurepip)")
    (purelib,) = (where / "lib").glob("python3*/site-packages")
    (purelib / "host_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def _tiny_run(run_dir: Path) -> Path:
    """An untrained 32x32 ResU-Net run (config.json + model_best.h5): enough to convert."""
    from edgeseg.config import ModelSpec, Preprocessing, RunConfig
    from edgeseg.train.models import build_model
    from edgeseg.train.serialization import model_path, save_model

    cfg = RunConfig(
        preprocessing=Preprocessing(height=32, width=32),
        model=ModelSpec(base_filters=4, depth=2),
    )
    run_dir.mkdir(parents=True)
    save_model(build_model("resunet", (32, 32, 1), 1, 4, 2, True), model_path(run_dir))
    cfg.save(run_dir)
    return run_dir


def test_installed_package_converts_int8_with_the_bundled_calibration_set(tmp_path):
    python = _venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            str(_source_copy(tmp_path / "src")),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    if install.returncode != 0 and re.search(
        r"No matching distribution found for (setuptools|wheel)|Could not fetch URL",
        install.stderr,
    ):
        pytest.skip(f"pip cannot get the build backend offline: {install.stderr.strip()[-200:]}")
    assert install.returncode == 0, install.stderr[-2000:]

    where = subprocess.run(
        [str(python), "-c", "import edgeseg.convert.calibration as c; print(c.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    installed = Path(where.stdout.strip())
    assert tmp_path / "venv" in installed.parents, where.stdout + where.stderr  # not the checkout
    shipped = installed.parents[1] / "calibration_data"
    assert len(list((shipped / "images").glob("*.png"))) == len(
        list((ROOT / "calibration_data" / "images").glob("*.png"))
    )

    run_dir = _tiny_run(tmp_path / "run")
    work = tmp_path / "elsewhere"  # no ./calibration_data here
    work.mkdir()
    proc = subprocess.run(
        [str(python.parent / "edgeseg"), "convert", str(run_dir), "--int8"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shipped with edgeseg" in proc.stderr and str(shipped) in proc.stderr
    assert (run_dir / "export" / "model_int8.tflite").stat().st_size > 0
