"""Writing phantom cine loops: H.264 MP4 (PyAV), multi-frame DICOM (pydicom), Y4M, masks.

Every writer builds its file beside the target and renames it into place when complete
(``edgeseg.io.atomic_path``): an interruption leaves no half-written file. PyAV and pydicom are
optional (extras ``video`` and ``dicom``) and imported when a writer needs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.errors import ConfigError
from edgeseg.extras import require
from edgeseg.io import atomic_path

# Ultrasound Multi-frame Image Storage
US_MULTIFRAME_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.3.1"
DICOM_SYNTAXES = ("uncompressed", "rle", "jpeg")
PHOTOMETRICS = ("MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422")
# Made-up identifiers for testing that no output carries patient data (no real person).
PHI_TEST_IDENTIFIERS: dict[str, str] = {
    "PatientName": "Phitest^Zelmira^Quill",
    "PatientID": "PHI-ID-5520913",
    "PatientBirthDate": "19370412",
    "AccessionNumber": "ACC7781203",
    "InstitutionName": "Quillfeather Phantom Infirmary",
    "StudyDate": "19620705",
}


def _even_frames(frames: np.ndarray, what: str) -> np.ndarray:
    """Frames NxHxW or NxHxWx3 uint8 with an even height and width (4:2:0 chroma needs them)."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or len(frames) == 0:
        raise ConfigError(f"{what}: expected uint8 frames NxHxW or NxHxWx3, got {frames.shape}")
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ConfigError(
            f"{what}: {frames.shape[2]}x{frames.shape[1]} frames: width and height must be even"
        )
    return frames


def write_mp4(frames: np.ndarray, path: Path, fps: float, crf: int = 18) -> Path:
    """H.264 (libx264, yuv420p) MP4 of gray or RGB uint8 frames at ``fps``; returns ``path``."""
    av = require("av", "writing MP4 video")
    frames = _even_frames(frames, f"MP4 {path}")
    fmt = "gray" if frames.ndim == 3 else "rgb24"
    with atomic_path(Path(path)) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = int(frames.shape[2]), int(frames.shape[1])
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(int(crf)), "preset": "veryfast"}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return Path(path)


def _studio(plane: np.ndarray, luma: bool) -> np.ndarray:
    """Full-range 8-bit values -> BT.601 studio range (luma 16..235, chroma 16..240)."""
    wide = plane.astype(np.float64)
    scaled = 16 + wide * 219 / 255 if luma else 128 + (wide - 128) * 224 / 255
    return np.floor(scaled + 0.5).astype(np.uint8)


def y4m_planes(image: np.ndarray, color_range: str = "limited") -> tuple[np.ndarray, ...]:
    """One gray or RGB uint8 frame -> its Y, Cb, Cr planes (4:2:0, chroma averaged over 2x2).

    Gray frames keep their values as luma with neutral chroma (128); RGB frames go through
    Pillow's full-range YCbCr conversion. ``limited`` then maps them to studio range.
    """
    h, w = image.shape[:2]
    if image.ndim == 2:
        planes = [image, np.full((h // 2, w // 2), 128, np.uint8), None]
        planes[2] = planes[1]
    else:
        ycc = np.asarray(Image.fromarray(image).convert("YCbCr"), dtype=np.float64)
        planes = [ycc[..., 0].astype(np.uint8)]
        for c in (1, 2):
            quads = ycc[..., c].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
            planes.append(np.floor(quads + 0.5).astype(np.uint8))
    if color_range == "limited":
        planes = [_studio(p, i == 0) for i, p in enumerate(planes)]
    return tuple(np.ascontiguousarray(p) for p in planes)


def write_y4m(
    frames: np.ndarray | Iterable[np.ndarray], path: Path, fps: float, color_range: str = "limited"
) -> Path:
    """YUV4MPEG2 4:2:0 of gray or RGB uint8 frames: a fake camera for Chromium
    (``--use-file-for-fake-video-capture``) or FFmpeg.

    ``limited`` (default): BT.601 studio range, untagged. Chromium's fake camera and FFmpeg both
    read Y4M as studio range and expand it back: a page drawing the camera to a canvas gets the
    gray frames within 1 level (measured, tests/test_cine.py). ``full``: the frames' own values
    tagged ``XCOLORRANGE=FULL``; FFmpeg reads them back exactly, Chromium ignores the tag (and
    stretches the values: 0..16 and 235..255 clip).
    """
    if color_range not in ("full", "limited"):
        raise ConfigError(f"Y4M colour range {color_range!r}: expected full or limited")
    stack = frames if isinstance(frames, np.ndarray) else np.stack(list(frames))
    stack = _even_frames(stack, f"Y4M {path}")
    h, w = stack.shape[1:3]
    rate = Fraction(fps).limit_denominator(1001)
    tag = " XCOLORRANGE=FULL" if color_range == "full" else ""
    header = f"YUV4MPEG2 W{w} H{h} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg{tag}\n"
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as out:
        out.write(header.encode("ascii"))
        for image in stack:
            out.write(b"FRAME\n")
            for plane in y4m_planes(image, color_range):
                out.write(plane.tobytes())
    return Path(path)


def write_masks(labels: np.ndarray, timestamps: np.ndarray, path: Path) -> Path:
    """The cine's label maps (NxHxW uint8: 0 background, 1 nerve, 2 vessel) and timestamps, .npz."""
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as out:
        np.savez_compressed(out, labels=labels, timestamps_s=timestamps)
    return Path(path)
