"""ImageNet-encoder U-Nets: built flat, QAT-wrappable, weights from a path or ImageNet (offline
is one clear line), freeze/unfreeze, and a MobileNetV2 model that trains, converts to int8 and
runs in the LiteRT interpreter. Tiny inputs (32x32) and alpha 0.35 throughout."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest

pytest.importorskip("tensorflow_model_optimization")
pytest.importorskip("tf_keras")

import tf_keras as keras  # noqa: E402
from test_convert import SIZE, synth_arrays, tflite_probabilities  # noqa: E402

from edgeseg.config import ModelSpec, Preprocessing, RunConfig, TrainSpec  # noqa: E402
from edgeseg.errors import ConfigError, DependencyError, ModelError  # noqa: E402
from edgeseg.train import encoders  # noqa: E402

pytestmark = pytest.mark.slow
SHAPE = (SIZE, SIZE, 1)


@pytest.fixture(scope="module")
def mnv2() -> keras.Model:
    return encoders.build_encoder_unet("mobilenetv2", SHAPE, alpha=0.35, base_filters=4)


def _assert_flat_unet(model: keras.Model) -> None:
    assert not [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
    assert model.output_names == ["mask", "presence"]
    assert tuple(model.outputs[0].shape[1:]) == (SIZE, SIZE, 1)
    assert tuple(model.inputs[0].shape[1:]) == SHAPE
    names = {layer.name for layer in model.layers}
    assert {"image", "stem_conv", "dec5_up", "dec5_skip_conv", "dec1_b_conv"} <= names
    assert "Conv_1" not in names  # the 1280/576-channel expansion is dropped
    kinds = {type(layer).__name__ for layer in model.layers}
    assert not kinds & {"Lambda", "Rescaling", "Conv2DTranspose", "Activation"}


def test_mobilenetv2_unet_is_flat_and_small(mnv2):
    _assert_flat_unet(mnv2)
    assert mnv2.name == "mobilenetv2_unet"
    assert 250_000 < mnv2.count_params() < 400_000  # encoder ~262k at alpha 0.35
    stem = mnv2.get_layer("stem_conv")
    np.testing.assert_allclose(stem.get_weights()[0], 2.0)  # gray -> [-1, 1] RGB
    np.testing.assert_allclose(stem.get_weights()[1], -1.0)


def test_mobilenetv2_unet_quantization_wrapping_needs_no_custom_config(mnv2):
    from edgeseg.train.qat import quantize_for_training

    qmodel, configs = quantize_for_training(mnv2)
    assert configs == {}
    assert qmodel.output_names == ["quant_mask", "quant_presence"]


def test_mobilenetv3small_minimalistic_is_flat_and_quantizable():
    from edgeseg.train.qat import unsupported_layers

    model = encoders.build_encoder_unet("mobilenetv3small", SHAPE, alpha=0.75, base_filters=4)
    _assert_flat_unet(model)
    assert unsupported_layers(model) == {}
    assert not any(type(layer).__name__ == "Multiply" for layer in model.layers)  # no SE


def test_one_door_for_encoders():
    """--arch mnv2_unet is --encoder mobilenetv2: the same config, the same network."""
    from edgeseg.train.loop import build_from_config
    from edgeseg.train.models import build_model
    from edgeseg.train.options import config_from_options, train_options

    alias = ModelSpec(arch="mnv2_unet", base_filters=4)
    assert alias == ModelSpec(arch="resunet", base_filters=4, encoder="mobilenetv2")
    assert (alias.arch, alias.encoder) == ("mobilenetv2_unet", "mobilenetv2")
    by_arch = config_from_options(train_options(data="d", out="r", arch="mnv2_unet"), "paired")
    by_encoder = config_from_options(
        train_options(data="d", out="r", encoder="mobilenetv2"), "paired"
    )
    assert by_arch.model == by_encoder.model
    pp = Preprocessing(height=SIZE, width=SIZE)
    model = build_from_config(RunConfig(preprocessing=pp, model=alias))
    direct = encoders.build_encoder_unet("mobilenetv2", SHAPE, alpha=0.35, base_filters=4)
    assert [layer.name for layer in model.layers] == [layer.name for layer in direct.layers]
    assert model.count_params() == direct.count_params()
    with pytest.raises(ConfigError, match="mnv2_unet is --encoder mobilenetv2"):
        build_model("mnv2_unet", SHAPE, 2, 4, 5, False)  # no second, depth-ignoring builder
    with pytest.raises(ConfigError, match="not --encoder mobilenetv2"):
        ModelSpec(arch="mnv2_unet", stem_stride=2)  # refused before, by the mnv2_unet builder


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"encoder": "resnet50"}, "not one of mobilenetv2, mobilenetv3small"),
        ({"input_shape": (48, 48, 1)}, "multiples of 32"),
        ({"input_shape": (SIZE, SIZE, 3)}, "take 1 \\(grayscale\\)"),
        ({"weights": "imagenet", "alpha": 0.3}, "no ImageNet mobilenetv2 weights"),
        ({"weights": "/no/such/weights.h5"}, "no such file"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"encoder": "mobilenetv2", "input_shape": SHAPE, **kwargs}
    with pytest.raises(ConfigError, match=match):
        encoders.build_encoder_unet(**args)


def test_weights_from_a_path_load_by_name(tmp_path):
    """A bare Keras MobileNetV2 (3-channel, as fetched elsewhere) loads into the encoder."""
    source = keras.applications.MobileNetV2(
        input_shape=(SIZE, SIZE, 3), alpha=0.35, include_top=False, weights=None
    )
    rng = np.random.default_rng(0)
    for name in ("Conv1", "block_16_project"):
        layer = source.get_layer(name)
        layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.weights])
    path = tmp_path / "mnv2_035_no_top.h5"
    source.save_weights(str(path))
    model = encoders.build_encoder_unet(
        "mobilenetv2", SHAPE, alpha=0.35, base_filters=4, weights=str(path)
    )
    for name in ("Conv1", "block_16_project", "block_5_depthwise"):
        for a, b in zip(
            model.get_layer(name).get_weights(), source.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(model.get_layer("stem_conv").get_weights()[0], 2.0)


def test_weights_for_another_network_are_refused(tmp_path):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense_x")])
    path = tmp_path / "other.h5"
    other.save_weights(str(path))
    with pytest.raises(ModelError, match="none of its layers matches"):
        encoders.build_encoder_unet("mobilenetv2", SHAPE, alpha=0.35, weights=str(path))
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(ModelError, match="not a Keras HDF5 weights file"):
        encoders.build_encoder_unet("mobilenetv2", SHAPE, weights=str(tmp_path / "junk.h5"))


def test_imagenet_offline_is_one_line(monkeypatch):
    def offline(fname, origin, **kwargs):
        try:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        except urllib.error.URLError as e:
            raise Exception(f"URL fetch failure on {origin}: None -- {e.reason}") from e

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(DependencyError) as info:
        encoders.build_encoder_unet("mobilenetv2", SHAPE, alpha=0.35, weights="imagenet")
    msg = str(info.value)
    assert "\n" not in msg
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5" in msg
    assert "no internet connection" in msg and "--encoder-weights PATH" in msg
    assert "storage.googleapis.com" in msg


def test_freeze_then_unfreeze(mnv2):
    total = len(mnv2.trainable_weights)
    n = encoders.set_encoder_trainable(mnv2, False)
    assert n > 100
    frozen = {w.name for w in mnv2.trainable_weights}
    assert len(frozen) < total
    assert all(("dec" in w or "stem" in w or "mask" in w or "presence" in w) for w in frozen)
    encoders.set_encoder_trainable(mnv2, True)
    assert len(mnv2.trainable_weights) == total


def test_mobilenetv2_unet_trains_converts_to_int8_and_runs(tmp_path):
    from edgeseg.convert import tflite
    from edgeseg.convert.ops import read_ops
    from edgeseg.train.data import make_dataset
    from edgeseg.train.loop import compile_model
    from edgeseg.train.serialization import model_path, save_model

    cfg = RunConfig(
        preprocessing=Preprocessing(height=SIZE, width=SIZE),
        model=ModelSpec(arch="mnv2_unet", base_filters=4, encoder="mobilenetv2"),
        train=TrainSpec(batch_size=8, learning_rate=1e-3, augment=False),
    )
    images, masks = synth_arrays(16, seed=2)
    model = encoders.build_encoder_unet("mobilenetv2", SHAPE, alpha=0.35, base_filters=4)
    compile_model(model, cfg)
    history = model.fit(make_dataset(images, masks, 8, True, None, True), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    save_model(model, model_path(tmp_path))
    cfg.save(tmp_path)

    result = tflite.export(tmp_path, "int8", calibration=images)
    assert result.source == "best" and result.float_ops == ()
    assert not read_ops(result.path.read_bytes()).float_compute("uint8")
    assert {"DEPTHWISE_CONV_2D", "CONV_2D", "PAD"} & set(result.op_histogram)
    assert result.metadata["arch"] == "mobilenetv2_unet"  # the alias, in the encoder's spelling
    test_images, _ = synth_arrays(4, seed=12)
    x = (test_images / 255.0)[..., None].astype(np.float32)
    keras_p = model.predict(x, verbose=0)[0]
    lite_p = tflite_probabilities(result.path, test_images)
    assert lite_p.shape == keras_p.shape and np.abs(keras_p - lite_p).max() < 0.05
