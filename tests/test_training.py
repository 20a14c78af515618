"""Training on tiny synthetic data: it learns, checkpoints reload, resume works, NaN is caught."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from edgeseg.config import load_config  # noqa: E402
from edgeseg.errors import ConfigError, TrainingError  # noqa: E402
from edgeseg.train.runner import TrainOptions, train_run  # noqa: E402
from edgeseg.train.serialization import load_model, model_path  # noqa: E402


def test_tiny_run_beats_all_background(tiny_run, synth_test_dir):
    from edgeseg.train.evaluate import evaluate

    report = evaluate(tiny_run, synth_test_dir)
    nerve = report["summary"]["nerve"]
    gt_empty = nerve["presence"]["empty_gt_frames"] / nerve["presence"]["frames"]
    # An all-background prediction scores exactly the share of empty frames (Kaggle rule).
    assert nerve["dice"]["mean"] > gt_empty + 0.1
    assert nerve["dice"]["ci_low"] <= nerve["dice"]["mean"] <= nerve["dice"]["ci_high"]
    saved = json.loads((tiny_run / "evaluation" / "evaluation.json").read_text())
    assert saved["frames"] == 16 and saved["summary"]["nerve"]["dice"]["mean"] == pytest.approx(
        nerve["dice"]["mean"]
    )
    rows = list(csv.DictReader((tiny_run / "evaluation" / "per_image.csv").open()))
    assert len(rows) == 16 and "nerve/dice" in rows[0]


def test_config_records_what_later_steps_need(tiny_run):
    cfg = load_config(tiny_run)
    assert cfg.preprocessing.size == (64, 64)
    assert cfg.class_names == ["nerve"]
    assert cfg.postprocess.threshold == 0.5
    assert set(cfg.train_subjects).isdisjoint(cfg.val_subjects)
    assert cfg.train_frames + cfg.val_frames == 48
    assert cfg.model.base_filters == 8 and cfg.model.depth == 2


def test_checkpoints_reload_exactly(tiny_run):
    model = load_model(model_path(tiny_run, "best"))
    again = load_model(model_path(tiny_run, "best"))
    x = np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 1)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0)[0], again.predict(x, verbose=0)[0])
    history = list(csv.DictReader((tiny_run / "history.csv").open()))
    assert len(history) == 10
    assert (tiny_run / "tensorboard").is_dir()


def _opts(data, out, **kw):
    base = dict(
        data=data,
        out=out,
        size=64,
        base_filters=4,
        depth=2,
        epochs=2,
        batch_size=8,
        subject_regex=r"^(s\d+)_",
        patience=10,
    )
    base.update(kw)
    return TrainOptions(**base)


def test_resume_continues_from_last_epoch(tmp_path, synth_dir):
    out = tmp_path / "run"
    train_run(_opts(synth_dir, out, epochs=2), log=lambda _: None)
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 1
    # Simulate an interrupted 4-epoch run: resume with the target raised.
    cfg = json.loads((out / "config.json").read_text())
    cfg["train"]["epochs"] = 4
    (out / "config.json").write_text(json.dumps(cfg))
    result = train_run(_opts(synth_dir, out, resume=True), log=lambda _: None)
    assert result.epochs_run == 4
    epochs = [int(r["epoch"]) for r in csv.DictReader((out / "history.csv").open())]
    assert epochs == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="already holds a training run"):
        train_run(_opts(synth_dir, out), log=lambda _: None)


def test_resume_without_checkpoint_is_refused(tmp_path, synth_dir):
    with pytest.raises(ConfigError, match="--resume"):
        train_run(_opts(synth_dir, tmp_path / "none", resume=True), log=lambda _: None)


def test_nan_loss_stops_with_a_clear_error(tmp_path, synth_dir, monkeypatch):
    from edgeseg.train import losses

    def nan_loss(y_true, y_pred):
        return tf.reduce_mean(y_pred) * float("nan")

    monkeypatch.setitem(losses.LOSSES, "dice_bce", nan_loss)
    with pytest.raises(TrainingError, match="NaN loss"):
        train_run(_opts(synth_dir, tmp_path / "nan", epochs=1), log=lambda _: None)


def test_kill_9_loses_at_most_one_epoch(tmp_path, synth_dir):
    """SIGKILL a real `edgeseg train` mid-run, then --resume: it continues after the last epoch."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "edgeseg.cli",
        "train",
        "--data",
        str(synth_dir),
        "--out",
        str(out),
        "--size",
        "64",
        "--base-filters",
        "4",
        "--depth",
        "2",
        "--epochs",
        "40",
        "--batch-size",
        "8",
        "--subject-regex",
        r"^(s\d+)_",
        "--patience",
        "40",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    logged = []
    deadline = time.time() + 240
    for line in proc.stdout:  # "epoch N: val Dice ..." after each finished epoch
        if line.startswith("epoch "):
            logged.append(int(line.split()[1].rstrip(":")))
        if len(logged) >= 2 or time.time() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(logged) >= 2, "training did not get through two epochs"
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] + 1 >= logged[-1] - 1  # at most one finished epoch lost
    assert not list(out.glob(".*.tmp")), "a half-written file was left behind"
    cfg = json.loads((out / "config.json").read_text())
    cfg["train"]["epochs"] = state["epoch"] + 3
    (out / "config.json").write_text(json.dumps(cfg))
    result = train_run(_opts(synth_dir, out, resume=True, base_filters=4), log=lambda _: None)
    assert result.epochs_run == state["epoch"] + 3
    assert json.loads((out / "state.json").read_text())["finished"] is True


def test_encoder_freeze_then_unfreeze(tmp_path, synth_dir):
    from edgeseg.train.encoders import encoder_layers
    from edgeseg.train.serialization import load_model, model_path

    messages: list[str] = []
    out = tmp_path / "enc"
    train_run(
        _opts(synth_dir, out, encoder="mobilenetv2", freeze_encoder_epochs=1, epochs=2),
        log=messages.append,
    )
    assert any("encoder unfrozen after epoch 1" in m for m in messages)
    cfg = load_config(out)
    assert cfg.model.encoder == "mobilenetv2" and cfg.model.arch == "mobilenetv2_unet"
    model = load_model(model_path(out, "last"))
    assert encoder_layers(model) and all(layer.trainable for layer in encoder_layers(model))
