"""Segmentation metrics in numpy, each under an explicit empty-mask policy.

A frame's score is undefined (0/0) when the masks it divides by are empty; the policy says what
such frames score. "Empty ground truth" is the one meaning of "empty frame" everywhere.

==============  ===========================  ==============================  ==================
policy          ground truth empty           GT non-empty, nothing predicted  both non-empty
==============  ===========================  ==============================  ==================
``kaggle``      Dice/IoU/precision/recall    Dice, IoU, recall 0;             the ratio
(default)       1 if nothing predicted,      precision 0 (a missed nerve is
                else 0 (Kaggle Ultrasound    a wrong frame)
                Nerve Segmentation rule)
``monai``       NaN for every metric: left   Dice, IoU, recall 0;             the ratio
                out of means (MONAI's        precision NaN (0/0, as MONAI's
                ``ignore_empty=True``)       confusion-matrix metrics give)
``nonempty-gt`` NaN for every metric: left   Dice, IoU, recall 0;             the ratio
                out of means                 precision 0
==============  ===========================  ==============================  ==================

``monai`` and ``nonempty-gt`` agree on Dice and IoU (MONAI's Dice is the "frames with a nerve"
mean); they differ only in precision when nothing is predicted. Means drop NaN (``nanmean``)
and report how many frames they averaged (``n``). ``pixel_accuracy`` is always defined.

Masks are bool or {0, 1} numbers: anything else (a probability map, 0/255 labels) is a
``DataError`` naming the values found.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeseg.errors import ConfigError, DataError
from edgeseg.stats import bootstrap_ci

EMPTY_POLICIES = ("kaggle", "monai", "nonempty-gt")
DEFAULT_POLICY = "kaggle"
POLICY_RULES = {
    "kaggle": "every frame scored; prediction and ground truth both empty = 1 (Kaggle rule)",
    "monai": "frames with empty ground truth left out (MONAI ignore_empty=True); precision with "
    "nothing predicted = NaN",
    "nonempty-gt": "frames with empty ground truth left out; precision with nothing predicted = 0",
}


def check_policy(policy: str) -> str:
    """``policy`` if it is one of :data:`EMPTY_POLICIES`, else a one-line ConfigError."""
    if policy not in EMPTY_POLICIES:
        raise ConfigError(
            f"--empty-policy {policy!r}: not one of {', '.join(EMPTY_POLICIES)} "
            "(kaggle: both empty = 1; monai: empty ground truth left out)"
        )
    return policy


def as_mask(mask: np.ndarray, what: str = "mask") -> np.ndarray:
    """A bool array from a bool or {0, 1} mask; DataError for any other value (e.g. 0.73, 255)."""
    arr = np.asarray(mask)
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DataError(f"{what} has dtype {arr.dtype}: expected a bool or 0/1 mask")
    binary = (arr == 0) | (arr == 1)
    if not binary.all():
        bad = np.unique(arr[~binary])
        shown = ", ".join(f"{v:g}" for v in bad[:4].tolist()) + (", ..." if bad.size > 4 else "")
        raise DataError(
            f"{what} has values other than 0 and 1 ({shown}; {bad.size} distinct): metrics take "
            "binary masks; threshold a probability map (edgeseg.postprocess) or map labels to 0/1"
        )
    return arr.astype(bool)


def _counts(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, int, int]:
    p = as_mask(pred, "prediction")
    g = as_mask(gt, "ground truth")
    if p.shape != g.shape:
        raise DataError(f"prediction shape {p.shape} != ground truth shape {g.shape}")
    tp = int(np.count_nonzero(p & g))
    fp = int(np.count_nonzero(p & ~g))
    fn = int(np.count_nonzero(~p & g))
    tn = int(p.size - tp - fp - fn)
    return tp, fp, fn, tn


def _score(num: float, den: float, gt_empty: bool, policy: str) -> float:
    """The shared rule of Dice, IoU and recall (and precision when something is predicted)."""
    check_policy(policy)
    if gt_empty and policy != "kaggle":
        return float("nan")
    if den == 0:
        return 1.0  # kaggle: both empty
    return num / den


def dice(pred: np.ndarray, gt: np.ndarray, policy: str = DEFAULT_POLICY) -> float:
    """2|P∩G| / (|P|+|G|)."""
    tp, fp, fn, _ = _counts(pred, gt)
    return _score(2.0 * tp, 2.0 * tp + fp + fn, tp + fn == 0, policy)


def iou(pred: np.ndarray, gt: np.ndarray, policy: str = DEFAULT_POLICY) -> float:
    """|P∩G| / |P∪G|."""
    tp, fp, fn, _ = _counts(pred, gt)
    return _score(float(tp), float(tp + fp + fn), tp + fn == 0, policy)


def precision(pred: np.ndarray, gt: np.ndarray, policy: str = DEFAULT_POLICY) -> float:
    """TP / (TP+FP); nothing predicted on a frame with a nerve: 0, or NaN under ``monai``."""
    tp, fp, fn, _ = _counts(pred, gt)
    if tp + fp == 0 and fn > 0:
        return float("nan") if check_policy(policy) == "monai" else 0.0
    if tp + fn == 0 and fp > 0:  # empty ground truth, something predicted: all of it false
        return _score(0.0, float(fp), True, policy)
    return _score(float(tp), float(tp + fp), tp + fn == 0, policy)


def recall(pred: np.ndarray, gt: np.ndarray, policy: str = DEFAULT_POLICY) -> float:
    """TP / (TP+FN); an empty ground truth scores 1 if nothing is predicted, else 0 (kaggle)."""
    tp, fp, fn, _ = _counts(pred, gt)
    if tp + fn == 0:
        return _score(0.0, float(fp), True, policy)  # kaggle: 1 when fp == 0, else 0
    return _score(float(tp), float(tp + fn), False, policy)


def pixel_accuracy(pred: np.ndarray, gt: np.ndarray) -> float:
    """(TP+TN) / all pixels."""
    tp, fp, fn, tn = _counts(pred, gt)
    return (tp + tn) / float(tp + fp + fn + tn)


METRICS = {
    "dice": dice,
    "iou": iou,
    "precision": precision,
    "recall": recall,
}


def per_image(pred: np.ndarray, gt: np.ndarray, policy: str = DEFAULT_POLICY) -> dict[str, float]:
    """All metrics of one frame (one class) under ``policy``, plus presence flags."""
    check_policy(policy)
    row = {name: fn(pred, gt, policy) for name, fn in METRICS.items()}
    row["pixel_accuracy"] = pixel_accuracy(pred, gt)
    row["gt_present"] = bool(np.any(as_mask(gt, "ground truth")))
    row["pred_present"] = bool(np.any(as_mask(pred, "prediction")))
    return row


def summarize(
    rows: Sequence[dict[str, float]],
    seed: int = 0,
    policy: str = DEFAULT_POLICY,
    groups: Sequence[str] | None = None,
) -> dict[str, dict]:
    """Mean, 95% bootstrap CI and counts for each metric over per-image rows.

    ``rows`` come from :func:`per_image` under ``policy`` (recorded as ``summary["policy"]``).
    ``groups`` (one subject per row) makes the CIs subject-level (cluster bootstrap); each
    metric says its ``unit``. A metric with one defined frame (or subject) gets
    ``"degenerate": True``: its "CI" is that one value.
    """
    summary: dict[str, dict] = {
        "policy": {"name": check_policy(policy), "rule": POLICY_RULES[policy]}
    }
    for name in (*METRICS, "pixel_accuracy"):
        vals = np.array([r[name] for r in rows], dtype=np.float64)
        ci = bootstrap_ci(vals, groups, seed=seed)
        summary[name] = {
            "mean": ci["mean"],
            "ci_low": ci["ci_low"],
            "ci_high": ci["ci_high"],
            "n": ci["n"],
            "unit": ci["unit"],
            "degenerate": ci["degenerate"],
        }
    gt = np.array([r["gt_present"] for r in rows], dtype=bool)
    pred = np.array([r["pred_present"] for r in rows], dtype=bool)
    summary["presence"] = {
        "accuracy": float(np.mean(gt == pred)) if len(rows) else float("nan"),
        "frames": len(rows),
        "empty_gt_frames": int(np.count_nonzero(~gt)),
        "false_positive_frames": int(np.count_nonzero(pred & ~gt)),
        "false_negative_frames": int(np.count_nonzero(~pred & gt)),
    }
    return summary
