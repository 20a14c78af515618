"""Open a ``.tflite`` with the best available interpreter and delegate.

Backends, in ``auto`` order: ``ai_edge_litert`` (LiteRT), ``tflite_runtime``, and
``tensorflow.lite`` only when neither of the others is installed. Delegates: ``cpu``,
``edgetpu`` (``libedgetpu.so.1`` plus the ``*_edgetpu.tflite`` compiled sibling), ``nnapi`` and
``gpu`` (external delegate libraries). A delegate that cannot load gives ONE
:class:`DelegateFallbackWarning` and a CPU interpreter, or a ``DependencyError`` with
``strict_delegate=True``; the native loaders' stderr noise is swallowed.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgeseg.edge_runtime.metadata import check_model_file
from edgeseg.errors import ConfigError, DependencyError, ModelError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "litert", "tflite_runtime", "tensorflow")
DELEGATES = ("auto", "cpu", "edgetpu", "nnapi", "gpu")
EDGETPU_SUFFIX = "_edgetpu"

# Shared libraries per delegate and OS (dlopen search path; pass delegate_library to override).
DELEGATE_LIBRARIES: dict[str, dict[str, str]] = {
    "edgetpu": {
        "Linux": "libedgetpu.so.1",
        "Darwin": "libedgetpu.1.dylib",
        "Windows": "edgetpu.dll",
    },
    "gpu": {
        "Linux": "libtensorflowlite_gpu_delegate.so",
        "Darwin": "libtensorflowlite_gpu_delegate.dylib",
        "Windows": "tensorflowlite_gpu_delegate.dll",
    },
    "nnapi": {"Linux": "libnnapi_delegate.so"},
}
INSTALL_HINTS = {
    "edgetpu": "install the Edge TPU runtime (apt-get install libedgetpu1-std)",
    "gpu": "build or install the TFLite GPU delegate library",
    "nnapi": "NNAPI exists only on Android; use the Android app or --delegate cpu",
}


class DelegateFallbackWarning(RuntimeWarning):
    """A requested delegate could not be used; the model runs on the CPU instead."""


@dataclass(frozen=True)
class InterpreterInfo:
    """What :func:`make_interpreter` actually chose (report it next to every timing)."""

    model_path: str
    backend: str
    backend_version: str
    delegate: str
    requested_delegate: str
    threads: int | None
    init_ms: float
    fallback: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Backend:
    name: str
    version: str
    interpreter: Callable[..., Any]
    load_delegate: Callable[..., Any]


# --------------------------------------------------------------------------- backends


def _load_backend(name: str) -> _Backend:
    """Import one backend by name; ImportError if it is not installed."""
    if name == "litert":
        mod = importlib.import_module("ai_edge_litert.interpreter")
        return _Backend(name, _dist_version("ai-edge-litert"), mod.Interpreter, mod.load_delegate)
    if name == "tflite_runtime":
        mod = importlib.import_module("tflite_runtime.interpreter")
        return _Backend(name, _dist_version("tflite-runtime"), mod.Interpreter, mod.load_delegate)
    if name == "tensorflow":
        tf = importlib.import_module("tensorflow")
        return _Backend(
            name, str(tf.__version__), tf.lite.Interpreter, tf.lite.experimental.load_delegate
        )
    raise ConfigError(f"backend={name!r} is not one of {', '.join(BACKENDS)}")


def _dist_version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def resolve_backend(backend: str = "auto") -> _Backend:
    """The backend to use; DependencyError naming the package to install."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if backend != "auto":
        try:
            return _load_backend(backend)
        except ImportError as exc:
            package = {"litert": "ai-edge-litert", "tflite_runtime": "tflite-runtime"}.get(
                backend, "tensorflow"
            )
            raise DependencyError(
                f"backend {backend!r} is not installed ({exc}): pip install {package}, "
                "or use the auto backend"
            ) from exc
    for name in ("litert", "tflite_runtime", "tensorflow"):
        try:
            return _load_backend(name)
        except ImportError:
            continue
    raise DependencyError(
        "no TFLite interpreter is installed: pip install ai-edge-litert "
        "(or tflite-runtime on older devices)"
    )


# --------------------------------------------------------------------------- stderr hygiene


@dataclass
class _Captured:
    text: str = ""
    unraisable: list[str] | None = None


