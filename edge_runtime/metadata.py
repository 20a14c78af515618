"""The ``edgeseg`` metadata entry inside a ``.tflite`` file: read it anywhere, write it on the host.

Reading is a small pure-Python flatbuffer walk (``struct`` offsets only), so it works with
``ai_edge_litert``, ``tflite_runtime`` (which ships no schema module) or nothing at all.
Writing (``edgeseg.convert`` on the host) repacks the model with ``ai_edge_litert``'s generated
schema and ``flatbuffers``, both imported inside :func:`write_metadata` only.

The JSON payload (section 5 of docs/runtime-contract.md) is written and parsed by
:class:`edgeseg.contract.FrameContract` alone; this module only moves its bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgeseg.contract import FrameContract, parse_payload, payload_json
from edgeseg.errors import DependencyError, ModelError

METADATA_NAME = "edgeseg"
TFLITE_IDENTIFIER = b"TFL3"

# Field slots of the tflite schema tables we walk (schema.fbs order).
_MODEL_BUFFERS = 4
_MODEL_METADATA = 6
_METADATA_NAME = 0
_METADATA_BUFFER = 1
_BUFFER_DATA = 0
_BUFFER_OFFSET = 1
_BUFFER_SIZE = 2


# --------------------------------------------------------------------------- reading (no deps)


class _FlatbufferError(Exception):
    """A structural problem in the flatbuffer (offset out of range, bad vtable)."""


class _Reader:
    """Bounds-checked reads of flatbuffer tables, vectors and strings from a byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _unpack(self, fmt: str, pos: int) -> int:
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.data):
            raise _FlatbufferError(f"offset {pos} outside the file ({len(self.data)} bytes)")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def u16(self, pos: int) -> int:
        return self._unpack("<H", pos)

    def u32(self, pos: int) -> int:
        return self._unpack("<I", pos)

    def i32(self, pos: int) -> int:
        return self._unpack("<i", pos)

    def u64(self, pos: int) -> int:
        return self._unpack("<Q", pos)

    def root(self) -> int:
        return self.u32(0)

    def field(self, table: int, slot: int) -> int | None:
        """Absolute position of a table field, or None when the field is absent."""
        vtable = table - self.i32(table)
        vtable_size = self.u16(vtable)
        entry = 4 + 2 * slot
        if entry + 2 > vtable_size:
            return None
        offset = self.u16(vtable + entry)
        return table + offset if offset else None

    def indirect(self, pos: int) -> int:
        return pos + self.u32(pos)

    def vector(self, pos: int) -> tuple[int, int]:
        """(start of elements, element count) of the vector referenced at ``pos``."""
        vec = self.indirect(pos)
        length = self.u32(vec)
        if length > len(self.data):
            raise _FlatbufferError(f"vector length {length} larger than the file")
        return vec + 4, length

    def table_vector(self, pos: int) -> list[int]:
        start, length = self.vector(pos)
        return [self.indirect(start + 4 * i) for i in range(length)]

    def bytes_at(self, pos: int) -> bytes:
        start, length = self.vector(pos)
        if start + length > len(self.data):
            raise _FlatbufferError("byte vector runs past the end of the file")
        return self.data[start : start + length]


def _check_identifier(data: bytes, source: str) -> None:
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(
            f"{source} is not a TFLite model (no 'TFL3' flatbuffer identifier): "
            "pass a .tflite written by `edgeseg convert`"
        )


def metadata_entries(data: bytes, source: str = "model") -> dict[str, bytes]:
    """All ``Model.metadata`` entries of a TFLite flatbuffer as ``{name: buffer bytes}``."""
    _check_identifier(data, source)
    reader = _Reader(data)
    try:
        model = reader.root()
        metadata_field = reader.field(model, _MODEL_METADATA)
        if metadata_field is None:
            return {}
        buffers_field = reader.field(model, _MODEL_BUFFERS)
        buffers = reader.table_vector(buffers_field) if buffers_field is not None else []
        entries: dict[str, bytes] = {}
        for entry in reader.table_vector(metadata_field):
            name_field = reader.field(entry, _METADATA_NAME)
            if name_field is None:
                continue
            name = reader.bytes_at(name_field).decode("utf-8", errors="replace")
            buffer_field = reader.field(entry, _METADATA_BUFFER)
            index = reader.u32(buffer_field) if buffer_field is not None else 0
            if index >= len(buffers):
                raise _FlatbufferError(f"metadata {name!r} points at missing buffer {index}")
            entries[name] = _buffer_bytes(reader, buffers[index])
        return entries
    except _FlatbufferError as exc:
        raise ModelError(
            f"{source} is corrupt ({exc}): re-export it with `edgeseg convert`"
        ) from exc


def _buffer_bytes(reader: _Reader, buffer: int) -> bytes:
    data_field = reader.field(buffer, _BUFFER_DATA)
    if data_field is not None:
        payload = reader.bytes_at(data_field)
        if payload:
            return payload
    # Models over 2 GB keep buffer data after the flatbuffer, addressed by offset and size.
    offset_field = reader.field(buffer, _BUFFER_OFFSET)
    size_field = reader.field(buffer, _BUFFER_SIZE)
    offset = reader.u64(offset_field) if offset_field is not None else 0
    size = reader.u64(size_field) if size_field is not None else 0
    if offset > 1 and size:
        if offset + size > len(reader.data):
            raise _FlatbufferError("external buffer runs past the end of the file")
        return reader.data[offset : offset + size]
    return b""


