"""``edgeseg data pack``: a dataset folder -> TFRecord shards + ``shards.json`` (the manifest).

Each record (a ``tf.train.Example``) holds one frame as read by the frame contract's first step
(8-bit gray, ``edgeseg.imaging.read_gray``), PNG-encoded at its stored size or at ``--size``
(Pillow bilinear, the contract's resize), its raw mask values (PNG, nearest-neighbour when
resized), the mask's distinct values and palette flag (so a class map chosen at training time
reads it exactly as ``read_mask`` reads the file), the subject, the file stem and the original
size. Training applies the rest of the contract (``preprocess``) while streaming, the same
function the folder path calls, so both give the same inputs.

Bad frames (no mask, unreadable, mask size not the frame's) are skipped and counted by default,
each listed in the manifest with its reason: one bad file in a large collection should not stop
a long pack, and the list says exactly what is missing. ``strict=True`` (``--strict``) stops at
the first instead. Frames of mixed sizes are kept (each record carries its size; training
resizes each as the folder path does). The folder is built beside ``--out`` and swapped in
when complete (``edgeseg.io.building_folder``): an interrupted pack leaves nothing that reads
as a pack.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.datasets import Sample, discover
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import MAX_PIXELS, read_gray, read_mask_labels, resize_gray, resize_mask
from edgeseg.io import building_folder, check_not_overlapping, check_output_folder
from edgeseg.train.shard_manifest import (
    MANIFEST,
    FrameEntry,
    ShardFile,
    manifest_dict,
    manifest_text,
    sha256_file,
)

FRAMES_PER_SHARD = 500  # ~60-120 MB per shard at the Kaggle frames' 580x420
PNG_LEVEL = 3  # zlib level: ultrasound speckle barely compresses further, masks shrink anyway


@dataclass(frozen=True)
class PackResult:
    """What a pack wrote."""

    out: Path
    frames: int
    subjects: int
    shards: int
    bytes: int
    skipped: tuple[tuple[str, str], ...]
    sizes: dict[str, int]


def shard_name(i: int, count: int) -> str:
    return f"shard-{i:05d}-of-{count:05d}.tfrecord"


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=PNG_LEVEL)
    return buffer.getvalue()


def read_frame(
    sample: Sample, size: tuple[int, int] | None, max_pixels: int
) -> tuple[np.ndarray, np.ndarray, FrameEntry]:
    """(gray uint8 frame, uint8 mask values, its manifest entry); DataError when the frame
    cannot be packed (no mask, unreadable, sizes differ).

    The entry's mask values are the full-size mask's: they decide its class channels, and a
    small region that a resize drops must not change how the rest is read."""
    if sample.mask is None:
        raise DataError(f"no mask: {sample.image} has no mask beside it")
    frame = read_gray(sample.image, max_pixels)
    label, indexed = read_mask_labels(sample.mask, max_pixels)
    if label.shape != frame.shape:
        raise DataError(
            f"size mismatch: {sample.mask} is {label.shape[1]}x{label.shape[0]} but its image "
            f"is {frame.shape[1]}x{frame.shape[0]}"
        )
    h, w = frame.shape
    values = tuple(int(v) for v in np.unique(label))
    entry = FrameEntry(sample.name, sample.subject, int(h), int(w), values, indexed)
    if size is not None:
        frame, label = resize_gray(frame, size), resize_mask(label, size)
    return frame, label, entry


def _example(frame: np.ndarray, label: np.ndarray, entry: FrameEntry) -> bytes:
    import tensorflow as tf

    def as_bytes(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def as_ints(values) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    features = {
        "image": as_bytes(_png(frame)),
        "mask": as_bytes(_png(label)),
        "mask_values": as_ints(entry.values),
        "indexed": as_ints([int(entry.indexed)]),
        "subject": as_bytes(entry.subject.encode()),
        "name": as_bytes(entry.name.encode()),
        "original_size": as_ints([entry.height, entry.width]),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    return example.SerializeToString(deterministic=True)  # same frames, same bytes, same hash


def _skip_reason(exc: DataError) -> str:
    text = str(exc)
    if text.startswith(("no mask", "size mismatch")):
        return text
    return f"unreadable: {text}"


def pack(
    data: Path,
    out: Path,
    size: int | None = None,
    layout: str = "auto",
    subject_regex: str | None = None,
    manifest: Path | None = None,
    frames_per_shard: int = FRAMES_PER_SHARD,
    strict: bool = False,
    force: bool = False,
    max_pixels: int = MAX_PIXELS,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> PackResult:
    """Pack the frames of ``data`` (paired or Kaggle layout) into TFRecord shards in ``out``."""
    import tensorflow as tf

    if frames_per_shard < 1:
        raise ConfigError(f"--frames-per-shard {frames_per_shard}: expected 1 or more")
    if size is not None and (size < 16 or size % 16):
        raise ConfigError(f"--size {size}: expected a multiple of 16, at least 16 (e.g. 128)")
    out = check_output_folder(Path(out))
    check_not_overlapping(out, {"DIR": Path(data)})
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out} is not empty: pass --force to replace it")
    samples, found = discover(
        Path(data), layout, subject_regex, manifest, require_masks=False,
        hint="pass an existing dataset folder",
    )  # fmt: skip
    if total:
        total(len(samples))
    shape = (size, size) if size else None
    count = max(1, math.ceil(len(samples) / frames_per_shard))
    names = [shard_name(i, count) for i in range(count)]
    kept: list[FrameEntry] = []
    per_shard = [0] * count
    skipped: list[tuple[str, str]] = []
    with building_folder(out) as tmp:
        writers = [tf.io.TFRecordWriter(str(tmp / name)) for name in names]
        try:
            for sample in samples:
                try:
                    frame, label, entry = read_frame(sample, shape, max_pixels)
                except DataError as exc:
                    if strict:
                        raise DataError(f"{exc} (--strict stops at the first bad frame)") from exc
                    skipped.append((sample.image.name, _skip_reason(exc)))
                    if progress:
                        progress(1)
                    continue
                slot = len(kept) % count
                writers[slot].write(_example(frame, label, entry))
                per_shard[slot] += 1
                kept.append(entry)
                if progress:
                    progress(1)
        finally:
            for writer in writers:
                writer.close()
        if not kept:
            reason = skipped[0][1] if skipped else "no frames"
            raise DataError(f"{data}: no frame could be packed ({len(skipped)} skipped; "
                            f"first: {reason})")  # fmt: skip
        files = [
            ShardFile(name, n, (tmp / name).stat().st_size, sha256_file(tmp / name))
            for name, n in zip(names, per_shard, strict=True)
        ]
        payload = manifest_dict(files, kept, shape, str(Path(data).resolve()), found, skipped)
        (tmp / MANIFEST).write_text(manifest_text(payload), encoding="utf-8")
    return PackResult(
        out=out,
        frames=len(kept),
        subjects=payload["subject_count"],
        shards=count,
        bytes=sum(f.bytes for f in files),
        skipped=tuple(skipped),
        sizes=payload["original_sizes"],
    )
