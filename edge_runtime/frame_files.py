"""``predict``'s inputs, frame by frame: still images, and files that hold several frames.

A video (MP4, AVI, MOV, MKV), a DICOM file (by suffix or its ``DICM`` magic) or a multi-page
TIFF is opened as a frame source (:func:`~edgeseg.edge_runtime.sources.open_source`) and gives
one input per frame, named ``<source>_frame_NNNNNN`` after the source's display name (a DICOM
file's is ``dicom-<hash>``, never a header value or the file's own name) and the frame index.
Any other file is one still image, named after its file (as before).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseg.errors import DataError


class SourceNoteWarning(RuntimeWarning):
    """A frame source's note (e.g. burned-in annotation), free of patient data."""


@dataclass(frozen=True)
class Item:
    """One input of ``predict``: its display ``label``, output ``stem``, and the frame to
    segment (a path or an array), or ``error`` when it could not be read."""

    label: str
    stem: str
    frame: Any = None
    error: DataError | None = None
    frame_index: int | None = None  # the frame's index in its frame file (None: a still image)


def is_frame_file(path: Path) -> bool:
    """Whether ``path`` holds frames for a source: a video, DICOM, or multi-page TIFF."""
    from edgeseg.edge_runtime.sources import (
        DICOM_SUFFIXES,
        TIFF_SUFFIXES,
        VIDEO_SUFFIXES,
        is_dicom_file,
    )

    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES or suffix in DICOM_SUFFIXES or is_dicom_file(path):
        return True
    if suffix in TIFF_SUFFIXES:
        from PIL import Image

        try:
            with Image.open(path) as img:
                return int(getattr(img, "n_frames", 1)) > 1
        except (OSError, SyntaxError, ValueError):
            return False  # read as a still image, which reports why it is unreadable
    return False


def frame_stem(source_name: str, index: int) -> str:
    """``clip_frame_000042`` for frame 42 of source ``clip.mp4``."""
    return f"{Path(source_name).stem}_frame_{index:06d}"


def _source_items(path: Path) -> Iterator[Item]:
    from edgeseg.edge_runtime.sources import open_source

    try:
        source = open_source(path)
    except DataError as exc:
        yield Item(str(path), path.stem, error=exc)
        return
    with source:
        for note in source.notes:
            warnings.warn(note, SourceNoteWarning, stacklevel=2)
        frames = iter(source)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                return
            except DataError as exc:  # after the good frames (a truncated file)
                yield Item(source.name, source.name, error=exc)
                return
            label = f"{source.name} frame {frame.index}"
            yield Item(label, frame_stem(source.name, frame.index), frame.image, None, frame.index)


def items(paths: Sequence[Path]) -> Iterator[Item]:
    """Every input of ``paths`` in order: a still image as itself, a frame file frame by frame."""
    for path in paths:
        if path.is_file() and is_frame_file(path):
            yield from _source_items(path)
        else:
            yield Item(str(path), path.stem, path)


__all__ = ["Item", "SourceNoteWarning", "frame_stem", "is_frame_file", "items"]
