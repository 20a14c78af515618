"""Streaming packed shards into training: the subjects of one split part, never loaded whole.

``ShardPart.dataset`` reads the shard files interleaved (one record from each in turn, which
is the pack's frame order, see ``shard_manifest``), keeps the records of the part's subjects,
shuffles serialized records in a bounded buffer, decodes the PNGs in the graph (in parallel,
outside the GIL), prepares each frame with the frame contract's own numpy functions
(``edgeseg.preprocess.preprocess``, ``edgeseg.contract.float_input``, ``labels_to_channels``'
rule) and ends in the same batching and augmentation as the in-memory path
(``edgeseg.train.data.batch_dataset``).

When the shuffle buffer holds the whole part (the default up to ``SHUFFLE_BUFFER`` frames),
the order is the in-memory path's: a folder and its shards give the same first batch for the
same seed. A larger part shuffles within the buffer (memory stays bounded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from edgeseg.config import ClassSpec, Preprocessing, RunConfig
from edgeseg.contract import float_input
from edgeseg.datasets import Sample, require_folder
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import resize_mask
from edgeseg.preprocess import preprocess
from edgeseg.train.data import Augment, batch_dataset
from edgeseg.train.shard_manifest import (
    LAYOUT,
    ShardIndex,
    channel_table,
    check_classes,
    read_index,
    verify,
)

SHUFFLE_BUFFER = 8192  # serialized records (~100-200 KB each at 580x420): about 1-1.5 GB at most

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "mask": tf.io.FixedLenFeature([], tf.string),
    "mask_values": tf.io.VarLenFeature(tf.int64),
    "indexed": tf.io.FixedLenFeature([1], tf.int64),
    "subject": tf.io.FixedLenFeature([], tf.string),
}


def decode_record(record: tf.Tensor) -> dict[str, tf.Tensor]:
    """A serialized record -> its frame and mask values as uint8 (H, W) tensors (PNG decoded in
    the graph, in parallel), the mask's distinct values and its palette flag."""
    ex = tf.io.parse_single_example(record, FEATURES)
    return {
        "frame": tf.io.decode_png(ex["image"], channels=1)[..., 0],
        "label": tf.io.decode_png(ex["mask"], channels=1)[..., 0],
        "values": tf.sparse.to_dense(ex["mask_values"]),
        "indexed": ex["indexed"][0],
    }


