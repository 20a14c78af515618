"""A SHA-256 of a ``.tflite``'s weights, recorded at export and checked when a model is read.

``edgeseg convert`` stores the digest of every tensor buffer (all buffers except metadata
entries, by index) in a metadata entry ``edgeseg_weights``; ``read_metadata`` recomputes it, so
a bit-flipped weight is one ModelError instead of a model that runs and segments wrongly.
Models exported before the entry existed carry none and are not checked.
"""

from __future__ import annotations

import hashlib
import json

from edgeseg.edge_runtime.metadata import (
    _METADATA_BUFFER,
    _MODEL_BUFFERS,
    _MODEL_METADATA,
    _buffer_bytes,
    _check_identifier,
    _FlatbufferError,
    _Reader,
)
from edgeseg.errors import ModelError

WEIGHTS_NAME = "edgeseg_weights"


def weights_sha256(data: bytes, source: str = "model") -> str:
    """SHA-256 over each non-metadata buffer's index, length and bytes, in buffer order."""
    _check_identifier(data, source)
    reader = _Reader(data)
    try:
        model = reader.root()
        buffers_field = reader.field(model, _MODEL_BUFFERS)
        buffers = reader.table_vector(buffers_field) if buffers_field is not None else []
        metadata_field = reader.field(model, _MODEL_METADATA)
        skip = set()
        for entry in reader.table_vector(metadata_field) if metadata_field is not None else []:
            buffer_field = reader.field(entry, _METADATA_BUFFER)
            skip.add(reader.u32(buffer_field) if buffer_field is not None else 0)
        digest = hashlib.sha256()
        for index, buffer in enumerate(buffers):
            if index in skip:
                continue
            payload = _buffer_bytes(reader, buffer)
            digest.update(index.to_bytes(4, "little") + len(payload).to_bytes(8, "little"))
            digest.update(payload)
        return digest.hexdigest()
    except _FlatbufferError as exc:
        raise ModelError(
            f"{source} is corrupt ({exc}): re-export it with `edgeseg convert`"
        ) from exc


def weights_entry(data: bytes) -> dict[str, str]:
    """The ``edgeseg_weights`` payload for a model's bytes."""
    return {"sha256": weights_sha256(data)}


def check_weights(data: bytes, entries: dict[str, bytes], source: str = "model") -> None:
    """ModelError when the model records a weight digest and its weights no longer match it."""
    raw = entries.get(WEIGHTS_NAME)
    if raw is None:
        return
    try:
        recorded = json.loads(raw.decode("utf-8"))["sha256"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{source}: its {WEIGHTS_NAME} metadata is unreadable ({exc})") from exc
    if recorded != weights_sha256(data, source):
        raise ModelError(
            f"{source}: its weights do not match the SHA-256 recorded at export (a damaged or "
            "edited file); copy it again or re-export it with `edgeseg convert`"
        )
