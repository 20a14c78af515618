"""What a stream writes: an overlay video, a per-frame CSV, masks, and ``summary.json`` last.

Written so that an interruption (Ctrl-C, a source that fails mid-stream) keeps what was done:

- ``overlay.mp4`` (H.264 through PyAV, the contract's overlay on each processed frame at its
  own timestamp) is encoded into ``.overlay.mp4.partial`` and renamed to ``overlay.mp4`` only
  after the encoder was flushed and the container closed, which happens on success and on
  failure alike: an ``overlay.mp4`` is always a finished, playable file.
- ``frames.csv`` gets one flushed row per frame as soon as the frame is done (index,
  timestamp, presence score, mask area and centroid per class, latency), so it is complete up
  to the last frame processed.
- ``masks/frame_NNNNNN_mask.png`` (with ``--masks``), each written atomically.
- ``summary.json`` is written last, atomically, with ``"complete": true`` only when the whole
  source was processed; an interrupted or failed run says ``false`` and why. A stale
  ``summary.json`` is removed before anything else is written (then the earlier stream's
  video and masks), so a folder without one (a ``kill -9``) is never taken for a finished run.

Names come from the frame's index, never from the source's name or a header value.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import queue
import threading
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import numpy as np

from edgeseg.contract import ClassInfo
from edgeseg.edge_runtime.predict import write_result
from edgeseg.edge_runtime.streaming import Result
from edgeseg.extras import require
from edgeseg.io import check_output_folder, write_text_atomic
from edgeseg.postprocess import overlay

VIDEO_NAME = "overlay.mp4"
CSV_NAME = "frames.csv"
MASKS_DIR = "masks"
SUMMARY_NAME = "summary.json"
VIDEO_OPTIONS = {"preset": "ultrafast", "tune": "zerolatency", "crf": "23"}
_MS = Fraction(1, 1000)
WRITER_THREAD_NAME = "edgeseg-video-writer"
BOX_GRID = 32  # the overlay's painted box: on this grid of pixels (even)
SWS_CACHE = 16  # libswscale converters kept, one per box size


def mask_stem(index: int) -> str:
    """The file stem of frame ``index``'s outputs: ``frame_000042``."""
    return f"frame_{index:06d}"


class OverlayPainter:
    """The contract's overlay (:func:`edgeseg.postprocess.overlay`) as one lookup per pixel.

    Each class's colour blended over every gray level is computed once, by the overlay function
    itself on a 0..255 ramp, so the bytes are the contract's; painting a frame is then a table
    lookup on its mask pixels instead of the blend arithmetic on every pixel. ``bgr=True`` gives
    the channels in the order the video encoder converts fastest.
    """

    def __init__(self, colors: Sequence[Sequence[int]]) -> None:
        ramp = np.arange(256, dtype=np.uint8)[None, :]
        full = np.ones((1, 256, 1), dtype=np.uint8)
        self.tables = [overlay(ramp, full, [color])[0] for color in colors]  # 256x3 each
        # gray's own 256 rows, then each class's: row ``256 * (c + 1) + level``
        self._rgb = np.concatenate([np.repeat(ramp[0][:, None], 3, axis=1), *self.tables])
        self._bgr = np.ascontiguousarray(self._rgb[:, ::-1])

    def __call__(self, gray: np.ndarray, mask: np.ndarray, bgr: bool = False) -> np.ndarray:
        """HxW uint8 gray + HxWxC {0,1} mask -> HxWx3 uint8 (RGB, or BGR)."""
        out = np.repeat(gray[..., None], 3, axis=2)
        on = mask > 0
        rows = np.flatnonzero(on.any(axis=(1, 2)))
        if rows.size == 0:
            return out
        cols = np.flatnonzero(on[rows[0] : rows[-1] + 1].any(axis=(0, 2)))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        # only the masks' bounding box is looked at: each pixel's row of the table (a later
        # class over an earlier one), then one lookup
        level = gray[box]
        row = level.astype(np.uint16)
        for c in range(len(self.tables)):
            np.copyto(row, level + np.uint16(256 * (c + 1)), where=on[box + (c,)])
        out[box] = (self._bgr if bgr else self._rgb).take(row.astype(np.intp), axis=0)
        return out


