"""``edgeseg evaluate``: per-image and mean metrics at each frame's original size, with CIs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from edgeseg.config import RunConfig, load_config
from edgeseg.contract import FrameContract
from edgeseg.datasets import Sample, discover
from edgeseg.evaluation.predictions import (
    BATCH,
    Prediction,
    Predictor,
    iter_predictions,
    keras_predictor,
)
from edgeseg.io import write_text_atomic
from edgeseg.metrics import DEFAULT_POLICY, POLICY_RULES, check_policy, per_image, summarize


def contract_for(cfg: RunConfig, **overrides) -> FrameContract:
    """The run's frame contract (its preprocessing, classes and post-processing), with single
    settings replaced (``threshold=0.3``, ...; None ignored), validated by the contract."""
    return FrameContract.from_run_config(cfg).with_overrides(**overrides)


def class_rows(prediction: Prediction, contract: FrameContract, policy: str) -> dict:
    """Per-class metrics of one frame at its original size, keys ``CLASS/METRIC``."""
    row: dict = {}
    for c, info in enumerate(contract.classes):
        for key, value in per_image(prediction.mask[..., c], prediction.gt[..., c], policy).items():
            row[f"{info.name}/{key}"] = value
    return row


def evaluate_samples(
    samples: Sequence[Sample],
    contract: FrameContract,
    predictor: Predictor,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    policy: str = DEFAULT_POLICY,
) -> list[dict]:
    """Per-image rows: metrics per class at the original frame size, plus presence scores."""
    check_policy(policy)
    rows: list[dict] = []
    for prediction in iter_predictions(samples, contract, predictor, batch):
        rows.append(
            {
                "image": prediction.sample.name,
                "subject": prediction.sample.subject,
                "presence": prediction.presence,
                **class_rows(prediction, contract, policy),
            }
        )
        if progress:
            progress(1)
    return rows


def summarize_rows(
    rows: Sequence[dict], contract: FrameContract, seed: int = 0, policy: str = DEFAULT_POLICY
) -> dict:
    """Mean and 95% bootstrap CI per class and metric; presence-head accuracy if present."""
    out: dict = {}
    for name in contract.class_names:
        prefix = f"{name}/"
        per_class = [
            {k[len(prefix) :]: v for k, v in r.items() if k.startswith(prefix)} for r in rows
        ]
        out[name] = summarize(per_class, seed=seed, policy=policy)
    scores = [r["presence"] for r in rows if r["presence"] is not None]
    if scores and contract.classes:
        gt = np.array([r[f"{contract.class_names[0]}/gt_present"] for r in rows], dtype=bool)
        pred = np.array(scores) >= contract.postprocess.presence_threshold
        out["presence_head_accuracy"] = float(np.mean(pred == gt))
    return out


def format_table(summary: dict, class_names: Sequence[str]) -> str:
    """A plain-text table: one line per class and metric, mean [95% CI]."""
    lines = [f"{'class':<8} {'metric':<15} {'mean':>7}   95% CI"]
    for name in class_names:
        for metric in ("dice", "iou", "pixel_accuracy", "precision", "recall"):
            s = summary[name][metric]
            ci = f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]"
            lines.append(f"{name:<8} {metric:<15} {s['mean']:7.4f}   {ci}")
        p = summary[name]["presence"]
        lines.append(
            f"{name:<8} {'presence_acc':<15} {p['accuracy']:7.4f}   "
            f"({p['frames']} frames, {p['empty_gt_frames']} empty, "
            f"{p['false_positive_frames']} FP, {p['false_negative_frames']} FN)"
        )
    if "presence_head_accuracy" in summary:
        lines.append(f"presence head accuracy {summary['presence_head_accuracy']:.4f}")
    return "\n".join(lines)


def rows_to_csv(rows: Sequence[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def is_cross_dataset(trained_on: Path, evaluated_on: Path) -> bool:
    """True unless one folder contains the other (e.g. ``dataset/`` and ``dataset/test/``)."""
    a, b = trained_on.resolve(), evaluated_on.resolve()
    return not (a == b or a in b.parents or b in a.parents)


def evaluate(
    run_dir: Path,
    data: Path,
    which: str = "best",
    layout: str = "auto",
    out: Path | None = None,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    empty_policy: str = DEFAULT_POLICY,
    **overrides,
) -> dict:
    """Evaluate a run's model on a labelled folder; writes evaluation.json and per_image.csv.

    ``overrides`` replace single settings of the run's contract (``threshold``, ``min_area``,
    ``largest_component``, ``presence_gate``, ``presence_threshold``; None ignored), checked by
    :meth:`FrameContract.with_overrides`. ``empty_policy``: how frames with empty masks score
    (:data:`edgeseg.metrics.EMPTY_POLICIES`).
    """
    from edgeseg.train.serialization import load_model, require_model

    check_policy(empty_policy)
    FrameContract.default().with_overrides(**overrides)  # names and ranges, before any work
    run_dir = Path(run_dir)
    cfg = load_config(run_dir)
    contract = contract_for(cfg, **overrides)
    source = require_model(run_dir, which)
    samples, found_layout = discover(Path(data), layout)
    if total:
        total(len(samples))
    model = load_model(source)
    rows = evaluate_samples(
        samples, contract, keras_predictor(model), progress=progress, policy=empty_policy
    )
    summary = summarize_rows(rows, contract, seed=cfg.train.seed, policy=empty_policy)
    report = {
        "run_dir": str(run_dir),
        "model": which,
        "data": str(data),
        "layout": found_layout,
        "trained_on": cfg.data,
        "cross_dataset": is_cross_dataset(Path(cfg.data), Path(data)),
        "classes": [c.name for c in cfg.classes],
        "postprocess": asdict(contract.postprocess),
        "empty_policy": empty_policy,
        "frames": len(rows),
        "summary": summary,
    }
    out_dir = Path(out) if out else run_dir / "evaluation"
    write_text_atomic(out_dir / "evaluation.json", json.dumps(report, indent=2))
    write_text_atomic(out_dir / "per_image.csv", rows_to_csv(rows))
    report["table"] = format_table(summary, contract.class_names)
    if empty_policy != DEFAULT_POLICY:
        report["table"] += f"\nempty-mask policy {empty_policy}: {POLICY_RULES[empty_policy]}"
    report["out_dir"] = str(out_dir)
    return report
