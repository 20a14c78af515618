"""``evaluate`` refuses bad input before writing: an unknown --model, a missing QAT model, a
mask whose size differs from its image (one-line errors naming what to fix)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")

from test_analyze import make_run  # noqa: E402

from edgeseg.errors import ConfigError, DataError, ModelError  # noqa: E402
from edgeseg.train.evaluate import evaluate  # noqa: E402
from edgeseg.train.serialization import model_path, require_model  # noqa: E402


@pytest.fixture(scope="module")
def run_and_data(tmp_path_factory):
    from edgeseg.train.synth import write_dataset

    root = tmp_path_factory.mktemp("evaluate")
    data = root / "data"
    write_dataset(data, 6, size=(64, 64), seed=0)
    return make_run(root / "run", data, "fcn"), data


@pytest.mark.parametrize("which", ["foo", "Best", ""])
def test_unknown_model_name_is_a_config_error(run_and_data, which):
    run, data = run_and_data
    with pytest.raises(ConfigError) as info:
        evaluate(run, data, which=which)
    assert str(info.value) == f"--model {which}: expected best, last or qat"
    assert not (run / "evaluation").exists()
    with pytest.raises(ConfigError, match="expected best, last or qat"):
        model_path(run, which)


def test_missing_qat_or_last_model_says_how_to_make_it(run_and_data):
    run, data = run_and_data
    with pytest.raises(ModelError) as info:
        evaluate(run, data, which="qat")
    assert f"run `edgeseg qat {run}` first" in str(info.value)
    assert "train first" not in str(info.value)
    with pytest.raises(ModelError, match="has no model_last.h5: train first"):
        require_model(run, "last")
    assert require_model(run, "best") == run / "model_best.h5"
    assert not (run / "evaluation").exists()


def test_mask_size_mismatch_is_a_data_error(run_and_data, tmp_path):
    import shutil

    run, data = run_and_data
    bad = tmp_path / "bad"
    shutil.copytree(data, bad)
    mask = sorted((bad / "masks").iterdir())[3]
    Image.fromarray(np.zeros((80, 100), np.uint8)).save(mask)
    with pytest.raises(DataError) as info:
        evaluate(run, bad, out=tmp_path / "eval")
    assert str(info.value).startswith(f"{mask}: mask is 100x80 but its image is 64x64")
    assert not (tmp_path / "eval").exists()


def test_empty_policy_is_applied_and_recorded(run_and_data, tmp_path):
    """kaggle scores every frame; monai averages only frames whose ground truth has a nerve."""
    import json

    run, data = run_and_data
    kaggle = evaluate(run, data, out=tmp_path / "k")
    monai = evaluate(run, data, out=tmp_path / "m", empty_policy="monai")
    saved = json.loads((tmp_path / "m" / "evaluation.json").read_text())
    assert (kaggle["empty_policy"], saved["empty_policy"]) == ("kaggle", "monai")
    rows = (tmp_path / "m" / "per_image.csv").read_text().splitlines()[1:]
    header = (tmp_path / "m" / "per_image.csv").read_text().splitlines()[0].split(",")
    present = [r.split(",")[header.index("nerve/gt_present")] == "True" for r in rows]
    assert kaggle["summary"]["nerve"]["dice"]["n"] == len(rows)
    assert monai["summary"]["nerve"]["dice"]["n"] == sum(present) < len(rows)
    assert "empty-mask policy monai" in monai["table"]
    with pytest.raises(ConfigError, match="--empty-policy 'strict'"):
        evaluate(run, data, out=tmp_path / "s", empty_policy="strict")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "override,message",
    [
        ({"threshold": 1.5}, "--threshold 1.5: must be between 0 and 1"),
        ({"min_area": -2}, "--min-area -2: must be 0 or more pixels"),
        ({"treshold": 0.3}, "unknown setting treshold"),
    ],
)
def test_overrides_are_checked_by_the_contract(run_and_data, tmp_path, override, message):
    run, data = run_and_data
    with pytest.raises(ConfigError, match=message):
        evaluate(run, data, out=tmp_path / "e", **override)
    assert not (tmp_path / "e").exists()


def test_overrides_change_the_masks(run_and_data, tmp_path):
    run, data = run_and_data
    base = evaluate(run, data, out=tmp_path / "a")
    strict = evaluate(run, data, out=tmp_path / "b", threshold=1.0, min_area=10**6)
    assert strict["postprocess"]["threshold"] == 1.0 and strict["postprocess"]["min_area"] == 10**6
    assert strict["summary"]["nerve"]["presence"]["false_positive_frames"] == 0
    assert base["postprocess"]["threshold"] == 0.5


def test_the_loop_runs_a_tflite_like_the_runtime(tiny_tflite, tmp_path):
    """iter_predictions with a Segmenter's contract and predictor gives segment()'s masks."""
    from edgeseg.datasets import discover
    from edgeseg.edge_runtime.segmenter import Segmenter
    from edgeseg.evaluation.predictions import iter_predictions, segmenter_predictor
    from edgeseg.train.synth import write_dataset

    write_dataset(tmp_path / "d", 5, size=(48, 56), seed=2)
    samples, _ = discover(tmp_path / "d")
    seg = Segmenter(tiny_tflite["i8"], threshold=0.3)
    got = list(iter_predictions(samples, seg.contract, segmenter_predictor(seg), batch=2))
    assert len(got) == len(samples)
    for p in got:
        result = seg.segment(p.sample.image)
        assert p.mask.shape[:2] == (48, 56)
        np.testing.assert_array_equal(p.mask, result.mask)
        np.testing.assert_array_equal(p.prob.astype(np.float32), result.prob)
        assert p.presence == result.presence
