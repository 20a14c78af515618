"""Knowledge distillation (``edgeseg train --teacher RUN[,RUN...]``).

The student learns its hard masks as usual and, weighted by ``--distill-weight``, the teachers'
mean probabilities on the same training frames (soft masks: a trained ensemble's view of where
the nerve's edge is, which one-pixel-wide hand labels cannot give). The soft masks are computed
once, before training, on the frames as the student's frame contract prepares them; they ride
through augmentation as extra mask channels, so a flipped or shifted frame keeps its own soft
mask. Validation and checkpoint choice use the hard masks only.

A teacher is any finished edgeseg run with the student's preprocessing and classes; its
``model_best.h5`` is read with :func:`edgeseg.train.serialization.load_model` (weights only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from edgeseg.config import RunConfig, load_config
from edgeseg.errors import ConfigError
from edgeseg.train.options import check_teacher

Loss = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def teacher_probabilities(
    teachers: Sequence[Path], images: np.ndarray, student: RunConfig
) -> np.ndarray:
    """The teachers' mean mask probabilities (N, H, W, C) on ``images`` (uint8 (N, H, W), as the
    frame contract prepares them for the student)."""
    from edgeseg.evaluation.predictions import keras_predictor
    from edgeseg.train.serialization import load_model, model_path

    total = None
    for path in teachers:
        path = Path(path)
        cfg = load_config(path)
        check_teacher(cfg, student, path)
        best = model_path(path, "best")
        if not best.is_file():
            raise ConfigError(
                f"--teacher {path} has no {best.name}: it is not a finished training run"
            )
        model = load_model(best, cfg)
        probs, _ = keras_predictor(model)(images)
        total = probs.astype(np.float64) if total is None else total + probs
        del model
    return (total / len(teachers)).astype(np.float32)


def with_soft_masks(arrays: tuple[np.ndarray, np.ndarray], soft: np.ndarray) -> tuple:
    """``(images, masks)`` -> ``(images, masks ++ soft)``: the soft masks as extra channels."""
    images, masks = arrays
    if soft.shape != masks.shape:
        raise ValueError(f"soft masks {soft.shape} do not match the masks {masks.shape}")
    return images, np.concatenate([masks.astype(np.float32), soft], axis=-1)


def with_own_masks(arrays: tuple[np.ndarray, np.ndarray]) -> tuple:
    """Validation frames: the hard masks stand in for the soft ones (same channel count)."""
    return with_soft_masks(arrays, arrays[1].astype(np.float32))


def distillation_arrays(
    cfg: RunConfig, train_arrays, val_arrays, log: Callable[[str], None]
) -> tuple[tuple, tuple]:
    """Training frames with the teachers' soft masks, validation frames with their own masks."""
    if not isinstance(train_arrays, tuple) or not isinstance(val_arrays, tuple):
        raise ConfigError(
            "--teacher needs the frames in memory: it does not work with shards from "
            "edgeseg data pack yet; train on the image folder"
        )
    teachers = [Path(p) for p in cfg.train.teachers]
    log(f"distillation: soft masks of {len(teachers)} teacher run(s) on the training frames")
    soft = teacher_probabilities(teachers, train_arrays[0], cfg)
    return with_soft_masks(train_arrays, soft), with_own_masks(val_arrays)


def distillation_loss(base: Loss, classes: int, weight: float) -> Loss:
    """``base(hard, pred) + weight * BCE(soft, pred)`` for targets ``hard ++ soft`` (2C
    channels) and predictions of C channels."""

    def distill(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        hard, soft = y_true[..., :classes], y_true[..., classes:]
        bce = keras.losses.binary_crossentropy(tf.cast(soft, y_pred.dtype), y_pred)
        return base(hard, y_pred) + weight * tf.reduce_mean(bce, axis=(1, 2))

    distill.__name__ = f"distill_{base.__name__}"
    return distill


def on_hard_masks(metric: Loss, classes: int) -> Loss:
    """``metric`` on the hard channels of ``hard ++ soft`` targets; keeps its name, so the logs
    (and the checkpoint choice, ``loop.val_dice_key``) read as without distillation."""

    def hard_only(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return metric(y_true[..., :classes], y_pred)

    hard_only.__name__ = metric.__name__
    return hard_only
