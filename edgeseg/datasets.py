"""Finding image/mask pairs, grouping frames by subject, splitting subject-wise, loading arrays.

Two layouts:
- ``kaggle``: ``<subject>_<frame>.tif`` + ``<subject>_<frame>_mask.tif`` in one folder.
- ``paired``: ``images/`` + ``masks/``; a mask has the image's stem, or the stem plus ``_mask``.
  Subjects come from ``--subject-regex`` (first group), a CSV manifest (``image,subject``), or,
  without either, each frame is its own subject.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeseg.config import ClassSpec, Preprocessing
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import IMAGE_SUFFIXES, read_gray, read_mask, resize_mask
from edgeseg.preprocess import preprocess

LAYOUTS = ("auto", "kaggle", "paired")
KAGGLE_NAME = re.compile(r"^(\d+)_(\d+)\.tiff?$", re.IGNORECASE)


@dataclass(frozen=True)
class Sample:
    """One frame: its image, its mask (None only for unlabelled data) and its subject."""

    image: Path
    mask: Path | None
    subject: str

    @property
    def name(self) -> str:
        return self.image.stem


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


DATA_HINT = "pass --data DIR"


def require_folder(root: Path, what: str = "data folder", hint: str = DATA_HINT) -> Path:
    """``root`` as a Path; a one-line DataError naming it when it is missing or a file."""
    root = Path(root)
    if root.is_dir():
        return root
    state = "is a file, expected a folder" if root.exists() else "does not exist"
    raise DataError(f"{what} {root} {state}: {hint}")


def detect_layout(root: Path, hint: str = DATA_HINT) -> str:
    """Which layout a folder has; a clear error if neither."""
    root = require_folder(root, hint=hint)
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return "paired"
    if any(KAGGLE_NAME.match(p.name) for p in root.iterdir()):
        return "kaggle"
    if (root / "images").is_dir():
        raise DataError(f"{root} has images/ but no masks/ folder beside it")
    if not any(root.iterdir()):
        raise DataError(f"data folder {root} is empty")
    raise DataError(
        f"{root}: unknown layout; expected images/ + masks/ folders, or Kaggle-style "
        "<subject>_<frame>.tif with <subject>_<frame>_mask.tif"
    )


def _kaggle_samples(root: Path, require_masks: bool) -> list[Sample]:
    samples = []
    for path in sorted(root.iterdir()):
        match = KAGGLE_NAME.match(path.name)
        if not match:
            continue
        mask = path.with_name(f"{path.stem}_mask{path.suffix}")
        if not mask.is_file():
            if require_masks:
                raise DataError(
                    f"{path}: no mask {mask.name} beside it; add it or remove the image"
                )
            mask = None
        samples.append(Sample(path, mask, match.group(1)))
    return sorted(samples, key=lambda s: (int(s.subject), int(s.name.split("_")[1])))


def _find_mask(mask_dir: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}_mask"):
        for suffix in IMAGE_SUFFIXES:
            candidate = mask_dir / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DataError(f"manifest {path}: {exc.strerror}") from exc
    if not rows or not {"image", "subject"} <= set(rows[0]):
        raise DataError(f"manifest {path}: needs a header with columns image,subject")
    return {Path(r["image"]).stem: r["subject"] for r in rows}


def subject_pattern(subject_regex: str | None) -> re.Pattern[str] | None:
    """``--subject-regex`` compiled; a one-line ConfigError if it is not a regular expression."""
    if not subject_regex:
        return None
    try:
        return re.compile(subject_regex)
    except re.error as exc:
        raise ConfigError(
            f"--subject-regex {subject_regex!r}: not a regular expression ({exc})"
        ) from exc


def _paired_samples(
    root: Path, subject_regex: str | None, manifest: Path | None, require_masks: bool
) -> list[Sample]:
    images = _images_in(root / "images")
    pattern = subject_pattern(subject_regex)
    subjects = _read_manifest(manifest) if manifest else {}
    samples = []
    for image in images:
        mask = _find_mask(root / "masks", image.stem)
        if mask is None and require_masks:
            raise DataError(
                f"{image}: no mask masks/{image.stem}.png (or {image.stem}_mask.*); "
                "add it or remove the image"
            )
        if pattern:
            match = pattern.search(image.name)
            if not match:
                raise DataError(f"{image.name}: --subject-regex {subject_regex!r} does not match")
            subject = match.group(1) if match.groups() else match.group(0)
        elif subjects:
            if image.stem not in subjects:
                raise DataError(f"{image.name}: not listed in manifest {manifest}")
            subject = subjects[image.stem]
        else:
            subject = image.stem
        samples.append(Sample(image, mask, subject))
    return samples


def discover(
    root: Path,
    layout: str = "auto",
    subject_regex: str | None = None,
    manifest: Path | None = None,
    require_masks: bool = True,
    hint: str = DATA_HINT,
) -> tuple[list[Sample], str]:
    """List the frames of a dataset folder; returns (samples, layout).

    A missing folder (or a paired layout's missing ``images/``) is a one-line DataError ending
    in ``hint`` (what the user should do, e.g. "pass --data DIR").
    """
    if layout not in LAYOUTS:
        raise DataError(f"--layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    root = require_folder(root, hint=hint)
    found = detect_layout(root, hint) if layout == "auto" else layout
    if found == "kaggle":
        samples = _kaggle_samples(root, require_masks)
    else:
        require_folder(root / "images", "image folder", hint)
        samples = _paired_samples(root, subject_regex, manifest, require_masks)
    if not samples:
        raise DataError(f"{root}: no images found ({found} layout)")
    return samples, found


def subject_split(
    samples: Sequence[Sample], val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[Sample], list[Sample]]:
    """Split by subject so that no subject's frames are in both parts (seeded, ~val_fraction)."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"validation fraction {val_fraction} must be between 0 and 1")
    subjects = sorted({s.subject for s in samples})
    if len(subjects) < 2:
        raise DataError(
            f"only one subject ({subjects[0]}) in the data: a subject-wise split needs two or more"
        )
    random.Random(seed).shuffle(subjects)
    target = val_fraction * len(samples)
    counts = {subj: 0 for subj in subjects}
    for s in samples:
        counts[s.subject] += 1
    val_subjects: set[str] = set()
    taken = 0
    for subj in subjects:
        if taken >= target or len(val_subjects) == len(subjects) - 1:
            break
        val_subjects.add(subj)
        taken += counts[subj]
    train = [s for s in samples if s.subject not in val_subjects]
    val = [s for s in samples if s.subject in val_subjects]
    return train, val


def read_sample_mask(
    sample: Sample, values: Sequence[int], frame_shape: tuple[int, ...]
) -> np.ndarray:
    """A frame's HxWxC binary masks; DataError naming the mask if its size is not the frame's."""
    if sample.mask is None:
        raise DataError(f"{sample.image}: no mask")
    mask = read_mask(sample.mask, values)
    h, w = frame_shape[:2]
    if mask.shape[:2] != (h, w):
        raise DataError(
            f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
            f"{w}x{h}; masks must match their images"
        )
    return mask


def check_samples(
    samples: Sequence[Sample],
    classes: Sequence[ClassSpec],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Read every frame and its mask once: DataError for the first unreadable or mismatched one.

    For data that is only read later (a test split), so a bad frame fails before any training.
    """
    values = [c.value for c in classes]
    for sample in samples:
        read_sample_mask(sample, values, read_gray(sample.image).shape)
        if progress:
            progress(1)


def load_sample(
    sample: Sample, pp: Preprocessing, classes: Sequence[ClassSpec]
) -> tuple[np.ndarray, np.ndarray]:
    """One frame -> (uint8 HxW model input, uint8 HxWxC binary masks at the model size)."""
    frame = read_gray(sample.image)
    mask = read_sample_mask(sample, [c.value for c in classes], frame.shape)
    return preprocess(frame, pp), resize_mask(mask, pp.size)


def load_arrays(
    samples: Sequence[Sample],
    pp: Preprocessing,
    classes: Sequence[ClassSpec],
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load frames into memory: images (N, H, W) uint8 and masks (N, H, W, C) uint8 in {0, 1}."""
    images = np.zeros((len(samples), *pp.size), dtype=np.uint8)
    masks = np.zeros((len(samples), *pp.size, len(classes)), dtype=np.uint8)
    for i, sample in enumerate(samples):
        images[i], masks[i] = load_sample(sample, pp, classes)
        if progress:
            progress(1)
    return images, masks
