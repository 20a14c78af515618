"""The presence gate of a run, tuned on its validation frames and written into ``config.json``.

Top Kaggle Ultrasound Nerve Segmentation solutions emptied a frame's mask when their presence
classifier said "no nerve". edgeseg models have that classifier (the presence head), and the
runtime contract has the fields (``PostProcess.presence_gate``/``presence_threshold``), so a
threshold recorded in ``config.json`` travels into the ``.tflite`` metadata and every runtime
(Python ``Segmenter``, the Android core, the web demo) applies it.

The threshold is chosen on VALIDATION frames only (the run's recorded validation subjects):

1. every threshold of the grid is scored with the run's own post-processing (threshold,
   ``min_area``, largest component) plus the gate, on the model that will be exported;
2. thresholds that lower the validation Dice of a ``guard`` model (the float model parity also
   scores with the same recipe) are left out;
3. the highest mean Dice wins, ties going to the lowest threshold (the gate then empties only
   the frames its head is surest about: on the pipeline's 300 test frames a threshold of 0.4
   chosen for its margin on 32 validation frames missed 25 nerves, 0.1 missed 6);
4. the gate is switched on only when it raises the validation Dice (as ``tune-postprocess``
   keeps a step only if it helps); otherwise the run's post-processing stays as it was.

``choose_gate`` is pure numpy; ``tune_presence_gate`` runs the model and writes the files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeseg.config import CONFIG_NAME, PostProcess, load_config
from edgeseg.errors import ConfigError
from edgeseg.io import write_text_atomic

GATE_FILE = "presence_gate.json"
_TIE = 1e-9  # Dice differences below this are ties (float summation noise)
# Ascending: ties go to the lowest. Below 0.1 because a calibrated head puts empty frames there.
GATE_THRESHOLDS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _scores(
    scorer: Any, base: Any, thresholds: Sequence[float]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(ungated score, one score per gated threshold) of one model's validation outputs."""
    gated = [
        scorer.score(replace(base, presence_gate=True, presence_threshold=float(t)))
        for t in thresholds
    ]
    return scorer.score(base), gated


def choose_gate(
    probs: np.ndarray,
    presence: np.ndarray,
    gts: np.ndarray,
    post: PostProcess,
    guard: tuple[np.ndarray, np.ndarray] | None = None,
    thresholds: Sequence[float] = GATE_THRESHOLDS,
) -> dict[str, Any]:
    """Score the gate's thresholds on validation arrays; return the choice and every row.

    ``probs``/``gts``: (N, H, W) probabilities and binary masks of one class; ``presence``: (N,)
    scores. ``guard``: (probs, presence) of a second model on the same frames whose Dice the
    gate must not lower. Returns ``{"enabled", "threshold", "ungated", "gated", "rows", ...}``;
    each row is ``{"threshold", "dice", "fp_frames", "fn_frames", "allowed"}`` (plus
    ``guard_dice`` with a guard).
    """
    from edgeseg.train.postprocess_tuning import Scorer, Settings

    grid = tuple(float(t) for t in thresholds)
    if not grid or any(not 0.0 < t < 1.0 for t in grid):
        raise ConfigError(f"presence thresholds {grid}: need at least one value in (0, 1)")
    presence = np.asarray(presence, dtype=np.float64).reshape(-1)
    if len(presence) != len(probs) or len(probs) == 0:
        raise ConfigError(
            f"{len(probs)} validation frames and {len(presence)} presence scores: the gate "
            "needs one score per frame and at least one frame"
        )
    gts = np.asarray(gts)
    base = Settings(
        threshold=post.threshold, min_area=post.min_area, largest_component=post.largest_component
    )
    ungated, gated = _scores(Scorer(np.asarray(probs, np.float32), presence, gts), base, grid)
    rows = [{"threshold": t, **g, "allowed": True} for t, g in zip(grid, gated, strict=True)]
    guard_ungated = None
    if guard is not None:
        g_probs, g_presence = guard
        g_scorer = Scorer(np.asarray(g_probs, np.float32), np.asarray(g_presence).reshape(-1), gts)
        guard_ungated, guard_gated = _scores(g_scorer, base, grid)
        for row, g in zip(rows, guard_gated, strict=True):
            row["guard_dice"] = g["dice"]
            row["allowed"] = g["dice"] >= guard_ungated["dice"] - _TIE
    allowed = [r for r in rows if r["allowed"]]
    best = None
    for row in allowed:  # ascending thresholds: ties keep the lowest
        if best is None or row["dice"] > best["dice"] + _TIE:
            best = row
    enabled = best is not None and best["dice"] > ungated["dice"] + _TIE
    gt_present = gts.reshape(len(gts), -1).any(axis=1)
    return {
        "frames": int(len(probs)),
        "empty_frames": int(np.count_nonzero(~gt_present)),
        "enabled": bool(enabled),
        "threshold": best["threshold"] if enabled else None,
        "ungated": ungated,
        "gated": {k: best[k] for k in ("dice", "fp_frames", "fn_frames")} if best else None,
        "guard_ungated": guard_ungated,
        "rows": rows,
    }


