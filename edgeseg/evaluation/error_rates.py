"""Error rates of analysed frames: overall, by tertiles of a characteristic, by subject, and the
paired comparison of two runs on the same frames (``edgeseg.stats``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeseg.errors import ConfigError
from edgeseg.stats import compare_paired, holm

TERTILES = ("low", "mid", "high")


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(arr)) if np.any(~np.isnan(arr)) else float("nan")


def error_rates(rows: Sequence[dict]) -> dict:
    """Counts and rates over frame rows (``dice``, ``hd95``, ``bf``, ``outcome``)."""
    outcomes = [r["outcome"] for r in rows]
    with_gt = sum(o in ("tp", "fn") for o in outcomes)
    empty = sum(o in ("fp", "tn") for o in outcomes)
    fn, fp = outcomes.count("fn"), outcomes.count("fp")
    hd = np.asarray([r["hd95"] for r in rows if r["outcome"] == "tp"], dtype=np.float64)
    return {
        "frames": len(rows),
        "dice": _nanmean([r["dice"] for r in rows]),
        "fn_frames": fn,
        "fp_frames": fp,
        "fn_rate": fn / with_gt if with_gt else float("nan"),
        "fp_rate": fp / empty if empty else float("nan"),
        "hd95_median": float(np.nanmedian(hd)) if np.any(~np.isnan(hd)) else float("nan"),
        "bf": _nanmean([r["bf"] for r in rows if r["outcome"] == "tp"]),
    }


def tertile_breakdown(rows: Sequence[dict], key: str) -> list[dict]:
    """Error rates in the low/mid/high thirds of ``key`` (frames where it is NaN: own bin).

    Thirds are by rank (stable sort, ties in frame order), so each holds a third of the frames
    even when a characteristic takes few distinct values; ``range`` is [min, max] inside a bin.
    """
    values = np.asarray([r[key] for r in rows], dtype=np.float64)
    finite = np.flatnonzero(~np.isnan(values))
    out = []
    order = finite[np.argsort(values[finite], kind="stable")]
    for name, part in zip(TERTILES, np.array_split(order, 3), strict=True):
        if part.size:
            rng = [float(values[part].min()), float(values[part].max())]
            out.append({"bin": name, "range": rng, **error_rates([rows[i] for i in part])})
    missing = [r for r, v in zip(rows, values, strict=True) if v != v]
    if missing:
        out.append({"bin": "n/a", "range": None, **error_rates(missing)})
    return out


def area_breakdown(rows: Sequence[dict]) -> list[dict]:
    """Tertiles of mask area among frames with a nerve, plus the empty frames as their own bin."""
    with_gt = [r for r in rows if r["area"] > 0]
    out = tertile_breakdown(with_gt, "area") if with_gt else []
    empty = [r for r in rows if r["area"] == 0]
    if empty:
        out.append({"bin": "empty", "range": [0.0, 0.0], **error_rates(empty)})
    return out


def subject_breakdown(rows: Sequence[dict]) -> list[dict]:
    """Error rates per subject, worst mean Dice first."""
    subjects = sorted({r["subject"] for r in rows})
    out = [{"subject": s, **error_rates([r for r in rows if r["subject"] == s])} for s in subjects]
    return sorted(out, key=lambda x: (x["dice"] if x["dice"] == x["dice"] else -1, x["subject"]))


def pick_gallery(rows: Sequence[dict], k: int) -> tuple[list[int], list[int]]:
    """Indices of the ``k`` worst frames (lowest Dice) and the ``k`` best frames with a nerve.

    Ties keep the frame order, so the choice is reproducible.
    """
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["dice"], i))
    worst = order[:k]
    with_gt = [i for i in order if rows[i]["outcome"] in ("tp", "fn")]
    best = sorted(with_gt, key=lambda i: (-rows[i]["dice"], i))[:k]
    return worst, best


def compare_runs(rows_a: Sequence[dict], rows_b: Sequence[dict], seed: int = 0) -> dict:
    """Paired comparison of two runs' frame rows (same frames, same order): ``b - a``."""
    if [r["image"] for r in rows_a] != [r["image"] for r in rows_b]:
        raise ConfigError("the two runs were analysed on different frames; use the same --data")
    out: dict = {}
    for metric in ("dice", "iou", "bf"):
        out[metric] = compare_paired(
            [r[metric] for r in rows_b], [r[metric] for r in rows_a], seed=seed
        )
    for test in ("wilcoxon", "ttest"):
        adjusted = holm([out[m][test]["pvalue"] for m in ("dice", "iou", "bf")])
        for m, p in zip(("dice", "iou", "bf"), adjusted, strict=True):
            out[m][test]["pvalue_holm"] = p
    diff = np.array([b["dice"] - a["dice"] for a, b in zip(rows_a, rows_b, strict=True)])
    out["frames_better"] = int(np.sum(diff > 1e-9))
    out["frames_worse"] = int(np.sum(diff < -1e-9))
    out["frames_tied"] = int(diff.size - out["frames_better"] - out["frames_worse"])
    changes: dict[str, int] = {}
    for a, b in zip(rows_a, rows_b, strict=True):
        if a["outcome"] != b["outcome"]:
            key = f"{a['outcome']}->{b['outcome']}"
            changes[key] = changes.get(key, 0) + 1
    out["outcome_changes"] = dict(sorted(changes.items()))
    out["a"] = error_rates(rows_a)
    out["b"] = error_rates(rows_b)
    return out
