"""Helpers every ``edgeseg`` command shares: output, one-line errors, common checks and
option types."""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path
from typing import Annotated

import typer

from edgeseg.errors import DependencyError, EdgesegError


def say(message: str) -> None:
    typer.echo(message)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"edgeseg: error: {message}", err=True)
    raise typer.Exit(code)


DEBUG_ENV = "EDGESEG_DEBUG"  # set by ``edgeseg --debug`` (app.py); read by the CLI alone


def debug_enabled() -> bool:
    """Whether ``--debug`` was given; the CLI passes it to the library as a parameter."""
    return bool(os.environ.get(DEBUG_ENV))


def user_errors(fn):
    """Turn EdgesegError into one line + exit 2, unless --debug was given."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EdgesegError as exc:
            if debug_enabled():
                raise
            fail(str(exc), exc.exit_code)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            if debug_enabled():
                raise
            fail(path_kind_message(exc))
        except OSError as exc:
            if debug_enabled():
                raise
            fail(os_error_message(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def path_kind_message(exc: OSError) -> str:
    """One line for a file where a folder belongs, or the reverse."""
    where = exc.filename or "a path"
    if isinstance(exc, IsADirectoryError):
        return f"{where} is a folder, but a file is needed there: choose another path"
    return f"{where} (or a folder above it) is a file, but a folder is needed: choose another path"


# errno -> (what happened, the fix); the OS faults a user can act on
_OS_FAULTS = {
    errno.ENOSPC: ("no space left on the device", "free some space or write somewhere else"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write somewhere else"),
    errno.EROFS: ("read-only file system", "write to a writable folder (e.g. pass another --out)"),
    errno.EACCES: ("permission denied", "fix its permissions or choose another path"),
    errno.EPERM: ("operation not permitted", "fix its permissions or choose another path"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) and run again"),
    errno.ENFILE: ("too many open files in the system", "close other programs and run again"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.ELOOP: ("too many levels of symbolic links", "check the path"),
    errno.EIO: ("input/output error", "check the disk and run again"),
    errno.EPIPE: ("the output pipe was closed", "let the reader take the whole output"),
}


def os_error_message(exc: OSError) -> str:
    """One line for an OS fault: the file, what happened and the fix (no traceback)."""
    where = exc.filename if exc.filename is not None else "a path"
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    what, fix = _OS_FAULTS.get(
        exc.errno or -1, (exc.strerror or str(exc) or type(exc).__name__, "check the path")
    )
    return f"{where}: {what}: {fix}"


def check_out_folder(path: Path | None, flag: str = "--out") -> None:
    """Fail before any work when ``path`` (or a parent) exists but is not a folder."""
    if path is not None:
        from edgeseg.io import check_output_folder

        check_output_folder(path, flag)


def check_out_file(path: Path | None, flag: str) -> None:
    """Fail before any work when ``path`` is a folder or its parent is a file."""
    if path is None:
        return
    if Path(path).is_dir():
        fail(f"{flag} {path}: is a folder; give a file name, e.g. {Path(path) / 'out.json'}")
    check_out_folder(Path(path).parent, flag)


def require_tensorflow() -> None:
    """A clear message when the host-side extra is missing."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeseg.edge_runtime.interpreter import captured_stderr

    try:
        with captured_stderr():  # TensorFlow's native start-up lines (oneDNN, CUDA probe)
            import tensorflow  # noqa: F401
            import tf_keras  # noqa: F401
    except ImportError as exc:
        raise DependencyError(
            f"this command trains or converts models and needs TensorFlow ({exc.name} is "
            "missing): pip install 'edgeseg[train]'"
        ) from exc


Credit = Annotated[
    str, typer.Option(help="The dataset's credit line, written into the reports (its licence).")
]
EmptyPolicy = Annotated[
    str,
    typer.Option(
        help="How frames with empty masks score: kaggle (both empty = 1), monai or nonempty-gt "
        "(frames with empty ground truth left out)."
    ),
]


MaxPixels = Annotated[
    int,
    typer.Option(
        min=1, max=178_956_970, help="Largest image decoded (pixels), checked before decoding."
    ),
]


Backend = Annotated[
    str, typer.Option(help="Interpreter: auto, litert, tflite_runtime or tensorflow.")
]
Delegate = Annotated[str, typer.Option(help="auto, cpu, edgetpu, nnapi or gpu.")]
Threads = Annotated[int | None, typer.Option(help="CPU threads (default: the runtime's).")]
StrictDelegate = Annotated[
    bool, typer.Option(help="Fail instead of falling back to the CPU when a delegate is missing.")
]
InputSize = Annotated[
    str | None,
    typer.Option(help="Input size (e.g. 128 or 128x96) for a .tflite without edgeseg metadata."),
]


def runtime_options(
    backend: str, delegate: str, threads: int | None, input_size: str | None, strict: bool
) -> dict:
    """The interpreter options ``predict`` and ``stream`` share, as keyword arguments."""
    return {
        "backend": backend,
        "delegate": delegate,
        "threads": threads,
        "input_size": input_size,
        "strict_delegate": strict,
    }


Threshold = Annotated[float | None, typer.Option(help="Override the model's threshold.")]
MinArea = Annotated[int | None, typer.Option(help="Override the min-area (model input pixels).")]
LargestComponent = Annotated[
    bool | None, typer.Option(help="Override: keep only the largest component of each class.")
]
PresenceGate = Annotated[
    bool | None, typer.Option(help="Override: an empty mask when the presence score is low.")
]
PresenceThreshold = Annotated[float | None, typer.Option(help="Override the gate's threshold.")]


def postprocess_overrides(
    threshold: float | None,
    min_area: int | None,
    largest_component: bool | None,
    presence_gate: bool | None,
    presence_threshold: float | None,
) -> dict:
    """The post-processing flags given (None: the model's own), as keyword arguments.

    They are ``PostProcess``'s fields, so the flags ``edgeseg tune-postprocess`` recommends apply
    to ``predict`` and ``stream`` as printed; ``FrameContract.with_overrides`` checks the values.
    """
    given = {
        "threshold": threshold,
        "min_area": min_area,
        "largest_component": largest_component,
        "presence_gate": presence_gate,
        "presence_threshold": presence_threshold,
    }
    return {k: v for k, v in given.items() if v is not None}


def runtime_warnings_as_lines() -> None:
    """Runtime warnings (delegate fallback, skipped frame) print as one plain line each."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
        typer.echo(f"edgeseg: warning: {message}", err=True)

    warnings.showwarning = show
