"""Model builders: pure functions returning tf_keras functional models.

Rules that keep every model quantization-aware-trainable and int8-convertible:
nearest ``UpSampling2D`` + ``Conv2D`` in the decoder (no Conv2DTranspose, no bilinear resize),
no ``Lambda``/``Rescaling`` layers, no model nested in a model. Layer names follow the stage
(``enc2_conv_a``, ``dec1_up``) so that they read well in TFLite and quantization-debug tables.
The network's input is ``pixel / 255`` in [0, 1]; the mask output is a sigmoid per class at the
input's size.

The U-Nets' default stem (``stem_stride=2``: a strided 3x3 Conv-BN-ReLU, the mask upsampled
nearest x2 at the end) keeps every block off the full-resolution grid. At 128x128 on one core
that cuts int8 invoke from ~4.8 to ~1.7 ms: full-resolution int8 convolutions with 12 channels
and their requantization passes cost far more than their multiply-accumulates suggest.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import tf_keras as keras
from tf_keras import layers

from edgeseg.config import STEM_ARCHS, default_stem_stride
from edgeseg.errors import ConfigError


def conv_bn_relu(x, filters: int, name: str, momentum: float, kernel: int = 3, strides: int = 1):
    """Conv -> BatchNorm -> ReLU (the pattern QAT folds into one quantized conv)."""
    x = layers.Conv2D(
        filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def res_block(x, filters: int, name: str, momentum: float):
    """Residual block: two 3x3 convs plus a 1x1 projection shortcut, added, then ReLU."""
    shortcut = x
    y = conv_bn_relu(x, filters, f"{name}_a", momentum)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_b_conv")(y)
    y = layers.BatchNormalization(momentum=momentum, name=f"{name}_b_bn")(y)
    if shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj_conv")(shortcut)
        shortcut = layers.BatchNormalization(momentum=momentum, name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def double_conv(x, filters: int, name: str, momentum: float):
    """The plain U-Net block: two Conv-BN-ReLU."""
    x = conv_bn_relu(x, filters, f"{name}_a", momentum)
    return conv_bn_relu(x, filters, f"{name}_b", momentum)


def up_block(x, filters: int, name: str, momentum: float):
    """Decoder upsampling: a 3x3 Conv-BN-ReLU at the coarse resolution, then nearest x2.

    Convolving before upsampling costs a quarter of the multiply-accumulates of the reverse
    order (int8 invoke 4.8 ms instead of 5.5 ms for the default model on one core); nearest
    upsampling maps to RESIZE_NEAREST_NEIGHBOR, which int8 and the Edge TPU run natively.
    """
    x = conv_bn_relu(x, filters, f"{name}_upconv", momentum)
    return layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)


def heads(x_decoder, x_bottleneck, n_classes: int, presence_head: bool, upsample: int = 1) -> list:
    """Sigmoid mask per class (nearest-upsampled ``upsample`` x); optionally a presence score."""
    if upsample == 1:
        mask = layers.Conv2D(n_classes, 1, activation="sigmoid", name="mask")(x_decoder)
    else:
        mask = layers.Conv2D(n_classes, 1, activation="sigmoid", name="mask_coarse")(x_decoder)
        mask = layers.UpSampling2D(upsample, interpolation="nearest", name="mask")(mask)
    if not presence_head:
        return [mask]
    pooled = layers.GlobalAveragePooling2D(name="presence_pool")(x_bottleneck)
    presence = layers.Dense(1, activation="sigmoid", name="presence")(pooled)
    return [mask, presence]


def check_input_size(input_shape: tuple[int, int, int], depth: int, stem_stride: int = 1) -> None:
    """Both sides must halve ``depth`` times (after the stem's stride) without remainder."""
    if depth < 1:
        raise ConfigError(f"--depth {depth}: needs at least 1 down-sampling level")
    if stem_stride not in (1, 2):
        raise ConfigError(f"--stem-stride {stem_stride}: use 1 (full resolution) or 2")
    factor = stem_stride * 2**depth
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ConfigError(
            f"input {input_shape[0]}x{input_shape[1]} is not divisible by {factor}: "
            f"use a size that is a multiple of {factor}, a smaller --depth or --stem-stride 1"
        )


def encoder(x, block: Callable, base_filters: int, depth: int, momentum: float, dropout: float):
    """``depth`` blocks with max-pooling (``enc1``...), then the ``bottleneck`` block (+ dropout).

    Returns (bottleneck, skips) where ``skips[level]`` is the block output before pooling.
    """
    skips = []
    for level in range(depth):
        x = block(x, base_filters * 2**level, f"enc{level + 1}", momentum)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level + 1}_pool")(x)
    x = block(x, base_filters * 2**depth, "bottleneck", momentum)
    if dropout > 0:
        x = layers.Dropout(dropout, name="bottleneck_dropout")(x)
    return x, skips


