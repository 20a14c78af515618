"""A ``.tflite`` with a fixed batch of 1: the in-place flatbuffer edit LiteRT.js needs.

TFLite converters write Keras models with a dynamic batch (``shape_signature`` ``[-1, H, W, 1]``
beside ``shape`` ``[1, H, W, 1]``). The interpreters here run them at batch 1 anyway, but
LiteRT.js refuses a model whose input is dynamic. :func:`static_batch` rewrites each ``-1`` batch
dimension of a ``shape_signature`` to ``1`` in place: the same bytes, length, kernels and weights
(the weight digest of ``edgeseg.edge_runtime.integrity`` covers buffers, not shapes, and still
matches). Pure ``struct``, no TensorFlow: ``edgeseg convert`` applies it to every export and
``edgeseg web`` to models exported before it did.
"""

from __future__ import annotations

import struct

from edgeseg.edge_runtime.metadata import _check_identifier, _FlatbufferError, _Reader
from edgeseg.errors import ModelError

# Field slots (tflite schema.fbs order).
_MODEL_SUBGRAPHS = 2
_SUBGRAPH_TENSORS = 0
_SUBGRAPH_INPUTS = 1
_TENSOR_SHAPE = 0
_TENSOR_SHAPE_SIGNATURE = 7


def _int_vector(reader: _Reader, pos: int) -> tuple[int, list[int]]:
    start, length = reader.vector(pos)
    return start, [reader.i32(start + 4 * i) for i in range(length)]


def _dynamic_batch_slots(data: bytes, source: str) -> list[tuple[int, bool]]:
    """(byte position of a signature's batch -1, is a subgraph input) for every such tensor."""
    _check_identifier(data, source)
    reader = _Reader(data)
    slots: list[tuple[int, bool]] = []
    try:
        subgraphs = reader.field(reader.root(), _MODEL_SUBGRAPHS)
        for subgraph in reader.table_vector(subgraphs) if subgraphs is not None else []:
            tensors_field = reader.field(subgraph, _SUBGRAPH_TENSORS)
            inputs_field = reader.field(subgraph, _SUBGRAPH_INPUTS)
            inputs = set(_int_vector(reader, inputs_field)[1]) if inputs_field else set()
            tensors = reader.table_vector(tensors_field) if tensors_field is not None else []
            for index, tensor in enumerate(tensors):
                sig_field = reader.field(tensor, _TENSOR_SHAPE_SIGNATURE)
                shape_field = reader.field(tensor, _TENSOR_SHAPE)
                if sig_field is None or shape_field is None:
                    continue
                start, signature = _int_vector(reader, sig_field)
                shape = _int_vector(reader, shape_field)[1]
                if signature and signature[0] == -1 and shape[:1] == [1]:
                    slots.append((start, index in inputs))
    except _FlatbufferError as exc:
        raise ModelError(
            f"{source} is corrupt ({exc}): re-export it with `edgeseg convert`"
        ) from exc
    return slots


def has_dynamic_batch(data: bytes, source: str = "model") -> bool:
    """Whether an input of the model declares a dynamic (-1) batch in its shape signature."""
    return any(is_input for _, is_input in _dynamic_batch_slots(data, source))


def static_batch(data: bytes, source: str = "model") -> bytes:
    """The model with every dynamic batch dimension (``-1`` whose static shape is 1) set to 1.

    Returns ``data`` itself when there is none. The result has the same length and buffers.
    """
    slots = _dynamic_batch_slots(data, source)
    if not slots:
        return data
    out = bytearray(data)
    for pos, _ in slots:
        struct.pack_into("<i", out, pos, 1)
    return bytes(out)


__all__ = ["has_dynamic_batch", "static_batch"]
