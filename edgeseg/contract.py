"""The frame contract in code: pixels -> input tensor -> outputs -> mask -> overlay.

:class:`FrameContract` holds exactly what a model's ``edgeseg`` metadata holds (input size and
scale, preprocessing, classes, post-processing with the presence gate) and has the verbs every
consumer calls: training's data pipeline, calibration, convert (the metadata payload), the
runtime's ``Segmenter``, evaluation, parity and the Android golden generator. The sections of
docs/runtime-contract.md name the function implementing each rule. numpy + Pillow only.
Reading a frame from a file (section 0: oversized frames reduced, EXIF orientation) comes before
the contract and lives in ``edgeseg.imaging.read_frame``, so that training data (read as stored)
and the runtime share every rule from the gray frame on.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeseg import __version__
from edgeseg.config import (
    NORMALIZATIONS,
    ClassSpec,
    PostProcess,
    Preprocessing,
    RunConfig,
    parse_classes,
)
from edgeseg.errors import ConfigError, ModelError
from edgeseg.imaging import resize_mask
from edgeseg.postprocess import overlay, probabilities_to_mask
from edgeseg.preprocess import preprocess
from edgeseg.quantization import TensorDetail, dequantize, quantize, tensor_detail

SCHEMA = "edgeseg.metadata/1"
READABLE_SCHEMAS = (SCHEMA,)  # payloads this code parses; add the old one when SCHEMA moves on
QUANTIZATIONS = ("float32", "float16", "dynamic", "int8")
PIXEL_SCALE = 1.0 / 255.0  # input.scale: the network sees pixel * scale (section 2)

NAMED_COLORS: dict[str, tuple[int, int, int]] = {
    "nerve": (255, 220, 0),
    "vessel": (230, 40, 40),
}
# Colours for any other class, in class order (cycled), chosen to stay apart from yellow and red.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 200, 255),
    (60, 220, 60),
    (255, 0, 255),
    (255, 140, 0),
    (40, 90, 255),
    (160, 90, 255),
)


# --------------------------------------------------------------------------- classes


@dataclass(frozen=True)
class ClassInfo:
    """One output channel: class name, the mask value that marks it, its overlay colour."""

    name: str
    value: int
    color: tuple[int, int, int]


def class_color(name: str, index: int) -> tuple[int, int, int]:
    """Overlay colour of a class: fixed for nerve and vessel, else from ``PALETTE`` by index."""
    return NAMED_COLORS.get(name, PALETTE[index % len(PALETTE)])


def default_classes(names: Sequence[str]) -> tuple[ClassInfo, ...]:
    """ClassInfo for class names in order (values 1, 2, ...; colours by name or palette)."""
    return tuple(ClassInfo(n, i + 1, class_color(n, i)) for i, n in enumerate(names))


def class_infos(classes: str | Sequence[str | ClassSpec | ClassInfo]) -> tuple[ClassInfo, ...]:
    """``"nerve,vessel"``, ``"nerve=1,vessel=2"``, names or ClassSpecs -> ClassInfo tuple."""
    if isinstance(classes, str):
        if "=" not in classes:
            return default_classes([n.strip() for n in classes.split(",") if n.strip()])
        specs: Sequence[ClassSpec | ClassInfo] = parse_classes(classes)
    else:
        specs = tuple(
            c if isinstance(c, ClassSpec | ClassInfo) else ClassSpec(str(c), i + 1)
            for i, c in enumerate(classes)
        )
    return tuple(
        s if isinstance(s, ClassInfo) else ClassInfo(s.name, s.value, class_color(s.name, i))
        for i, s in enumerate(specs)
    )


# --------------------------------------------------------------------------- pixels and overlay


def pixels_to_float(
    pixels: np.ndarray, scale: float = PIXEL_SCALE, dtype: Any = np.float64
) -> np.ndarray:
    """uint8 pixels -> the network's float input ``pixel / 255`` (section 2), same shape.

    The one place the scale is applied: computed in float64 (``/ 255`` exactly for the
    standard scale), then cast to ``dtype``; float32 results equal ``float32(p) / 255``.
    """
    wide = np.asarray(pixels, dtype=np.float64)
    x = wide / 255.0 if math.isclose(scale, PIXEL_SCALE, rel_tol=1e-12) else wide * scale
    return x.astype(dtype, copy=False)


def _batched(values: np.ndarray) -> np.ndarray:
    """HxW -> [1, H, W, 1]; NxHxW -> [N, H, W, 1]."""
    return values[None, ..., None] if values.ndim == 2 else values[..., None]


def float_input(pixels: np.ndarray, scale: float = PIXEL_SCALE) -> np.ndarray:
    """HxW or NxHxW uint8 pixels -> the float32 input [N, H, W, 1] of a float (Keras) model."""
    return _batched(pixels_to_float(pixels, scale, np.float32))


# --------------------------------------------------------------------------- settings checks

OVERRIDES = (
    "threshold",
    "min_area",
    "largest_component",
    "presence_gate",
    "presence_threshold",
    "normalize",
    "classes",
)


def check_postprocess(post: PostProcess) -> PostProcess:
    """ConfigError unless thresholds are in [0, 1] and min_area a whole number >= 0."""
    for name in ("threshold", "presence_threshold"):
        value = getattr(post, name)
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ConfigError(f"--{name.replace('_', '-')} {value!r}: must be a number")
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"--{name.replace('_', '-')} {value}: must be between 0 and 1")
    if isinstance(post.min_area, bool) or not isinstance(post.min_area, int | np.integer):
        raise ConfigError(f"--min-area {post.min_area!r}: must be a whole number of pixels")
    if post.min_area < 0:
        raise ConfigError(f"--min-area {post.min_area}: must be 0 or more pixels")
    for name in ("largest_component", "presence_gate"):
        if not isinstance(getattr(post, name), bool | np.bool_):
            raise ConfigError(f"{name}={getattr(post, name)!r}: must be true or false")
    return post


def _plain(value: Any, default: Any) -> Any:
    """A dataclass field's value as JSON, typed like its default (1 -> 1.0 for a float)."""
    if isinstance(default, tuple):
        return [float(v) for v in value]
    return type(default)(value)


