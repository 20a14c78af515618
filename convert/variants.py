"""The table of export formats. It validates ``edgeseg convert`` flags and drives ``export``.

One row per TFLite variant (like Ultralytics' ``export_formats()``): its file name, whether
post-training quantization needs calibration frames, the input/output tensor types ``--io`` may
ask for, where the file is meant to run, the weight type, whether every operator computes in
integers, and whether a QAT model exports to it. ``edgeseg.convert.tflite`` reads these columns
and never branches on a variant's name; a new row is a new variant.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeseg.errors import ConfigError

IO_TYPES = ("uint8", "int8", "float32")
SOURCES = ("auto", "qat", "best", "last")


@dataclass(frozen=True)
class Variant:
    """One export format."""

    name: str
    filename: str
    needs_calibration: bool  # post-training int8 only: a QAT model carries its own ranges
    io_types: tuple[str, ...]  # allowed --io, the first is the default
    delegates: tuple[str, ...]  # where it is meant to run ("edgetpu" allows --edgetpu)
    description: str
    weights: str = "float32"  # stored weight type: float32, float16 or int8
    integer_only: bool = False  # int8 activations: no float kernel allowed, --io sets I/O types
    accepts_qat: bool = False  # a QAT model (RUN_DIR/qat) exports to this variant

    @property
    def default_io(self) -> str:
        return self.io_types[0]

    @property
    def optimized(self) -> bool:
        """Whether the converter quantizes anything (its ``Optimize.DEFAULT``)."""
        return self.weights != "float32" or self.integer_only

    @property
    def is_reference(self) -> bool:
        """The unquantized export other sizes are compared with."""
        return not self.optimized

    @property
    def quantization(self) -> str:
        """The ``quantization`` value written into the model's metadata."""
        return self.name


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "float32",
            "model_float32.tflite",
            needs_calibration=False,
            io_types=("float32",),
            delegates=("cpu", "gpu"),
            description="reference float model, largest, for parity checks and GPU delegates",
        ),
        Variant(
            "float16",
            "model_float16.tflite",
            needs_calibration=False,
            io_types=("float32",),
            delegates=("cpu", "gpu"),
            description="float16 weights (half size), computes in float32 or on a GPU",
            weights="float16",
        ),
        Variant(
            "dynamic",
            "model_dynamic.tflite",
            needs_calibration=False,
            io_types=("float32",),
            delegates=("cpu",),
            description="int8 weights, float activations (dynamic range), CPU only",
            weights="int8",
        ),
        Variant(
            "int8",
            "model_int8.tflite",
            needs_calibration=True,
            io_types=("uint8", "int8", "float32"),
            delegates=("cpu", "nnapi", "edgetpu"),
            description="full integer: int8 weights and activations, raw uint8 pixels in",
            weights="int8",
            integer_only=True,
            accepts_qat=True,
        ),
    )
}


def get_variant(name: str) -> Variant:
    """The row for ``name``; ConfigError naming the valid set otherwise."""
    if name not in VARIANTS:
        raise ConfigError(f"variant {name!r} is not one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


def check_io(variant: Variant, io: str | None) -> str:
    """The I/O type to use (the variant's default for None); ConfigError if not allowed."""
    if io is None:
        return variant.default_io
    if io not in variant.io_types:
        raise ConfigError(
            f"--io {io} is not available for the {variant.name} variant (allowed: "
            f"{', '.join(variant.io_types)}); uint8/int8 I/O needs --int8"
        )
    return io


def names_where(column: str) -> list[str]:
    """Names of the variants whose boolean ``column`` is true, in table order."""
    return [v.name for v in VARIANTS.values() if getattr(v, column)]


def flags(names: list[str]) -> str:
    """``--int8`` (or ``--int8 or --float16``): the ``convert`` flags choosing these variants."""
    return " or ".join(f"--{n}" for n in names)


def reference_variant() -> Variant:
    """The unquantized row (float32): what size ratios are measured against."""
    return next(v for v in VARIANTS.values() if v.is_reference)


def check_source(which: str, variant: Variant) -> None:
    """``--model``: which trained model to export; QAT models export where ``accepts_qat``."""
    if which not in SOURCES:
        raise ConfigError(f"--model {which!r} is not one of {', '.join(SOURCES)}")
    if which == "qat" and not variant.accepts_qat:
        qat_names = names_where("accepts_qat")
        raise ConfigError(
            f"--model qat exports to {', '.join(qat_names)} only (asked for {variant.name}): "
            f"pass {flags(qat_names)}, or --model best for float variants"
        )


def check_options(variant: Variant, edgetpu: bool, debug_quantization: bool) -> None:
    """ConfigError for ``--edgetpu`` on a variant not meant for it, or ``--debug-quantization``
    on one without post-training calibration (the debugger measures that quantization)."""
    if edgetpu and "edgetpu" not in variant.delegates:
        tpu = [v.name for v in VARIANTS.values() if "edgetpu" in v.delegates]
        raise ConfigError(f"--edgetpu needs {flags(tpu)} (the Edge TPU runs integer models only)")
    if debug_quantization and not variant.needs_calibration:
        raise ConfigError(f"--debug-quantization needs {flags(names_where('needs_calibration'))}")
