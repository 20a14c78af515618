"""edgeseg.contract: FrameContract's verbs, its metadata payload and its setting checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeseg.config import ClassSpec, PostProcess, Preprocessing, RunConfig
from edgeseg.contract import (
    PALETTE,
    PIXEL_SCALE,
    SCHEMA,
    FrameContract,
    float_input,
    pixels_to_float,
    tensor_detail,
)
from edgeseg.errors import ConfigError, ModelError
from edgeseg.postprocess import probabilities_to_mask
from edgeseg.preprocess import preprocess
from edgeseg.quantization import dequantize

GOLDEN = Path(__file__).resolve().parents[1] / "android_demo/core/src/test/resources/golden"

CFG = RunConfig(
    classes=(ClassSpec("nerve", 1), ClassSpec("vessel", 2), ClassSpec("tendon", 3)),
    preprocessing=Preprocessing(height=32, width=32, normalize="equalize", denoise="median"),
    postprocess=PostProcess(threshold=0.4, min_area=5, presence_gate=True),
)
CONTRACT = FrameContract.default()


def _quantized(pixels: np.ndarray, detail: dict) -> np.ndarray:
    """The contract's input values for an HxW image, without the batch and channel axes."""
    return CONTRACT.to_input(pixels, detail)[0, ..., 0]


# --------------------------------------------------------------------------- input scale


def test_float_input_equals_float32_division_for_every_pixel_value() -> None:
    pixels = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(
        pixels_to_float(pixels, dtype=np.float32), pixels.astype(np.float32) / np.float32(255)
    )
    np.testing.assert_array_equal(pixels_to_float(pixels), pixels.astype(np.float64) / 255.0)
    batch = np.stack([pixels.reshape(16, 16)] * 3)
    x = float_input(batch)
    assert x.shape == (3, 16, 16, 1) and x.dtype == np.float32
    assert float_input(batch[0]).shape == (1, 16, 16, 1)
    # A model whose metadata states another scale gets pixel * scale.
    np.testing.assert_array_equal(pixels_to_float(pixels, 0.5), pixels * 0.5)


# --------------------------------------------------------------------------- quantization


def test_quantize_matches_the_contract_formula() -> None:
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    two_ish = np.floor(np.arange(256) * 512 / 255 + 0.5)
    cases = [
        (tensor_detail(np.uint8, 1 / 255, 0), np.arange(256)),
        (tensor_detail(np.int8, 1 / 255, -128), np.arange(256) - 128),
        # x / s = 512 p / 255 (no ties): values above 255 clip to qmax
        (tensor_detail(np.uint8, 1 / 512, 0), np.minimum(two_ish, 255)),
    ]
    for detail, expected in cases:
        np.testing.assert_array_equal(_quantized(pixels, detail).ravel(), expected)
    # An odd scale and zero point, against the formula written out in float64.
    s, z = float(np.float32(0.0173)), 7
    got = _quantized(pixels, tensor_detail(np.int8, s, z))
    x = pixels.astype(np.float64) / 255.0
    want = np.clip(np.floor(x / s + 0.5) + z, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int8
    assert got.ravel()[-1] == 65  # 1 / 0.0173 = 57.8 -> 58 + 7
    floats = _quantized(pixels, tensor_detail(np.float32))
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, (pixels / 255.0).astype(np.float32))


def test_input_table_gives_the_formula_s_values() -> None:
    pixels = np.random.default_rng(3).integers(0, 256, (40, 50), dtype=np.uint8)
    for detail in (
        tensor_detail(np.uint8, 1 / 255, 0),
        tensor_detail(np.int8, float(np.float32(0.0173)), 7),
        tensor_detail(np.int8, 1 / 512, -100),
        tensor_detail(np.float32),
    ):
        table = CONTRACT.input_table(detail)
        assert table.shape == (256,) and table.dtype == np.dtype(detail["dtype"])
        np.testing.assert_array_equal(table.take(pixels), _quantized(pixels, detail))


