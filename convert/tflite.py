"""Export a trained run to TensorFlow Lite: ``export(run_dir, variant="int8", ...)``.

The :data:`~edgeseg.convert.variants.VARIANTS` table says what each variant needs and how it is
converted (its columns, never its name, choose the behaviour). For int8 the
QAT model (``RUN_DIR/qat/model_best.h5``) is used when it exists (``which="auto"``), else the
float model is quantized post-training on calibration frames. Per-channel weights are the
converter's default. The result is checked: an int8 model must not compute anything in float
(the flatbuffer's operators and their tensor types are inspected; with ``--io float32`` only the
QUANTIZE/DEQUANTIZE at the model's edges may touch float). The ``edgeseg`` metadata (runtime
contract §5) is embedded, and the file is written atomically: on any failure nothing is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeseg.config import RunConfig, load_config
from edgeseg.contract import PIXEL_SCALE, FrameContract
from edgeseg.convert import edgetpu as edgetpu_mod
from edgeseg.convert.calibration import CalibrationSet, load_calibration
from edgeseg.convert.ops import ModelOps, TensorInfo, read_ops
from edgeseg.convert.scratch import private_tempdir
from edgeseg.convert.variants import (
    Variant,
    check_io,
    check_options,
    check_source,
    get_variant,
    reference_variant,
)
from edgeseg.edge_runtime.batch import static_batch
from edgeseg.edge_runtime.integrity import WEIGHTS_NAME, weights_entry
from edgeseg.edge_runtime.interpreter import captured_stderr
from edgeseg.edge_runtime.metadata import METADATA_NAME, embed_metadata, metadata_entries
from edgeseg.errors import ConfigError, ModelError
from edgeseg.io import write_bytes_atomic, write_text_atomic
from edgeseg.runlock import writes_into_run

EXPORT_DIR = "export"
KIB = 1024


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote and what is inside it."""

    path: Path
    variant: str
    io: str
    source: str  # qat | best | last
    source_path: Path
    bytes: int
    float32_bytes: int | None  # of the float32 export beside it, or estimated (see below)
    op_histogram: dict[str, int]
    float_ops: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: dict
    calibration: str | None = None
    warnings: tuple[str, ...] = ()
    edgetpu: edgetpu_mod.EdgeTpuReport | None = None
    quant_debug: Path | None = None
    worst_layers: tuple[dict, ...] = field(default=())
    seconds: float = 0.0
    float32_estimated: bool = False

    @property
    def size_ratio(self) -> float | None:
        """How many times smaller than the float32 export (None if that size is unknown)."""
        return self.float32_bytes / self.bytes if self.float32_bytes else None

    def summary(self) -> str:
        """The one line a long command ends with."""
        ratio = f", {self.size_ratio:.1f}x smaller than float32" if self.size_ratio else ""
        ratio = "" if get_variant(self.variant).is_reference else ratio
        return (
            f"wrote {self.path} ({self.variant} from {self.source}, {self.bytes / KIB:.0f} KiB"
            f"{ratio}) in {self.seconds:.0f}s; next: edgeseg benchmark {self.path}"
        )

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "variant": self.variant,
            "io": self.io,
            "source": self.source,
            "source_path": str(self.source_path),
            "bytes": self.bytes,
            "float32_bytes": self.float32_bytes,
            "float32_estimated": self.float32_estimated,
            "size_ratio": self.size_ratio,
            "op_histogram": self.op_histogram,
            "float_ops": list(self.float_ops),
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "metadata": self.metadata,
            "calibration": self.calibration,
            "warnings": list(self.warnings),
            "edgetpu": self.edgetpu.to_dict() if self.edgetpu else None,
            "quant_debug": str(self.quant_debug) if self.quant_debug else None,
            "seconds": round(self.seconds, 2),
        }


# ----------------------------------------------------------------------------- checks


