"""The one interface every frame source implements (numpy only; readers import lazily)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class SourceFrame:
    """One decoded frame of a source.

    ``image``: HxW (gray) or HxWx3 (RGB) array as decoded, uint8 or uint16; ``index``: 0-based
    position in the source; ``timestamp_s``: seconds since the source's first frame (from the
    container's pts, the DICOM header's frame time, or the capture clock for a live device);
    ``source``: the source's display name, free of patient data (never a DICOM header value).
    """

    image: np.ndarray
    index: int
    timestamp_s: float
    source: str


@runtime_checkable
class FrameSource(Protocol):
    """Frames in order, plus what a player needs to pace them.

    ``name``: display name without patient data; ``live``: frames arrive on their own clock
    (a capture device) and stale ones must be dropped, never queued; ``frame_rate``: nominal
    frames per second, or None when unknown; ``frame_count``: frames in the source, or None
    when unknown (live, or a container that does not say); ``notes``: one-line warnings found
    while opening (e.g. burned-in annotation), free of patient data.
    """

    name: str
    live: bool
    frame_rate: float | None
    frame_count: int | None
    notes: list[str]

    def __iter__(self) -> Iterator[SourceFrame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, *exc: object) -> None: ...


class SourceBase:
    """Shared plumbing of the concrete sources: context manager, default fields, repr.

    Subclasses set ``name``, ``live``, ``frame_rate``, ``frame_count`` and ``notes`` in their
    ``__init__`` and implement ``__iter__``; ``close`` releases what they hold (idempotent).
    """

    name: str = ""
    live: bool = False
    frame_rate: float | None = None
    frame_count: int | None = None
    notes: list[str]

    def __iter__(self) -> Iterator[SourceFrame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release files or devices held open (nothing by default)."""

    def __enter__(self) -> SourceBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        count = "?" if self.frame_count is None else self.frame_count
        rate = "?" if self.frame_rate is None else f"{self.frame_rate:g}"
        return f"<{type(self).__name__} {self.name!r}: {count} frames at {rate} fps>"


def timestamp(index: int, frame_rate: float | None) -> float:
    """Seconds since the first frame of a source with a fixed rate: ``index / frame_rate``.

    Without a known rate a frame's timestamp is its index (one frame per second), so times
    still increase; the source's ``frame_rate`` of None says that they are nominal.
    """
    return index / frame_rate if frame_rate else float(index)
