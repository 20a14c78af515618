"""Synthetic B-mode ultrasound phantom for nerve-block segmentation.

The kit's embedded default dataset and its test data. Each frame is rendered from a
"subject" anatomy (skin, subcutaneous fat, striated muscle layers and a muscle belly bounded
by hyperechoic fascia, a honeycomb nerve, an anechoic vessel, sometimes a bone surface with
its shadow) seen through a "probe pose" (shift, slight scale, probe pressure). The tissue
echogenicity map is multiplied by Rayleigh speckle whose grain is elongated laterally,
attenuated with depth, partially compensated by a time-gain curve and compressed for display.

Only numpy and Pillow are imported: tests use this module on machines without TensorFlow.
Sizes are ``(height, width)``. Geometry is in "depth units": y in [0, 1] over the image
height and x in [0, width / height], so circles stay circles in non-square frames.

Class map: 0 background, 1 nerve (outer oval incl. epineurium), 2 vessel (lumen).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.datasets import COMPLETE_MARK, DATASET_README, SYNTH_HEADER
from edgeseg.train.phantom_anatomy import (
    BACKGROUND,
    CLASS_NAMES,
    NERVE,
    PALETTE,
    VESSEL,
    _sample_anatomy,
    _sample_pose,
)
from edgeseg.train.phantom_render import (
    _render,
)

__all__ = [
    "BACKGROUND",
    "CLASS_NAMES",
    "NERVE",
    "PALETTE",
    "VESSEL",
    "synth_frame",
    "write_dataset",
]


# ----------------------------------------------------------------------------- public API


def synth_frame(
    rng: np.random.Generator,
    size: tuple[int, int] = (128, 128),
    nerve: bool = True,
    vessel: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (image uint8 HxW, label uint8 HxW with 0 background, 1 nerve, 2 vessel).

    A fresh random subject seen from a random probe pose. ``vessel=None`` draws one with
    probability 0.7; ``vessel=True`` asks for one (placed unless no room is found).
    """
    size = (int(size[0]), int(size[1]))
    anat = _sample_anatomy(rng, size, vessel)
    return _render(anat, _sample_pose(rng), size, rng, nerve)


def _split_counts(n: int, subjects: int) -> list[int]:
    """Frames per subject, as even as possible."""
    return [n // subjects + (1 if k < n % subjects else 0) for k in range(subjects)]


def _gray_image(img: np.ndarray) -> Image.Image:
    """An 8-bit 'L' image of a uint8 array."""
    h, w = img.shape
    return Image.frombytes("L", (w, h), np.ascontiguousarray(img).tobytes())


def _mask_image(label: np.ndarray) -> Image.Image:
    """A palette ('P') image of the label with a viewable palette."""
    h, w = label.shape
    im = Image.frombytes("P", (w, h), np.ascontiguousarray(label).tobytes())
    im.putpalette(PALETTE)
    return im


README = DATASET_README  # written last; its last line (COMPLETE_MARK) says the set is whole
MAX_FRAMES = 1_000_000
MAX_SIDE = 4096


def readme_text(n: int, size: tuple[int, int], seed: int, subjects: int) -> str:
    """The README of a synthetic dataset; its last line marks the dataset complete."""
    return (
        f"Synthetic ultrasound nerve-block phantom {SYNTH_HEADER}.\n"
        "These are NOT real patient images.\n"
        f"seed: {seed}\nn: {n}\nsize (height, width): {size[0]}, {size[1]}\n"
        f"subjects: {subjects}\n"
        "layout: images/<subject>_<frame>.png (8-bit L), masks/<subject>_<frame>.png (P)\n"
        "class map: background=0, nerve=1, vessel=2\n"
        f"{COMPLETE_MARK}, {n} frames\n"
    )


def _check_options(n: int, size: tuple[int, int], seed: int, empty_fraction: float) -> None:
    """One-line ConfigErrors for out-of-range options, before anything is written."""
    from edgeseg.config import check_count, check_seed
    from edgeseg.errors import ConfigError

    check_seed(seed)
    check_count(n, "--n", 0, MAX_FRAMES)
    for side in size:
        check_count(side, "--size", 16, MAX_SIDE)
    if not 0.0 <= float(empty_fraction) <= 1.0:
        raise ConfigError(f"--empty-fraction {empty_fraction}: expected 0 to 1")


def write_dataset(
    out: Path,
    n: int,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    empty_fraction: float = 0.25,
    subjects: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write the paired-folder layout and return the image paths.

    ``out/images/s{subject:02d}_{frame:04d}.png`` (8-bit L) and the same names under
    ``out/masks`` (palette PNG: 0 background, 1 nerve in yellow, 2 vessel in red). Each
    subject has its own anatomy; its frames are small probe moves with fresh speckle.
    Exactly ``round(n * empty_fraction)`` frames have no nerve. ``progress(1)`` follows
    each frame written (an increment, as ``edgeseg.progress.Bar.advance`` takes).
    Same seed -> byte-identical files.

    Atomic: the dataset is built in a temporary sibling of ``out`` and swapped in whole when
    complete (``edgeseg.io.building_folder``); an interruption leaves ``out`` as it was. An
    existing ``images/``, ``masks/`` and ``README.txt`` in ``out`` are replaced, anything else
    there is kept. ``README.txt`` is written last and ends with ``COMPLETE_MARK``.
    """
    from edgeseg.io import building_folder, carry_over

    out = Path(out)
    size = (int(size[0]), int(size[1]))
    _check_options(int(n), size, seed, empty_fraction)
    n_subj = max(2, n // 8) if subjects is None else int(subjects)
    n_subj = max(1, min(n_subj, max(n, 1)))
    n_empty = int(round(n * float(np.clip(empty_fraction, 0.0, 1.0))))
    empty = set(np.random.default_rng(seed).permutation(n)[:n_empty].tolist())
    seeds = np.random.SeedSequence(seed).spawn(n_subj)
    names: list[str] = []
    with building_folder(out) as tmp:
        carry_over(out, tmp, {"images", "masks", README})
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        for subj, count in enumerate(_split_counts(n, n_subj)):
            rng = np.random.default_rng(seeds[subj])
            anat = _sample_anatomy(rng, size)
            for frame in range(count):
                img, label = _render(anat, _sample_pose(rng), size, rng, len(names) not in empty)
                name = f"s{subj:02d}_{frame:04d}.png"
                _gray_image(img).save(tmp / "images" / name, format="PNG")
                _mask_image(label).save(tmp / "masks" / name, format="PNG")
                names.append(name)
                if progress is not None:
                    progress(1)
        (tmp / README).write_text(readme_text(n, size, seed, n_subj), encoding="utf-8")
    return [out / "images" / name for name in names]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "synth_preview")
    written = write_dataset(target, 12, size=(256, 256), seed=0)
    print(f"wrote {len(written)} frames to {target}")
