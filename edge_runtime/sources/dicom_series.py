"""A folder of DICOM files (e.g. a scanner's export of one frame per file) as one source.

Files are ordered by InstanceNumber, then by natural name order; each file's frames follow one
another. The source is named ``dicom-<hash>`` from the first file's SeriesInstanceUID, never from
the folder's name (an export folder is often named after the patient) or any header value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from edgeseg.edge_runtime.predict import natural_key
from edgeseg.edge_runtime.sources.base import SourceBase, SourceFrame, timestamp
from edgeseg.edge_runtime.sources.dicom import DicomSource, quietly
from edgeseg.edge_runtime.sources.dicom_header import NAME_HASH_CHARS
from edgeseg.errors import DataError
from edgeseg.extras import require
from edgeseg.imaging import MAX_PIXELS


def dicom_files(folder: Path) -> list[Path]:
    """The DICOM files directly inside ``folder`` (by suffix or ``DICM`` magic), natural order."""
    from edgeseg.edge_runtime.sources import DICOM_SUFFIXES, is_dicom_file

    found = [
        p
        for p in Path(folder).iterdir()
        if p.is_file() and (p.suffix.lower() in DICOM_SUFFIXES or is_dicom_file(p))
    ]
    return sorted(found, key=natural_key)


def _instance(path: Path) -> tuple[int, str]:
    """(InstanceNumber or a large number, SeriesInstanceUID) from a file's header."""
    pydicom = require("pydicom", "reading DICOM")
    try:
        ds = quietly(lambda: pydicom.dcmread(path, stop_before_pixels=True), path)
        number = int(ds.get("InstanceNumber", 10**9) or 10**9)
    except (pydicom.errors.InvalidDicomError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: not a readable DICOM file") from exc
    return number, str(ds.get("SeriesInstanceUID", "") or "")


class DicomSeriesSource(SourceBase):
    """The frames of every DICOM file in a folder, in instance order, as one sequence.

    ``frame_rate``: the first file's header rate, or the ``frame_rate`` given, or None.
    Each file is opened as a :class:`DicomSource` in turn (same checks, same one-line errors).
    """

    def __init__(
        self,
        folder: Path,
        frame_rate: float | None = None,
        max_pixels: int = MAX_PIXELS,
        decoding_plugin: str = "",
    ) -> None:
        self.folder = Path(folder)
        files = dicom_files(self.folder)
        if not files:
            raise DataError(f"{self.folder}: no DICOM files")
        keyed = [(_instance(p), i, p) for i, p in enumerate(files)]
        keyed.sort(key=lambda k: (k[0][0], k[1]))
        self.files = [p for _, _, p in keyed]
        series = keyed[0][0][1] or str(self.files[0].name)
        digest = hashlib.sha256(series.encode("utf-8", "replace")).hexdigest()
        self.name = f"dicom-{digest[:NAME_HASH_CHARS]}"
        self.live = False
        self.max_pixels = max_pixels
        self.decoding_plugin = decoding_plugin
        first = DicomSource(self.files[0], max_pixels, decoding_plugin)
        self.frame_rate = frame_rate if frame_rate is not None else first.frame_rate
        self.frame_count = None  # known once every file is opened; not needed to start
        self.notes = []

    def __iter__(self) -> Iterator[SourceFrame]:
        index = 0
        for path in self.files:
            with DicomSource(path, self.max_pixels, self.decoding_plugin) as src:
                for note in src.notes:
                    note = note.replace(src.name, self.name)
                    if note not in self.notes:
                        self.notes.append(note)
                for frame in src:
                    yield SourceFrame(
                        frame.image, index, timestamp(index, self.frame_rate), self.name
                    )
                    index += 1
