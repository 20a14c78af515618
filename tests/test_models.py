"""The U-Nets' strided stem: shapes, defaults per architecture, old configs, QAT + int8 export."""

from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from edgeseg.config import ModelSpec, RunConfig, default_stem_stride, load_config  # noqa: E402
from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.models import build_model, build_resunet, check_input_size  # noqa: E402


def _strides(model) -> dict[str, tuple[int, int]]:
    return {layer.name: layer.strides for layer in model.layers if hasattr(layer, "strides")}


def test_default_resunet_runs_at_half_resolution_and_answers_at_full():
    model = build_resunet((64, 64, 1), base_filters=4, depth=2)
    assert model.output_shape[0] == (None, 64, 64, 1)
    assert _strides(model)["stem_conv"] == (2, 2)
    # every block works on the half-resolution grid or coarser
    enc1 = model.get_layer("enc1_a_conv")
    assert enc1.output_shape[1:3] == (32, 32)
    assert model.get_layer("mask").__class__.__name__ == "UpSampling2D"


def test_stem_stride_1_is_the_full_resolution_network():
    model = build_resunet((64, 64, 1), base_filters=4, depth=2, stem_stride=1)
    assert "stem_conv" not in _strides(model)
    assert model.get_layer("enc1_a_conv").output_shape[1:3] == (64, 64)
    assert model.output_shape[0] == (None, 64, 64, 1)


def test_refine_head_adds_a_full_resolution_conv():
    model = build_model("unet", (64, 64, 1), 1, 4, 2, False, stem_stride=2, refine=True)
    assert model.get_layer("refine_out_conv").output_shape[1:3] == (64, 64)
    assert model.output_shape == (None, 64, 64, 1)
    with pytest.raises(ConfigError, match="--refine needs --stem-stride 2"):
        build_model("unet", (64, 64, 1), 1, 4, 2, False, stem_stride=1, refine=True)


def test_input_size_must_divide_by_stem_times_depth():
    check_input_size((64, 64, 1), 3, 2)
    with pytest.raises(ConfigError, match="not divisible by 16"):
        check_input_size((72, 72, 1), 3, 2)  # 72 = 8 * 9: enough without the stem
    check_input_size((72, 72, 1), 3, 1)
    with pytest.raises(ConfigError, match="--stem-stride 3"):
        check_input_size((64, 64, 1), 2, 3)


def test_stem_is_a_u_net_option_only():
    assert default_stem_stride("resunet") == 2 and default_stem_stride("fcn") == 1
    assert ModelSpec().stem() == 2
    assert ModelSpec(arch="attention_unet").stem() == 1
    assert ModelSpec(arch="unet", stem_stride=1).stem() == 1
    build_model("fcn", (32, 32, 1), 1, 4, 2, False)  # the default (None) fits every arch
    with pytest.raises(ConfigError, match="apply to resunet and unet"):
        build_model("fcn", (32, 32, 1), 1, 4, 2, False, stem_stride=2)


def test_configs_saved_before_the_stem_load_as_full_resolution(tmp_path):
    raw = RunConfig().to_dict()
    del raw["model"]["stem_stride"]
    (tmp_path / "config.json").write_text(json.dumps(raw))
    assert load_config(tmp_path).model.stem() == 1
    RunConfig(model=ModelSpec(stem_stride=2)).save(tmp_path)
    assert load_config(tmp_path).model.stem() == 2


def test_stem_model_quantizes_and_converts_to_int8():
    from edgeseg.convert.calibration import CalibrationSet
    from edgeseg.convert.ops import read_ops
    from edgeseg.convert.tflite import convert_model
    from edgeseg.convert.variants import get_variant
    from edgeseg.train.qat import quantize_for_training

    model = build_resunet((32, 32, 1), base_filters=4, depth=2)
    qat, unsupported = quantize_for_training(model)
    assert not unsupported
    data = convert_model(qat, get_variant("int8"), "uint8")
    ops = read_ops(data)
    assert ops.float_compute("uint8") == []
    assert "RESIZE_NEAREST_NEIGHBOR" in ops.histogram()
    rng = np.random.default_rng(0)
    calib = CalibrationSet(images=rng.integers(0, 256, (4, 32, 32), dtype=np.uint8), source="t")
    assert convert_model(model, get_variant("int8"), "uint8", calib)[4:8] == b"TFL3"
