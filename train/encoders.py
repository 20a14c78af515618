"""Transfer-learning U-Nets on ImageNet encoders (MobileNetV2, MobileNetV3-Small minimalistic).

The encoder is built FLAT in the same functional graph as the stem and the decoder
(``keras.applications.X(input_tensor=...)`` and then its intermediate tensors are reused), so
tfmot can quantize every layer and the int8 TFLite has no nested model. Layout::

    image (H, W, 1) in [0, 1]
      -> stem_conv: 1x1 Conv2D 1 -> 3 channels, initialised to 2x - 1 on every channel
         (gray replicated into the [-1, 1] RGB range the ImageNet weights expect; no Lambda)
      -> encoder (its own layer names, so ImageNet weight files load by name)
      -> decoder: dec5..dec2 (nearest UpSampling2D + Conv-BN-ReLU, concat with the skip feature
         projected by a 1x1 Conv-BN-ReLU to the stage width, 2x Conv-BN-ReLU), dec1 (no skip)
      -> heads: ``mask`` (sigmoid per class) and optionally ``presence`` (from the bottleneck)

Skip features are the activations that enter each stride-2 stage (the inputs of the encoder's
``ZeroPadding2D`` layers): H/2, H/4, H/8, H/16; the bottleneck is the H/32 feature map that enters
the encoder's final 1x1 expansion ``Conv_1`` (dropped: 1280 channels in MobileNetV2), so the input
size must be a multiple of 32.

Both encoders are int8- and Edge-TPU-friendly: ReLU/ReLU6, depthwise and 1x1 convolutions, Add,
Pad; MobileNetV3 is used ``minimalistic=True`` (no hard-swish, no squeeze-excite) and without its
``Rescaling`` preprocessing layer.

Freeze-then-unfreeze schedule (the usual transfer-learning recipe)::

    model = build_encoder_unet("mobilenetv2", (128, 128, 1), weights="imagenet")
    set_encoder_trainable(model, False); model.compile(...); model.fit(..., epochs=5)
    set_encoder_trainable(model, True); model.compile(lr / 10); model.fit(...)

A frozen BatchNorm runs in inference mode (tf_keras semantics), which is what fine-tuning wants.
``RunConfig.model.encoder`` / ``encoder_weights`` record the choice; ``bn_momentum`` is applied to
the encoder's BatchNorm layers too (the applications default to 0.999, which settles slowly).
"""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tf_keras as keras
from tf_keras import layers

from edgeseg.errors import ConfigError, DependencyError, ModelError
from edgeseg.train.models import conv_bn_relu, double_conv, heads, up_block

STEM = "stem_conv"
# Layers that are not part of the encoder: the input, the stem, the decoder and the heads.
OWN_PREFIXES = ("image", "stem_", "dec", "mask", "presence")
DOWNSAMPLING = 32


@dataclass(frozen=True)
class Encoder:
    """One ImageNet encoder: how to build it flat and where its ImageNet weights live."""

    name: str
    build: Callable[..., keras.Model]
    default_alpha: float
    imagenet_alphas: tuple[float, ...]
    weights_url: str
    weights_file: Callable[[float, int], str]


def _mnv2(input_tensor, alpha: float) -> keras.Model:
    return keras.applications.MobileNetV2(
        input_tensor=input_tensor, include_top=False, weights=None, alpha=alpha
    )


def _mnv3small(input_tensor, alpha: float) -> keras.Model:
    return keras.applications.MobileNetV3Small(
        input_tensor=input_tensor,
        include_top=False,
        weights=None,
        alpha=alpha,
        minimalistic=True,
        include_preprocessing=False,
    )


def _mnv2_file(alpha: float, rows: int) -> str:
    rows = rows if rows in (96, 128, 160, 192, 224) else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


def _mnv3small_file(alpha: float, rows: int) -> str:
    return f"weights_mobilenet_v3_small_minimalistic_224_{float(alpha)}_float_no_top_v2.h5"


