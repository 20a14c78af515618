"""A live capture device (V4L2 capture card or webcam, ``/dev/video0``) through PyAV.

Why PyAV: it is already the ``video`` extra (FFmpeg's ``v4l2`` input inside its wheel), so a
capture card needs no OpenCV and no system FFmpeg, and its frames decode (raw YUYV or MJPEG)
with the same code as video files. A reader thread pulls frames as the device delivers them and
keeps only the newest: a consumer slower than the device gets the latest frame, never a queue,
and ``dropped`` counts the frames it never saw (their indices are skipped). A device that does
not exist is a DataError before anything starts; one that fails, vanishes or stalls
mid-stream ends the iteration with a DataError saying how many frames came.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edgeseg.edge_runtime.sources.base import SourceBase, SourceFrame
from edgeseg.edge_runtime.sources.video import GRAY_FORMATS
from edgeseg.errors import DataError
from edgeseg.extras import require

DEVICE_FORMAT = "v4l2"  # FFmpeg's video4linux2 input
STALL_TIMEOUT_S = 5.0  # no frame for this long: the device is considered gone


def device_options(
    size: tuple[int, int] | None, frame_rate: float | None, input_format: str | None
) -> dict[str, str]:
    """FFmpeg v4l2 options: ``video_size`` WxH from (height, width), ``framerate``, and
    ``input_format`` (e.g. ``mjpeg`` for cards that send MJPEG at full rate)."""
    options = {}
    if size is not None:
        options["video_size"] = f"{int(size[1])}x{int(size[0])}"
    if frame_rate is not None:
        options["framerate"] = f"{float(frame_rate):g}"
    if input_format:
        options["input_format"] = input_format
    return options


class _Newest:
    """A one-slot mailbox: the reader overwrites, the consumer takes; counts overwritten frames."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.frame: tuple[Any, int, float] | None = None
        self.captured = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self.ended = False

    def put(self, image: Any, when: float) -> None:
        with self.cond:
            if self.frame is not None:
                self.dropped += 1
            self.frame = (image, self.captured, when)
            self.captured += 1
            self.cond.notify()

    def finish(self, error: BaseException | None = None) -> None:
        with self.cond:
            self.error, self.ended = error, True
            self.cond.notify()

    def take(self, timeout: float) -> tuple[Any, int, float] | None:
        """The newest frame; None at the end; TimeoutError when none came for ``timeout``."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.frame is not None or self.ended, timeout):
                raise TimeoutError
            frame, self.frame = self.frame, None
            return frame


class DeviceSource(SourceBase):
    """Frames of a capture device as they arrive, newest first, none queued.

    ``size`` (height, width), ``frame_rate`` and ``input_format`` are asked of the device (it
    may pick the nearest it supports); ``opener`` replaces ``av.open`` (a test double: it gets
    the device path, ``format`` and ``options``). Timestamps are seconds on the capture clock
    since the first frame arrived.
    """

    def __init__(
        self,
        device: str,
        size: tuple[int, int] | None = None,
        frame_rate: float | None = None,
        input_format: str | None = None,
        opener: Callable[..., Any] | None = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        av = require("av", "reading a capture device")
        self.device = str(device)
        if not os.path.exists(self.device):
            raise DataError(
                f"{self.device}: no capture device there (is the card plugged in? "
                "`ls /dev/video*` lists the devices)"
            )
        self.name = Path(self.device).name
        self.live = True
        self.frame_count = None
        self.notes = []
        self.dropped = 0
        self.stall_timeout_s = float(stall_timeout_s)
        self._errors = (av.error.FFmpegError, OSError, ValueError)
        open_ = opener if opener is not None else av.open
        try:
            self._container = open_(
                self.device,
                format=DEVICE_FORMAT,
                options=device_options(size, frame_rate, input_format),
            )
        except self._errors as exc:
            raise DataError(
                f"{self.device}: cannot open the capture device ({exc.__class__.__name__}): "
                "in use by another program, no permission, or not a video device"
            ) from exc
        if not self._container.streams.video:
            self._container.close()
            raise DataError(f"{self.device}: the device delivers no video stream")
        stream = self._container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or frame_rate
        self.frame_rate = float(rate) if rate else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mailbox = _Newest()

    def _read(self) -> None:
        """Reader thread: decode every frame the device sends, keep the newest."""
        stream = self._container.streams.video[0]
        gray = stream.codec_context.pix_fmt in GRAY_FORMATS
        start = None
        try:
            for frame in self._container.decode(stream):
                now = time.monotonic()
                start = now if start is None else start
                image = frame.to_ndarray(format="gray" if gray else "rgb24")
                self._mailbox.put(image, now - start)
                if self._stop.is_set():
                    break
        except BaseException as exc:  # any failure ends the capture; the consumer reports it
            self._mailbox.finish(exc)
            return
        self._mailbox.finish(None)

    def __iter__(self) -> Iterator[SourceFrame]:
        if self._thread is not None:
            raise DataError(f"{self.device}: a live source is read once; open it again")
        self._thread = threading.Thread(target=self._read, name="edgeseg-capture", daemon=True)
        self._thread.start()
        delivered = 0
        try:
            while True:
                try:
                    item = self._mailbox.take(self.stall_timeout_s)
                except TimeoutError:
                    raise DataError(
                        f"{self.device}: no frame for {self.stall_timeout_s:g} s after "
                        f"{delivered} frames: the device stalled or was unplugged"
                    ) from None
                self.dropped = self._mailbox.dropped
                if item is None:
                    break
                image, index, when = item
                yield SourceFrame(image, index, when, self.name)
                delivered += 1
            error = self._mailbox.error
            if error is not None:
                raise DataError(
                    f"{self.device}: capture stopped after {delivered} frames "
                    f"({error.__class__.__name__}): the device failed or was unplugged; "
                    "what was processed is kept"
                ) from error
            if self.device.startswith("/dev/"):
                raise DataError(
                    f"{self.device}: the device stopped sending after {delivered} frames"
                )
        finally:
            self._stop.set()

    def close(self) -> None:
        """Stop the reader (it finishes the frame in hand) and release the device."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=max(1.0, self.stall_timeout_s))
        if self._thread is None or not self._thread.is_alive():
            self._container.close()
