"""No code runs from a model file: a run folder whose .h5 carries a marshalled ``Lambda`` is
refused in one line by every command that loads a run, and the payload never runs.

The attack is real: plain ``tf_keras.models.load_model`` on the same file runs the payload
(``test_the_attack_file_runs_code_under_plain_keras``). edgeseg rebuilds the network from the
run's config.json and reads only weight arrays (``edgeseg.train.serialization``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from typer.testing import CliRunner  # noqa: E402

from edgeseg.cli import app  # noqa: E402
from edgeseg.errors import ModelError  # noqa: E402
from edgeseg.train.serialization import (  # noqa: E402
    HASH_ATTR,
    load_model,
    model_path,
    save_model,
)

SIZE = 32
MARKER_ENV = "EDGESEG_TEST_MARKER"
# What an attacker marshals into a Lambda: it writes the file named by MARKER_ENV when it runs.
PAYLOAD = (
    "lambda x: (open(__import__('os').environ.get("
    f"{MARKER_ENV!r}, '/dev/null'), 'w').write('pwned'), x)[1]"
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """A genuine 32x32 run (1 epoch) with a float32 export, and its data."""
    from edgeseg.convert.tflite import export
    from edgeseg.train.runner import TrainOptions, train_run
    from edgeseg.train.synth import write_dataset

    root = tmp_path_factory.mktemp("safety")
    data = root / "data"
    write_dataset(data, 24, size=(SIZE, SIZE), seed=0)
    run = root / "run"
    opts = TrainOptions(
        data=data,
        out=run,
        size=SIZE,
        base_filters=4,
        depth=2,
        epochs=1,
        batch_size=8,
        patience=1,
        subject_regex=r"^(s\d+)_",
    )
    train_run(opts, log=lambda _m: None)
    tflite = export(run, "float32", out=root / "model_float32.tflite").path
    return {"root": root, "data": data, "run": run, "tflite": tflite}


def _evil_model(kind: str):
    """``foreign``: input -> Lambda -> conv; ``wrapped``: the run's own network behind a Lambda."""
    import tf_keras as keras

    from edgeseg.config import ModelSpec, Preprocessing, RunConfig
    from edgeseg.train.loop import build_from_config

    x = keras.Input((SIZE, SIZE, 1), name="image")
    y = keras.layers.Lambda(eval(PAYLOAD), name="payload")(x)  # noqa: S307 (the attack itself)
    if kind == "foreign":
        return keras.Model(x, keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(y))
    cfg = RunConfig(
        preprocessing=Preprocessing(height=SIZE, width=SIZE),
        model=ModelSpec(base_filters=4, depth=2),
    )
    return keras.Model(x, build_from_config(cfg)(y))


@pytest.fixture(scope="module")
def evil_files(tiny) -> dict[str, Path]:
    """The attack files, built before any marker is set (building a model runs its Lambda)."""
    assert MARKER_ENV not in os.environ
    paths = {kind: tiny["root"] / f"{kind}.h5" for kind in ("foreign", "wrapped")}
    for kind, path in paths.items():
        _evil_model(kind).save(path)
    return paths


@pytest.fixture(scope="module")
def evil_file(evil_files) -> Path:
    return evil_files["foreign"]


@pytest.fixture
def marker(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(path))
    return path


def test_the_attack_file_runs_code_under_plain_keras(evil_file, marker):
    """Proof that the planted file is a working attack (so the tests below can fail)."""
    import tf_keras as keras

    keras.models.load_model(evil_file)
    assert marker.read_text() == "pwned"


def _planted(tiny, evil: Path, dest: Path) -> Path:
    """A copy of the genuine run with every model file replaced by ``evil``."""
    run = shutil.copytree(tiny["run"], dest)
    (run / "qat").mkdir(exist_ok=True)
    for which in ("best", "last", "qat"):
        shutil.copyfile(evil, model_path(run, which))
    return run


def _commands(run: Path, tiny, out: Path) -> dict[str, list[str]]:
    data = str(tiny["data"])
    return {
        "evaluate": ["evaluate", str(run), "--data", data, "--out", str(out / "eval")],
        "convert": ["convert", str(run), "--out", str(out / "m.tflite")],
        "convert --int8 (qat)": ["convert", str(run), "--int8", "--out", str(out / "q.tflite")],
        "train --resume": ["train", "--out", str(run), "--resume"],
        "qat": ["qat", str(run), "--force", "--epochs", "1"],
        "analyze": ["analyze", str(run), "--data", data, "--out", str(out / "analysis")],
        "parity": [
            "parity",
            "--float",
            str(run),
            "--tflite",
            str(tiny["tflite"]),
            "--data",
            data,
            "--out",
            str(out / "parity"),
        ],
        "tune-postprocess": ["tune-postprocess", str(run), "--data", data],
    }


