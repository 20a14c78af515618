"""``edgeseg evaluate``: per-image and mean metrics at each frame's original size, with CIs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgeseg.config import PostProcess, RunConfig, load_config
from edgeseg.contract import float_input
from edgeseg.datasets import Sample, discover, read_sample_mask
from edgeseg.imaging import read_gray, resize_mask
from edgeseg.io import write_text_atomic
from edgeseg.metrics import per_image, summarize
from edgeseg.postprocess import probabilities_to_mask
from edgeseg.preprocess import preprocess

Predictor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def keras_predictor(model, batch_size: int = 16) -> Predictor:
    """uint8 (N,H,W) -> (probabilities N,H,W,C, presence N or None) with a Keras model."""

    def predict(images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        x = float_input(images)
        # A direct call, batch by batch: no predict() tf.function to retrace per model/shape.
        chunks = [
            model(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)
        ]
        if isinstance(chunks[0], list | tuple):
            probs = np.concatenate([np.asarray(c[0]) for c in chunks])
            return probs, np.concatenate([np.asarray(c[1]) for c in chunks]).reshape(-1)
        return np.concatenate([np.asarray(c) for c in chunks]), None

    return predict


def evaluate_samples(
    samples: Sequence[Sample],
    cfg: RunConfig,
    predictor: Predictor,
    post: PostProcess,
    batch: int = 16,
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """Per-image rows: metrics per class at the original frame size, plus presence scores."""
    rows: list[dict] = []
    values = [c.value for c in cfg.classes]
    for start in range(0, len(samples), batch):
        chunk = samples[start : start + batch]
        frames = [read_gray(s.image) for s in chunk]
        gts = [read_sample_mask(s, values, f.shape) for s, f in zip(chunk, frames, strict=True)]
        inputs = np.stack([preprocess(f, cfg.preprocessing) for f in frames])
        probs, presence = predictor(inputs)
        for i, (sample, gt) in enumerate(zip(chunk, gts, strict=True)):
            score = None if presence is None else float(presence[i])
            mask = probabilities_to_mask(probs[i], post, score)
            mask = resize_mask(mask, frames[i].shape)
            row: dict = {"image": sample.name, "subject": sample.subject, "presence": score}
            for c, spec in enumerate(cfg.classes):
                for key, value in per_image(mask[..., c], gt[..., c]).items():
                    row[f"{spec.name}/{key}"] = value
            rows.append(row)
        if progress:
            progress(len(chunk))
    return rows


def summarize_rows(rows: Sequence[dict], cfg: RunConfig, seed: int = 0) -> dict:
    """Mean and 95% bootstrap CI per class and metric; presence-head accuracy if present."""
    out: dict = {}
    for spec in cfg.classes:
        prefix = f"{spec.name}/"
        class_rows = [
            {k[len(prefix) :]: v for k, v in r.items() if k.startswith(prefix)} for r in rows
        ]
        out[spec.name] = summarize(class_rows, seed=seed)
    scores = [r["presence"] for r in rows if r["presence"] is not None]
    if scores and cfg.classes:
        gt = np.array([r[f"{cfg.classes[0].name}/gt_present"] for r in rows], dtype=bool)
        pred = np.array(scores) >= cfg.postprocess.presence_threshold
        out["presence_head_accuracy"] = float(np.mean(pred == gt))
    return out


def format_table(summary: dict, cfg: RunConfig) -> str:
    """A plain-text table: one line per class and metric, mean [95% CI]."""
    lines = [f"{'class':<8} {'metric':<15} {'mean':>7}   95% CI"]
    for spec in cfg.classes:
        for metric in ("dice", "iou", "pixel_accuracy", "precision", "recall"):
            s = summary[spec.name][metric]
            ci = f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]"
            lines.append(f"{spec.name:<8} {metric:<15} {s['mean']:7.4f}   {ci}")
        p = summary[spec.name]["presence"]
        lines.append(
            f"{spec.name:<8} {'presence_acc':<15} {p['accuracy']:7.4f}   "
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
    post_overrides: dict | None = None,
    layout: str = "auto",
    out: Path | None = None,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> dict:
    """Evaluate a run's model on a labelled folder; writes evaluation.json and per_image.csv.

    ``post_overrides`` replaces fields of the run's ``PostProcess`` (threshold, min_area, ...).
    """
    from edgeseg.train.serialization import load_model, require_model

    run_dir = Path(run_dir)
    cfg = load_config(run_dir)
    post = replace(cfg.postprocess, **(post_overrides or {}))
    source = require_model(run_dir, which)
    samples, found_layout = discover(Path(data), layout)
    if total:
        total(len(samples))
    model = load_model(source)
    rows = evaluate_samples(samples, cfg, keras_predictor(model), post, progress=progress)
    summary = summarize_rows(rows, cfg, seed=cfg.train.seed)
    report = {
        "run_dir": str(run_dir),
        "model": which,
        "data": str(data),
        "layout": found_layout,
        "trained_on": cfg.data,
        "cross_dataset": is_cross_dataset(Path(cfg.data), Path(data)),
        "classes": [c.name for c in cfg.classes],
        "postprocess": post.__dict__,
        "frames": len(rows),
        "summary": summary,
    }
    out_dir = Path(out) if out else run_dir / "evaluation"
    write_text_atomic(out_dir / "evaluation.json", json.dumps(report, indent=2))
    write_text_atomic(out_dir / "per_image.csv", rows_to_csv(rows))
    report["table"] = format_table(summary, cfg)
    report["out_dir"] = str(out_dir)
    return report
