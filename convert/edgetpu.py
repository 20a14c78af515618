"""Edge TPU readiness: which operators the Edge TPU compiler maps, and running the compiler.

The table follows Coral's "supported operations" list (coral.ai/docs/edgetpu/models-intro):
only fully int8/uint8-quantized operators map; everything else runs on the CPU. Compilers
before version 16 cut the graph at the first unmapped operator, so all operators after it run
on the CPU too. ``edgetpu_compiler`` exists for x86-64 Debian/Ubuntu only; when it is on PATH,
:func:`compile_model` writes the ``*_edgetpu.tflite`` sibling that the runtime's ``edgetpu``
delegate looks for.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from edgeseg.convert.ops import ModelOps
from edgeseg.errors import ConfigError, DependencyError, ModelError

COMPILER = "edgetpu_compiler"
EDGETPU_SUFFIX = "_edgetpu"
INSTALL_HINT = (
    "edgetpu_compiler is not on PATH: it runs on x86-64 Debian/Ubuntu; add Coral's apt "
    "repository and `apt-get install edgetpu-compiler` (https://coral.ai/docs/edgetpu/compiler/), "
    "then run `edgetpu_compiler -s MODEL.tflite` or re-run with --edgetpu"
)

# Operator -> known limitation ("" = none). Anything not listed runs on the CPU.
EDGETPU_OPS: dict[str, str] = {
    "ADD": "",
    "AVERAGE_POOL_2D": "no fused activation",
    "CONCATENATION": "no fused activation; a constant input must be all zeros",
    "CONV_2D": "",
    "DEPTHWISE_CONV_2D": "",
    "DEQUANTIZE": "",
    "EXPAND_DIMS": "",
    "FULLY_CONNECTED": "default weight format only; 1-D output",
    "HARD_SWISH": "",
    "L2_NORMALIZATION": "",
    "LOGISTIC": "",
    "MAX_POOL_2D": "no fused activation",
    "MAXIMUM": "",
    "MEAN": "reduces over x and/or y only",
    "MINIMUM": "",
    "MUL": "",
    "PACK": "",
    "PAD": "pads x and/or y only",
    "PRELU": "",
    "QUANTIZE": "",
    "REDUCE_MAX": "",
    "REDUCE_MIN": "",
    "RELU": "",
    "RELU6": "",
    "RELU_N1_TO_1": "",
    "RESHAPE": "",
    "RESIZE_BILINEAR": (
        "may stay on the CPU for some input/output sizes (precision); edgeseg decoders use "
        "nearest upsampling instead"
    ),
    "RESIZE_NEAREST_NEIGHBOR": "3-D input/output; may stay on the CPU for some sizes",
    "RSQRT": "",
    "SLICE": "",
    "SOFTMAX": "1-D input",
    "SPACE_TO_DEPTH": "",
    "SPLIT": "",
    "SQUARED_DIFFERENCE": "",
    "SQUEEZE": "",
    "STRIDED_SLICE": "",
    "SUB": "",
    "SUM": "",
    "TANH": "",
    "TRANSPOSE": "",
    "TRANSPOSE_CONV": (
        "often not mapped or mis-compiled by compiler 16; edgeseg decoders avoid it "
        "(nearest UpSampling2D + Conv2D)"
    ),
}
INT_TYPES = ("INT8", "UINT8", "INT32", "INT64", "BOOL")


@dataclass(frozen=True)
class EdgeTpuReport:
    """Operators the Edge TPU would run, those left on the CPU, caveats, and the compile result."""

    mapped: dict[str, int]
    cpu: dict[str, int]
    cpu_reasons: tuple[str, ...]
    caveats: tuple[str, ...]
    first_cpu_op: int | None
    compiler: str | None = None
    compiled: Path | None = None
    compiler_log: str = ""
    hint: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def all_mapped(self) -> bool:
        return not self.cpu

    def summary(self) -> str:
        n_map, n_cpu = sum(self.mapped.values()), sum(self.cpu.values())
        text = f"Edge TPU: {n_map} of {n_map + n_cpu} operators map"
        if self.cpu:
            text += f"; on the CPU: {', '.join(f'{k} x{v}' for k, v in self.cpu.items())}"
        if self.compiled is not None:
            text += f"; compiled {self.compiled}"
        elif self.hint:
            text += f"; {self.hint}"
        return text

    def to_dict(self) -> dict:
        return {
            "mapped": self.mapped,
            "cpu": self.cpu,
            "cpu_reasons": list(self.cpu_reasons),
            "caveats": list(self.caveats),
            "first_cpu_op": self.first_cpu_op,
            "compiler": self.compiler,
            "compiled": str(self.compiled) if self.compiled else None,
            "hint": self.hint,
        }


def check_ops(model: ModelOps) -> EdgeTpuReport:
    """Check every operator against :data:`EDGETPU_OPS` and the int8-only rule."""
    mapped: dict[str, int] = {}
    cpu: dict[str, int] = {}
    reasons: list[str] = []
    caveats: list[str] = []
    first: int | None = None
    for op in model.ops:
        why = ""
        if op.name not in EDGETPU_OPS:
            why = "not supported by the Edge TPU"
        elif op.name not in ("QUANTIZE", "DEQUANTIZE") and any(
            t.dtype not in INT_TYPES for t in (*op.inputs, *op.outputs)
        ):
            why = "not fully integer-quantized"
        elif op.name == "DEQUANTIZE":
            why = "float output (export with --io uint8 to keep it off the CPU)"
        if why:
            cpu[op.name] = cpu.get(op.name, 0) + 1
            reasons.append(f"{op.describe()}: {why}")
            if first is None:
                first = op.index
            continue
        mapped[op.name] = mapped.get(op.name, 0) + 1
        caveat = EDGETPU_OPS[op.name]
        if caveat and f"{op.name}: {caveat}" not in caveats:
            caveats.append(f"{op.name}: {caveat}")
    notes = ()
    if first is not None and first < len(model.ops) - 1:
        notes = (f"compilers before 16 run everything after operator #{first} on the CPU as well",)
    return EdgeTpuReport(
        mapped=dict(sorted(mapped.items(), key=lambda kv: -kv[1])),
        cpu=cpu,
        cpu_reasons=tuple(reasons),
        caveats=tuple(caveats),
        first_cpu_op=first,
        notes=notes,
    )


def find_compiler() -> str | None:
    return shutil.which(COMPILER)


def edgetpu_path(path: Path) -> Path:
    """``model_int8.tflite`` -> ``model_int8_edgetpu.tflite`` (the compiler's naming)."""
    path = Path(path)
    return path.with_name(f"{path.stem}{EDGETPU_SUFFIX}{path.suffix}")


def compile_model(path: Path, force: bool = False, timeout: float = 600) -> tuple[Path, str]:
    """Run ``edgetpu_compiler`` on ``path``; returns (the ``*_edgetpu.tflite`` path, its log).

    The compiler writes into a temporary folder; its model is moved beside ``path`` only on
    success, so a failed compile leaves nothing behind.
    """
    compiler = find_compiler()
    if compiler is None:
        raise DependencyError(INSTALL_HINT)
    path = Path(path)
    target = edgetpu_path(path)
    if target.exists() and not force:
        raise ConfigError(f"{target} exists: pass --force to overwrite it")
    with tempfile.TemporaryDirectory(prefix=".edgetpu.", dir=path.parent) as tmp:
        try:
            proc = subprocess.run(
                [compiler, "-s", "-o", tmp, str(path)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DependencyError(f"{COMPILER} could not run: {exc}") from exc
        log = (proc.stdout or "") + (proc.stderr or "")
        produced = Path(tmp) / target.name
        if proc.returncode != 0 or not produced.is_file():
            last = next((ln for ln in reversed(log.strip().splitlines()) if ln.strip()), "")
            raise ModelError(
                f"{COMPILER} failed on {path} (exit {proc.returncode}): {last or 'no output'}"
            )
        os.replace(produced, target)
    return target, log


def check_and_compile(
    model: ModelOps, path: Path, compile: bool = True, force: bool = False
) -> EdgeTpuReport:
    """:func:`check_ops`, then compile when the compiler is installed (else say how to get it)."""
    report = check_ops(model)
    compiler = find_compiler()
    if compiler is None:
        return dataclasses.replace(report, hint=INSTALL_HINT)
    if not compile:
        return dataclasses.replace(report, compiler=compiler)
    compiled, log = compile_model(path, force=force)
    return dataclasses.replace(report, compiler=compiler, compiled=compiled, compiler_log=log)
