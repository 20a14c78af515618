"""Run folders are safe: one writer at a time, --force builds beside and swaps at the end,
interruptions leave the old run intact, bad learning rates are refused before any work,
leftovers of killed saves and conversions are cleaned up."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

tf = pytest.importorskip("tensorflow")

from typer.testing import CliRunner  # noqa: E402

from edgeseg.cli import app  # noqa: E402
from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.runlock import lock_file, run_lock  # noqa: E402
from edgeseg.train.runner import TrainOptions, train_run  # noqa: E402
from edgeseg.train.serialization import LAST, load_model, model_path  # noqa: E402

SIZE = 32


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from edgeseg.train.synth import write_dataset

    folder = tmp_path_factory.mktemp("rundata") / "data"
    write_dataset(folder, 24, size=(SIZE, SIZE), seed=0)
    return folder


def _opts(data: Path, out: Path, **kw) -> TrainOptions:
    base = dict(
        data=data,
        out=out,
        size=SIZE,
        base_filters=4,
        depth=2,
        epochs=1,
        batch_size=8,
        patience=2,
        subject_regex=r"^(s\d+)_",
    )
    return TrainOptions(**{**base, **kw})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _leftovers(run: Path) -> list[str]:
    return sorted(p.name for p in run.parent.glob(f".{run.name}.*"))


@pytest.fixture(scope="module")
def old_run(tmp_path_factory, data) -> Path:
    """A finished 1-epoch run (base 4 filters), copied by tests that change it."""
    run = tmp_path_factory.mktemp("old") / "run"
    train_run(_opts(data, run), log=lambda _m: None)
    return run


def _copy(run: Path, dest: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run, dest))


# ----------------------------------------------------------------------------- the lock


def _holder(run: Path) -> subprocess.Popen:
    """Another process that holds ``run``'s lock until killed."""
    code = (
        "import sys, time\n"
        "from edgeseg.runlock import run_lock\n"
        "lock = run_lock(sys.argv[1], 'edgeseg train --out elsewhere')\n"
        "lock.__enter__()\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(run)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_told_who_holds_the_run(old_run, data, tmp_path):
    from edgeseg.convert.tflite import export

    run = _copy(old_run, tmp_path / "run")
    holder = _holder(run)
    try:
        before = _snapshot(run)
        with pytest.raises(ConfigError, match=f"in use by pid {holder.pid} on ") as info:
            train_run(_opts(data, run, force=True), log=lambda _m: None)
        assert socket.gethostname() in str(info.value)
        assert "edgeseg train --out elsewhere" in str(info.value)
        with pytest.raises(ConfigError, match=f"pid {holder.pid}"):
            export(run, "float32")  # writes into RUN/export
        result = CliRunner().invoke(app, ["qat", str(run), "--epochs", "1"])
        assert result.exit_code == 2 and f"in use by pid {holder.pid}" in result.stderr
        assert len([x for x in result.stderr.splitlines() if x.startswith("edgeseg:")]) == 1
        assert _snapshot(run) == before
        # Reading the run is not writing it: a conversion to a file elsewhere still works.
        assert export(run, "float32", out=tmp_path / "elsewhere.tflite").path.is_file()
    finally:
        holder.kill()
        holder.wait()
    # The holder died without cleaning up: its lock file is stale and is taken over.
    assert lock_file(run).is_file()
    with run_lock(run, "test"):
        assert json.loads(lock_file(run).read_text())["pid"] == os.getpid()
    assert not lock_file(run).exists()


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    run = tmp_path / "run"
    with run_lock(run, "outer"), run_lock(run, "inner"):
        assert json.loads(lock_file(run).read_text())["command"] == "outer"
    assert not lock_file(run).exists()


# ----------------------------------------------------------------------------- --force


def test_force_builds_beside_and_swaps_at_the_end(old_run, data, tmp_path):
    run = _copy(old_run, tmp_path / "run")
    (run / "export").mkdir()
    (run / "export" / "stale.tflite").write_bytes(b"from the old model")
    result = train_run(_opts(data, run, force=True, base_filters=6), log=lambda _m: None)
    assert result.run_dir == run
    assert json.loads((run / "config.json").read_text())["model"]["base_filters"] == 6
    assert json.loads((run / "state.json").read_text())["finished"] is True
    assert not (run / "export").exists()  # nothing of the old model stays beside the new one
    assert load_model(model_path(run, "best")).count_params() > 0
    assert _leftovers(run) == []


def test_a_failing_force_leaves_the_old_run_byte_identical(old_run, data, tmp_path, monkeypatch):
    import edgeseg.train.loop as loop

    run = _copy(old_run, tmp_path / "run")
    before = _snapshot(run)
    real = loop.train

    def failing(cfg, work, *args, **kwargs):
        real(cfg, work, *args, **kwargs)  # a complete new run in the hidden sibling...
        raise RuntimeError("disk on fire")  # ...then a failure before the swap

    monkeypatch.setattr(loop, "train", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        train_run(_opts(data, run, force=True, base_filters=6), log=lambda _m: None)
    assert _snapshot(run) == before
    assert _leftovers(run) == []


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "edgeseg.cli", *args]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_force_keeps_the_old_run_or_completes(old_run, data, tmp_path, sig):
    """Kill ``train --force`` at a random moment: the old run byte for byte, or the new one whole.

    The moment is drawn in proportion to this machine's start-up time (seed in the failure
    message; EDGESEG_KILL_SEED replays one).
    """
    run = _copy(old_run, tmp_path / "run")
    before = _snapshot(run)
    args = _cli(
        "train", "--data", str(data), "--out", str(run), "--force", "--size", str(SIZE),
        "--base-filters", "6", "--depth", "2", "--epochs", "2", "--batch-size", "8",
        "--subject-regex", r"^(s\d+)_",
    )  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    seed = int(os.environ.get("EDGESEG_KILL_SEED", random.SystemRandom().randrange(10**6)))
    rng = random.Random(seed)
    start = time.time()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Wait until the new run is being built (or done), then kill after a random extra delay.
    while not list(run.parent.glob(f".{run.name}.building-*")) and proc.poll() is None:
        time.sleep(0.05)
    # Start-up (import, data) took t; training 2 epochs takes a few t more: 0..8t covers both.
    time.sleep(rng.uniform(0.0, 8 * (time.time() - start)))
    proc.send_signal(sig)
    proc.communicate(timeout=300)
    after = _snapshot(run)
    context = f"seed {seed}, {sig.name}, exit {proc.returncode}"
    if after != before:  # then it must be the complete new run
        assert json.loads((run / "config.json").read_text())["model"]["base_filters"] == 6, context
        assert json.loads((run / "state.json").read_text())["finished"] is True, context
        load_model(model_path(run, "best"))
    if sig == signal.SIGINT:
        assert _leftovers(run) == [], context
    # Whatever a kill -9 left beside the run is swept by the next writer.
    train_run(_opts(data, run, force=True), log=lambda _m: None)
    assert _leftovers(run) == [], context


# ----------------------------------------------------------------------------- resume


def test_resume_sweeps_temp_files_and_continues(old_run, data, tmp_path):
    run = _copy(old_run, tmp_path / "run")
    raw = json.loads((run / "config.json").read_text())
    raw["train"]["epochs"] = 2  # a 2-epoch run killed while saving epoch 2
    (run / "config.json").write_text(json.dumps(raw))
    partial = [run / f".{LAST}.x1y2.tmp", run / f".{LAST}.x1y2.h5", run / ".state.json.abc.tmp"]
    for p in partial:
        p.write_bytes(b"half a checkpoint")
    result = train_run(_opts(None, run, resume=True), log=lambda _m: None)
    assert result.epochs_run == 2
    assert not any(p.exists() for p in partial)
    assert len((run / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs


def test_resume_restores_the_optimizer_state(old_run, tmp_path):
    from edgeseg.config import load_config
    from edgeseg.train.loop import compile_model
    from edgeseg.train.serialization import restore_optimizer

    cfg = load_config(old_run)
    model = load_model(old_run / LAST)
    compile_model(model, cfg)
    restore_optimizer(model, old_run / LAST)
    import h5py

    with h5py.File(old_run / LAST, "r") as f:
        saved = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in saved.attrs["weight_names"]]
        assert len(names) == len(model.optimizer.variables)
        for name, var in zip(names, model.optimizer.variables, strict=True):
            assert (saved[name][()] == var.numpy()).all(), name
    assert int(model.optimizer.iterations.numpy()) > 0


def test_a_run_killed_before_its_first_epoch_is_simply_started_over(data, tmp_path):
    from edgeseg.config import RunConfig

    run = tmp_path / "run"
    RunConfig().save(run)  # what train writes before its first epoch ends
    with pytest.raises(ConfigError, match="stopped before its first epoch.*drop --resume"):
        train_run(_opts(None, run, resume=True), log=lambda _m: None)
    result = train_run(_opts(data, run), log=lambda _m: None)  # no --resume, no --force
    assert result.epochs_run == 1 and (run / LAST).is_file()


# ----------------------------------------------------------------------------- bad options


@pytest.mark.parametrize("lr", [float("inf"), float("nan"), 0.0, -1e-3])
def test_a_bad_learning_rate_is_refused_before_any_work(data, tmp_path, lr):
    run = tmp_path / "run"
    with pytest.raises(ConfigError, match="finite number above 0"):
        train_run(_opts(data, run, lr=lr), log=lambda _m: None)
    assert not run.exists()
    result = CliRunner().invoke(
        app, ["train", "--data", str(data), "--out", str(run), "--lr", str(lr)]
    )
    assert result.exit_code == 2 and "finite number above 0" in result.stderr
    assert not run.exists()


def test_the_library_refuses_a_bad_learning_rate_in_a_config(data, tmp_path):
    from edgeseg.config import RunConfig, TrainSpec
    from edgeseg.train.loop import train

    cfg = RunConfig(train=TrainSpec(learning_rate=float("inf")))
    with pytest.raises(ConfigError, match="--lr inf"):
        train(cfg, tmp_path / "run", None, None)
    assert not (tmp_path / "run").exists()


def test_calibration_that_does_not_exist_is_an_error_for_a_qat_run(old_run, data, tmp_path):
    from edgeseg.config import load_config
    from edgeseg.convert.tflite import export
    from edgeseg.datasets import discover, load_arrays
    from edgeseg.train.qat import qat_finetune

    run = _copy(old_run, tmp_path / "run")
    cfg = load_config(run)
    samples, _ = discover(data, "auto", r"^(s\d+)_")
    arrays = load_arrays(samples, cfg.preprocessing, cfg.classes)
    qat_finetune(run, arrays, arrays, cfg, epochs=1, lr=1e-5)
    with pytest.raises(ConfigError, match="--calibration .*does/not/exist: no such folder"):
        export(run, "int8", calibration=Path("/does/not/exist"))
    assert not (run / "export").exists()


# ----------------------------------------------------------------------------- scratch


def test_conversion_scratch_is_removed_and_stale_scratch_swept(old_run, tmp_path, monkeypatch):
    import tempfile

    from edgeseg.convert import scratch
    from edgeseg.convert.tflite import export

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{scratch.PREFIX}{dead.pid}-abc"
    (stale / "saved_model").mkdir(parents=True)
    mine = tmp_path / f"{scratch.PREFIX}{os.getppid()}-live"  # a live process: kept
    mine.mkdir()
    export(old_run, "float32", out=tmp_path / "out" / "m.tflite")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["out", mine.name]), left


@pytest.fixture
def nan_loss(monkeypatch):
    """Every training loss is NaN from the first step (a diverging run)."""
    import edgeseg.train.loop as loop

    def nan(y_true, y_pred):
        return tf.reduce_mean(y_pred) * float("nan")

    monkeypatch.setitem(loop.LOSSES, "dice_bce", nan)


def test_divergence_says_truly_what_is_kept(nan_loss, old_run, data, tmp_path):
    from edgeseg.errors import TrainingError

    fresh = tmp_path / "fresh"
    with pytest.raises(TrainingError, match="no epoch finished, so no checkpoint was written"):
        train_run(_opts(data, fresh), log=lambda _m: None)
    assert not (fresh / LAST).exists() and not (fresh / "model_best.h5").exists()
    run = _copy(old_run, tmp_path / "run")
    before = _snapshot(run)
    with pytest.raises(TrainingError, match=f"{run} still holds the previous run"):
        train_run(_opts(data, run, force=True), log=lambda _m: None)
    assert _snapshot(run) == before and _leftovers(run) == []
