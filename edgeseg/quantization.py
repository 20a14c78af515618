"""Tensor quantization with the tensor's own scale and zero point (contract sections 2 and 3).

A tensor is described by the TFLite interpreter's detail dict (``dtype``, ``quantization`` and/or
``quantization_parameters``); :func:`tensor_detail` builds one by hand. numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeseg.errors import ModelError

TensorDetail = dict[str, Any]


def tensor_detail(
    dtype: Any, scale: float = 0.0, zero_point: int = 0, name: str = ""
) -> TensorDetail:
    """A minimal interpreter-style detail dict: ``dtype`` and one (scale, zero point) pair."""
    return {"name": name, "dtype": np.dtype(dtype), "quantization": (float(scale), int(zero_point))}


def tensor_quantization(detail: TensorDetail) -> tuple[np.ndarray, np.ndarray, int]:
    """(scales float64, zero points int64, axis) of a tensor; scales are empty if float.

    Scales are the tensor's float32 values widened exactly to float64.
    """
    params = detail.get("quantization_parameters") or {}
    scales = np.asarray(params.get("scales", []), dtype=np.float32).astype(np.float64)
    zeros = np.asarray(params.get("zero_points", []), dtype=np.int64)
    axis = int(params.get("quantized_dimension", 0))
    if scales.size == 0:
        scale, zero = detail.get("quantization", (0.0, 0))
        if scale:
            scales = np.array([np.float32(scale)], dtype=np.float64)
            zeros = np.array([zero], dtype=np.int64)
    if scales.size and zeros.size == 0:
        zeros = np.zeros_like(scales, dtype=np.int64)
    return scales, zeros, axis


def quantize(x: np.ndarray, detail: TensorDetail) -> np.ndarray:
    """Float values -> values of the tensor's dtype (contract section 2).

    Quantized: ``q = clip(floor(x / s + 0.5) + z, qmin, qmax)`` in float64; float tensors get
    ``x`` cast to their dtype.
    """
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return np.asarray(x).astype(dtype)
    scales, zeros, _ = tensor_quantization(detail)
    if scales.size != 1:
        raise ModelError(
            f"input tensor {detail.get('name', '')!r} is {dtype.name} without a single scale "
            f"and zero point ({scales.size} scales): re-export with a quantized uint8/int8 input"
        )
    info = np.iinfo(dtype)
    q = np.floor(np.asarray(x, dtype=np.float64) / scales[0] + 0.5) + zeros[0]
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, detail: TensorDetail) -> np.ndarray:
    """Tensor values -> float64: ``p = (q - z) * s`` (contract section 3); floats pass through."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return values.astype(np.float64)
    scales, zeros, axis = tensor_quantization(detail)
    if scales.size == 0:
        raise ModelError(
            f"output tensor {detail.get('name', '')!r} is {values.dtype.name} with no scale: "
            "re-export the model"
        )
    if scales.size > 1:  # per-channel: broadcast along the quantized axis
        shape = [1] * values.ndim
        shape[axis] = scales.size
        scales, zeros = scales.reshape(shape), zeros.reshape(shape)
    return (values.astype(np.float64) - zeros) * scales


__all__ = ["TensorDetail", "dequantize", "quantize", "tensor_detail", "tensor_quantization"]
