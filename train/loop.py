"""The training loop: Dice(+BCE) loss, Adam, subject-wise validation, checkpoints, resume.

Every epoch writes ``model_last.h5`` (with optimizer state), ``model_best.h5`` when validation
Dice improves, then ``state.json``; each write is atomic, so ``kill -9`` loses at most one epoch
and ``--resume`` continues from the last finished epoch with the same early-stopping state.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tf_keras as keras

from edgeseg.config import RunConfig
from edgeseg.errors import ConfigError, TrainingError
from edgeseg.io import write_text_atomic
from edgeseg.train.data import Augment, make_dataset
from edgeseg.train.losses import LOSSES, hard_dice
from edgeseg.train.models import build_model
from edgeseg.train.serialization import BEST, LAST, load_model, save_model

STATE = "state.json"
PRESENCE_LOSS_WEIGHT = 0.2


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or stopped) run produced."""

    run_dir: Path
    epochs_run: int
    best_epoch: int
    best_val_dice: float
    stopped_early: bool
    seconds: float


def read_state(run_dir: Path) -> dict:
    path = Path(run_dir) / STATE
    return json.loads(path.read_text()) if path.is_file() else {}


def compile_model(model: keras.Model, cfg: RunConfig, learning_rate: float | None = None) -> None:
    """Adam + the configured segmentation loss (+ BCE on the presence head), hard Dice metric."""
    if cfg.train.loss not in LOSSES:
        raise ConfigError(f"--loss {cfg.train.loss!r} is not one of {', '.join(LOSSES)}")
    losses: list = [LOSSES[cfg.train.loss]]
    metrics: list = [[hard_dice]]
    weights = [1.0]
    if cfg.model.presence_head:
        losses.append(keras.losses.BinaryCrossentropy())
        metrics.append([keras.metrics.BinaryAccuracy(name="acc")])
        weights.append(PRESENCE_LOSS_WEIGHT)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate or cfg.train.learning_rate),
        loss=losses,
        loss_weights=weights,
        metrics=metrics,
    )


def val_dice_key(logs: dict, prefix: str = "val_") -> str:
    """The hard-Dice entry of the Keras logs (its name depends on the outputs); ``prefix=""``
    finds the training/evaluation one."""
    keys = [k for k in logs if k.startswith(prefix) and k.endswith("hard_dice")]
    if not keys:
        raise TrainingError(
            f"no {prefix}hard_dice in the training logs ({', '.join(logs)}): "
            "is the validation set empty?"
        )
    return keys[0]


class CheckpointAndStop(keras.callbacks.Callback):
    """Saves last/best checkpoints and state.json each epoch; early-stops on validation Dice."""

    def __init__(self, run_dir: Path, patience: int, state: dict, log: Callable[[str], None]):
        super().__init__()
        self.run_dir = run_dir
        self.patience = patience
        self.best = float(state.get("best_val_dice", -1.0))
        self.best_epoch = int(state.get("best_epoch", -1))
        self.wait = int(state.get("wait", 0))
        self.stopped_early = False
        self.nan = False
        self.log = log

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if not math.isfinite(float(logs.get("loss", 0.0))):
            self.nan = True
            self.model.stop_training = True
            return
        score = float(logs[val_dice_key(logs)])
        improved = score > self.best
        if improved:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            save_model(self.model, self.run_dir / BEST)
        else:
            self.wait += 1
        save_model(self.model, self.run_dir / LAST)
        state = {
            "epoch": epoch,
            "best_val_dice": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "finished": False,
        }
        write_text_atomic(self.run_dir / STATE, json.dumps(state, indent=2))
        mark = " (best)" if improved else ""
        loss = f"loss {float(logs['loss']):.4f}, " if "loss" in logs else ""
        self.log(f"epoch {epoch + 1}: {loss}val Dice {score:.4f}{mark}")
        if self.wait >= self.patience:
            self.stopped_early = True
            self.model.stop_training = True


