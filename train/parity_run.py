"""``edgeseg parity``: does the int8 ``.tflite`` still segment like the Keras model it came from?

Host side (TensorFlow): loads the run's float model (``RUN_DIR/model_best.h5``) and, when the run
has one, its QAT model (``RUN_DIR/qat/model_best.h5``), runs them and the ``.tflite`` (through the
device runtime's :class:`~edgeseg.edge_runtime.segmenter.Segmenter`: its own metadata, preprocessing
and tensor quantization) as predictors of the one prediction loop
(:mod:`edgeseg.evaluation.predictions`), and hands every frame's probabilities and presence scores
to :class:`~edgeseg.evaluation.parity.ParityAccumulator`, which post-processes all models the same
way (the run's ``postprocess``) and scores them at each frame's original size, under the chosen
empty-mask policy. Frames are grouped by subject (``--subject-regex``, by default the run's) so the
verdict's intervals resample subjects. Latency of the three paths is measured on one frame, and
``report.json`` + ``report.html`` are written (only once everything else succeeded).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from edgeseg.config import RunConfig, load_config
from edgeseg.contract import FrameContract, class_color, float_input
from edgeseg.datasets import Sample, discover
from edgeseg.edge_runtime.benchmark import time_calls
from edgeseg.edge_runtime.metadata import read_metadata
from edgeseg.edge_runtime.segmenter import Segmenter, overlay
from edgeseg.errors import ConfigError, DataError, ModelError
from edgeseg.evaluation.html import OverlayFrame
from edgeseg.evaluation.parity import MIN_FRAMES, ParityAccumulator
from edgeseg.evaluation.parity_report import write_report
from edgeseg.evaluation.predictions import keras_predictor, read_labelled, segmenter_predictor
from edgeseg.evaluation.verdict import Tolerances
from edgeseg.imaging import read_gray, read_mask
from edgeseg.metrics import DEFAULT_POLICY, check_policy
from edgeseg.preprocess import preprocess

FLOAT = "float (original)"
QAT = "QAT Keras"
INT8 = "int8 TFLite"
BATCH = 16


def _latency_row(model: str, what: str, ms: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(ms, dtype=np.float64)
    return {
        "model": model,
        "what": what,
        "ms_mean": float(arr.mean()),
        "ms_p50": float(np.percentile(arr, 50)),
        "ms_p90": float(np.percentile(arr, 90)),
        "runs": int(arr.size),
    }


def measure_latency(
    keras_models: dict[str, Any],
    seg: Segmenter,
    frame_path: Path,
    pp,
    runs: int = 20,
    warmup: int = 3,
) -> dict[str, Any]:
    """Per-frame latency on one frame: Keras ``predict``, bare ``invoke()``, runtime end to end.

    End to end is ``Segmenter.segment(path)``: decode the file, preprocess, quantize, invoke,
    dequantize, post-process and resize the mask to the frame's size.
    """
    gray = read_gray(frame_path)
    pixels = preprocess(gray, pp)
    x = float_input(pixels)
    rows = []
    for name, model in keras_models.items():
        ms = time_calls(lambda m=model: m.predict(x, verbose=0), runs, warmup)
        rows.append(_latency_row(name, "Keras model.predict, 1 frame", ms))
    seg.set_input(seg.contract.prepare(gray))
    invoke = time_calls(seg.interpreter.invoke, runs, warmup)
    rows.append(_latency_row(INT8, "LiteRT invoke() only", invoke))
    e2e = time_calls(lambda: seg.segment(frame_path), runs, warmup)
    rows.append(_latency_row(INT8, "runtime end to end (decode -> mask)", e2e))
    keras_ms = rows[0]["ms_p50"]
    invoke_ms = rows[-2]["ms_p50"]
    return {
        "frame": str(frame_path),
        "frame_size": [int(gray.shape[0]), int(gray.shape[1])],
        "backend": seg.info.backend,
        "threads": seg.info.threads,
        "rows": rows,
        "ratios": {
            "keras_predict_over_invoke": keras_ms / invoke_ms if invoke_ms > 0 else None,
            "e2e_over_invoke": rows[-1]["ms_p50"] / invoke_ms if invoke_ms > 0 else None,
        },
    }


def _check_model(seg: Segmenter, cfg: RunConfig, tflite_path: Path) -> list[str]:
    """Warnings when the .tflite was not exported from this run's config; ModelError on size."""
    notes = []
    meta = seg.metadata
    if meta.input_size != cfg.preprocessing.size:
        raise ModelError(
            f"{tflite_path} takes {meta.input_size[0]}x{meta.input_size[1]} frames but the run "
            f"was trained at {cfg.preprocessing.height}x{cfg.preprocessing.width}: pass the "
            "model exported from this run (edgeseg convert RUN_DIR --int8)"
        )
    if len(meta.classes) != len(cfg.classes):
        raise ModelError(
            f"{tflite_path} has {len(meta.classes)} class(es) but the run has "
            f"{len(cfg.classes)}: pass the model exported from this run"
        )
    raw = read_metadata(tflite_path) or {}
    if not seg.has_metadata:
        notes.append(f"{tflite_path.name} has no edgeseg metadata: ran with the run's settings")
    elif raw.get("config_sha256") and raw["config_sha256"] != cfg.sha256():
        notes.append(
            f"{tflite_path.name} was exported from another config (config_sha256 differs): "
            "differences may come from the settings, not from quantization"
        )
    if meta.preprocessing != cfg.preprocessing:
        notes.append(
            "the .tflite's preprocessing differs from the run's "
            f"({asdict(meta.preprocessing)} vs {asdict(cfg.preprocessing)}): each model ran "
            "with its own, as it would be deployed"
        )
    if meta.postprocess != cfg.postprocess:
        notes.append(
            "the .tflite's post-processing differs from the run's: all models were scored "
            "with the run's, so the table compares the networks alone"
        )
    if meta.quantization != "int8":
        notes.append(f"{tflite_path.name} is a {meta.quantization} model, not int8")
    return notes