def gated_postprocess(post: PostProcess, choice: dict[str, Any]) -> PostProcess:
    """``post`` with the gate of ``choice`` (gate off when ``choice`` did not enable it)."""
    if not choice["enabled"]:
        return replace(post, presence_gate=False)
    return replace(post, presence_gate=True, presence_threshold=float(choice["threshold"]))


def _rewrite_postprocess(folder: Path, post: PostProcess) -> None:
    if (folder / CONFIG_NAME).is_file():
        replace(load_config(folder), postprocess=post).save(folder)


def tune_presence_gate(
    run_dir: Path,
    which: str = "qat",
    guard: str | None = "best",
    subject_regex: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Tune the gate on the run's validation frames for model ``which`` and record it.

    ``guard``: the model whose validation Dice the gate must not lower (None: no guard).
    Writes the chosen ``postprocess`` into ``RUN_DIR/config.json`` (and the copy beside the QAT
    model, if any) and the evidence into ``RUN_DIR/presence_gate.json``. Returns that dict.
    """
    from edgeseg.train.postprocess_tuning import collect
    from edgeseg.train.serialization import QAT_DIR

    run_dir = Path(run_dir)
    quiet: Callable[[str], None] = lambda _m: None  # noqa: E731
    cfg, probs, presence, gts, _ = collect(
        run_dir, which=which, subject_regex=subject_regex, log=quiet
    )
    if presence is None:
        raise ConfigError(f"{run_dir}: the model has no presence head, so there is no gate to tune")
    guard_out = None
    if guard is not None and guard != which:
        _, g_probs, g_presence, _, _ = collect(
            run_dir, which=guard, subject_regex=subject_regex, log=quiet
        )
        guard_out = (g_probs, g_presence)
    choice = choose_gate(probs, presence, gts, cfg.postprocess, guard_out)
    post = gated_postprocess(cfg.postprocess, choice)
    report = {"model": which, "guard": guard, **choice, "postprocess": dataclasses.asdict(post)}
    write_text_atomic(run_dir / GATE_FILE, json.dumps(report, indent=2))
    _rewrite_postprocess(run_dir, post)
    _rewrite_postprocess(run_dir / QAT_DIR, post)
    if choice["enabled"]:
        state = f"on at presence < {choice['threshold']:g}"
        dice = f"{choice['ungated']['dice']:.4f} -> {choice['gated']['dice']:.4f}"
    else:
        state, dice = "off (it did not raise validation Dice)", f"{choice['ungated']['dice']:.4f}"
    log(
        f"presence gate {state}: validation Dice {dice} on {choice['frames']} frames "
        f"({choice['empty_frames']} without nerve); wrote {run_dir / GATE_FILE}"
    )
    return report
