"""Issue 17's recipes: separable blocks (shapes, MACs by formula, int8 size), presets, --preset."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.train.options import TrainOptions, train_options
from edgeseg.train.recipes import (
    DEFAULT_PRESET,
    PRESETS,
    WAVE1,
    explicit_options,
    preset_options,
    with_preset,
)

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- presets


def test_the_default_is_the_default_preset_and_wave1_the_old_one():
    defaults = {f.name: f.default for f in dataclasses.fields(TrainOptions)}
    chosen = PRESETS[DEFAULT_PRESET]
    assert {k: defaults[k] for k in chosen} == chosen
    # wave1 names every option it differs in from today's defaults, so it keeps training the
    # first default: the ResU-Net, 50 epochs of batch 16, constant rate, early stop, no average.
    differs = {k for k in WAVE1 if WAVE1[k] != defaults[k]}
    assert differs == {"arch", "epochs", "batch_size", "patience", "lr_schedule", "ema"}
    assert (WAVE1["lr_schedule"], WAVE1["ema"]) == ("constant", 0.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_valid_options(name, tmp_path):
    opt = train_options(preset=name, data=tmp_path, out=tmp_path / "run")
    for key, value in PRESETS[name].items():
        assert getattr(opt, key) == value


def test_given_options_win_over_the_preset(tmp_path):
    opt = train_options(preset="slim_long", data=tmp_path, out=tmp_path / "r", epochs=7)
    assert (opt.arch, opt.epochs, opt.patience) == ("resunet_slim", 7, 20)
    assert with_preset(None, {"epochs": 3}) == {"epochs": 3}


def test_unknown_preset_names_the_valid_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"--preset 'slimm'.*wave1.*did you mean 'slim'"):
        train_options(preset="slimm", data=tmp_path, out=tmp_path / "r")
    with pytest.raises(ConfigError, match="not one of"):
        preset_options("zzz")


@pytest.mark.parametrize(
    ("preset", "defaults", "expected"),
    [
        (None, {"arch", "epochs"}, {"arch": "resunet", "epochs": 50, "out": "o"}),
        ("slim", {"arch", "epochs", "out"}, {"out": "o"}),  # preset's keys left to the preset
        ("slim", {"out"}, {"arch": "resunet", "epochs": 50, "out": "o"}),  # typed: kept
    ],
)
def test_explicit_options_drop_only_defaults_the_preset_sets(preset, defaults, expected):
    params = {"arch": "resunet", "epochs": 50, "out": "o"}
    assert explicit_options(params, preset, lambda k: k in defaults) == expected


def test_cli_preset_and_a_bad_preset(tmp_path, monkeypatch):
    typer_testing = pytest.importorskip("typer.testing")
    from edgeseg.cli import app

    captured = {}

    def fake_run(opt, log=print):
        captured["opt"] = opt
        raise ConfigError("stop here")

    monkeypatch.setattr("edgeseg.train.runner.train_run", fake_run)
    monkeypatch.setattr("edgeseg.cli.train_cmds.require_tensorflow", lambda: None)
    runner = typer_testing.CliRunner()
    args = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r")]
    result = runner.invoke(app, [*args, "--preset", "slim_long", "--epochs", "60"])
    assert result.exit_code == 2
    opt = captured["opt"]
    assert (opt.arch, opt.epochs, opt.patience) == ("resunet_slim", 60, 20)
    bad = runner.invoke(app, [*args, "--preset", "nope"])
    assert bad.exit_code == 2 and "--preset 'nope'" in bad.output
    assert "Traceback" not in bad.output


# ----------------------------------------------------------------------------- blocks

tf = pytest.importorskip("tensorflow")
import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402

from edgeseg.train.blocks import sep_res_block, stage_level  # noqa: E402
from edgeseg.train.models import build_model  # noqa: E402
from edgeseg.train.zoo import model_stats  # noqa: E402

NEW = ("resunet_lite", "resunet_slim")


def _separable_stages(model) -> set[str]:
    return {
        layer.name.split("_")[0]
        for layer in model.layers
        if isinstance(layer, layers.DepthwiseConv2D)
    }


@pytest.mark.parametrize("arch", NEW)
def test_builds_with_the_layer_rules(arch):
    model = build_model(arch, (32, 32, 1), 2, 4, 2, True)
    assert model.name == arch
    mask, presence = model(np.zeros((2, 32, 32, 1), np.float32), training=False)
    assert mask.shape == (2, 32, 32, 2) and presence.shape == (2, 1)
    for layer in model.layers:
        assert not isinstance(layer, layers.Conv2DTranspose | layers.Lambda | keras.Model)
        if isinstance(layer, layers.UpSampling2D):
            assert layer.interpolation == "nearest"
    assert len({layer.name for layer in model.layers}) == len(model.layers)


def test_separable_only_where_intended():
    lite = build_model("resunet_lite", (64, 64, 1), 1, 4, 3, True)
    slim = build_model("resunet_slim", (64, 64, 1), 1, 4, 3, True)
    assert _separable_stages(lite) == {"enc2", "enc3", "bottleneck", "dec2", "dec3"}
    assert _separable_stages(slim) == {"bottleneck"}
    assert (stage_level("enc2", 3), stage_level("dec3", 3), stage_level("bottleneck", 3)) == (
        2,
        3,
        4,
    )


def test_sep_res_block_macs_and_params_by_formula():
    h, w, c_in, c_out = 8, 8, 4, 8
    inp = keras.Input((h, w, c_in))
    model = keras.Model(inp, sep_res_block(inp, c_out, "bottleneck", 0.9))
    expected_macs = h * w * (c_in * 9 + c_in * c_out + c_out * 9 + c_out * c_out + c_in * c_out)
    assert model_stats(model)["macs"] == expected_macs
    weights = 9 * c_in + c_in * c_out + 9 * c_out + c_out * c_out + c_in * c_out
    bn = 4 * (c_in + c_out + c_out + c_out + c_out)  # gamma, beta, mean, variance per BN
    assert model_stats(model)["params"] == weights + bn


def test_slim_is_the_default_with_a_cheaper_bottleneck():
    base = model_stats(build_model("resunet", (128, 128, 1), 1, 12, 3, True))
    slim = model_stats(build_model("resunet_slim", (128, 128, 1), 1, 12, 3, True))
    # The bottleneck (48 -> 96 channels on 8x8) is the only stage that differs.
    full = 9 * 48 * 96 + 9 * 96 * 96
    sep = 9 * 48 + 48 * 96 + 9 * 96 + 96 * 96
    dw_bn = 4 * (48 + 96)  # the depthwise convolutions' own BatchNorms
    assert base["params"] - slim["params"] == full - sep - dw_bn
    assert base["macs"] - slim["macs"] == 8 * 8 * (full - sep)


@pytest.mark.slow
@pytest.mark.parametrize("arch", NEW)
def test_int8_export_size_and_qat(arch):
    tflite = pytest.importorskip("edgeseg.convert.tflite", reason="edgeseg.convert not present")
    from edgeseg.convert.calibration import CalibrationSet
    from edgeseg.convert.variants import get_variant
    from edgeseg.train.qat import quantize_for_training

    rng = np.random.default_rng(0)
    calib = CalibrationSet(images=rng.integers(0, 256, (8, 64, 64), dtype=np.uint8), source="t")
    sizes = {}
    for name in ("resunet", arch):
        model = build_model(name, (64, 64, 1), 1, 8, 3, True)
        data = tflite.convert_model(model, get_variant("int8"), "uint8", calib)
        assert data[4:8] == b"TFL3"
        sizes[name] = (len(data), model_stats(model)["params"])
    # int8: about one byte per weight plus the graph; the separable model's file shrinks with it.
    (base_bytes, base_params), (new_bytes, new_params) = sizes["resunet"], sizes[arch]
    assert new_params < base_params and new_bytes < base_bytes
    assert base_bytes - new_bytes > 0.7 * (base_params - new_params)
    q, configs = quantize_for_training(build_model(arch, (32, 32, 1), 1, 4, 2, True))
    assert configs == {}  # every layer is tfmot-native (DepthwiseConv2D folds its BatchNorm)
    assert q(np.zeros((1, 32, 32, 1), np.float32))[0].shape == (1, 32, 32, 1)


def test_benchmark_candidate_syntax():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from dice_per_mac import parse_candidate
    finally:
        sys.path.pop(0)
    assert parse_candidate("slim") == ("slim", "slim", {}, None)
    assert parse_candidate("lite@0;1") == ("lite", "lite", {}, [0, 1])
    assert parse_candidate("s2=slim:classes=nerve=1;vessel=2,epochs=60@0") == (
        "s2",
        "slim",
        {"classes": "nerve=1,vessel=2", "epochs": 60},
        [0],
    )
    # An @ inside a value (teacher=@CANDIDATES) is not a seed list; one at the end is.
    assert parse_candidate("kd=slim:teacher=@wave1;slim") == (
        "kd",
        "slim",
        {"teacher": "@wave1,slim"},
        None,
    )
    assert parse_candidate("kd=slim:teacher=@wave1@0;2")[3] == [0, 2]


def _benchmark():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import dice_per_mac
    finally:
        sys.path.pop(0)
    return dice_per_mac


def test_test_time_flip_averages_the_frame_and_its_mirror():
    flip_averaged = _benchmark().flip_averaged
    images = np.arange(2 * 4 * 6, dtype=np.uint8).reshape(2, 4, 6)

    def left_half(batch):  # probability 1 on the left half of whatever frame it is given
        probs = np.zeros((*batch.shape, 1), np.float32)
        probs[:, :, :3] = 1.0
        return probs, np.full(len(batch), 0.2) + (batch[:, 0, 0] > 26)

    probs, presence = flip_averaged(left_half)(images)
    assert probs.shape == (2, 4, 6, 1)
    np.testing.assert_array_equal(probs, 0.5)  # left half of the frame + of the mirror, halved
    # Presence: the mean of the two passes (the mirrored frame's corner pixel differs).
    mirrored = images[:, :, ::-1]
    want = (0.2 + (images[:, 0, 0] > 26) + 0.2 + (mirrored[:, 0, 0] > 26)) / 2
    np.testing.assert_allclose(presence, want)
    np.testing.assert_allclose(presence, [0.2, 0.7])  # frame 2: only its mirror's corner is > 26

    def mirror_equivariant(batch):  # the frame's own pixels: the flip changes nothing
        return batch[..., None].astype(np.float32) / 255.0, None

    probs, presence = flip_averaged(mirror_equivariant)(images)
    np.testing.assert_allclose(probs[..., 0], images / 255.0, rtol=1e-6)
    assert presence is None


def test_acceptance_needs_every_check_and_one_int8_route_that_keeps_the_float_dice():
    acceptance = _benchmark().acceptance
    ref = {"int8_invoke": {"median_ms": 2.5}}

    def row(qat_drop, ptq_drop, low=0.01, ms=2.4, nbytes=263_040, seeds=(0, 1, 2)):
        nerve = {"float_diff_vs_wave1": {"mean": 0.03, "low": low, "high": 0.05}}
        for kind, drop in (("int8", qat_drop), ("int8_ptq", ptq_drop)):
            if drop is not None:
                nerve[f"{kind}_minus_float"] = {"mean": drop, "seeds": list(seeds)}
        return {
            "seeds": list(seeds),
            "macs": 88_163_424,
            "int8_bytes": nbytes,
            "int8_invoke": {"median_ms": ms},
            "classes": {"nerve": nerve},
        }

    def passes(r):
        return acceptance(r, ref, "wave1")["all"]

    assert passes(row(-0.03, 0.001))  # QAT loses Dice, post-training int8 keeps it
    assert passes(row(0.0, None))
    assert not passes(row(-0.03, -0.01))  # neither int8 route keeps the float Dice
    assert not passes(row(0.0, 0.0, low=-0.001))  # the CI reaches 0
    assert not passes(row(0.0, 0.0, ms=2.6))  # slower than the reference
    assert not passes(row(0.0, 0.0, nbytes=300_001))
    assert not passes(row(0.0, 0.0, seeds=(0, 1)))
    checks = acceptance(row(-0.03, 0.001), ref, "wave1")["checks"]
    assert checks["int8 QAT Dice >= float - 0.005"] is False
    assert checks["int8 PTQ Dice >= float - 0.005"] is True


def test_paired_difference_uses_common_seeds_and_reports_both_intervals():
    paired_diff = _benchmark().paired_diff
    rng = np.random.default_rng(1)
    frames = rng.uniform(0.2, 0.8, 40)

    def cand(seeds, shift):
        runs = [{"classes": ["nerve"], "float": {"nerve": list(frames + shift + 0.01 * s)}}
                for s in seeds]  # fmt: skip
        return {"seeds": list(seeds), "runs": runs}

    diff = paired_diff(cand((0, 1, 2, 3), 0.05), cand((0, 1, 2), 0.0), "float", "nerve")
    assert diff["seeds"] == [0, 1, 2]  # seed 3 has no partner
    assert diff["mean"] == pytest.approx(0.05)
    both = diff["seeds_and_frames"]
    assert both["low"] <= diff["low"] <= 0.05 <= diff["high"] <= both["high"]
    assert paired_diff(cand((4,), 0.0), cand((0,), 0.0), "float", "nerve") is None
