"""The training loop: Dice(+BCE) loss, Adam, subject-wise validation, checkpoints, resume.

Every epoch writes ``model_last.h5`` (with optimizer state), ``model_best.h5`` when validation
Dice improves, then ``state.json``; each write is atomic, so ``kill -9`` loses at most one epoch
and ``--resume`` continues from the last finished epoch with the same early-stopping state.

``run_folder`` guards the folder: one writer at a time (``edgeseg.runlock``), temp files of a
killed save swept, and ``--force`` over an existing run trains in a sibling folder that replaces
the old run only when the new one is complete (an interruption leaves the old run intact).
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tf_keras as keras

from edgeseg.config import RunConfig, check_learning_rate
from edgeseg.errors import ConfigError, TrainingError
from edgeseg.io import building_folder, write_text_atomic
from edgeseg.runlock import run_lock
from edgeseg.train.data import as_dataset, augment_for
from edgeseg.train.losses import LOSSES, hard_dice
from edgeseg.train.models import build_model
from edgeseg.train.schedules import WeightAverage, lr_callbacks
from edgeseg.train.serialization import (
    BEST,
    CONFIG,
    LAST,
    QAT_DIR,
    load_model,
    restore_optimizer,
    save_model,
)

STATE = "state.json"
HISTORY = "history.csv"  # the per-epoch CSV log
PRESENCE_LOSS_WEIGHT = 0.2
DIVERGED = (
    "training diverged (NaN loss): lower --lr (e.g. 3e-4) or check the data for blank/corrupt "
    "frames"
)


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
    from edgeseg.config import load_state  # one-line errors for a malformed state.json (H4)

    path = Path(run_dir) / STATE
    return load_state(path) if path.is_file() else {}


def compile_model(
    model: keras.Model,
    cfg: RunConfig,
    learning_rate: float | None = None,
    distill: bool = False,
) -> None:
    """Adam + the configured segmentation loss (+ BCE on the presence head), hard Dice metric.

    ``distill``: the mask targets carry the teachers' soft masks too (``edgeseg.train.distill``).
    """
    if cfg.train.loss not in LOSSES:
        raise ConfigError(f"--loss {cfg.train.loss!r} is not one of {', '.join(LOSSES)}")
    losses: list = [LOSSES[cfg.train.loss]]
    metrics: list = [[hard_dice]]
    if distill:
        from edgeseg.train.distill import distillation_loss, on_hard_masks

        n = len(cfg.classes)
        losses = [distillation_loss(losses[0], n, cfg.train.distill_weight)]
        metrics = [[on_hard_masks(hard_dice, n)]]
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


def epoch_score(callback: keras.callbacks.Callback, logs: dict) -> float | None:
    """The epoch's validation hard Dice for a checkpointing callback; None when the loss is not
    finite, after setting ``callback.nan`` and stopping training."""
    if not math.isfinite(float(logs.get("loss", 0.0))):
        callback.nan = True
        callback.model.stop_training = True
        return None
    return float(logs[val_dice_key(logs)])


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
        score = epoch_score(self, logs)
        if score is None:
            return
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


def sweep_partial_files(run_dir: Path) -> list[Path]:
    """Remove the hidden temp files a killed checkpoint save leaves (``.model_last.h5.*``)."""
    run_dir = Path(run_dir)
    removed = []
    for folder, names in ((run_dir, (BEST, LAST, STATE, CONFIG)), (run_dir / QAT_DIR, (BEST,))):
        for name in names:
            for tmp in folder.glob(f".{name}.*"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    removed.append(tmp)
    for tmp in run_dir.parent.glob(f".{run_dir.name}.building-*"):  # a killed --force
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed


def prepare_run_dir(run_dir: Path, resume: bool, force: bool) -> bool:
    """Refuse to overwrite a run unless asked; ``--resume`` needs a finished epoch.

    Returns True when ``--force`` replaces a run that has checkpoints (train beside, swap at the
    end). A run stopped before its first epoch has nothing to keep: it is simply started over,
    so "pass --resume" and "drop --resume" never send the user in a circle.
    """
    run_dir = Path(run_dir)
    has_epoch = (run_dir / LAST).is_file()
    if resume and force:
        raise ConfigError("--resume and --force: pass one (continue the run, or start over)")
    if resume and not has_epoch:
        if (run_dir / CONFIG).is_file():
            raise ConfigError(
                f"--resume: {run_dir} stopped before its first epoch finished (no {LAST}): "
                "drop --resume to start it over"
            )
        raise ConfigError(f"--resume: {run_dir} has no {LAST} to continue from; drop --resume")
    if has_epoch and not resume and not force:
        raise ConfigError(
            f"{run_dir} already holds a training run: pass --resume to continue it, "
            "--force to start over, or choose another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    sweep_partial_files(run_dir)
    return has_epoch and force


@contextlib.contextmanager
def run_folder(
    run_dir: Path, resume: bool = False, force: bool = False, command: str = "train"
) -> Iterator[Path]:
    """Lock ``run_dir`` and yield the folder to write the run into.

    That is ``run_dir`` itself, except for ``--force`` over a run with checkpoints: then a new
    hidden sibling, swapped in for the old run when the block finishes; on any exception or
    interruption the sibling is deleted and the old run is left byte for byte as it was.
    """
    run_dir = Path(run_dir)
    with run_lock(run_dir, command):
        if not prepare_run_dir(run_dir, resume, force):
            yield run_dir
            return
        try:
            with building_folder(run_dir) as work:
                yield work
        except TrainingError as exc:
            if getattr(exc, "diverged", False):
                raise _diverged(f"{run_dir} still holds the previous run") from exc
            raise


def _diverged(note: str) -> TrainingError:
    exc = TrainingError(f"{DIVERGED}; {note}")
    exc.diverged = True
    return exc


def train(
    cfg: RunConfig,
    run_dir: Path,
    train_arrays: tuple[np.ndarray, np.ndarray],
    val_arrays: tuple[np.ndarray, np.ndarray],
    resume: bool = False,
    verbose: int = 1,
    log: Callable[[str], None] = print,
    strategy=None,
) -> TrainResult:
    """Train (or resume) a model on in-memory arrays; writes checkpoints and logs to run_dir.

    Under a ``tf.distribute`` ``strategy`` the model is built, compiled and fitted in its scope.
    """
    if strategy is not None:
        with strategy.scope():
            return train(cfg, run_dir, train_arrays, val_arrays, resume, verbose, log)
    run_dir = Path(run_dir)
    check_learning_rate(cfg.train.learning_rate)
    start = time.time()
    distill = bool(cfg.train.teachers)
    if distill:  # before the seed: the student starts from the weights it would without
        from edgeseg.train.distill import distillation_arrays

        train_arrays, val_arrays = distillation_arrays(cfg, train_arrays, val_arrays, log)
    keras.utils.set_random_seed(cfg.train.seed)
    if cfg.train.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()  # same data + seed -> same weights
    state = read_state(run_dir) if resume else {}
    initial_epoch = int(state.get("epoch", -1)) + 1
    # A resumed encoder run past its frozen epochs trains at a tenth of the learning rate.
    unfrozen = bool(cfg.model.encoder) and 0 < cfg.train.freeze_encoder_epochs <= initial_epoch
    if resume:  # the network from config.json, weights + Adam state from the checkpoint
        model = load_model(run_dir / LAST, cfg)
        compile_model(model, cfg, cfg.train.learning_rate / 10 if unfrozen else None, distill)
        restore_optimizer(model, run_dir / LAST)
    else:
        model = build_from_config(cfg)
        compile_model(model, cfg, distill=distill)
    cfg.save(run_dir)
    augment = augment_for(cfg.train)
    train_ds = as_dataset(train_arrays, cfg, augment, shuffle=True)
    val_ds = as_dataset(val_arrays, cfg, None, shuffle=False)
    checkpoint = CheckpointAndStop(run_dir, cfg.train.patience, state, log)
    # WeightAverage after the checkpoint: the epoch's checkpoints hold the averaged weights.
    average = [WeightAverage(cfg.train.ema)] if cfg.train.ema else []
    callbacks = [
        checkpoint,
        *average,
        keras.callbacks.CSVLogger(str(run_dir / HISTORY), append=resume),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False),
    ]
    t = cfg.train
    lr_base = t.learning_rate / 10 if unfrozen else t.learning_rate
    # Keras's bar on a terminal; elsewhere (logs, CI) the one line per epoch above is enough.
    fit_verbose = verbose if sys.stdout.isatty() else 0
    frozen_until = cfg.train.freeze_encoder_epochs if cfg.model.encoder else 0
    if initial_epoch < frozen_until:
        # Freeze-then-unfreeze: train the decoder on a frozen pretrained encoder first.
        from edgeseg.train.encoders import set_encoder_trainable

        set_encoder_trainable(model, False)
        compile_model(model, cfg, distill=distill)
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=min(frozen_until, cfg.train.epochs),
            initial_epoch=initial_epoch,
            callbacks=lr_callbacks(t.lr_schedule, t.learning_rate, t.epochs) + callbacks,
            verbose=fit_verbose,
        )
        initial_epoch = min(frozen_until, cfg.train.epochs)
        set_encoder_trainable(model, True)
        compile_model(model, cfg, learning_rate=cfg.train.learning_rate / 10, distill=distill)
        lr_base = cfg.train.learning_rate / 10
        log(f"encoder unfrozen after epoch {initial_epoch}; learning rate / 10")
    if initial_epoch < cfg.train.epochs and not checkpoint.stopped_early and not checkpoint.nan:
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.train.epochs,
            initial_epoch=initial_epoch,
            callbacks=lr_callbacks(t.lr_schedule, lr_base, t.epochs) + callbacks,
            verbose=fit_verbose,
        )
    if checkpoint.nan:
        done = int(read_state(run_dir).get("epoch", -1)) + 1
        raise _diverged(
            f"the checkpoints of epochs 1-{done} are kept in {run_dir}"
            if done
            else "no epoch finished, so no checkpoint was written"
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
