"""Saving and loading Keras models as HDF5 (``.h5``) without ever running code from the file.

``save_model`` writes the usual tf_keras HDF5 file (architecture, weights, optimizer state) plus
``edgeseg_weights_sha256``, a SHA-256 over the weight arrays, inside the same atomic write.

``load_model`` never deserialises the file's architecture: ``tf_keras.models.load_model`` on
HDF5 ignores ``safe_mode``, so a ``Lambda`` layer carrying marshalled Python would run. Instead
the network is rebuilt from the run's ``config.json`` by edgeseg's own builders (wrapped for
quantization-aware training when the file holds a QAT model) and only the weight arrays are read
from the file with h5py. A file whose layers or weight shapes are not the ones the config builds,
or whose weights no longer match their recorded hash, is refused with one ``ModelError``.
``restore_optimizer`` reads the Adam state the same way for ``train --resume``.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import tf_keras as keras

from edgeseg.config import RunConfig, load_config
from edgeseg.errors import ConfigError, EdgesegError, ModelError
from edgeseg.io import atomic_path

BEST = "model_best.h5"
LAST = "model_last.h5"
QAT_DIR = "qat"
CONFIG = "config.json"
HASH_ATTR = "edgeseg_weights_sha256"

Arrays = list[tuple[str, list[np.ndarray]]]  # (layer name, its weight arrays) in file order


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _weight_group(f: h5py.File) -> h5py.Group:
    return f.get("model_weights", f)


def layer_names(f: h5py.File) -> list[str]:
    """Every layer the file names, weightless ones (a ``Lambda``) included, in model order."""
    return [_text(n) for n in _weight_group(f).attrs.get("layer_names", [])]


def read_weights(f: h5py.File) -> Arrays:
    """The layers that have weights and their arrays, as tf_keras's HDF5 writer stored them."""
    group = _weight_group(f)
    out: Arrays = []
    for layer in layer_names(f):
        names = [_text(n) for n in group[layer].attrs.get("weight_names", [])]
        if names:
            out.append((layer, [np.asarray(group[layer][n]) for n in names]))
    return out


