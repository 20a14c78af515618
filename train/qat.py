"""Quantization-aware fine-tuning (tfmot, tf_keras) of a trained run.

``qat_finetune`` loads ``RUN_DIR/model_best.h5``, lowers BatchNorm momentum (short fine-tunes
need BN statistics that settle in a few hundred steps), wraps the model with
``tfmot.quantization.keras.quantize_model`` and fine-tunes with the run's losses, compiled as a
list in output order (QAT renames outputs ``quant_mask``/``quant_presence``). The epoch with the
best validation hard Dice is saved to ``RUN_DIR/qat/model_best.h5`` with a copy of the run's
``config.json``; ``RUN_DIR/qat/qat.json`` records the scores.

Layers that tfmot's default 8-bit registry does not know are never skipped silently: each gets an
explicit QuantizeConfig through ``quantize_annotate_layer`` (``NoOpQuantizeConfig`` for layers
that only move values around, ``OutputQuantizeConfig`` for the others) and is listed in the
result and in ``qat.json`` (see :func:`unsupported_layers` for what converts to int8). The
edgeseg builders need none (BatchNorm after a convolution is folded by tfmot).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow_model_optimization as tfmot
import tf_keras as keras
from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
    default_8bit_quantize_registry,
)
from tf_keras import layers

from edgeseg.config import QAT_LEARNING_RATE, RunConfig, check_learning_rate, load_config
from edgeseg.errors import ConfigError, DataError, ModelError, TrainingError
from edgeseg.io import building_folder, write_text_atomic
from edgeseg.runlock import run_lock
from edgeseg.train.loop import compile_model, epoch_score, val_dice_key
from edgeseg.train.qat_ranges import calibrate_activation_ranges
from edgeseg.train.serialization import QAT_DIR, load_model, model_path, save_model

REPORT = "qat.json"
QuantizeConfig = tfmot.quantization.keras.QuantizeConfig
MovingAverageQuantizer = tfmot.quantization.keras.quantizers.MovingAverageQuantizer

# Layers whose output values are a subset/rearrangement of their input values: the int8 kernel
# keeps the input's scale, so no quantizer of their own is needed.
PASS_THROUGH = (
    layers.Cropping2D,
    layers.ZeroPadding2D,
    layers.MaxPooling2D,
    layers.GlobalMaxPooling2D,
    layers.Reshape,
    layers.Flatten,
    layers.Permute,
    layers.UpSampling2D,
    layers.Dropout,
    layers.SpatialDropout2D,
)
# BatchNormalization directly after one of these (linear activation) is folded by tfmot.
FOLDS_BN = (layers.Conv2D, layers.DepthwiseConv2D, layers.Dense)


@keras.saving.register_keras_serializable(package="edgeseg")
class NoOpQuantizeConfig(QuantizeConfig):
    """Quantize nothing in the layer: for pass-through layers (pad, crop, reshape, max-pool)."""

    def get_weights_and_quantizers(self, layer):
        return []

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        pass

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return []

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package="edgeseg")
class OutputQuantizeConfig(NoOpQuantizeConfig):
    """Fake-quantize the layer's output (8-bit, asymmetric) so the converter knows its range.

    Weights, if any, stay float during training and are quantized by the converter.
    """

    def get_output_quantizers(self, layer):
        return [
            MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)
        ]


QUANTIZE_CUSTOM_OBJECTS = {
    "NoOpQuantizeConfig": NoOpQuantizeConfig,
    "OutputQuantizeConfig": OutputQuantizeConfig,
}


def unsupported_layers(model: keras.Model) -> dict[str, str]:
    """Layers tfmot cannot quantize by itself -> the edgeseg config they get.

    ``noop``: pass-through layers. ``output``: weightless layers, output fake-quantized; they
    convert to int8. ``output-float-weights``: layers with weights tfmot does not handle (e.g. a
    BatchNormalization not after a convolution): their output is quantized but their weights
    stay float, so the TFLite op computes in float and ``edgeseg convert --int8`` refuses the
    model (``--allow-float-ops`` keeps it). Fold or remove such layers instead.
    """
    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    out: dict[str, str] = {}
    for layer in model.layers:
        if isinstance(layer, layers.InputLayer | keras.Model):
            continue
        if registry.supports(layer):
            continue
        if isinstance(layer, layers.BatchNormalization):
            inbound = layer.inbound_nodes[0].inbound_layers if layer.inbound_nodes else None
            if isinstance(inbound, FOLDS_BN) and inbound.get_config().get("activation") in (
                "linear",
                None,
            ):
                continue
        if isinstance(layer, PASS_THROUGH):
            out[layer.name] = "noop"
        else:
            out[layer.name] = "output-float-weights" if layer.weights else "output"
    return out


def quantize_for_training(model: keras.Model) -> tuple[keras.Model, dict[str, str]]:
    """``quantize_model`` with explicit configs for unsupported layers; returns (model, configs).

    ``configs`` maps each layer that got an edgeseg QuantizeConfig to ``noop`` or ``output``.
    """
    nested = [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
    if nested:
        raise ModelError(
            f"model {model.name!r} nests models ({', '.join(nested)}): QAT needs a flat model; "
            "build encoders with input_tensor= (edgeseg.train.encoders does)"
        )
    if any("quant" in type(layer).__name__.lower() for layer in model.layers):
        raise ModelError(f"model {model.name!r} is already quantization-aware")
    configs = unsupported_layers(model)
    q = tfmot.quantization.keras
    try:
        if not configs:
            return q.quantize_model(model), configs
        kinds = {
            "noop": NoOpQuantizeConfig,
            "output": OutputQuantizeConfig,
            "output-float-weights": OutputQuantizeConfig,
        }

        def annotate(layer):
            if layer.name in configs:
                return q.quantize_annotate_layer(layer, kinds[configs[layer.name]]())
            return q.quantize_annotate_layer(layer)

        # The annotations wrap the original layers, so the clone keeps the trained weights.
        annotated = keras.models.clone_model(model, clone_function=annotate)
        with q.quantize_scope(QUANTIZE_CUSTOM_OBJECTS):
            return q.quantize_apply(annotated), configs
    except (ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"tfmot cannot quantize model {model.name!r}: {first}") from exc


def set_bn_momentum(model: keras.Model, momentum: float) -> int:
    """Set every BatchNormalization's momentum; returns how many were set."""
    if not 0.0 < momentum < 1.0:
        raise ConfigError(f"--bn-momentum {momentum} must be between 0 and 1 (e.g. 0.9)")
    count = 0
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = momentum
            count += 1
    return count


