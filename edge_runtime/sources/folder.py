"""A folder of still images, read in natural order (``frame2`` before ``frame10``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from edgeseg.edge_runtime.predict import image_files
from edgeseg.edge_runtime.sources.base import SourceBase, SourceFrame, timestamp
from edgeseg.edge_runtime.sources.pillow_frames import pillow_array
from edgeseg.errors import DataError
from edgeseg.imaging import IMAGE_SUFFIXES, MAX_PIXELS, _open


class FolderSource(SourceBase):
    """The image files directly inside a folder, one frame each (``files``, in order).

    ``frame_rate``: the rate to report (e.g. the rate the frames were captured at), or None;
    timestamps are ``index / frame_rate`` (the index itself without a rate).
    """

    def __init__(
        self, folder: Path, frame_rate: float | None = None, max_pixels: int = MAX_PIXELS
    ) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataError(f"{self.folder}: not a folder")
        self.files = image_files(self.folder)
        if not self.files:
            raise DataError(
                f"{self.folder}: no images (looked for {', '.join(IMAGE_SUFFIXES)}): "
                "pass a folder of frames"
            )
        self.name = self.folder.name or str(self.folder)
        self.live = False
        self.frame_rate = frame_rate
        self.frame_count = len(self.files)
        self.notes = []
        self.max_pixels = max_pixels

    def __iter__(self) -> Iterator[SourceFrame]:
        for index, path in enumerate(self.files):
            with _open(path, self.max_pixels) as img:
                image = pillow_array(img)
            yield SourceFrame(image, index, timestamp(index, self.frame_rate), self.name)
