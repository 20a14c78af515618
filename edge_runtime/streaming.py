"""Results and streams of the runtime: :class:`Result` per frame, :class:`FrameStream` over many.

A stream overlaps reading/preprocessing of the next frame and post-processing of the previous
one with the interpreter's work on the current frame (see :class:`FrameStream`). numpy + Pillow
only; the interpreter itself stays on the caller's thread.
"""

from __future__ import annotations

import itertools
import time
import warnings
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeseg.contract import ClassInfo
from edgeseg.errors import DataError
from edgeseg.postprocess import overlay

if TYPE_CHECKING:
    from edgeseg.edge_runtime.segmenter import Segmenter

Frame = Any  # numpy array (HxW, HxWx3/4; uint8/uint16/float), PIL image, or a path

PREFETCH_THREAD_PREFIX = "edgeseg-prefetch"  # names of a stream's loader and post threads


class SkippedFrameWarning(RuntimeWarning):
    """A frame in a stream could not be read and was skipped."""


@dataclass
class Result:
    """One segmented frame.

    ``mask``: HxWxC uint8 {0,1} at the frame's original size; ``mask_model``: the same at model
    size; ``prob``: model-size float32 probabilities; ``presence``: the presence score or None;
    ``timings``: preprocess_ms (read + decode + preprocess + quantize), invoke_ms, postprocess_ms
    and total_ms (the frame's latency: start of its read -> result); ``gray``: the frame as
    8-bit gray at original size (for overlays).

    Frames from :meth:`Segmenter.stream` also carry ``frame_ms``, the stream's per-frame time as
    its consumer sees it (asking for the frame -> getting it; skipped frames before it included;
    the sum over a stream is its wall time less the consumer's own work), and ``wait_ms``, the
    part of that spent waiting for the frame's input (its whole load without prefetch; only
    what the loader thread did not hide with it). With prefetch ``total_ms`` includes the time
    the loaded frame waited for the interpreter, so it can exceed ``frame_ms``; and since a
    result is handed out after the next frame's invoke, its ``frame_ms`` spans that invoke,
    while the last result before a skip or the end of the stream comes back at once.
    """

    mask: np.ndarray
    mask_model: np.ndarray
    prob: np.ndarray
    presence: float | None
    timings: dict[str, float]
    gray: np.ndarray
    classes: tuple[ClassInfo, ...]
    source: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the original frame."""
        return self.gray.shape[0], self.gray.shape[1]

    def label_map(self) -> np.ndarray:
        """HxW uint8 of class values (0 = background; later classes paint over earlier)."""
        out = np.zeros(self.size, dtype=np.uint8)
        for c, cls in enumerate(self.classes):
            out[self.mask[..., c] > 0] = cls.value
        return out

    def overlay(self) -> np.ndarray:
        """The contract's colour overlay of ``mask`` on the gray frame, HxWx3 uint8."""
        return overlay(self.gray, self.mask, [c.color for c in self.classes])


@dataclass
class _Loaded:
    """One frame after the thread-safe half: read, preprocessed and quantized (or unreadable)."""

    source: str
    started: float  # perf_counter when its read began
    gray: np.ndarray | None = None
    tensor: np.ndarray | None = None  # input tensor values, [1, H, W, 1]
    loaded: float = 0.0  # perf_counter when the input tensor was ready
    error: DataError | None = None