def _pick_overlays(acc: ParityAccumulator, per_group: int) -> list[tuple[str, int]]:
    """(group, frame index): worst and best candidate Dice, then largest disagreement."""
    if per_group <= 0:
        return []
    dice = acc.dice_scores(acc.candidate)
    gt_present = np.array(
        [r["gt_present"] for r in acc.rows[acc.candidate][acc.classes[0]]], dtype=bool
    )
    ref = acc.references[-1]  # the reference (QAT) when there is one, else the float model
    agree = acc.agreement_scores(ref)
    idx = np.arange(len(dice))
    worst = sorted(idx, key=lambda i: (dice[i], agree[i], i))[:per_group]
    rest = [i for i in idx if i not in worst]
    best = sorted(rest, key=lambda i: (not gt_present[i], -dice[i], -agree[i], i))[:per_group]
    shown = set(worst) | set(best)
    disagree = [i for i in sorted(idx, key=lambda i: (agree[i], i)) if i not in shown]
    disagree = [i for i in disagree if agree[i] < 1.0][:per_group]
    return (
        [("worst", int(i)) for i in worst]
        + [("best", int(i)) for i in best]
        + [("disagreement", int(i)) for i in disagree]
    )


def _overlay_frames(
    picks: list[tuple[str, int]],
    samples: Sequence[Sample],
    acc: ParityAccumulator,
    cfg: RunConfig,
    predictors: dict[str, Callable],
    seg: Segmenter,
) -> list[OverlayFrame]:
    """Re-run the chosen frames (few) and draw ground truth and every model's mask."""
    colors = [class_color(c.name, i) for i, c in enumerate(cfg.classes)]
    values = [c.value for c in cfg.classes]
    out = []
    titles = {"worst": "worst Dice", "best": "best Dice", "disagreement": "largest disagreement"}
    for group, i in picks:
        sample = samples[i]
        gray = read_gray(sample.image)
        gt = read_mask(sample.mask, values)
        probs, scores = _run_models([gray], cfg, predictors, seg)
        masks = acc.masks_for(
            {m: p[0] for m, p in probs.items()}, {m: s[0] for m, s in scores.items()}, gray.shape
        )
        panels = [("ground truth", overlay(gray, gt, colors))]
        panels += [(m, overlay(gray, masks[m], colors)) for m in acc.models]
        row = acc.per_image_row(i)
        cls = acc.classes[0]
        parts = [f"Dice {m}: {row[f'{m}/{cls}/dice']:.3f}" for m in acc.models]
        parts += [f"agreement with {r}: {row[f'agreement/{r}/{cls}']:.3f}" for r in acc.references]
        out.append(
            OverlayFrame(
                group=titles[group],
                image=sample.name,
                caption="; ".join(parts),
                panels=panels,
            )
        )
    return out


