"""The one prediction loop of host-side evaluation: labelled frames -> masks at the frame's size.

:func:`iter_predictions` reads each frame and its ground truth, prepares the frame with the
:class:`~edgeseg.contract.FrameContract`, runs a :data:`Predictor` on a batch, and post-processes
each frame's probabilities into masks at the model's and at the frame's size, all by the
contract. ``edgeseg evaluate``, ``analyze``, ``compare`` and ``tune-postprocess`` use it, and so
can parity: run it once per model, each with its own contract (a ``.tflite``'s metadata may
prepare frames differently from the run's config: ``iter_predictions(samples, seg.contract,
segmenter_predictor(seg))``), or call :func:`read_labelled` for frames and ground truth only and
hand each model's probabilities to its own accumulator.

numpy only: the predictor may wrap a Keras model (:func:`keras_predictor`, which never imports
TensorFlow itself), a TFLite interpreter or a classical baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from edgeseg.contract import FrameContract, float_input
from edgeseg.datasets import Sample, read_sample_mask
from edgeseg.imaging import read_gray, resize_mask

Predictor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]
"""uint8 pixels (N, H, W) at model size -> (probabilities (N, H, W, C), presence (N,) or None)."""

BATCH = 16


@dataclass(frozen=True)
class Labelled:
    """A frame as read from disk, with its ground truth at the frame's size."""

    sample: Sample
    frame: np.ndarray  # HxW uint8 gray, original size
    gt: np.ndarray  # HxWxC uint8 {0, 1}, one channel per contract class


@dataclass(frozen=True)
class Prediction:
    """One frame's prediction: probabilities and masks, with the frame and its ground truth."""

    sample: Sample
    frame: np.ndarray  # HxW uint8 gray, original size
    gt: np.ndarray  # HxWxC uint8 {0, 1} at the frame's size
    prob: np.ndarray  # hxwxC probabilities at the model's size
    presence: float | None  # the presence head's score, None without one
    mask_model: np.ndarray  # hxwxC uint8 {0, 1} at the model's size (post-processed)
    mask: np.ndarray  # HxWxC uint8 {0, 1} at the frame's size

    def gt_model(self) -> np.ndarray:
        """The ground truth at the model's size (nearest neighbour, as training loads it)."""
        return resize_mask(self.gt, self.prob.shape[:2])


def keras_predictor(model, batch_size: int = BATCH) -> Predictor:
    """A :data:`Predictor` calling a Keras model batch by batch (the contract's float input)."""

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


def segmenter_predictor(seg) -> Predictor:
    """A :data:`Predictor` running a ``.tflite`` through an ``edge_runtime`` ``Segmenter``.

    Frame by frame: the segmenter's own tensor quantization (``set_input``), ``invoke`` and
    dequantization (``get_output``). Pair it with ``seg.contract`` in :func:`iter_predictions`
    so frames are prepared as the model's metadata says (parity does).
    """

    def predict(images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        probs, scores = [], []
        for pixels in images:
            seg.set_input(pixels)
            seg.interpreter.invoke()
            prob, presence = seg.get_output()
            probs.append(prob)
            scores.append(presence)
        presence = None if scores[0] is None else np.asarray(scores, dtype=np.float64)
        return np.stack(probs), presence

    return predict


def read_labelled(
    samples: Sequence[Sample], values: Sequence[int], batch: int = BATCH
) -> Iterator[list[Labelled]]:
    """Batches of frames (8-bit gray) with their ground truth (mask ``values``, one per class).

    DataError (from ``edgeseg.datasets``) for an unreadable frame or a mask of another size.
    """
    for start in range(0, len(samples), batch):
        chunk = samples[start : start + batch]
        frames = [read_gray(s.image) for s in chunk]
        yield [
            Labelled(s, f, read_sample_mask(s, values, f.shape))
            for s, f in zip(chunk, frames, strict=True)
        ]


def iter_predictions(
    samples: Sequence[Sample],
    contract: FrameContract,
    predictor: Predictor,
    batch: int = BATCH,
) -> Iterator[Prediction]:
    """Each sample's :class:`Prediction`, in order: read, prepare, predict (batched), masks.

    The contract prepares the frames, post-processes (threshold, presence gate, minimum area,
    largest component) and resizes the masks to each frame's size; ground truth is read for the
    contract's classes. Pass ``contract.with_overrides(...)`` to score other settings.
    """
    values = [c.value for c in contract.classes]
    for chunk in read_labelled(samples, values, batch):
        probs, presence = predictor(np.stack([contract.prepare(item.frame) for item in chunk]))
        for i, item in enumerate(chunk):
            score = None if presence is None else float(presence[i])
            mask_model, mask = contract.to_masks(probs[i], score, item.frame.shape)
            yield Prediction(item.sample, item.frame, item.gt, probs[i], score, mask_model, mask)


__all__ = [
    "BATCH",
    "Labelled",
    "Prediction",
    "Predictor",
    "iter_predictions",
    "keras_predictor",
    "read_labelled",
    "segmenter_predictor",
]