def test_dequantize_matches_the_contract_formula() -> None:
    q = np.array([0, 1, 128, 255], dtype=np.uint8)
    p = dequantize(q, tensor_detail(np.uint8, 0.00390625, 0))
    np.testing.assert_array_equal(p, [0.0, 0.00390625, 0.5, 255 / 256])
    q8 = np.array([-128, 0, 127], dtype=np.int8)
    p8 = dequantize(q8, tensor_detail(np.int8, 0.1, -128))
    np.testing.assert_allclose(p8, (q8.astype(np.float64) + 128) * float(np.float32(0.1)))
    with pytest.raises(ModelError, match="no scale"):
        dequantize(q, tensor_detail(np.uint8))


def test_from_output_uses_each_tensor_s_own_scale() -> None:
    raw = np.array([[[[0], [64]], [[128], [255]]]], dtype=np.uint8)  # [1, 2, 2, 1]
    presence = np.array([[200]], dtype=np.uint8)
    prob, score = CONTRACT.from_output(
        raw, tensor_detail(np.uint8, 1 / 256, 0), presence, tensor_detail(np.uint8, 1 / 200, 0)
    )
    assert prob.shape == (2, 2, 1) and prob.dtype == np.float64
    np.testing.assert_array_equal(prob[..., 0], [[0.0, 0.25], [0.5, 255 / 256]])
    assert score == 200 * float(np.float32(1 / 200))
    assert CONTRACT.from_output(raw, tensor_detail(np.uint8, 1 / 256, 0))[1] is None


# --------------------------------------------------------------------------- frames and masks


def test_prepare_and_masks_are_the_library_rules() -> None:
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (70, 90), dtype=np.uint8)
    contract = FrameContract.from_run_config(CFG)
    np.testing.assert_array_equal(contract.prepare(frame), preprocess(frame, CFG.preprocessing))
    prob = rng.random((32, 32, 3))
    mask_model, mask = contract.to_masks(prob, 0.9, (70, 90))
    np.testing.assert_array_equal(mask_model, probabilities_to_mask(prob, CFG.postprocess, 0.9))
    assert mask.shape == (70, 90, 3) and mask.dtype == np.uint8
    np.testing.assert_array_equal(contract.to_mask(prob, 0.9, (70, 90)), mask)
    np.testing.assert_array_equal(contract.to_mask(prob, 0.9), mask_model)
    # The presence gate is on in CFG: a low score empties every class.
    assert not contract.to_mask(prob, 0.1, (70, 90)).any()
    drawn = contract.overlay(frame, mask)
    assert drawn.shape == (70, 90, 3)
    on = mask[..., 0] > 0  # nerve pixels not painted over by a later class
    on &= ~mask[..., 1:].any(axis=-1)
    blended = (frame[on].astype(np.int64) * 141 + 255 * 115 + 128) >> 8
    np.testing.assert_array_equal(drawn[on][:, 0], blended)
    off = ~mask.any(axis=-1)
    np.testing.assert_array_equal(drawn[off], np.repeat(frame[off][:, None], 3, axis=1))


# --------------------------------------------------------------------------- settings


def test_with_overrides_checks_names_and_ranges_in_one_place() -> None:
    changed = CONTRACT.with_overrides(threshold=0.7, min_area=3, classes="nerve,vessel")
    assert changed.postprocess == PostProcess(threshold=0.7, min_area=3)
    assert changed.class_names == ["nerve", "vessel"]
    assert CONTRACT.postprocess == PostProcess()  # frozen: the original is unchanged
    assert CONTRACT.with_overrides(threshold=None, normalize=None) == CONTRACT
    assert CONTRACT.with_overrides(normalize="none").preprocessing.normalize == "none"
    assert [c.value for c in CONTRACT.with_overrides(classes="a=3,b=5").classes] == [3, 5]
    for bad, message in [
        ({"threshold": 1.5}, "--threshold 1.5: must be between 0 and 1"),
        ({"threshold": -0.1}, "--threshold -0.1"),
        ({"presence_threshold": 2.0}, "--presence-threshold 2.0"),
        ({"min_area": -1}, "--min-area -1: must be 0 or more"),
        ({"min_area": 2.5}, "whole number"),
        ({"normalize": "zscore"}, "--normalize 'zscore'"),
        ({"thresold": 0.5}, "unknown setting thresold"),
        ({"largest_component": "yes"}, "must be true or false"),
        ({"classes": ""}, "at least one class"),
    ]:
        with pytest.raises(ConfigError, match=message):
            CONTRACT.with_overrides(**bad)


# --------------------------------------------------------------------------- the payload


