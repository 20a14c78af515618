"""Calibration frames: loading (any format, unreadable files, count guards), stratified subsets,
and the repository's committed synthetic set. numpy + Pillow only: no TensorFlow needed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeseg.config import Preprocessing
from edgeseg.convert import calibration as cal
from edgeseg.errors import ConfigError, DataError

PP = Preprocessing(height=32, width=32)


def _frames(folder: Path, n: int, start: int = 0) -> Path:
    """``n`` gray PNGs of mixed sizes in ``folder/images``."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(start)
    for i in range(start, start + n):
        size = (40, 48) if i % 2 else (32, 32)
        Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(images / f"f{i:03d}.png")
    return folder


def test_folder_frames_of_any_format_are_preprocessed(tmp_path):
    folder = _frames(tmp_path / "cal", 8)
    rgb = np.random.default_rng(1).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "images" / "rgb.png")
    wide = np.random.default_rng(2).integers(0, 65536, (64, 64), dtype=np.uint16)
    Image.fromarray(wide).save(folder / "images" / "deep.tif")
    (folder / "images" / "notes.txt").write_text("not an image, not counted")
    logs: list[str] = []
    got = cal.load_calibration(folder, PP, log=logs.append)
    assert got.images.shape == (10, 32, 32) and got.images.dtype == np.uint8
    assert got.count == 10 and not got.unreadable
    assert got.warnings and "recommended" in got.warnings[0]  # 10 < 100
    assert any("calibrated on 10 frames" in m for m in logs)  # the count used is logged
    sample = next(got.representative_dataset()())
    assert len(sample) == 1 and sample[0].shape == (1, 32, 32, 1)
    assert sample[0].dtype == np.float32 and 0.0 <= sample[0].min() <= sample[0].max() <= 1.0


def test_unreadable_files_are_skipped_and_reported(tmp_path):
    folder = _frames(tmp_path / "cal", 9)
    (folder / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    logs: list[str] = []
    got = cal.load_calibration(folder, PP, log=logs.append)
    assert got.count == 9
    assert [name for name, _ in got.unreadable] == ["broken.png"]
    assert any("1 unreadable" in m and "broken.png" in m for m in logs)
    assert "1 unreadable skipped" in got.summary()


def test_too_few_usable_frames_fail_naming_the_unreadable_ones(tmp_path):
    folder = _frames(tmp_path / "cal", 5)
    for i in range(3):
        (folder / "images" / f"bad{i}.png").write_bytes(b"nope")
    with pytest.raises(ConfigError, match=r"only 5 usable calibration frames .*3 unreadable"):
        cal.load_calibration(folder, PP)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "has no images"),
        (lambda p: ((p / "images").mkdir(parents=True), p)[1], "has no images"),
    ],
    ids=["missing", "empty", "empty-images-subfolder"],
)
def test_missing_or_empty_folder_is_a_one_line_error(tmp_path, make, match):
    folder = make(tmp_path / "cal")
    with pytest.raises(ConfigError, match=match) as info:
        cal.load_calibration(folder, PP)
    assert "\n" not in str(info.value) and "--calibration" in str(info.value)


def test_a_file_is_not_a_calibration_folder(tmp_path):
    frame = _frames(tmp_path / "cal", 1) / "images" / "f000.png"
    with pytest.raises(ConfigError) as info:
        cal.load_calibration(frame, PP)
    message = str(info.value)
    assert message.startswith(f"calibration folder {frame} is a file, expected a folder: ")
    assert "does not exist" not in message and "\n" not in message
    with pytest.raises(ConfigError, match=r"--out .*f000\.png is a file, expected a folder"):
        cal.build_calibration_set(tmp_path / "cal", frame, n=8)
    with pytest.raises(DataError, match=r"f000\.png is a file, expected a folder: pass --from"):
        cal.build_calibration_set(frame, tmp_path / "out", n=8)


def test_default_is_calibration_data_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cal.default_calibration_dir() == cal.packaged_calibration_dir()
    packaged = cal.load_calibration(None, PP)
    assert packaged.source == str(cal.packaged_calibration_dir())
    assert len(packaged.warnings) == 1  # one line: which folder, and what to do
    assert "no --calibration given" in packaged.warnings[0]
    assert "synthetic phantoms shipped with edgeseg" in packaged.warnings[0]
    assert "no ./calibration_data" in packaged.warnings[0] and "\n" not in packaged.warnings[0]
    _frames(tmp_path / "calibration_data", 9)
    assert cal.default_calibration_dir() == tmp_path / "calibration_data"
    logs: list[str] = []
    local = cal.load_calibration(None, PP, log=logs.append)
    assert local.count == 9 and local.source == str(tmp_path / "calibration_data")
    assert local.warnings == (
        f"no --calibration given: calibrated on 9 frames from ./calibration_data "
        f"({tmp_path / 'calibration_data'}); pass --calibration DIR with 100-500 frames like "
        "the deployment data",
    )
    assert local.warnings[0] not in logs  # a warning is returned, not also logged (no repeat)
    given = cal.load_calibration(tmp_path / "calibration_data", PP)
    assert not any("no --calibration" in w for w in given.warnings)


