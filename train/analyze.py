"""``edgeseg analyze``: where and why a run's model fails, frame by frame.

For each labelled frame (at its original size, post-processed exactly as ``edgeseg evaluate``
does it: :func:`edgeseg.evaluation.predictions.iter_predictions`) the analysis records the
metrics of ``edgeseg.metrics.per_image`` under the empty-mask policy, the frame-level outcome
(``fn``: a nerve was missed entirely; ``fp``: a nerve was drawn on a frame without one;
``tp``/``tn``), boundary errors and measured image characteristics
(:mod:`edgeseg.evaluation.frame_measures`). Error rates are then broken down by tertiles of each
characteristic and by subject (:mod:`edgeseg.evaluation.error_rates`), the best and worst frames
are drawn as overlay galleries (:mod:`edgeseg.evaluation.gallery`), and with ``compare_to`` a
second run is compared with the first on the same frames (paired tests from ``edgeseg.stats``).

Output (``RUN_DIR/analysis/`` unless ``out``): ``analysis.json``, ``analysis.md``,
``per_frame.csv``, ``gallery_worst.png``, ``gallery_best.png``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from edgeseg.contract import FrameContract
from edgeseg.datasets import Sample, discover
from edgeseg.errors import ConfigError
from edgeseg.evaluation.analysis_report import CHARACTERISTICS, fmt, render_markdown
from edgeseg.evaluation.error_rates import (
    TERTILES,
    area_breakdown,
    compare_runs,
    error_rates,
    pick_gallery,
    subject_breakdown,
    tertile_breakdown,
)
from edgeseg.evaluation.frame_measures import (
    boundary,
    boundary_scores,
    characteristics,
    noise_level,
    outcome,
)
from edgeseg.evaluation.gallery import gallery, overlay
from edgeseg.evaluation.predictions import Predictor, iter_predictions
from edgeseg.io import atomic_path, write_text_atomic
from edgeseg.metrics import DEFAULT_POLICY, check_policy, per_image
from edgeseg.train.evaluate import rows_to_csv

__all__ = [
    "CHARACTERISTICS",
    "TERTILES",
    "analyze",
    "area_breakdown",
    "boundary",
    "boundary_scores",
    "characteristics",
    "compare_runs",
    "error_rates",
    "frame_rows",
    "gallery",
    "noise_level",
    "outcome",
    "overlay",
    "pick_gallery",
    "render_markdown",
    "subject_breakdown",
    "tertile_breakdown",
]


def frame_rows(
    samples: Sequence[Sample],
    contract: FrameContract,
    predictor: Predictor,
    class_index: int,
    tolerance: float,
    progress: Callable[[int], None] | None = None,
    policy: str = DEFAULT_POLICY,
) -> list[dict]:
    """One row per frame: metrics, outcome, boundary scores and image characteristics."""
    rows = []
    for p in iter_predictions(samples, contract, predictor):
        gt, pred = p.gt[..., class_index], p.mask[..., class_index]
        m = per_image(pred, gt, policy)
        row = {
            "image": p.sample.name,
            "subject": p.sample.subject,
            "presence": p.presence,
            **{k: m[k] for k in ("dice", "iou", "precision", "recall")},
            "outcome": outcome(m["gt_present"], m["pred_present"]),
            **boundary_scores(pred, gt, tolerance),
            **characteristics(p.frame, gt),
        }
        rows.append(row)
        if progress:
            progress(1)
    return rows


def _load(run_dir: Path, which: str) -> tuple[FrameContract, int, Predictor]:
    """(the run's contract, its training seed, a predictor of its ``which`` model)."""
    from edgeseg.config import load_config
    from edgeseg.train.evaluate import contract_for, keras_predictor
    from edgeseg.train.serialization import load_model, require_model

    cfg = load_config(run_dir)
    predictor = keras_predictor(load_model(require_model(run_dir, which)))
    return contract_for(cfg), cfg.train.seed, predictor


def _class_index(contract: FrameContract, class_name: str | None, run_dir: Path) -> tuple[int, str]:
    names = contract.class_names
    if class_name is None:
        return 0, names[0]
    if class_name not in names:
        raise ConfigError(
            f"--class {class_name!r}: run {run_dir} segments {', '.join(names)}; pick one of those"
        )
    return names.index(class_name), class_name


def _render_gallery(
    samples: Sequence[Sample],
    picks: Sequence[int],
    rows: Sequence[dict],
    contract: FrameContract,
    predictor: Predictor,
    class_index: int,
    path: Path,
) -> Path:
    chosen = [samples[i] for i in picks]
    tiles = []
    for p, i in zip(iter_predictions(chosen, contract, predictor), picks, strict=True):
        r = rows[i]
        tiles.append(
            (
                overlay(p.frame, p.gt[..., class_index], p.mask[..., class_index]),
                f"{p.sample.name}\nDice {r['dice']:.3f} {r['outcome']}",
            )
        )
    with atomic_path(path) as tmp:
        gallery(tiles).save(tmp, format="PNG")
    return path


def analyze(
    run_dir: Path,
    data: Path,
    compare_to: Path | None = None,
    out: Path | None = None,
    which: str = "best",
    layout: str = "auto",
    subject_regex: str | None = None,
    manifest: Path | None = None,
    class_name: str | None = None,
    gallery_size: int = 8,
    tolerance: float = 2.0,
    credit: str = "",
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    log: Callable[[str], None] = print,
    empty_policy: str = DEFAULT_POLICY,
) -> dict:
    """Analyse a run's errors on a labelled folder (optionally against a second run).

    ``subject_regex``/``manifest`` group frames by subject as in ``edgeseg train``; the subject
    table is only meaningful with them (or the Kaggle layout). Returns the report dict (also
    written to ``analysis.json``) plus ``out_dir`` and ``files``.
    """
    run_dir = Path(run_dir)
    check_policy(empty_policy)
    contract, seed, predictor = _load(run_dir, which)
    class_index, cls = _class_index(contract, class_name, run_dir)
    if compare_to is not None:  # both runs are checked before anything is written
        if not Path(compare_to).is_dir():
            raise ConfigError(
                f"--compare {compare_to}: no such run directory; pass the --out of edgeseg train"
            )
        contract_b, _, predictor_b = _load(Path(compare_to), which)
        index_b, _ = _class_index(contract_b, cls, Path(compare_to))
    samples, _ = discover(Path(data), layout, subject_regex, manifest)
    if total:
        total(len(samples) * (2 if compare_to else 1))
    rows = frame_rows(samples, contract, predictor, class_index, tolerance, progress, empty_policy)
    if compare_to is not None:
        rows_b = frame_rows(
            samples, contract_b, predictor_b, index_b, tolerance, progress, empty_policy
        )
    report: dict = {
        "run_dir": str(run_dir),
        "model": which,
        "data": str(data),
        "credit": credit,
        "class": cls,
        "empty_policy": empty_policy,
        "frames": len(rows),
        "tolerance": tolerance,
        "overall": error_rates(rows),
        "breakdown": {
            **{key: tertile_breakdown(rows, key) for key in CHARACTERISTICS},
            "area": area_breakdown(rows),
            "subject": subject_breakdown(rows),
        },
    }
    out_dir = Path(out) if out else run_dir / "analysis"
    worst, best = pick_gallery(rows, gallery_size)
    report["gallery"] = {
        "worst": [rows[i]["image"] for i in worst],
        "best": [rows[i]["image"] for i in best],
    }
    files = {
        "gallery_worst": _render_gallery(
            samples, worst, rows, contract, predictor, class_index, out_dir / "gallery_worst.png"
        ),
        "gallery_best": _render_gallery(
            samples, best, rows, contract, predictor, class_index, out_dir / "gallery_best.png"
        ),
    }
    if compare_to is not None:
        report["compare_to"] = str(compare_to)
        report["comparison"] = compare_runs(rows, rows_b, seed=seed)
        for r, rb in zip(rows, rows_b, strict=True):
            r["dice_b"], r["outcome_b"] = rb["dice"], rb["outcome"]
    files["json"] = write_text_atomic(out_dir / "analysis.json", json.dumps(report, indent=2))
    files["md"] = write_text_atomic(out_dir / "analysis.md", render_markdown(report))
    files["csv"] = write_text_atomic(out_dir / "per_frame.csv", rows_to_csv(rows))
    o = report["overall"]
    log(
        f"{len(rows)} frames: Dice {fmt(o['dice'], 4)}, {o['fn_frames']} missed nerves, "
        f"{o['fp_frames']} false detections; wrote {out_dir}"
    )
    return {**report, "out_dir": str(out_dir), "files": {k: str(v) for k, v in files.items()}}
