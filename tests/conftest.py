"""Shared fixtures: tiny synthetic data made once per session, the real data when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
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


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """32x32 ResU-Nets: float32 and int8 (uint8 I/O), without (plain_*) and with metadata.

    Converted once per session (cached in the session's base temp dir) by the library's own
    steps: ``convert_model`` (the export's conversion), then ``embed_metadata`` with
    ``metadata_for`` (the export's metadata); the plain files stop before the metadata.
    """
    root = tmp_path_factory.getbasetemp() / "tiny_tflite"
    paths = {k: root / f"{k}.tflite" for k in ("plain_f32", "plain_i8", "f32", "i8")}
    if all(p.is_file() for p in paths.values()):
        return paths
    pytest.importorskip("tensorflow")
    import tf_keras

    from edgeseg.config import Preprocessing, RunConfig
    from edgeseg.convert.calibration import CalibrationSet
    from edgeseg.convert.tflite import convert_model, metadata_for
    from edgeseg.convert.variants import get_variant
    from edgeseg.edge_runtime.metadata import embed_metadata
    from edgeseg.train.models import build_resunet

    tf_keras.utils.set_random_seed(0)
    model = build_resunet(input_shape=(32, 32, 1), base_filters=4, depth=2)
    cfg = RunConfig(preprocessing=Preprocessing(height=32, width=32))
    frames = np.random.default_rng(0).integers(0, 256, (8, 32, 32), dtype=np.uint8)
    root.mkdir(parents=True, exist_ok=True)
    for kind, name, calibration in (
        ("f32", "float32", None),
        ("i8", "int8", CalibrationSet(frames, "random frames")),
    ):
        variant = get_variant(name)
        data = convert_model(model, variant, variant.default_io, calibration)
        paths[f"plain_{kind}"].write_bytes(data)
        meta = metadata_for(cfg, variant, presence=True)
        paths[kind].write_bytes(embed_metadata(data, meta))
    return paths