def _unet_like(
    block: Callable,
    input_shape: tuple[int, int, int],
    n_classes: int,
    base_filters: int,
    depth: int,
    presence_head: bool,
    momentum: float,
    dropout: float,
    name: str,
    stem_stride: int = 1,
    refine: bool = False,
    up: Callable = up_block,
) -> keras.Model:
    check_input_size(input_shape, depth, stem_stride)
    if refine and stem_stride == 1:
        raise ConfigError("--refine needs --stem-stride 2 (it restores the full resolution)")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if stem_stride == 2:
        x = conv_bn_relu(inputs, base_filters, "stem", momentum, strides=2)
    bottleneck, skips = encoder(x, block, base_filters, depth, momentum, dropout)
    x = bottleneck
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        x = up(x, filters, f"dec{level + 1}", momentum)
        x = layers.Concatenate(name=f"dec{level + 1}_concat")([x, skips[level]])
        x = block(x, filters, f"dec{level + 1}", momentum)
    upsample = stem_stride
    if refine:
        x = refine_block(x, base_filters, momentum)
        upsample = 1
    outputs = heads(x, bottleneck, n_classes, presence_head, upsample)
    return keras.Model(inputs, outputs, name=name)


def refine_block(x, filters: int, momentum: float):
    """Back to full resolution: the decoder's features upsampled (``up_block``), then one 3x3
    Conv-BN-ReLU at full resolution, so the mask is predicted per input pixel."""
    x = up_block(x, filters, "refine", momentum)
    return conv_bn_relu(x, filters, "refine_out", momentum)


def build_resunet(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    n_classes: int = 1,
    base_filters: int = 12,
    depth: int = 3,
    presence_head: bool = True,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
    stem_stride: int = 2,
    refine: bool = False,
) -> keras.Model:
    """The lightweight residual U-Net ("ResU-Net"), the kit's default."""
    return _unet_like(
        res_block,
        input_shape,
        n_classes,
        base_filters,
        depth,
        presence_head,
        bn_momentum,
        dropout,
        "resunet",
        stem_stride,
        refine,
    )


def build_unet(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    n_classes: int = 1,
    base_filters: int = 12,
    depth: int = 3,
    presence_head: bool = True,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
    stem_stride: int = 2,
    refine: bool = False,
) -> keras.Model:
    """The plain U-Net (double 3x3 conv blocks)."""
    return _unet_like(
        double_conv,
        input_shape,
        n_classes,
        base_filters,
        depth,
        presence_head,
        bn_momentum,
        dropout,
        "unet",
        stem_stride,
        refine,
    )


def _lazy(module: str, name: str) -> Callable[..., keras.Model]:
    """A builder imported on first use (the zoo imports this module's blocks)."""

    def build(*args, **kwargs) -> keras.Model:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return build


BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "resunet": build_resunet,
    "unet": build_unet,
    "attention_unet": _lazy("edgeseg.train.zoo", "build_attention_unet"),
    "unetpp": _lazy("edgeseg.train.zoo", "build_unetpp"),
    "fcn": _lazy("edgeseg.train.zoo", "build_fcn"),
    "resunet_lite": _lazy("edgeseg.train.blocks", "build_resunet_lite"),
    "resunet_slim": _lazy("edgeseg.train.blocks", "build_resunet_slim"),
}


def build_model(
    arch: str,
    input_shape: tuple[int, int, int],
    n_classes: int,
    base_filters: int,
    depth: int,
    presence_head: bool,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
    stem_stride: int | None = None,
    refine: bool = False,
) -> keras.Model:
    """Build a model by name (see ``BUILDERS``); only the U-Nets take a stem stride.

    ``stem_stride`` None is the architecture's default (``config.default_stem_stride``).
    """
    if arch not in BUILDERS:
        raise ConfigError(
            f"--arch {arch!r} is not one of {', '.join(sorted(BUILDERS))} (ImageNet-encoder "
            "U-Nets: --encoder mobilenetv2 or mobilenetv3small; mnv2_unet is --encoder mobilenetv2)"
        )
    if stem_stride is None:
        stem_stride = default_stem_stride(arch)
    stem = {}
    if arch in STEM_ARCHS:
        stem = {"stem_stride": stem_stride, "refine": refine}
    elif stem_stride != 1 or refine:
        raise ConfigError(
            f"--stem-stride/--refine apply to {' and '.join(STEM_ARCHS)}, not --arch {arch}"
        )
    return BUILDERS[arch](
        input_shape=input_shape,
        n_classes=n_classes,
        base_filters=base_filters,
        depth=depth,
        presence_head=presence_head,
        bn_momentum=bn_momentum,
        dropout=dropout,
        **stem,
    )
