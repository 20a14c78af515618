"""Calibration frames for post-training int8: load them, guard their count, build a good subset.

Post-training quantization measures each tensor's range on a few hundred representative frames;
the ranges fix the int8 scales for good. Frames go through exactly the run's preprocessing
(``edgeseg.preprocess``), so any size, RGB or 16-bit source works. Guards: fewer than
``MIN_IMAGES`` readable frames is an error, fewer than ``RECOMMENDED_IMAGES`` a warning, and the
count used is always reported. ``build_calibration_set`` picks a subset stratified over
brightness, contrast, mask area, empty/non-empty frames and subjects.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.config import Preprocessing
from edgeseg.contract import float_input
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import IMAGE_SUFFIXES, MAX_PIXELS, read_gray, read_label, resize_gray
from edgeseg.io import (
    building_folder,
    carry_over,
    check_not_overlapping,
    check_output_folder,
    write_text_atomic,
)
from edgeseg.preprocess import preprocess

MIN_IMAGES = 8  # below this, int8 ranges are a guess: refuse
RECOMMENDED_IMAGES = 100  # below this, warn
MAX_IMAGES = 500  # more adds conversion time, not accuracy; an even subset is used
MAX_BUILD = 100_000  # the most frames `calibration build --n` takes
MANIFEST = "manifest.csv"
MANIFEST_FIELDS = ("file", "source", "subject", "mean", "std", "mask_area", "empty", "stratum")
REBUILD_HINT = "edgeseg calibration build --from DIR"


DEFAULT_DIR_NAME = "calibration_data"


def packaged_calibration_dir() -> Path:
    """The synthetic phantom set shipped with edgeseg.

    ``calibration_data/`` at the repository root in a source checkout; pyproject installs the
    same folder as package data at ``edgeseg/calibration_data``, which is the same path relative
    to this module (``convert/`` installs as ``edgeseg/convert``).
    """
    return Path(__file__).resolve().parents[1] / DEFAULT_DIR_NAME


def default_calibration_dir() -> Path:
    """``./calibration_data`` in the current folder when it exists, else the packaged set."""
    local = Path.cwd() / DEFAULT_DIR_NAME
    return local if local.is_dir() else packaged_calibration_dir()


def _default_note(folder: Path, count: int) -> str:
    """The one-line warning when no ``--calibration`` was given: which folder was used."""
    if folder.resolve() == packaged_calibration_dir().resolve():
        what = f"the synthetic phantoms shipped with edgeseg ({folder}; no ./{DEFAULT_DIR_NAME})"
    else:
        what = f"./{DEFAULT_DIR_NAME} ({folder})"
    return (
        f"no --calibration given: calibrated on {count} frames from {what}; pass --calibration "
        "DIR with 100-500 frames like the deployment data"
    )


@dataclass(frozen=True)
class CalibrationSet:
    """Preprocessed uint8 frames (N, H, W) ready to calibrate, and what happened loading them."""

    images: np.ndarray
    source: str
    unreadable: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    available: int = 0

    @property
    def count(self) -> int:
        return len(self.images)

    def representative_dataset(self) -> Callable[[], Iterator[list[np.ndarray]]]:
        """The converter's ``representative_dataset``: one float32 (1, H, W, 1) frame at a time."""
        images = self.images

        def gen() -> Iterator[list[np.ndarray]]:
            for img in images:
                yield [float_input(img)]

        return gen

    def summary(self) -> str:
        skipped = f", {len(self.unreadable)} unreadable skipped" if self.unreadable else ""
        capped = self.available > self.count + len(self.unreadable)
        of = f" of {self.available}" if capped else ""
        return f"calibrated on {self.count}{of} frames from {self.source}{skipped}"


def _image_files(folder: Path) -> list[Path]:
    root = folder / "images" if (folder / "images").is_dir() else folder
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _evenly(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    idx = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in idx]


