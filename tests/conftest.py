"""Shared fixtures: tiny synthetic data made once per session, the real data when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EDGESEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
USGRA = SHARED_DATA / "usgra-seg" / "dataset"
KAGGLE = SHARED_DATA / "kaggle-uns-sample" / "train"


def _needs(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not path.is_dir(), reason=f"real data not present at {path}")


needs_usgra = _needs(USGRA)
needs_kaggle = _needs(KAGGLE)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 synthetic 64x64 frames (paired layout, nerve=1, vessel=2), made once."""
    from edgeseg.train.synth import write_dataset

    out = tmp_path_factory.mktemp("synth")
    write_dataset(out, 48, size=(64, 64), seed=0)
    return out


@pytest.fixture(scope="session")
def synth_test_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 held-out synthetic 64x64 frames from another seed."""
    from edgeseg.train.synth import write_dataset

    out = tmp_path_factory.mktemp("synth_test")
    write_dataset(out, 16, size=(64, 64), seed=7)
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, synth_dir: Path) -> Path:
    """A tiny trained ResU-Net run directory (64x64, base 8 filters, 10 epochs)."""
    pytest.importorskip("tensorflow")
    from edgeseg.train.runner import TrainOptions, train_run

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    opts = TrainOptions(
        data=synth_dir,
        out=run_dir,
        size=64,
        base_filters=8,
        depth=2,
        epochs=10,
        batch_size=4,
        lr=3e-3,
        patience=10,
        seed=0,
        subject_regex=r"^(s\d+)_",
    )
    train_run(opts, log=lambda _: None)
    return run_dir
