"""Loaders (Kaggle and paired layouts), class maps, the subject-wise split, and bad data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import KAGGLE, USGRA, needs_kaggle, needs_usgra
from edgeseg.config import ClassSpec, Preprocessing, parse_classes
from edgeseg.datasets import (
    check_samples,
    discover,
    load_arrays,
    load_sample,
    read_sample_mask,
    subject_split,
)
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import read_gray, read_mask

PP = Preprocessing(height=64, width=64)
NERVE = (ClassSpec("nerve", 1),)


def _write_pair(root: Path, stem: str, img: np.ndarray, mask: Image.Image) -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(root / "images" / f"{stem}.png")
    mask.save(root / "masks" / f"{stem}.png")


def _gray(h: int = 40, w: int = 50) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (h, w), dtype=np.uint8)


def _binary_mask(h: int = 40, w: int = 50, value: int = 255) -> Image.Image:
    m = np.zeros((h, w), np.uint8)
    m[10:20, 10:30] = value
    return Image.fromarray(m)


@needs_kaggle
def test_kaggle_loader_on_real_sample():
    samples, layout = discover(KAGGLE)
    assert layout == "kaggle"
    assert len(samples) == 70
    assert {s.subject for s in samples} == {"1", "2", "10"}
    assert all(s.mask.name == f"{s.name}_mask.tif" for s in samples)
    img = read_gray(samples[0].image)
    assert img.shape == (420, 580) and img.dtype == np.uint8
    empty = sum(not read_mask(s.mask, [1]).any() for s in samples)
    assert empty == 43  # the README of the sample says 27 non-empty, 43 empty


@needs_usgra
def test_paired_loader_on_usgra_with_class_map():
    samples, layout = discover(USGRA)
    assert layout == "paired" and len(samples) == 204
    test_samples, _ = discover(USGRA / "test")
    assert len(test_samples) == 40
    classes = parse_classes("nerve=1,vessel=2")
    images, masks = load_arrays(samples[:4], PP, classes)
    assert images.shape == (4, 64, 64) and masks.shape == (4, 64, 64, 2)
    assert masks[..., 0].any() and masks[..., 1].any()
    assert not (masks[..., 0] & masks[..., 1]).any()
    # Default class map: nerve only, read from the palette index 1.
    _, nerve_only = load_sample(samples[0], PP, NERVE)
    assert nerve_only.shape == (64, 64, 1)
    assert np.array_equal(nerve_only[..., 0], masks[0, ..., 0])


def test_mask_suffix_and_binary_0_255(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(_gray()).save(tmp_path / "images" / "a.png")
    _binary_mask().save(tmp_path / "masks" / "a_mask.png")
    samples, layout = discover(tmp_path)
    assert layout == "paired" and samples[0].mask.name == "a_mask.png"
    img, mask = load_sample(samples[0], PP, NERVE)
    assert mask.max() == 1 and mask.sum() > 0


def test_subject_split_keeps_subjects_whole(synth_dir):
    samples, _ = discover(synth_dir, subject_regex=r"^(s\d+)_")
    train, val = subject_split(samples, 0.2, seed=3)
    assert {s.subject for s in train}.isdisjoint({s.subject for s in val})
    assert len(train) + len(val) == len(samples)
    assert 0.1 <= len(val) / len(samples) <= 0.45
    assert subject_split(samples, 0.2, seed=3) == (train, val)


@needs_kaggle
def test_subject_split_on_kaggle_prefix():
    samples, _ = discover(KAGGLE)
    train, val = subject_split(samples, 0.3, seed=0)
    assert {s.subject for s in train}.isdisjoint({s.subject for s in val})


def test_manifest_and_regex_subjects(tmp_path):
    for stem in ("p1_a", "p1_b", "p2_a"):
        _write_pair(tmp_path, stem, _gray(), _binary_mask())
    samples, _ = discover(tmp_path, subject_regex=r"^(p\d)_")
    assert [s.subject for s in samples] == ["p1", "p1", "p2"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("image,subject\np1_a.png,X\np1_b.png,Y\np2_a.png,X\n")
    samples, _ = discover(tmp_path, manifest=manifest)
    assert [s.subject for s in samples] == ["X", "Y", "X"]


# ---------------------------------------------------------------- bad input -> DataError
def test_missing_mask(tmp_path):
    _write_pair(tmp_path, "a", _gray(), _binary_mask())
    Image.fromarray(_gray()).save(tmp_path / "images" / "b.png")
    with pytest.raises(DataError, match=r"b\.png: no mask"):
        discover(tmp_path)


def test_corrupt_and_truncated_image(tmp_path):
    _write_pair(tmp_path, "a", _gray(), _binary_mask())
    data = (tmp_path / "images" / "a.png").read_bytes()
    (tmp_path / "images" / "a.png").write_bytes(data[: len(data) // 2])
    samples, _ = discover(tmp_path)
    with pytest.raises(DataError, match=r"a\.png: unreadable image"):
        load_sample(samples[0], PP, NERVE)
    (tmp_path / "images" / "a.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match="unreadable image"):
        load_sample(samples[0], PP, NERVE)


def test_size_mismatch(tmp_path):
    _write_pair(tmp_path, "a", _gray(40, 50), _binary_mask(41, 50))
    samples, _ = discover(tmp_path)
    with pytest.raises(DataError, match="masks must match their images"):
        load_sample(samples[0], PP, NERVE)


def test_size_mismatch_names_the_mask_and_both_sizes(tmp_path):
    _write_pair(tmp_path, "a", _gray(512, 512), _binary_mask(80, 100))
    samples, _ = discover(tmp_path)
    mask = str(tmp_path / "masks" / "a.png")
    with pytest.raises(DataError) as info:
        read_sample_mask(samples[0], [1], (512, 512))
    assert str(info.value).startswith(f"{mask}: mask is 100x80 but its image is 512x512")
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="mask is 100x80 but its image is 512x512"):
        check_samples(samples, NERVE)


def test_check_samples_reads_every_frame(tmp_path):
    _write_pair(tmp_path, "a", _gray(), _binary_mask())
    _write_pair(tmp_path, "b", _gray(), _binary_mask())
    samples, _ = discover(tmp_path)
    ticks = []
    check_samples(samples, NERVE, ticks.append)
    assert ticks == [1, 1]
    (tmp_path / "images" / "b.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"b\.png: unreadable image"):
        check_samples(samples, NERVE)


@pytest.mark.parametrize("layout", ["auto", "paired", "kaggle"])
def test_missing_data_folder_is_one_line_for_every_layout(tmp_path, layout):
    missing = tmp_path / "nope"
    with pytest.raises(DataError) as info:
        discover(missing, layout)
    assert str(info.value) == f"data folder {missing} does not exist: pass --data DIR"
    with pytest.raises(DataError, match="recorded in config.json"):
        discover(missing, layout, hint="it is recorded in config.json")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match=r"afile is a file, expected a folder: pass --data DIR"):
        discover(tmp_path / "afile", layout)


def test_paired_layout_without_images_folder(tmp_path):
    (tmp_path / "masks").mkdir()
    with pytest.raises(DataError) as info:
        discover(tmp_path, "paired")
    assert str(info.value) == (
        f"image folder {tmp_path / 'images'} does not exist: pass --data DIR"
    )


def test_sixteen_bit_and_rgb_frames_are_converted(tmp_path):
    wide = (np.arange(40 * 50, dtype=np.uint16).reshape(40, 50) * 30).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "w.png")
    img = read_gray(tmp_path / "w.png")
    assert img.dtype == np.uint8 and img.max() == (int(wide.max()) * 255 + 32767) // 65535
    rgb = np.stack([_gray()] * 3, axis=-1)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    assert np.array_equal(read_gray(tmp_path / "c.png"), _gray())


def test_non_binary_mask_without_class_map(tmp_path):
    m = np.zeros((40, 50), np.uint8)
    m[:10], m[10:20], m[20:30] = 80, 160, 240
    _write_pair(tmp_path, "a", _gray(), Image.fromarray(m))
    samples, _ = discover(tmp_path)
    with pytest.raises(DataError, match="not binary.*--classes"):
        load_sample(samples[0], PP, NERVE)


def test_empty_folder_and_unknown_layout(tmp_path):
    with pytest.raises(DataError, match="is empty"):
        discover(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="unknown layout"):
        discover(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        discover(tmp_path / "nope")


def test_single_subject_cannot_be_split(tmp_path):
    for stem in ("p1_a", "p1_b"):
        _write_pair(tmp_path, stem, _gray(), _binary_mask())
    samples, _ = discover(tmp_path, subject_regex=r"^(p\d)_")
    with pytest.raises(DataError, match="only one subject"):
        subject_split(samples)


@pytest.mark.parametrize("text", ["nerve", "nerve=x", "nerve=1,nerve=2", "bg=0"])
def test_bad_class_maps(text):
    with pytest.raises(ConfigError):
        parse_classes(text)


def test_vessel_only_palette_mask_is_an_empty_nerve_frame(tmp_path):
    label = np.zeros((40, 50), np.uint8)
    label[5:15, 5:15] = 2  # a vessel, no nerve
    mask = Image.fromarray(label, mode="P")
    mask.putpalette([0, 0, 0, 255, 220, 0, 230, 40, 40])
    mask.save(tmp_path / "m.png")
    assert read_mask(tmp_path / "m.png", [1]).sum() == 0
    both = read_mask(tmp_path / "m.png", [1, 2])
    assert both[..., 0].sum() == 0 and both[..., 1].sum() == 100
    # A grayscale 0/255 mask is binary: the foreground is the first class.
    Image.fromarray((label > 0).astype(np.uint8) * 255).save(tmp_path / "g.png")
    assert read_mask(tmp_path / "g.png", [1]).sum() == 100
