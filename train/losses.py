"""Losses and metrics for sigmoid segmentation outputs (tf_keras)."""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

SMOOTH = 1.0


@keras.saving.register_keras_serializable(package="edgeseg")
def dice_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Soft Dice loss per image and class, averaged (1 - Dice, smoothed by 1 pixel)."""
    y_true = tf.cast(y_true, y_pred.dtype)
    axes = (1, 2)
    inter = tf.reduce_sum(y_true * y_pred, axis=axes)
    total = tf.reduce_sum(y_true, axis=axes) + tf.reduce_sum(y_pred, axis=axes)
    return 1.0 - tf.reduce_mean((2.0 * inter + SMOOTH) / (total + SMOOTH), axis=-1)


@keras.saving.register_keras_serializable(package="edgeseg")
def dice_bce_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Dice loss plus pixel-wise binary cross-entropy."""
    bce = keras.losses.binary_crossentropy(tf.cast(y_true, y_pred.dtype), y_pred)
    return dice_loss(y_true, y_pred) + tf.reduce_mean(bce, axis=(1, 2))


@keras.saving.register_keras_serializable(package="edgeseg")
def hard_dice(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Dice of the 0.5-thresholded mask per image (both empty = 1, the Kaggle rule)."""
    y_true = tf.cast(y_true > 0.5, tf.float32)
    y_pred = tf.cast(y_pred >= 0.5, tf.float32)
    inter = tf.reduce_sum(y_true * y_pred, axis=(1, 2))
    total = tf.reduce_sum(y_true, axis=(1, 2)) + tf.reduce_sum(y_pred, axis=(1, 2))
    score = tf.where(total > 0, 2.0 * inter / tf.maximum(total, 1.0), tf.ones_like(total))
    return tf.reduce_mean(score, axis=-1)


LOSSES = {"dice": dice_loss, "dice_bce": dice_bce_loss}
CUSTOM_OBJECTS = {"dice_loss": dice_loss, "dice_bce_loss": dice_bce_loss, "hard_dice": hard_dice}
