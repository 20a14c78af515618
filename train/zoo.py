"""Comparison models (Attention U-Net, U-Net++, a skip-less FCN) and per-frame cost (params, MACs).

Same conventions as ``models.py``, so every model here trains, quantization-aware-trains and
exports to int8 like the default ResU-Net: nearest ``UpSampling2D`` + ``Conv2D`` in the decoder,
no ``Lambda``/``Rescaling``, no nested model, stage-named layers, input ``pixel / 255``, a sigmoid
mask per class and the optional presence head on the bottleneck. Builders share the signature of
``models.BUILDERS``: ``(input_shape, n_classes, base_filters, depth, presence_head, bn_momentum,
dropout)``; they are registered there lazily under ``attention_unet``, ``unetpp`` and ``fcn``.

- Attention U-Net (Oktay et al. 2018): additive attention gates on the skips, built from
  1x1 Conv + Add + ReLU + 1x1 Conv (sigmoid) + Multiply; the gating signal is the upsampled
  decoder feature, so the gate runs at the skip's resolution and needs no resampling.
- U-Net++ (Zhou et al. 2018): nested, densely connected skip nodes X(i, j); the mask comes from
  the top node X(0, depth) (no deep supervision).
- FCN: the same encoder and decoder widths with no skip connection at all (the paper's
  "CNN-based segmentation" baseline).
"""

from __future__ import annotations

import tf_keras as keras
from tf_keras import layers

from edgeseg.train.models import (
    check_input_size,
    conv_bn_relu,
    double_conv,
    encoder,
    heads,
    up_block,
)


def attention_gate(skip, gating, inter_filters: int, name: str):
    """Additive attention gate: ``skip * sigmoid(psi(relu(theta(skip) + phi(gating))))``.

    ``gating`` must have the skip's height and width. The coefficient map has one channel and is
    broadcast over the skip's channels by ``Multiply`` (a plain int8 MUL in TFLite).
    """
    theta = layers.Conv2D(inter_filters, 1, name=f"{name}_theta")(skip)
    phi = layers.Conv2D(inter_filters, 1, name=f"{name}_phi")(gating)
    act = layers.ReLU(name=f"{name}_relu")(layers.Add(name=f"{name}_add")([theta, phi]))
    psi = layers.Conv2D(1, 1, activation="sigmoid", name=f"{name}_psi")(act)
    return layers.Multiply(name=f"{name}_gate")([skip, psi])


