"""Reading a runtime frame: EXIF orientation and the downsampling rule (contract section 0)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from edgeseg.errors import DataError
from edgeseg.imaging import (
    EXIF_ORIENTATION_TAG,
    FRAME_PIXELS,
    exif_orientation,
    orient_gray,
    read_frame,
    read_gray,
    reduce_factor,
    reduce_gray,
)


def _gray(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def _save(path, arr: np.ndarray, orientation: int | None) -> None:
    img = Image.fromarray(arr)
    exif = Image.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION_TAG] = orientation
    img.save(path, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_gray_matches_pillow_exif_transpose(tmp_path, orientation):
    stored = _gray(5, 7, seed=orientation)
    path = tmp_path / f"o{orientation}.png"
    _save(path, stored, orientation)
    with Image.open(path) as img:
        assert exif_orientation(img) == orientation
        want = np.asarray(ImageOps.exif_transpose(img).convert("L"))
    got = orient_gray(stored, orientation)
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    assert np.array_equal(read_frame(path), want)
    assert np.array_equal(read_gray(path), stored)  # training data: as stored


@pytest.mark.parametrize("code", [0, 9, 255])
def test_unknown_orientation_codes_leave_the_frame(code):
    stored = _gray(3, 4)
    assert orient_gray(stored, code) is stored


def test_missing_exif_is_orientation_1(tmp_path):
    path = tmp_path / "plain.png"
    Image.fromarray(_gray(4, 6)).save(path)
    with Image.open(path) as img:
        assert exif_orientation(img) == 1


# width, height, limit -> factor
FACTORS = [
    (2048, 2048, FRAME_PIXELS, 1),
    (2049, 2048, FRAME_PIXELS, 2),
    (6000, 4000, FRAME_PIXELS, 3),  # a 24 MP photo -> 2000x1334
    (6120, 4080, FRAME_PIXELS, 3),
    (1, 1, 1, 1),
    (3, 1, 1, 3),
    (300, 200, 10_000, 3),
]


@pytest.mark.parametrize(("width", "height", "limit", "factor"), FACTORS)
def test_reduce_factor_is_the_smallest_that_fits(width, height, limit, factor):
    f = reduce_factor(width, height, limit)
    assert f == factor

    def fits(k: int) -> bool:
        return -(-width // k) * -(-height // k) <= limit

    assert fits(f) and (f == 1 or not fits(f - 1))


def test_reduce_factor_refuses_empty_frames():
    with pytest.raises(DataError):
        reduce_factor(0, 10)


def _slow_reduce(gray: np.ndarray, f: int) -> np.ndarray:
    h, w = gray.shape
    out = np.zeros((-(-h // f), -(-w // f)), dtype=np.uint8)
    for oy in range(out.shape[0]):
        for ox in range(out.shape[1]):
            block = gray[oy * f : (oy + 1) * f, ox * f : (ox + 1) * f].astype(int)
            n = block.size
            out[oy, ox] = (int(block.sum()) + n // 2) // n
    return out


REDUCTIONS = [(9, 7, 2), (10, 12, 3), (5, 5, 5), (13, 4, 4), (6, 6, 1)]


@pytest.mark.parametrize(("h", "w", "f"), REDUCTIONS)
def test_reduce_gray_is_the_rounded_block_mean(h, w, f):
    gray = _gray(h, w, seed=h * w + f)
    assert np.array_equal(reduce_gray(gray, f), _slow_reduce(gray, f))


def test_reduce_gray_rounds_half_up():
    # a 2x1 edge block of 1 and 2 -> 1.5 -> 2; a 2x2 block summing to 6 -> 1.5 -> 2
    gray = np.array([[1, 2, 1], [2, 1, 1]], dtype=np.uint8)
    assert reduce_gray(gray, 2).tolist() == [[2, 1]]


def test_read_frame_reduces_in_stored_orientation_then_turns(tmp_path):
    stored = _gray(200, 301, seed=5)  # 301 is not a multiple of 3: edge blocks are partial
    path = tmp_path / "big.png"
    _save(path, stored, 6)
    got = read_frame(path, frame_pixels=10_000)
    assert reduce_factor(301, 200, 10_000) == 3
    want = np.rot90(_slow_reduce(stored, 3), -1)
    assert got.shape == (101, 67)
    assert np.array_equal(got, want)


def test_read_frame_keeps_frames_at_the_limit(tmp_path):
    stored = _gray(100, 100)
    path = tmp_path / "ok.png"
    Image.fromarray(stored).save(path)
    assert np.array_equal(read_frame(path, frame_pixels=100 * 100), stored)


def test_the_runtime_reads_paths_by_the_same_rule(tmp_path):
    from edgeseg.edge_runtime.segmenter import Segmenter

    stored = _gray(40, 90, seed=9)
    path = tmp_path / "photo.png"
    _save(path, stored, 8)
    got = Segmenter.read_frame(path)
    assert got.shape == (90, 40)
    assert np.array_equal(got, np.rot90(stored, 1))
    assert np.array_equal(Segmenter.read_frame(stored), stored)  # arrays: as given