def weights_sha256(arrays: Arrays) -> str:
    """SHA-256 over layer names, dtypes, shapes and bytes of every weight, in order."""
    digest = hashlib.sha256()
    for layer, values in arrays:
        digest.update(layer.encode())
        for value in values:
            digest.update(f"{value.dtype.str}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def save_model(model: keras.Model, path: Path) -> Path:
    """Save atomically (a temp file renamed into place) with optimizer state and weight hash."""
    with atomic_path(Path(path)) as tmp:
        keras_tmp = tmp.with_suffix(".h5")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*HDF5 file.*")
                model.save(keras_tmp)
            with h5py.File(keras_tmp, "r+") as f:
                f.attrs[HASH_ATTR] = weights_sha256(read_weights(f))
            keras_tmp.replace(tmp)
        finally:
            keras_tmp.unlink(missing_ok=True)
    return Path(path)


def file_weights_sha256(path: Path) -> str:
    """The recorded weight hash of an edgeseg ``.h5`` ('' if it has none)."""
    try:
        with h5py.File(path, "r") as f:
            return _text(f.attrs.get(HASH_ATTR, ""))
    except OSError:
        return ""


def run_config_for(path: Path) -> RunConfig:
    """The config.json that describes a model file: beside it, else (for ``qat/``) its run's."""
    path = Path(path)
    for folder in (path.parent, path.parent.parent):
        if (folder / CONFIG).is_file():
            return load_config(folder)
        if folder.name != QAT_DIR:
            break
    raise ModelError(
        f"{path}: no {CONFIG} beside it: edgeseg loads a model's weights only into the network "
        "its run's config.json describes (copy the whole run folder)"
    )


def build_architecture(cfg: RunConfig, qat: bool, bn_momentum: float = 0.9) -> keras.Model:
    """The untrained network ``cfg`` describes (QAT-wrapped if asked); never downloads weights."""
    from edgeseg.train.loop import build_from_config

    if cfg.model.encoder:  # the file supplies the weights: no ImageNet download, no other file
        cfg = replace(cfg, model=replace(cfg.model, encoder_weights="none"))
    model = build_from_config(cfg)
    if not qat:
        return model
    from edgeseg.train.qat import quantize_for_training, set_bn_momentum

    set_bn_momentum(model, bn_momentum)
    return quantize_for_training(model)[0]


def _plain(name: str) -> str:
    """A layer name without Keras's per-process ``_N`` suffix (``quantize_layer_1``)."""
    return re.sub(r"_\d+$", "", name)


def _mismatch(path: Path, detail: str) -> ModelError:
    return ModelError(
        f"{path} is not an edgeseg U-Net for this run: it does not match the network the run's "
        f"config.json builds ({detail}); was the model or config.json replaced?"
    )


def check_layers(model: keras.Model, names: list[str], path: Path) -> None:
    """ModelError unless the file names exactly the layers ``model`` has, in order."""
    expected = [_plain(layer.name) for layer in model.layers]
    found = [_plain(name) for name in names]
    if found == expected:
        return
    extra = [n for n in found if n not in expected]
    missing = [n for n in expected if n not in found]
    detail = (
        f"layer {extra[0]!r} is not in it"
        if extra
        else f"layer {missing[0]!r} is missing"
        if missing
        else "its layers are in another order"
    )
    raise _mismatch(path, f"{len(found)} layers where the config builds {len(expected)}; {detail}")


def assign_weights(model: keras.Model, arrays: Arrays, path: Path) -> None:
    """Set ``model``'s weights from ``arrays``; ModelError unless layers and shapes all match."""
    layers = [layer for layer in model.layers if layer.weights]
    if len(layers) != len(arrays):
        raise _mismatch(path, f"{len(arrays)} layers with weights, the config builds {len(layers)}")
    pairs = []
    for layer, (name, values) in zip(layers, arrays, strict=True):
        if _plain(layer.name) != _plain(name):
            raise _mismatch(path, f"layer {name!r} where the config builds {layer.name!r}")
        symbolic = layer.trainable_weights + layer.non_trainable_weights
        shapes = [tuple(v.shape) for v in values]
        expected = [tuple(w.shape) for w in symbolic]
        if shapes != expected:
            raise _mismatch(path, f"layer {name!r} has weights {shapes}, expected {expected}")
        pairs.extend(zip(symbolic, values, strict=True))
    keras.backend.batch_set_value(pairs)


def _read_checked(path: Path) -> tuple[list[str], Arrays]:
    """The file's layer names and weight arrays, after checking its recorded hash (if any)."""
    try:
        with h5py.File(path, "r") as f:
            names = layer_names(f)
            arrays = read_weights(f)
            recorded = _text(f.attrs.get(HASH_ATTR, ""))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: not a readable edgeseg Keras model ({exc})") from exc
    if recorded and recorded != weights_sha256(arrays):
        raise ModelError(
            f"{path}: its weights do not match the SHA-256 recorded when it was saved (a damaged "
            "or edited file); restore it from a copy or retrain"
        )
    return names, arrays


def _qat_momentum(path: Path) -> float:
    report = Path(path).parent / "qat.json"
    try:
        return float(json.loads(report.read_text()).get("bn_momentum", 0.9))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.9


def load_model(path: Path, cfg: RunConfig | None = None) -> keras.Model:
    """A float or QAT model of an edgeseg run: the network ``cfg`` describes (default: the
    run's config.json) with the weights read from ``path``; no code from the file runs."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no model file; train first (edgeseg train) or check the path")
    cfg = cfg if cfg is not None else run_config_for(path)
    names, arrays = _read_checked(path)
    qat = any(_plain(name) == "quantize_layer" for name in names)
    try:
        model = build_architecture(cfg, qat, _qat_momentum(path) if qat else 0.9)
    except EdgesegError:
        raise
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{path}: the run's config.json does not build a model ({exc})") from exc
    check_layers(model, names, path)
    assign_weights(model, arrays, path)
    return model


def load_weights_into(model: keras.Model, path: Path) -> keras.Model:
    """Fill a network the caller built with the weights of an ``.h5`` (same checks as
    ``load_model``): for architectures no run config describes."""
    path = Path(path)
    names, arrays = _read_checked(path)
    check_layers(model, names, path)
    assign_weights(model, arrays, path)
    return model


def restore_optimizer(model: keras.Model, path: Path) -> None:
    """Load the Adam state saved in ``path`` into ``model``'s (compiled) optimizer."""
    try:
        with h5py.File(path, "r") as f:
            group = f.get("optimizer_weights")
            names = [_text(n) for n in group.attrs.get("weight_names", [])] if group else []
            values = [np.asarray(group[n]) for n in names]
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: not a readable edgeseg Keras model ({exc})") from exc
    if not values:
        raise ModelError(f"{path} holds no optimizer state to resume from: retrain with --force")
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    expected = [tuple(v.shape) for v in optimizer.variables]
    if [tuple(v.shape) for v in values] != expected:
        raise _mismatch(path, f"{len(values)} optimizer variables, expected {len(expected)}")
    optimizer.set_weights(values)


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