def build_attention_unet(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    n_classes: int = 1,
    base_filters: int = 12,
    depth: int = 3,
    presence_head: bool = True,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
) -> keras.Model:
    """U-Net whose skips pass through additive attention gates driven by the decoder."""
    check_input_size(input_shape, depth)
    inputs = keras.Input(shape=input_shape, name="image")
    bottleneck, skips = encoder(inputs, double_conv, base_filters, depth, bn_momentum, dropout)
    x = bottleneck
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        stage = f"dec{level + 1}"
        x = up_block(x, filters, stage, bn_momentum)
        gated = attention_gate(skips[level], x, max(1, filters // 2), f"{stage}_att")
        x = layers.Concatenate(name=f"{stage}_concat")([x, gated])
        x = double_conv(x, filters, stage, bn_momentum)
    outputs = heads(x, bottleneck, n_classes, presence_head)
    return keras.Model(inputs, outputs, name="attention_unet")


def build_unetpp(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    n_classes: int = 1,
    base_filters: int = 12,
    depth: int = 3,
    presence_head: bool = True,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
) -> keras.Model:
    """U-Net++: node X(i, j) = block(concat(X(i, 0..j-1), up(X(i+1, j-1)))), mask from X(0, depth).

    Column 0 is the encoder (``enc{i+1}``, the deepest node is ``bottleneck``); nested nodes are
    named ``dec{i+1}_{j}``, so the top decoder node is ``dec1_{depth}``.
    """
    check_input_size(input_shape, depth)
    inputs = keras.Input(shape=input_shape, name="image")
    bottleneck, skips = encoder(inputs, double_conv, base_filters, depth, bn_momentum, dropout)
    nodes: dict[tuple[int, int], object] = {(level, 0): skip for level, skip in enumerate(skips)}
    nodes[(depth, 0)] = bottleneck
    for j in range(1, depth + 1):
        for i in range(depth - j + 1):
            filters = base_filters * 2**i
            name = f"dec{i + 1}_{j}"
            up = up_block(nodes[(i + 1, j - 1)], filters, name, bn_momentum)
            parts = [nodes[(i, k)] for k in range(j)] + [up]
            merged = layers.Concatenate(name=f"{name}_concat")(parts)
            nodes[(i, j)] = double_conv(merged, filters, name, bn_momentum)
    outputs = heads(nodes[(0, depth)], bottleneck, n_classes, presence_head)
    return keras.Model(inputs, outputs, name="unetpp")


def build_fcn(
    input_shape: tuple[int, int, int] = (128, 128, 1),
    n_classes: int = 1,
    base_filters: int = 12,
    depth: int = 3,
    presence_head: bool = True,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
) -> keras.Model:
    """Encoder-decoder FCN without skip connections (the "CNN-based segmentation" baseline)."""
    check_input_size(input_shape, depth)
    inputs = keras.Input(shape=input_shape, name="image")
    bottleneck, _ = encoder(inputs, double_conv, base_filters, depth, bn_momentum, dropout)
    x = bottleneck
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        x = up_block(x, filters, f"dec{level + 1}", bn_momentum)
        x = conv_bn_relu(x, filters, f"dec{level + 1}_b", bn_momentum)
    outputs = heads(x, bottleneck, n_classes, presence_head)
    return keras.Model(inputs, outputs, name="fcn")


def _spatial(shape) -> tuple[int, int]:
    """(height, width) of a 4-D feature shape; 1x1 for vectors (Dense)."""
    shape = tuple(shape)
    if len(shape) == 4:
        return int(shape[1]), int(shape[2])
    return 1, 1


def _shapes(layer) -> tuple[tuple, tuple]:
    """Input and output shapes of a layer used once (the functional models here)."""
    in_shape = layer.input.shape if not isinstance(layer.input, list) else layer.input[0].shape
    return tuple(in_shape), tuple(layer.output.shape)


def layer_macs(layer) -> int:
    """Multiply-accumulates per frame of one Conv2D, DepthwiseConv2D, SeparableConv2D or Dense.

    Other layers (BatchNorm, activations, pooling, Add, Multiply, upsampling) count 0: they are
    elementwise or folded into a convolution in the int8 model. A QAT wrapper counts as its layer.
    """
    layer = getattr(layer, "layer", layer)  # tfmot QuantizeWrapper
    if not isinstance(
        layer,
        layers.Conv2D | layers.DepthwiseConv2D | layers.SeparableConv2D | layers.Dense,
    ):
        return 0
    in_shape, out_shape = _shapes(layer)
    h, w = _spatial(out_shape)
    in_c = int(in_shape[-1])
    out_c = int(out_shape[-1])
    if isinstance(layer, layers.Dense):
        positions = 1
        for dim in out_shape[1:-1]:
            positions *= int(dim)
        return positions * in_c * out_c
    kh, kw = layer.kernel_size
    if isinstance(layer, layers.DepthwiseConv2D):
        return h * w * out_c * kh * kw
    if isinstance(layer, layers.SeparableConv2D):
        mid = in_c * layer.depth_multiplier
        return h * w * (mid * kh * kw + mid * out_c)
    groups = int(getattr(layer, "groups", 1) or 1)
    return h * w * out_c * kh * kw * (in_c // groups)


def model_stats(model: keras.Model) -> dict[str, int]:
    """``{"params": all weights, "macs": multiply-accumulates for one frame}`` from layer shapes."""
    return {
        "params": int(model.count_params()),
        "macs": int(sum(layer_macs(layer) for layer in model.layers)),
    }
