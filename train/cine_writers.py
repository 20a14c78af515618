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


def write_y4m(frames: np.ndarray | Iterable[np.ndarray], path: Path, fps: float) -> Path:
    """YUV4MPEG2 (4:2:0, full range) of gray or RGB uint8 frames: Chromium's fake camera file.

    Gray frames are the luma plane with neutral chroma (128); RGB frames go through Pillow's
    YCbCr conversion, chroma averaged over 2x2 blocks.
    """
    frames = _even_frames(
        np.asarray(list(frames) if not isinstance(frames, np.ndarray) else frames), f"Y4M {path}"
    )
    h, w = frames.shape[1:3]
    rate = Fraction(fps).limit_denominator(1001)
    header = f"YUV4MPEG2 W{w} H{h} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg\n"
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as out:
        out.write(header.encode("ascii"))
        neutral = np.full((h // 2, w // 2), 128, dtype=np.uint8).tobytes()
        for image in frames:
            out.write(b"FRAME\n")
            if image.ndim == 2:
                out.write(np.ascontiguousarray(image).tobytes() + neutral + neutral)
                continue
            ycc = np.asarray(Image.fromarray(image).convert("YCbCr"), dtype=np.float64)
            out.write(ycc[..., 0].astype(np.uint8).tobytes())
            for c in (1, 2):
                quads = ycc[..., c].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
                out.write(np.floor(quads + 0.5).astype(np.uint8).tobytes())
    return Path(path)


def write_masks(labels: np.ndarray, timestamps: np.ndarray, path: Path) -> Path:
    """The cine's label maps (NxHxW uint8: 0 background, 1 nerve, 2 vessel) and timestamps, .npz."""
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as out:
        np.savez_compressed(out, labels=labels, timestamps_s=timestamps)
    return Path(path)
