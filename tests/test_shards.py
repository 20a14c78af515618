"""``edgeseg data pack`` and ``edgeseg train --data SHARDS``: the manifest, bad frames, and the
same split and the same first batch as the folder the shards were packed from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")

from edgeseg.config import parse_classes  # noqa: E402
from edgeseg.datasets import discover, load_arrays  # noqa: E402
from edgeseg.errors import ConfigError, DataError  # noqa: E402
from edgeseg.imaging import labels_to_channels  # noqa: E402
from edgeseg.train.data import Augment, as_dataset  # noqa: E402
from edgeseg.train.options import config_from_options, train_options  # noqa: E402
from edgeseg.train.runner import load_split  # noqa: E402
from edgeseg.train.shard_manifest import (  # noqa: E402
    MANIFEST,
    channel_table,
    read_index,
    sha256_file,
    verify,
)
from edgeseg.train.shards import pack  # noqa: E402

SUBJECT = r"^(s\d+)_"  # synth names frames s<subject>_<frame>


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgeseg.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def packed(tmp_path_factory, synth_dir) -> Path:
    out = tmp_path_factory.mktemp("packed") / "shards"
    pack(synth_dir, out, subject_regex=SUBJECT, frames_per_shard=10)
    return out


def _split(data: Path, **options):
    opt = train_options(data=data, out=Path("unused"), **options)
    layout = "shards" if (Path(data) / MANIFEST).is_file() else "paired"
    return load_split(config_from_options(opt, layout))


def _batches(part, cfg, augment, shuffle, n=None):
    ds = as_dataset(part, cfg, augment, shuffle)
    return [(x.numpy(), y[0].numpy() if isinstance(y, tuple) else y.numpy())
            for x, y in (ds.take(n) if n else ds)]  # fmt: skip


def test_manifest_counts_hashes_and_round_robin_order(packed, synth_dir):
    index = read_index(packed)
    samples, _ = discover(synth_dir, subject_regex=SUBJECT)
    assert [f.name for f in index.frames] == [s.name for s in samples]
    assert [f.subject for f in index.frames] == [s.subject for s in samples]
    assert len(index.files) == 5 and [f.frames for f in index.files] == [10, 10, 10, 9, 9]
    for shard in index.files:
        assert sha256_file(packed / shard.name) == shard.sha256
    raw = json.loads((packed / MANIFEST).read_text())
    assert raw["frame_count"] == len(samples) and raw["skipped_count"] == 0
    assert raw["subject_count"] == len({s.subject for s in samples})
    # frame k is record k // 5 of shard k % 5
    names = [
        tf.train.Example.FromString(r.numpy()).features.feature["name"].bytes_list.value[0]
        for r in tf.data.TFRecordDataset(str(packed / index.files[1].name))
    ]
    assert [n.decode() for n in names] == [s.name for s in samples[1::5]]


@pytest.mark.parametrize("size", [None, 32])
def test_folder_and_shards_same_split_and_first_batches(tmp_path, synth_dir, size):
    shards = packed_at = tmp_path / "s"
    pack(synth_dir, packed_at, size=size, subject_regex=SUBJECT, frames_per_shard=7)
    options = {"size": size or 64, "batch_size": 8, "seed": 5}
    cfg_f, train_f, val_f = _split(synth_dir, subject_regex=SUBJECT, **options)
    cfg_s, train_s, val_s = _split(shards, **options)
    assert (cfg_f.train_subjects, cfg_f.val_subjects) == (cfg_s.train_subjects, cfg_s.val_subjects)
    assert (cfg_f.train_frames, cfg_f.val_frames) == (len(train_s), len(val_s))
    first_f = _batches(train_f, cfg_f, Augment(), True, 2)
    first_s = _batches(train_s, cfg_s, Augment(), True, 2)
    for (xf, yf), (xs, ys) in zip(first_f, first_s, strict=True):
        np.testing.assert_array_equal(xf, xs)
        np.testing.assert_array_equal(yf, ys)
    val_f_batches = _batches(val_f, cfg_f, None, False)
    val_s_batches = _batches(val_s, cfg_s, None, False)
    assert len(val_f_batches) == len(val_s_batches)
    for (xf, yf), (xs, ys) in zip(val_f_batches, val_s_batches, strict=True):
        np.testing.assert_array_equal(xf, xs)
        np.testing.assert_array_equal(yf, ys)
    # another seed shuffles differently (the batches above are not equal by accident)
    cfg_o, train_o, _ = _split(shards, **{**options, "seed": 6})
    assert not np.array_equal(_batches(train_o, cfg_o, None, True, 1)[0][0], first_s[0][0])


def test_part_arrays_equal_the_folders_arrays(packed, synth_dir):
    cfg, train_part, val_part = _split(packed, size=64, classes="nerve=1,vessel=2")
    samples, _ = discover(synth_dir, subject_regex=SUBJECT)
    val_samples = [s for s in samples if s.subject in set(cfg.val_subjects)]
    images, masks = load_arrays(val_samples, cfg.preprocessing, cfg.classes)
    got_images, got_masks = val_part.arrays()
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_masks, masks)
    assert masks[..., 1].any()  # the vessel class came through


@pytest.mark.parametrize(
    ("values", "classes", "indexed"),
    [
        ((0, 255), (1,), False),  # binary 0/255: foreground is the first class
        ((0, 1, 2), (1,), False),
        ((0, 1, 2), (1, 2), False),
        ((0, 2), (1,), True),  # palette: indices, vessel-only frame is an empty nerve frame
        ((0,), (1, 2), False),
    ],
)
def test_channel_table_is_labels_to_channels(values, classes, indexed):
    rng = np.random.default_rng(1)
    label = np.asarray(values, np.uint8)[rng.integers(0, len(values), (9, 7))]
    label[0, : len(values)] = values  # every value present
    expected = labels_to_channels(label, classes, indexed=indexed)
    got = channel_table(values, indexed, classes)[label]
    np.testing.assert_array_equal(got, expected)


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture()
def messy(tmp_path) -> Path:
    """Paired data: two sizes, one frame without mask, one unreadable, one mask of another size."""
    root = tmp_path / "messy"
    rng = np.random.default_rng(2)
    for i, (h, w) in enumerate([(48, 64)] * 3 + [(64, 64)] * 3):
        _write(root / "images" / f"f{i}.png", rng.integers(0, 255, (h, w), np.uint8))
        _write(root / "masks" / f"f{i}.png", (rng.random((h, w)) > 0.7).astype(np.uint8))
    _write(root / "images" / "nomask.png", np.zeros((64, 64), np.uint8))
    (root / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    _write(root / "masks" / "broken.png", np.zeros((64, 64), np.uint8))
    _write(root / "images" / "wrongsize.png", np.zeros((64, 64), np.uint8))
    _write(root / "masks" / "wrongsize.png", np.zeros((32, 32), np.uint8))
    return root


def test_pack_skips_and_counts_bad_frames_and_keeps_mixed_sizes(messy, tmp_path):
    proc = run_cli("data", "pack", str(messy), "--out", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    assert "skipped 3 frame(s)" in proc.stderr and "packed 6 frames" in proc.stdout
    raw = json.loads((tmp_path / "s" / MANIFEST).read_text())
    reasons = {name: why.split(":")[0] for name, why in raw["skipped"]}
    assert reasons == {"broken.png": "unreadable", "nomask.png": "no mask",
                       "wrongsize.png": "size mismatch"}  # fmt: skip
    assert raw["original_sizes"] == {"64x48": 3, "64x64": 3}
    cfg, train_part, val_part = _split(tmp_path / "s", size=32, val_fraction=0.3)
    images, _ = train_part.arrays()
    assert images.shape[1:] == (32, 32) and len(images) + len(val_part) == 6


def test_pack_strict_stops_at_the_first_bad_frame_and_writes_nothing(messy, tmp_path):
    proc = run_cli("data", "pack", str(messy), "--out", str(tmp_path / "s"), "--strict")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("edgeseg: error: unreadable") or "--strict stops" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy"]


def test_pack_refuses_a_non_empty_out_and_its_own_input(synth_dir, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "x").write_text("mine")
    proc = run_cli("data", "pack", str(synth_dir), "--out", str(tmp_path / "s"))
    assert proc.returncode == 2 and "pass --force" in proc.stderr
    with pytest.raises(ConfigError, match="inside the input"):
        pack(synth_dir, synth_dir / "shards")


def test_damaged_shards_and_settings_the_pack_fixed(packed, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(packed, copy)
    index = read_index(copy)
    shard = copy / index.files[0].name
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DataError, match="SHA-256 differs"):
        verify(read_index(copy))
    with pytest.raises(DataError, match="SHA-256 differs"):
        _split(copy, size=64)  # before any training
    shard.write_bytes(bytes(data[:-10]))
    with pytest.raises(DataError, match="truncated or replaced"):
        read_index(copy)
    with pytest.raises(ConfigError, match="--val-data"):
        _split(packed, size=64, val_data=packed)
    with pytest.raises(ConfigError, match="subjects were fixed"):
        _split(packed, size=64, subject_regex="(.*)")


def test_training_size_must_be_the_packed_size(synth_dir, tmp_path):
    pack(synth_dir, tmp_path / "s32", size=32, subject_regex=SUBJECT)
    with pytest.raises(ConfigError, match="packed at 32x32.*--size 32"):
        _split(tmp_path / "s32", size=64)


def test_class_map_is_checked_against_every_packed_mask(tmp_path):
    root = tmp_path / "d"
    for i in range(4):
        _write(root / "images" / f"f{i}.png", np.full((32, 32), 40 * i, np.uint8))
        _write(root / "masks" / f"f{i}.png", np.array([[0, 3, 7, 7]] * 32, np.uint8)
               .repeat(8, axis=1))  # fmt: skip
    pack(root, tmp_path / "s")
    with pytest.raises(DataError, match="none is in the class map"):
        _split(tmp_path / "s", size=32, classes="nerve=1")
    cfg, *_ = _split(tmp_path / "s", size=32, classes="nerve=3,vessel=7")
    assert cfg.classes == parse_classes("nerve=3,vessel=7")


@pytest.mark.slow
def test_train_streams_shards_and_resumes(packed, tmp_path):
    """pack -> train 2 epochs -> resume from epoch 1 -> the run keeps the shards' split."""
    from edgeseg.train.runner import train_run

    run = tmp_path / "run"
    common = {"size": 64, "base_filters": 4, "depth": 2, "batch_size": 8, "epochs": 2}
    result = train_run(train_options(data=packed, out=run, **common), log=lambda m: None)
    assert result.epochs_run == 2
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["layout"] == "shards" and cfg["data"] == str(packed.resolve())
    index = read_index(packed)
    assert cfg["train_frames"] + cfg["val_frames"] == len(index.frames)
    assert not set(cfg["train_subjects"]) & set(cfg["val_subjects"])
    state = json.loads((run / "state.json").read_text())
    state.update(epoch=0, finished=False)  # as if killed during epoch 2
    (run / "state.json").write_text(json.dumps(state))
    lines = []
    result = train_run(train_options(out=run, resume=True), log=lines.append)
    assert result.epochs_run == 2 and any(line.startswith("epoch 2:") for line in lines)
    assert json.loads((run / "config.json").read_text())["train_subjects"] == cfg["train_subjects"]


