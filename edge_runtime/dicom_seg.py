"""Masks of a DICOM cine back to the archive: one DICOM Segmentation object referencing the source.

Written only when asked for (``edgeseg stream ... --dicom-seg OUT.dcm``): it is the one output
that carries the patient's identity, because the standard puts the source's Patient and Study
modules into every SEG so the archive can file it beside the images.

highdicom builds the object. highdicom (0.28) encodes a SEG of a source without a Frame of
Reference (ultrasound has none) for a single source frame only (highdicom issue #284), so for a
multi-frame cine :class:`DicomSegWriter` has highdicom build the SEG of the first frame and then
extends it frame by frame as the standard asks for a source without a Frame of Reference: each
SEG frame's Derivation Image Sequence names the source instance and its Referenced Frame Number,
and the frames are indexed by two dimensions, Referenced Segment Number and Temporal Position
Index (the source frame number). BINARY segmentation, one SEG frame per (source frame, segment),
empty frames kept, so frame ``k * segments + s`` is segment ``s + 1`` of the k-th segmented
frame. A folder holding one series of single- or multi-frame files (a scanner's
one-frame-per-file export) is extended the same way, each SEG frame naming its own file. The
masks must be at the source's size (``Result.mask`` is).

Needs the ``dicom`` extra (pydicom, highdicom), imported lazily. No TensorFlow.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeseg import __version__
from edgeseg.contract import ClassInfo
from edgeseg.edge_runtime.sources import is_dicom_file
from edgeseg.errors import ConfigError, DataError
from edgeseg.extras import require
from edgeseg.io import atomic_path

PURPOSE = "writing a DICOM SEG"
CATEGORY = ("91723000", "SCT", "Anatomical Structure")
# SNOMED CT codes of the classes edgeseg knows; any other class is "Tissue" with its own label.
PROPERTY_TYPES = {
    "nerve": ("3057000", "SCT", "Nerve"),
    "vessel": ("59820001", "SCT", "Blood vessel"),
}
OTHER_TYPE = ("85756007", "SCT", "Tissue")
AI_FAMILY = ("123109", "DCM", "Artificial Intelligence")
# Type 2 attributes of the Patient and General Study modules highdicom copies from the source.
TYPE2_COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "ReferringPhysicianName",
    "AccessionNumber",
)
SERIES_NUMBER = 9901  # a derived series, out of the scanner's usual range


def _code(hd: Any, triple: tuple[str, str, str]) -> Any:
    return hd.sr.CodedConcept(*triple)


class DicomSegWriter:
    """Collect the masks of a DICOM source's frames; :meth:`write` saves one SEG atomically.

    ``source``: the DICOM file the frames came from, or a folder holding one series of DICOM
    files (frames in the order :class:`~edgeseg.edge_runtime.sources.dicom_series.
    DicomSeriesSource` gives them); headers are read again here, never logged. ``out``: the
    SEG file to write; ``classes``: the model's classes, one segment each (label = class
    name). :meth:`add` each segmented frame (0-based index in the source, HxWxC mask at the
    source's size, any non-zero value = inside); frames never added are not referenced.
    Nothing is written until :meth:`write`, and then only a complete file.
    """

    def __init__(self, source: Path | str, out: Path | str, classes: Sequence[ClassInfo]) -> None:
        pydicom = require("pydicom", PURPOSE)
        require("highdicom", PURPOSE)
        self.source, self.out = Path(source), Path(out)
        self.classes = list(classes)
        if not self.classes:
            raise ConfigError("a DICOM SEG needs at least one class")
        if self.source.is_dir():
            from edgeseg.edge_runtime.sources.dicom_series import DicomSeriesSource

            files = DicomSeriesSource(self.source).files  # its frame order, one rule
        elif is_dicom_file(self.source):
            files = [self.source]
        else:
            raise ConfigError(
                f"--dicom-seg needs a DICOM source, and {self.source.name} is not a DICOM file"
            )
        self.headers = []
        for path in files:
            try:
                self.headers.append(pydicom.dcmread(path, stop_before_pixels=True))
            except Exception as exc:  # noqa: BLE001  (any pydicom failure: one line)
                raise DataError(f"{path.name}: cannot read its DICOM header for the SEG") from exc
        sizes = {(int(h.Rows), int(h.Columns)) for h in self.headers}
        if len(sizes) != 1:
            raise DataError(f"{self.source.name}: frames of several sizes {sorted(sizes)}")
        (self.rows, self.columns) = sizes.pop()
        # each source frame: (its file, its frame number in a multi-frame file, else None)
        self.frames = [
            (k, n + 1 if "NumberOfFrames" in h else None)
            for k, h in enumerate(self.headers)
            for n in range(int(getattr(h, "NumberOfFrames", 1) or 1))
        ]
        self.masks: dict[int, np.ndarray] = {}

    def add(self, index: int, mask: np.ndarray) -> None:
        """Keep frame ``index``'s HxWxC (or HxW, one class) mask, bit-packed."""
        arr = np.asarray(mask)
        if arr.ndim == 2:
            arr = arr[..., None]
        want = (self.rows, self.columns, len(self.classes))
        if arr.shape != want:
            raise DataError(
                f"frame {index}: mask of shape {arr.shape}, the DICOM SEG needs {want} "
                "(the source's rows x columns x classes)"
            )
        if not 0 <= index < len(self.frames):
            raise DataError(f"frame {index}: the source has {len(self.frames)} frame(s)")
        self.masks[int(index)] = np.packbits(arr != 0)

    def _mask(self, index: int) -> np.ndarray:
        n = self.rows * self.columns * len(self.classes)
        bits = np.unpackbits(self.masks[index], count=n).astype(bool)
        return bits.reshape(self.rows, self.columns, len(self.classes))

    def _template(self, hd: Any, first: int) -> Any:
        """highdicom's SEG of one frame, made from a single-frame view of the source."""
        pydicom = require("pydicom", PURPOSE)
        view = copy.deepcopy(self.headers[self.frames[first][0]])
        view.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        for keyword in ("NumberOfFrames", "FrameIncrementPointer"):
            if keyword in view:
                delattr(view, keyword)
        for keyword in TYPE2_COPIED:  # may be absent in the source; empty is valid for type 2
            if keyword not in view:
                setattr(view, keyword, "")
        if "NumberOfFrames" in self.headers[0]:  # highdicom tells multi-frame by the SOP class
            view.SOPClassUID = pydicom.uid.UltrasoundImageStorage
        spp = int(getattr(view, "SamplesPerPixel", 1))
        nbytes = self.rows * self.columns * spp * max(int(view.BitsAllocated) // 8, 1)
        view.PixelData = bytes(nbytes + nbytes % 2)
        segments = [
            hd.seg.SegmentDescription(
                segment_number=i + 1,
                segment_label=c.name,
                segmented_property_category=_code(hd, CATEGORY),
                segmented_property_type=_code(hd, PROPERTY_TYPES.get(c.name, OTHER_TYPE)),
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=hd.AlgorithmIdentificationSequence(
                    name="edgeseg", version=__version__, family=_code(hd, AI_FAMILY)
                ),
            )
            for i, c in enumerate(self.classes)
        ]
        return hd.seg.Segmentation(
            source_images=[view],
            pixel_array=self._mask(first)[None],
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=segments,
            series_instance_uid=hd.UID(),
            series_number=SERIES_NUMBER,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="edgeseg",
            manufacturer_model_name="edgeseg",
            software_versions=__version__,
            device_serial_number="none",
            series_description="edgeseg segmentation",
            omit_empty_frames=False,
        )

    def _instance(self, k: int) -> Any:
        """A reference to source file ``k`` (its SOP class and instance UIDs)."""
        from pydicom.dataset import Dataset

        ref = Dataset()
        ref.ReferencedSOPClassUID = self.headers[k].SOPClassUID
        ref.ReferencedSOPInstanceUID = self.headers[k].SOPInstanceUID
        return ref

    def _extend(self, seg: Any, order: list[int]) -> None:
        """Make the one-frame SEG cover every collected frame (multi-frame or series sources)."""
        from pydicom.dataset import Dataset
        from pydicom.pixels import pack_bits
        from pydicom.sequence import Sequence as Seq
        from pydicom.tag import Tag

        files = sorted({self.frames[i][0] for i in order})
        seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence = Seq(
            [self._instance(k) for k in files]
        )
        seg.SourceImageSequence = Seq([self._instance(k) for k in files])
        template = seg.PerFrameFunctionalGroupsSequence[0]
        shared = seg.SharedFunctionalGroupsSequence[0]
        if "SegmentIdentificationSequence" in shared:  # highdicom shares it for one segment
            del shared.SegmentIdentificationSequence
        organization = seg.DimensionOrganizationSequence[0].DimensionOrganizationUID
        temporal = Dataset()
        temporal.DimensionOrganizationUID = organization
        temporal.DimensionIndexPointer = Tag("TemporalPositionIndex")
        temporal.FunctionalGroupPointer = Tag("FrameContentSequence")
        temporal.DimensionDescriptionLabel = "Temporal Position Index"
        seg.DimensionIndexSequence.append(temporal)
        groups = []
        for index in order:
            k, number = self.frames[index]
            for s in range(len(self.classes)):
                group = copy.deepcopy(template)
                ref = group.DerivationImageSequence[0].SourceImageSequence[0]
                ref.ReferencedSOPClassUID = self.headers[k].SOPClassUID
                ref.ReferencedSOPInstanceUID = self.headers[k].SOPInstanceUID
                if number is not None:
                    ref.ReferencedFrameNumber = number
                content = group.FrameContentSequence[0]
                content.TemporalPositionIndex = index + 1
                content.DimensionIndexValues = [s + 1, index + 1]
                ident = Dataset()
                ident.ReferencedSegmentNumber = s + 1
                group.SegmentIdentificationSequence = Seq([ident])
                groups.append(group)
        seg.PerFrameFunctionalGroupsSequence = Seq(groups)
        frames = np.stack([np.moveaxis(self._mask(i), -1, 0) for i in order])
        seg.NumberOfFrames = len(groups)
        seg.PixelData = pack_bits(frames.reshape(len(groups), self.rows, self.columns))

    def write(self) -> Path:
        """Write the SEG (atomically) and return its path; DataError when no frame was added."""
        hd = require("highdicom", PURPOSE)
        if not self.masks:
            raise DataError("no frame was segmented: no DICOM SEG written")
        order = sorted(self.masks)
        seg = self._template(hd, order[0])
        if len(self.headers) > 1 or "NumberOfFrames" in self.headers[0]:
            self._extend(seg, order)
        with atomic_path(self.out) as tmp:
            seg.save_as(tmp, enforce_file_format=True)
        return self.out


__all__ = ["DicomSegWriter"]
