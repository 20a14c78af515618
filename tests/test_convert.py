"""TFLite export: int8 computes nothing in float, metadata round-trips without TensorFlow,
Keras and int8 agree, every bad input is one clear error and leaves nothing behind.

One tiny 32x32 ResU-Net run (base 4 filters) and one int8 export are made per module."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras")

from edgeseg.config import ModelSpec, Preprocessing, RunConfig, TrainSpec  # noqa: E402
from edgeseg.convert import edgetpu, tflite  # noqa: E402
from edgeseg.convert.ops import ModelOps, OpInfo, TensorInfo, read_ops  # noqa: E402
from edgeseg.convert.variants import IO_TYPES, VARIANTS, check_io, get_variant  # noqa: E402
from edgeseg.errors import ConfigError, ModelError  # noqa: E402

SIZE = 32
pytestmark = pytest.mark.slow


def synth_arrays(n: int, size: int = SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed uint8 frames (n, size, size) and nerve masks (n, size, size, 1)."""
    from edgeseg.preprocess import preprocess
    from edgeseg.train.synth import synth_frame

    rng = np.random.default_rng(seed)
    pp = Preprocessing(height=size, width=size)
    frames = [synth_frame(rng, (size, size), nerve=i % 4 != 0) for i in range(n)]
    images = np.stack([preprocess(img, pp) for img, _ in frames])
    masks = np.stack([(lab == 1)[..., None] for _, lab in frames]).astype(np.uint8)
    return images, masks


def make_run(run_dir: Path, arch: str = "resunet", epochs: int = 2) -> tuple[Path, RunConfig]:
    """A tiny trained run directory: config.json + model_best.h5 (a few steps of training)."""
    from edgeseg.train.data import make_dataset
    from edgeseg.train.loop import compile_model
    from edgeseg.train.models import build_model
    from edgeseg.train.serialization import model_path, save_model

    cfg = RunConfig(
        preprocessing=Preprocessing(height=SIZE, width=SIZE),
        model=ModelSpec(arch=arch, base_filters=4, depth=2),
        train=TrainSpec(batch_size=8, learning_rate=3e-3, augment=False),
    )
    images, masks = synth_arrays(24)
    model = build_model(arch, (SIZE, SIZE, 1), 1, 4, 2, True)
    compile_model(model, cfg)
    model.fit(make_dataset(images, masks, 8, True, None, True), epochs=epochs, verbose=0)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_model(model, model_path(run_dir))
    cfg.save(run_dir)
    return run_dir, cfg