def _run_models(
    frames: Sequence[np.ndarray],
    cfg: RunConfig,
    predictors: dict[str, Callable],
    seg: Segmenter,
) -> tuple[dict[str, list[np.ndarray]], dict[str, list[float | None]]]:
    """Every model on a batch of gray frames -> ({model: probs}, {model: presence}).

    The Keras models see frames prepared by the run's config, the ``.tflite`` by its own
    metadata (``seg.contract``), each as it is deployed; both are :data:`Predictor` s of the
    one prediction loop (:mod:`edgeseg.evaluation.predictions`).
    """
    run_contract = FrameContract.from_run_config(cfg)
    prepared = {
        **{name: (run_contract, predict) for name, predict in predictors.items()},
        INT8: (seg.contract, segmenter_predictor(seg)),
    }
    probs: dict[str, list[np.ndarray]] = {}
    scores: dict[str, list[float | None]] = {}
    for name, (contract, predict) in prepared.items():
        p, s = predict(np.stack([contract.prepare(f) for f in frames]))
        probs[name] = [np.asarray(p[k], dtype=np.float64) for k in range(len(frames))]
        scores[name] = [None if s is None else float(s[k]) for k in range(len(frames))]
    return probs, scores


def run_parity(
    float_run_dir: Path | str,
    tflite_path: Path | str,
    data_dir: Path | str,
    out_dir: Path | str,
    min_dice_delta: float | None = None,
    min_agreement: float | None = None,
    max_flip_fraction: float | None = None,
    confidence: float | None = None,
    qat: bool | None = None,
    layout: str = "auto",
    limit: int | None = None,
    overlays: int = 3,
    latency_runs: int = 20,
    threads: int | None = None,
    credit: str = "",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    subject_regex: str | None = None,
    empty_policy: str = DEFAULT_POLICY,
) -> dict[str, Any]:
    """Parity of ``tflite_path`` with the run's Keras model(s) on a labelled folder.

    ``qat``: include the run's QAT model as the reference the int8 file must reproduce (None:
    when ``RUN_DIR/qat/model_best.h5`` exists; pass False for an int8 file converted post-training
    from the float model of a run that also has a QAT model). The float model is then the
    baseline (accuracy check only); without QAT it is the reference. ``limit``: the first N
    frames only. ``overlays``: frames per group (worst, best, largest disagreement) drawn in the
    HTML. ``credit``: the dataset's credit line for the report's footer. Tolerances left None
    take :class:`~edgeseg.evaluation.verdict.Tolerances`' defaults. ``subject_regex``: the
    frames' subjects (first group; None: the run's ``subject_regex``); a pattern that does not
    match a frame is a DataError. ``empty_policy``: ``edgeseg.metrics.EMPTY_POLICIES``. Returns
    the report dict (``verdict.outcome`` PASS / FAIL / INCONCLUSIVE, ``verdict.exit_code``,
    ``passed``, ``verdict.reasons``, ``paths``, ``line``).
    """
    import edgeseg.train.qat  # noqa: F401  (registers edgeseg QuantizeConfigs for loading)
    from edgeseg.train.serialization import load_model, model_path

    say = progress or (lambda _m: None)
    start = time.time()
    run_dir, tflite_path = Path(float_run_dir), Path(tflite_path)
    given = {
        "min_dice_delta": min_dice_delta,
        "min_agreement": min_agreement,
        "max_flip_fraction": max_flip_fraction,
        "level": confidence,
    }
    tolerances = Tolerances(**{k: v for k, v in given.items() if v is not None})
    check_policy(empty_policy)
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be 1 or more frames")
    if overlays < 0 or latency_runs < 1:
        raise ConfigError(
            f"--overlays {overlays} / --latency-runs {latency_runs}: need >= 0 / >= 1"
        )
    cfg = load_config(run_dir)
    regex = cfg.subject_regex if subject_regex is None else subject_regex
    try:
        samples, found_layout = discover(Path(data_dir), layout, subject_regex=regex or None)
    except DataError as exc:
        if subject_regex is None and regex and "--subject-regex" in str(exc):
            raise DataError(
                f"{exc} (the run's subject_regex, from {run_dir / 'config.json'}: pass "
                "--subject-regex to set another)"
            ) from exc
        raise
    if limit is not None:
        samples = samples[:limit]
    if len(samples) < MIN_FRAMES:
        raise DataError(
            f"{data_dir}: {len(samples)} labelled frame(s); parity needs at least {MIN_FRAMES} "
            "(one frame has no spread, so no interval and no verdict)"
        )

    qat_path = model_path(run_dir, "qat")
    use_qat = qat_path.is_file() if qat is None else bool(qat)
    if use_qat and not qat_path.is_file():
        raise ModelError(f"{run_dir} has no qat/model_best.h5: run `edgeseg qat {run_dir}` first")
    say(f"loading {model_path(run_dir, 'best')}" + (f" and {qat_path}" if use_qat else ""))
    keras_models = {FLOAT: load_model(model_path(run_dir, "best"))}
    if use_qat:
        keras_models[QAT] = load_model(qat_path)
    predictors = {name: keras_predictor(m, batch_size=BATCH) for name, m in keras_models.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a delegate fallback: CPU is the point
        seg = Segmenter(tflite_path, delegate="cpu", threads=threads)
    notes = _check_model(seg, cfg, tflite_path)

    acc = ParityAccumulator(
        [*keras_models, INT8],
        candidate=INT8,
        baselines=[FLOAT] if use_qat else [],
        classes=cfg.class_names,
        post=cfg.postprocess,
        tolerances=tolerances,
        policy=empty_policy,
    )
    values = [c.value for c in cfg.classes]
    say(f"running {len(keras_models) + 1} models on {len(samples)} frames")
    done = 0
    for chunk in read_labelled(samples, values, BATCH):
        probs, scores = _run_models([item.frame for item in chunk], cfg, predictors, seg)
        for k, item in enumerate(chunk):
            acc.add(
                item.gt,
                {m: p[k] for m, p in probs.items()},
                {m: s[k] for m, s in scores.items()},
                item.sample.name,
                item.sample.subject,
            )
        done += len(chunk)
        say(f"{done}/{len(samples)} frames")
    report = acc.result(seed=seed)

    say("measuring latency")
    latency = measure_latency(
        keras_models, seg, samples[0].image, cfg.preprocessing, runs=latency_runs
    )
    picks = _pick_overlays(acc, overlays)
    frames = _overlay_frames(picks, samples, acc, cfg, predictors, seg)
    report.update(
        {
            "run_dir": str(run_dir),
            "tflite": str(tflite_path),
            "data": str(data_dir),
            "layout": found_layout,
            "qat": use_qat,
            "runtime": seg.describe(),
            "latency": latency,
            "warnings": notes + _resampling_warning(acc),
            "subject_regex": regex or None,
            "seconds": round(time.time() - start, 1),
        }
    )
    paths = write_report(report, Path(out_dir), overlays=frames, credit=credit)
    report["paths"] = {k: str(v) for k, v in paths.items()}
    state = report["verdict"]["outcome"]
    unit = report["resampling"]["unit"]
    report["line"] = (
        f"parity {state}: {INT8} vs {', '.join(keras_models)} on {report['frames']} frames "
        f"({unit}-level intervals); wrote {paths['html']} "
        f"({paths['html'].stat().st_size / 1024:.0f} KiB) in {time.time() - start:.0f}s; "
        f"next: open {paths['html']}" + ("" if report["passed"] else " (reasons in the report)")
    )
    return report


def _resampling_warning(acc: ParityAccumulator) -> list[str]:
    """A warning when the intervals cannot resample subjects although the data has frames."""
    res = acc.resampling()
    return [f"intervals: {res['note']}"] if res["unit"] == "frame" and res["note"] else []
