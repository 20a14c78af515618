"""Metrics: the empty-mask policy table, MONAI's own Dice test table under ``monai``, the Kaggle
rule under ``kaggle``, refusing non-binary masks, and summaries with their intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeseg import metrics
from edgeseg.errors import ConfigError, DataError

E = np.zeros((4, 4), dtype=np.uint8)
A = np.zeros((4, 4), dtype=np.uint8)
A[0, :] = 1  # 4 px
B = np.zeros((4, 4), dtype=np.uint8)
B[0, :2] = 1
B[1, :2] = 1  # 4 px, 2 shared with A
N = float("nan")

# pred, gt, then (dice, iou, precision, recall) under kaggle, monai, nonempty-gt (hand-computed)
POLICY_TABLE = [
    ("identical", A, A, (1, 1, 1, 1), (1, 1, 1, 1), (1, 1, 1, 1)),
    ("half overlap", B, A, (0.5, 1 / 3, 0.5, 0.5), (0.5, 1 / 3, 0.5, 0.5), (0.5, 1 / 3, 0.5, 0.5)),
    ("both empty", E, E, (1, 1, 1, 1), (N, N, N, N), (N, N, N, N)),
    ("missed nerve", E, A, (0, 0, 0, 0), (0, 0, N, 0), (0, 0, 0, 0)),
    ("false alarm", A, E, (0, 0, 0, 0), (N, N, N, N), (N, N, N, N)),
]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


@pytest.mark.parametrize("case", POLICY_TABLE, ids=[c[0] for c in POLICY_TABLE])
@pytest.mark.parametrize("k", range(3), ids=list(metrics.EMPTY_POLICIES))
def test_policy_table(case, k):
    _, pred, gt, *expected = case
    policy = metrics.EMPTY_POLICIES[k]
    got = [metrics.METRICS[m](pred, gt, policy) for m in ("dice", "iou", "precision", "recall")]
    assert all(same(g, e) for g, e in zip(got, expected[k], strict=True)), (policy, got)
    row = metrics.per_image(pred, gt, policy)
    assert same(row["dice"], expected[k][0])
    assert row["pixel_accuracy"] == pytest.approx(np.mean(pred == gt))  # defined everywhere
    assert row["gt_present"] == bool(gt.any()) and row["pred_present"] == bool(pred.any())


def test_kaggle_rule_is_the_default_and_means_every_frame():
    # Kaggle Ultrasound Nerve Segmentation: mean over frames of Dice, both empty = 1.
    rows = [metrics.per_image(E, E), metrics.per_image(E, A), metrics.per_image(B, A)]
    summary = metrics.summarize(rows)
    assert summary["policy"]["name"] == "kaggle" == metrics.DEFAULT_POLICY
    assert summary["dice"]["mean"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert summary["dice"]["n"] == 3
    assert summary["presence"]["empty_gt_frames"] == 1
    assert summary["presence"]["false_negative_frames"] == 1


def test_monai_leaves_out_empty_ground_truth():
    rows = [metrics.per_image(p, g, "monai") for p, g in ((E, E), (A, E), (B, A), (E, A))]
    summary = metrics.summarize(rows, policy="monai")
    assert summary["dice"]["mean"] == pytest.approx(0.25) and summary["dice"]["n"] == 2
    assert summary["precision"]["n"] == 1  # the missed nerve's precision is 0/0: NaN
    assert summary["policy"]["name"] == "monai" and "ignore_empty" in summary["policy"]["rule"]
    nonempty = metrics.summarize(
        [metrics.per_image(p, g, "nonempty-gt") for p, g in ((E, E), (B, A), (E, A))],
        policy="nonempty-gt",
    )
    assert nonempty["precision"]["mean"] == pytest.approx(0.25) and nonempty["precision"]["n"] == 2


# MONAI's tests of compute_dice / DiceMetric (Project-MONAI/MONAI at d388d1c,
# tests/metrics/test_compute_meandice.py), re-expressed. MONAI takes one-hot tensors
# (batch, class, H, W); each (batch item, class) pair is one of our per-image binary masks, so a
# case becomes a list of items, each a list of (prediction, ground truth) 2x2 masks per class.
# MONAI's default ignore_empty=True is our "monai" policy; ignore_empty=False is "kaggle".
P3 = [  # TEST_CASE_4/5/7/8's prediction, per item and class
    [[[1, 1], [1, 0]], [[0, 1], [0, 0]], [[0, 1], [1, 1]]],
    [[[1, 0], [1, 1]], [[0, 1], [1, 1]], [[0, 1], [1, 0]]],
]
Y4 = [  # TEST_CASE_4/5's ground truth
    [[[1, 1], [1, 1]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]],
    [[[0, 0], [0, 1]], [[1, 1], [0, 0]], [[0, 0], [1, 0]]],
]
Y7 = [  # TEST_CASE_6/7/8's ground truth: only class 0 present
    [[[1, 1], [1, 1]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]],
    [[[1, 1], [1, 1]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]],
]
MONAI_PER_IMAGE = [  # (case, prediction, ground truth, policy, expected Dice per item x class)
    ("TEST_CASE_1", [[[[1, 0], [0, 1]]]], [[[[1, 0], [1, 1]]]], "monai", [[0.8]]),
    (
        "TEST_CASE_2 (include_background=False: classes 1 and 2)",
        [[[[0, 0], [1, 1]], [[1, 0], [0, 0]]], [[[1, 0], [0, 0]], [[0, 1], [1, 0]]]],
        [[[[1, 0], [1, 0]], [[0, 1], [0, 0]]], [[[1, 1], [0, 0]], [[0, 0], [1, 0]]]],
        "monai",
        [[0.5, 0.0], [0.6667, 0.6667]],
    ),
    (
        "TEST_CASE_3 (NaN where the ground truth is empty)",
        [[np.zeros((2, 2)), np.zeros((2, 2)), np.ones((2, 2))]] * 2,
        [
            [np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))],
            [[[0, 1], [1, 0]], [[1, 0], [0, 1]], np.zeros((2, 2))],
        ],
        "monai",
        [[0.0, N, N], [0.0, 0.0, N]],
    ),
    (
        "TEST_CASE_9",
        [[np.ones((3, 3))] * 2] * 2,
        [[np.ones((3, 3))] * 2] * 2,
        "monai",
        [[1, 1]] * 2,
    ),
    (
        "TEST_CASE_11 (ignore_empty=False, both empty)",
        [[np.zeros((3, 3))] * 2] * 2,
        [[np.zeros((3, 3))] * 2] * 2,
        "kaggle",
        [[1, 1]] * 2,
    ),
    (
        "TEST_CASE_12 (ignore_empty=False, prediction on empty ground truth)",
        [[np.ones((3, 3))] * 2] * 2,
        [[np.zeros((3, 3))] * 2] * 2,
        "kaggle",
        [[0, 0]] * 2,
    ),
]


def dice_grid(pred, gt, policy: str) -> np.ndarray:
    return np.array(
        [
            [
                metrics.dice(np.asarray(p, np.uint8), np.asarray(g, np.uint8), policy)
                for p, g in zip(pi, gi, strict=True)
            ]
            for pi, gi in zip(pred, gt, strict=True)
        ]
    )


@pytest.mark.parametrize("case", MONAI_PER_IMAGE, ids=[c[0].split()[0] for c in MONAI_PER_IMAGE])
def test_monai_compute_dice_table(case):
    _, pred, gt, policy, expected = case
    got = dice_grid(pred, gt, policy)
    np.testing.assert_allclose(got, np.array(expected, dtype=np.float64), atol=1e-4)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(np.array(expected, np.float64)))


def test_monai_dice_metric_reductions():
    """DiceMetric's reductions (TEST_CASE_4/5/7/8) from our per-image values.

    mean_batch: per class, the mean over items of the defined values (our ``summarize`` over
    one class's rows); mean: per item the mean over its classes, then over items.
    """
    grid4 = dice_grid(P3, Y4, "monai")
    per_class = [
        metrics.summarize(
            [
                metrics.per_image(
                    np.asarray(P3[i][c], np.uint8), np.asarray(Y4[i][c], np.uint8), "monai"
                )
                for i in range(2)
            ],
            policy="monai",
        )["dice"]
        for c in range(3)
    ]
    assert [round(s["mean"], 4) for s in per_class] == [0.6786, 0.4, 0.6667]  # TEST_CASE_4
    assert [s["n"] for s in per_class] == [2, 1, 1]
    assert np.nanmean(np.nanmean(grid4, axis=1)) == pytest.approx(0.689683, abs=1e-6)  # CASE_5
    grid7 = dice_grid(P3, Y7, "monai")
    assert np.nanmean(np.nanmean(grid7, axis=1)) == pytest.approx(0.857143, abs=1e-6)  # CASE_7
    # TEST_CASE_8 (classes 1, 2 only, sum_batch): every value undefined. MONAI writes 0 with
    # not_nans 0; we keep NaN with n = 0.
    assert np.isnan(grid7[:, 1:]).all()


def test_probability_maps_and_labels_are_refused():
    prob = np.array([[0.2, 0.73], [0.0, 1.0]])
    with pytest.raises(DataError, match=r"prediction has values other than 0 and 1 \(0.2, 0.73"):
        metrics.dice(prob, A[:2, :2])
    with pytest.raises(DataError, match=r"ground truth has values other than 0 and 1 \(255"):
        metrics.per_image(A, A * 255)
    assert metrics.dice(A.astype(bool), A.astype(np.float32)) == 1.0  # bool and 0.0/1.0 are fine


def test_unknown_policy_and_shape_mismatch_raise():
    with pytest.raises(ConfigError, match="--empty-policy 'one': not one of kaggle, monai"):
        metrics.dice(A, A, "one")
    with pytest.raises(DataError, match="shape"):
        metrics.dice(A, np.zeros((3, 3)))


def test_summary_intervals_are_labelled_and_one_frame_is_flagged():
    rows = [metrics.per_image(B, A), metrics.per_image(A, A), metrics.per_image(E, A)] * 4
    frame = metrics.summarize(rows, seed=1)["dice"]
    assert frame["unit"] == "frame" and frame["ci_low"] <= frame["mean"] <= frame["ci_high"]
    assert frame == metrics.summarize(rows, seed=1)["dice"]  # seeded
    subjects = [f"s{i // 3}" for i in range(12)]  # 4 subjects of 3 frames
    subject = metrics.summarize(rows, seed=1, groups=subjects)["dice"]
    assert subject["unit"] == "subject" and subject["mean"] == frame["mean"]
    # every subject has the same mean: resampling subjects cannot move it
    assert subject["ci_low"] == pytest.approx(subject["ci_high"])
    one = metrics.summarize([metrics.per_image(B, A)])["dice"]
    assert one["degenerate"] is True and one["ci_low"] == one["ci_high"] == 0.5
    assert frame["degenerate"] is False
