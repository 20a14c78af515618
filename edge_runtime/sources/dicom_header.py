"""What a DICOM header says about its pixels and timing, checked; never its identifiers.

Every message here names the file path, transfer syntax, photometric interpretation, bit depth
and frame counts only: no header value that could identify a patient or a study.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from edgeseg.errors import DataError, DependencyError

PHOTOMETRICS = ("MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422")
NAME_HASH_CHARS = 12


def _number(ds: Any, keyword: str) -> float | None:
    """A numeric header value, or None when absent, empty or not a positive number."""
    try:
        value = float(ds.get(keyword)) if ds.get(keyword) not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and np.isfinite(value) and value > 0 else None


def frame_times(ds: Any, frames: int) -> tuple[np.ndarray | None, float | None]:
    """(timestamps in seconds or None, nominal frames/s or None) from the header.

    FrameTimeVector (ms between frames, first entry 0) gives each frame's time; else FrameTime
    (ms per frame), CineRate or RecommendedDisplayFrameRate (frames/s) give a fixed rate.
    """
    vector = ds.get("FrameTimeVector")
    if vector is not None and frames > 1:
        try:
            steps = np.asarray([float(v) for v in vector], dtype=np.float64)
        except (TypeError, ValueError):
            steps = np.zeros(0)
        if len(steps) == frames and np.all(np.isfinite(steps)) and np.all(steps[1:] > 0):
            times = np.cumsum(np.concatenate([[0.0], steps[1:]])) / 1000.0
            return times, float((frames - 1) / times[-1])
    frame_ms = _number(ds, "FrameTime")
    if frame_ms is not None:
        return None, 1000.0 / frame_ms
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _number(ds, keyword)
        if rate is not None:
            return None, rate
    return None, None


def source_name(ds: Any, path: Path) -> str:
    """``dicom-<hash>``: a short SHA-256 of the SOPInstanceUID, or of the file's bytes."""
    uid = str(ds.get("SOPInstanceUID", "") or "")
    digest = hashlib.sha256()
    if uid:
        digest.update(uid.encode("ascii", "replace"))
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return f"dicom-{digest.hexdigest()[:NAME_HASH_CHARS]}"


def check_decoder(uid: Any, path: Path) -> None:
    """DataError for a transfer syntax pydicom cannot decode; DependencyError when its plugin
    is not installed."""
    from pydicom.pixels import get_decoder

    name = f"{getattr(uid, 'name', uid)} ({uid})"
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        raise DataError(
            f"{path}: transfer syntax {name} is not supported: convert the file to "
            "uncompressed, RLE Lossless or JPEG Baseline"
        ) from exc
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "a decoding plugin"
        raise DependencyError(
            f"{path}: transfer syntax {name} needs a decoder that is not installed ({missing}); "
            "or convert the file to uncompressed, RLE Lossless or JPEG Baseline"
        )


def check_pixels(ds: Any, path: Path, max_pixels: int) -> tuple[int, int, int]:
    """(frames, rows, columns) of a decodable pixel module; one-line DataError otherwise."""
    if "PixelData" not in ds:
        what = "Float or Double Float Pixel Data" if (
            "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
        ) else "no Pixel Data"  # fmt: skip
        raise DataError(f"{path}: DICOM file with {what}: not an image edgeseg can read")
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        count = ds.get("NumberOfFrames")
        frames = 1 if count in (None, "") else int(count)
        samples = int(ds.get("SamplesPerPixel", 1))
        bits, stored = int(ds.BitsAllocated), int(ds.get("BitsStored", ds.BitsAllocated))
        signed = int(ds.get("PixelRepresentation", 0))
        photometric = str(ds.PhotometricInterpretation).strip()
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: DICOM image module incomplete or malformed") from exc
    if frames < 1 or rows < 1 or cols < 1:
        raise DataError(
            f"{path}: DICOM image with {frames} frames of {cols}x{rows}: nothing to read"
        )
    if rows * cols > max_pixels:
        raise DataError(
            f"{path}: {cols}x{rows} frames are {rows * cols:,} pixels, above the limit of "
            f"{max_pixels:,}: raise --max-pixels"
        )
    if photometric not in PHOTOMETRICS or samples != (1 if photometric == "MONOCHROME2" else 3):
        raise DataError(
            f"{path}: {photometric} with {samples} samples per pixel is not supported: "
            f"edgeseg reads {', '.join(PHOTOMETRICS)}"
        )
    if signed or bits not in (8, 16) or stored != bits:
        raise DataError(
            f"{path}: {'signed ' if signed else ''}{stored}-bit pixels stored in {bits} bits are "
            "not supported: edgeseg reads unsigned 8-bit, or 16-bit using all 16 bits "
            "(mapped to 0..255 by the frame contract); export 8-bit frames"
        )
    return frames, rows, cols