def test_packing_twice_gives_the_same_bytes(packed, synth_dir, tmp_path):
    again = tmp_path / "again"
    pack(synth_dir, again, subject_regex=SUBJECT, frames_per_shard=10)
    assert [f.sha256 for f in read_index(again).files] == [
        f.sha256 for f in read_index(packed).files
    ]


def test_commands_reading_files_get_a_folder_layout(packed, synth_dir):
    from edgeseg.train.shard_manifest import files_layout

    assert files_layout(synth_dir, "shards") == "auto"  # a run trained from shards
    assert files_layout(synth_dir, "paired") == "paired"
    assert files_layout(synth_dir, None) == "auto"
    with pytest.raises(ConfigError, match=f"packed from \\({synth_dir.resolve()}\\)"):
        files_layout(packed, "shards")


def test_commands_reading_files_name_a_shard_folder_for_what_it_is(packed):
    with pytest.raises(DataError, match="holds packed shards"):
        discover(packed)


def test_a_run_whose_shards_are_gone_names_its_config(packed, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(packed, moved)
    cfg, *_ = _split(moved, size=64)
    shutil.rmtree(moved)
    with pytest.raises(DataError, match=r"shard folder .*moved does not exist: it is the \"data\""):
        load_split(cfg, resplit=False, run_dir=tmp_path / "run")
