"""A packed shard folder's manifest (``shards.json``): what ``edgeseg data pack`` wrote.

No TensorFlow here: ``edgeseg train`` recognises a shard folder, reads its frame list and splits
it by subject before anything heavy is imported. The manifest lists every shard file (frames,
bytes, SHA-256), every frame in record order (name, subject, original size, mask values) and
every frame the pack skipped, with the reason.

Record order: kept frame ``k`` is record ``k // S`` of shard ``k % S`` (round robin over ``S``
shards), so reading the shards interleaved one record at a time gives the frames back in the
order ``edgeseg.datasets.discover`` listed them; a folder and its shards then split, shuffle
and batch alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseg.config import ClassSpec
from edgeseg.datasets import SHARDS_MANIFEST, Sample
from edgeseg.errors import ConfigError, DataError
from edgeseg.imaging import labels_to_channels

MANIFEST = SHARDS_MANIFEST
SCHEMA = "edgeseg.shards/1"
LAYOUT = "shards"  # the layout a run's config.json records for a shard folder
REPACK = "pack it again with `edgeseg data pack DIR --out SHARDS`"


@dataclass(frozen=True)
class ShardFile:
    """One TFRecord file of the pack."""

    name: str
    frames: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class FrameEntry:
    """One packed frame: where it came from and what its mask holds."""

    name: str
    subject: str
    height: int  # the frame's original size (before --size)
    width: int
    values: tuple[int, ...]  # the distinct raw mask values (0 included when present)
    indexed: bool  # palette mask: values are indices (``labels_to_channels``'s rule)

    def sample(self) -> Sample:
        """A :class:`Sample` standing for this frame (for the subject-wise split)."""
        return Sample(Path(self.name), None, self.subject)


@dataclass(frozen=True)
class ShardIndex:
    """A shard folder as its manifest describes it."""

    root: Path
    files: tuple[ShardFile, ...]
    frames: tuple[FrameEntry, ...]
    size: tuple[int, int] | None  # (height, width) packed at, or None: stored sizes kept
    source: str
    skipped: tuple[tuple[str, str], ...]  # (file, reason)

    def samples(self) -> list[Sample]:
        return [f.sample() for f in self.frames]

    def paths(self) -> list[Path]:
        return [self.root / f.name for f in self.files]


def is_shard_folder(path: Path | str | None) -> bool:
    """Whether ``path`` is a folder written by ``edgeseg data pack`` (it holds ``shards.json``)."""
    return path is not None and (Path(path) / MANIFEST).is_file()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def manifest_dict(
    files: Sequence[ShardFile],
    frames: Sequence[FrameEntry],
    size: tuple[int, int] | None,
    source: str,
    layout: str,
    skipped: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """The JSON payload of ``shards.json`` (counts first, then the lists)."""
    from collections import Counter

    from edgeseg import __version__

    sizes = Counter(f"{f.width}x{f.height}" for f in frames)
    reasons = Counter(reason.split(":")[0] for _, reason in skipped)
    return {
        "schema": SCHEMA,
        "edgeseg_version": __version__,
        "source": source,
        "layout": layout,
        "size": list(size) if size else None,
        "frame_count": len(frames),
        "subject_count": len({f.subject for f in frames}),
        "skipped_count": len(skipped),
        "skipped_reasons": dict(reasons),
        "original_sizes": dict(sizes.most_common()),
        "files": [vars(f) for f in files],
        "frames": [
            [f.name, f.subject, f.height, f.width, list(f.values), f.indexed] for f in frames
        ],
        "skipped": [list(item) for item in skipped],
    }


def manifest_text(payload: dict[str, Any]) -> str:
    """``shards.json``'s text: the counts indented, then one line per frame and skipped file."""
    lists = {key: payload[key] for key in ("frames", "skipped")}
    head = json.dumps({k: v for k, v in payload.items() if k not in lists}, indent=1)
    body = ",\n".join(
        f' "{key}": [\n' + ",\n".join("  " + json.dumps(row) for row in rows) + "\n ]"
        for key, rows in lists.items()
    )
    return head[: -len("\n}")] + ",\n" + body + "\n}\n"


