"""Tests for the synthetic ultrasound phantom (edgeseg.train.synth)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeseg.train import synth

SMALL = (64, 80)


def _erode(mask: np.ndarray, steps: int) -> np.ndarray:
    """4-neighbour binary erosion (pixels outside the frame count as background)."""
    for _ in range(steps):
        m = mask.copy()
        m[1:] &= mask[:-1]
        m[:-1] &= mask[1:]
        m[:, 1:] &= mask[:, :-1]
        m[:, :-1] &= mask[:, 1:]
        m[0], m[-1], m[:, 0], m[:, -1] = False, False, False, False
        mask = m
    return mask


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """4-neighbour binary dilation."""
    for _ in range(steps):
        m = mask.copy()
        m[1:] |= mask[:-1]
        m[:-1] |= mask[1:]
        m[:, 1:] |= mask[:, :-1]
        m[:, :-1] |= mask[:, 1:]
        mask = m
    return mask


@pytest.fixture(scope="module")
def frames() -> list[tuple[np.ndarray, np.ndarray]]:
    """A dozen 128x128 frames that all contain a nerve and a vessel."""
    rng = np.random.default_rng(2024)
    return [synth.synth_frame(rng, (128, 128), nerve=True, vessel=True) for _ in range(12)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A small written dataset: 24 frames, 3 subjects."""
    out = tmp_path_factory.mktemp("synth") / "ds"
    return out, synth.write_dataset(out, 24, size=SMALL, seed=7, subjects=3)


@pytest.mark.parametrize("size", [(128, 128), (96, 160), (160, 96)])
def test_frame_shape_dtype_and_classes(size: tuple[int, int]) -> None:
    img, label = synth.synth_frame(np.random.default_rng(0), size, vessel=True)
    assert img.shape == size and label.shape == size
    assert img.dtype == np.uint8 and label.dtype == np.uint8
    assert set(np.unique(label).tolist()) <= {0, 1, 2}
    assert (label == 1).any()


def test_frame_is_deterministic() -> None:
    a = synth.synth_frame(np.random.default_rng(5), (96, 96))
    b = synth.synth_frame(np.random.default_rng(5), (96, 96))
    c = synth.synth_frame(np.random.default_rng(6), (96, 96))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_nerve_and_vessel_flags() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        _, label = synth.synth_frame(rng, (96, 96), nerve=False, vessel=False)
        assert not label.any()
        _, label = synth.synth_frame(rng, (96, 96), nerve=False, vessel=True)
        assert not (label == 1).any() and (label == 2).any()


def test_pixel_range_is_ultrasound_like(frames: list[tuple[np.ndarray, np.ndarray]]) -> None:
    pixels = np.stack([img for img, _ in frames])
    assert np.percentile(pixels, 5) < 40  # dark tissue and anechoic lumen
    assert np.percentile(pixels, 99.5) > 180  # bright fascia / skin / walls
    assert 20 < np.median(pixels) < 90


