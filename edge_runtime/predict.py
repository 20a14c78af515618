"""The functions behind ``edgeseg predict`` and ``edgeseg stream``.

``predict`` writes ``<stem>_mask.png`` (palette PNG whose pixel values are the class values) and
``<stem>_overlay.png`` per image, each atomically. ``stream`` runs a folder of frames in natural
sorted order and reports frames per second; by default it decodes and preprocesses the next frame
on a background thread while the current one is inferred (``prefetch=False``: one frame at a time).
Neither prints: pass ``progress`` to follow along.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeseg.edge_runtime.frame_files import is_frame_file, items
from edgeseg.edge_runtime.segmenter import Result, Segmenter
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import IMAGE_SUFFIXES
from edgeseg.io import atomic_path, check_not_overlapping, check_output_folder

MASK_SUFFIX = "_mask.png"
OVERLAY_SUFFIX = "_overlay.png"


@dataclass(frozen=True)
class ProgressEvent:
    """One image/frame done: ``ok`` False means it was skipped, ``message`` says why."""

    index: int
    total: int | None
    source: str
    ok: bool
    message: str = ""
    total_ms: float | None = None


Progress = Callable[[ProgressEvent], None]


@dataclass
class PredictSummary:
    """What ``predict`` did: files written, images that failed, timing, the model it used."""

    model: str
    out_dir: str
    images: int
    written: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    mean_ms: float = 0.0
    wall_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    dicom_seg: str | None = None  # the DICOM SEG written, only when asked for

    def line(self) -> str:
        """One line for the end of the command."""
        done = self.images - len(self.failed)
        text = (
            f"segmented {done}/{self.images} images in {self.wall_s:.1f} s "
            f"({self.mean_ms:.1f} ms/image, {self.info.get('backend', '?')}/"
            f"{self.info.get('delegate', '?')}): wrote {len(self.written)} files to {self.out_dir}"
        )
        if self.failed:
            text += f"; {len(self.failed)} unreadable (first: {self.failed[0][0]})"
        if self.dicom_seg:
            text += f"; DICOM SEG {self.dicom_seg}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StreamSummary:
    """What ``stream`` did: frames run and skipped, throughput, per-frame time and latency.

    ``mean_ms`` / ``p50_ms`` / ``p90_ms``: the stream's per-frame time (``Result.timings
    ["frame_ms"]``: waiting for the frame's input + invoke + post-processing, as the loop sees
    it). ``latency_*``: each frame's latency from the start of its read to its result
    (``total_ms``). Without prefetch the two are the same; with it, decoding overlaps inference,
    so the per-frame time drops while a frame's latency includes its wait for the interpreter.
    ``invoke_mean_ms``: the interpreter's share of a frame; ``wait_mean_ms``: the time the
    interpreter's thread waited for a frame's input (read + decode + preprocess not hidden by
    prefetch): when it is large the stream is bound by decoding, not by the model.
    """

    model: str
    frames_dir: str
    frames: int
    processed: int
    skipped: int
    skipped_sources: list[str]
    fps: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    wall_s: float
    smoothing: float
    out_dir: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    prefetch: bool = True
    latency_mean_ms: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p90_ms: float = 0.0
    invoke_mean_ms: float = 0.0
    wait_mean_ms: float = 0.0

    def line(self) -> str:
        text = (
            f"streamed {self.processed} frames at {self.fps:.1f} FPS "
            f"({self.mean_ms:.1f} ms/frame mean, p90 {self.p90_ms:.1f} ms, "
            f"{self.info.get('backend', '?')}/{self.info.get('delegate', '?')}"
            f"{', prefetch' if self.prefetch else ', no prefetch'}); "
            f"invoke {self.invoke_mean_ms:.1f} ms/frame, waiting for input "
            f"{self.wait_mean_ms:.1f} ms/frame"
        )
        if self.skipped:
            text += f"; skipped {self.skipped} unreadable (first: {self.skipped_sources[0]})"
        if self.out_dir:
            text += f"; masks in {self.out_dir}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- helpers


def natural_key(path: Path) -> list[Any]:
    """Sort key: ``frame2`` before ``frame10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", Path(path).name)]


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (by suffix), in natural sorted order."""
    files = [p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted((p for p in files if p.is_file()), key=natural_key)


def collect_images(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, folders expanded to their image files (natural order); DataError if none."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(image_files(path))
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"image {path} not found: pass image files or folders of images")
    if not found:
        raise DataError(
            f"no images found (looked for {', '.join(IMAGE_SUFFIXES)}): pass image files or folders"
        )
    return found


def _check_unique_stems(images: Sequence[Path]) -> None:
    seen: dict[str, Path] = {}
    for path in images:
        if path.stem in seen and seen[path.stem] != path:
            raise DataError(
                f"{seen[path.stem]} and {path} would both write {path.stem}{MASK_SUFFIX}: "
                "run them into different --out folders"
            )
        seen[path.stem] = path


def _open_segmenter(model: Path | str | Segmenter, **kwargs: Any) -> Segmenter:
    return model if isinstance(model, Segmenter) else Segmenter(model, **kwargs)


def mask_image(result: Result) -> Image.Image:
    """Palette PNG image of the class values, each value coloured with its class colour."""
    img = Image.fromarray(result.label_map(), mode="P")
    palette = [0] * 768
    for cls in result.classes:
        if 0 < cls.value < 256:
            palette[3 * cls.value : 3 * cls.value + 3] = list(cls.color)
    img.putpalette(palette)
    return img


def write_result(result: Result, out_dir: Path, stem: str, overlay: bool = True) -> list[Path]:
    """Write ``<stem>_mask.png`` (and ``<stem>_overlay.png``); all or nothing, atomically."""
    out_dir = Path(out_dir)
    mask_path = out_dir / f"{stem}{MASK_SUFFIX}"
    targets = [mask_path]
    with contextlib.ExitStack() as stack:
        tmp_mask = stack.enter_context(atomic_path(mask_path))
        if overlay:
            overlay_path = out_dir / f"{stem}{OVERLAY_SUFFIX}"
            targets.append(overlay_path)
            tmp_overlay = stack.enter_context(atomic_path(overlay_path))
            Image.fromarray(result.overlay(), mode="RGB").save(tmp_overlay, format="PNG")
        mask_image(result).save(tmp_mask, format="PNG")
    return targets


# --------------------------------------------------------------------------- verbs


def predict(
    model: Path | str | Segmenter,
    images: Sequence[Path | str],
    out_dir: Path | str,
    *,
    overlay: bool = True,
    progress: Progress | None = None,
    backend: str = "auto",
    delegate: str = "auto",
    threads: int | None = None,
    input_size: int | str | Sequence[int] | None = None,
    dicom_seg: Path | str | None = None,
    **overrides: Any,
) -> PredictSummary:
    """Segment ``images`` (files or folders) and write masks and overlays into ``out_dir``.

    A video, DICOM or multi-page TIFF file gives one mask per frame, named from its frame index
    (see :mod:`~edgeseg.edge_runtime.frame_files`); ``images`` then counts frames.

    Unreadable images are reported in ``summary.failed`` (and to ``progress``) and nothing is
    written for them. ``out_dir`` may not contain, or lie inside, an input (a ground-truth
    ``a_mask.png`` beside ``a.png`` would be overwritten). ``overrides`` go to
    :class:`Segmenter` (``threshold``, ``min_area``, ``classes``, ``normalize``,
    ``strict_delegate``, ...). ``dicom_seg``: with one DICOM file as ``images``, also write
    its frames' masks as a DICOM Segmentation (:mod:`~edgeseg.edge_runtime.dicom_seg`), last.
    """
    paths = collect_images(images)
    _check_unique_stems(paths)
    check_output_folder(Path(out_dir), "--out")
    check_not_overlapping(out_dir, [("IMAGES", Path(p)) for p in images])
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

        if len(paths) != 1:
            raise ConfigError(f"--dicom-seg needs one DICOM file as input, got {len(paths)} files")
        seg_writer = DicomSegWriter(paths[0], dicom_seg, seg.contract.classes)
    out = Path(out_dir)
    summary = PredictSummary(
        model=str(seg.model_path), out_dir=str(out), images=len(paths), info=seg.describe()
    )
    started = time.perf_counter()
    times: list[float] = []
    total = None if any(p.is_file() and is_frame_file(p) for p in paths) else len(paths)
    index = -1
    with _removed_if_left_empty(out):
        for index, item in enumerate(items(paths)):
            try:
                if item.error is not None:
                    raise item.error
                result = seg.segment(item.frame)
            except DataError as exc:
                summary.failed.append((item.label, str(exc)))
                _emit(progress, ProgressEvent(index, total, item.label, False, str(exc)))
                continue
            summary.written.extend(str(p) for p in write_result(result, out, item.stem, overlay))
            if seg_writer is not None and item.frame_index is not None:
                seg_writer.add(item.frame_index, result.mask)
            times.append(result.timings["total_ms"])
            event = ProgressEvent(
                index, total, item.label, True, total_ms=result.timings["total_ms"]
            )
            _emit(progress, event)
    summary.images = index + 1
    if seg_writer is not None and seg_writer.masks:
        summary.dicom_seg = str(seg_writer.write())
    summary.wall_s = time.perf_counter() - started
    summary.mean_ms = float(np.mean(times)) if times else 0.0
    return summary


def stream(
    model: Path | str | Segmenter,
    frames_dir: Path | str,
    *,
    smoothing: float = 0.0,
    out_dir: Path | str | None = None,
    limit: int | None = None,
    overlay: bool = True,
    progress: Progress | None = None,
    prefetch: bool = True,
    backend: str = "auto",
    delegate: str = "auto",
    threads: int | None = None,
    input_size: int | str | Sequence[int] | None = None,
    **overrides: Any,
) -> StreamSummary:
    """Run every frame of ``frames_dir`` in natural sorted order, as a live feed would.

    Unreadable frames are skipped and counted. ``fps`` is processed frames over the loop's wall
    time (decode + preprocess + invoke + post-process; model loading excluded). With ``out_dir``
    the (smoothed) masks and overlays are written too. ``prefetch`` (default) decodes and
    preprocesses frame N+1 on one background thread while frame N is inferred; results are
    identical either way (``prefetch=False`` is the ``--no-prefetch`` mode).
    """
    folder = Path(frames_dir)
    if not folder.is_dir():
        state = "is a file, expected a folder" if folder.exists() else "does not exist"
        raise DataError(f"--frames {folder} {state}: pass a folder of frame images")
    if out_dir is not None:
        check_output_folder(Path(out_dir), "--out")
        check_not_overlapping(out_dir, {"--frames": folder})
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: must be 1 or more frames")
    frames = image_files(folder)
    if limit is not None:
        frames = frames[: max(0, int(limit))]
    if not frames:
        raise DataError(f"{folder} has no frames ({', '.join(IMAGE_SUFFIXES)})")
    seg = _open_segmenter(
        model,
        backend=backend,
        delegate=delegate,
        threads=threads,
        input_size=input_size,
        **overrides,
    )

    def skipped(source: str, reason: str) -> None:
        index = feed.processed + feed.skipped - 1
        _emit(progress, ProgressEvent(index, len(frames), source, False, reason))

    times: list[float] = []
    latencies: list[float] = []
    invokes: list[float] = []
    waits: list[float] = []
    started = time.perf_counter()
    guard = contextlib.nullcontext() if out_dir is None else _removed_if_left_empty(Path(out_dir))
    with guard, seg.stream(frames, smoothing=smoothing, on_skip=skipped, prefetch=prefetch) as feed:
        for result in feed:
            if out_dir is not None:
                write_result(result, Path(out_dir), Path(result.source or "frame").stem, overlay)
            times.append(result.timings["frame_ms"])
            latencies.append(result.timings["total_ms"])
            invokes.append(result.timings["invoke_ms"])
            waits.append(result.timings["wait_ms"])
            index = feed.processed + feed.skipped - 1
            event = ProgressEvent(
                index, len(frames), result.source or "", True, total_ms=latencies[-1]
            )
            _emit(progress, event)
    wall = time.perf_counter() - started
    arr = np.asarray(times) if times else np.zeros(1)
    lat = np.asarray(latencies) if latencies else np.zeros(1)
    return StreamSummary(
        model=str(seg.model_path),
        frames_dir=str(folder),
        frames=len(frames),
        processed=feed.processed,
        skipped=feed.skipped,
        skipped_sources=list(feed.skipped_sources),
        fps=feed.processed / wall if wall > 0 and feed.processed else 0.0,
        mean_ms=float(arr.mean()),
        p50_ms=float(np.percentile(arr, 50)),
        p90_ms=float(np.percentile(arr, 90)),
        wall_s=wall,
        smoothing=smoothing,
        out_dir=str(out_dir) if out_dir is not None else None,
        info=seg.describe(),
        prefetch=prefetch,
        latency_mean_ms=float(lat.mean()),
        latency_p50_ms=float(np.percentile(lat, 50)),
        latency_p90_ms=float(np.percentile(lat, 90)),
        invoke_mean_ms=float(np.mean(invokes)) if invokes else 0.0,
        wait_mean_ms=float(np.mean(waits)) if waits else 0.0,
    )


@contextlib.contextmanager
def _removed_if_left_empty(out: Path) -> Iterator[None]:
    """An output folder this call creates is removed again if it fails before writing into it."""
    created = not out.exists()
    try:
        yield
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def _emit(progress: Progress | None, event: ProgressEvent) -> None:
    if progress is not None:
        progress(event)
