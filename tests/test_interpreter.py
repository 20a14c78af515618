"""edgeseg.edge_runtime.interpreter: backends, delegate fallback without noise, bad model files."""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from edgeseg.edge_runtime.interpreter import (
    DelegateFallbackWarning,
    edgetpu_sibling,
    make_interpreter,
    resolve_backend,
)
from edgeseg.errors import ConfigError, DependencyError, ModelError

MISSING_LIB = "/nonexistent/libedgeseg_missing_delegate.so"


@pytest.fixture(scope="module")
def models(tiny_tflite: dict[str, Path]) -> dict[str, Path]:
    return tiny_tflite


@pytest.fixture
def model(models: dict[str, Path], tmp_path: Path) -> Path:
    """A private copy of the int8 model (tests add siblings next to it)."""
    path = tmp_path / "net.tflite"
    shutil.copy(models["i8"], path)
    return path


def _library_loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------- backends


def test_auto_backend_is_litert_and_reported(model: Path) -> None:
    interpreter, info = make_interpreter(model)
    assert info.backend == "litert"
    assert info.delegate == "cpu"
    assert info.requested_delegate == "auto"
    assert info.fallback is None
    assert info.model_path == str(model)
    assert info.init_ms > 0
    assert interpreter.get_input_details()[0]["dtype"] == np.uint8


def test_threads_are_passed_through(model: Path) -> None:
    _, info = make_interpreter(model, threads=2)
    assert info.threads == 2
    with pytest.raises(ConfigError, match="--threads 0"):
        make_interpreter(model, threads=0)


@pytest.mark.skipif(
    importlib.util.find_spec("tflite_runtime") is not None, reason="tflite_runtime is installed"
)
def test_missing_backend_names_the_package() -> None:
    with pytest.raises(DependencyError, match="pip install tflite-runtime") as info:
        resolve_backend("tflite_runtime")
    # neutral: predict has --backend, benchmark has --backends
    assert str(info.value).endswith("or use the auto backend")
    assert "--backend" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"backend": "onnx"}, "--backend 'onnx'"), ({"delegate": "tpu"}, "--delegate 'tpu'")],
)
def test_unknown_names_are_config_errors(model: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_interpreter(model, **kwargs)


# --------------------------------------------------------------------------- delegates


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Errors raised in ``__del__`` (Python prints them as "Exception ignored in ...")."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(repr(u.exc_value)))
    return seen


@pytest.mark.parametrize("delegate", ["edgetpu", "gpu", "nnapi"])
def test_missing_delegate_warns_once_and_runs_on_cpu(
    model: Path, delegate: str, capfd: pytest.CaptureFixture[str], unraisable: list[str]
) -> None:
    if delegate == "edgetpu":
        shutil.copy(model, edgetpu_sibling(model))  # a "compiled" model, so the library is tried
    with pytest.warns(DelegateFallbackWarning) as record:
        interpreter, info = make_interpreter(model, delegate=delegate, delegate_library=MISSING_LIB)
    assert len(record) == 1
    message = str(record[0].message)
    assert f"{delegate} delegate unavailable" in message
    assert "running on CPU" in message
    assert "\n" not in message
    assert info.delegate == "cpu"
    assert info.requested_delegate == delegate
    assert MISSING_LIB in info.fallback
    assert info.model_path == str(model)  # the plain model, not the _edgetpu one
    interpreter.invoke()
    gc.collect()
    assert unraisable == []  # no "Exception ignored in: Delegate.__del__" traceback
    out, err = capfd.readouterr()
    assert err == ""
    assert out == ""


@pytest.mark.skipif(_library_loads("libedgetpu.so.1"), reason="an Edge TPU runtime is installed")
def test_missing_libedgetpu_by_its_default_name(
    model: Path, capfd: pytest.CaptureFixture[str], unraisable: list[str]
) -> None:
    shutil.copy(model, edgetpu_sibling(model))
    with pytest.warns(DelegateFallbackWarning, match="libedgetpu.so.1") as record:
        _, info = make_interpreter(model, delegate="edgetpu")
    assert len(record) == 1
    assert "libedgetpu1-std" in str(record[0].message)
    assert info.delegate == "cpu"
    gc.collect()
    assert unraisable == []
    assert capfd.readouterr().err == ""


def test_strict_delegate_raises_without_noise(
    model: Path, capfd: pytest.CaptureFixture[str], unraisable: list[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # strict must not warn either
        with pytest.raises(DependencyError, match="gpu delegate unavailable") as info:
            make_interpreter(
                model, delegate="gpu", delegate_library=MISSING_LIB, strict_delegate=True
            )
    assert "\n" not in str(info.value)
    assert "--strict-delegate" in str(info.value)
    del info
    gc.collect()
    assert unraisable == []
    assert capfd.readouterr().err == ""


def test_edgetpu_without_compiled_model_says_how_to_compile(model: Path) -> None:
    with pytest.warns(DelegateFallbackWarning, match="edgetpu_compiler net.tflite"):
        _, info = make_interpreter(model, delegate="edgetpu")
    assert info.delegate == "cpu"


def test_auto_delegate_is_quiet(
    model: Path, capfd: pytest.CaptureFixture[str], unraisable: list[str]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, info = make_interpreter(model, delegate="auto")
        assert info.delegate == "cpu"
        assert info.fallback is None
        # A compiled sibling makes auto try the Edge TPU; a missing library stays quiet.
        shutil.copy(model, edgetpu_sibling(model))
        _, info = make_interpreter(model, delegate="auto", delegate_library=MISSING_LIB)
    assert info.delegate == "cpu"
    assert info.fallback is not None
    assert info.model_path == str(model)
    gc.collect()
    assert unraisable == []
    assert capfd.readouterr().err == ""


def test_edgetpu_model_on_cpu_uses_the_plain_sibling(model: Path) -> None:
    tpu = edgetpu_sibling(model)
    shutil.copy(model, tpu)
    _, info = make_interpreter(tpu, delegate="cpu")
    assert info.model_path == str(model)
    model.unlink()
    with pytest.raises(ModelError, match="compiled for the Edge TPU"):
        make_interpreter(tpu, delegate="cpu")


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "not a TFLite model"),
        (b"this is not a model at all" * 4, "not a TFLite model"),
        ("truncated", "interpreter cannot load it"),
    ],
)
def test_bad_model_files_are_one_line_model_errors(
    model: Path,
    tmp_path: Path,
    content: bytes | str | None,
    message: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.tflite"
    if content == "truncated":
        path.write_bytes(model.read_bytes()[:3000])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as info:
        make_interpreter(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)
    assert capfd.readouterr().err == ""


def test_a_folder_is_not_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        make_interpreter(tmp_path)
    assert str(info.value) == (
        f"model file {tmp_path} is a folder, expected a .tflite file: pass the .tflite "
        "written by edgeseg convert"
    )
