"""Frame sources: folders, video files, DICOM, multi-page TIFF and live devices, one interface.

:func:`open_source` picks the reader from what the path is: a folder, a capture device
(``/dev/video*``), a file's suffix, or a DICOM file's ``DICM`` magic when its suffix says
otherwise. Readers of optional formats import their library when opened (extras ``video`` and
``dicom``); a missing one is one line naming the extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeseg.edge_runtime.sources.base import FrameSource, SourceBase, SourceFrame
from edgeseg.errors import DataError

DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")
TIFF_SUFFIXES = (".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm")
DEVICE_PREFIX = "/dev/video"


def is_dicom_file(path: Path) -> bool:
    """True when the file has the DICOM preamble and its ``DICM`` magic at byte 128."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def is_device(spec: str | Path) -> bool:
    """True for a V4L2 capture device path (``/dev/video0``, ...)."""
    return str(spec).startswith(DEVICE_PREFIX)


def open_folder(folder: Path, **options: Any) -> FrameSource:
    """A folder of images (:class:`FolderSource`), or else of DICOM files
    (:class:`DicomSeriesSource`, one series, e.g. a scanner's one-frame-per-file export)."""
    from edgeseg.edge_runtime.predict import image_files
    from edgeseg.edge_runtime.sources.folder import FolderSource

    if not image_files(folder):
        from edgeseg.edge_runtime.sources.dicom_series import DicomSeriesSource, dicom_files

        if dicom_files(folder):
            return DicomSeriesSource(folder, **options)
    return FolderSource(folder, **options)


def open_source(spec: str | Path, **options: Any) -> FrameSource:
    """Open ``spec`` as a frame source: folder, ``/dev/videoN``, video, DICOM or TIFF file.

    ``options`` go to the source's constructor (e.g. ``frame_rate`` for a folder or TIFF,
    ``size``/``frame_rate`` for a device). DataError when the path does not exist or is no
    format edgeseg reads.
    """
    if is_device(spec):
        from edgeseg.edge_runtime.sources.device import DeviceSource

        return DeviceSource(str(spec), **options)
    path = Path(spec)
    if path.is_dir():
        return open_folder(path, **options)
    if not path.exists():
        raise DataError(
            f"{path}: not found (pass a folder, a video, a DICOM or TIFF file, or /dev/videoN)"
        )
    if not path.is_file():
        raise DataError(f"{path}: not a file or folder")
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES or is_dicom_file(path):
        from edgeseg.edge_runtime.sources.dicom import DicomSource

        return DicomSource(path, **options)
    if suffix in VIDEO_SUFFIXES:
        from edgeseg.edge_runtime.sources.video import VideoSource

        return VideoSource(path, **options)
    if suffix in TIFF_SUFFIXES:
        from edgeseg.edge_runtime.sources.tiff import TiffSource

        return TiffSource(path, **options)
    from edgeseg.imaging import IMAGE_SUFFIXES

    if suffix in IMAGE_SUFFIXES:
        from edgeseg.edge_runtime.sources.tiff import TiffSource

        return TiffSource(path, **options)  # a single still image: Pillow reads it as one page
    known = ", ".join(VIDEO_SUFFIXES + DICOM_SUFFIXES + TIFF_SUFFIXES)
    raise DataError(f"{path}: unknown kind of file (expected a folder, {known} or /dev/videoN)")


__all__ = [
    "DICOM_SUFFIXES",
    "TIFF_SUFFIXES",
    "VIDEO_SUFFIXES",
    "FrameSource",
    "SourceBase",
    "SourceFrame",
    "is_device",
    "is_dicom_file",
    "open_folder",
    "open_source",
]
