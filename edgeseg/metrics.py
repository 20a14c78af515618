"""Segmentation metrics in numpy, each with an explicit empty-mask policy.

``empty="one"``: when prediction and ground truth are both empty the score is 1 (the Kaggle
Ultrasound Nerve Segmentation rule). ``empty="nan"``: such frames are undefined and left out of
means (``nanmean``). Frames where only one side is empty score 0 either way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EMPTY_POLICIES = ("one", "nan")


def _counts(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, int, int]:
    p = np.asarray(pred).astype(bool)
    g = np.asarray(gt).astype(bool)
    if p.shape != g.shape:
        raise ValueError(f"prediction shape {p.shape} != ground truth shape {g.shape}")
    tp = int(np.count_nonzero(p & g))
    fp = int(np.count_nonzero(p & ~g))
    fn = int(np.count_nonzero(~p & g))
    tn = int(p.size - tp - fp - fn)
    return tp, fp, fn, tn


def _ratio(num: float, den: float, empty: str) -> float:
    if empty not in EMPTY_POLICIES:
        raise ValueError(f"empty={empty!r} is not one of {EMPTY_POLICIES}")
    if den == 0:
        return 1.0 if empty == "one" else float("nan")
    return num / den


def dice(pred: np.ndarray, gt: np.ndarray, empty: str = "one") -> float:
    """2|P∩G| / (|P|+|G|)."""
    tp, fp, fn, _ = _counts(pred, gt)
    return _ratio(2.0 * tp, 2.0 * tp + fp + fn, empty)


def iou(pred: np.ndarray, gt: np.ndarray, empty: str = "one") -> float:
    """|P∩G| / |P∪G|."""
    tp, fp, fn, _ = _counts(pred, gt)
    return _ratio(float(tp), float(tp + fp + fn), empty)


def precision(pred: np.ndarray, gt: np.ndarray, empty: str = "one") -> float:
    """TP / (TP+FP); with no predicted pixels: 1 (one) or NaN (nan) if GT is empty, else 0."""
    tp, fp, fn, _ = _counts(pred, gt)
    if tp + fp == 0 and fn > 0:
        return 0.0
    return _ratio(float(tp), float(tp + fp), empty)


def recall(pred: np.ndarray, gt: np.ndarray, empty: str = "one") -> float:
    """TP / (TP+FN); with an empty GT: 1 (one) or NaN (nan) if nothing predicted, else 0."""
    tp, fp, fn, _ = _counts(pred, gt)
    if tp + fn == 0 and fp > 0:
        return 0.0
    return _ratio(float(tp), float(tp + fn), empty)


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


def per_image(pred: np.ndarray, gt: np.ndarray, empty: str = "one") -> dict[str, float]:
    """All metrics of one frame (one class), plus presence flags."""
    row = {name: fn(pred, gt, empty) for name, fn in METRICS.items()}
    row["pixel_accuracy"] = pixel_accuracy(pred, gt)
    row["gt_present"] = bool(np.any(gt))
    row["pred_present"] = bool(np.any(pred))
    return row


def bootstrap_ci(
    values: Sequence[float], n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (NaNs dropped)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return (float("nan"), float("nan"))
    if arr.size == 1:
        return (float(arr[0]), float(arr[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    means = arr[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha)))


def summarize(rows: Sequence[dict[str, float]], seed: int = 0) -> dict[str, dict[str, float]]:
    """Mean, 95% bootstrap CI and counts for each metric over per-image rows."""
    summary: dict[str, dict[str, float]] = {}
    for name in (*METRICS, "pixel_accuracy"):
        vals = np.array([r[name] for r in rows], dtype=np.float64)
        lo, hi = bootstrap_ci(vals, seed=seed)
        summary[name] = {
            "mean": float(np.nanmean(vals)) if np.any(~np.isnan(vals)) else float("nan"),
            "ci_low": lo,
            "ci_high": hi,
            "n": int(np.count_nonzero(~np.isnan(vals))),
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
