"""``edgeseg parity --source``: int8 vs float on a clip without labels, as one report.

Frames come from any frame source (:func:`edgeseg.edge_runtime.sources.open_source`: a video,
a DICOM cine, a multi-page TIFF, a folder, a capture device), every model sees each frame
prepared by its own contract (the ``.tflite``'s metadata, or the run's config for a Keras
model), and :class:`~edgeseg.evaluation.live_parity.LiveParityAccumulator` compares the masks
at the frame's size. ``report.json`` + ``report.html`` are written in the parity report's format
(:mod:`edgeseg.evaluation.parity_report`), once everything else succeeded.

No TensorFlow here: a reference is any :data:`~edgeseg.evaluation.predictions.Predictor` with
its contract (a float ``.tflite`` through the runtime: :func:`tflite_model`; a Keras model: the
host side builds one in ``edgeseg.train.live_parity_run``). Frames are named by their index and
the report names the source by its display name, never by a header value.
"""

from __future__ import annotations

import heapq
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseg.contract import FrameContract
from edgeseg.edge_runtime.sources.base import FrameSource
from edgeseg.errors import ConfigError, DataError
from edgeseg.evaluation.html import OverlayFrame
from edgeseg.evaluation.live_parity import DEFAULT_BLOCK, LiveParityAccumulator
from edgeseg.evaluation.parity_report import write_report
from edgeseg.evaluation.predictions import BATCH, Predictor, segmenter_predictor
from edgeseg.evaluation.verdict import Tolerances

INT8 = "int8 TFLite"
FLOAT_TFLITE = "float TFLite"


@dataclass(frozen=True)
class Model:
    """A model of the comparison: its name, the contract that prepares its frames, a predictor."""

    name: str
    contract: FrameContract
    predict: Predictor
    describe: Mapping[str, Any] | None = None


def tflite_model(path: Path | str, name: str, threads: int | None = None) -> Model:
    """A ``.tflite`` as a :class:`Model`, run by the device runtime on the CPU."""
    from edgeseg.edge_runtime.segmenter import Segmenter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a delegate fallback: CPU is the point
        seg = Segmenter(path, delegate="cpu", threads=threads)
    return Model(name, seg.contract, segmenter_predictor(seg), seg.describe())


class _Worst:
    """The ``k`` frames where the candidate disagrees most with the reference (gray + masks)."""

    def __init__(self, k: int) -> None:
        self.k, self.heap = k, []  # (-disagreement, -index) so the least bad is popped first

    def offer(self, agreement: float, index: int, gray: np.ndarray, masks: dict) -> None:
        if self.k <= 0 or agreement >= 1.0:
            return
        item = (1.0 - agreement, -index, gray, masks)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, item)
        elif item[:2] > self.heap[0][:2]:
            heapq.heapreplace(self.heap, item)

    def frames(self) -> list[tuple[float, int, np.ndarray, dict]]:
        return [(1.0 - d, -i, g, m) for d, i, g, m in sorted(self.heap, reverse=True)]


def _predict_all(
    models: Sequence[Model], grays: Sequence[np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, list[float | None]]]:
    probs, scores = {}, {}
    for m in models:
        p, s = m.predict(np.stack([m.contract.prepare(g) for g in grays]))
        probs[m.name] = np.asarray(p, dtype=np.float64)
        scores[m.name] = [None if s is None else float(s[k]) for k in range(len(grays))]
    return probs, scores