def resolve_source(run_dir: Path, which: str, variant: Variant) -> tuple[str, Path]:
    """(source name, model path) for ``--model``; ModelError if the run lacks that model."""
    from edgeseg.train.serialization import model_path, require_model

    check_source(which, variant)
    qat = model_path(run_dir, "qat")
    if which == "auto":
        which = "qat" if variant.accepts_qat and qat.is_file() else "best"
    return which, require_model(run_dir, which)


def check_edgeseg_model(model, cfg: RunConfig, path: Path) -> bool:
    """ModelError unless ``model`` is an edgeseg U-Net for ``cfg``; returns has-presence-output.

    One input (N, H, W, 1) at the config's size; a ``mask`` output (N, H, W, classes) and
    optionally a ``presence`` output (N, 1) (``quant_`` prefixes of QAT models allowed).
    """
    h, w = cfg.preprocessing.size
    n_classes = len(cfg.classes)
    why = ""
    names = [n.removeprefix("quant_") for n in getattr(model, "output_names", [])]
    if len(model.inputs) != 1:
        why = f"{len(model.inputs)} inputs, expected 1 image"
    elif tuple(model.inputs[0].shape[1:]) != (h, w, 1):
        why = f"input shape {tuple(model.inputs[0].shape[1:])}, the run expects {(h, w, 1)}"
    elif len(model.outputs) not in (1, 2) or names[:1] != ["mask"]:
        why = f"outputs {names}, expected ['mask'] or ['mask', 'presence']"
    elif tuple(model.outputs[0].shape[1:]) != (h, w, n_classes):
        why = (
            f"mask output shape {tuple(model.outputs[0].shape[1:])}, the run expects "
            f"{(h, w, n_classes)} ({n_classes} class(es))"
        )
    elif len(model.outputs) == 2 and (
        names[1] != "presence" or tuple(model.outputs[1].shape[1:]) != (1,)
    ):
        why = (
            f"second output {names[1]} {tuple(model.outputs[1].shape[1:])}, expected presence (1,)"
        )
    if why:
        raise ModelError(
            f"{path} is not an edgeseg U-Net for this run ({why}): export models written by "
            "`edgeseg train`/`edgeseg qat` with their own run directory"
        )
    return len(model.outputs) == 2


def _target(run_dir: Path, variant: Variant, out: Path | None) -> Path:
    if out is None:
        return Path(run_dir) / EXPORT_DIR / variant.filename
    out = Path(out)
    return out if out.suffix == ".tflite" else out / variant.filename


def check_writable(target: Path, force: bool) -> None:
    """ConfigError if ``target`` exists (without ``force``) or its folder is not writable."""
    if target.exists() and not force:
        raise ConfigError(f"{target} exists: pass --force to overwrite it, or --out elsewhere")
    if target.is_dir():
        raise ConfigError(f"{target} is a folder: pass --out FILE.tflite or a folder")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(
            f"cannot write {target}: {parent} is a file, expected a folder; "
            "pass --out FILE.tflite or a folder"
        )
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot write {target}: {parent} is not writable (permission denied); "
            "pass --out to a writable folder"
        )


# ----------------------------------------------------------------------------- conversion


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln.lower()]
    return (errors or lines or [type(exc).__name__])[0][:300]


