"""``edgeseg data check``: is a dataset folder usable for training? (numpy + Pillow only)"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.config import ClassSpec
from edgeseg.datasets import DATASET_README, Sample, claimed_frames, discover
from edgeseg.errors import DataError
from edgeseg.imaging import MAX_PIXELS, read_gray, read_mask
from edgeseg.metrics import dice


@dataclass
class CheckReport:
    """Findings; ``problems`` make the data unusable as it is, ``warnings`` do not."""

    layout: str = ""
    frames: int = 0
    subjects: int = 0
    sizes: Counter = field(default_factory=Counter)
    empty_masks: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problems and self.frames > 0

    def lines(self) -> list[str]:
        sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in self.sizes.most_common(5))
        out = [
            f"layout: {self.layout}",
            f"frames: {self.frames} in {self.subjects} subject(s)",
            f"sizes: {sizes or '-'}",
            f"empty masks: {self.empty_masks}",
        ]
        out += [f"problem: {p}" for p in self.problems]
        out += [f"warning: {w}" for w in self.warnings]
        out.append("verdict: " + ("usable" if self.usable else "NOT usable (fix the problems)"))
        return out


def _thumb_key(img: np.ndarray) -> bytes:
    """A coarse fingerprint for near-duplicate detection (16x16 mean, quantised to 16 levels)."""
    small = np.asarray(Image.fromarray(img).resize((16, 16), Image.BOX), dtype=np.uint8)
    return (small // 16).tobytes()


def check_dataset(
    root: Path,
    classes: tuple[ClassSpec, ...],
    layout: str = "auto",
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    max_pixels: int = MAX_PIXELS,
    subject_regex: str | None = None,
    manifest: Path | None = None,
) -> CheckReport:
    """Read every pair once and report counts, sizes, emptiness, unreadable files, mismatches
    and near-duplicate frames whose masks contradict each other.

    Subjects are found as ``train`` finds them (``subject_regex`` or ``manifest``, else one per
    frame), so the verdict and the warnings speak of the split training would make.
    """
    report = CheckReport()
    try:
        samples, report.layout = discover(
            Path(root),
            layout,
            subject_regex,
            manifest,
            require_masks=False,
            hint="pass an existing dataset folder",
        )
    except DataError as exc:
        report.problems.append(str(exc))
        return report
    if total:
        total(len(samples))
    report.subjects = len({s.subject for s in samples})
    _check_completeness(Path(root), len(samples), report)
    _check_ignored_files(Path(root), report.layout, samples, report)
    groups: dict[bytes, list[tuple[str, np.ndarray]]] = defaultdict(list)
    values = [c.value for c in classes]
    for sample in samples:
        if progress:
            progress(1)
        if sample.mask is None:
            report.problems.append(f"{sample.image}: no mask")
            continue
        try:
            img = read_gray(sample.image, max_pixels)
            mask = read_mask(sample.mask, values, max_pixels)[..., 0]
        except DataError as exc:
            report.problems.append(str(exc))
            continue
        if mask.shape != img.shape:
            report.problems.append(
                f"{sample.mask}: {mask.shape[1]}x{mask.shape[0]} mask for a "
                f"{img.shape[1]}x{img.shape[0]} image"
            )
            continue
        report.frames += 1
        report.sizes[(img.shape[1], img.shape[0])] += 1
        report.empty_masks += int(not mask.any())
        groups[_thumb_key(img)].append((sample.name, mask))
    _check_training_would_run(report, values)
    for members in groups.values():
        for i in range(1, len(members)):
            (name_a, mask_a), (name_b, mask_b) = members[0], members[i]
            if mask_a.shape == mask_b.shape and dice(mask_a, mask_b) < 0.5:
                report.warnings.append(
                    f"near-duplicate images {name_a} and {name_b} have contradictory masks "
                    f"(mask Dice {dice(mask_a, mask_b):.2f})"
                )
    return report


def _check_completeness(root: Path, found: int, report: CheckReport) -> None:
    """A dataset whose edgeseg README claims another frame count is incomplete (interrupted)."""
    claimed, complete = claimed_frames(root)
    if claimed is not None and claimed != found:
        report.problems.append(
            f"{root / DATASET_README} says {claimed} frames but {found} are there: the dataset is "
            "incomplete (interrupted?); regenerate it with `edgeseg data synth --force`"
        )
    elif claimed is not None and not complete:
        report.warnings.append(
            f"{root / DATASET_README} has no completion mark (written by an older edgeseg); "
            "the frame count matches"
        )


def _check_ignored_files(
    root: Path, layout: str, samples: list[Sample], report: CheckReport
) -> None:
    """Files that ``train`` would silently skip: say so, since training would not see them."""
    used = {s.image for s in samples} | {s.mask for s in samples if s.mask is not None}
    folders = [root / "images", root / "masks"] if layout == "paired" else [root]
    ignored = [
        p
        for folder in folders
        if folder.is_dir()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".") and p not in used
        and not (layout == "kaggle" and p.name == DATASET_README)
    ]  # fmt: skip
    if ignored:
        more = f" and {len(ignored) - 3} more" if len(ignored) > 3 else ""
        shown = ", ".join(p.name for p in ignored[:3])
        report.warnings.append(
            f"{len(ignored)} file(s) that training ignores (not an image with its mask): "
            f"{shown}{more}"
        )


def _check_training_would_run(report: CheckReport, values: list[int]) -> None:
    """What ``train`` needs beyond readable pairs: two subjects to split, some foreground."""
    if report.frames and report.subjects < 2:
        report.warnings.append(
            "one subject only: `edgeseg train` splits by subject and needs two or more; "
            "pass --val-data DIR or --subject-regex"
        )
    if report.frames and report.empty_masks == report.frames:
        report.warnings.append(
            f"every mask is empty for the class values {values}: training learns nothing; "
            "check --classes (e.g. nerve=1,vessel=2 or nerve=255)"
        )