def run_live_parity(
    source: str | Path | FrameSource,
    candidate: Model,
    references: Sequence[Model],
    out_dir: Path | str,
    baselines: Sequence[str] = (),
    tolerances: Tolerances | None = None,
    limit: int | None = None,
    block: int = DEFAULT_BLOCK,
    overlays: int = 3,
    credit: str = "",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
    notes: Sequence[str] = (),
    describe: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Parity of ``candidate`` with ``references`` on every frame of ``source`` (no labels).

    ``source``: a spec for :func:`~edgeseg.edge_runtime.sources.open_source` or an open
    frame source (closed here); a live one needs ``limit``.

    ``baselines``: reference names that get no check here (see
    :mod:`~edgeseg.evaluation.live_parity`). ``limit``: the first N frames only. ``block``:
    consecutive frames the bootstrap resamples together. ``overlays``: frames of largest
    disagreement drawn in the HTML. ``describe``: extra JSON fields for the report (run
    folder, model paths). ``warn`` gets the source's warnings (e.g. burned-in annotation;
    default: ``progress``). Returns the report dict with ``verdict``, ``paths`` and ``line``.
    """
    from edgeseg.edge_runtime.segmenter import Segmenter
    from edgeseg.edge_runtime.sources import open_source

    say = progress or (lambda _m: None)
    start = time.time()
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be 1 or more frames")
    if overlays < 0:
        raise ConfigError(f"--overlays {overlays}: must be 0 or more")
    models = [*references, candidate]
    post = candidate.contract.postprocess
    classes = candidate.contract.class_names
    for m in references:
        if m.contract.class_names != classes:
            raise ConfigError(
                f"{m.name} segments {m.contract.class_names}, {candidate.name} {classes}: "
                "compare models of the same classes"
            )
    acc = LiveParityAccumulator(
        [m.name for m in models],
        candidate=candidate.name,
        baselines=baselines,
        classes=classes,
        post=post,
        tolerances=tolerances,
        block=block,
    )
    worst = _Worst(overlays)
    ref = next(r for r in reversed(acc.references) if acc.roles[r] == "reference")
    opened = open_source(source) if isinstance(source, (str, Path)) else source
    with opened as src:
        if src.live and limit is None:
            raise ConfigError(
                f"{src.name} is a live source and never ends: pass --limit N (frames to compare)"
            )
        info = {
            "name": src.name,
            "live": bool(src.live),
            "frame_rate": src.frame_rate,
            "frame_count": src.frame_count,
            "notes": list(src.notes),
            "limit": limit,
        }
        for note in src.notes:
            (warn or say)(note)
        say(f"comparing {len(models)} models on {src.name}")
        batch: list[tuple[int, float, np.ndarray]] = []

        def flush() -> None:
            probs, scores = _predict_all(models, [g for _, _, g in batch])
            for k, (index, ts, gray) in enumerate(batch):
                masks = acc.add_frame(
                    {n: p[k] for n, p in probs.items()},
                    {n: s[k] for n, s in scores.items()},
                    gray.shape,
                    f"frame {index}",
                    ts,
                )
                worst.offer(acc.pairs[ref].agreement[classes[0]][-1], index, gray, masks)
            batch.clear()
            say(f"{len(acc.names)} frames")

        for frame in src:
            if limit is not None and len(acc.names) + len(batch) >= limit:
                break
            batch.append((frame.index, frame.timestamp_s, Segmenter.read_frame(frame.image)))
            if len(batch) == BATCH:
                flush()
        if batch:
            flush()
    if not acc.names:
        raise DataError(f"{info['name']}: no frames to compare")
    report = acc.result(seed=seed)
    frames = [
        OverlayFrame(
            group="largest disagreement",
            image=f"frame {index}",
            caption=f"agreement with {ref}: {agree:.3f}",
            panels=[(m.name, m.contract.overlay(gray, masks[m.name])) for m in models],
        )
        for agree, index, gray, masks in worst.frames()
    ]
    report.update(
        {
            **dict(describe or {}),
            "data": info["name"],
            "layout": "clip without labels",
            "source": info,
            "runtime": candidate.describe,
            "warnings": [*notes, *info["notes"]],
            "seconds": round(time.time() - start, 1),
        }
    )
    paths = write_report(
        report,
        Path(out_dir),
        overlays=frames,
        credit=credit,
        title="edgeseg parity report (no labels)",
    )
    report["paths"] = {k: str(v) for k, v in paths.items()}
    state = report["verdict"]["outcome"]
    names = ", ".join(m.name for m in references)
    report["line"] = (
        f"parity {state}: {candidate.name} vs {names} on {report['frames']} frames without "
        f"labels ({report['resampling']['unit']}-level intervals; agreement and flips only); "
        f"wrote {paths['html']} ({paths['html'].stat().st_size / 1024:.0f} KiB) in "
        f"{time.time() - start:.0f}s; next: open {paths['html']}"
    )
    return report


__all__ = ["FLOAT_TFLITE", "INT8", "Model", "run_live_parity", "tflite_model"]