def _section(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        f.name: _plain(getattr(obj, f.name), f.default)
        for f in dataclasses.fields(obj)
        if f.name not in skip
    }


# --------------------------------------------------------------------------- the contract


@dataclass(frozen=True)
class FrameContract:
    """What a model's metadata says, with the verbs that apply it to frames and tensors."""

    preprocessing: Preprocessing
    postprocess: PostProcess
    classes: tuple[ClassInfo, ...]
    input_scale: float = PIXEL_SCALE
    channels: int = 1
    presence_output: bool = False
    quantization: str = "unknown"
    arch: str = "unknown"
    edgeseg_version: str = __version__
    config_sha256: str = ""
    schema: str = SCHEMA

    @classmethod
    def default(
        cls, size: tuple[int, int] = (128, 128), classes: Sequence[str] = ("nerve",)
    ) -> FrameContract:
        """The contract's defaults at ``size`` (height, width): for a model without metadata."""
        return cls(
            preprocessing=Preprocessing(height=size[0], width=size[1]),
            postprocess=PostProcess(),
            classes=default_classes(classes),
        )

    @classmethod
    def from_run_config(
        cls, cfg: RunConfig, quantization: str = "float32", presence_output: bool = False
    ) -> FrameContract:
        """The contract of a model trained with ``cfg`` and exported as ``quantization``."""
        if quantization not in QUANTIZATIONS:
            raise ConfigError(
                f"quantization={quantization!r} is not one of {', '.join(QUANTIZATIONS)}"
            )
        return cls(
            preprocessing=cfg.preprocessing,
            postprocess=check_postprocess(cfg.postprocess),
            classes=class_infos(cfg.classes),
            presence_output=bool(presence_output),
            quantization=quantization,
            arch=cfg.model.arch,
            edgeseg_version=__version__,
            config_sha256=cfg.sha256(),
        )

    # -- properties ----------------------------------------------------------------------------

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        return self.preprocessing.size

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    # -- settings ------------------------------------------------------------------------------

    def with_overrides(self, **overrides: Any) -> FrameContract:
        """A copy with single settings replaced; ``None`` values are ignored.

        Names: ``threshold``, ``min_area``, ``largest_component``, ``presence_gate``,
        ``presence_threshold`` (post-processing), ``normalize`` and ``classes`` (names,
        ``"nerve=1,vessel=2"`` or ClassSpecs). ConfigError for an unknown name or a bad value.
        """
        unknown = sorted(set(overrides) - set(OVERRIDES))
        if unknown:
            raise ConfigError(
                f"unknown setting {', '.join(unknown)}: the settings are {', '.join(OVERRIDES)}"
            )
        given = {k: v for k, v in overrides.items() if v is not None}
        pre = self.preprocessing
        if "normalize" in given:
            if given["normalize"] not in NORMALIZATIONS:
                choices = ", ".join(NORMALIZATIONS)
                raise ConfigError(f"--normalize {given['normalize']!r}: must be one of {choices}")
            pre = dataclasses.replace(pre, normalize=given["normalize"])
        post_names = {f.name for f in dataclasses.fields(PostProcess)}
        post = dataclasses.replace(
            self.postprocess, **{k: v for k, v in given.items() if k in post_names}
        )
        classes = class_infos(given["classes"]) if "classes" in given else self.classes
        if not classes:
            raise ConfigError(f"--classes {given.get('classes')!r}: name at least one class")
        return dataclasses.replace(
            self, preprocessing=pre, postprocess=check_postprocess(post), classes=classes
        )

    # -- frames -> tensors ---------------------------------------------------------------------

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """A frame (gray/RGB, 8/16-bit, any size) -> uint8 HxW pixels at model size (section 1)."""
        return preprocess(frame, self.preprocessing)

    def to_float(self, pixels: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """Pixels -> the network's float values ``pixel * input.scale``, same shape."""
        return pixels_to_float(pixels, self.input_scale, dtype)

    def to_input(self, pixels: np.ndarray, tensor: TensorDetail | None = None) -> np.ndarray:
        """HxW or NxHxW pixels -> input tensor values [N, H, W, 1] (section 2).

        ``tensor`` is the input's interpreter detail (dtype, scale, zero point): float32, uint8
        or int8; None means the float32 input of a Keras model.
        """
        if tensor is None or np.dtype(tensor["dtype"]) == np.float32:
            return float_input(pixels, self.input_scale)
        return _batched(quantize(self.to_float(pixels), tensor))

    def input_table(self, tensor: TensorDetail) -> np.ndarray:
        """:meth:`to_input` of each uint8 value 0..255: ``table.take(pixels)`` is the same."""
        return quantize(self.to_float(np.arange(256, dtype=np.uint8)), tensor)

    # -- tensors -> masks ----------------------------------------------------------------------

    def from_output(
        self,
        mask_values: np.ndarray,
        mask_tensor: TensorDetail,
        presence_values: np.ndarray | None = None,
        presence_tensor: TensorDetail | None = None,
    ) -> tuple[np.ndarray, float | None]:
        """Raw outputs -> (HxWxC float64 probabilities, presence score or None) (section 3).

        Each output is dequantized with its own tensor's scale and zero point; a leading batch
        axis of 1 is dropped.
        """
        values = np.asarray(mask_values)
        prob = dequantize(values[0] if values.ndim == 4 else values, mask_tensor)
        presence = None
        if presence_values is not None:
            detail = presence_tensor if presence_tensor is not None else mask_tensor
            presence = float(dequantize(presence_values, detail).ravel()[0])
        return prob, presence

    def to_masks(
        self, prob: np.ndarray, presence: float | None, size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mask at model size, mask at the frame's ``size`` (height, width)), uint8 {0,1}.

        Threshold, presence gate, minimum area, largest component (section 3), then the
        nearest-neighbour resize to the frame (section 4).
        """
        mask_model = probabilities_to_mask(prob, self.postprocess, presence)
        return mask_model, resize_mask(mask_model, tuple(size))

    def to_mask(
        self, prob: np.ndarray, presence: float | None = None, size: tuple[int, int] | None = None
    ) -> np.ndarray:
        """The mask at the frame's ``size`` (height, width), or at model size when None."""
        if size is None:
            return probabilities_to_mask(prob, self.postprocess, presence)
        return self.to_masks(prob, presence, size)[1]

    def overlay(self, gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The classes' colours over the gray frame, HxWx3 uint8 (section 4)."""
        return overlay(gray, mask, [c.color for c in self.classes])

    # -- the metadata payload (section 5) ------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The metadata JSON object, generated from the dataclasses' fields in their order."""
        return {
            "schema": self.schema,
            "edgeseg_version": self.edgeseg_version,
            "config_sha256": self.config_sha256,
            "arch": self.arch,
            "quantization": self.quantization,
            "input": {
                "height": int(self.preprocessing.height),
                "width": int(self.preprocessing.width),
                "channels": int(self.channels),
                "scale": float(self.input_scale),
            },
            "preprocessing": _section(self.preprocessing, skip=("height", "width")),
            "classes": [
                {"name": c.name, "value": int(c.value), "color": [int(v) for v in c.color]}
                for c in self.classes
            ],
            "postprocess": _section(self.postprocess),
            "presence_output": bool(self.presence_output),
        }

    def to_json(self, indent: int | None = None) -> str:
        """The metadata payload as JSON text (what ``convert`` embeds in the ``.tflite``)."""
        return payload_json(self.to_dict(), indent)

    @classmethod
    def from_json(
        cls, payload: str | bytes | Mapping[str, Any], source: str = "model"
    ) -> FrameContract:
        """Parse a metadata payload (text, bytes or dict); ModelError naming the bad field."""
        raw = parse_payload(payload, source)
        schema = raw.get("schema", "")
        if not str(schema).startswith("edgeseg.metadata/"):
            raise ModelError(f"{source}: metadata schema {schema!r} is not an edgeseg schema")
        if schema not in READABLE_SCHEMAS:
            raise ModelError(
                f"{source}: metadata schema {schema!r} is newer than this runtime ({SCHEMA}): "
                "upgrade edgeseg on the device"
            )
        try:
            inp = raw["input"]
            pre = dict(raw.get("preprocessing", {}))
            if "percentiles" in pre:
                pre["percentiles"] = tuple(float(p) for p in pre["percentiles"])
            classes = tuple(
                ClassInfo(
                    str(c["name"]),
                    int(c["value"]),
                    tuple(int(v) for v in c.get("color") or class_color(c["name"], i)),
                )
                for i, c in enumerate(raw["classes"])
            )
            contract = cls(
                preprocessing=Preprocessing(
                    height=int(inp["height"]), width=int(inp["width"]), **pre
                ),
                postprocess=check_postprocess(PostProcess(**raw.get("postprocess", {}))),
                classes=classes,
                channels=int(inp.get("channels", 1)),
                input_scale=float(inp.get("scale", PIXEL_SCALE)),
                presence_output=bool(raw.get("presence_output", False)),
                quantization=str(raw.get("quantization", "unknown")),
                arch=str(raw.get("arch", "unknown")),
                edgeseg_version=str(raw.get("edgeseg_version", "unknown")),
                config_sha256=str(raw.get("config_sha256", "")),
                schema=schema,
            )
        except ConfigError as exc:
            raise ModelError(f"{source}: invalid edgeseg metadata: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{source}: malformed edgeseg metadata ({exc.__class__.__name__}: {exc}): "
                "re-export the model with `edgeseg convert`"
            ) from exc
        if not classes:
            raise ModelError(f"{source}: edgeseg metadata lists no classes: re-export the model")
        if any(len(c.color) != 3 for c in classes):
            raise ModelError(f"{source}: class colours must be [R, G, B]: re-export the model")
        if not (math.isfinite(contract.input_scale) and contract.input_scale > 0):
            raise ModelError(f"{source}: input scale {contract.input_scale} must be positive")
        return contract


def payload_json(meta: Mapping[str, Any], indent: int | None = None) -> str:
    """A metadata dict as the JSON text the ``.tflite`` carries (``json.dumps`` defaults)."""
    return json.dumps(meta, indent=indent)


def parse_payload(payload: str | bytes | Mapping[str, Any], source: str) -> dict[str, Any]:
    """A metadata payload (JSON text, UTF-8 bytes or a dict) -> dict; ModelError if not JSON."""
    if isinstance(payload, Mapping):
        return dict(payload)
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"{source}: the edgeseg metadata is not valid JSON ({exc}): re-export the model"
        ) from exc
    if not isinstance(raw, dict):
        raise ModelError(
            f"{source}: the edgeseg metadata is not a JSON object: re-export the model"
        )
    return raw


__all__ = [
    "OVERRIDES",
    "PALETTE",
    "PIXEL_SCALE",
    "QUANTIZATIONS",
    "READABLE_SCHEMAS",
    "SCHEMA",
    "ClassInfo",
    "FrameContract",
    "check_postprocess",
    "class_color",
    "class_infos",
    "default_classes",
    "float_input",
    "overlay",
    "parse_payload",
    "payload_json",
    "pixels_to_float",
    "tensor_detail",
]