def calibration_folder(folder: Path, n: int = 12) -> Path:
    """Raw synthetic frames (64x64, resized by the run's preprocessing) plus one broken file."""
    from edgeseg.train.synth import write_dataset

    write_dataset(folder, n, size=(64, 64), seed=5)
    (folder / "images" / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    return folder


def tflite_probabilities(path: Path, images: np.ndarray) -> np.ndarray:
    """Mask probabilities from ai_edge_litert, (de)quantized with the tensors' own parameters."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = next(d for d in interp.get_output_details() if len(d["shape"]) == 4)
    probs = []
    for img in images:
        x = (img.astype(np.float64) / 255.0)[None, ..., None]
        if inp["dtype"] != np.float32:
            s, z = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.floor(x / s + 0.5) + z, info.min, info.max)
        interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interp.invoke()
        y = interp.get_tensor(out["index"]).astype(np.float64)
        if out["dtype"] != np.float32:
            s, z = out["quantization"]
            y = (y - z) * s
        probs.append(y[0])
    return np.stack(probs)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, RunConfig]:
    return make_run(tmp_path_factory.mktemp("convert") / "run")


@pytest.fixture(scope="module")
def calib_dir(tmp_path_factory) -> Path:
    return calibration_folder(tmp_path_factory.mktemp("calib"))


@pytest.fixture(scope="module")
def int8(run, calib_dir) -> tflite.ExportResult:
    """Post-training int8 export (uint8 I/O) with the quantization debugger on."""
    run_dir, _ = run
    return tflite.export(
        run_dir, "int8", which="best", calibration=calib_dir, debug_quantization=True
    )


# ----------------------------------------------------------------------------- the int8 model


def test_int8_computes_nothing_in_float(int8):
    ops = read_ops(int8.path.read_bytes())
    assert ops.float_compute("uint8") == [] and int8.float_ops == ()
    for op in ops.ops:
        assert not op.float_tensors, op.describe()
    assert int8.op_histogram == ops.histogram()
    assert {"CONV_2D", "RESIZE_NEAREST_NEIGHBOR", "LOGISTIC"} <= set(int8.op_histogram)
    assert "DEQUANTIZE" not in int8.op_histogram


def test_int8_takes_raw_pixels_and_is_small(int8):
    (inp,) = int8.inputs
    assert inp.dtype == "UINT8" and inp.shape == (1, SIZE, SIZE, 1)
    assert inp.scale == pytest.approx(1 / 255) and inp.zero_point == 0
    shapes = sorted(t.shape for t in int8.outputs)
    assert shapes == [(1, 1), (1, SIZE, SIZE, 1)]
    assert int8.bytes == int8.path.stat().st_size
    assert int8.size_ratio and int8.size_ratio > 1.5 and int8.float32_estimated
    assert int8.source == "best" and int8.io == "uint8"
    assert "int8 from best" in int8.summary() and str(int8.path) in int8.summary()


def test_int8_agrees_with_keras(run, int8):
    from edgeseg.train.serialization import load_model, model_path

    images, _ = synth_arrays(8, seed=11)
    keras_p = load_model(model_path(run[0])).predict(
        (images / 255.0)[..., None].astype(np.float32), verbose=0
    )[0]
    lite_p = tflite_probabilities(int8.path, images)
    assert np.abs(keras_p - lite_p).max() < 0.05


def test_calibration_is_reported(int8):
    assert int8.calibration.startswith("calibrated on 12 frames")
    assert "1 unreadable skipped" in int8.calibration
    assert any("1 unreadable calibration file" in w for w in int8.warnings)
    assert any("recommended" in w for w in int8.warnings)  # 12 < 100


def test_metadata_round_trips_without_tensorflow(run, int8):
    """The device side reads the metadata with TensorFlow and tf_keras unimportable."""
    _, cfg = run
    script = textwrap.dedent(
        f"""
        import importlib.abc, json, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tensorflow", "tf_keras", "keras"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        from edgeseg.edge_runtime.metadata import load_metadata, read_metadata
        meta = load_metadata({str(int8.path)!r})
        assert meta.input_size == ({SIZE}, {SIZE}) and meta.presence_output
        print(json.dumps(read_metadata({str(int8.path)!r})))
        assert not any(m.split(".")[0] == "tensorflow" for m in sys.modules)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    assert meta == int8.metadata
    assert meta["quantization"] == "int8" and meta["config_sha256"] == cfg.sha256()
    assert meta["input"]["height"] == SIZE and meta["classes"][0]["name"] == "nerve"
    assert meta["postprocess"]["threshold"] == cfg.postprocess.threshold


def test_quantization_debugger_report(int8):
    assert int8.quant_debug is not None and int8.quant_debug.is_file()
    doc = json.loads(int8.quant_debug.read_text())
    rows = doc["layers"]
    assert rows and 0 < len(int8.worst_layers) <= 10
    keys = [r["rmse/scale"] for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert {"op_name", "tensor_name", "scale", "rmse"} <= set(rows[0])


def test_edgetpu_operator_check(int8):
    report = edgetpu.check_ops(read_ops(int8.path.read_bytes()))
    assert report.all_mapped, report.cpu_reasons
    assert sum(report.mapped.values()) == sum(int8.op_histogram.values())
    assert any(c.startswith("RESIZE_NEAREST_NEIGHBOR") for c in report.caveats)


def test_edgetpu_compiler_missing_says_how_to_get_it(int8, monkeypatch):
    monkeypatch.setattr(edgetpu.shutil, "which", lambda name: None)
    report = edgetpu.check_and_compile(read_ops(int8.path.read_bytes()), int8.path)
    assert report.compiled is None and "edgetpu-compiler" in report.hint
    assert "coral.ai" in report.hint


def test_edgetpu_compiler_is_run_when_installed(int8, tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "edgetpu_compiler"
    fake.write_text(
        "#!/bin/sh\n# fake compiler: -s -o OUTDIR MODEL\n"
        'out="$3"; model="$4"; base=$(basename "$model" .tflite)\n'
        'cp "$model" "$out/${base}_edgetpu.tflite"; echo "Model compiled successfully."\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    model = tmp_path / "model_int8.tflite"
    model.write_bytes(int8.path.read_bytes())
    report = edgetpu.check_and_compile(read_ops(model.read_bytes()), model)
    assert report.compiled == tmp_path / "model_int8_edgetpu.tflite" and report.compiled.is_file()
    assert "compiled successfully" in report.compiler_log
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bin",
        "model_int8.tflite",
        "model_int8_edgetpu.tflite",
    ]
    with pytest.raises(ConfigError, match="--force"):
        edgetpu.compile_model(model)


# ----------------------------------------------------------------------------- float edges


def _t(i: int, dtype: str) -> TensorInfo:
    return TensorInfo(i, f"t{i}", dtype, (1,), None, None, False)


# op, input type, output type, io, input is a model input, output is a model output -> flagged
FLOAT_CASES = [
    ("CONV_2D", "INT8", "INT8", "uint8", False, False, False),
    ("CONV_2D", "FLOAT32", "FLOAT32", "uint8", False, False, True),
    ("CONV_2D", "INT8", "FLOAT32", "float32", False, False, True),
    ("QUANTIZE", "UINT8", "INT8", "uint8", True, False, False),
    ("QUANTIZE", "FLOAT32", "INT8", "float32", True, False, False),
    ("QUANTIZE", "FLOAT32", "INT8", "float32", False, False, True),  # not at the edge
    ("QUANTIZE", "FLOAT32", "INT8", "uint8", True, False, True),  # float edge, io uint8
    ("DEQUANTIZE", "INT8", "FLOAT32", "float32", False, True, False),
    ("DEQUANTIZE", "INT8", "FLOAT32", "float32", False, False, True),
    ("LOGISTIC", "FLOAT32", "FLOAT32", "float32", False, True, True),
]


@pytest.mark.parametrize("name,tin,tout,io,at_in,at_out,flagged", FLOAT_CASES)
def test_float_compute_rules(name, tin, tout, io, at_in, at_out, flagged):
    a, b = _t(0, tin), _t(1, tout)
    ops = ModelOps(
        ops=(OpInfo(0, 0, name, (a,), (b,)),),
        inputs=(a,) if at_in else (_t(9, "UINT8"),),
        outputs=(b,) if at_out else (_t(8, "UINT8"),),
    )
    assert bool(ops.float_compute(io)) == flagged


# ----------------------------------------------------------------------------- the table


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_table_drives_flags(name):
    """--io is accepted exactly where the variant's row allows it, defaulting to its first."""
    v = get_variant(name)
    assert v is VARIANTS[name] and v.filename.endswith(".tflite")
    assert check_io(v, None) == v.io_types[0] == v.default_io
    for io in IO_TYPES:
        if io in v.io_types:
            assert check_io(v, io) == io
        else:
            with pytest.raises(ConfigError, match=f"--io {io} is not available for the {name}"):
                check_io(v, io)


def test_variant_names_and_files_are_unique_and_the_error_lists_them():
    assert len({v.filename for v in VARIANTS.values()}) == len(VARIANTS)
    with pytest.raises(ConfigError) as info:
        get_variant("int4")
    assert str(info.value).endswith(", ".join(VARIANTS))


def test_a_new_row_is_gated_by_its_columns_not_its_name(monkeypatch):
    """The checks read the table's columns: a row added to VARIANTS needs no new code."""
    from dataclasses import replace

    from edgeseg.convert import variants

    tpu = replace(get_variant("int8"), name="int8_tpu", filename="model_int8_tpu.tflite")
    monkeypatch.setitem(VARIANTS, "int8_tpu", tpu)
    variants.check_source("qat", tpu)  # accepts_qat
    variants.check_options(tpu, edgetpu=True, debug_quantization=True)
    with pytest.raises(ConfigError, match="--model qat exports to int8, int8_tpu only"):
        variants.check_source("qat", get_variant("float16"))
    with pytest.raises(ConfigError, match="--edgetpu needs --int8 or --int8_tpu"):
        variants.check_options(get_variant("dynamic"), edgetpu=True, debug_quantization=False)
    with pytest.raises(ConfigError, match="--debug-quantization needs --int8 or --int8_tpu"):
        variants.check_options(get_variant("float16"), edgetpu=False, debug_quantization=True)
    assert variants.reference_variant() is get_variant("float32")
    assert [v.name for v in VARIANTS.values() if not v.optimized] == ["float32"]


@pytest.mark.parametrize("native_log", [False, True])
def test_converter_log_is_a_parameter_not_the_environment(native_log, capfd, monkeypatch):
    """The converter's native stderr lines show only when asked (the CLI's --debug)."""
    from edgeseg.convert.calibration import CalibrationSet
    from edgeseg.train.models import build_resunet

    monkeypatch.setenv("EDGESEG_DEBUG", "1")  # the library must not read it
    model = build_resunet(input_shape=(SIZE, SIZE, 1), base_filters=4, depth=2)
    frames = np.random.default_rng(0).integers(0, 256, (8, SIZE, SIZE), dtype=np.uint8)
    capfd.readouterr()
    tflite.convert_model(
        model, get_variant("int8"), "uint8", CalibrationSet(frames, "test"), native_log=native_log
    )
    assert ("fully_quantize" in capfd.readouterr().err) is native_log


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"variant": "float32", "io": "uint8"}, ConfigError, "not available for the float32"),
        ({"variant": "float16", "which": "qat"}, ConfigError, "int8 only"),
        ({"variant": "dynamic", "edgetpu": True}, ConfigError, "--edgetpu needs --int8"),
        ({"variant": "int8", "which": "newest"}, ConfigError, "not one of auto, qat"),
        ({"variant": "int8", "which": "qat"}, ModelError, "edgeseg qat"),
    ],
)
def test_bad_options_are_one_line_errors(run, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        tflite.export(run[0], **kwargs)
    assert "\n" not in str(info.value)


def test_float16_variant(run, tmp_path):
    result = tflite.export(run[0], "float16", out=tmp_path)
    assert result.path == tmp_path / "model_float16.tflite"
    assert result.metadata["quantization"] == "float16" and result.inputs[0].dtype == "FLOAT32"
    assert 1.2 < result.size_ratio < 2.5  # half-size weights (plus fixed overhead)


# ----------------------------------------------------------------------------- bad inputs


def test_run_dir_without_model(run, tmp_path):
    run[1].save(tmp_path)
    with pytest.raises(ModelError, match="has no model_best.h5: train first") as info:
        tflite.export(tmp_path, "int8")
    assert "\n" not in str(info.value)


def test_missing_run_dir(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        tflite.export(tmp_path / "nope", "int8")
    with pytest.raises(ConfigError, match="no config.json"):
        tflite.export(tmp_path, "int8")


def _save_foreign_model(run_dir: Path, cfg: RunConfig, kind: str) -> None:
    import tf_keras as keras

    from edgeseg.train.serialization import model_path, save_model

    if kind == "rgb":
        x = keras.Input((SIZE, SIZE, 3))
        y = keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    elif kind == "classifier":
        x = keras.Input((SIZE, SIZE, 1))
        y = keras.layers.Dense(3, name="logits")(keras.layers.Flatten()(x))
    else:  # right shapes for another input size
        x = keras.Input((SIZE * 2, SIZE * 2, 1))
        y = keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    save_model(keras.Model(x, y), model_path(run_dir))
    cfg.save(run_dir)


@pytest.mark.parametrize(
    "kind,match",
    # Refused by the loader: it rebuilds the run's network from config.json and finds other layers.
    [(kind, "layers where the config builds") for kind in ("rgb", "classifier", "size")],
)
def test_not_an_edgeseg_model(run, tmp_path, kind, match):
    _save_foreign_model(tmp_path, run[1], kind)
    with pytest.raises(ModelError, match=f"not an edgeseg U-Net for this run.*{match}") as info:
        tflite.export(tmp_path, "float32")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "export").exists()


def test_corrupt_model_file(run, tmp_path):
    run[1].save(tmp_path)
    (tmp_path / "model_best.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="not a readable edgeseg Keras model"):
        tflite.export(tmp_path, "float32")


def test_existing_output_needs_force(int8, run):
    before = int8.path.read_bytes()
    with pytest.raises(ConfigError, match="exists: pass --force"):
        tflite.export(run[0], "int8", which="best")
    assert int8.path.read_bytes() == before


def test_empty_calibration_folder_fails_before_writing(run, tmp_path):
    (tmp_path / "cal").mkdir()
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="has no images"):
        tflite.export(run[0], "int8", which="best", calibration=tmp_path / "cal", out=out)
    assert not out.exists()


def test_no_write_permission_simulated(run, tmp_path, monkeypatch):
    monkeypatch.setattr(tflite.os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match="not writable .*pass --out") as info:
        tflite.export(run[0], "float32", out=tmp_path / "ro")
    assert "\n" not in str(info.value)


def test_no_write_permission_real(run, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes")
        with pytest.raises(ConfigError, match="not writable"):
            tflite.export(run[0], "float32", out=ro)
    finally:
        ro.chmod(0o700)


def test_out_that_is_a_file_says_so(run, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(ConfigError) as info:
        tflite.export(run[0], "float32", out=afile)
    message = str(info.value)
    assert f"{afile} is a file, expected a folder" in message
    assert "permission" not in message and "not writable" not in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="afile is a file, expected a folder"):
        tflite.check_writable(afile / "deeper" / "model.tflite", force=False)
    assert afile.read_text() == "not a folder"


def test_calibration_file_instead_of_folder(run, tmp_path):
    frame = tmp_path / "some" / "file.png"
    frame.parent.mkdir()
    frame.write_bytes(b"png")
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as info:
        tflite.export(run[0], "int8", which="best", calibration=frame, out=out)
    assert f"calibration folder {frame} is a file, expected a folder" in str(info.value)
    assert "does not exist" not in str(info.value)
    assert not out.exists()


def test_failed_check_leaves_nothing(run, int8, tmp_path, monkeypatch):
    """A model that computes in float is refused after conversion: no file, no temp file."""
    converted = int8.path.read_bytes()
    monkeypatch.setattr(tflite, "convert_model", lambda *a, **k: converted)
    fake = OpInfo(0, 3, "CONV_2D", (_t(0, "FLOAT32"),), (_t(1, "FLOAT32"),))
    monkeypatch.setattr(ModelOps, "float_compute", lambda self, io: [fake])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelError, match=r"computes 1 operator\(s\) in float.*--allow-float-ops"):
        tflite.export(
            run[0], "int8", which="best", calibration=np.zeros((8, 32, 32), np.uint8), out=out
        )
    assert list(out.iterdir()) == []
    allowed = tflite.export(
        run[0],
        "int8",
        which="best",
        calibration=np.zeros((8, 32, 32), np.uint8),
        out=out,
        allow_float_ops=True,
    )
    assert allowed.float_ops and any("--allow-float-ops" in w for w in allowed.warnings)
    assert sorted(p.name for p in out.iterdir()) == ["model_int8.json", "model_int8.tflite"]
    summary = json.loads((out / "model_int8.json").read_text())
    assert summary["float_ops"] and summary["bytes"] == (out / "model_int8.tflite").stat().st_size
