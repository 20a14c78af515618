"""What a ``.tflite`` computes: its operators with their tensor types, read from the flatbuffer.

Used to prove that an int8 export computes nothing in float, to build the operator histogram and
to check operators against the Edge TPU's list. Reads with ``ai_edge_litert``'s generated schema.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from edgeseg.errors import DependencyError, ModelError

FLOAT_TYPES = ("FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16")


@dataclass(frozen=True)
class TensorInfo:
    """One tensor: name, element type, shape and (first) quantization scale / zero point."""

    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: float | None
    zero_point: int | None
    constant: bool
    n_scales: int = 0  # per-channel quantization has one scale (and zero point) per channel

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "dtype": self.dtype.lower(),
            "shape": list(self.shape),
            "scale": self.scale,
            "zero_point": self.zero_point,
        }


@dataclass(frozen=True)
class OpInfo:
    """One operator: its position, builtin name and the tensors it reads and writes."""

    subgraph: int
    index: int
    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    @property
    def float_tensors(self) -> list[TensorInfo]:
        return [t for t in (*self.inputs, *self.outputs) if t.dtype in FLOAT_TYPES]

    def describe(self) -> str:
        out = self.outputs[0].name if self.outputs else "?"
        types = "/".join(sorted({t.dtype.lower() for t in (*self.inputs, *self.outputs)}))
        return f"{self.name}#{self.index} -> {out} ({types})"


@dataclass(frozen=True)
class ModelOps:
    """The operators of every subgraph plus the main subgraph's inputs and outputs."""

    ops: tuple[OpInfo, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    def float32_bytes_estimate(self, size: int) -> int:
        """Size of the same model with float32 constants: ``size`` plus the bytes each 8/16-bit
        constant tensor (weights) would gain, minus the quantization parameters (a float32
        scale and an int64 zero point per channel). The graph is the same after conversion
        (BatchNorm folded either way), so this is close to a float32 export's size."""
        widen = {"INT8": 3, "UINT8": 3, "FLOAT16": 2, "INT16": 2}
        delta: dict[tuple[int, int], int] = {}
        for op in self.ops:
            for t in (*op.inputs, *op.outputs):
                key = (op.subgraph, t.index)
                if key in delta:
                    continue
                n = 1
                for d in t.shape:
                    n *= max(int(d), 1)
                grow = n * widen[t.dtype] if t.constant and t.dtype in widen else 0
                delta[key] = grow - 12 * t.n_scales
        return max(size + sum(delta.values()), 0)

    def histogram(self) -> dict[str, int]:
        """Operator name -> count, most frequent first."""
        return dict(Counter(op.name for op in self.ops).most_common())

    def float_compute(self, io: str) -> list[OpInfo]:
        """Operators that compute in float. With ``io='float32'`` the QUANTIZE of a model input
        and the DEQUANTIZE of a model output are the allowed float edges; nothing else is."""
        ins = {t.index for t in self.inputs}
        outs = {t.index for t in self.outputs}
        bad = []
        for op in self.ops:
            if not op.float_tensors:
                continue
            if io == "float32" and op.subgraph == 0:
                if op.name == "QUANTIZE" and all(
                    t.index in ins for t in op.inputs if t.dtype in FLOAT_TYPES
                ):
                    continue
                if op.name == "DEQUANTIZE" and all(
                    t.index in outs for t in op.outputs if t.dtype in FLOAT_TYPES
                ):
                    continue
            bad.append(op)
        return bad


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as exc:
        raise DependencyError(
            f"reading .tflite operators needs ai-edge-litert ({exc}): pip install ai-edge-litert"
        ) from exc
    return schema


def _names(enum) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def read_ops(model_bytes: bytes) -> ModelOps:
    """Parse the operators and I/O tensors of a TFLite flatbuffer."""
    schema = _schema()
    if len(model_bytes) < 8 or model_bytes[4:8] != b"TFL3":
        raise ModelError("not a TFLite flatbuffer (no TFL3 identifier)")
    model = schema.Model.GetRootAs(model_bytes, 0)
    op_names = _names(schema.BuiltinOperator)
    type_names = _names(schema.TensorType)
    ops: list[OpInfo] = []
    io: tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...]] = ((), ())
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)

        def tensor(i: int, sub=sub) -> TensorInfo:
            t = sub.Tensors(i)
            q = t.Quantization()
            scale = zp = None
            n_scales = q.ScaleLength() if q is not None else 0
            if n_scales:
                scale, zp = float(q.Scale(0)), int(q.ZeroPoint(0)) if q.ZeroPointLength() else 0
            buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
            return TensorInfo(
                index=i,
                name=(t.Name() or b"").decode("utf-8", errors="replace"),
                dtype=type_names.get(t.Type(), str(t.Type())),
                shape=tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else (),
                scale=scale,
                zero_point=zp,
                constant=bool(buf is not None and (buf.DataLength() or buf.Offset() > 1)),
                n_scales=n_scales,
            )

        for k in range(sub.OperatorsLength()):
            op = sub.Operators(k)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = op_names.get(builtin, str(builtin))
            if name == "CUSTOM":
                name = f"CUSTOM:{(code.CustomCode() or b'').decode()}"
            ins = tuple(tensor(int(i)) for i in op.InputsAsNumpy() if i >= 0)
            outs = tuple(tensor(int(i)) for i in op.OutputsAsNumpy() if i >= 0)
            ops.append(OpInfo(s, k, name, ins, outs))
        if s == 0:
            io = (
                tuple(tensor(int(i)) for i in sub.InputsAsNumpy()),
                tuple(tensor(int(i)) for i in sub.OutputsAsNumpy()),
            )
    return ModelOps(tuple(ops), *io)
