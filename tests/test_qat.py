"""Quantization-aware fine-tuning: explicit configs for unsupported layers, exact reload,
the QAT run layout, and QAT -> int8 with no float compute and close agreement."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow_model_optimization")
pytest.importorskip("tf_keras")

import tf_keras as keras  # noqa: E402
from test_convert import SIZE, make_run, synth_arrays, tflite_probabilities  # noqa: E402

from edgeseg.config import load_config  # noqa: E402
from edgeseg.errors import ConfigError, DataError, ModelError  # noqa: E402
from edgeseg.train import qat  # noqa: E402
from edgeseg.train.serialization import (  # noqa: E402
    load_model,
    load_weights_into,
    model_path,
    save_model,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def qat_run(tmp_path_factory):
    """A tiny run, fine-tuned with QAT for 2 short epochs."""
    run_dir, cfg = make_run(tmp_path_factory.mktemp("qat") / "run")
    images, masks = synth_arrays(24, seed=3)
    logs: list[str] = []
    path = qat.qat_finetune(
        run_dir,
        (images[:16], masks[:16]),
        (images[16:], masks[16:]),
        cfg,
        epochs=2,
        lr=1e-4,
        progress=logs.append,
    )
    return run_dir, cfg, path, logs


def test_qat_run_layout(qat_run):
    run_dir, cfg, path, logs = qat_run
    assert path == model_path(run_dir, "qat") and path.is_file()
    assert load_config(path.parent) == cfg
    report = qat.read_qat_report(run_dir)
    assert report["epochs"] == 2 and len(report["val_dice_per_epoch"]) == 2
    assert report["qat_val_dice"] == max(report["val_dice_per_epoch"])
    assert report["custom_quantize_configs"] == {}  # edgeseg builders need none
    assert any(m.startswith("QAT epoch 1: val Dice") for m in logs)
    assert logs[-1].startswith(f"wrote {path}") and "edgeseg convert" in logs[-1]


def test_qat_model_has_quantized_outputs_and_low_bn_momentum(qat_run):
    model = load_model(qat_run[2])
    assert model.output_names == ["quant_mask", "quant_presence"]
    bns = [
        layer
        for layer in model.layers
        if isinstance(getattr(layer, "layer", layer), keras.layers.BatchNormalization)
    ]
    assert bns and all(getattr(b, "layer", b).momentum == pytest.approx(0.9) for b in bns)


def test_qat_model_reloads_exactly(qat_run, tmp_path):
    """Fake-quant ranges moved by a training-mode pass survive save + load bit for bit."""
    float_model = load_model(model_path(qat_run[0], "best"))
    qmodel, configs = qat.quantize_for_training(float_model)
    assert configs == {}
    images, _ = synth_arrays(4, seed=9)
    x = (images / 255.0)[..., None].astype(np.float32)
    qmodel(x, training=True)  # updates the moving-average min/max variables
    save_model(qmodel, tmp_path / "q.h5")
    again = load_model(tmp_path / "q.h5", qat_run[1])
    assert len(again.weights) == len(qmodel.weights)
    for a, b in zip(qmodel.weights, again.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    for a, b in zip(qmodel.predict(x, verbose=0), again.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)


def test_existing_qat_model_needs_force(qat_run):
    run_dir, cfg, path, _ = qat_run
    images, masks = synth_arrays(8)
    with pytest.raises(ConfigError, match="exists: pass --force"):
        qat.qat_finetune(run_dir, (images, masks), (images, masks), cfg)


@pytest.mark.parametrize(
    "train,match",
    [
        ((np.zeros((4, SIZE, SIZE), np.float32), np.zeros((4, SIZE, SIZE, 1), np.uint8)), "uint8"),
        ((np.zeros((4, 16, 16), np.uint8), np.zeros((4, 16, 16, 1), np.uint8)), "expected uint8"),
        ((np.zeros((4, SIZE, SIZE), np.uint8), np.zeros((4, SIZE, SIZE, 2), np.uint8)), "masks"),
        ((np.zeros((0, SIZE, SIZE), np.uint8), np.zeros((0, SIZE, SIZE, 1), np.uint8)), "empty"),
    ],
    ids=["float-images", "wrong-size", "wrong-classes", "empty"],
)
def test_bad_arrays(qat_run, tmp_path, train, match):
    _, cfg, _, _ = qat_run
    cfg.save(tmp_path)
    good = synth_arrays(4)
    with pytest.raises(DataError, match=match):
        qat.qat_finetune(tmp_path, train, good, cfg)


def test_run_without_float_model(qat_run, tmp_path):
    cfg = qat_run[1]
    cfg.save(tmp_path)
    arrays = synth_arrays(4)
    with pytest.raises(ModelError, match="no model file"):
        qat.qat_finetune(tmp_path, arrays, arrays, cfg)


def test_unsupported_layers_get_an_explicit_config(tmp_path):
    """A standalone BatchNorm (not after a conv) and a Multiply: tfmot alone would refuse."""
    layers = keras.layers
    x = keras.Input((SIZE, SIZE, 1), name="image")
    a = layers.Conv2D(4, 3, padding="same", activation="relu", name="enc1_conv")(x)
    b = layers.Conv2D(4, 3, padding="same", activation="sigmoid", name="gate_conv")(x)
    g = layers.Multiply(name="gate_mul")([a, b])
    c = layers.Concatenate(name="cat")([g, a])
    n = layers.BatchNormalization(name="cat_bn")(c)
    p = layers.Cropping2D(0, name="crop")(n)
    y = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(p)
    model = keras.Model(x, y)
    rng = np.random.default_rng(1)  # trained-looking BatchNorm statistics
    model.get_layer("cat_bn").set_weights(
        [rng.uniform(0.5, 2, 8), rng.normal(0, 1, 8), rng.normal(0, 1, 8), rng.uniform(0.5, 2, 8)]
    )
    expected = {"gate_mul": "output", "cat_bn": "output-float-weights"}
    assert qat.unsupported_layers(model) == expected
    qmodel, configs = qat.quantize_for_training(model)
    assert configs == expected
    wrapped = {
        layer.layer.name: type(layer.quantize_config).__name__
        for layer in qmodel.layers
        if hasattr(layer, "quantize_config")
    }
    assert wrapped["gate_mul"] == "OutputQuantizeConfig"
    assert wrapped["cat_bn"] == "OutputQuantizeConfig"
    save_model(qmodel, tmp_path / "custom.h5")
    # No config.json builds this network: rebuild it by hand and read only its weights.
    again = load_weights_into(qat.quantize_for_training(model)[0], tmp_path / "custom.h5")
    x0 = np.random.default_rng(0).random((2, SIZE, SIZE, 1)).astype(np.float32)
    np.testing.assert_array_equal(qmodel.predict(x0, verbose=0), again.predict(x0, verbose=0))
    # Never silent in TFLite either: the Multiply converts to int8, the standalone BatchNorm's
    # float weights leave float MUL/ADD that the int8 check reports.
    from edgeseg.convert.ops import read_ops
    from edgeseg.convert.tflite import convert_model
    from edgeseg.convert.variants import get_variant

    ops = read_ops(convert_model(qmodel, get_variant("int8"), "uint8"))
    flagged = [op for op in ops.float_compute("uint8") if op.name in ("MUL", "ADD")]
    assert flagged and all("cat_bn" in op.outputs[0].name for op in flagged)
    gate = [op for op in ops.ops if op.name == "MUL" and "gate_mul" in op.outputs[0].name]
    assert gate and not gate[0].float_tensors


def test_nested_models_are_refused():
    inner = keras.Sequential([keras.layers.Conv2D(1, 1)], name="inner")
    x = keras.Input((SIZE, SIZE, 1))
    model = keras.Model(x, inner(x))
    with pytest.raises(ModelError, match="nests models \\(inner\\)"):
        qat.quantize_for_training(model)


def test_bn_momentum_is_validated():
    with pytest.raises(ConfigError, match="between 0 and 1"):
        qat.set_bn_momentum(keras.Sequential(), 1.5)


def test_qat_exports_to_int8_without_float_ops_and_agrees(qat_run, tmp_path):
    from edgeseg.convert import tflite

    run_dir, _, path, _ = qat_run
    result = tflite.export(run_dir, "int8", out=tmp_path)  # auto: the QAT model
    assert result.source == "qat" and result.float_ops == () and result.calibration is None
    assert result.inputs[0].scale == pytest.approx(1 / 255) and result.inputs[0].zero_point == 0
    images, _ = synth_arrays(8, seed=21)
    keras_p = load_model(path).predict((images / 255.0)[..., None].astype(np.float32), verbose=0)
    lite_p = tflite_probabilities(result.path, images)
    assert np.abs(keras_p[0] - lite_p).max() < 0.05


def test_qat_starts_from_the_float_models_measured_activation_ranges():
    """Every output quantizer's range is the float layer's observed range (0 inside), and the
    quantized model then tracks the float model more closely than from tfmot's [-6, 6]."""
    from edgeseg.contract import float_input
    from edgeseg.train.models import build_model
    from edgeseg.train.qat_ranges import calibrate_activation_ranges, measured_ranges

    model = build_model("resunet_slim", (SIZE, SIZE, 1), 1, 4, 2, True)
    images, _ = synth_arrays(12, seed=5)
    qmodel, _ = qat.quantize_for_training(model)
    x = float_input(images)
    before = np.abs(np.asarray(qmodel(x)[0]) - np.asarray(model(x)[0])).mean()
    ranges = calibrate_activation_ranges(qmodel, model, images)
    assert len(ranges) > 10
    observed = measured_ranges(model, sorted(ranges), images)
    for name, (low, high) in ranges.items():
        layer = qmodel.get_layer(f"quant_{name}")
        weights = {w.name.split("/")[-1].split(":")[0]: w.numpy() for w in layer.weights}
        assert (float(weights["output_min"]), float(weights["output_max"])) == pytest.approx(
            (low, high)
        )
        assert low == pytest.approx(min(observed[name][0], 0.0))
        assert high == pytest.approx(max(observed[name][1], 0.0)) or high - low == 1e-3
    after = np.abs(np.asarray(qmodel(x)[0]) - np.asarray(model(x)[0])).mean()
    assert after < before


def test_qat_logs_the_measured_ranges(qat_run):
    assert any(m.startswith("measured ") and "activation ranges" in m for m in qat_run[3])
