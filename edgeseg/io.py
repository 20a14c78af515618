"""Atomic file writes: nothing half-written is ever left behind."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edgeseg.errors import ConfigError


def file_in_the_way(folder: Path) -> Path | None:
    """The file at ``folder`` or at its nearest existing ancestor, if that is not a folder."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe if probe.exists() and not probe.is_dir() else None


def check_output_folder(folder: Path, flag: str = "--out") -> Path:
    """ConfigError naming ``flag`` when ``folder`` (or a parent of it) is an existing file."""
    folder = Path(folder)
    blocker = file_in_the_way(folder)
    if blocker == folder:
        raise ConfigError(f"{flag} {folder} is a file, expected a folder: pass a folder")
    if blocker is not None:
        raise ConfigError(f"{flag} {folder}: {blocker} is a file, expected a folder")
    return folder


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


def _final_mode(target: Path) -> int:
    """The mode ``open(target, "w")`` would leave: the existing file's, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    ``mkstemp`` creates the temporary file 0600; before the rename it gets the mode a normal
    write would give (0644 under the usual umask 022), so models, masks and reports stay readable.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = file_in_the_way(target.parent) or target.parent
        raise ConfigError(f"cannot write {target}: {blocker} is a file, expected a folder") from exc
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _final_mode(target))
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(target: Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)