def _planes(frame: Any) -> list[np.ndarray]:
    """Writable HxW views of a VideoFrame's planes (line padding cut off)."""
    return [
        np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in frame.planes
    ]


class YuvOverlay:
    """The overlay as the yuv420p planes libswscale makes of it, without painting every pixel.

    The encoder takes yuv420p: the painted BGR frame used to be converted by libswscale, whose
    unscaled BGR -> yuv420p conversion gives each pixel's Y from that pixel alone and each
    2x2 block's U and V from that block alone (for a gray block, from the sum of its four
    levels). So the gray part of a frame is two table lookups (Y per level, U/V per block sum;
    the tables are libswscale's own output on ramps) and only the mask's bounding box (widened
    to a grid of ``BOX_GRID`` pixels, so that few sizes occur) is painted and converted by
    libswscale. :meth:`check` compares the result with
    libswscale's conversion of the whole painted frame; :class:`OverlayVideo` falls back to
    that conversion when the two differ (another FFmpeg build), so the video's frames are the
    same either way.
    """

    def __init__(self, av: Any, painter: OverlayPainter) -> None:
        self.av = av
        self.painter = painter
        self._sws: dict[tuple[int, int], Any] = {}  # a converter per size: each keeps its setup
        levels = np.arange(256, dtype=np.uint8)
        # Y per gray level: 2x2 blocks of one level each
        y, _u, _v = self.sws_planes(np.repeat(np.repeat(levels[None, :], 2, 0), 2, 1))
        self.y_table = np.ascontiguousarray(y[0, ::2])
        # the same for two pixels at once: entry k holds the Y of the two bytes of uint16 k
        pairs = np.arange(1 << 16, dtype=np.uint16).view(np.uint8).reshape(-1, 2)
        self.y_pair_table = self.y_table[pairs].view(np.uint16).ravel()
        # U, V per 2x2 block sum 0..1020: (s % 4) pixels at s // 4 + 1, the others at s // 4
        sums = np.arange(1021)
        block = np.repeat((sums // 4)[None, None, :], 4, 0).reshape(4, -1)
        block = (block + (np.arange(4)[:, None] < (sums % 4)[None, :])).astype(np.uint8)
        blocks = block.reshape(2, 2, -1).transpose(0, 2, 1).reshape(2, -1)
        _y, u, v = self.sws_planes(blocks)
        self.u_table, self.v_table = u[0].copy(), v[0].copy()

    def sws_planes(self, gray: np.ndarray, bgr: np.ndarray | None = None) -> list[np.ndarray]:
        """libswscale's yuv420p planes of a gray frame (or of ``bgr``, a painted one)."""
        if bgr is None:
            bgr = np.repeat(gray[..., None], 3, axis=2)
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
        size = gray.shape[:2]
        if size not in self._sws:
            if len(self._sws) >= SWS_CACHE:
                self._sws.clear()
            self._sws[size] = self.av.video.reformatter.VideoReformatter()
        return [p.copy() for p in _planes(self._sws[size].reformat(frame, format="yuv420p"))]

    def frame(self, gray: np.ndarray, mask: np.ndarray) -> Any:
        """The yuv420p VideoFrame of the overlay (even HxW gray, HxWxC mask)."""
        h, w = gray.shape
        out = self.av.VideoFrame(w, h, "yuv420p")
        y, u, v = _planes(out)
        gray = np.ascontiguousarray(gray)  # two pixels per lookup (even width)
        np.take(self.y_pair_table, gray.view(np.uint16), out=y.view(np.uint16), mode="clip")
        pairs = gray[0::2].astype(np.uint16)
        pairs += gray[1::2]
        sums = pairs[:, 0::2] + pairs[:, 1::2]
        np.take(self.u_table, sums, out=u, mode="clip")
        np.take(self.v_table, sums, out=v, mode="clip")
        flat = mask.reshape(h, -1)
        rows = np.flatnonzero(flat.any(axis=1))
        if rows.size:  # the box on a grid of BOX_GRID (even): a few sizes, each set up once
            r0, r1 = (
                rows[0] // BOX_GRID * BOX_GRID,
                min(-(-(rows[-1] + 1) // BOX_GRID) * BOX_GRID, h),
            )
            cols = np.flatnonzero(mask[r0:r1].any(axis=(0, 2)))
            c0, c1 = (
                cols[0] // BOX_GRID * BOX_GRID,
                min(-(-(cols[-1] + 1) // BOX_GRID) * BOX_GRID, w),
            )
            box = (slice(r0, r1), slice(c0, c1))
            half = (slice(r0 // 2, r1 // 2), slice(c0 // 2, c1 // 2))
            by, bu, bv = self.sws_planes(gray[box], self.painter(gray[box], mask[box], bgr=True))
            y[box], u[half], v[half] = by, bu, bv
        return out

    def check(self, height: int, width: int, classes: int, seed: int = 0) -> bool:
        """Whether :meth:`frame` gives libswscale's planes of the painted frame, on a random
        gray frame of this size with masks of every class (blocks at odd and even edges)."""
        rng = np.random.default_rng(seed)
        gray = rng.integers(0, 256, (height, width), dtype=np.uint8)
        boxes = np.zeros((height, width, classes), np.uint8)
        for c in range(classes):
            for _ in range(3):
                r, q = rng.integers(0, height, 2), rng.integers(0, width, 2)
                boxes[min(r) : max(r) + 1, min(q) : max(q) + 1, c] = 1
        noise = boxes | (rng.random((height, width, classes)) < 0.02).astype(np.uint8)
        for mask in (np.zeros_like(boxes), boxes, noise):
            want = self.sws_planes(gray, self.painter(gray, mask, bgr=True))
            got = _planes(self.frame(gray, mask))
            if not all(np.array_equal(a, b) for a, b in zip(want, got, strict=True)):
                return False
        return True


class VideoWriterThread:
    """Paint and encode on one background thread, at most ``depth`` frames behind.

    :meth:`put` hands a frame over (waiting while ``depth`` frames are still to encode, so no
    queue grows); :meth:`close` encodes what was handed over, then finalizes the video. An
    error on the thread is raised by the next :meth:`put` or by :meth:`close`.
    """

    def __init__(self, video: OverlayVideo, painter: OverlayPainter, depth: int = 2) -> None:
        self.video = video
        self.painter = painter
        self._queue: queue.Queue[tuple[np.ndarray, np.ndarray, float] | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=WRITER_THREAD_NAME, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain after a failure
            gray, mask, timestamp_s = item
            try:
                self.video.write_overlay(gray, mask, self.painter, timestamp_s)
            except BaseException as exc:  # raised on the caller's thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, gray: np.ndarray, mask: np.ndarray, timestamp_s: float) -> None:
        self._raise()
        self._queue.put((gray, mask, timestamp_s))

    def close(self) -> Path | None:
        """Encode what was handed over, finalize the video; its path (None: no frame)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        try:
            self._raise()
        finally:
            done = self.video.close()
        return done


class OverlayVideo:
    """H.264 MP4 of RGB frames at their timestamps; a playable ``path`` once :meth:`close`\\ d.

    The size is taken from the first frame (odd sizes padded by one edge row/column: yuv420p
    needs even ones); ``frame_rate`` is the nominal rate written in the header (30 if unknown).
    """

    def __init__(self, path: Path, frame_rate: float | None) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.frame_rate = frame_rate or 30.0
        self.frames = 0
        self._av = require("av", "writing the overlay video")
        self._container: Any = None
        self._stream: Any = None
        self._last_pts = -1
        self._yuv: YuvOverlay | bool | None = None  # None: not tried yet; False: not exact

    def _open(self, height: int, width: int) -> None:
        self._container = self._av.open(str(self.partial), mode="w", format="mp4")
        rate = Fraction(self.frame_rate).limit_denominator(1001)
        stream = self._container.add_stream("libx264", rate=rate, options=dict(VIDEO_OPTIONS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = _MS
        self._stream = stream

    def write(self, rgb: np.ndarray, timestamp_s: float, bgr: bool = False) -> None:
        """Encode one HxWx3 uint8 frame (RGB, or BGR: ``bgr``, libswscale's fast path to
        yuv420p) shown at ``timestamp_s`` (kept strictly increasing)."""
        h, w = rgb.shape[:2]
        if h % 2 or w % 2:
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        if self._container is None:
            self._open(rgb.shape[0], rgb.shape[1])
        fmt = "bgr24" if bgr else "rgb24"
        self._encode(
            self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=fmt), timestamp_s
        )

    def write_overlay(
        self, gray: np.ndarray, mask: np.ndarray, painter: OverlayPainter, timestamp_s: float
    ) -> None:
        """Encode ``painter(gray, mask)`` shown at ``timestamp_s``: the same frame as
        :meth:`write` of the painted BGR frame, built as yuv420p directly (:class:`YuvOverlay`)
        where that gives libswscale's planes, else painted and converted as by :meth:`write`."""
        h, w = gray.shape
        if h % 2 or w % 2:  # painting is per pixel: padding gray and mask pads the overlay
            gray = np.pad(gray, ((0, h % 2), (0, w % 2)), mode="edge")
            mask = np.pad(mask, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        if self._container is None:
            self._open(gray.shape[0], gray.shape[1])
        if self._yuv is None:
            yuv = YuvOverlay(self._av, painter)
            self._yuv = yuv if yuv.check(gray.shape[0], gray.shape[1], mask.shape[2]) else False
        if self._yuv is False or self._yuv.painter is not painter:
            self.write(painter(gray, mask, bgr=True), timestamp_s, bgr=True)
            return
        self._encode(self._yuv.frame(gray, mask), timestamp_s)

    def _encode(self, frame: Any, timestamp_s: float) -> None:
        pts = max(int(round(timestamp_s * 1000.0)), self._last_pts + 1)
        frame.pts, frame.time_base = pts, _MS
        self._last_pts = pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path | None:
        """Flush and finalize; the file becomes ``path``. None when no frame was written."""
        if self._container is None:
            return None
        container, self._container = self._container, None
        try:
            for packet in self._stream.encode():
                container.mux(packet)
        finally:
            container.close()
        os.replace(self.partial, self.path)
        return self.path


def csv_columns(classes: Sequence[str]) -> list[str]:
    """The CSV header: index, timestamp, presence, per class area and centroid, latency."""
    cols = ["index", "timestamp_s", "presence"]
    for name in classes:
        cols += [f"{name}_area_px", f"{name}_centroid_x", f"{name}_centroid_y"]
    return cols + ["latency_ms"]


def frame_row(result: Result, index: int, timestamp_s: float, latency_ms: float) -> list[Any]:
    """One CSV row (areas and centroids at the frame's size; centroid empty without a mask)."""
    row: list[Any] = [
        index,
        f"{timestamp_s:.6f}",
        "" if result.presence is None else f"{result.presence:.6f}",
    ]
    for c in range(len(result.classes)):
        mask = result.mask[..., c]
        found = np.flatnonzero(mask.any(axis=1))  # the rows with a mask pixel: only those counted
        if found.size:
            top, bottom = int(found[0]), int(found[-1]) + 1
            rows = np.count_nonzero(mask[top:bottom], axis=1)  # per row; the columns' below
            cols = np.count_nonzero(mask[top:bottom], axis=0)
            area = int(rows.sum())
            cx = float(cols @ np.arange(cols.size)) / area
            cy = float(rows @ np.arange(top, bottom)) / area
            row += [area, f"{cx:.2f}", f"{cy:.2f}"]
        else:
            row += [0, "", ""]
    return row + [f"{latency_ms:.3f}"]


class StreamOutputs:
    """The output folder of one stream (see the module docstring); use as a context manager.

    :meth:`add` writes one processed frame; :meth:`finish` closes the video and the CSV and
    writes ``summary.json`` last. Leaving the ``with`` block without :meth:`finish` (an
    exception) still finalizes the video and the CSV, and writes no summary.
    """

    def __init__(
        self,
        out_dir: Path,
        classes: Sequence[ClassInfo],
        *,
        frame_rate: float | None,
        overlay_video: bool = True,
        masks: bool = False,
    ) -> None:
        self.out_dir = check_output_folder(Path(out_dir), "--out")
        self.classes = [c.name for c in classes]
        self.painter = OverlayPainter([c.color for c in classes])
        self.frame_rate = frame_rate
        self.want_video = overlay_video
        self.want_masks = masks
        self.video: VideoWriterThread | None = None
        self._csv_file: IO[str] | None = None
        self._csv: Any = None
        self.rows = 0
        self.masks_written = 0
        self.kept: list[Path] = []

    def __enter__(self) -> StreamOutputs:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # An earlier stream's outputs go first (its summary.json before all), so nothing in
        # the folder can be mistaken for part of this run.
        with contextlib.suppress(FileNotFoundError):
            (self.out_dir / SUMMARY_NAME).unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.out_dir / VIDEO_NAME).unlink()
        for old in (self.out_dir / MASKS_DIR).glob("frame_*_mask.png"):
            old.unlink()
        if self.want_video:
            video = OverlayVideo(self.out_dir / VIDEO_NAME, self.frame_rate)
            self.video = VideoWriterThread(video, self.painter)
        self._csv_file = open(self.out_dir / CSV_NAME, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(csv_columns(self.classes))
        self._csv_file.flush()
        return self

    def add(self, result: Result, index: int, timestamp_s: float, latency_ms: float) -> None:
        """Write frame ``index``: its mask PNG, its overlay to the video's thread, its CSV row."""
        if self.want_masks:
            write_result(result, self.out_dir / MASKS_DIR, mask_stem(index), overlay=False)
            self.masks_written += 1
        if self.video is not None:
            self.video.put(result.gray, result.mask, timestamp_s)
        assert self._csv is not None and self._csv_file is not None
        self._csv.writerow(frame_row(result, index, timestamp_s, latency_ms))
        self._csv_file.flush()
        self.rows += 1

    def close(self) -> list[Path]:
        """Finalize the video and close the CSV (idempotent); returns the files kept so far."""
        try:
            if self.video is not None:
                video, self.video = self.video, None
                done = video.close()
                if done is not None:
                    self.kept.append(done)
        finally:
            if self._csv_file is not None:
                self._csv_file.close()
                self._csv_file = None
                self.kept.append(self.out_dir / CSV_NAME)
                if self.masks_written:
                    self.kept.append(self.out_dir / MASKS_DIR)
        return list(self.kept)

    @property
    def summary_path(self) -> Path:
        return self.out_dir / SUMMARY_NAME

    def finish(self, summary: dict[str, Any]) -> Path:
        """Close everything, then write ``summary.json`` (the run's last file)."""
        self.close()
        return write_text_atomic(
            self.summary_path, json.dumps(summary, indent=2, sort_keys=True) + "\n"
        )

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "CSV_NAME",
    "MASKS_DIR",
    "SUMMARY_NAME",
    "VIDEO_NAME",
    "OverlayVideo",
    "StreamOutputs",
    "csv_columns",
    "frame_row",
    "mask_stem",
]