def load_calibration(
    source: Path | str | np.ndarray | None,
    pp: Preprocessing,
    min_images: int = MIN_IMAGES,
    recommended: int = RECOMMENDED_IMAGES,
    max_images: int = MAX_IMAGES,
    log: Callable[[str], None] | None = None,
) -> CalibrationSet:
    """Frames for calibration from a folder (``DIR/images`` or ``DIR``) or an array.

    ``source=None`` uses :func:`default_calibration_dir` (``./calibration_data``, else the
    packaged set) and warns which one was used. A folder's frames are read with
    ``read_gray`` and preprocessed with ``pp``; unreadable files are skipped and reported. An
    array must already be preprocessed model inputs, uint8 (N, H, W) at ``pp``'s size.
    """
    say = log or (lambda _m: None)
    unreadable: list[tuple[str, str]] = []
    if isinstance(source, np.ndarray):
        images = source[..., 0] if source.ndim == 4 and source.shape[-1] == 1 else source
        if images.ndim != 3 or images.shape[1:] != pp.size or images.dtype != np.uint8:
            raise ConfigError(
                f"calibration array is {images.dtype} {tuple(images.shape)}: expected uint8 "
                f"(N, {pp.height}, {pp.width}) preprocessed model inputs"
            )
        name, available = "the given array", len(images)
        images = np.stack(_evenly(list(images), max_images)) if len(images) else images
    else:
        folder = Path(source) if source is not None else default_calibration_dir()
        name = str(folder)
        if not folder.is_dir():
            state = "is a file, expected a folder" if folder.exists() else "does not exist"
            raise ConfigError(
                f"calibration folder {folder} {state}: pass --calibration DIR with "
                f"100-500 frames like the deployment data, or make one with `{REBUILD_HINT}`"
            )
        files = _image_files(folder)
        if not files:
            raise ConfigError(
                f"calibration folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)}): "
                f"pass --calibration DIR with 100-500 frames, or `{REBUILD_HINT}`"
            )
        available = len(files)
        frames = []
        for path in _evenly(files, max_images):
            try:
                frames.append(preprocess(read_gray(path), pp))
            except DataError as exc:
                unreadable.append((path.name, str(exc)))
        if unreadable:
            shown = ", ".join(n for n, _ in unreadable[:5])
            more = f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""
            say(f"skipped {len(unreadable)} unreadable calibration file(s): {shown}{more}")
        images = np.stack(frames) if frames else np.zeros((0, *pp.size), np.uint8)
    if len(images) < min_images:
        bad = f" ({len(unreadable)} unreadable)" if unreadable else ""
        raise ConfigError(
            f"only {len(images)} usable calibration frames in {name}{bad}: int8 calibration "
            f"needs at least {min_images} ({recommended}+ recommended); pass --calibration DIR"
        )
    warnings: list[str] = []
    if source is None:  # one warning naming the folder (it also covers a small default set)
        warnings.append(_default_note(folder, len(images)))
    elif len(images) < recommended:
        warnings.append(
            f"only {len(images)} calibration frames (recommended: {recommended}+): int8 ranges "
            "may not cover the deployment data; pass --calibration DIR"
        )
    result = CalibrationSet(
        images=images,
        source=name,
        unreadable=tuple(unreadable),
        warnings=tuple(warnings),
        available=available,
    )
    say(result.summary())
    return result


# ----------------------------------------------------------------------------- building a set


@dataclass
class _Frame:
    path: Path
    subject: str
    mean: float
    std: float
    mask_area: float  # fraction of pixels; NaN without a mask
    stratum: str = ""

    @property
    def empty(self) -> bool | None:
        return None if np.isnan(self.mask_area) else self.mask_area == 0.0


def _tertile(values: np.ndarray, v: float) -> int:
    if len(values) < 3:
        return 0
    lo, hi = np.quantile(values, [1 / 3, 2 / 3])
    return int(v > lo) + int(v > hi)


