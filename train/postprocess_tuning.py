"""Measure what each post-processing step is worth, on VALIDATION frames only.

Top Kaggle Ultrasound Nerve Segmentation solutions reported the gain of each step separately:
the presence classifier's gate (kept a mask only when the classifier or the mask itself made a
strong case), minimum-area removal, keeping the largest component and hole filling. This module
does the same for a trained run:

1. ``collect`` runs the model once (:func:`edgeseg.evaluation.predictions.iter_predictions`)
   over the run's validation subjects (``config.json`` lists
   them; frames of any other subject are refused, so the test split never tunes anything) and
   keeps the probabilities, presence scores and masks at the model's resolution.
2. ``ablation`` (pure numpy) scores the baseline (threshold only), each step alone over its grid,
   then the steps added greedily in order, each kept only if it raises mean Dice.
3. The report gives two recommendations: ``best`` (every step, including the two the runtime
   contract has no field for yet: the mask-area override of the gate and hole filling) and
   ``best_runtime`` (only ``PostProcess`` fields, ready to pass as flags or write into
   ``config.json``).

Scores are mean per-frame Dice under the empty-mask policy (``edgeseg.metrics.dice``; the
Kaggle rule by default), computed at the model's input resolution: the relative gains are what
matter here; ``edgeseg evaluate`` gives the final numbers at the original frame size.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edgeseg.baselines import fill_holes
from edgeseg.config import PostProcess, RunConfig, load_config
from edgeseg.datasets import discover
from edgeseg.errors import ConfigError
from edgeseg.evaluation.analysis_report import empty_rule
from edgeseg.evaluation.predictions import iter_predictions
from edgeseg.io import write_text_atomic
from edgeseg.metrics import DEFAULT_POLICY, check_policy, dice
from edgeseg.postprocess import gate_closed, keep_components, label_components
from edgeseg.train.shard_manifest import files_layout

STEPS = ("presence_gate", "min_area", "largest_component", "fill_holes")
PRESENCE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
GATE_KEEP_AREAS = (0, 100, 200, 400)  # at 128x128; scaled with the input area
MIN_AREAS = (0, 10, 25, 50, 100, 150, 200, 300)  # at 128x128; scaled with the input area
REFERENCE_PIXELS = 128 * 128
_SETTING_KEYS = (
    "presence_threshold",
    "gate_keep_area",
    "min_area",
    "largest_component",
    "fill_holes",
)


@dataclass(frozen=True)
class Settings:
    """One post-processing recipe, applied in this order:

    threshold -> drop components < ``min_area`` -> largest component -> fill holes -> gate.
    The gate empties the mask when ``presence < presence_threshold``, unless
    ``gate_keep_area > 0`` and the mask has at least that many pixels (mask evidence overrides a
    doubtful classifier). ``gate_keep_area == 0`` is the plain gate of ``PostProcess``.
    """

    threshold: float = 0.5
    presence_gate: bool = False
    presence_threshold: float = 0.5
    gate_keep_area: int = 0
    min_area: int = 0
    largest_component: bool = False
    fill_holes: bool = False

    def runtime(self) -> PostProcess:
        """The ``PostProcess`` with these settings (gate area override and hole filling dropped)."""
        return PostProcess(
            threshold=self.threshold,
            min_area=self.min_area,
            largest_component=self.largest_component,
            presence_threshold=self.presence_threshold,
            presence_gate=self.presence_gate,
        )


def apply_settings(
    prob: np.ndarray,
    presence: float | None,
    s: Settings,
    components: tuple[np.ndarray, list[int]] | None = None,
) -> np.ndarray:
    """HxW probabilities -> uint8 {0, 1} mask under ``s``.

    ``components``: ``label_components(prob >= s.threshold)`` if already computed (the tuning
    loop reuses it across settings).
    """
    components = components or label_components(prob >= s.threshold)
    mask = keep_components(components, s.min_area, s.largest_component)
    if s.fill_holes and mask.any():
        mask = fill_holes(mask).astype(bool)
    if gate_closed(s, presence) and (s.gate_keep_area <= 0 or int(mask.sum()) < s.gate_keep_area):
        mask[:] = False
    return mask.astype(np.uint8)


class Scorer:
    """Mean Dice of settings over fixed validation frames, with components cached per threshold."""

    def __init__(
        self,
        probs: np.ndarray,
        presence: np.ndarray | None,
        gts: np.ndarray,
        policy: str = DEFAULT_POLICY,
    ):
        if probs.shape != gts.shape:
            raise ValueError(f"probabilities {probs.shape} and masks {gts.shape} differ")
        self.probs = probs
        self.presence = presence
        self.gts = gts.astype(bool)
        self.policy = check_policy(policy)
        self._components: dict[float, list] = {}

    def components(self, threshold: float) -> list:
        if threshold not in self._components:
            self._components[threshold] = [label_components(p >= threshold) for p in self.probs]
        return self._components[threshold]

    def score(self, s: Settings) -> dict:
        comps = self.components(s.threshold)
        dices, fp, fn = [], 0, 0
        for i, (prob, gt) in enumerate(zip(self.probs, self.gts, strict=True)):
            score = None if self.presence is None else float(self.presence[i])
            mask = apply_settings(prob, score, s, comps[i])
            dices.append(dice(mask, gt, self.policy))
            has_pred, has_gt = bool(mask.any()), bool(gt.any())
            fp += has_pred and not has_gt
            fn += has_gt and not has_pred
        return {"dice": _mean(dices), "fp_frames": fp, "fn_frames": fn}


def _mean(values: Sequence[float]) -> float:
    """Mean over the defined (non-NaN) values: frames a policy leaves out do not count."""
    arr = np.asarray(values, dtype=np.float64)
    defined = arr[~np.isnan(arr)]
    return float(defined.mean()) if defined.size else float("nan")


def _scaled(values: Sequence[int], pixels: int) -> list[int]:
    factor = pixels / REFERENCE_PIXELS
    return sorted({int(round(v * factor)) for v in values})


def step_grid(
    step: str,
    base: Settings,
    pixels: int,
    presence_thresholds: Sequence[float] = PRESENCE_THRESHOLDS,
    gate_keep_areas: Sequence[int] = GATE_KEEP_AREAS,
    min_areas: Sequence[int] = MIN_AREAS,
    runtime_only: bool = False,
) -> list[Settings]:
    """The candidate settings of one step on top of ``base`` (``base`` itself not included)."""
    if step == "presence_gate":
        keeps = [0] if runtime_only else _scaled(gate_keep_areas, pixels)
        return [
            replace(base, presence_gate=True, presence_threshold=t, gate_keep_area=a)
            for t in presence_thresholds
            for a in keeps
        ]
    if step == "min_area":
        return [replace(base, min_area=a) for a in _scaled(min_areas, pixels) if a > 1]
    if step == "largest_component":
        return [replace(base, largest_component=True)]
    if step == "fill_holes":
        return [] if runtime_only else [replace(base, fill_holes=True)]
    raise ConfigError(f"post-processing step {step!r} is not one of {', '.join(STEPS)}")


def _best(scorer: Scorer, candidates: Sequence[Settings]) -> tuple[Settings, dict] | None:
    """Highest mean Dice; ties go to the earlier (simpler) candidate."""
    best = None
    for cand in candidates:
        result = scorer.score(cand)
        if best is None or result["dice"] > best[1]["dice"] + 1e-12:
            best = (cand, result)
    return best


def _changed(step: str, s: Settings) -> dict:
    if step == "presence_gate":
        return {"presence_threshold": s.presence_threshold, "gate_keep_area": s.gate_keep_area}
    return {step: getattr(s, step)}


def ablation(
    probs: np.ndarray,
    presence: np.ndarray | None,
    gts: np.ndarray,
    threshold: float = 0.5,
    steps: Sequence[str] = STEPS,
    runtime_only: bool = False,
    policy: str = DEFAULT_POLICY,
    **grids,
) -> dict:
    """Baseline, each step alone, and the greedy cumulative recipe (pure numpy).

    ``probs``/``gts``: (N, H, W) probabilities and binary masks of one class; ``presence``:
    (N,) scores or None (the gate step is then skipped). ``grids``: ``presence_thresholds``,
    ``gate_keep_areas``, ``min_areas`` overrides (areas at 128x128, scaled to H*W).
    """
    scorer = Scorer(np.asarray(probs, np.float32), presence, np.asarray(gts), policy)
    pixels = int(probs.shape[1] * probs.shape[2])
    base = Settings(threshold=threshold)
    base_score = scorer.score(base)
    usable = [s for s in steps if not (s == "presence_gate" and presence is None)]
    alone = []
    for step in usable:
        found = _best(scorer, step_grid(step, base, pixels, runtime_only=runtime_only, **grids))
        if found:
            s, result = found
            gain = result["dice"] - base_score["dice"]
            alone.append({"step": step, **_changed(step, s), **result, "gain": gain})
    current, current_score = base, base_score
    cumulative = []
    for step in usable:
        found = _best(scorer, step_grid(step, current, pixels, runtime_only=runtime_only, **grids))
        if not found:
            continue
        s, result = found
        gain = result["dice"] - current_score["dice"]
        accepted = gain > 1e-12
        cumulative.append(
            {"step": step, **_changed(step, s), **result, "gain": gain, "accepted": accepted}
        )
        if accepted:
            current, current_score = s, result
    return {
        "frames": int(len(probs)),
        "skipped": [s for s in steps if s not in usable],
        "baseline": {"settings": dataclasses.asdict(base), **base_score},
        "alone": alone,
        "cumulative": cumulative,
        "best": {"settings": dataclasses.asdict(current), **current_score},
    }


def flags_for(post: PostProcess) -> str:
    """Command-line spelling of a runtime recipe (``PostProcess`` field names as flags)."""
    parts = [f"--threshold {post.threshold:g}", f"--min-area {post.min_area}"]
    if post.largest_component:
        parts.append("--largest-component")
    if post.presence_gate:
        parts += ["--presence-gate", f"--presence-threshold {post.presence_threshold:g}"]
    return " ".join(parts)


def collect(
    run_dir: Path,
    data: Path | None = None,
    which: str = "best",
    layout: str | None = None,
    subject_regex: str | None = None,
    manifest: Path | None = None,
    class_name: str | None = None,
    log: Callable[[str], None] = print,
) -> tuple[RunConfig, np.ndarray, np.ndarray | None, np.ndarray, int]:
    """Run the model over the run's validation frames: (cfg, probs, presence, gts, class index).

    ``data`` defaults to the run's training folder; only frames of ``cfg.val_subjects`` are used.
    Subjects come from ``subject_regex``/``manifest``, by default the run's own (so they come
    out as in training). Probabilities and ground truth are at the model's size.
    """
    from edgeseg.train.evaluate import contract_for, keras_predictor
    from edgeseg.train.serialization import load_model, require_model

    run_dir = Path(run_dir)
    cfg = load_config(run_dir)
    source = require_model(run_dir, which)
    if not cfg.val_subjects:
        raise ConfigError(
            f"{run_dir}/config.json lists no validation subjects: tuning needs the run's "
            "validation split (retrain with a current edgeseg)"
        )
    folder = Path(data) if data is not None else Path(cfg.data)
    layout = files_layout(folder, layout or cfg.layout)  # a run trained from packed shards
    hint = (
        "pass --data DIR"
        if data is not None
        else f'it is the "data" recorded in {run_dir / "config.json"}; pass --data DIR with the '
        "run's validation frames"
    )
    if subject_regex is None and manifest is None:
        subject_regex = cfg.subject_regex
        manifest = Path(cfg.manifest) if cfg.manifest else None
    samples, _ = discover(
        folder, layout or cfg.layout or "auto", subject_regex, manifest, hint=hint
    )
    val = set(cfg.val_subjects)
    chosen = [s for s in samples if s.subject in val]
    if not chosen:
        raise ConfigError(
            f"none of the {len(samples)} frames in {folder} belongs to the run's validation "
            f"subjects ({', '.join(sorted(val)[:5])}{', ...' if len(val) > 5 else ''}): pass the "
            "--data, --subject-regex or --manifest used for training"
        )
    if len(chosen) < len(samples):
        log(
            f"using the {len(chosen)} validation frames of {folder}; {len(samples) - len(chosen)} "
            "frames of training/other subjects are left out (never tune on test data)"
        )
    names = cfg.class_names
    if class_name is not None and class_name not in names:
        raise ConfigError(f"--class {class_name!r} is not one of the run's {', '.join(names)}")
    index = names.index(class_name) if class_name else 0
    predictions = list(
        iter_predictions(chosen, contract_for(cfg), keras_predictor(load_model(source)))
    )
    probs = np.stack([p.prob[..., index] for p in predictions])
    gts = np.stack([p.gt_model()[..., index] for p in predictions])
    scores = [p.presence for p in predictions]
    presence = None if scores[0] is None else np.asarray(scores, dtype=np.float32)
    return cfg, probs, presence, gts, index


def render_markdown(report: dict) -> str:
    def row(label: str, r: dict, gain: str) -> str:
        return f"| {label} | {r['dice']:.4f} | {gain} | {r['fp_frames']} | {r['fn_frames']} |"

    def setting(r: dict) -> str:
        return ", ".join(f"{k}={v}" for k, v in r.items() if k in _SETTING_KEYS)

    full, rt = report["full"], report["runtime"]
    rule = empty_rule(report.get("empty_policy", DEFAULT_POLICY))
    parts = [
        f"# Post-processing ablation: {report['run_dir']}",
        "",
        f"- {full['frames']} validation frames of {report['data']}, class `{report['class']}`; "
        f"mean Dice ({rule}) at the model's input resolution",
        *([f"- data credit: {report['credit']}"] if report.get("credit") else []),
    ]
    if full["skipped"]:
        parts.append(f"- skipped: {', '.join(full['skipped'])} (the model has no presence head)")
    header = ["", "| step | Dice | gain | FP frames | FN frames |", "|---|---|---|---|---|"]
    parts += ["", "## Each step alone (best value on its grid)", *header]
    parts.append(row("threshold only (baseline)", full["baseline"], "-"))
    for r in full["alone"]:
        parts.append(row(f"{r['step']} ({setting(r)})", r, f"{r['gain']:+.4f}"))
    parts += ["", "## Steps added in order (kept only if they help)", *header]
    parts.append(row("threshold only (baseline)", full["baseline"], "-"))
    for r in full["cumulative"]:
        mark = "" if r["accepted"] else " - not kept"
        parts.append(row(f"+ {r['step']} ({setting(r)}){mark}", r, f"{r['gain']:+.4f}"))
    parts += [
        "",
        "## Recommendations",
        "",
        f"- all steps: Dice {full['best']['dice']:.4f} with {full['best']['settings']}",
        f"- runtime contract only (PostProcess fields): Dice {rt['best']['dice']:.4f} with "
        f"`{report['flags']}`",
        "",
        "The mask-area override of the gate and hole filling have no PostProcess field yet; "
        "the runtime recipe leaves them out.",
        "",
    ]
    return "\n".join(parts)


def tune_postprocess(
    run_dir: Path,
    data: Path | None = None,
    which: str = "best",
    out: Path | None = None,
    layout: str | None = None,
    subject_regex: str | None = None,
    manifest: Path | None = None,
    class_name: str | None = None,
    credit: str = "",
    log: Callable[[str], None] = print,
    empty_policy: str = DEFAULT_POLICY,
) -> dict:
    """``edgeseg tune-postprocess RUN_DIR``: ablation on validation frames, reports written.

    Writes ``postprocess.json`` and ``postprocess.md`` to ``out`` (default
    ``RUN_DIR/postprocess``); nothing in ``config.json`` changes. Returns the report with
    ``recommended`` (a ``PostProcess`` dict), ``flags`` and ``out_dir``.
    """
    check_policy(empty_policy)
    cfg, probs, presence, gts, _ = collect(
        run_dir, data, which, layout, subject_regex, manifest, class_name, log
    )
    threshold = cfg.postprocess.threshold
    full = ablation(probs, presence, gts, threshold=threshold, policy=empty_policy)
    runtime = ablation(
        probs, presence, gts, threshold=threshold, runtime_only=True, policy=empty_policy
    )
    recommended = Settings(**runtime["best"]["settings"]).runtime()
    report = {
        "run_dir": str(run_dir),
        "data": str(data if data is not None else cfg.data),
        "class": class_name or cfg.class_names[0],
        "credit": credit,
        "model": which,
        "empty_policy": empty_policy,
        "full": full,
        "runtime": runtime,
        "recommended": dataclasses.asdict(recommended),
        "flags": flags_for(recommended),
    }
    out_dir = Path(out) if out else Path(run_dir) / "postprocess"
    write_text_atomic(out_dir / "postprocess.json", json.dumps(report, indent=2))
    write_text_atomic(out_dir / "postprocess.md", render_markdown(report))
    gain = runtime["best"]["dice"] - runtime["baseline"]["dice"]
    log(
        f"validation Dice {runtime['baseline']['dice']:.4f} -> {runtime['best']['dice']:.4f} "
        f"({gain:+.4f}) with {report['flags']}; wrote {out_dir}/postprocess.md"
    )
    return {**report, "out_dir": str(out_dir)}