ENCODERS: dict[str, Encoder] = {
    "mobilenetv2": Encoder(
        name="mobilenetv2",
        build=_mnv2,
        default_alpha=0.35,
        imagenet_alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4),
        weights_url="https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/",
        weights_file=_mnv2_file,
    ),
    "mobilenetv3small": Encoder(
        name="mobilenetv3small",
        build=_mnv3small,
        default_alpha=1.0,
        imagenet_alphas=(1.0,),
        weights_url="https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/",
        weights_file=_mnv3small_file,
    ),
}


def _check(encoder: str, input_shape: tuple[int, int, int], weights: str, alpha: float) -> None:
    if encoder not in ENCODERS:
        raise ConfigError(f"--encoder {encoder!r} is not one of {', '.join(sorted(ENCODERS))}")
    h, w, c = input_shape
    if h % DOWNSAMPLING or w % DOWNSAMPLING:
        raise ConfigError(
            f"input size {h}x{w}: the {encoder} encoder downsamples {DOWNSAMPLING}x, so both "
            f"sides must be multiples of {DOWNSAMPLING} (e.g. 128x128)"
        )
    if c != 1:
        raise ConfigError(f"input has {c} channels: edgeseg models take 1 (grayscale)")
    spec = ENCODERS[encoder]
    if weights == "imagenet" and alpha not in spec.imagenet_alphas:
        raise ConfigError(
            f"--encoder-alpha {alpha} has no ImageNet {encoder} weights: use one of "
            f"{', '.join(str(a) for a in spec.imagenet_alphas)} or --encoder-weights none"
        )