def test_nerve_has_dark_fascicles_inside_bright_rim(
    frames: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    rims, cores, dark = [], [], []
    for img, label in frames:
        nerve = label == 1
        core = _erode(nerve, 4)
        rim = nerve & ~_erode(nerve, 3)
        rims.append(img[rim].mean())
        cores.append(img[core].mean())
        dark.append(np.percentile(img[core], 10))
    assert np.mean(rims) > np.mean(cores) + 10
    assert np.median(dark) < 0.6 * np.median(rims)


def test_nerve_is_brighter_and_busier_than_background(
    frames: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    nerve = np.concatenate([img[label == 1] for img, label in frames]).astype(float)
    background = np.concatenate([img[label == 0] for img, label in frames]).astype(float)
    assert nerve.mean() > background.mean() + 15
    assert nerve.std() > 0.8 * background.std()


def test_vessel_lumen_darker_than_surroundings(
    frames: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    for img, label in frames:
        lumen = label == 2
        ring = _dilate(lumen, 4) & ~_dilate(lumen, 1) & (label == 0)
        assert img[lumen].mean() < 0.6 * img[ring].mean()


def test_mask_aligns_with_drawn_lumen(frames: list[tuple[np.ndarray, np.ndarray]]) -> None:
    offsets = [(3, 0), (-3, 0), (0, 3), (0, -3), (2, 2), (-2, 2), (2, -2), (-2, -2)]
    for img, label in frames:
        lumen = label == 2
        here = img[lumen].mean()
        assert all(here < img[np.roll(lumen, o, axis=(0, 1))].mean() for o in offsets)


def test_nerve_and_vessel_never_touch() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        _, label = synth.synth_frame(rng, (96, 96), vessel=True)
        assert not (_dilate(label == 1, 2) & (label == 2)).any()


def test_layout_and_filenames(dataset: tuple[Path, list[Path]]) -> None:
    out, paths = dataset
    names = [f"s{s:02d}_{f:04d}.png" for s in range(3) for f in range(8)]
    assert [p.name for p in paths] == names
    assert all(p.parent == out / "images" for p in paths)
    assert sorted(q.name for q in (out / "images").iterdir()) == names
    assert sorted(q.name for q in (out / "masks").iterdir()) == names
    readme = (out / "README.txt").read_text()
    assert "synthetic" in readme.lower() and "seed: 7" in readme and "n: 24" in readme
    assert "nerve=1" in readme and "vessel=2" in readme
    assert not list(out.rglob("*.tmp"))


def test_written_images_and_masks(dataset: tuple[Path, list[Path]]) -> None:
    out, paths = dataset
    for path in paths[:6]:
        img = Image.open(path)
        mask = Image.open(out / "masks" / path.name)
        assert img.mode == "L" and mask.mode == "P"
        assert img.size == mask.size == (SMALL[1], SMALL[0])
        assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 1, 2}
        palette = mask.getpalette()
        assert palette[3:6] == [255, 220, 0] and palette[6:9] == [230, 30, 30]


def test_empty_fraction_is_honoured(dataset: tuple[Path, list[Path]]) -> None:
    out, paths = dataset
    empty = [not (np.asarray(Image.open(out / "masks" / p.name)) == 1).any() for p in paths]
    assert sum(empty) == 6  # round(24 * 0.25)


def test_subjects_vary_more_than_their_frames(tmp_path: Path) -> None:
    synth.write_dataset(tmp_path, 16, size=SMALL, seed=2, empty_fraction=0.0, subjects=4)
    centres: dict[str, list[np.ndarray]] = {}
    for path in sorted((tmp_path / "masks").iterdir()):
        ys, xs = np.nonzero(np.asarray(Image.open(path)) == 1)
        centres.setdefault(path.name[:3], []).append(np.array([ys.mean(), xs.mean()]))
    within = np.mean([np.std(c, axis=0).mean() for c in centres.values()])
    between = np.std([np.mean(c, axis=0) for c in centres.values()], axis=0).mean()
    assert len(centres) == 4 and between > 2 * within


def test_write_dataset_is_byte_identical(tmp_path: Path) -> None:
    calls: list[int] = []
    a = synth.write_dataset(tmp_path / "a", 6, size=SMALL, seed=11, progress=calls.append)
    b = synth.write_dataset(tmp_path / "b", 6, size=SMALL, seed=11)
    assert calls == [1] * 6  # increments: a bar advanced by each call ends at 6, not 21
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
        mask = Path("masks") / pa.name
        assert (tmp_path / "a" / mask).read_bytes() == (tmp_path / "b" / mask).read_bytes()
    c = synth.write_dataset(tmp_path / "c", 6, size=SMALL, seed=12)
    assert a[0].read_bytes() != c[0].read_bytes()


def test_default_subject_count(tmp_path: Path) -> None:
    paths = synth.write_dataset(tmp_path, 5, size=(32, 32))
    assert {p.name[:3] for p in paths} == {"s00", "s01"}
    assert synth.write_dataset(tmp_path / "none", 0) == []


def test_imports_only_numpy_and_pillow() -> None:
    code = (
        "import sys; import edgeseg.train.synth; "
        "bad = {'tensorflow', 'scipy', 'keras', 'torch'} & set(sys.modules); "
        "sys.exit(len(bad))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