def _check_arrays(name: str, images: np.ndarray, masks: np.ndarray, cfg: RunConfig) -> None:
    h, w = cfg.preprocessing.size
    c = len(cfg.classes)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (h, w):
        raise DataError(
            f"{name} images are {images.dtype} {tuple(images.shape)}: expected uint8 (N, {h}, {w})"
        )
    if masks.ndim != 4 or masks.shape != (len(images), h, w, c):
        raise DataError(
            f"{name} masks are {tuple(masks.shape)}: expected (N, {h}, {w}, {c}) to match "
            f"{len(images)} images and {c} class(es)"
        )
    if len(images) == 0:
        raise DataError(f"{name} set is empty: QAT needs training and validation frames")


class _KeepBest(keras.callbacks.Callback):
    """Save the QAT model whenever validation hard Dice improves; stop on NaN."""

    def __init__(self, path: Path, log: Callable[[str], None]):
        super().__init__()
        self.path, self.log = path, log
        self.best, self.best_epoch, self.history = -1.0, -1, []
        self.nan = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        score = epoch_score(self, logs or {})
        if score is None:
            return
        self.history.append(round(score, 6))
        improved = score > self.best
        if improved:
            self.best, self.best_epoch = score, epoch
            save_model(self.model, self.path)
        self.log(f"QAT epoch {epoch + 1}: val Dice {score:.4f}{' (best)' if improved else ''}")