@contextlib.contextmanager
def captured_stderr(collect: bool = False) -> Iterator[_Captured]:
    """Swallow native (fd 2) and Python stderr output, and unraisable ``__del__`` errors.

    Native loaders print straight to file descriptor 2, and LiteRT's ``Delegate.__del__`` fails
    noisily when its library never loaded (``collect=True`` runs that ``__del__`` inside).
    Note: fd 2 is process-wide, so other threads' stderr is swallowed for that moment too.
    """
    captured = _Captured(unraisable=[])
    old_hook = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        captured.unraisable.append(f"{unraisable.exc_type.__name__}: {unraisable.exc_value}")

    sys.unraisablehook = hook
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        saved = None
    with tempfile.TemporaryFile() as tmp:
        try:
            if saved is not None:
                os.dup2(tmp.fileno(), 2)
            with contextlib.redirect_stderr(io.StringIO()) as py_err:
                try:
                    yield captured
                finally:
                    if collect:
                        gc.collect()  # run a failed Delegate's __del__ while the hook is ours
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
            sys.unraisablehook = old_hook
        tmp.seek(0)
        captured.text = tmp.read().decode("utf-8", errors="replace") + py_err.getvalue()
    if captured.text.strip():
        log.debug("native stderr: %s", captured.text.strip())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0] if "\n" in text else text


# --------------------------------------------------------------------------- model files


def edgetpu_sibling(path: Path) -> Path:
    """``model.tflite`` -> ``model_edgetpu.tflite`` (the edgetpu_compiler's naming)."""
    path = Path(path)
    return path.with_name(f"{path.stem}{EDGETPU_SUFFIX}{path.suffix}")


def cpu_sibling(path: Path) -> Path:
    """``model_edgetpu.tflite`` -> ``model.tflite``; other paths unchanged."""
    path = Path(path)
    if path.stem.endswith(EDGETPU_SUFFIX):
        return path.with_name(f"{path.stem[: -len(EDGETPU_SUFFIX)]}{path.suffix}")
    return path


def is_edgetpu_model(path: Path) -> bool:
    return Path(path).stem.endswith(EDGETPU_SUFFIX)


# --------------------------------------------------------------------------- delegates


def delegate_library_name(delegate: str) -> str:
    """Default shared-library name of a delegate on this OS."""
    names = DELEGATE_LIBRARIES.get(delegate, {})
    system = platform.system()
    if system not in names:
        raise DependencyError(
            f"delegate {delegate!r} has no library on {system}: use --delegate cpu"
        )
    return names[system]


def try_load_delegate(
    backend: _Backend, delegate: str, library: str | None = None, options: dict | None = None
) -> tuple[Any | None, str | None]:
    """(delegate object, None) or (None, one-line reason); never prints, never raises."""
    try:
        library = library or delegate_library_name(delegate)
    except DependencyError as exc:
        return None, str(exc)
    reason = None
    loaded = None
    with captured_stderr(collect=True):
        try:
            loaded = backend.load_delegate(library, options)
        except (OSError, ValueError, RuntimeError, AttributeError) as exc:
            text = _first_line(exc)
            reason = text if library in text else f"{library}: {text}"
    return loaded, reason


def _create(backend: _Backend, path: Path, threads: int | None, delegates: list[Any] | None) -> Any:
    """Build and allocate an interpreter; ValueError/RuntimeError from the backend propagate."""
    with captured_stderr():
        interpreter = backend.interpreter(
            model_path=str(path), num_threads=threads, experimental_delegates=delegates or None
        )
        interpreter.allocate_tensors()
    return interpreter


MAX_THREADS = 256  # the interpreters take a C int; 100000 threads crashed TFLite (SIGSEGV)