def _bad(root: Path, what: str) -> DataError:
    return DataError(f"{root / MANIFEST}: {what}; {REPACK}")


def read_index(root: Path | str, check_files: bool = True) -> ShardIndex:
    """Read ``root/shards.json``; one-line DataError for a malformed manifest, or (with
    ``check_files``) a shard file that is missing or not the size the manifest records."""
    root = Path(root)
    path = root / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{root}: no {MANIFEST}, not a shard folder; {REPACK}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(root, f"not JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise _bad(root, f"not an {SCHEMA} manifest")
    try:
        files = tuple(ShardFile(str(f["name"]), int(f["frames"]), int(f["bytes"]), str(f["sha256"]))
                      for f in raw["files"])  # fmt: skip
        frames = tuple(
            FrameEntry(str(n), str(s), int(h), int(w), tuple(int(v) for v in vals), bool(ix))
            for n, s, h, w, vals, ix in raw["frames"]
        )
        size = tuple(int(v) for v in raw["size"]) if raw.get("size") else None
        skipped = tuple((str(a), str(b)) for a, b in raw.get("skipped", []))
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(root, f"malformed ({type(exc).__name__}: {exc})") from exc
    if sum(f.frames for f in files) != len(frames) or not frames:
        raise _bad(root, f"its files hold {sum(f.frames for f in files)} frames, its list "
                   f"{len(frames)}")  # fmt: skip
    if any(Path(f.name).name != f.name for f in files):
        raise _bad(root, "a shard file name points outside the folder")
    index = ShardIndex(root, files, frames, size, str(raw.get("source", "")), skipped)
    if check_files:
        for shard in files:
            target = root / shard.name
            if not target.is_file():
                raise DataError(f"{target}: shard file missing; {REPACK}")
            if target.stat().st_size != shard.bytes:
                raise DataError(
                    f"{target}: {target.stat().st_size} bytes, the manifest says {shard.bytes} "
                    f"(truncated or replaced); {REPACK}"
                )
    return index


def verify(index: ShardIndex) -> None:
    """DataError naming the first shard file whose SHA-256 is not the manifest's."""
    for shard in index.files:
        if sha256_file(index.root / shard.name) != shard.sha256:
            raise DataError(f"{index.root / shard.name}: SHA-256 differs from {MANIFEST}; {REPACK}")


def check_classes(index: ShardIndex, classes: Sequence[ClassSpec]) -> None:
    """The class map fits every packed mask (the folder path's ``read_mask`` rule, checked from
    the manifest before training instead of on the first bad frame mid-epoch)."""
    values = [c.value for c in classes]
    for frame in index.frames:
        mask_values = np.asarray([frame.values], dtype=np.uint8)
        labels_to_channels(mask_values, values, f"{index.root}: frame {frame.name}", frame.indexed)


def channel_table(values: Sequence[int], indexed: bool, classes: Sequence[int]) -> np.ndarray:
    """uint8 (256, C): row ``v`` is the class channels of mask value ``v`` in a mask whose
    distinct values are ``values`` (``labels_to_channels`` applied once to those values)."""
    distinct = np.asarray([list(values)], dtype=np.uint8)
    table = np.zeros((256, len(classes)), dtype=np.uint8)
    table[distinct[0]] = labels_to_channels(distinct, classes, "mask", indexed)[0]
    return table


def files_layout(folder: Path, layout: str | None) -> str:
    """The ``--layout`` for a command that reads frames from files (tuning, evaluation) given a
    run's recorded layout: a run trained from shards reads its frames from a folder ("auto");
    a shard folder itself is a one-line ConfigError naming the folder it was packed from."""
    if is_shard_folder(folder):
        source = read_index(folder, check_files=False).source
        raise ConfigError(
            f"{folder} holds packed shards and this command reads frames from files: pass "
            f"--data with the folder they were packed from ({source})"
        )
    return "auto" if not layout or layout == LAYOUT else layout
