"""Multi-page TIFF (and any single still image) through Pillow, one page per frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import ImageSequence

from edgeseg.edge_runtime.sources.base import SourceBase, SourceFrame, timestamp
from edgeseg.edge_runtime.sources.pillow_frames import pillow_array
from edgeseg.errors import DataError
from edgeseg.imaging import MAX_PIXELS, _open


class TiffSource(SourceBase):
    """The pages of a (multi-page) TIFF in order; a PNG/JPEG/BMP file is a one-frame source.

    ``frame_rate``: the rate to report, or None (timestamps are then the page index).
    """

    def __init__(
        self, path: Path, frame_rate: float | None = None, max_pixels: int = MAX_PIXELS
    ) -> None:
        self.path = Path(path)
        self.max_pixels = max_pixels
        with _open(self.path, max_pixels) as img:  # DataError for a damaged or huge file
            count = int(getattr(img, "n_frames", 1))
        if count < 1:
            raise DataError(f"{self.path}: holds no pages")
        self.name = self.path.name
        self.live = False
        self.frame_rate = frame_rate
        self.frame_count = count
        self.notes = []

    def __iter__(self) -> Iterator[SourceFrame]:
        index = 0
        with _open(self.path, self.max_pixels) as img:
            try:
                for page in ImageSequence.Iterator(img):
                    image = pillow_array(page)
                    yield SourceFrame(image, index, timestamp(index, self.frame_rate), self.name)
                    index += 1
            except (OSError, SyntaxError, ValueError) as exc:
                raise DataError(
                    f"{self.path}: page {index + 1} of {self.frame_count} unreadable "
                    f"({exc.__class__.__name__}): the pages before it were processed"
                ) from exc