def _strata(frames: list[_Frame]) -> None:
    """Label each frame with brightness x contrast x (empty | mask-area tertile) bins."""
    means = np.array([f.mean for f in frames])
    stds = np.array([f.std for f in frames])
    areas = np.array([f.mask_area for f in frames if f.empty is False])
    for f in frames:
        key = f"b{_tertile(means, f.mean)}c{_tertile(stds, f.std)}"
        if f.empty is True:
            key += "-empty"
        elif f.empty is False:
            key += f"-a{_tertile(areas, f.mask_area)}"
        f.stratum = key


def _allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Share ``n`` picks over strata in proportion to their sizes (largest remainder)."""
    total = sum(sizes.values())
    exact = {k: n * s / total for k, s in sizes.items()}
    out = {k: min(sizes[k], int(e)) for k, e in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - int(exact[k]), reverse=True):
        if sum(out.values()) >= n:
            break
        if out[k] < sizes[k]:
            out[k] += 1
    while sum(out.values()) < n:  # strata that were too small hand their share on
        k = max((k for k in sizes if out[k] < sizes[k]), key=lambda k: sizes[k] - out[k])
        out[k] += 1
    return out


def _pick(frames: list[_Frame], n: int, rng: np.random.Generator) -> list[_Frame]:
    """A stratified pick. Strata take turns; each turn takes the stratum's frame whose subject
    has been picked least so far (seeded order breaks ties), so subjects spread evenly."""
    if len(frames) <= n:
        return frames
    groups: dict[str, list[_Frame]] = defaultdict(list)
    for f in frames:
        groups[f.stratum].append(f)
    quota = _allocate({g: len(v) for g, v in groups.items()}, n)
    pools = {k: [v[i] for i in rng.permutation(len(v))] for k, v in groups.items()}
    taken: Counter[str] = Counter()
    picks: list[_Frame] = []
    while len(picks) < n:
        for key in sorted(pools):
            if quota[key] == 0:
                continue
            pool = pools[key]
            best = min(range(len(pool)), key=lambda i, pool=pool: taken[pool[i].subject])
            frame = pool.pop(best)
            picks.append(frame)
            taken[frame.subject] += 1
            quota[key] -= 1
    return sorted(picks, key=lambda f: str(f.path))


def build_calibration_set(
    from_dir: Path,
    out_dir: Path,
    n: int = 200,
    seed: int = 0,
    layout: str = "auto",
    subject_regex: str | None = None,
    manifest: Path | None = None,
    size: tuple[int, int] | None = None,
    mask_value: int | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    max_pixels: int = MAX_PIXELS,
) -> Path:
    """Pick ``n`` representative frames of a dataset into ``out_dir/images`` + ``manifest.csv``.

    Strata: mean intensity and contrast (std) tertiles, and, where masks exist, empty vs.
    mask-area tertiles (area of ``mask_value``, or of any labelled pixel when None); picks are
    shared over strata in proportion and spread over subjects.
    Frames are written as 8-bit gray PNGs (resized to ``size`` = (h, w) if given). The new set
    (``images/`` + ``manifest.csv``, the manifest last) is built beside ``out_dir`` and swapped
    in whole (``edgeseg.io.building_folder``): an interruption leaves the old set as it was.
    Other files in ``out_dir`` (a README) are kept. ``out_dir`` may not contain, or lie inside,
    ``from_dir``. Returns the manifest path.
    """
    from edgeseg.config import check_count, check_seed
    from edgeseg.datasets import discover

    out_dir = check_output_folder(Path(out_dir), "--out")
    check_not_overlapping(out_dir, {"--from": Path(from_dir)})
    check_seed(seed)
    check_count(n, "--n", MIN_IMAGES, MAX_BUILD)
    if size is not None:
        for side in size:
            check_count(side, "--size", 16, 4096)
    target = out_dir / "images"
    if (target.exists() or (out_dir / MANIFEST).exists()) and not force:
        raise ConfigError(f"{out_dir} already holds a calibration set: pass --force to replace it")
    samples, _ = discover(
        from_dir, layout, subject_regex, manifest, require_masks=False, hint="pass --from DIR"
    )
    frames: list[_Frame] = []
    for sample in samples:
        if progress is not None:
            progress(1)  # one more frame looked at (an increment, as Bar.advance takes)
        try:
            img = read_gray(sample.image, max_pixels=max_pixels)
        except DataError:
            continue  # unreadable frames are not candidates
        area = float("nan")
        if sample.mask is not None:
            with contextlib.suppress(DataError):
                label = read_label(sample.mask)
                hits = label != 0 if mask_value is None else label == mask_value
                area = float(np.count_nonzero(hits)) / label.size
        frames.append(
            _Frame(sample.image, sample.subject, float(img.mean()), float(img.std()), area)
        )
    if len(frames) < MIN_IMAGES:
        raise DataError(
            f"{from_dir}: only {len(frames)} readable frames; a calibration set needs "
            f"at least {MIN_IMAGES}"
        )
    _strata(frames)
    chosen = _pick(frames, n, np.random.default_rng(seed))
    _write_set(out_dir, chosen, size, force)
    return out_dir / MANIFEST


def _manifest_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _write_set(
    out_dir: Path, chosen: list[_Frame], size: tuple[int, int] | None, force: bool
) -> None:
    """Build ``images/`` and ``manifest.csv`` beside ``out_dir``; swap the folder in when done."""
    if (out_dir / "images").exists() and not force:
        raise ConfigError(f"{out_dir / 'images'} exists: pass --force to replace it")
    with building_folder(out_dir) as tmp:
        carry_over(out_dir, tmp, {"images", MANIFEST})
        (tmp / "images").mkdir()
        rows = []
        for i, f in enumerate(chosen):
            img = read_gray(f.path)
            if size is not None:
                img = resize_gray(img, size)
            name = f"{i:04d}_{f.path.stem}.png"
            Image.fromarray(img).save(tmp / "images" / name, format="PNG", optimize=True)
            rows.append(
                {
                    "file": f"images/{name}",
                    "source": str(f.path),
                    "subject": f.subject,
                    "mean": f"{f.mean:.2f}",
                    "std": f"{f.std:.2f}",
                    "mask_area": "" if np.isnan(f.mask_area) else f"{f.mask_area:.5f}",
                    "empty": "" if f.empty is None else int(f.empty),
                    "stratum": f.stratum,
                }
            )
        (tmp / MANIFEST).write_text(
            _manifest_text(rows), encoding="utf-8"
        )  # last: the set is whole


def write_synthetic_set(
    out_dir: Path, n: int = 32, size: tuple[int, int] = (128, 128), seed: int = 2024
) -> Path:
    """The repository's small synthetic calibration set (phantom frames and masks + manifest).

    Regenerates ``calibration_data/``: ``images/``, ``masks/``, ``README.txt`` from
    ``edgeseg.train.synth.write_dataset``, then ``manifest.csv``. Same seed, same bytes.
    """
    from edgeseg.train.synth import write_dataset

    out_dir = Path(out_dir)
    paths = write_dataset(out_dir, n, size=size, seed=seed)
    frames = []
    for p in paths:
        img = read_gray(p)
        label = read_label(out_dir / "masks" / p.name)
        frames.append(
            _Frame(
                p,
                p.stem.split("_")[0],
                float(img.mean()),
                float(img.std()),
                float(np.count_nonzero(label == 1)) / label.size,
            )
        )
    _strata(frames)
    rows = [
        {
            "file": f"images/{f.path.name}",
            "source": f"synth seed={seed}",
            "subject": f.subject,
            "mean": f"{f.mean:.2f}",
            "std": f"{f.std:.2f}",
            "mask_area": f"{f.mask_area:.5f}",
            "empty": int(bool(f.empty)),
            "stratum": f.stratum,
        }
        for f in frames
    ]
    return write_text_atomic(out_dir / MANIFEST, _manifest_text(rows))
