"""--augment-profile: the ultrasound profile's gamma and depth gain ramp, the standard profile's
unchanged draws, the choice recorded in config.json, and one-line refusals."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from edgeseg.config import AUGMENT_PROFILES, TrainSpec  # noqa: E402
from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train import data as train_data  # noqa: E402
from edgeseg.train.data import Augment, augment_batch, augment_for  # noqa: E402
from edgeseg.train.runner import TrainOptions, train_options, train_run  # noqa: E402

SEED = tf.constant([0, 7], tf.int64)
OFF = Augment(flip=False, max_shift=0, max_scale=0, max_rotate_deg=0, gain=0, contrast=0, speckle=0)


def _batch(value: float = 0.5, n: int = 16, size: int = 32):
    images = tf.fill([n, size, size, 1], value)
    masks = tf.cast(tf.random.stateless_uniform([n, size, size, 1], [1, 2]) > 0.8, tf.float32)
    return images, masks


def test_every_profile_name_has_strengths_and_standard_is_the_old_default():
    assert set(train_data.AUGMENT_PROFILES) == set(AUGMENT_PROFILES)
    assert train_data.AUGMENT_PROFILES["standard"] == Augment()
    strong = train_data.AUGMENT_PROFILES["ultrasound"]
    assert strong.gamma > 0 and strong.depth_gain > 0
    for field in ("max_shift", "max_scale", "max_rotate_deg", "gain", "contrast", "speckle"):
        assert getattr(strong, field) >= getattr(Augment(), field)


def test_augment_for_follows_the_run_settings():
    assert augment_for(TrainSpec()) == Augment()
    assert augment_for(TrainSpec(augment_profile="ultrasound")).depth_gain > 0
    assert augment_for(TrainSpec(augment=False, augment_profile="ultrasound")) is None


def test_depth_gain_ramps_each_frame_monotonically_within_its_bound():
    images, masks = _batch()
    out, out_masks = augment_batch(images, masks, dataclasses.replace(OFF, depth_gain=0.3), SEED)
    rows = out.numpy()[..., 0].mean(axis=2)  # (frames, rows): constant along each row
    steps = np.diff(rows, axis=1)
    assert np.all((steps >= -1e-6).all(axis=1) | (steps <= 1e-6).all(axis=1))  # one direction
    assert rows.min() >= 0.5 * 0.7 - 1e-6 and rows.max() <= 0.5 * 1.3 + 1e-6
    assert np.ptp(rows[:, 0]) > 0.01  # frames draw different ramps
    np.testing.assert_array_equal(out_masks.numpy(), masks.numpy())  # tone only: masks kept


def test_gamma_changes_mid_grey_but_keeps_black_and_white():
    levels = tf.reshape(tf.constant([0.0, 0.25, 0.5, 1.0]), [1, 1, 4, 1])
    images = tf.tile(levels, [16, 4, 1, 1])
    out, _ = augment_batch(images, tf.zeros_like(images), dataclasses.replace(OFF, gamma=0.3), SEED)
    out = out.numpy()[:, 0, :, 0]
    np.testing.assert_allclose(out[:, 0], 0.0)
    np.testing.assert_allclose(out[:, 3], 1.0, rtol=1e-6)
    mid = out[:, 2]
    assert 0.5 ** np.exp(0.3) - 1e-6 <= mid.min() < mid.max() <= 0.5 ** np.exp(-0.3) + 1e-6


def test_the_standard_profile_skips_the_tone_curves(monkeypatch):
    called = []
    monkeypatch.setattr(train_data, "_tone_curves", lambda *a: called.append(a) or a[0])
    images, masks = _batch()
    augment_batch(images, masks, Augment(), SEED)
    assert called == []
    augment_batch(images, masks, train_data.AUGMENT_PROFILES["ultrasound"], SEED)
    assert len(called) == 1


def test_an_unknown_profile_is_a_one_line_error(tmp_path):
    match = "--augment-profile 'strong' is not one of standard, ultrasound"
    with pytest.raises(ConfigError, match=match):
        train_options(data=tmp_path, out=tmp_path / "run", augment_profile="strong")
    with pytest.raises(ConfigError, match=match):
        TrainSpec(augment_profile="strong")

    from typer.testing import CliRunner

    from edgeseg.cli import app

    result = CliRunner().invoke(
        app,
        ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
         "--augment-profile", "strong"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert match in result.output and "Traceback" not in result.output


def test_a_run_records_its_profile(tmp_path, synth_dir):
    out = tmp_path / "run"
    opts = TrainOptions(
        data=synth_dir, out=out, size=64, base_filters=4, depth=2, epochs=1, batch_size=8,
        subject_regex=r"^(s\d+)_", augment_profile="ultrasound",
    )  # fmt: skip
    train_run(opts, log=lambda _: None)
    assert json.loads((out / "config.json").read_text())["train"]["augment_profile"] == "ultrasound"
