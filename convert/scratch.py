"""A private system-temp folder for TensorFlow's conversion scratch, removed on every exit.

``TFLiteConverter.from_keras_model`` writes a 5-6 MB SavedModel into ``tempfile.mkdtemp()``
and deletes it in a ``finally``, which ``kill -9`` skips. ``private_tempdir`` points Python's
``tempfile`` at ``edgeseg-convert-PID-*`` under the system temp dir for the conversion, removes
it afterwards (exception and Ctrl-C included), and first sweeps such folders whose process is
gone, so a killed conversion leaves nothing behind for long.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edgeseg.io import pid_alive

PREFIX = "edgeseg-convert-"


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove ``edgeseg-convert-PID-*`` folders of processes that no longer run."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{PREFIX}*"):
        pid = folder.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextlib.contextmanager
def private_tempdir() -> Iterator[Path]:
    """Route ``tempfile`` into a fresh folder of ours for the block; delete it afterwards."""
    sweep_stale()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)
