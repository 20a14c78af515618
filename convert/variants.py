"""The table of export formats. It validates ``edgeseg convert`` flags and drives ``export``.

One row per TFLite variant: its file name, whether post-training quantization needs calibration
frames, the input/output tensor types ``--io`` may ask for, and where the file is meant to run.
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
    delegates: tuple[str, ...]  # where it is meant to run
    description: str

    @property
    def default_io(self) -> str:
        return self.io_types[0]

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
        ),
        Variant(
            "dynamic",
            "model_dynamic.tflite",
            needs_calibration=False,
            io_types=("float32",),
            delegates=("cpu",),
            description="int8 weights, float activations (dynamic range), CPU only",
        ),
        Variant(
            "int8",
            "model_int8.tflite",
            needs_calibration=True,
            io_types=("uint8", "int8", "float32"),
            delegates=("cpu", "nnapi", "edgetpu"),
            description="full integer: int8 weights and activations, raw uint8 pixels in",
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


def check_source(which: str, variant: Variant) -> None:
    """``--model``: which trained model to export; QAT models export to int8 only."""
    if which not in SOURCES:
        raise ConfigError(f"--model {which!r} is not one of {', '.join(SOURCES)}")
    if which == "qat" and variant.name != "int8":
        raise ConfigError(
            f"--model qat exports to int8 only (asked for {variant.name}): "
            "pass --int8, or --model best for float variants"
        )