def check_threads(threads: object) -> None:
    """None (the runtime's default) or a whole number 1..MAX_THREADS; ConfigError otherwise."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise ConfigError(f"--threads {threads!r}: expected a whole number from 1 to {MAX_THREADS}")


def make_interpreter(
    path: Path,
    backend: str = "auto",
    delegate: str = "auto",
    threads: int | None = None,
    strict_delegate: bool = False,
    delegate_library: str | None = None,
    delegate_options: dict[str, Any] | None = None,
) -> tuple[Any, InterpreterInfo]:
    """Open ``path`` and allocate its tensors: ``(interpreter, InterpreterInfo)``.

    ``delegate``: ``auto`` (Edge TPU when ``*_edgetpu.tflite`` and its library exist, else CPU),
    ``cpu``, ``edgetpu``, ``nnapi`` or ``gpu``. If the delegate cannot be used the model runs on
    the CPU after one ``DelegateFallbackWarning`` (``strict_delegate=True``: DependencyError).
    ``delegate_library`` overrides the library name/path of the chosen delegate.
    """
    if delegate not in DELEGATES:
        raise ConfigError(f"--delegate {delegate!r} is not one of {', '.join(DELEGATES)}")
    check_threads(threads)
    path = Path(path)
    started = time.perf_counter()
    be = resolve_backend(backend)
    chosen = _resolve_delegate(path, delegate)
    fallback = None
    if chosen == "edgetpu" and not _edgetpu_model_for(path).is_file():
        tpu_model = _edgetpu_model_for(path)
        fallback = _fallback(
            chosen,
            delegate,
            f"no {tpu_model.name} beside {path.name}",
            strict_delegate,
            hint=f"compile it with `edgetpu_compiler {path.name}`",
        )
        chosen = "cpu"
    elif chosen != "cpu":
        model = check_model_file(_edgetpu_model_for(path) if chosen == "edgetpu" else path)
        loaded, reason = try_load_delegate(be, chosen, delegate_library, delegate_options)
        if loaded is not None:
            try:
                interpreter = _create(be, model, threads, [loaded])
            except (ValueError, RuntimeError) as exc:
                reason = f"it rejected the model: {_first_line(exc)}"
            else:
                return interpreter, _info(model, be, chosen, delegate, threads, started)
        fallback = _fallback(chosen, delegate, reason, strict_delegate)
        chosen = "cpu"

    path = check_model_file(_cpu_model_for(path))
    try:
        interpreter = _create(be, path, threads, None)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(
            f"{path}: the {be.name} interpreter cannot load it ({_first_line(exc)}): "
            "re-export it with `edgeseg convert`"
        ) from exc
    return interpreter, _info(path, be, "cpu", delegate, threads, started, fallback)


def _resolve_delegate(path: Path, delegate: str) -> str:
    if delegate != "auto":
        return delegate
    tpu_model = path if is_edgetpu_model(path) else edgetpu_sibling(path)
    return "edgetpu" if tpu_model.is_file() else "cpu"


def _edgetpu_model_for(path: Path) -> Path:
    return path if is_edgetpu_model(path) else edgetpu_sibling(path)


def _cpu_model_for(path: Path) -> Path:
    if not is_edgetpu_model(path):
        return path
    plain = cpu_sibling(path)
    if not plain.is_file():
        raise ModelError(
            f"{path} is compiled for the Edge TPU and cannot run on the CPU, and {plain.name} "
            "is not beside it: pass the plain .tflite or install the Edge TPU runtime"
        )
    return plain


def _fallback(
    chosen: str, requested: str, reason: str | None, strict: bool, hint: str | None = None
) -> str:
    """Warn once (or raise with ``strict``) that ``chosen`` is not usable; returns the reason."""
    reason = reason or "unknown error"
    hint = hint or INSTALL_HINTS.get(chosen, "")
    message = f"{chosen} delegate unavailable ({reason}); running on CPU"
    if strict:
        raise DependencyError(
            f"{chosen} delegate unavailable ({reason}): {hint or 'check the delegate library'}, "
            "or drop --strict-delegate to fall back to CPU"
        )
    if requested != "auto":
        warnings.warn(
            f"{message}. To use it: {hint}" if hint else message,
            DelegateFallbackWarning,
            stacklevel=3,
        )
    else:
        log.info(message)
    return reason


def _info(
    path: Path,
    be: _Backend,
    delegate: str,
    requested: str,
    threads: int | None,
    started: float,
    fallback: str | None = None,
) -> InterpreterInfo:
    return InterpreterInfo(
        model_path=str(path),
        backend=be.name,
        backend_version=be.version,
        delegate=delegate,
        requested_delegate=requested,
        threads=threads,
        init_ms=(time.perf_counter() - started) * 1000.0,
        fallback=fallback,
    )