def convert_model(
    model,
    variant: Variant,
    io: str,
    calibration: CalibrationSet | None = None,
    allow_float_ops: bool = False,
    native_log: bool = False,
) -> bytes:
    """TFLite flatbuffer bytes of a Keras model (float or QAT) for one variant.

    The converter's native stderr lines are swallowed unless ``native_log`` (the CLI's --debug).
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if variant.optimized:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant.weights == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if variant.integer_only:
        if calibration is not None:
            converter.representative_dataset = calibration.representative_dataset()
            if not allow_float_ops:
                # Post-training: make the converter itself refuse float kernels. (Not for QAT
                # models: TF 2.21's conversion-metrics hook then demands a representative
                # dataset; the flatbuffer check after conversion covers them.)
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        dtype = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}[io]
        converter.inference_input_type = dtype
        converter.inference_output_type = dtype
    try:
        quiet = (
            contextlib.nullcontext() if native_log else captured_stderr()
        )  # the converter's native lines ("fully_quantize: 0, inference_type: 6, ...")
        with warnings.catch_warnings(), quiet, private_tempdir():  # its SavedModel scratch
            # QAT models carry their own input ranges; TF still warns it expected statistics.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            return bytes(converter.convert())
    except Exception as exc:  # the converter raises ConverterError, RuntimeError, ValueError...
        hint = (
            " (pass --allow-float-ops to let it fall back to float)" if not allow_float_ops else ""
        )
        raise ModelError(
            f"TFLite {variant.name} conversion failed: {_first_line(exc)}{hint}"
        ) from exc


def metadata_for(cfg: RunConfig, variant: Variant, presence: bool) -> dict:
    """The contract's metadata dict (:class:`edgeseg.contract.FrameContract` builds it)."""
    return FrameContract.from_run_config(cfg, variant.quantization, presence).to_dict()


# ----------------------------------------------------------------------------- export


@writes_into_run("edgeseg convert")
def export(
    run_dir: Path,
    variant: str = "int8",
    which: str = "auto",
    calibration: Path | str | np.ndarray | None = None,
    io: str | None = None,
    out: Path | None = None,
    force: bool = False,
    allow_float_ops: bool = False,
    debug_quantization: bool = False,
    edgetpu: bool = False,
    progress: Callable[[str], None] | None = None,
    native_log: bool = False,
) -> ExportResult:
    """Convert a run's model to one TFLite variant with embedded metadata; see module docs.

    ``which``: ``auto`` (int8: QAT model if present, else best), ``qat``, ``best``, ``last``.
    ``calibration``: folder of frames (default ``./calibration_data`` if present, else the
    packaged synthetic set; a warning names the one used) or a uint8 (N, H, W)
    array of preprocessed frames; post-training int8 only. ``io``: tensor type of the int8
    model's input/output (``uint8`` default, ``int8``, ``float32``). ``out``: file or folder
    (default ``RUN_DIR/export/``). ``debug_quantization`` writes ``quant_debug_int8.json``
    beside the model; ``edgetpu`` checks operators and runs ``edgetpu_compiler`` if installed.
    ``progress`` receives one-line messages; ``native_log`` lets the TFLite converter's own
    stderr lines through (the CLI's ``--debug``).
    """
    import edgeseg.train.qat  # noqa: F401  (registers edgeseg QuantizeConfigs for loading)
    from edgeseg.train.serialization import load_model

    say = progress or (lambda _m: None)
    start = time.time()
    run_dir = Path(run_dir)
    v = get_variant(variant)
    io = check_io(v, io)
    check_options(v, edgetpu, debug_quantization)
    cfg = load_config(run_dir)
    source, src_path = resolve_source(run_dir, which, v)
    target = _target(run_dir, v, out)
    check_writable(target, force)

    say(f"loading {src_path}")
    model = load_model(src_path)
    presence = check_edgeseg_model(model, cfg, src_path)
    warnings: list[str] = []
    calib: CalibrationSet | None = None
    if v.needs_calibration and source != "qat":
        calib = load_calibration(calibration, cfg.preprocessing, log=say)
        warnings.extend(calib.warnings)
        if calib.unreadable:
            warnings.append(f"{len(calib.unreadable)} unreadable calibration file(s) skipped")
    elif calibration is not None and v.needs_calibration:
        if not isinstance(calibration, np.ndarray) and not Path(calibration).is_dir():
            raise ConfigError(f"--calibration {calibration}: no such folder")
        say("the QAT model carries its own ranges: --calibration is not used")

    say(f"converting to {v.name} (io {io})")
    data = convert_model(model, v, io, calib, allow_float_ops, native_log)
    data = static_batch(data)  # batch 1 in the signature too: LiteRT.js refuses a dynamic one
    ops = read_ops(data)
    float_ops: list[str] = []
    if v.integer_only:
        float_ops = [op.describe() for op in ops.float_compute(io)]
        if float_ops and not allow_float_ops:
            raise ModelError(
                f"the int8 model computes {len(float_ops)} operator(s) in float "
                f"({'; '.join(float_ops[:3])}): fix the layer or pass --allow-float-ops"
            )
        if float_ops:
            warnings.append(f"{len(float_ops)} operator(s) compute in float (--allow-float-ops)")
    meta = metadata_for(cfg, v, presence)
    data = embed_metadata(data, meta)
    data = embed_metadata(data, weights_entry(data), WEIGHTS_NAME)  # checked when read
    if METADATA_NAME not in metadata_entries(data, str(target)):
        raise ModelError("the edgeseg metadata did not survive embedding: report this bug")

    float32_bytes, estimated = (
        (len(data), False) if v.is_reference else _float32_size(target, ops, len(data))
    )

    worst: tuple[dict, ...] = ()
    debug_rows: list[dict] | None = None
    if debug_quantization:
        debug_rows, note = _debug(run_dir, model, source, calib, calibration, cfg, say)
    warnings.extend(_io_warnings(ops, io))

    try:
        write_bytes_atomic(target, data)
    except PermissionError as exc:
        raise ConfigError(f"cannot write {target}: permission denied; pass --out") from exc

    debug_path = None
    if debug_rows is not None:
        from edgeseg.convert.quant_debug import write_report

        debug_path = write_report(debug_rows, target.with_name(f"quant_debug_{v.name}.json"), note)
        worst = tuple(debug_rows[:10])
    tpu = None
    if edgetpu:
        tpu = edgetpu_mod.check_and_compile(ops, target, force=force)
        say(tpu.summary())
    result = ExportResult(
        path=target,
        variant=v.name,
        io=io,
        source=source,
        source_path=src_path,
        bytes=len(data),
        float32_bytes=float32_bytes,
        float32_estimated=estimated,
        op_histogram=ops.histogram(),
        float_ops=tuple(float_ops),
        inputs=ops.inputs,
        outputs=ops.outputs,
        metadata=meta,
        calibration=calib.summary() if calib else None,
        warnings=tuple(warnings),
        edgetpu=tpu,
        quant_debug=debug_path,
        worst_layers=worst,
        seconds=time.time() - start,
    )
    write_text_atomic(target.with_suffix(".json"), json.dumps(result.to_dict(), indent=2))
    return result