@dataclass
class FrameStream:
    """Iterator over a stream's results; ``skipped`` counts unreadable frames (after iterating).

    With ``prefetch`` (the default) a loader thread reads, decodes and preprocesses frame N+1
    (advancing ``frames`` too, so a consumer that stops early has taken up to two frames more)
    and a post-processing thread finishes frame N-1 (threshold, components, mask at the frame's
    size) while the caller's thread runs frame N through the interpreter, which never leaves
    the caller's thread. A result is handed out once the next frame has been inferred (one frame
    later than without prefetch), or at once before a skipped frame and at the end. Results,
    order, skips, warnings and smoothing are exactly those of ``prefetch=False``, which does
    everything on the caller's thread. The threads end when the stream ends, when iteration
    stops early (breaking out of the loop, an exception) or on :meth:`close` / leaving a
    ``with`` block.
    """

    segmenter: Segmenter
    frames: Iterable[Frame]
    smoothing: float = 0.0
    on_skip: Callable[[str, str], None] | None = None
    prefetch: bool = True
    processed: int = 0
    skipped: int = 0
    skipped_sources: list[str] = field(default_factory=list)
    _open: weakref.WeakSet[Generator[Result, None, None]] = field(
        default_factory=weakref.WeakSet, init=False, repr=False, compare=False
    )

    def __iter__(self) -> Iterator[Result]:
        gen = self._results()
        self._open.add(gen)
        return gen

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop any iteration in progress and join its loader thread (idempotent)."""
        for gen in list(self._open):
            gen.close()
        self._open.clear()

    def _results(self) -> Generator[Result, None, None]:
        ema: np.ndarray | None = None
        ema_presence: float | None = None
        a = self.smoothing
        seg = self.segmenter
        loads = self._prefetched() if self.prefetch else self._sequential()
        post = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{PREFETCH_THREAD_PREFIX}-post")
            if self.prefetch
            else None
        )
        pending: tuple[Future[Result], float] | None = None  # (finishing result, its wait_ms)

        def handed_out(result: Result, wait_ms: float) -> Result:
            self.processed += 1  # counted when handed out, so counts and results agree
            result.timings["wait_ms"] = wait_ms
            result.timings["frame_ms"] = (time.perf_counter() - asked) * 1000.0
            return result

        def delivered(finishing: tuple[Future[Result], float]) -> Result:
            future, wait_ms = finishing
            return handed_out(future.result(), wait_ms)

        try:
            asked = time.perf_counter()
            for item in loads:
                if item.error is not None:
                    if pending is not None:  # results and skips keep the frames' order
                        yield delivered(pending)
                        pending = None
                        asked = time.perf_counter()
                    self.skipped += 1
                    self.skipped_sources.append(item.source)
                    exc, source = item.error, item.source
                    reason = str(exc) if source in str(exc) else f"{source}: {exc}"
                    if self.on_skip is not None:
                        self.on_skip(source, reason)
                    else:
                        warnings.warn(f"skipped frame {reason}", SkippedFrameWarning, stacklevel=2)
                    continue
                assert item.gray is not None and item.tensor is not None
                wait_ms = (time.perf_counter() - asked) * 1000.0
                load_ms = (item.loaded - item.started) * 1000.0 if self.prefetch else None
                prob, presence, timings = seg._infer_tensor(item.tensor, item.started, load_ms)
                if a > 0 and ema is not None and ema.shape == prob.shape:
                    ema = a * ema + (1.0 - a) * prob
                    if presence is not None and ema_presence is not None:
                        ema_presence = a * ema_presence + (1.0 - a) * presence
                    else:
                        ema_presence = presence
                else:
                    ema, ema_presence = prob, presence
                finish = (item.gray, ema, ema_presence, timings, item.started, item.source)
                if post is None:
                    yield handed_out(seg._finish(*finish), wait_ms)
                    asked = time.perf_counter()
                    continue
                # Post-process frame N on the worker while frame N+1 is inferred; frame N is
                # handed out after that (one frame later than without prefetch).
                finishing = (post.submit(seg._finish, *finish), wait_ms)
                if pending is not None:
                    yield delivered(pending)
                    asked = time.perf_counter()
                pending = finishing
            if pending is not None:
                yield delivered(pending)
                pending = None
        except GeneratorExit:  # the consumer stopped: nothing more is handed out
            raise
        except BaseException:  # the source, a load or an invoke failed: what was done comes first
            if pending is not None:
                finished, pending = pending, None
                yield delivered(finished)
            raise
        finally:
            loads.close()  # joins the loader thread
            if post is not None:
                post.shutdown(wait=True, cancel_futures=True)

    def _sequential(self) -> Generator[_Loaded, None, None]:
        for index, frame in enumerate(self.frames):
            yield self.segmenter._load(frame, index)

    def _prefetched(self) -> Generator[_Loaded, None, None]:
        """Frames loaded one ahead on a single worker thread, in order."""
        frames = iter(self.frames)
        seg = self.segmenter
        counter = itertools.count()
        end = object()

        def load_next() -> Any:  # runs on the worker only, one call at a time
            try:
                frame = next(frames)
            except StopIteration:
                return end
            return seg._load(frame, next(counter))

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=PREFETCH_THREAD_PREFIX)
        pending: Future[Any] | None = None
        try:
            pending = pool.submit(load_next)
            while True:
                item = pending.result()
                if item is end:
                    return
                pending = pool.submit(load_next)  # frame N+1 loads while frame N is inferred
                yield item
        finally:
            if pending is not None:
                pending.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _source_name(frame: Frame, index: int) -> str:
    if isinstance(frame, (str, Path)):
        return str(frame)
    return f"frame #{index}"


__all__ = ["PREFETCH_THREAD_PREFIX", "Frame", "FrameStream", "Result", "SkippedFrameWarning"]
