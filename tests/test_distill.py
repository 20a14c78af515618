"""--teacher: soft masks from trained runs, the distillation loss, and one-line refusals."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("tf_keras")

from edgeseg.config import Preprocessing, load_config  # noqa: E402
from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.distill import (  # noqa: E402
    check_teacher,
    distillation_loss,
    on_hard_masks,
    teacher_probabilities,
    with_own_masks,
    with_soft_masks,
)
from edgeseg.train.losses import dice_bce_loss, hard_dice  # noqa: E402
from edgeseg.train.options import parse_teachers  # noqa: E402
from edgeseg.train.runner import TrainOptions, train_run  # noqa: E402


def _batch(classes: int = 2):
    rng = np.random.default_rng(0)
    hard = (rng.random((3, 8, 8, classes)) > 0.7).astype(np.float32)
    soft = rng.random((3, 8, 8, classes)).astype(np.float32)
    pred = np.clip(rng.random((3, 8, 8, classes)), 0.01, 0.99).astype(np.float32)
    return hard, soft, pred


def test_distillation_loss_is_the_base_loss_plus_weighted_soft_bce():
    hard, soft, pred = _batch()
    loss = distillation_loss(dice_bce_loss, classes=2, weight=0.5)
    got = loss(tf.constant(np.concatenate([hard, soft], -1)), tf.constant(pred)).numpy()
    # Binary cross-entropy against the soft targets, by hand, per frame.
    bce = -(soft * np.log(pred) + (1 - soft) * np.log(1 - pred)).mean(axis=(1, 2, 3))
    want = dice_bce_loss(tf.constant(hard), tf.constant(pred)).numpy() + 0.5 * bce
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert got.shape == (3,) and loss.__name__ == "distill_dice_bce_loss"


def test_metric_on_hard_masks_keeps_its_name_and_ignores_the_soft_part():
    hard, soft, pred = _batch()
    metric = on_hard_masks(hard_dice, classes=2)
    assert metric.__name__ == "hard_dice"  # loop.val_dice_key still finds it
    both = tf.constant(np.concatenate([hard, soft], -1))
    np.testing.assert_allclose(metric(both, pred), hard_dice(tf.constant(hard), pred))


def test_soft_masks_ride_as_extra_channels():
    images = np.zeros((3, 8, 8), np.uint8)
    hard, soft, _ = _batch()
    _, y = with_soft_masks((images, hard.astype(np.uint8)), soft)
    assert y.shape == (3, 8, 8, 4) and y.dtype == np.float32
    np.testing.assert_array_equal(y[..., :2], hard)
    np.testing.assert_array_equal(y[..., 2:], soft)
    _, own = with_own_masks((images, hard))
    np.testing.assert_array_equal(own[..., 2:], hard)
    with pytest.raises(ValueError, match="do not match"):
        with_soft_masks((images, hard), soft[..., :1])


def test_parse_teachers_lists_runs_and_refuses_a_folder_that_is_not_one(tiny_run, tmp_path):
    assert parse_teachers(None) == ()
    assert parse_teachers(f"{tiny_run}, {tiny_run}") == (tiny_run, tiny_run)
    with pytest.raises(ConfigError, match="not an edgeseg training run"):
        parse_teachers(f"{tiny_run},{tmp_path}")
    with pytest.raises(ConfigError, match="expected run folders"):
        parse_teachers(" , ")


def test_a_teacher_must_see_frames_as_the_student_does(tiny_run):
    teacher = load_config(tiny_run)
    check_teacher(teacher, teacher, tiny_run)  # itself: fine
    other_size = dataclasses.replace(teacher, preprocessing=Preprocessing(height=32, width=32))
    with pytest.raises(ConfigError, match="prepares frames differently"):
        check_teacher(teacher, other_size, tiny_run)
    from edgeseg.config import ClassSpec

    two = dataclasses.replace(teacher, classes=(ClassSpec("nerve", 1), ClassSpec("vessel", 2)))
    with pytest.raises(ConfigError, match="has classes nerve, this run nerve, vessel"):
        check_teacher(teacher, two, tiny_run)


def test_teacher_probabilities_are_the_teachers_mean(tiny_run):
    from edgeseg.evaluation.predictions import keras_predictor
    from edgeseg.train.serialization import load_model, model_path

    cfg = load_config(tiny_run)
    images = np.random.default_rng(1).integers(0, 255, (4, 64, 64), dtype=np.uint8)
    own, _ = keras_predictor(load_model(model_path(tiny_run, "best"), cfg))(images)
    soft = teacher_probabilities([tiny_run, tiny_run], images, cfg)
    assert soft.shape == (4, 64, 64, 1) and soft.dtype == np.float32
    np.testing.assert_allclose(soft, own, atol=1e-6)
    assert 0.0 < soft.min() < soft.max() < 1.0  # probabilities, not a thresholded mask


def _student(synth_dir, out, **kw):
    options = dict(
        data=synth_dir, out=out, size=64, base_filters=4, depth=2, epochs=2, batch_size=8,
        subject_regex=r"^(s\d+)_", patience=10,
    )  # fmt: skip
    return TrainOptions(**{**options, **kw})


def test_a_distilled_run_records_its_teachers_and_scores_hard_masks(tmp_path, synth_dir, tiny_run):
    out = tmp_path / "student"
    lines: list[str] = []
    result = train_run(_student(synth_dir, out, teacher=str(tiny_run)), log=lines.append)
    assert result.epochs_run == 2
    assert any("soft masks of 1 teacher run" in line for line in lines)
    train = json.loads((out / "config.json").read_text())["train"]
    assert train["teachers"] == [str(tiny_run.resolve())] and train["distill_weight"] == 1.0
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert "val_mask_hard_dice" in rows[0] and len(rows) == 2
    # The same run without a teacher starts from the same weights (the soft masks are made
    # before the seed) but learns from other targets: its first-epoch loss differs.
    plain = tmp_path / "plain"
    train_run(_student(synth_dir, plain), log=lambda _: None)
    plain_rows = list(csv.DictReader((plain / "history.csv").open()))
    assert float(rows[0]["loss"]) != pytest.approx(float(plain_rows[0]["loss"]), rel=1e-3)


def test_a_teacher_of_another_input_size_is_refused_before_training(tmp_path, synth_dir, tiny_run):
    with pytest.raises(ConfigError, match="prepares frames differently"):
        _student(synth_dir, tmp_path / "s", teacher=str(tiny_run), size=32)
    assert not (tmp_path / "s").exists()  # refused as the options are read: nothing written


def test_bad_distill_weight_is_one_line(tmp_path):
    from edgeseg.train.options import train_options

    with pytest.raises(ConfigError, match="--distill-weight 0.0"):
        train_options(data=tmp_path, out=tmp_path / "r", distill_weight=0.0)
