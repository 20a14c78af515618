"""Run the real ``edgeseg`` CLI in a subprocess, optionally with an injected OS fault.

``python tests/cli_faults.py FAULT AFTER ROOT -- ARGS...`` patches one system call so that it
fails with a real errno after ``AFTER`` successful calls on paths under ``ROOT``, then runs
``edgeseg ARGS`` through its console entry point. Faults (each an ``OSError`` with the errno and
the file name the OS would give):

- ``enospc-save``: ``PIL.Image.Image.save`` writes the file, then fails (disk full mid-write)
- ``enospc-text``: ``pathlib.Path.write_text`` fails (a README or manifest on a full disk)
- ``erofs-mkdir`` / ``eacces-mkdir``: ``os.mkdir`` fails (read-only or forbidden output folder)
- ``emfile-open``: ``builtins.open`` fails (too many open files)
- ``none``: no fault

Monkeypatching rather than a real full/read-only disk: the tests run as root (modes are not
enforced) and may not mount a tmpfs. The OS errors raised are the ones those disks give.
"""

from __future__ import annotations

import builtins
import errno
import os
import pathlib
import sys


def _install(fault: str, after: int, root: str) -> None:
    calls = {"n": 0}

    def due(path: object) -> bool:
        if not str(os.path.abspath(os.fspath(path))).startswith(root):
            return False
        calls["n"] += 1
        return calls["n"] > after

    def error(code: int, path: object) -> OSError:
        return OSError(code, os.strerror(code), os.fspath(path))

    if fault == "enospc-save":
        from PIL import Image

        real_save = Image.Image.save

        def save(self, fp, *args, **kwargs):
            real_save(self, fp, *args, **kwargs)
            if isinstance(fp, str | os.PathLike) and due(fp):
                with open(fp, "r+b") as handle:  # leave a torn file, as a full disk does
                    handle.truncate(max(0, os.path.getsize(fp) // 2))
                raise error(errno.ENOSPC, fp)

        Image.Image.save = save
    elif fault == "enospc-text":
        real_write = pathlib.Path.write_text

        def write_text(self, *args, **kwargs):
            if due(self):
                raise error(errno.ENOSPC, self)
            return real_write(self, *args, **kwargs)

        pathlib.Path.write_text = write_text
    elif fault in ("erofs-mkdir", "eacces-mkdir"):
        code = errno.EROFS if fault == "erofs-mkdir" else errno.EACCES
        real_mkdir = os.mkdir

        def mkdir(path, *args, **kwargs):
            if due(path):
                raise error(code, path)
            return real_mkdir(path, *args, **kwargs)

        os.mkdir = mkdir
    elif fault == "emfile-open":
        real_open = builtins.open

        def open_(file, *args, **kwargs):
            if isinstance(file, str | os.PathLike) and due(file):
                raise error(errno.EMFILE, file)
            return real_open(file, *args, **kwargs)

        builtins.open = open_
    elif fault != "none":
        raise SystemExit(f"unknown fault {fault}")


if __name__ == "__main__":
    fault, after, root, sep, *args = sys.argv[1:]
    assert sep == "--"
    _install(fault, int(after), os.path.abspath(root))
    sys.argv = ["edgeseg", *args]
    from edgeseg.cli import main

    main()