def _float32_size(target: Path, ops: ModelOps, size: int) -> tuple[int, bool]:
    """(float32 size, estimated?): a float32 export beside ``target`` if there is one, else the
    estimate from this model's constant tensors (no second conversion)."""
    sibling = target.with_name(reference_variant().filename)
    if sibling.is_file() and sibling != target:
        return sibling.stat().st_size, False
    return ops.float32_bytes_estimate(size), True


def _debug(run_dir, model, source, calib, calibration, cfg, say):
    """Per-layer PTQ error of the float model (QAT models: of their float parent)."""
    from edgeseg.convert.quant_debug import layer_errors
    from edgeseg.train.serialization import load_model, model_path

    note = "post-training int8 quantization of the float model"
    if source == "qat":
        model = load_model(model_path(run_dir, "best"))
        note += " (the run's float parent of the QAT model; QAT ranges are not analysed)"
    if calib is None:
        calib = load_calibration(calibration, cfg.preprocessing, log=say)
    say("running the quantization debugger")
    return layer_errors(model, calib.representative_dataset()), note


def _io_warnings(ops: ModelOps, io: str) -> list[str]:
    """An 8-bit input whose scale is not 1/255 (zero point 0) cannot take raw pixels directly."""
    if io != "uint8" or not ops.inputs:
        return []
    t = ops.inputs[0]
    if t.scale is None or abs(t.scale / PIXEL_SCALE - 1.0) > 1e-3 or t.zero_point != 0:
        return [
            f"input scale {t.scale} zero point {t.zero_point} (not 1/255, 0): the runtime "
            "requantizes pixels with them (runtime contract §2)"
        ]
    return []