def qat_finetune(
    run_dir: Path,
    train_arrays: tuple[np.ndarray, np.ndarray],
    val_arrays: tuple[np.ndarray, np.ndarray],
    cfg: RunConfig | None = None,
    epochs: int = 5,
    lr: float = QAT_LEARNING_RATE,
    batch_size: int | None = None,
    bn_momentum: float = 0.9,
    source: str = "best",
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Quantization-aware fine-tuning of a run's float model; returns ``RUN_DIR/qat/model_best.h5``.

    ``train_arrays``/``val_arrays``: (images uint8 (N, H, W) preprocessed model inputs, masks
    uint8 (N, H, W, C) in {0, 1}), as ``edgeseg.datasets.load_arrays`` returns them. ``cfg``
    defaults to ``RUN_DIR/config.json``. ``source``: ``best`` or ``last`` float checkpoint.
    An existing QAT model is kept unless ``force``; with ``force`` the new ``qat/`` folder is
    built beside the old one and replaces it only when complete. The run folder is locked
    (``edgeseg.runlock``) while QAT writes into it. ``progress`` gets one line per epoch.
    """
    with run_lock(run_dir, "edgeseg qat"):
        args = (cfg, epochs, lr, batch_size, bn_momentum, source, force, progress)
        return _finetune(run_dir, train_arrays, val_arrays, *args)


def _finetune(
    run_dir: Path,
    train_arrays: tuple[np.ndarray, np.ndarray],
    val_arrays: tuple[np.ndarray, np.ndarray],
    cfg: RunConfig | None,
    epochs: int,
    lr: float,
    batch_size: int | None,
    bn_momentum: float,
    source: str,
    force: bool,
    progress: Callable[[str], None] | None,
) -> Path:
    """``qat_finetune``'s work, with the run folder locked."""
    from edgeseg.train.data import make_dataset

    say = progress or (lambda _m: None)
    start = time.time()
    run_dir = Path(run_dir)
    cfg = cfg if cfg is not None else load_config(run_dir)
    if epochs < 1:
        raise ConfigError(f"--epochs {epochs}: QAT needs at least 1 epoch")
    check_learning_rate(lr)
    if source not in ("best", "last"):
        raise ConfigError(f"--model {source!r} is not one of best, last")
    out = model_path(run_dir, "qat")
    if out.exists() and not force:
        raise ConfigError(f"{out} exists: pass --force to redo quantization-aware training")
    for name, (images, masks) in (("training", train_arrays), ("validation", val_arrays)):
        _check_arrays(name, images, masks, cfg)

    keras.utils.set_random_seed(cfg.train.seed)
    model = load_model(model_path(run_dir, source), cfg)
    presence = len(model.outputs) == 2
    if presence != cfg.model.presence_head:
        raise ModelError(
            f"{model_path(run_dir, source)} has {len(model.outputs)} output(s) but config.json "
            f"says presence_head={cfg.model.presence_head}: the config belongs to another model"
        )
    batch = batch_size or cfg.train.batch_size
    val_ds = make_dataset(*val_arrays, batch, presence, None, False)
    compile_model(model, cfg)
    float_logs = model.evaluate(val_ds, verbose=0, return_dict=True)
    float_dice = float(float_logs[val_dice_key(float_logs, "")])
    say(f"float model ({source}): val Dice {float_dice:.4f}")

    set_bn_momentum(model, bn_momentum)
    qmodel, configs = quantize_for_training(model)
    if configs:
        say(
            "explicit QuantizeConfig for layers tfmot does not support: "
            + ", ".join(f"{k} ({v})" for k, v in configs.items())
        )
    # Ranges from the float model's outputs, not tfmot's [-6, 6] (train/qat_ranges.py says why).
    ranges = calibrate_activation_ranges(qmodel, model, train_arrays[0])
    say(f"measured {len(ranges)} activation ranges on {len(train_arrays[0])} training frames")
    compile_model(qmodel, cfg, learning_rate=lr)
    from edgeseg.train.data import augment_for

    augment = augment_for(cfg.train)
    train_ds = make_dataset(*train_arrays, batch, presence, augment, True, cfg.train.seed)

    with building_folder(out.parent) as work:  # the old qat/ stays until the new one is complete
        keep = _KeepBest(work / out.name, lambda m: say(m.replace(str(work), str(out.parent))))
        qmodel.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[keep], verbose=0)
        if keep.nan or keep.best_epoch < 0:
            raise TrainingError(
                "QAT diverged (NaN loss): lower --lr (e.g. 3e-5); the float model and any "
                "previous QAT model are untouched"
            )
        cfg.save(work)
        report = _report(source, epochs, lr, bn_momentum, float_dice, keep, configs)
        report.update(
            train_frames=int(len(train_arrays[0])),
            val_frames=int(len(val_arrays[0])),
            seconds=round(time.time() - start, 1),
        )
        write_text_atomic(work / REPORT, json.dumps(report, indent=2))
    say(
        f"wrote {out} (val Dice {keep.best:.4f}, float {float_dice:.4f}) in "
        f"{report['seconds']:.0f}s; next: edgeseg convert {run_dir} --int8"
    )
    return out


def _report(source, epochs, lr, bn_momentum, float_dice, keep: _KeepBest, configs) -> dict:
    return {
        "source": source,
        "epochs": epochs,
        "learning_rate": lr,
        "bn_momentum": bn_momentum,
        "float_val_dice": round(float_dice, 6),
        "qat_val_dice": round(keep.best, 6),
        "best_epoch": keep.best_epoch + 1,
        "val_dice_per_epoch": keep.history,
        "custom_quantize_configs": configs,
    }


def read_qat_report(run_dir: Path) -> dict:
    """``RUN_DIR/qat/qat.json`` as a dict ({} if absent)."""
    path = Path(run_dir) / QAT_DIR / REPORT
    return json.loads(path.read_text()) if path.is_file() else {}
