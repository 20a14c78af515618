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

    def __call__(self, gray: np.ndarray, mask: np.ndarray, bgr: bool = False) -> np.ndarray:
        """HxW uint8 gray + HxWxC {0,1} mask -> HxWx3 uint8 (RGB, or BGR)."""
        out = np.dstack((gray, gray, gray))
        for c, table in enumerate(self.tables):
            on = mask[..., c] > 0
            rows = np.flatnonzero(on.any(axis=1))
            if rows.size == 0:
                continue
            cols = np.flatnonzero(on.any(axis=0))
            box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            inside = on[box]  # only the mask's bounding box is looked at
            out[box][inside] = (table[:, ::-1] if bgr else table)[gray[box][inside]]
        return out


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
                self.video.write(self.painter(gray, mask, bgr=True), timestamp_s, bgr=True)
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
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=fmt)
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
        rows = np.count_nonzero(mask, axis=1)  # per row; the columns' counts below
        area = int(rows.sum())
        if area:
            cols = np.count_nonzero(mask, axis=0)
            cx = float(cols @ np.arange(cols.size)) / area
            cy = float(rows @ np.arange(rows.size)) / area
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