def test_from_run_config_follows_section_5() -> None:
    meta = FrameContract.from_run_config(CFG, "int8", presence_output=True).to_dict()
    assert meta["schema"] == SCHEMA == "edgeseg.metadata/1"
    assert meta["config_sha256"] == CFG.sha256()
    assert meta["arch"] == "resunet"
    assert meta["quantization"] == "int8"
    assert meta["input"] == {"height": 32, "width": 32, "channels": 1, "scale": PIXEL_SCALE}
    assert meta["preprocessing"] == {
        "normalize": "equalize",
        "percentiles": [1.0, 99.0],
        "clahe": False,
        "clahe_clip": 2.0,
        "clahe_tiles": 8,
        "denoise": "median",
    }
    assert meta["classes"] == [
        {"name": "nerve", "value": 1, "color": [255, 220, 0]},
        {"name": "vessel", "value": 2, "color": [230, 40, 40]},
        {"name": "tendon", "value": 3, "color": list(PALETTE[2])},
    ]
    assert meta["postprocess"] == {
        "threshold": 0.4,
        "min_area": 5,
        "largest_component": False,
        "presence_threshold": 0.5,
        "presence_gate": True,
    }
    assert meta["presence_output"] is True
    assert json.loads(json.dumps(meta)) == meta
    with pytest.raises(ConfigError, match="quantization='int4'"):
        FrameContract.from_run_config(CFG, "int4")


def test_json_round_trip() -> None:
    contract = FrameContract.from_run_config(CFG, "float32")
    assert FrameContract.from_json(contract.to_json()) == contract
    assert FrameContract.from_json(contract.to_json().encode()) == contract
    assert FrameContract.from_json(contract.to_dict()) == contract
    assert contract.input_size == (32, 32)
    assert contract.class_names == ["nerve", "vessel", "tendon"]


@pytest.mark.skipif(not GOLDEN.is_dir(), reason="the Android golden vectors are not checked out")
def test_existing_payloads_parse_and_regenerate_byte_for_byte() -> None:
    """Every committed golden payload (the shipped model's included) is what to_dict writes."""
    texts = sorted(GOLDEN.glob("*/metadata.json"))
    assert texts
    for path in texts:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
        out = FrameContract.from_json(text, str(path)).to_dict()
        if "note" in raw:  # the flatbuffer case's extra field, unknown to the contract
            out["note"] = raw["note"]
        assert text in (json.dumps(out), json.dumps(out, indent=1)), path


def test_old_payload_without_optional_fields_parses() -> None:
    old = {
        "schema": SCHEMA,
        "input": {"height": 64, "width": 48},
        "classes": [{"name": "nerve", "value": 1}, {"name": "fascia", "value": 4}],
    }
    contract = FrameContract.from_json(old, "old.tflite")
    assert contract.input_scale == PIXEL_SCALE and contract.channels == 1
    assert contract.preprocessing == Preprocessing(height=64, width=48)
    assert contract.postprocess == PostProcess()
    assert [c.color for c in contract.classes] == [(255, 220, 0), PALETTE[1]]
    assert contract.edgeseg_version == "unknown" and contract.quantization == "unknown"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": "other/1"}, "not an edgeseg schema"),
        ({"schema": "edgeseg.metadata/2"}, "upgrade edgeseg"),
        ({"input": {"width": 32}}, "malformed"),
        ({"preprocessing": {"normalize": "zscore"}}, "normalize='zscore'"),
        ({"input": {"height": 30, "width": 32}}, "multiples of 16"),
        ({"classes": []}, "no classes"),
        ({"postprocess": {"thresh": 0.5}}, "malformed"),
        ({"postprocess": {"threshold": 3}}, "between 0 and 1"),
        ({"input": {"height": 32, "width": 32, "scale": 0}}, "must be positive"),
    ],
)
def test_bad_payloads_are_model_errors(change: dict, message: str) -> None:
    raw = {**FrameContract.from_run_config(CFG, "int8", True).to_dict(), **change}
    with pytest.raises(ModelError, match=message) as info:
        FrameContract.from_json(raw, "m.tflite")
    assert "\n" not in str(info.value)
    for text in (b"\xff", "[1, 2]", "{"):
        with pytest.raises(ModelError, match="m.tflite"):
            FrameContract.from_json(text, "m.tflite")