# frames, min_images, recommended -> error?, warning?
GUARDS = [
    (7, 8, 100, True, False),
    (8, 8, 100, False, True),
    (12, 8, 10, False, False),
]


@pytest.mark.parametrize("n,min_images,recommended,fails,warns", GUARDS)
def test_count_guards(n, min_images, recommended, fails, warns):
    images = np.zeros((n, 32, 32), dtype=np.uint8)
    if fails:
        with pytest.raises(ConfigError, match=f"at least {min_images}"):
            cal.load_calibration(images, PP, min_images=min_images, recommended=recommended)
        return
    got = cal.load_calibration(images, PP, min_images=min_images, recommended=recommended)
    assert got.count == n and bool(got.warnings) == warns


def test_array_source_is_checked_and_capped():
    with pytest.raises(ConfigError, match=r"expected uint8 \(N, 32, 32\)"):
        cal.load_calibration(np.zeros((10, 64, 64), np.uint8), PP)
    with pytest.raises(ConfigError, match="expected uint8"):
        cal.load_calibration(np.zeros((10, 32, 32), np.float32), PP)
    got = cal.load_calibration(np.zeros((30, 32, 32, 1), np.uint8), PP, max_images=12)
    assert got.count == 12 and got.available == 30 and "12 of 30" in got.summary()


@pytest.mark.parametrize(
    "sizes,n",
    [({"a": 10, "b": 10}, 5), ({"a": 1, "b": 100}, 10), ({"a": 3, "b": 3, "c": 3}, 9)],
)
def test_allocate_shares_picks_in_proportion(sizes, n):
    got = cal._allocate(sizes, n)
    assert sum(got.values()) == n
    assert all(0 <= got[k] <= sizes[k] for k in sizes)


def test_build_calibration_set_is_stratified_atomic_and_repeatable(tmp_path):
    from edgeseg.train.synth import write_dataset

    data = tmp_path / "data"
    write_dataset(data, 40, size=(32, 32), seed=3, subjects=5)
    out = tmp_path / "calib"
    out.mkdir()
    (out / "README.md").write_text("keep me")
    manifest = cal.build_calibration_set(
        data, out, n=12, seed=1, subject_regex=r"^(s\d+)_", mask_value=1
    )
    rows = list(csv.DictReader(manifest.open()))
    assert len(rows) == 12 and len(list((out / "images").glob("*.png"))) == 12
    assert all((out / r["file"]).is_file() for r in rows)
    assert len({r["subject"] for r in rows}) == 5  # subjects spread over the picks
    assert {"0", "1"} <= {r["empty"] for r in rows}  # empty and non-empty frames
    assert (out / "README.md").read_text() == "keep me"
    with pytest.raises(ConfigError, match="--force"):
        cal.build_calibration_set(data, out, n=12, seed=1)
    steps: list[int] = []
    again = cal.build_calibration_set(
        data,
        out,
        n=12,
        seed=1,
        subject_regex=r"^(s\d+)_",
        mask_value=1,
        force=True,
        progress=steps.append,
    )
    assert steps == [1] * 40  # increments: a bar advanced by each call ends at 40, not 820
    assert [r["source"] for r in csv.DictReader(again.open())] == [r["source"] for r in rows]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "images", "manifest.csv"]
    # the loader reads DIR/images of a built set
    assert cal.load_calibration(out, PP, min_images=8).count == 12


def test_repository_calibration_set_is_small_and_consistent():
    folder = cal.packaged_calibration_dir()
    rows = list(csv.DictReader((folder / cal.MANIFEST).open()))
    files = sorted(p.name for p in (folder / "images").glob("*.png"))
    assert len(files) >= 32 and sorted(Path(r["file"]).name for r in rows) == files
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total < 1024 * 1024
    assert (folder / "README.md").is_file()
    got = cal.load_calibration(None, Preprocessing(height=64, width=64))
    assert got.count == len(files) and got.images.shape[1:] == (64, 64)
