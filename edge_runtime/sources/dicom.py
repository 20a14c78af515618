"""DICOM images and cine loops through pydicom 3 (+ pylibjpeg): single- and multi-frame.

Transfer syntaxes: whatever pydicom decodes with the installed plugins; the ``dicom`` extra
covers uncompressed, RLE Lossless and JPEG Baseline (tested to match pydicom's ``pixel_array``
exactly). MONOCHROME2 frames come out as HxW, RGB/YBR_FULL/YBR_FULL_422 as RGB HxWx3 (pydicom's
colour conversion, as ``pixel_array`` does by default); 8-bit as uint8, 16-bit as uint16 (the
frame contract maps 0..65535 onto 0..255). The source's name is ``dicom-<hash>``; no header value
that could identify a patient appears in a name, note or message.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from edgeseg.edge_runtime.sources.base import SourceBase, SourceFrame, timestamp
from edgeseg.edge_runtime.sources.dicom_header import (
    check_decoder,
    check_pixels,
    frame_times,
    source_name,
)
from edgeseg.edge_runtime.sources.timing import (
    frame_intervals,
    is_variable_rate,
    variable_rate_note,
)
from edgeseg.errors import DataError
from edgeseg.extras import require
from edgeseg.imaging import MAX_PIXELS

T = TypeVar("T")
TRUNCATED_HINTS = ("End of file", "Expected", "truncated", "shorter than")


def quietly(call: Callable[[], T], path: Path) -> T:
    """Run a pydicom call with its warnings captured, never printed: they can quote header
    values (an invalid date, a name); one that says the file ended early is a DataError."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    for warning in caught:
        if any(hint in str(warning.message) for hint in TRUNCATED_HINTS):
            raise DataError(f"{path}: DICOM file ends early (truncated?)")
    return result


BURNED_IN_NOTE = (
    "{name}: BurnedInAnnotation is YES: its pixels may show patient identifiers, "
    "and so may overlays made from them"
)


class DicomSource(SourceBase):
    """The frames of one DICOM file, decoded one at a time (a long cine is never all in memory).

    ``frame_rate`` and timestamps from FrameTimeVector, FrameTime, CineRate or
    RecommendedDisplayFrameRate (None / the index without any); ``notes`` warn of burned-in
    annotation and of a variable frame time. ``decoding_plugin``: pydicom's plugin name, ""
    for its default (what ``pixel_array`` uses); ``"pillow"`` decodes JPEG Baseline about 3x
    faster than the default pylibjpeg; it differs by rounding (gray: 1 level; colour: a few
    levels where chroma is upsampled).
    """

    def __init__(self, path: Path, max_pixels: int = MAX_PIXELS, decoding_plugin: str = "") -> None:
        pydicom = require("pydicom", "reading DICOM")
        self.path = Path(path)
        self.decoding_plugin = decoding_plugin
        if not self.path.is_file():
            raise DataError(f"{self.path}: file not found")
        try:
            ds = quietly(lambda: pydicom.dcmread(self.path, defer_size=4096), self.path)
        except pydicom.errors.InvalidDicomError as exc:
            raise DataError(f"{self.path}: not a DICOM file (no DICM header)") from exc
        except (EOFError, OSError, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the system's fault, not the file's
            raise DataError(
                f"{self.path}: unreadable DICOM header "
                f"({exc.__class__.__name__}: truncated or damaged)"
            ) from exc
        frames, rows, cols = check_pixels(ds, self.path, max_pixels)
        check_decoder(ds.file_meta.get("TransferSyntaxUID", ""), self.path)
        self.name = source_name(ds, self.path)
        self.live = False
        self.frame_count = frames
        self.size = (rows, cols)
        self.times, self.frame_rate = frame_times(ds, frames)
        self.variable_rate = self.times is not None and is_variable_rate(
            frame_intervals(self.times)
        )
        self.notes = []
        if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
            self.notes.append(BURNED_IN_NOTE.format(name=self.name))
        if self.variable_rate:
            self.notes.append(variable_rate_note(self.name, self.frame_rate))

    def _timestamp(self, index: int) -> float:
        if self.times is not None:
            return float(self.times[index])
        return timestamp(index, self.frame_rate)

    def __iter__(self) -> Iterator[SourceFrame]:
        from pydicom.pixels import iter_pixels

        index = 0
        frames: Iterator[Any] = iter_pixels(self.path, decoding_plugin=self.decoding_plugin)
        try:
            while index < self.frame_count:
                image = quietly(lambda: next(frames, None), self.path)
                if image is None:
                    break
                yield SourceFrame(image, index, self._timestamp(index), self.name)
                index += 1
        except (ValueError, RuntimeError, NotImplementedError, EOFError, OSError, KeyError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise
            raise DataError(
                f"{self.path}: frame {index + 1} of {self.frame_count} cannot be decoded "
                f"({exc.__class__.__name__}): damaged, or its transfer syntax does not match "
                "its data; the frames before it were processed"
            ) from exc
        if index < self.frame_count:
            raise DataError(
                f"{self.path}: DICOM file holds {index} of its {self.frame_count} frames "
                "(truncated?): the frames before the end were processed"
            )
