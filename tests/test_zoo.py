"""Comparison models: they build at 32x32, follow the layer rules, train a step, QAT-wrap, int8."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402

from edgeseg.config import ModelSpec, RunConfig  # noqa: E402
from edgeseg.train.loop import compile_model  # noqa: E402
from edgeseg.train.models import BUILDERS, build_model  # noqa: E402
from edgeseg.train.zoo import layer_macs, model_stats  # noqa: E402

ZOO = ("attention_unet", "unetpp", "fcn")
STAGES = ("image", "enc", "bottleneck", "dec", "mask", "presence")


@pytest.fixture(scope="module", params=ZOO)
def zoo_model(request):
    return request.param, build_model(request.param, (32, 32, 1), 1, 4, 2, True)


def test_registered_in_builders():
    assert set(ZOO) | {"resunet", "unet"} <= set(BUILDERS)


def test_builds_with_the_layer_rules(zoo_model):
    name, model = zoo_model
    assert model.name == name
    x = np.zeros((2, 32, 32, 1), np.float32)
    mask, presence = model(x, training=False)
    assert mask.shape == (2, 32, 32, 1) and presence.shape == (2, 1)
    for layer in model.layers:
        assert not isinstance(layer, layers.Conv2DTranspose | layers.Lambda | keras.Model)
        assert type(layer).__name__ != "Rescaling"
        if isinstance(layer, layers.UpSampling2D):
            assert layer.interpolation == "nearest"
        assert layer.name.startswith(STAGES), layer.name
    assert len({layer.name for layer in model.layers}) == len(model.layers)


def test_attention_gates_are_additive_and_sigmoid():
    model = build_model("attention_unet", (32, 32, 1), 1, 4, 2, False)
    names = {layer.name for layer in model.layers}
    for stage in ("dec1", "dec2"):
        for part in ("theta", "phi", "add", "relu", "psi", "gate"):
            assert f"{stage}_att_{part}" in names
    assert model.get_layer("dec1_att_psi").get_config()["activation"] == "sigmoid"
    assert isinstance(model.get_layer("dec1_att_gate"), layers.Multiply)


def test_unetpp_has_nested_nodes():
    model = build_model("unetpp", (32, 32, 1), 1, 4, 2, False)
    names = {layer.name for layer in model.layers}
    assert {"dec1_1_concat", "dec2_1_concat", "dec1_2_concat"} <= names
    # X(0,2) is fed by X(0,0), X(0,1) and up(X(1,1)).
    assert len(model.get_layer("dec1_2_concat").input) == 3


def test_fcn_has_no_skips():
    model = build_model("fcn", (32, 32, 1), 1, 4, 2, False)
    assert not any(isinstance(layer, layers.Concatenate) for layer in model.layers)


def test_trains_one_step(zoo_model):
    name, model = zoo_model
    cfg = RunConfig(model=ModelSpec(arch=name, presence_head=True))
    compile_model(model, cfg)
    model.run_eagerly = True  # one step: tracing a graph would cost more than the step
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 32, 32, 1)).astype(np.float32)
    y = (rng.uniform(0, 1, (4, 32, 32, 1)) > 0.8).astype(np.float32)
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_on_batch(x, [y, y.max(axis=(1, 2))], return_dict=True)
    assert np.isfinite(logs["loss"])
    after = model.trainable_weights
    assert any(not np.array_equal(b, a.numpy()) for b, a in zip(before, after, strict=True))


def test_converts_to_int8(zoo_model):
    tflite = pytest.importorskip("edgeseg.convert.tflite", reason="edgeseg.convert not present")
    from edgeseg.convert.calibration import CalibrationSet
    from edgeseg.convert.variants import get_variant

    _, model = zoo_model
    rng = np.random.default_rng(0)
    calib = CalibrationSet(images=rng.integers(0, 256, (8, 32, 32), dtype=np.uint8), source="t")
    data = tflite.convert_model(model, get_variant("int8"), "uint8", calib)
    assert data[4:8] == b"TFL3"


def test_attention_unet_wraps_for_qat():
    qat = pytest.importorskip("edgeseg.train.qat", reason="train/qat.py not present")
    model = build_model("attention_unet", (32, 32, 1), 1, 4, 2, True)
    q, configs = qat.quantize_for_training(model)
    # Only the gates' Multiply needs an explicit config; everything else is tfmot-native.
    assert set(configs) == {"dec1_att_gate", "dec2_att_gate"}
    assert q(np.zeros((1, 32, 32, 1), np.float32))[0].shape == (1, 32, 32, 1)


def test_macs_of_known_layers():
    inp = keras.Input((32, 32, 1))
    x = layers.Conv2D(4, 3, padding="same", name="c")(inp)
    x = layers.DepthwiseConv2D(3, padding="same", name="d")(x)
    x = layers.Conv2D(8, 1, strides=2, name="s")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(2, name="f")(x)
    model = keras.Model(inp, out)
    assert layer_macs(model.get_layer("c")) == 32 * 32 * 4 * 9 * 1
    assert layer_macs(model.get_layer("d")) == 32 * 32 * 4 * 9
    assert layer_macs(model.get_layer("s")) == 16 * 16 * 8 * 4
    assert layer_macs(model.get_layer("f")) == 8 * 2
    stats = model_stats(model)
    assert stats["macs"] == 36864 + 36864 + 8192 + 16
    assert stats["params"] == (9 * 4 + 4) + (9 * 4 + 4) + (4 * 8 + 8) + (8 * 2 + 2)


@pytest.mark.parametrize("arch", ("resunet", *ZOO))
def test_stats_are_sane(arch):
    small = model_stats(build_model(arch, (32, 32, 1), 1, 4, 2, True))
    big = model_stats(build_model(arch, (64, 64, 1), 1, 4, 2, True))
    assert small["params"] == big["params"] > 1000
    # Convolutions dominate: 4x the pixels, ~4x the MACs (the presence Dense is tiny).
    assert 3.99 < big["macs"] / small["macs"] <= 4.0
    wider = model_stats(build_model(arch, (32, 32, 1), 1, 8, 2, True))
    assert wider["macs"] > 3 * small["macs"]