def _read(path: Path, size: int = -1) -> bytes:
    """The first ``size`` bytes (all with -1) of a model file; one ModelError line otherwise."""
    if not path.is_file():
        state = "is a folder, expected a .tflite file" if path.is_dir() else "not found"
        raise ModelError(f"model file {path} {state}: pass the .tflite written by edgeseg convert")
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from exc


def check_model_file(path: Path) -> Path:
    """ModelError unless ``path`` is a readable file with the TFLite identifier."""
    path = Path(path)
    head = _read(path, 8)
    if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(
            f"{path} is not a TFLite model (no 'TFL3' flatbuffer identifier, "
            f"{path.stat().st_size} bytes): pass a .tflite written by `edgeseg convert`"
        )
    return path


def _read_model_bytes(path: Path) -> bytes:
    return _read(Path(path))


def read_metadata(path: Path) -> dict[str, Any] | None:
    """The ``edgeseg`` metadata JSON of a ``.tflite`` as a dict; None when the model has none.

    Raises ModelError for a missing, corrupt or non-TFLite file, or unreadable JSON.
    """
    from edgeseg.edge_runtime.integrity import check_weights

    path = Path(path)
    data = _read_model_bytes(path)
    entries = metadata_entries(data, str(path))
    if METADATA_NAME not in entries:
        return None
    check_weights(data, entries, str(path))  # a weight digest recorded at export, if any
    return parse_payload(entries[METADATA_NAME], str(path))


def load_metadata(path: Path) -> FrameContract | None:
    """The model's :class:`FrameContract`, parsed from its metadata; None when it has none."""
    raw = read_metadata(path)
    return None if raw is None else FrameContract.from_json(raw, str(path))


# --------------------------------------------------------------------------- writing (host)


def embed_metadata(
    model_bytes: bytes, meta: FrameContract | Mapping[str, Any], name: str = METADATA_NAME
) -> bytes:
    """Return ``model_bytes`` with metadata entry ``name`` set to ``meta`` as UTF-8 JSON.

    ``meta`` is a contract (its :meth:`~FrameContract.to_json` payload) or a payload dict.

    An existing entry of that name is replaced (its buffer is reused); all other entries, buffers
    and subgraphs are kept. Buffer data stays 16-byte aligned, as the TFLite converter writes it.
    """
    try:
        import flatbuffers
        from ai_edge_litert import schema_py_generated as schema
    except ImportError as exc:
        raise DependencyError(
            f"writing model metadata needs ai-edge-litert and flatbuffers ({exc}): "
            "pip install ai-edge-litert"
        ) from exc
    import numpy as np

    _check_identifier(model_bytes, "model")
    try:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(bytearray(model_bytes), 0))
    except Exception as exc:  # the generated unpacker raises anything on a corrupt buffer
        raise ModelError(f"model is corrupt ({exc.__class__.__name__}): re-export it") from exc
    buffers = list(model.buffers or [])
    if any((b.offset or 0) > 1 for b in buffers):
        raise ModelError("models with external buffers (over 2 GB) cannot take metadata here")
    text = meta.to_json() if isinstance(meta, FrameContract) else payload_json(meta)
    payload = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    entries = list(model.metadata or [])
    existing = next((m for m in entries if _as_str(m.name) == name), None)
    if existing is not None and 0 < existing.buffer < len(buffers):
        buffers[existing.buffer].data = payload
    else:
        if existing is not None:
            entries.remove(existing)
        new_buffer = schema.BufferT()
        new_buffer.data = payload
        buffers.append(new_buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(buffers) - 1
        entries.append(entry)
    model.buffers = [_AlignedBuffer(b, schema) for b in buffers]
    model.metadata = entries
    builder = flatbuffers.Builder(len(model_bytes) + len(payload) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_IDENTIFIER)
    return bytes(builder.Output())


def write_metadata(
    path: Path,
    meta: FrameContract | Mapping[str, Any],
    out_path: Path | None = None,
    name: str = METADATA_NAME,
) -> Path:
    """Embed ``meta`` in the ``.tflite`` at ``path`` (in place unless ``out_path``), atomically."""
    from edgeseg.io import write_bytes_atomic

    path = Path(path)
    data = embed_metadata(_read_model_bytes(path), meta, name)
    return write_bytes_atomic(Path(out_path) if out_path is not None else path, data)


def _as_str(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


class _AlignedBuffer:
    """Packs a ``BufferT`` with its data vector 16-byte aligned (the schema's force_align)."""

    ALIGN = 16

    def __init__(self, buffer: Any, schema: Any) -> None:
        self.buffer = buffer
        self.schema = schema

    def Pack(self, builder: Any) -> int:  # noqa: N802 - the generated schema's method name
        import numpy as np

        buf, schema = self.buffer, self.schema
        data = None
        if buf.data is not None:
            payload = np.asarray(buf.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(payload), self.ALIGN)
            builder.head = builder.head - len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, buf.offset or 0)
        schema.BufferAddSize(builder, buf.size or 0)
        return schema.BufferEnd(builder)
