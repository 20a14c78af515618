"""Multi-frame ultrasound DICOM of a phantom cine (pydicom 3): uncompressed, RLE, JPEG Baseline.

Gray frames are written as MONOCHROME2; RGB frames as RGB, YBR_FULL or (JPEG) YBR_FULL_422.
Frame timing in the header: FrameTime (ms), CineRate and RecommendedDisplayFrameRate. RLE is
pydicom's own encoder; JPEG Baseline frames are encoded by Pillow and encapsulated with
``pydicom.encaps``. The file carries no identifiers unless ``identifiers`` are given (for the
test that nothing written downstream leaks them).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.errors import ConfigError
from edgeseg.extras import require
from edgeseg.io import atomic_path
from edgeseg.train.cine_writers import DICOM_SYNTAXES, PHOTOMETRICS, US_MULTIFRAME_SOP_CLASS

FRAME_TIME_TAG = 0x00181063


def _jpeg_frames(frames: np.ndarray, quality: int) -> list[bytes]:
    """Each frame as a baseline JPEG (Pillow); colour frames 4:2:2 (DICOM YBR_FULL_422)."""
    out = []
    for image in frames:
        buf = io.BytesIO()
        options = {"subsampling": 1} if image.ndim == 3 else {}
        Image.fromarray(image).save(buf, format="JPEG", quality=quality, **options)
        out.append(buf.getvalue())
    return out


def _check(frames: np.ndarray, syntax: str, photometric: str) -> str:
    if syntax not in DICOM_SYNTAXES:
        raise ConfigError(f"DICOM syntax {syntax!r}: expected one of {', '.join(DICOM_SYNTAXES)}")
    if frames.ndim not in (3, 4) or len(frames) == 0 or frames.dtype not in (np.uint8, np.uint16):
        raise ConfigError(f"DICOM frames: expected uint8/uint16 NxHxW(x3), got {frames.shape}")
    color = frames.ndim == 4
    if photometric == "auto":
        photometric = ("YBR_FULL_422" if syntax == "jpeg" else "RGB") if color else "MONOCHROME2"
    if photometric not in PHOTOMETRICS or color != (photometric != "MONOCHROME2"):
        raise ConfigError(
            f"photometric {photometric!r} does not fit frames of shape {frames.shape}"
        )
    if syntax == "jpeg" and (frames.dtype != np.uint8 or photometric in ("RGB", "YBR_FULL")):
        raise ConfigError("JPEG Baseline DICOM: 8-bit MONOCHROME2 or YBR_FULL_422 frames only")
    if photometric == "YBR_FULL_422" and syntax != "jpeg":
        raise ConfigError("YBR_FULL_422 is written as JPEG Baseline only")
    return photometric


def write_dicom(
    frames: np.ndarray,
    path: Path,
    fps: float,
    syntax: str = "uncompressed",
    photometric: str = "auto",
    identifiers: Mapping[str, str] | None = None,
    burned_in_annotation: bool = False,
    quality: int = 95,
) -> Path:
    """Write frames (NxHxW gray or NxHxWx3 RGB; uint8, or uint16 uncompressed/RLE) as one
    multi-frame Ultrasound DICOM; returns ``path``.

    ``syntax``: ``uncompressed`` (Explicit VR Little Endian), ``rle`` (RLE Lossless) or ``jpeg``
    (JPEG Baseline 8-bit). ``photometric``: ``auto`` or one of ``PHOTOMETRICS`` (RGB frames are
    converted to YBR_FULL when asked). ``identifiers``: header keywords and values to set (e.g.
    ``PHI_TEST_IDENTIFIERS``); none by default.
    """
    require("pydicom", "writing DICOM")  # one line naming the extra when missing
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.pixels import convert_color_space
    from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless, generate_uid

    frames = np.asarray(frames)
    photometric = _check(frames, syntax, photometric)
    n, rows, cols = (int(v) for v in frames.shape[:3])
    bits = 16 if frames.dtype == np.uint16 else 8
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = US_MULTIFRAME_SOP_CLASS
    ds.SOPClassUID = US_MULTIFRAME_SOP_CLASS
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "US"
    ds.SeriesDescription = "edgeseg phantom cine (synthetic, no patient)"
    ds.BurnedInAnnotation = "YES" if burned_in_annotation else "NO"
    for keyword, value in (identifiers or {}).items():
        setattr(ds, keyword, value)
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, n
    ds.SamplesPerPixel = 3 if frames.ndim == 4 else 1
    ds.PhotometricInterpretation = photometric
    if frames.ndim == 4:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.FrameTime = f"{1000.0 / fps:.4f}"
    ds.FrameIncrementPointer = FRAME_TIME_TAG
    ds.CineRate = ds.RecommendedDisplayFrameRate = int(round(fps))
    pixels = frames
    if photometric == "YBR_FULL":
        pixels = convert_color_space(frames, "RGB", "YBR_FULL")
    if syntax == "jpeg":
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.PixelData = encapsulate(_jpeg_frames(frames, quality))
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
    else:
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        ds["PixelData"].VR = "OW" if bits == 16 else "OB"
        if syntax == "rle":
            ds.compress(RLELossless, np.ascontiguousarray(pixels), generate_instance_uid=False)
    with atomic_path(Path(path)) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return Path(path)
