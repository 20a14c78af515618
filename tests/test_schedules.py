"""--lr-schedule cosine and --ema: the learning rate each epoch gets, the average validation
scores and checkpoints hold, the raw weights training continues from, and one-line refusals."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("tf_keras")

from edgeseg.config import TrainSpec  # noqa: E402
from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.runner import TrainOptions, train_options, train_run  # noqa: E402
from edgeseg.train.schedules import (  # noqa: E402
    COSINE_FLOOR,
    CosineLearningRate,
    WeightAverage,
    cosine_factor,
    lr_callbacks,
)


def test_cosine_factor_runs_from_one_to_the_floor():
    factors = [cosine_factor(e, 5) for e in range(5)]
    assert factors[0] == 1.0 and factors[-1] == pytest.approx(COSINE_FLOOR)
    assert all(a > b for a, b in zip(factors, factors[1:], strict=False))
    # Half way the factor is half way between 1 and the floor.
    assert factors[2] == pytest.approx((1.0 + COSINE_FLOOR) / 2)
    assert cosine_factor(0, 1) == 1.0
    assert cosine_factor(9, 5) == pytest.approx(COSINE_FLOOR)  # past the end: stays at the floor


def _tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _data(n: int = 8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None]


class _Probe(keras.callbacks.Callback):
    """Records the learning rate and the weights at the hooks a test asks about."""

    def __init__(self):
        super().__init__()
        self.lr: list[float] = []
        self.after_batch: list[list[np.ndarray]] = []
        self.at_test: list[list[np.ndarray]] = []
        self.at_epoch_end: list[list[np.ndarray]] = []

    def _w(self):
        return [w.numpy().copy() for w in self.model.trainable_weights]

    def on_epoch_begin(self, epoch, logs=None):
        self.lr.append(float(keras.backend.get_value(self.model.optimizer.learning_rate)))

    def on_train_batch_end(self, batch, logs=None):
        self.after_batch.append(self._w())

    def on_test_begin(self, logs=None):
        self.at_test.append(self._w())

    def on_epoch_end(self, epoch, logs=None):
        self.at_epoch_end.append(self._w())


def test_cosine_callback_sets_each_epochs_learning_rate():
    model, probe = _tiny_model(), _Probe()
    x, y = _data()
    model.fit(
        x, y, epochs=4, batch_size=4, verbose=0, callbacks=[CosineLearningRate(0.1, 4), probe]
    )
    assert probe.lr == pytest.approx([0.1 * cosine_factor(e, 4) for e in range(4)])
    # Resuming at epoch 2 of 4 picks the schedule up where it stopped.
    probe2 = _Probe()
    model.fit(
        x, y, epochs=4, initial_epoch=2, batch_size=4, verbose=0,
        callbacks=[CosineLearningRate(0.1, 4), probe2],
    )  # fmt: skip
    assert probe2.lr == pytest.approx([0.1 * cosine_factor(e, 4) for e in (2, 3)])


def test_constant_schedule_adds_no_callback_and_unknown_is_refused():
    assert lr_callbacks("constant", 0.1, 4) == []
    assert isinstance(lr_callbacks("cosine", 0.1, 4)[0], CosineLearningRate)
    with pytest.raises(ValueError, match="step"):
        lr_callbacks("step", 0.1, 4)


def test_weight_average_is_validated_and_saved_then_training_continues_raw():
    model = _tiny_model()
    x, y = _data()
    start = [w.numpy().copy() for w in model.trainable_weights]
    momentum = 0.5
    # The probe before the average sees what a checkpoint callback there sees at epoch end;
    # the one after it sees validation's weights and, at epoch end, the restored raw ones.
    before, after = _Probe(), _Probe()
    model.fit(
        x, y, epochs=2, batch_size=4, verbose=0, validation_data=(x, y),
        callbacks=[before, WeightAverage(momentum), after],
    )  # fmt: skip
    expected, per_epoch = start, []
    for step, raw in enumerate(after.after_batch):
        expected = [momentum * a + (1 - momentum) * r for a, r in zip(expected, raw, strict=True)]
        if step % 2 == 1:  # 8 frames, batch 4: two steps per epoch
            per_epoch.append(expected)
    assert len(per_epoch) == 2
    for epoch, average in enumerate(per_epoch):
        for got, want in zip(after.at_test[epoch], average, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)
        for got, want in zip(before.at_epoch_end[epoch], average, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)
        raw = after.after_batch[2 * epoch + 1]
        for got, want in zip(after.at_epoch_end[epoch], raw, strict=True):
            np.testing.assert_array_equal(got, want)
    # The average differs from the raw weights (or the test would prove nothing).
    assert not np.allclose(per_epoch[-1][0], after.after_batch[-1][0])
    # After fit the model holds the raw weights of the last step.
    for got, want in zip(model.trainable_weights, after.after_batch[-1], strict=True):
        np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("momentum", [0.0, 1.0, -0.1])
def test_weight_average_refuses_a_momentum_outside_0_1(momentum):
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(momentum)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr_schedule": "linear"}, "--lr-schedule 'linear' is not one of constant, cosine"),
        ({"ema": 1.0}, "--ema 1.0"),
        ({"ema": -0.5}, "--ema -0.5"),
    ],
)
def test_bad_schedule_options_are_one_line_config_errors(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        train_options(data=tmp_path, out=tmp_path / "run", **kwargs)
    with pytest.raises(ConfigError, match=match):
        TrainSpec(**kwargs)


def test_cli_rejects_a_bad_schedule_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from edgeseg.cli import app

    result = CliRunner().invoke(
        app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--lr-schedule", "x"]
    )
    assert result.exit_code == 2
    assert "--lr-schedule 'x' is not one of constant, cosine" in result.output
    assert "Traceback" not in result.output


def test_training_run_records_and_uses_the_schedule_and_average(tmp_path, synth_dir):
    out = tmp_path / "run"
    opts = TrainOptions(
        data=synth_dir, out=out, size=64, base_filters=4, depth=2, epochs=3, batch_size=8,
        subject_regex=r"^(s\d+)_", patience=10, lr_schedule="cosine", ema=0.9,
    )  # fmt: skip
    result = train_run(opts, log=lambda _: None)
    assert result.epochs_run == 3
    cfg = json.loads((out / "config.json").read_text())["train"]
    assert cfg["lr_schedule"] == "cosine" and cfg["ema"] == 0.9
    rows = list(csv.DictReader((out / "history.csv").open()))
    lrs = [float(r["lr"]) for r in rows]  # logged by the schedule
    assert lrs == pytest.approx([1e-3 * cosine_factor(e, 3) for e in range(3)], rel=1e-5)
    assert all(math.isfinite(float(r["val_loss"])) for r in rows)
