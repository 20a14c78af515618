"""Post-processing ablation: each step fixes the error it is meant for, the runtime recipe matches
``probabilities_to_mask``, and tuning only ever sees validation subjects."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeseg.config import PostProcess
from edgeseg.postprocess import probabilities_to_mask
from edgeseg.train.postprocess_tuning import (
    Settings,
    ablation,
    apply_settings,
    flags_for,
    step_grid,
)

H = W = 32


def blob(y, x, r, value=0.9):
    yy, xx = np.mgrid[:H, :W]
    return np.where((yy - y) ** 2 + (xx - x) ** 2 <= r * r, value, 0.0)


def gt_of(p):
    return (p >= 0.5).astype(np.uint8)


def test_min_area_removes_specks_and_largest_keeps_one():
    prob = np.maximum(blob(10, 10, 5), blob(25, 25, 1))
    assert apply_settings(prob, None, Settings(min_area=10)).sum() == gt_of(blob(10, 10, 5)).sum()
    both = np.maximum(blob(8, 8, 4), blob(24, 24, 6))
    kept = apply_settings(both, None, Settings(largest_component=True))
    assert kept[24, 24] and not kept[8, 8]


def test_fill_holes_and_gate_with_area_override():
    ring = blob(16, 16, 8) - blob(16, 16, 4)
    assert (
        apply_settings(ring, None, Settings(fill_holes=True)).sum() == gt_of(blob(16, 16, 8)).sum()
    )
    big = blob(16, 16, 8)
    gate = Settings(presence_gate=True, presence_threshold=0.5)
    assert not apply_settings(big, 0.2, gate).any()
    assert apply_settings(big, 0.2, Settings(**{**gate.__dict__, "gate_keep_area": 50})).any()
    assert not apply_settings(
        blob(16, 16, 2), 0.2, Settings(**{**gate.__dict__, "gate_keep_area": 50})
    ).any()
    assert apply_settings(big, 0.7, gate).any()


@pytest.mark.parametrize(
    "post",
    [
        PostProcess(),
        PostProcess(threshold=0.3, min_area=6),
        PostProcess(min_area=20, largest_component=True),
        PostProcess(presence_gate=True, presence_threshold=0.6, min_area=3),
    ],
)
@pytest.mark.parametrize("presence", [0.2, 0.9])
def test_runtime_recipe_equals_the_contract(post, presence):
    rng = np.random.default_rng(1)
    prob = rng.uniform(0, 1, (H, W)) * 0.6 + np.maximum(blob(10, 12, 5), blob(24, 22, 3)) * 0.4
    s = Settings(
        threshold=post.threshold,
        presence_gate=post.presence_gate,
        presence_threshold=post.presence_threshold,
        min_area=post.min_area,
        largest_component=post.largest_component,
    )
    assert s.runtime() == post
    np.testing.assert_array_equal(
        apply_settings(prob, presence, s), probabilities_to_mask(prob, post, presence)
    )


def _frames():
    """Frames where each step has something to fix: specks, an empty frame with a confident
    blob but a low presence score, a hollow prediction."""
    probs, gts, presence = [], [], []
    for k in range(6):
        nerve = blob(12 + k, 14, 5)
        probs.append(np.maximum(nerve, blob(28, 3, 1)))  # nerve + a speck
        gts.append(gt_of(nerve))
        presence.append(0.9)
    probs.append(blob(16, 16, 3))  # empty frame, spurious blob, classifier says no
    gts.append(np.zeros((H, W), np.uint8))
    presence.append(0.1)
    probs.append(blob(16, 16, 7) - blob(16, 16, 3))  # hollow nerve
    gts.append(gt_of(blob(16, 16, 7)))
    presence.append(0.8)
    return np.stack(probs), np.array(presence), np.stack(gts)


def test_ablation_measures_each_step():
    probs, presence, gts = _frames()
    report = ablation(probs, presence, gts)
    alone = {r["step"]: r for r in report["alone"]}
    assert alone["presence_gate"]["gain"] > 0 and alone["presence_gate"]["fp_frames"] == 0
    assert alone["min_area"]["gain"] > 0
    assert alone["fill_holes"]["gain"] > 0
    assert report["best"]["dice"] > report["baseline"]["dice"]
    assert report["best"]["settings"]["fill_holes"] is True
    steps = [r["step"] for r in report["cumulative"]]
    assert steps == ["presence_gate", "min_area", "largest_component", "fill_holes"]
    # Each kept step raised the running score.
    assert all(r["gain"] > 0 for r in report["cumulative"] if r["accepted"])


def test_runtime_only_and_no_presence_head():
    probs, presence, gts = _frames()
    runtime = ablation(probs, presence, gts, runtime_only=True)
    assert runtime["best"]["settings"]["fill_holes"] is False
    assert runtime["best"]["settings"]["gate_keep_area"] == 0
    no_head = ablation(probs, None, gts)
    assert no_head["skipped"] == ["presence_gate"]
    assert "presence_gate" not in [r["step"] for r in no_head["alone"]]


def test_grids_scale_with_input_size():
    small = step_grid("min_area", Settings(), 64 * 64)
    big = step_grid("min_area", Settings(), 256 * 256)
    assert max(s.min_area for s in big) == 16 * max(s.min_area for s in small)
    assert len(step_grid("fill_holes", Settings(), 1024, runtime_only=True)) == 0


def test_flags():
    post = PostProcess(threshold=0.4, min_area=25, largest_component=True, presence_gate=True)
    assert flags_for(post) == (
        "--threshold 0.4 --min-area 25 --largest-component --presence-gate --presence-threshold 0.5"
    )


@pytest.mark.slow
def test_tunes_on_validation_subjects_only(tmp_path):
    pytest.importorskip("tensorflow")
    from test_analyze import make_run

    from edgeseg.errors import ConfigError
    from edgeseg.train.postprocess_tuning import tune_postprocess
    from edgeseg.train.synth import write_dataset

    data = tmp_path / "data"
    write_dataset(data, 24, size=(64, 64), seed=0)  # subjects s00, s01, s02
    run = make_run(tmp_path / "run", data, "fcn")
    seen = []
    report = tune_postprocess(run, subject_regex=r"^(s\d+)_", credit="test data", log=seen.append)
    assert report["full"]["frames"] == 8  # s02 only
    assert "16 frames of training/other subjects are left out" in seen[0]
    saved = json.loads((run / "postprocess" / "postprocess.json").read_text())
    assert saved["recommended"]["threshold"] == 0.5
    assert "--min-area" in saved["flags"]
    markdown = (run / "postprocess" / "postprocess.md").read_text()
    assert "Steps added in order" in markdown and "- data credit: test data" in markdown
    # Without the training regex no frame maps to a validation subject: refuse, do not guess.
    with pytest.raises(ConfigError, match="validation subjects"):
        tune_postprocess(run, log=seen.append)
    # A run that recorded its regex (as train does) is grouped the same way by default.
    from dataclasses import replace

    from edgeseg.config import load_config

    replace(load_config(run), subject_regex=r"^(s\d+)_").save(run)
    again = tune_postprocess(run, out=tmp_path / "again", log=seen.append)
    assert again["full"]["frames"] == 8
    assert again["full"]["baseline"] == report["full"]["baseline"]


def test_missing_data_and_unknown_model_are_one_line_errors(tmp_path):
    pytest.importorskip("tensorflow")
    from test_analyze import make_run

    from edgeseg.errors import ConfigError, DataError, ModelError
    from edgeseg.train.postprocess_tuning import tune_postprocess

    run = make_run(tmp_path / "run", "../shared/data/gone", "fcn")  # data recorded relative
    with pytest.raises(DataError) as info:
        tune_postprocess(run, data=tmp_path / "nonexist", log=lambda _m: None)
    assert str(info.value) == f"data folder {tmp_path / 'nonexist'} does not exist: pass --data DIR"
    with pytest.raises(DataError) as info:
        tune_postprocess(run, log=lambda _m: None)
    message = str(info.value)
    assert "\n" not in message and "../shared/data/gone does not exist" in message
    assert str(run / "config.json") in message and "pass --data DIR" in message
    with pytest.raises(ConfigError, match="^--model foo: expected best, last or qat$"):
        tune_postprocess(run, data=tmp_path, which="foo", log=lambda _m: None)
    with pytest.raises(ModelError, match=f"run `edgeseg qat {run}` first"):
        tune_postprocess(run, data=tmp_path, which="qat", log=lambda _m: None)
    assert not (run / "postprocess").exists()


def test_empty_policy_leaves_empty_frames_out_of_the_mean():
    """kaggle scores an empty frame with nothing drawn 1; monai leaves such frames out."""
    from edgeseg.errors import ConfigError
    from edgeseg.train.postprocess_tuning import Scorer

    probs = np.stack([blob(10, 10, 5), np.zeros((32, 32)), blob(20, 20, 4)]).astype(np.float32)
    gts = np.stack([gt_of(blob(10, 10, 5)), np.zeros((32, 32)), gt_of(blob(20, 20, 6))])
    base = Settings()
    kaggle = Scorer(probs, None, gts).score(base)["dice"]
    monai = Scorer(probs, None, gts, "monai").score(base)["dice"]
    from edgeseg.metrics import dice

    third = dice((probs[2] >= 0.5).astype(np.uint8), gts[2])
    assert kaggle == pytest.approx((1.0 + 1.0 + third) / 3)
    assert monai == pytest.approx((1.0 + third) / 2)
    with pytest.raises(ConfigError, match="--empty-policy 'strict'"):
        Scorer(probs, None, gts, "strict")
