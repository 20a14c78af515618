"""Reading a runtime frame: EXIF orientation and the downsampling rule (contract section 0)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

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


GOLDEN = Path(__file__).resolve().parents[1] / "android_demo/core/src/test/resources/golden"


def _golden_array(case: Path, doc: dict, key: str) -> np.ndarray:
    entry = doc[key]
    raw = gzip.decompress((case / entry["file"]).read_bytes())
    return np.frombuffer(raw, dtype=entry["dtype"]).reshape(entry["shape"])


@pytest.mark.skipif(not GOLDEN.is_dir(), reason="the Android golden vectors are not checked out")
def test_committed_frame_goldens_are_what_python_computes():
    """The Java core is checked against these files; they must still be Python's answer."""
    cases = [p.parent for p in sorted(GOLDEN.glob("*/case.json"))]
    read = [c for c in cases if json.loads((c / "case.json").read_text())["kind"] == "frame_read"]
    assert len(read) >= 5
    for case in read:
        doc = json.loads((case / "case.json").read_text())
        stored = _golden_array(case, doc, "stored")
        factor = reduce_factor(stored.shape[1], stored.shape[0], doc["max_pixels"])
        assert factor == doc["factor"], case.name
        reduced = reduce_gray(stored, factor)
        assert np.array_equal(reduced, _golden_array(case, doc, "reduced")), case.name
        oriented = orient_gray(reduced, doc["orientation"])
        assert np.array_equal(oriented, _golden_array(case, doc, "oriented")), case.name
    sizes = json.loads((GOLDEN / "reduce_factors" / "case.json").read_text())["sizes"]
    assert [reduce_factor(w, h) for w, h, _ in sizes] == [f for _, _, f in sizes]


@pytest.mark.skipif(not GOLDEN.is_dir(), reason="the Android golden vectors are not checked out")
def test_committed_drop_order_is_the_runtimes_newest_slot():
    tools = str(GOLDEN.parents[4] / "tools")
    sys.path.insert(0, tools)
    try:
        from golden_frames import taken_order
    finally:
        sys.path.remove(tools)
    cases = sorted(GOLDEN.glob("drop_order_*/case.json"))
    assert len(cases) >= 2
    for path in cases:
        doc = json.loads(path.read_text())
        taken = taken_order(doc["arrivals_us"], doc["busy_us"])
        assert taken == doc["taken"], path.parent.name
        assert len(doc["arrivals_us"]) - len(taken) == doc["dropped"] > 0
