"""tf.data pipelines: in-memory uint8 frames -> augmented float batches that keep 2 cores busy.

Preprocessing (gray, resize, normalisation, CLAHE, denoise) happens once at load time in numpy
(``edgeseg.datasets.load_arrays``), exactly as the runtime does it. Here only augmentation runs,
per batch, inside the graph: horizontal flips, small affine (shift/scale/rotation), gain and
contrast, multiplicative speckle noise; the ``ultrasound`` profile (``--augment-profile``) makes
them stronger and adds a gamma curve and a depth gain ramp (time-gain compensation set
differently, top to bottom).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from edgeseg.contract import float_input


@dataclass(frozen=True)
class Augment:
    """Augmentation strengths (0 turns one off)."""

    flip: bool = True
    max_shift: float = 0.08
    max_scale: float = 0.10
    max_rotate_deg: float = 10.0
    gain: float = 0.15
    contrast: float = 0.15
    speckle: float = 0.08
    # Off in the standard profile (whose random stream stays as it was):
    gamma: float = 0.0  # pixel ** exp(u), u uniform in [-gamma, gamma]
    depth_gain: float = 0.0  # gain ramp from 1 - d at the top to 1 + d at the bottom, |d| <= this


# ``--augment-profile`` -> strengths (names in edgeseg.config.AUGMENT_PROFILES).
AUGMENT_PROFILES: dict[str, Augment] = {
    "standard": Augment(),
    "ultrasound": Augment(
        max_shift=0.10,
        max_scale=0.20,
        max_rotate_deg=15.0,
        gain=0.25,
        contrast=0.25,
        speckle=0.12,
        gamma=0.30,
        depth_gain=0.30,
    ),
}


def augment_for(train) -> Augment | None:
    """The augmentation a run's ``TrainSpec`` asks for; None when ``augment`` is off."""
    return AUGMENT_PROFILES[train.augment_profile] if train.augment else None


def _affine_matrices(batch: int, height: int, width: int, aug: Augment, seed) -> tf.Tensor:
    """Random projective transforms (8 params each) about the image centre."""
    s = tf.random.stateless_uniform([batch, 4], seed=seed, minval=-1.0, maxval=1.0)
    angle = s[:, 0] * aug.max_rotate_deg * math.pi / 180.0
    scale = 1.0 + s[:, 1] * aug.max_scale
    tx = s[:, 2] * aug.max_shift * width
    ty = s[:, 3] * aug.max_shift * height
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a0, a1 = cos, -sin
    a2 = cx - a0 * cx - a1 * cy - tx
    b0, b1 = sin, cos
    b2 = cy - b0 * cx - b1 * cy - ty
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def _transform(images: tf.Tensor, matrices: tf.Tensor, interpolation: str) -> tf.Tensor:
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=matrices,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode="CONSTANT",
    )


def augment_batch(images: tf.Tensor, masks: tf.Tensor, aug: Augment, seed) -> tuple:
    """Augment a float batch: images (B,H,W,1) in [0,1], masks (B,H,W,C) in {0,1}."""
    batch = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, 5)
    if aug.flip:
        flip = tf.random.stateless_uniform([batch, 1, 1, 1], seed=seeds[0]) < 0.5
        images = tf.where(flip, tf.reverse(images, axis=[2]), images)
        masks = tf.where(flip, tf.reverse(masks, axis=[2]), masks)
    if aug.max_shift or aug.max_scale or aug.max_rotate_deg:
        h, w = images.shape[1], images.shape[2]
        matrices = _affine_matrices(batch, h, w, aug, seeds[1])
        images = _transform(images, matrices, "BILINEAR")
        masks = _transform(masks, matrices, "NEAREST")
    if aug.gain or aug.contrast:
        g = 1.0 + tf.random.stateless_uniform([batch, 1, 1, 1], seeds[2], -aug.gain, aug.gain)
        c = 1.0 + tf.random.stateless_uniform(
            [batch, 1, 1, 1], seeds[3], -aug.contrast, aug.contrast
        )
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * c + mean * g
    if aug.speckle:
        noise = tf.random.stateless_normal(tf.shape(images), seeds[4], stddev=aug.speckle)
        images = images * (1.0 + noise)
    if aug.gamma or aug.depth_gain:
        images = _tone_curves(tf.clip_by_value(images, 0.0, 1.0), aug, seed)
    return tf.clip_by_value(images, 0.0, 1.0), masks


def _tone_curves(images: tf.Tensor, aug: Augment, seed) -> tf.Tensor:
    """Gamma and depth gain ramp per frame (seeds folded from ``seed``, so the standard
    profile's five draws stay the same)."""
    batch, height = tf.shape(images)[0], tf.shape(images)[1]
    s = tf.random.stateless_uniform(
        [batch, 2], tf.random.experimental.stateless_fold_in(seed, 5), -1.0, 1.0
    )
    images = tf.pow(images, tf.exp(s[:, 0] * aug.gamma)[:, None, None, None])
    depth = tf.linspace(-1.0, 1.0, height)[None, :, None, None]
    return images * (1.0 + s[:, 1][:, None, None, None] * aug.depth_gain * depth)


def to_model_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 (N,H,W) -> float32 (N,H,W,1) in [0, 1], the network's input."""
    return float_input(images)


def make_dataset(
    images: np.ndarray,
    masks: np.ndarray,
    batch_size: int,
    presence_head: bool,
    augment: Augment | None,
    shuffle: bool,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of (x, y) where y is the mask, or (mask, presence) with a presence head."""
    x = to_model_inputs(images)
    y = masks.astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return batch_dataset(ds, batch_size, presence_head, augment, seed)


def batch_dataset(
    ds: tf.data.Dataset,
    batch_size: int,
    presence_head: bool,
    augment: Augment | None,
    seed: int = 0,
) -> tf.data.Dataset:
    """Frames (x (H,W,1) float, y (H,W,C) float) -> augmented batches, as ``make_dataset``'s;
    also the end of the streamed shard pipeline (``edgeseg.train.shard_stream``)."""
    ds = ds.batch(batch_size, drop_remainder=False)
    if augment is not None:
        counter = tf.data.Dataset.counter()
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda xy, i: augment_batch(
                xy[0], xy[1], augment, tf.stack([tf.cast(seed, tf.int64), i])
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    if presence_head:
        ds = ds.map(
            lambda xb, yb: (
                xb,
                (
                    yb,
                    tf.cast(tf.reduce_any(yb[..., :1] > 0.5, axis=[1, 2, 3])[:, None], tf.float32),
                ),
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def as_dataset(data, cfg, augment: Augment | None, shuffle: bool) -> tf.data.Dataset:
    """A run's batches from in-memory arrays ``(images, masks)`` (``make_dataset``) or from a
    streamed shard part (``edgeseg.train.shard_stream.ShardPart``), with the config's batch
    size, presence head and seed."""
    args = (cfg.train.batch_size, cfg.model.presence_head, augment, shuffle, cfg.train.seed)
    if isinstance(data, tuple):
        return make_dataset(*data, *args)
    return data.dataset(*args)
