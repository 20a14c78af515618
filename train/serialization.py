"""Saving and loading Keras models as HDF5 (``.h5``).

HDF5 reloads exactly (checked in tests): architecture, weights and the optimizer state that
``--resume`` needs, for float models and for QAT models alike (inside tfmot's
``quantize_scope``). The native ``.keras`` zip format does not: tf_keras 2.21 fails to reload
tfmot's ``QuantizeLayer`` variables from it ("expected 5 variables, but received 3").
"""

from __future__ import annotations

import warnings
from pathlib import Path

import tf_keras as keras

from edgeseg.errors import ConfigError, ModelError
from edgeseg.io import atomic_path
from edgeseg.train.losses import CUSTOM_OBJECTS

BEST = "model_best.h5"
LAST = "model_last.h5"
QAT_DIR = "qat"


def save_model(model: keras.Model, path: Path) -> Path:
    """Save atomically (a temp file renamed into place), optimizer state included."""
    with atomic_path(Path(path)) as tmp:
        keras_tmp = tmp.with_suffix(".h5")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HDF5 file.*")
            model.save(keras_tmp)
        keras_tmp.replace(tmp)
    return Path(path)


def load_model(path: Path, compile: bool = False) -> keras.Model:
    """Load a float or QAT ``.keras`` model written by edgeseg."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no model file; train first (edgeseg train) or check the path")
    try:
        import tensorflow_model_optimization as tfmot

        from edgeseg.train.qat import QUANTIZE_CUSTOM_OBJECTS  # QAT configs of odd layers

        with tfmot.quantization.keras.quantize_scope({**CUSTOM_OBJECTS, **QUANTIZE_CUSTOM_OBJECTS}):
            return keras.models.load_model(path, compile=compile)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: not a readable edgeseg Keras model ({exc})") from exc


MODELS = ("best", "last", "qat")


def model_path(run_dir: Path, which: str = "best") -> Path:
    """The float model of a run, or its QAT model with ``which='qat'``.

    ConfigError for a name other than best, last or qat (the ``--model`` option).
    """
    run_dir = Path(run_dir)
    if which not in MODELS:
        raise ConfigError(f"--model {which}: expected best, last or qat")
    if which == "qat":
        return run_dir / QAT_DIR / BEST
    return run_dir / (BEST if which == "best" else LAST)


def require_model(run_dir: Path, which: str = "best") -> Path:
    """``model_path`` of a model that must exist; the error says how to make it."""
    run_dir = Path(run_dir)
    path = model_path(run_dir, which)
    if not path.is_file():
        if which == "qat":
            hint = f"run `edgeseg qat {run_dir}` first, or pass --model best"
        else:
            hint = f"train first (`edgeseg train --data DIR --out {run_dir}`) or check the path"
        raise ModelError(f"{run_dir} has no {path.relative_to(run_dir)}: {hint}")
    return path
