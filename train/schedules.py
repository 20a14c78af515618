"""What changes over a training run besides the weights' gradient step: the learning-rate
schedule (``--lr-schedule``) and an exponential moving average of the weights (``--ema``).

Both are Keras callbacks of :func:`edgeseg.train.loop.train`. The cosine schedule is a function
of the epoch index alone, so ``--resume`` continues it where it stopped. The moving average is
what validation scores and what the checkpoints hold: the raw weights keep training, and the
averaged ones are swapped in for each validation pass and the checkpoint saves that follow it.
"""

from __future__ import annotations

import math

import numpy as np
import tf_keras as keras

from edgeseg.config import LR_SCHEDULES

# The cosine schedule ends at this fraction of the starting learning rate, not at 0: the last
# epochs still move the weights a little.
COSINE_FLOOR = 0.01


def cosine_factor(epoch: int, epochs: int, floor: float = COSINE_FLOOR) -> float:
    """Learning-rate multiplier of ``epoch`` (0-based) of ``epochs``: 1 at the first epoch,
    falling along half a cosine to ``floor`` at the last."""
    if epochs <= 1:
        return 1.0
    progress = min(max(epoch / (epochs - 1), 0.0), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class CosineLearningRate(keras.callbacks.Callback):
    """Sets the optimizer's learning rate to ``base * cosine_factor(epoch, epochs)`` each epoch
    and logs it (``lr``)."""

    def __init__(self, base: float, epochs: int):
        super().__init__()
        self.base = base
        self.epochs = epochs

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        keras.backend.set_value(
            self.model.optimizer.learning_rate, self.base * cosine_factor(epoch, self.epochs)
        )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:  # history.csv gains an lr column
            logs["lr"] = float(keras.backend.get_value(self.model.optimizer.learning_rate))


def lr_callbacks(schedule: str, base: float, epochs: int) -> list[keras.callbacks.Callback]:
    """The callbacks of ``--lr-schedule`` (none for ``constant``)."""
    if schedule not in LR_SCHEDULES:  # the config checks this; a guard for direct callers
        raise ValueError(f"unknown learning-rate schedule {schedule!r}")
    return [CosineLearningRate(base, epochs)] if schedule == "cosine" else []


class WeightAverage(keras.callbacks.Callback):
    """An exponential moving average of the trainable weights, scored and saved in their place.

    After every training step: ``average = momentum * average + (1 - momentum) * weights``.
    Before each validation pass the averaged weights are swapped in (batch-norm statistics stay
    the model's own); they stay in while the checkpoints of that epoch are saved, so list this
    callback after the checkpoint callback: its ``on_epoch_end`` swaps the raw weights back.
    """

    def __init__(self, momentum: float):
        super().__init__()
        if not 0.0 < momentum < 1.0:
            raise ValueError(f"EMA momentum {momentum} is not between 0 and 1")
        self.momentum = momentum
        self.average: list[np.ndarray] | None = None
        self.raw: list[np.ndarray] | None = None

    def _weights(self) -> list:
        return self.model.trainable_weights

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.average = [w.numpy().copy() for w in self._weights()]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        keep = self.momentum
        for avg, w in zip(self.average, self._weights(), strict=True):
            avg *= keep
            avg += (1.0 - keep) * w.numpy()

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self.average is None or self.raw is not None:  # evaluate() outside fit, or swapped
            return
        self.raw = [w.numpy() for w in self._weights()]
        for w, avg in zip(self._weights(), self.average, strict=True):
            w.assign(avg)

    def restore(self) -> None:
        """Put the raw (training) weights back after a validation pass."""
        if self.raw is None:
            return
        for w, raw in zip(self._weights(), self.raw, strict=True):
            w.assign(raw)
        self.raw = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.restore()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.restore()
