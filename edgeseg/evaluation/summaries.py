"""The parity result's summaries: each model's accuracy, and the candidate's agreement and flips
with each reference, every interval labelled with its unit (numpy; scipy for the exact flip
interval)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from edgeseg.evaluation.verdict import N_BOOT
from edgeseg.metrics import summarize
from edgeseg.stats import bootstrap_ci, clopper_pearson

if TYPE_CHECKING:
    from edgeseg.evaluation.parity import ParityAccumulator


def model_summary(
    acc: ParityAccumulator, model: str, seed: int, groups: list[str] | None
) -> dict[str, Any]:
    """One model's accuracy per class (its policy), Dice on non-empty ground truth, its head."""
    accuracy = {}
    for cls in acc.classes:
        rows = acc.rows[model][cls]
        summary = summarize(rows, seed=seed, policy=acc.policy, groups=groups)
        nonempty = np.array([r["dice"] for r in rows if r["gt_present"]], np.float64)
        summary["dice_nonempty"] = {
            "mean": float(nonempty.mean()) if nonempty.size else float("nan"),
            "n": int(nonempty.size),
        }
        accuracy[cls] = summary
    scores = acc.presence[model]
    head = None
    scored = [i for i, s in enumerate(scores) if s is not None]
    if scored:
        gt_rows = acc.rows[model][acc.classes[0]]
        gt = np.array([gt_rows[i]["gt_present"] for i in scored], bool)
        pred = np.array([scores[i] for i in scored]) >= acc.post.presence_threshold
        head = {
            "accuracy": float(np.mean(pred == gt)),
            "false_positive_frames": int(np.count_nonzero(pred & ~gt)),
            "false_negative_frames": int(np.count_nonzero(~pred & gt)),
            "threshold": acc.post.presence_threshold,
            "scored_frames": len(scored),
        }
    return {
        "name": model,
        "role": acc.roles[model],
        "accuracy": accuracy,
        "presence_head": head,
    }


def agreement_summary(
    acc: ParityAccumulator, ref: str, seed: int, groups: list[str] | None
) -> dict[str, Any]:
    """The candidate vs ``ref``: mask agreement and flips per class, with their intervals."""
    pair = acc.pairs[ref]
    n, level = len(acc.names), acc.tolerances.level
    per_class, by_class = {}, {}
    for cls in acc.classes:
        vals = np.array(pair.agreement[cls], np.float64)
        ci = bootstrap_ci(vals, groups, n_boot=N_BOOT, level=level, seed=seed)
        per_class[cls] = {
            "mean": float(vals.mean()),
            "min": float(vals.min()),
            "p05": float(np.percentile(vals, 5)),
            "frames_below_0.9": int(np.count_nonzero(vals < 0.9)),
            **{k: ci[k] for k in ("ci_low", "ci_high", "level", "unit", "units")},
            "degenerate": ci["degenerate"],
        }
        flipped = [acc.names[i] for i, f in enumerate(pair.flips[cls]) if f]
        low, high = clopper_pearson(len(flipped), n, level)
        by_class[cls] = {
            "count": len(flipped),
            "fraction": len(flipped) / n,
            "ci_low": low,
            "ci_high": high,
            "level": level,
            "unit": "frame",
            "method": "Clopper-Pearson exact",
            "frames": flipped,
        }
    any_flip = [acc.names[i] for i in range(n) if any(pair.flips[c][i] for c in acc.classes)]
    heads = [h for h in pair.head_flips if h is not None]
    head_flipped = [acc.names[i] for i, h in enumerate(pair.head_flips) if h]
    gate = " (presence gate on)" if acc.post.presence_gate else ""
    return {
        "candidate": acc.candidate,
        "reference": ref,
        "role": acc.roles[ref],
        "mask_dice": per_class,
        "mean_abs_dp": float(np.mean(pair.mean_abs_dp)),
        "max_abs_dp": float(np.max(pair.max_abs_dp)),
        "presence_flips": {
            "decision": f"mask non-empty after post-processing{gate}",
            "count": len(any_flip),
            "fraction": len(any_flip) / n,
            "frames": any_flip,
            "by_class": by_class,
            "explained": list(pair.explained),
        },
        "presence_head_flips": {
            "count": len(head_flipped),
            "scored_frames": len(heads),
            "fraction": len(head_flipped) / len(heads) if heads else None,
            "frames": head_flipped,
            "threshold": acc.post.presence_threshold,
        }
        if heads
        else None,
    }
