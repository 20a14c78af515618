"""Why the pipeline's post-processing is what it is: areas, stray blobs and Dice on its test split.

Usage: python benchmarks/pipeline_default.py [--out-dir edgeseg-out]
       [--json benchmarks/results/pipeline_default.json]

Reads a finished ``edgeseg pipeline`` output, runs its float, QAT and int8 models on the
held-out test frames once, and measures (at 128x128, the frames' own size):

- the area of every ground-truth nerve (the phantom's design: how far above ``min_area``);
- the 8-connected blobs each model leaves on frames without a nerve (threshold 0.5);
- mean Dice (Kaggle rule) of each model under ``min_area`` in (16, 32, 64, 100) with and without
  a presence gate at 0.05 / 0.1 / 0.4, and the presence-head errors at those thresholds.

This reads the TEST split to explain a design choice after the fact; the pipeline itself tunes
its gate on validation frames only (train/presence_gate.py). Writes JSON, prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MIN_AREAS = (16, 32, 64, 100)
GATES = (None, 0.05, 0.1, 0.4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("edgeseg-out"))
    parser.add_argument(
        "--json", type=Path, default=Path("benchmarks/results/pipeline_default.json")
    )
    args = parser.parse_args()

    import edgeseg.train.qat  # noqa: F401  (registers the QAT layers for loading)
    from edgeseg.config import PostProcess, load_config
    from edgeseg.datasets import discover, load_arrays
    from edgeseg.edge_runtime.segmenter import Segmenter
    from edgeseg.metrics import dice
    from edgeseg.postprocess import label_components, probabilities_to_mask
    from edgeseg.train.evaluate import keras_predictor
    from edgeseg.train.serialization import load_model, model_path

    run = args.out_dir / "run"
    cfg = load_config(run)
    samples, _ = discover(args.out_dir / "data" / "test", "auto")
    images, masks = load_arrays(samples, cfg.preprocessing, cfg.classes)
    gts = masks[..., 0]
    present = gts.reshape(len(gts), -1).any(axis=1)
    outputs = {}
    for name, which in (("float", "best"), ("QAT", "qat")):
        probs, presence = keras_predictor(load_model(model_path(run, which)))(images)
        outputs[name] = (probs[..., 0], presence)
    seg = Segmenter(run / "export" / "model_int8.tflite", delegate="cpu")
    results = [seg.segment(image) for image in images]
    outputs["int8"] = (
        np.stack([r.prob.reshape(r.prob.shape[:2]) for r in results]),
        np.array([r.presence for r in results]),
    )

    areas = gts.reshape(len(gts), -1).sum(axis=1)[present]
    report = {
        "out_dir": str(args.out_dir),
        "frames": int(len(samples)),
        "empty_frames": int((~present).sum()),
        "nerve_area_px": {
            "min": int(areas.min()),
            "p05": float(np.percentile(areas, 5)),
            "median": float(np.median(areas)),
        },
        "models": {},
    }
    for name, (probs, presence) in outputs.items():
        blobs = sorted(
            size for i in np.flatnonzero(~present) for size in label_components(probs[i] >= 0.5)[1]
        )
        grid = []
        for min_area in MIN_AREAS:
            for gate in GATES:
                post = PostProcess(
                    min_area=min_area,
                    presence_gate=gate is not None,
                    presence_threshold=gate or 0.5,
                )
                masks_ = [
                    probabilities_to_mask(probs[i], post, float(presence[i]))
                    for i in range(len(probs))
                ]
                scores = [dice(m, g) for m, g in zip(masks_, gts, strict=True)]
                pred = np.array([m.any() for m in masks_])
                grid.append(
                    {
                        "min_area": min_area,
                        "gate": gate,
                        "dice": float(np.mean(scores)),
                        "fp_frames": int((pred & ~present).sum()),
                        "fn_frames": int((~pred & present).sum()),
                    }
                )
        report["models"][name] = {
            "empty_frame_blobs_px": [int(b) for b in blobs],
            "presence_nerve_below": {
                str(t): int((presence[present] < t).sum()) for t in GATES if t is not None
            },
            "grid": grid,
        }
        print(f"{name}: blobs on empty frames {blobs}")
        for row in grid:
            print(
                f"  min_area {row['min_area']:>3} gate {row['gate']!s:>4}: Dice {row['dice']:.4f}"
                f" FP frames {row['fp_frames']:>2} FN frames {row['fn_frames']:>3}"
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"nerve areas {report['nerve_area_px']}; wrote {args.json}")


if __name__ == "__main__":
    main()
