"""Depthwise-separable residual blocks and the ``resunet_lite`` U-Net built from them.

Where the default ResU-Net (``models.build_resunet``) keeps its weights: at base 12 and depth 3
about 85% of its 318k parameters sit in the two deepest levels (``enc3``, ``bottleneck``,
``dec3``), where the feature maps are only 16x16 and 8x8 at a 128x128 input. Those levels
cost few multiply-accumulates per frame but most of the int8 file. ``resunet_lite`` keeps the
full 3x3 residual blocks on the shallow levels (where the pixels are, and the MACs) and builds
the deep levels from depthwise-separable residual blocks (MobileNet's depthwise 3x3 +
pointwise 1x1, Howard et al. 2017): about 9x fewer weights there for nearly the same receptive
field. Same conventions as ``models.py``: Conv/DepthwiseConv + BatchNorm + ReLU (QAT folds each
BatchNorm into its convolution), nearest upsampling, stage-named layers, no Lambda.
"""

from __future__ import annotations

import tf_keras as keras
from tf_keras import layers

from edgeseg.train.models import _unet_like, res_block, up_block

FULL_LEVELS = 1  # resunet_lite: levels up to this one keep full 3x3 residual blocks


def sep_conv_bn(x, filters: int, name: str, momentum: float, relu: bool = True):
    """Depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN (-> ReLU): one separable unit."""
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_dw_bn")(x)
    x = layers.ReLU(name=f"{name}_dw_relu")(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_pw_bn")(x)
    return layers.ReLU(name=f"{name}_pw_relu")(x) if relu else x


def sep_res_block(x, filters: int, name: str, momentum: float):
    """``res_block`` with each 3x3 convolution made depthwise-separable (same shortcut rule)."""
    shortcut = x
    y = sep_conv_bn(x, filters, f"{name}_a", momentum)
    y = sep_conv_bn(y, filters, f"{name}_b", momentum, relu=False)
    if shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj_conv")(shortcut)
        shortcut = layers.BatchNormalization(momentum=momentum, name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def stage_level(name: str, depth: int) -> int:
    """1-based level of a stage name (``enc2`` -> 2, ``dec3`` -> 3, ``bottleneck`` -> depth+1)."""
    if name == "bottleneck":
        return depth + 1
    return int(name[3:])


def lite_block(full_levels: int, depth: int):
    """The block for ``_unet_like``: full residual up to ``full_levels``, separable deeper."""

    def block(x, filters: int, name: str, momentum: float):
        if stage_level(name, depth) <= full_levels:
            return res_block(x, filters, name, momentum)
        return sep_res_block(x, filters, name, momentum)

    return block


def build_resunet_lite(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    n_classes: int = 1,
    base_filters: int = 12,
    depth: int = 3,
    presence_head: bool = True,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
    stem_stride: int = 2,
    refine: bool = False,
    full_levels: int = FULL_LEVELS,
) -> keras.Model:
    """ResU-Net with depthwise-separable residual blocks below level ``full_levels``.

    The decoder's upsampling convolution (``up_block``) of a separable level is separable too.
    """
    block = lite_block(full_levels, depth)

    def up(x, filters: int, name: str, momentum: float):
        if stage_level(name, depth) <= full_levels:
            return up_block(x, filters, name, momentum)
        x = sep_conv_bn(x, filters, f"{name}_upconv", momentum)
        return layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)

    return _unet_like(
        block,
        input_shape,
        n_classes,
        base_filters,
        depth,
        presence_head,
        bn_momentum,
        dropout,
        "resunet_lite" if full_levels < depth else "resunet_slim",
        stem_stride,
        refine,
        up=up,
    )


def build_resunet_slim(
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
    """The default ResU-Net with only its bottleneck depthwise-separable (``resunet_slim``).

    At base 12, depth 3 the bottleneck alone holds 129k of the 318k weights but runs on 8x8
    maps: separable, it keeps 20k of them for a few hundred thousand fewer MACs.
    """
    return build_resunet_lite(
        input_shape,
        n_classes,
        base_filters,
        depth,
        presence_head,
        bn_momentum,
        dropout,
        stem_stride,
        refine,
        full_levels=depth,
    )
