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
