"""``stream_source``: a video, DICOM cine, TIFF, folder or live device through the segmenter.

Two modes, one loop:

- **every frame** (a file, the default): every frame is segmented as fast as possible, with
  the next frame decoded on a background thread while this one is inferred
  (:class:`~edgeseg.edge_runtime.streaming.FrameStream` with prefetch).
- **real time** (a live source, or a file with ``realtime=True`` paced at its own timestamps):
  a :class:`~edgeseg.edge_runtime.live.LiveFeed` keeps only the newest frame; stale frames are
  dropped and counted, never queued, and each frame's latency runs from its arrival (or due)
  time to its mask.

Temporal smoothing is the stream's (``smoothing``). Outputs (overlay video, per-frame CSV,
masks, ``summary.json`` last) are :class:`~edgeseg.edge_runtime.outputs.StreamOutputs`; the
stability summary is :class:`~edgeseg.edge_runtime.stability.Stability`. Nothing printed or
written carries a header value: the source's display name is already free of patient data.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseg.edge_runtime.live import Clock, LiveFeed
from edgeseg.edge_runtime.outputs import StreamOutputs
from edgeseg.edge_runtime.predict import Progress, ProgressEvent, _emit, _open_segmenter
from edgeseg.edge_runtime.segmenter import Segmenter
from edgeseg.edge_runtime.sources.base import FrameSource, SourceFrame
from edgeseg.edge_runtime.stability import Stability
from edgeseg.errors import ConfigError, DataError
from edgeseg.io import check_not_overlapping, check_output_folder


@dataclass
class LiveSummary:
    """What a stream did. ``mode``: ``every frame``, ``real time`` (a paced file) or ``live``.

    ``received``: frames the source gave; ``processed`` + ``skipped`` (unreadable) +
    ``dropped`` (stale, real-time modes only) = ``received``, except that a capture device's
    ``dropped`` also counts the frames its own reader never handed over. ``latency_*``: a
    frame's arrival (live), due time (paced file) or hand-over by the source (every frame) ->
    its mask.
    ``frame_ms_mean``: the loop's time per processed frame; ``invoke_mean_ms``: the model's
    share. ``complete``: the whole source was processed; otherwise ``stopped`` says why.
    """

    source: str
    mode: str
    frames: int | None
    received: int = 0
    processed: int = 0
    skipped: int = 0
    dropped: int = 0
    skipped_sources: list[str] = field(default_factory=list)
    fps: float = 0.0
    wall_s: float = 0.0
    latency_mean_ms: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    frame_ms_mean: float = 0.0
    invoke_mean_ms: float = 0.0
    smoothing: float = 0.0
    complete: bool = False
    stopped: str = ""
    stability: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    out_dir: str | None = None
    written: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    dicom_seg: str | None = None  # the DICOM SEG written (only when asked for, only if complete)

    def line(self) -> str:
        """One line for the end of the command (no header values: the source's name is safe)."""
        text = (
            f"streamed {self.processed} frames of {self.source} at {self.fps:.1f} FPS "
            f"({self.mode}, {self.info.get('backend', '?')}/{self.info.get('delegate', '?')}; "
            f"latency p50 {self.latency_p50_ms:.1f} ms, p99 {self.latency_p99_ms:.1f} ms; "
            f"invoke {self.invoke_mean_ms:.1f} ms/frame; dropped {self.dropped})"
        )
        for name, cls in self.stability.get("classes", {}).items():
            if cls["dice_mean"] is not None:
                text += (
                    f"; {name} frame-to-frame Dice {cls['dice_mean']:.3f}, {cls['flicker']} flicker"
                )
        if self.skipped:
            text += f"; skipped {self.skipped} unreadable (first: {self.skipped_sources[0]})"
        if self.out_dir:
            text += f"; wrote {', '.join(Path(p).name for p in self.written)} to {self.out_dir}"
        if self.dicom_seg:
            text += f"; DICOM SEG {self.dicom_seg}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def open_frames(source: str | Path | FrameSource, frame_rate: float | None = None) -> FrameSource:
    """A FrameSource as given, or :func:`~edgeseg.edge_runtime.sources.open_source` of a spec.

    ``frame_rate`` (``--fps``) is for the sources that carry none: a folder, a TIFF, a device.
    """
    if not isinstance(source, (str, Path)):
        return source
    from edgeseg.edge_runtime.sources import TIFF_SUFFIXES, is_device, open_source

    if frame_rate is None:
        return open_source(source)
    if not frame_rate > 0:
        raise ConfigError(f"--fps {frame_rate}: must be above 0 frames per second")
    path = Path(source)
    if is_device(source) or path.is_dir() or path.suffix.lower() in TIFF_SUFFIXES:
        return open_source(source, frame_rate=frame_rate)
    raise ConfigError(
        f"--fps {frame_rate:g}: only for a folder, a TIFF or a device; {path.name} carries its "
        "own frame rate: drop --fps"
    )


def stream_source(
    model: Path | str | Segmenter,
    source: str | Path | FrameSource,
    *,
    out_dir: Path | str | None = None,
    realtime: bool = False,
    overlay_video: bool = True,
    masks: bool = False,
    smoothing: float = 0.0,
    limit: int | None = None,
    prefetch: bool = True,
    frame_rate: float | None = None,
    progress: Progress | None = None,
    on_note: Callable[[str], None] | None = None,
    clock: Clock | None = None,
    backend: str = "auto",
    delegate: str = "auto",
    threads: int | None = None,
    input_size: int | str | Sequence[int] | None = None,
    dicom_seg: Path | str | None = None,
    **overrides: Any,
) -> LiveSummary:
    """Segment ``source`` (a path/device spec or an open FrameSource) frame by frame.

    With ``out_dir``: ``overlay.mp4`` (``overlay_video``), ``frames.csv``, ``masks/``
    (``masks``) and ``summary.json`` last (see :mod:`~edgeseg.edge_runtime.outputs`); an
    interrupted or failed stream keeps a playable video and a CSV up to its last frame, and
    its summary says ``"complete": false``. ``frame_rate``: for a folder, TIFF or device (see
    :func:`open_frames`); ``on_note(line)`` gets the source's warnings (e.g. burned-in
    annotation) before the first frame. ``overrides`` go to :class:`Segmenter`. A failing
    source raises a DataError that says how many frames were processed and kept.
    ``dicom_seg``: also write the masks as a DICOM Segmentation of a DICOM ``source``
    (:mod:`~edgeseg.edge_runtime.dicom_seg`; it carries the patient's identity, by the
    standard), before ``summary.json`` and only when the whole stream completed.
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be 1 or more frames")
    if not 0.0 <= smoothing < 1.0:
        raise ConfigError(f"--smoothing {smoothing}: must be in [0, 1) (0 = off)")
    out = None if out_dir is None else check_output_folder(Path(out_dir), "--out")
    if out is not None and isinstance(source, (str, Path)) and Path(source).exists():
        check_not_overlapping(out, {"--source": Path(source)})
    seg = _open_segmenter(
        model,
        backend=backend,
        delegate=delegate,
        threads=threads,
        input_size=input_size,
        **overrides,
    )
    seg_writer = None
    if dicom_seg is not None:
        from edgeseg.edge_runtime.dicom_seg import DicomSegWriter

        if not isinstance(source, (str, Path)):
            raise ConfigError("--dicom-seg needs --source to be the DICOM file's path")
        seg_writer = DicomSegWriter(source, dicom_seg, seg.contract.classes)
    clock = clock or Clock()
    with open_frames(source, frame_rate) as src:
        notes = list(src.notes)
        if realtime and not src.live and src.frame_rate is None:
            notes.append(
                f"{src.name} carries no frame rate: --realtime plays one frame per second of its "
                "index; pass --fps to give it one"
            )
        for note in notes:
            if on_note is not None:
                on_note(note)
        live = bool(src.live)
        mode = "live" if live else ("real time" if realtime else "every frame")
        summary = LiveSummary(
            source=src.name,
            mode=mode,
            frames=src.frame_count if limit is None else min(limit, src.frame_count or limit),
            smoothing=smoothing,
            notes=notes,
            info=seg.describe(),
            out_dir=None if out is None else str(out),
        )
        outputs = (
            None
            if out is None
            else StreamOutputs(
                out,
                seg.contract.classes,
                frame_rate=src.frame_rate,
                overlay_video=overlay_video,
                masks=masks,
            )
        )
        paced = live or realtime
        _run(seg, src, summary, outputs, paced, limit, prefetch, progress, clock, seg_writer)
    return summary


def _run(
    seg: Segmenter,
    src: FrameSource,
    summary: LiveSummary,
    outputs: StreamOutputs | None,
    use_feed: bool,
    limit: int | None,
    prefetch: bool,
    progress: Progress | None,
    clock: Clock,
    seg_writer: Any = None,
) -> None:
    """The loop of :func:`stream_source`; fills ``summary`` and writes it last, even on failure."""
    frames: Iterator[SourceFrame] = itertools.islice(iter(src), limit)
    feed = LiveFeed(frames, paced=not src.live, clock=clock) if use_feed else None
    taken: deque[tuple[SourceFrame, float]] = deque()  # frames handed to the stream, in order
    stability = Stability(seg.contract.class_names)
    latencies: list[float] = []
    frame_ms: list[float] = []
    invokes: list[float] = []
    total = summary.frames

    def images() -> Iterator[np.ndarray]:
        if feed is not None:
            for arrival in feed:
                taken.append((arrival.frame, arrival.due))
                yield arrival.frame.image
            return
        for frame in frames:
            taken.append((frame, clock.now()))
            summary.received += 1
            yield frame.image

    def skipped(_name: str, reason: str) -> None:
        frame, _due = taken.popleft()
        name = f"frame {frame.index}"
        summary.skipped_sources.append(name)
        _emit(progress, ProgressEvent(frame.index, total, name, False, f"{name}: {reason}"))

    started = time.perf_counter()
    stream = seg.stream(
        images(), smoothing=summary.smoothing, on_skip=skipped, prefetch=prefetch and not feed
    )
    try:
        with contextlib.ExitStack() as stack:
            if outputs is not None:
                stack.enter_context(outputs)
            if feed is not None:
                stack.enter_context(feed)
            stack.enter_context(stream)
            for result in stream:
                frame, due = taken.popleft()
                latency = (clock.now() - due) * 1000.0
                latencies.append(latency)
                frame_ms.append(result.timings["frame_ms"])
                invokes.append(result.timings["invoke_ms"])
                stability.add(result.mask_model)
                if outputs is not None:
                    outputs.add(result, frame.index, frame.timestamp_s, latency)
                if seg_writer is not None:
                    seg_writer.add(frame.index, result.mask)
                event = ProgressEvent(
                    frame.index, total, f"frame {frame.index}", True, total_ms=latency
                )
                _emit(progress, event)
        if seg_writer is not None:
            summary.dicom_seg = str(seg_writer.write())
        summary.complete = True
    except KeyboardInterrupt:
        summary.stopped = "interrupted"
        raise
    except DataError as exc:
        summary.stopped = str(exc)
        kept = "" if outputs is None else f" (kept in {outputs.out_dir}, marked incomplete)"
        raise DataError(f"stopped after {stream.processed} frames{kept}: {exc}") from exc
    except BaseException as exc:
        summary.stopped = f"failed: {type(exc).__name__}"
        raise
    finally:
        summary.wall_s = time.perf_counter() - started
        summary.processed = stream.processed
        summary.skipped = stream.skipped
        if feed is not None:
            summary.received = feed.received
            summary.dropped = feed.dropped
        # a device's own reader keeps only its newest frame too: its drops count as well
        summary.dropped += int(getattr(src, "dropped", 0) or 0)
        summary.fps = summary.processed / summary.wall_s if summary.wall_s > 0 else 0.0
        summary.latency_mean_ms = float(np.mean(latencies)) if latencies else 0.0
        summary.latency_p50_ms = _percentile(latencies, 50)
        summary.latency_p99_ms = _percentile(latencies, 99)
        summary.frame_ms_mean = float(np.mean(frame_ms)) if frame_ms else 0.0
        summary.invoke_mean_ms = float(np.mean(invokes)) if invokes else 0.0
        summary.stability = stability.summary()
        if outputs is not None:
            summary.written = [str(p) for p in outputs.close()] + [str(outputs.summary_path)]
            outputs.finish(summary.as_dict())


__all__ = ["LiveSummary", "open_frames", "stream_source"]
