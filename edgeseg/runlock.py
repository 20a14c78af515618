"""One writer per run folder: a lock file beside the folder, naming its holder.

``run_lock(run_dir, "train")`` holds ``.NAME.lock`` next to ``run_dir`` (beside, not inside, so
a ``--force`` swap of the folder keeps it) while a command writes into the run. A second writer
gets one ``ConfigError`` naming the holder (pid, host, command, start time). The lock is an OS
advisory lock (``flock``) on that file, so a holder that dies, even by ``kill -9``, releases it
and the next writer takes it over; the stale file's holder is reported as such. Where ``fcntl``
is absent the file itself is the lock and a dead pid on this host marks it stale.

The lock is re-entrant within one process: ``train --qat`` holds it while QAT takes it again.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from edgeseg.errors import ConfigError
from edgeseg.io import pid_alive

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

_HELD: dict[Path, int] = {}  # lock file -> depth, for re-entry within this process


def lock_file(run_dir: Path) -> Path:
    """The lock file of a run folder: ``.NAME.lock`` in its parent."""
    run_dir = Path(run_dir).resolve()
    return run_dir.parent / f".{run_dir.name}.lock"


def _holder(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def describe(holder: dict) -> str:
    """'pid 123 on host (edgeseg train ...) since 2026-11-30 20:00:00 UTC'."""
    if not holder:
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(holder.get("started", 0)))
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
        f"({holder.get('command', '?')}) since {since}"
    )


def _busy(run_dir: Path, holder: dict) -> ConfigError:
    return ConfigError(
        f"{run_dir} is in use by {describe(holder)}: wait for it to finish or stop it "
        "(one writer per run folder)"
    )


def _me(command: str) -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command or " ".join(["edgeseg", *sys.argv[1:]]),
        "started": time.time(),
    }


def _acquire_flock(path: Path, run_dir: Path, command: str) -> int:
    """An open fd holding ``flock`` on ``path`` (the same inode as the path still names)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _busy(run_dir, _holder(path)) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and flock: try again
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(_me(command)).encode())
    os.fsync(fd)
    return fd


def _acquire_exclusive(path: Path, run_dir: Path, command: str) -> int:
    """No fcntl: the file is the lock; a dead holder on this host is taken over."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(path)
            stale = holder.get("host") == socket.gethostname() and not pid_alive(
                int(holder.get("pid", 0) or 0)
            )
            if not stale:
                raise _busy(run_dir, holder) from None
            path.unlink(missing_ok=True)
            continue
        os.write(fd, json.dumps(_me(command)).encode())
        return fd
    raise _busy(run_dir, _holder(path))


@contextlib.contextmanager
def run_lock(run_dir: Path, command: str = "") -> Iterator[Path]:
    """Hold the run folder's lock for the block; ConfigError naming the holder if taken."""
    path = lock_file(run_dir)
    if path in _HELD:
        _HELD[path] += 1
        try:
            yield path
        finally:
            _HELD[path] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        acquire = _acquire_flock if fcntl is not None else _acquire_exclusive
        fd = acquire(path, Path(run_dir), command)
    except OSError as exc:
        raise ConfigError(f"cannot lock {run_dir} ({path}: {exc.strerror or exc})") from exc
    _HELD[path] = 1
    try:
        yield path
    finally:
        del _HELD[path]
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def writes_into_run(command: str, out_param: str = "out") -> Callable:
    """Decorator for ``fn(run_dir, ..., out=None, ...)``: hold ``run_dir``'s lock while ``fn``
    runs, unless its ``out`` lies outside the run folder (then it only reads the run)."""

    def wrap(fn: Callable) -> Callable:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            run_dir = Path(next(iter(bound.arguments.values())))
            out = bound.arguments.get(out_param)
            inside = out is None or run_dir.resolve() in [
                *Path(out).resolve().parents,
                Path(out).resolve(),
            ]
            if not inside or not run_dir.is_dir():
                return fn(*args, **kwargs)
            with run_lock(run_dir, command):
                return fn(*args, **kwargs)

        return locked

    return wrap
