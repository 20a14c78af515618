"""Metrics against hand-computed cases, the empty-mask policies and the bootstrap CI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeseg import metrics

E = np.zeros((4, 4), dtype=np.uint8)
A = np.zeros((4, 4), dtype=np.uint8)
A[0, :] = 1  # 4 px
B = np.zeros((4, 4), dtype=np.uint8)
B[0, :2] = 1
B[1, :2] = 1  # 4 px, 2 shared with A

# pred, gt, dice, iou, precision, recall, pixel accuracy (hand-computed)
CASES = [
    ("identical", A, A, 1.0, 1.0, 1.0, 1.0, 1.0),
    ("half overlap", B, A, 0.5, 1 / 3, 0.5, 0.5, 12 / 16),
    ("both empty", E, E, 1.0, 1.0, 1.0, 1.0, 1.0),
    ("missed nerve", E, A, 0.0, 0.0, 0.0, 0.0, 12 / 16),
    ("false alarm", A, E, 0.0, 0.0, 0.0, 0.0, 12 / 16),
]


@pytest.mark.parametrize("name,pred,gt,d,j,p,r,acc", CASES, ids=[c[0] for c in CASES])
def test_hand_computed(name, pred, gt, d, j, p, r, acc):
    assert metrics.dice(pred, gt) == pytest.approx(d)
    assert metrics.iou(pred, gt) == pytest.approx(j)
    assert metrics.precision(pred, gt) == pytest.approx(p)
    assert metrics.recall(pred, gt) == pytest.approx(r)
    assert metrics.pixel_accuracy(pred, gt) == pytest.approx(acc)


def test_empty_policy_nan_leaves_out_both_empty_frames():
    assert math.isnan(metrics.dice(E, E, empty="nan"))
    assert math.isnan(metrics.iou(E, E, empty="nan"))
    assert metrics.dice(E, A, empty="nan") == 0.0
    rows = [metrics.per_image(E, E, "nan"), metrics.per_image(A, A, "nan")]
    assert metrics.summarize(rows)["dice"]["mean"] == 1.0
    assert metrics.summarize(rows)["dice"]["n"] == 1


def test_kaggle_rule_mean_over_frames():
    # Kaggle mean Dice: empty/empty = 1, missed = 0, overlap 0.5 -> (1 + 0 + 0.5) / 3
    rows = [metrics.per_image(E, E), metrics.per_image(E, A), metrics.per_image(B, A)]
    summary = metrics.summarize(rows)
    assert summary["dice"]["mean"] == pytest.approx(0.5)
    assert summary["presence"]["empty_gt_frames"] == 1
    assert summary["presence"]["false_negative_frames"] == 1
    assert summary["presence"]["accuracy"] == pytest.approx(2 / 3)


def test_unknown_policy_and_shape_mismatch_raise():
    with pytest.raises(ValueError):
        metrics.dice(A, A, empty="zero")
    with pytest.raises(ValueError):
        metrics.dice(A, np.zeros((3, 3)))


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    values = np.random.default_rng(0).uniform(0.3, 0.9, 50)
    lo, hi = metrics.bootstrap_ci(values, seed=1)
    assert lo < values.mean() < hi
    assert (lo, hi) == metrics.bootstrap_ci(values, seed=1)
    assert hi - lo < 0.15
    assert metrics.bootstrap_ci([0.7]) == (0.7, 0.7)