@pytest.mark.parametrize("kind", ["foreign", "wrapped"])
def test_every_command_refuses_a_planted_model(tiny, evil_files, kind, marker, tmp_path):
    run = _planted(tiny, evil_files[kind], tmp_path / "run")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    runner = CliRunner()
    for name, args in _commands(run, tiny, tmp_path / "out").items():
        result = runner.invoke(app, args)
        errors = [line for line in result.stderr.splitlines() if line.startswith("edgeseg:")]
        assert result.exit_code == 2, (name, result.exit_code, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, name
        assert len(errors) == 1 and "not an edgeseg U-Net for this run" in errors[0], (
            name,
            result.stderr,
        )
        assert not marker.exists(), f"{name} ran the payload"
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before  # nothing in the run was touched
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.tflite"))


def test_refusal_through_the_installed_command_is_one_line(tiny, evil_file, marker, tmp_path):
    run = _planted(tiny, evil_file, tmp_path / "run")
    proc = subprocess.run(
        [sys.executable, "-m", "edgeseg.cli", "evaluate", str(run), "--data", str(tiny["data"])],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgeseg: error:")]
    assert len(errors) == 1 and "payload" in errors[0]
    assert not marker.exists()


def test_genuine_models_still_load_exactly(tiny):
    import tf_keras as keras

    path = model_path(tiny["run"], "best")
    model = load_model(path)
    plain = keras.models.load_model(path, compile=False)  # our own file: safe to compare with
    x = np.random.default_rng(0).uniform(0, 1, (2, SIZE, SIZE, 1)).astype(np.float32)
    for a, b in zip(model.predict(x, verbose=0), plain.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_bit_flipped_weight_is_caught(tiny, tmp_path):
    import h5py

    run = shutil.copytree(tiny["run"], tmp_path / "run")
    path = model_path(run, "best")
    with h5py.File(path, "r+") as f:
        assert f.attrs[HASH_ATTR]
        kernel = f["model_weights/stem_conv/stem_conv/kernel:0"]
        flipped = kernel[()].copy()
        flipped.view(np.uint32).flat[0] ^= 1 << 30  # one exponent bit
        kernel[...] = flipped
    with pytest.raises(ModelError, match="do not match the SHA-256"):
        load_model(path)


def test_a_model_without_its_config_is_refused(tiny, tmp_path):
    path = tmp_path / "model_best.h5"
    shutil.copyfile(model_path(tiny["run"], "best"), path)
    with pytest.raises(ModelError, match="no config.json beside it"):
        load_model(path)


def test_a_config_that_builds_another_network_is_refused(tiny, tmp_path):
    """evaluate on a run whose model and config disagree: one line, like convert."""
    import json

    run = shutil.copytree(tiny["run"], tmp_path / "run")
    raw = json.loads((run / "config.json").read_text())
    raw["model"]["base_filters"] = 8
    (run / "config.json").write_text(json.dumps(raw))
    result = CliRunner().invoke(app, ["evaluate", str(run), "--data", str(tiny["data"])])
    assert result.exit_code == 2
    assert "has weights" in result.stderr and "was the model or config.json replaced" in (
        result.stderr
    )
    assert len([x for x in result.stderr.splitlines() if x.startswith("edgeseg:")]) == 1


def test_saving_records_the_weight_hash(tiny, tmp_path):
    import h5py

    from edgeseg.train.serialization import read_weights, weights_sha256

    model = load_model(model_path(tiny["run"], "best"))
    path = save_model(model, tmp_path / "m.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs[HASH_ATTR] == weights_sha256(read_weights(f))
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]  # no temp file left


def test_a_bit_flipped_tflite_weight_is_caught(tiny, tmp_path):
    """convert records a SHA-256 of the .tflite's weight buffers; the runtime checks it."""
    from edgeseg.edge_runtime.integrity import WEIGHTS_NAME
    from edgeseg.edge_runtime.metadata import _buffer_bytes, _Reader, metadata_entries
    from edgeseg.edge_runtime.metadata import read_metadata as read
    from edgeseg.edge_runtime.segmenter import Segmenter

    data = tiny["tflite"].read_bytes()
    assert WEIGHTS_NAME in metadata_entries(data)
    assert read(tiny["tflite"])["input"]  # the intact model reads
    reader = _Reader(data)
    buffers = reader.table_vector(reader.field(reader.root(), 4))
    weights = max((_buffer_bytes(reader, b) for b in buffers), key=len)  # the largest kernel
    where = data.find(weights) + len(weights) // 2
    flipped = bytearray(data)
    flipped[where] ^= 0x40
    bad = tmp_path / "flipped.tflite"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(ModelError, match="do not match the SHA-256 recorded at export"):
        read(bad)
    with pytest.raises(ModelError, match="do not match the SHA-256"):
        Segmenter(bad)