def build_from_config(cfg: RunConfig) -> keras.Model:
    """The untrained network a config describes (a U-Net, or an ImageNet-encoder U-Net)."""
    shape = (cfg.preprocessing.height, cfg.preprocessing.width, 1)
    m = cfg.model
    if m.encoder:
        from edgeseg.train.encoders import build_encoder_unet

        return build_encoder_unet(
            m.encoder,
            shape,
            len(cfg.classes),
            m.presence_head,
            weights=m.encoder_weights,
            alpha=m.encoder_alpha,
            base_filters=m.base_filters,
            bn_momentum=m.bn_momentum,
            dropout=m.dropout,
        )
    return build_model(
        m.arch,
        shape,
        len(cfg.classes),
        m.base_filters,
        m.depth,
        m.presence_head,
        m.bn_momentum,
        m.dropout,
        m.stem(),
        m.refine,
    )


def prepare_run_dir(run_dir: Path, resume: bool, force: bool) -> None:
    """Refuse to overwrite a run unless asked; ``--resume`` needs an existing one."""
    run_dir = Path(run_dir)
    has_run = (run_dir / "config.json").is_file()
    if resume and not (run_dir / LAST).is_file():
        raise ConfigError(f"--resume: {run_dir} has no {LAST} to continue from; drop --resume")
    if has_run and not resume and not force:
        raise ConfigError(
            f"{run_dir} already holds a training run: pass --resume to continue it, "
            "--force to start over, or choose another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)


def train(
    cfg: RunConfig,
    run_dir: Path,
    train_arrays: tuple[np.ndarray, np.ndarray],
    val_arrays: tuple[np.ndarray, np.ndarray],
    resume: bool = False,
    verbose: int = 1,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train (or resume) a model on in-memory arrays; writes checkpoints and logs to run_dir."""
    run_dir = Path(run_dir)
    start = time.time()
    keras.utils.set_random_seed(cfg.train.seed)
    if cfg.train.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()  # same data + seed -> same weights
    state = read_state(run_dir) if resume else {}
    initial_epoch = int(state.get("epoch", -1)) + 1
    if resume:
        model = load_model(run_dir / LAST, compile=True)  # weights + Adam state
    else:
        model = build_from_config(cfg)
        compile_model(model, cfg)
    cfg.save(run_dir)
    augment = Augment() if cfg.train.augment else None
    train_ds = make_dataset(
        *train_arrays, cfg.train.batch_size, cfg.model.presence_head, augment, True, cfg.train.seed
    )
    val_ds = make_dataset(*val_arrays, cfg.train.batch_size, cfg.model.presence_head, None, False)
    checkpoint = CheckpointAndStop(run_dir, cfg.train.patience, state, log)
    callbacks = [
        checkpoint,
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False),
    ]
    # Keras's bar on a terminal; elsewhere (logs, CI) the one line per epoch above is enough.
    fit_verbose = verbose if sys.stdout.isatty() else 0
    frozen_until = cfg.train.freeze_encoder_epochs if cfg.model.encoder else 0
    if initial_epoch < frozen_until:
        # Freeze-then-unfreeze: train the decoder on a frozen pretrained encoder first.
        from edgeseg.train.encoders import set_encoder_trainable

        set_encoder_trainable(model, False)
        compile_model(model, cfg)
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=min(frozen_until, cfg.train.epochs),
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=fit_verbose,
        )
        initial_epoch = min(frozen_until, cfg.train.epochs)
        set_encoder_trainable(model, True)
        compile_model(model, cfg, learning_rate=cfg.train.learning_rate / 10)
        log(f"encoder unfrozen after epoch {initial_epoch}; learning rate / 10")
    if initial_epoch < cfg.train.epochs and not checkpoint.stopped_early and not checkpoint.nan:
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.train.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=fit_verbose,
        )
    if checkpoint.nan:
        raise TrainingError(
            "training diverged (NaN loss): lower --lr (e.g. 3e-4) or check the data for "
            "blank/corrupt frames; checkpoints up to the last good epoch are kept"
        )
    final = read_state(run_dir)
    final["finished"] = True
    write_text_atomic(run_dir / STATE, json.dumps(final, indent=2))
    return TrainResult(
        run_dir=run_dir,
        epochs_run=int(final.get("epoch", -1)) + 1,
        best_epoch=int(final.get("best_epoch", -1)) + 1,
        best_val_dice=float(final.get("best_val_dice", float("nan"))),
        stopped_early=checkpoint.stopped_early,
        seconds=time.time() - start,
    )
