"""Error analysis: boundary scores, noise estimate and breakdowns by hand; one tiny run end to end,
compared with a copy of itself that thresholds differently."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from edgeseg.train.analyze import (
    area_breakdown,
    boundary,
    boundary_scores,
    characteristics,
    compare_runs,
    error_rates,
    gallery,
    noise_level,
    outcome,
    overlay,
    pick_gallery,
    subject_breakdown,
    tertile_breakdown,
)


def square(y, x, side=10, shape=(40, 40)):
    m = np.zeros(shape, np.uint8)
    m[y : y + side, x : x + side] = 1
    return m


@pytest.mark.parametrize(
    ("pred", "gt", "hd95", "bf"),
    [
        (square(10, 10), square(10, 10), 0.0, 1.0),
        (square(10, 13), square(10, 10), 3.0, None),  # shifted 3 px sideways
        (np.zeros((40, 40)), np.zeros((40, 40)), 0.0, 1.0),  # both empty
        (square(10, 10), np.zeros((40, 40)), float("nan"), 0.0),  # only one empty
        (np.zeros((40, 40)), square(10, 10), float("nan"), 0.0),
    ],
)
def test_boundary_scores_table(pred, gt, hd95, bf):
    r = boundary_scores(pred, gt, tolerance=2.0)
    if math.isnan(hd95):
        assert math.isnan(r["hd95"])
    else:
        assert r["hd95"] == pytest.approx(hd95)
    if bf is not None:
        assert r["bf"] == pytest.approx(bf)
    else:
        assert 0.0 < r["bf"] < 1.0


def test_boundary_of_a_square_is_its_outline():
    b = boundary(square(5, 5, side=4, shape=(12, 12)))
    assert b.sum() == 12 and not b[6:8, 6:8].any()
    edge = np.ones((4, 4), np.uint8)  # touching the frame: its border pixels are boundary
    assert boundary(edge).sum() == 12


@pytest.mark.parametrize("sigma", [5.0, 10.0, 20.0])
def test_noise_level_recovers_gaussian_sigma(sigma):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:128, :128]
    smooth = 60 + 0.5 * yy + 0.3 * xx  # a ramp the Laplacian cancels
    frame = smooth + rng.normal(0, sigma, smooth.shape)
    assert noise_level(frame) == pytest.approx(sigma, rel=0.15)


def test_characteristics_of_a_bright_square():
    frame = np.full((40, 40), 50, np.uint8)
    gt = square(15, 15)
    frame[gt.astype(bool)] = 150
    c = characteristics(frame, gt)
    assert c["noise"] == 0.0
    assert c["area"] == pytest.approx(100 / 1600)
    assert c["nerve_contrast"] == pytest.approx(100 / 255)
    assert math.isnan(characteristics(frame, np.zeros_like(gt))["nerve_contrast"])


@pytest.mark.parametrize(
    ("gt", "pred", "expected"),
    [(True, True, "tp"), (True, False, "fn"), (False, True, "fp"), (False, False, "tn")],
)
def test_outcome_table(gt, pred, expected):
    assert outcome(gt, pred) == expected


def _rows():
    outcomes = ["tp", "tp", "fn", "fp", "tn", "tp"]
    return [
        {
            "image": f"f{i}",
            "subject": "a" if i < 3 else "b",
            "dice": [0.9, 0.7, 0.0, 0.0, 1.0, 0.5][i],
            "iou": 0.5,
            "bf": 0.5,
            "hd95": [1.0, 2.0, float("nan"), float("nan"), 0.0, 4.0][i],
            "outcome": o,
            "noise": float(i),
            "area": [0.1, 0.2, 0.3, 0.0, 0.0, 0.05][i],
        }
        for i, o in enumerate(outcomes)
    ]


def test_error_rates_and_breakdowns():
    rows = _rows()
    r = error_rates(rows)
    assert (r["fn_frames"], r["fp_frames"]) == (1, 1)
    assert r["fn_rate"] == pytest.approx(1 / 4) and r["fp_rate"] == pytest.approx(1 / 2)
    assert r["hd95_median"] == pytest.approx(2.0)
    thirds = tertile_breakdown(rows, "noise")
    assert [t["bin"] for t in thirds] == ["low", "mid", "high"]
    assert [t["frames"] for t in thirds] == [2, 2, 2]
    assert thirds[0]["range"] == [0.0, 1.0]
    area = area_breakdown(rows)
    assert area[-1]["bin"] == "empty" and area[-1]["frames"] == 2
    assert sum(a["frames"] for a in area) == 6
    subjects = subject_breakdown(rows)
    assert [s["subject"] for s in subjects] == ["b", "a"]  # worst mean Dice first


def test_pick_gallery_is_reproducible():
    worst, best = pick_gallery(_rows(), 2)
    assert worst == [2, 3] and best == [0, 1]


def test_overlay_and_gallery_images():
    frame = np.full((30, 40), 100, np.uint8)
    tile = overlay(frame, square(5, 5, shape=(30, 40)), square(8, 8, shape=(30, 40)))
    arr = np.asarray(tile)
    assert tile.mode == "RGB" and arr.shape == (30, 40, 3)
    assert (arr == [40, 230, 40]).all(-1).any() and (arr == [255, 40, 40]).all(-1).any()
    sheet = gallery([(tile, "a\nDice 0.5")] * 5, columns=4, tile=64)
    assert sheet.size[0] == 4 * 68 and sheet.size[1] > 2 * 64


def test_compare_runs_counts_changes():
    a = _rows()
    b = [dict(r) for r in a]
    b[2].update(dice=0.6, outcome="tp")
    b[0].update(dice=0.8)
    c = compare_runs(a, b)
    assert c["frames_better"] == 1 and c["frames_worse"] == 1 and c["frames_tied"] == 4
    assert c["outcome_changes"] == {"fn->tp": 1}
    assert c["dice"]["diff"]["mean_diff"] == pytest.approx(0.5 / 6)
    assert "pvalue_holm" in c["dice"]["wilcoxon"]


# ----------------------------------------------------------------------------- end to end


def make_run(run_dir, data, arch, threshold=0.5, seed=0):
    """A run directory with an untrained model: analysis does not care how good it is."""
    import tf_keras as keras

    from edgeseg.config import ModelSpec, PostProcess, Preprocessing, RunConfig, parse_classes
    from edgeseg.train.models import build_model
    from edgeseg.train.serialization import save_model

    keras.utils.set_random_seed(seed)
    cfg = RunConfig(
        data=str(data),
        layout="paired",
        classes=parse_classes("nerve=1,vessel=2"),
        preprocessing=Preprocessing(64, 64),
        model=ModelSpec(arch=arch, base_filters=4, depth=2),
        postprocess=PostProcess(threshold=threshold),
        train_subjects=("s00", "s01"),
        val_subjects=("s02",),
    )
    model = build_model(arch, (64, 64, 1), 2, 4, 2, True)
    run_dir.mkdir(parents=True)
    cfg.save(run_dir)
    save_model(model, run_dir / "model_best.h5")
    return run_dir


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from edgeseg.train.synth import write_dataset

    root = tmp_path_factory.mktemp("analyze")
    data = root / "data"
    write_dataset(data, 24, size=(64, 64), seed=0)
    return data, make_run(root / "a", data, "resunet"), make_run(root / "b", data, "fcn", 0.4)


@pytest.mark.slow
def test_analyze_end_to_end(two_runs, tmp_path):
    from edgeseg.train.analyze import analyze

    data, run, other = two_runs
    out = tmp_path / "analysis"
    report = analyze(
        run,
        data,
        compare_to=other,
        out=out,
        subject_regex=r"^(s\d+)_",
        credit="test data, CC BY 4.0",
        log=lambda _m: None,
    )
    for name in ("analysis.json", "analysis.md", "per_frame.csv"):
        assert (out / name).is_file()
    for name in ("gallery_worst.png", "gallery_best.png"):
        with Image.open(out / name) as img:
            assert img.size[0] > 100
    saved = json.loads((out / "analysis.json").read_text())
    assert saved["credit"] == "test data, CC BY 4.0"
    assert "- data credit: test data, CC BY 4.0" in (out / "analysis.md").read_text()
    assert saved["frames"] == 24 and saved["class"] == "nerve"
    assert {"noise", "rms_contrast", "nerve_contrast", "brightness", "area", "subject"} <= set(
        saved["breakdown"]
    )
    assert len(saved["breakdown"]["subject"]) == 3  # s00..s02
    o = saved["overall"]
    assert o["fn_frames"] + o["fp_frames"] <= 24
    assert "comparison" in saved and "Paired comparison" in (out / "analysis.md").read_text()
    c = saved["comparison"]
    assert c["frames_better"] + c["frames_worse"] + c["frames_tied"] == 24
    assert report["out_dir"] == str(out)


@pytest.mark.slow
def test_analyze_empty_policy_leaves_empty_frames_out(two_runs, tmp_path):
    """Under nonempty-gt the mean Dice covers only frames whose ground truth has a nerve."""
    import csv

    from edgeseg.train.analyze import analyze

    data, run, _ = two_runs
    kaggle = analyze(run, data, out=tmp_path / "k", log=lambda _m: None)
    strict = analyze(run, data, out=tmp_path / "n", empty_policy="nonempty-gt", log=lambda _m: None)
    rows = list(csv.DictReader((tmp_path / "n" / "per_frame.csv").open()))
    with_nerve = [float(r["dice"]) for r in rows if r["outcome"] in ("tp", "fn")]
    assert 0 < len(with_nerve) < len(rows)
    assert all(r["dice"] == "nan" for r in rows if r["outcome"] in ("tn", "fp"))
    assert strict["overall"]["dice"] == pytest.approx(float(np.mean(with_nerve)))
    assert strict["overall"]["dice"] != kaggle["overall"]["dice"]
    assert strict["empty_policy"] == "nonempty-gt" and kaggle["empty_policy"] == "kaggle"
    assert "- empty-mask policy: nonempty-gt" in (tmp_path / "n" / "analysis.md").read_text()


def test_missing_compare_run_fails_before_writing(two_runs, tmp_path):
    from edgeseg.errors import ConfigError
    from edgeseg.train.analyze import analyze

    data, run, _ = two_runs
    out = tmp_path / "analysis"
    with pytest.raises(ConfigError, match=r"--compare .*nonexist: no such run directory"):
        analyze(run, data, compare_to=tmp_path / "nonexist", out=out, log=lambda _m: None)
    assert not out.exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        analyze(run, data, compare_to=tmp_path / "empty", out=out, log=lambda _m: None)
    assert not out.exists()


def test_unknown_model_and_mask_mismatch_fail_before_writing(two_runs, tmp_path):
    import shutil

    from edgeseg.errors import ConfigError, DataError
    from edgeseg.train.analyze import analyze

    data, run, _ = two_runs
    out = tmp_path / "analysis"
    with pytest.raises(ConfigError, match="^--model foo: expected best, last or qat$"):
        analyze(run, data, out=out, which="foo", log=lambda _m: None)
    bad = tmp_path / "bad"
    shutil.copytree(data, bad)
    mask = sorted((bad / "masks").iterdir())[0]
    Image.fromarray(np.zeros((80, 100), np.uint8)).save(mask)
    with pytest.raises(DataError) as info:
        analyze(run, bad, out=out, log=lambda _m: None)
    assert str(info.value).startswith(f"{mask}: mask is 100x80 but its image is 64x64")
    assert not out.exists()


# ----------------------------------------------------------------------------- the prediction loop


def _bright_predictor(calls):
    """A Predictor without a model: probability = pixel / 255, presence = mean probability."""

    def predict(images):
        calls.append(len(images))
        prob = images.astype(np.float32)[..., None] / 255.0
        return prob, prob.mean(axis=(1, 2, 3))

    return predict


def test_iter_predictions_is_the_contract_at_each_frames_size(tmp_path):
    """One loop: frames read in order, batched, masks by the contract at the frame's own size."""
    from edgeseg.contract import FrameContract
    from edgeseg.datasets import discover, read_sample_mask
    from edgeseg.evaluation.predictions import iter_predictions
    from edgeseg.imaging import read_gray
    from edgeseg.train.synth import write_dataset

    write_dataset(tmp_path / "a", 5, size=(80, 96), seed=3)
    samples, _ = discover(tmp_path / "a")
    contract = FrameContract.default((32, 32)).with_overrides(threshold=0.6, min_area=3)
    calls: list[int] = []
    got = list(iter_predictions(samples, contract, _bright_predictor(calls), batch=2))
    assert calls == [2, 2, 1]
    assert [p.sample for p in got] == list(samples)
    for p in got:
        frame = read_gray(p.sample.image)
        np.testing.assert_array_equal(p.frame, frame)
        np.testing.assert_array_equal(p.gt, read_sample_mask(p.sample, [1], frame.shape))
        assert p.mask.shape == (*frame.shape, 1) and p.mask_model.shape == (32, 32, 1)
        np.testing.assert_array_equal(
            p.prob[..., 0], contract.prepare(frame).astype(np.float32) / 255.0
        )
        np.testing.assert_array_equal(p.mask, contract.to_mask(p.prob, p.presence, frame.shape))
        assert p.gt_model().shape == (32, 32, 1)
    one_batch = list(iter_predictions(samples, contract, _bright_predictor([]), batch=16))
    for a, b in zip(got, one_batch, strict=True):
        np.testing.assert_array_equal(a.mask, b.mask)
    stricter = contract.with_overrides(threshold=0.95)
    first = next(iter_predictions(samples, stricter, _bright_predictor([])))
    assert first.mask.sum() < got[0].mask.sum()