def prepare_frame(
    frame: np.ndarray,
    label: np.ndarray,
    values: Sequence[int],
    indexed: bool,
    pp: Preprocessing,
    classes: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """A decoded record -> (uint8 (H, W) model input, uint8 (H, W, C) masks), as
    ``edgeseg.datasets.load_sample`` makes them from the files."""
    channels = channel_table(values, indexed, classes)[label]
    return preprocess(frame, pp), resize_mask(channels, pp.size)


@dataclass(frozen=True)
class ShardPart:
    """The frames of ``subjects`` in a shard folder: one side of a subject-wise split."""

    index: ShardIndex
    subjects: frozenset[str]
    frames: int
    pp: Preprocessing
    classes: tuple[ClassSpec, ...]
    shuffle_buffer: int = SHUFFLE_BUFFER

    def __len__(self) -> int:
        return self.frames

    def records(self) -> tf.data.Dataset:
        """Serialized records of this part's subjects, in the pack's frame order."""
        files = [str(p) for p in self.index.paths()]
        ds = tf.data.Dataset.from_tensor_slices(files).interleave(
            tf.data.TFRecordDataset,
            cycle_length=len(files),
            block_length=1,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        wanted = tf.constant(sorted(self.subjects))
        subject_only = {"subject": FEATURES["subject"]}

        def keep(record: tf.Tensor) -> tf.Tensor:
            subject = tf.io.parse_single_example(record, subject_only)["subject"]
            return tf.reduce_any(tf.equal(subject, wanted))

        return ds.filter(keep)

    def _decoder(self) -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
        pp, values = self.pp, [c.value for c in self.classes]
        height, width, channels = pp.height, pp.width, len(values)

        def prepare(frame, label, mask_values, indexed):
            img, masks = prepare_frame(frame, label, mask_values.tolist(), bool(indexed), pp,
                                       values)  # fmt: skip
            return float_input(img)[0], masks.astype(np.float32)

        def parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            d = decode_record(record)
            x, y = tf.numpy_function(
                prepare,
                [d["frame"], d["label"], d["values"], d["indexed"]],
                [tf.float32, tf.float32],
                stateful=False,
            )
            x.set_shape((height, width, 1))
            y.set_shape((height, width, channels))
            return x, y

        return parse

    def dataset(
        self,
        batch_size: int,
        presence_head: bool,
        augment: Augment | None,
        shuffle: bool,
        seed: int = 0,
    ) -> tf.data.Dataset:
        """Batches as ``edgeseg.train.data.make_dataset`` gives them for the same frames."""
        ds = self.records()
        if shuffle:
            buffer = max(1, min(self.shuffle_buffer, self.frames))
            ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(self._decoder(), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return batch_dataset(ds, batch_size, presence_head, augment, seed)

    def arrays(
        self, progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The part in memory, as ``edgeseg.datasets.load_arrays`` returns a folder's (for QAT
        fine-tuning, which trains on arrays): uint8 (N, H, W) inputs, uint8 (N, H, W, C) masks."""
        values = [c.value for c in self.classes]
        images = np.zeros((self.frames, *self.pp.size), dtype=np.uint8)
        masks = np.zeros((self.frames, *self.pp.size, len(values)), dtype=np.uint8)
        n = 0
        decoded = self.records().map(decode_record, num_parallel_calls=tf.data.AUTOTUNE)
        for d in decoded.as_numpy_iterator():
            if n >= self.frames:
                break
            images[n], masks[n] = prepare_frame(
                d["frame"], d["label"], d["values"].tolist(), bool(d["indexed"]), self.pp, values
            )
            n += 1
            if progress:
                progress(1)
        if n != self.frames:
            raise DataError(f"{self.index.root}: {n} frames of the split's subjects in the shards, "
                            f"the manifest lists {self.frames}")  # fmt: skip
        return images, masks


def open_shards(cfg: RunConfig, hint: str = "pass --data SHARDS") -> tuple[list[Sample], str]:
    """The frames of the shard folder ``cfg.data`` as samples for the subject-wise split, and
    the layout to record; one-line errors for settings the pack fixed already, and for a
    missing folder (ending in ``hint``)."""
    require_folder(Path(cfg.data), "shard folder", hint)
    if cfg.val_data:
        raise ConfigError(
            f"--val-data with the shard folder {cfg.data}: the split is by subject inside the "
            "shards; drop --val-data (or pack the validation subjects with the rest)"
        )
    if cfg.subject_regex or cfg.manifest:
        raise ConfigError(
            f"--subject-regex/--manifest with the shard folder {cfg.data}: subjects were fixed "
            "when it was packed; pass them to `edgeseg data pack` instead"
        )
    index = read_index(cfg.data)
    verify(index)  # every SHA-256 (~2 s per GB): a damaged shard fails here, not mid-epoch
    if index.size and index.size != cfg.preprocessing.size:
        h, w = index.size
        raise ConfigError(
            f"{cfg.data} was packed at {w}x{h}; training at {cfg.preprocessing.width}x"
            f"{cfg.preprocessing.height} would resize twice: pass --size {w} or pack again "
            "without --size"
        )
    check_classes(index, cfg.classes)
    return index.samples(), LAYOUT


def shard_part(cfg: RunConfig, samples: Sequence[Sample]) -> ShardPart:
    """The streamed part of ``cfg.data`` that holds ``samples``' subjects."""
    return ShardPart(
        read_index(cfg.data, check_files=False),
        frozenset(s.subject for s in samples),
        len(samples),
        cfg.preprocessing,
        cfg.classes,
    )
