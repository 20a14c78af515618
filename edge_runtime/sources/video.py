"""Video files (MP4, AVI, MOV, MKV, ...) through PyAV: frames, pts timestamps, frame-rate checks.

PyAV is the ``video`` extra: FFmpeg inside its wheel, no system codecs and no OpenCV. Frames come
out as 8-bit gray when the stream is gray, else RGB (the contract makes gray of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgeseg.edge_runtime.sources.base import SourceBase, SourceFrame
from edgeseg.edge_runtime.sources.timing import (
    frame_intervals,
    is_variable_rate,
    variable_rate_note,
)
from edgeseg.errors import DataError
from edgeseg.extras import require

GRAY_FORMATS = ("gray", "gray8", "yuvj400p")
PROBE_PACKETS = 240  # packets read at open to detect a variable frame rate


def _av_error(av: Any) -> tuple[type[BaseException], ...]:
    """The exceptions PyAV raises for a damaged or unreadable file."""
    return (av.error.FFmpegError, OSError, ValueError)


class VideoSource(SourceBase):
    """The first video stream of a file, decoded in order.

    ``frame_rate``: the stream's average rate; ``frame_count``: from the container (None when
    it does not say); a variable frame rate is detected from the first packets' timestamps and
    reported in ``notes`` (``variable_rate`` True). Each frame's ``timestamp_s`` is its pts in
    seconds relative to the first frame, so a variable-rate file keeps its real timing.
    A file that ends before the frame count its header promised raises DataError after the
    last good frame, saying how many frames came.

    ``luma=True`` hands out each frame's luma plane as full-range 8-bit gray (FFmpeg's
    conversion) instead of RGB: it skips the RGB conversion and the contract's RGB -> gray step
    (faster), and differs from the contract's gray of the RGB frame by rounding only.
    """

    def __init__(self, path: Path, threads: bool = True, luma: bool = False) -> None:
        self.av = require("av", "reading video")
        self.path = Path(path)
        self.name = self.path.name
        self.live = False
        self.notes = []
        self.threads = threads
        self.luma = luma
        self._container = self._open()
        self._used = False
        stream = self._container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.frame_rate = float(rate) if rate else None
        self.frame_count = int(stream.frames) or None
        self.size = (int(stream.codec_context.height), int(stream.codec_context.width))
        self.variable_rate = self._probe_rate()
        if self.variable_rate:
            self.notes.append(variable_rate_note(self.name, self.frame_rate))

    def _open(self) -> Any:
        av = self.av
        if not self.path.is_file():
            raise DataError(f"{self.path}: file not found")
        try:
            container = av.open(str(self.path), mode="r")
        except _av_error(av) as exc:
            raise DataError(
                f"{self.path}: not a readable video ({exc.__class__.__name__}: truncated, "
                "damaged or not a video file)"
            ) from exc
        if not container.streams.video:
            container.close()
            raise DataError(f"{self.path}: holds no video stream")
        return container

    def _probe_rate(self) -> bool:
        """Demux (no decoding) the first packets and test their intervals; rewinds after."""
        stream = self._container.streams.video[0]
        times: list[float] = []
        try:
            for packet in self._container.demux(stream):
                if packet.pts is not None and packet.time_base is not None:
                    times.append(float(packet.pts * packet.time_base))
                if len(times) >= PROBE_PACKETS:
                    break
        except _av_error(self.av):
            pass  # damage is reported when the frames are decoded
        self._container.close()
        self._container = self._open()
        return is_variable_rate(frame_intervals(times))

    def __iter__(self) -> Iterator[SourceFrame]:
        if self._used:  # a second pass decodes the file again from the start
            self._container.close()
            self._container = self._open()
        self._used = True
        stream = self._container.streams.video[0]
        if self.threads:
            stream.thread_type = "AUTO"
        gray = self.luma or stream.codec_context.pix_fmt in GRAY_FORMATS
        index, start = 0, None
        try:
            for frame in self._container.decode(stream):
                when = frame.time if frame.time is not None else index / (self.frame_rate or 1.0)
                start = when if start is None else start
                image = frame.to_ndarray(format="gray" if gray else "rgb24")
                yield SourceFrame(image, index, float(when - start), self.name)
                index += 1
        except _av_error(self.av) as exc:
            raise DataError(
                f"{self.path}: video damaged after {index} frames "
                f"({exc.__class__.__name__}): the frames before it were processed"
            ) from exc
        if index == 0:
            raise DataError(f"{self.path}: holds no decodable video frames")
        if self.frame_count is not None and index < self.frame_count:
            raise DataError(
                f"{self.path}: video ends after {index} of {self.frame_count} frames "
                "(truncated?): the frames before the end were processed"
            )

    def close(self) -> None:
        self._container.close()