def build_encoder_unet(
    encoder: str = "mobilenetv2",
    input_shape: tuple[int, int, int] = (128, 128, 1),
    n_classes: int = 1,
    presence_head: bool = True,
    weights: str = "none",
    alpha: float | None = None,
    base_filters: int = 8,
    bn_momentum: float = 0.9,
    dropout: float = 0.1,
) -> keras.Model:
    """A U-Net on an ImageNet encoder, one flat functional model named ``{encoder}_unet``.

    ``weights``: ``"none"`` (random init), ``"imagenet"`` (downloaded once into the Keras cache,
    ``~/.keras/models``) or the path of a weights ``.h5`` (loaded by layer name; layers whose
    shapes differ are skipped). ``alpha`` is the encoder's width multiplier (default: 0.35 for
    MobileNetV2, 1.0 for MobileNetV3-Small). Decoder widths are ``base_filters * (8, 4, 2, 1, 1)``
    from the deepest stage up; the decoder grows with ``base_filters`` squared (MobileNetV2 0.35:
    0.52M parameters in all at 8, 0.78M at 12, 1.12M at 16; the encoder is 0.26M of them).
    """
    spec = ENCODERS.get(encoder)
    alpha = float(alpha if alpha is not None else (spec.default_alpha if spec else 1.0))
    input_shape = tuple(int(v) for v in input_shape)
    _check(encoder, input_shape, weights, alpha)
    weights_path = (
        _resolve_weights(spec, weights, alpha, input_shape[0]) if weights != "none" else None
    )

    inputs = keras.Input(shape=input_shape, name="image")
    stem = layers.Conv2D(
        3,
        1,
        name=STEM,
        kernel_initializer=keras.initializers.Constant(2.0),
        bias_initializer=keras.initializers.Constant(-1.0),
    )(inputs)
    backbone = spec.build(stem, alpha)
    skips = [
        layer.input
        for layer in backbone.layers
        if isinstance(layer, layers.ZeroPadding2D) and not layer.name.startswith(OWN_PREFIXES)
    ]
    expected = [input_shape[0] // 2**k for k in (1, 2, 3, 4)]
    if [int(s.shape[1]) for s in skips] != expected:
        raise ModelError(
            f"{encoder}: could not find skip features at H/2..H/16 "
            f"(found sizes {[int(s.shape[1]) for s in skips]}); keras.applications changed?"
        )
    # The bottleneck is what enters the encoder's final 1x1 expansion ("Conv_1": 1280 channels in
    # MobileNetV2, 576 in MobileNetV3-Small): a 3x3 decoder conv on those would hold most of the
    # parameters, so the expansion is dropped (unreachable layers are not part of the model).
    x = bottleneck = backbone.get_layer("Conv_1").input
    if dropout > 0:
        x = layers.Dropout(dropout, name="dec_dropout")(x)
    widths = [base_filters * m for m in (8, 4, 2, 1)]
    for level, (skip, filters) in enumerate(zip(reversed(skips), widths, strict=True)):
        stage = f"dec{5 - level}"
        x = up_block(x, filters, stage, bn_momentum)
        skip = conv_bn_relu(skip, filters, f"{stage}_skip", bn_momentum, kernel=1)
        x = layers.Concatenate(name=f"{stage}_concat")([x, skip])
        x = double_conv(x, filters, stage, bn_momentum)
    x = up_block(x, base_filters, "dec1", bn_momentum)
    x = double_conv(x, base_filters, "dec1", bn_momentum)
    model = keras.Model(
        inputs, heads(x, bottleneck, n_classes, presence_head), name=f"{encoder}_unet"
    )
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = bn_momentum
    if weights_path is not None:
        load_encoder_weights(model, weights_path)
    return model


def encoder_layers(model: keras.Model) -> list[layers.Layer]:
    """The layers that belong to the ImageNet encoder (not the input, stem, decoder or heads)."""
    return [
        layer
        for layer in model.layers
        if not layer.name.startswith(OWN_PREFIXES) and not isinstance(layer, layers.InputLayer)
    ]


def set_encoder_trainable(model: keras.Model, trainable: bool) -> int:
    """Freeze or unfreeze the encoder; returns how many encoder layers were set.

    Recompile the model afterwards (Keras reads ``trainable`` at compile time).
    """
    found = encoder_layers(model)
    if not found:
        raise ModelError(f"model {model.name!r} has no encoder layers to freeze")
    for layer in found:
        layer.trainable = trainable
    return len(found)


def _is_offline(exc: BaseException) -> bool:
    """True if ``exc`` (or what caused it) is a network failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, urllib.error.URLError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _resolve_weights(spec: Encoder, weights: str, alpha: float, rows: int) -> Path:
    """``"imagenet"`` -> the cached/downloaded file; anything else is a path that must exist."""
    if weights != "imagenet":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"--encoder-weights {weights}: no such file; pass none, imagenet or the path "
                "of a weights .h5"
            )
        return path
    fname = spec.weights_file(alpha, rows)
    try:
        return Path(keras.utils.get_file(fname, spec.weights_url + fname, cache_subdir="models"))
    except Exception as exc:  # keras wraps URLError/HTTPError in a plain Exception
        why = "no internet connection" if _is_offline(exc) else str(exc).splitlines()[0]
        raise DependencyError(
            f"ImageNet weights {fname} could not be downloaded ({why}): fetch "
            f"{spec.weights_url}{fname} on a connected machine and pass "
            "--encoder-weights PATH"
        ) from exc


def _strs(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _h5_layer_shapes(path: Path) -> dict[str, list[tuple[int, ...]]]:
    """Layer name -> weight shapes stored in a Keras HDF5 weights (or full-model) file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            group = f.get("model_weights", f)
            return {
                name: [tuple(g[w].shape) for w in _strs(g.attrs["weight_names"])]
                for name in _strs(group.attrs["layer_names"])
                for g in [group[name]]
            }
    except (OSError, KeyError) as exc:
        raise ModelError(f"{path}: not a Keras HDF5 weights file ({exc})") from exc


def load_encoder_weights(model: keras.Model, path: Path) -> dict[str, int]:
    """Load a weights .h5 into the encoder by layer name, skipping layers whose shapes differ.

    Returns ``{"loaded": n, "skipped": m}`` (layers with weights). No matching layer at all is an
    error: the file is for another network or another ``alpha``.
    """
    stored = _h5_layer_shapes(path)
    loaded = skipped = 0
    for layer in encoder_layers(model):
        if not layer.weights or layer.name not in stored:
            continue
        if [tuple(w.shape) for w in layer.weights] == stored[layer.name]:
            loaded += 1
        else:
            skipped += 1
    if loaded == 0:
        raise ModelError(
            f"{path}: none of its layers matches the {model.name} encoder "
            f"({skipped} with other shapes): is it for this encoder and this --encoder-alpha?"
        )
    model.load_weights(str(path), by_name=True, skip_mismatch=True)
    return {"loaded": loaded, "skipped": skipped}
