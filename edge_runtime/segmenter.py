"""``Segmenter``: frame in, mask out, exactly as docs/runtime-contract.md says.

Everything the model needs (input size, normalisation, classes, threshold, colours) is the
:class:`~edgeseg.contract.FrameContract` read from the ``edgeseg`` metadata inside the
``.tflite``; the contract prepares frames, quantizes inputs and dequantizes outputs with each
tensor's own scale and zero point, and makes the masks. This module binds it to a TFLite
interpreter. numpy + Pillow + a TFLite interpreter only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeseg.config import ClassSpec
from edgeseg.contract import ClassInfo, FrameContract, default_classes
from edgeseg.edge_runtime.interpreter import (
    InterpreterInfo,
    cpu_sibling,
    is_edgetpu_model,
    make_interpreter,
)
from edgeseg.edge_runtime.metadata import load_metadata
from edgeseg.edge_runtime.streaming import (
    PREFETCH_THREAD_PREFIX,
    Frame,
    FrameStream,
    Result,
    SkippedFrameWarning,
    _Loaded,
    _source_name,
)
from edgeseg.errors import ConfigError, DataError, ModelError
from edgeseg.imaging import read_frame, to_gray8
from edgeseg.postprocess import overlay


def parse_size(value: int | str | Sequence[int] | None) -> tuple[int, int] | None:
    """``128``, ``"128"``, ``"128x96"`` (HxW) or ``(128, 96)`` -> (height, width)."""
    if value is None:
        return None
    try:
        if isinstance(value, int):
            return (value, value)
        if isinstance(value, str):
            parts = value.lower().replace(",", "x").split("x")
            dims = [int(p) for p in parts if p.strip()]
        else:
            dims = [int(v) for v in value]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--input-size {value!r}: expected N or HxW, e.g. 128x128") from exc
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 1:
        raise ConfigError(f"--input-size {value!r}: expected N or HxW, e.g. 128x128")
    return dims[0], dims[1]


class Segmenter:
    """Run an edgeseg ``.tflite`` on frames of any size, gray or RGB, 8- or 16-bit.

    Settings come from the model's metadata; keyword overrides (``threshold``, ``min_area``, ...)
    replace single values. A model without metadata needs ``input_size`` (plus ``classes`` when
    it has several output channels); its preprocessing is the contract's default unless
    ``normalize`` says otherwise.
    """

    def __init__(
        self,
        model_path: Path | str,
        backend: str = "auto",
        delegate: str = "auto",
        threads: int | None = None,
        input_size: int | str | Sequence[int] | None = None,
        normalize: str | None = None,
        *,
        classes: str | Sequence[str | ClassSpec] | None = None,
        threshold: float | None = None,
        min_area: int | None = None,
        largest_component: bool | None = None,
        presence_gate: bool | None = None,
        presence_threshold: float | None = None,
        strict_delegate: bool = False,
        delegate_library: str | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        size = parse_size(input_size)
        contract = self._read_contract(self.model_path)
        self.has_metadata = contract is not None
        if contract is None:
            if size is None:
                raise ModelError(
                    f"{self.model_path} has no edgeseg metadata: re-export it with "
                    "`edgeseg convert`, or give its input size (--input-size HxW)"
                )
            contract = dataclasses.replace(FrameContract.default(size), edgeseg_version="unknown")
        elif size is not None and size != contract.input_size:
            raise ConfigError(
                f"--input-size {size[0]}x{size[1]}, but the model's metadata says "
                f"{contract.input_size[0]}x{contract.input_size[1]}: drop --input-size"
            )
        self.contract: FrameContract = contract.with_overrides(
            normalize=normalize,
            classes=classes,
            threshold=threshold,
            min_area=min_area,
            largest_component=largest_component,
            presence_gate=presence_gate,
            presence_threshold=presence_threshold,
        )
        self.interpreter, self.info = make_interpreter(
            self.model_path,
            backend=backend,
            delegate=delegate,
            threads=threads,
            strict_delegate=strict_delegate,
            delegate_library=delegate_library,
        )
        self._bind_tensors(explicit_classes=classes is not None)

    # -- setup ---------------------------------------------------------------------------------

    @staticmethod
    def _read_contract(path: Path) -> FrameContract | None:
        contract = load_metadata(path)
        if contract is None and is_edgetpu_model(path) and cpu_sibling(path).is_file():
            contract = load_metadata(cpu_sibling(path))  # the compiler may drop metadata
        return contract

    def _bind_tensors(self, explicit_classes: bool) -> None:
        it = self.interpreter
        inputs = it.get_input_details()
        name = self.model_path.name
        if len(inputs) != 1:
            raise ModelError(f"{name} has {len(inputs)} inputs: an edgeseg model has one image")
        detail = inputs[0]
        shape = tuple(int(v) for v in detail["shape"])
        dtype = np.dtype(detail["dtype"])
        h, w = self.contract.input_size
        if len(shape) != 4 or shape[3] != 1:
            raise ModelError(
                f"{name} takes input {list(shape)}; an edgeseg model takes one gray channel "
                f"[1, H, W, 1]: re-export it with `edgeseg convert`"
            )
        if dtype not in (np.dtype(np.float32), np.dtype(np.uint8), np.dtype(np.int8)):
            raise ModelError(
                f"{name} has a {dtype.name} input; expected float32, uint8 or int8: re-export it"
            )
        signature = tuple(int(v) for v in detail.get("shape_signature", shape))
        if len(signature) == 4 and -1 in signature[1:3] and shape[1:3] != (h, w):
            # A dynamic-size input (a model not exported by edgeseg): fix it to the asked size.
            it.resize_tensor_input(detail["index"], [1, h, w, 1])
            it.allocate_tensors()
            detail = it.get_input_details()[0]
            shape = tuple(int(v) for v in detail["shape"])
        if shape[1:3] != (h, w):
            raise ModelError(
                f"{name} expects {shape[1]}x{shape[2]} input but the settings say {h}x{w}: "
                + (
                    "re-export the model"
                    if self.has_metadata
                    else f"pass --input-size {shape[1]}x{shape[2]}"
                )
            )
        if shape[0] != 1:
            it.resize_tensor_input(detail["index"], [1, h, w, 1])
            it.allocate_tensors()
            detail = it.get_input_details()[0]
        self._input = detail
        self._input_table: np.ndarray | None = None  # input values per pixel value, on first use
        outputs = it.get_output_details()
        masks = [d for d in outputs if len(d["shape"]) == 4]
        presence = [d for d in outputs if len(d["shape"]) == 2]
        if len(masks) != 1:
            shapes = [list(map(int, d["shape"])) for d in outputs]
            raise ModelError(
                f"{name} has outputs {shapes}: expected exactly one 4-D mask [1, H, W, C]"
            )
        self._mask = masks[0]
        self._presence = presence[0] if presence else None
        channels = int(self._mask["shape"][3])
        n_classes = len(self.contract.classes)
        if channels != n_classes:
            if not self.has_metadata and not explicit_classes:
                self.contract = dataclasses.replace(
                    self.contract,
                    classes=default_classes([f"class{i + 1}" for i in range(channels)]),
                )
            else:
                raise ModelError(
                    f"{name} outputs {channels} mask channels but {n_classes} classes are "
                    f"configured ({', '.join(self.contract.class_names)}): pass --classes with "
                    f"{channels} name{'s' if channels > 1 else ''}"
                )

    # -- properties ----------------------------------------------------------------------------

    @property
    def metadata(self) -> FrameContract:
        """The model's :class:`FrameContract` (the same object as ``contract``)."""
        return self.contract

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        return self.contract.input_size

    @property
    def classes(self) -> tuple[ClassInfo, ...]:
        return self.contract.classes

    @property
    def input_detail(self) -> dict[str, Any]:
        return self._input

    @property
    def output_details(self) -> dict[str, dict[str, Any] | None]:
        return {"mask": self._mask, "presence": self._presence}

    # -- running -------------------------------------------------------------------------------

    @staticmethod
    def read_frame(frame: Frame) -> np.ndarray:
        """Path / array / PIL image -> HxW uint8 gray; DataError if unreadable.

        A path is read by ``edgeseg.imaging.read_frame`` (contract section 0), as the app does.
        """
        if frame is None:
            raise DataError("frame is None (camera or decoder returned nothing)")
        if isinstance(frame, (str, Path)):
            return read_frame(Path(frame))  # EXIF orientation, oversized frames reduced
        if isinstance(frame, Image.Image):
            return to_gray8(frame)
        arr = np.asarray(frame)
        if arr.size == 0:
            raise DataError(f"frame has shape {arr.shape}: it is empty")
        return to_gray8(arr)

    def input_tensor(self, pixels: np.ndarray) -> np.ndarray:
        """A preprocessed uint8 HxW image -> the input tensor's values, [1, H, W, 1].

        Pure numpy (no interpreter), so safe on any thread. uint8 pixels go through the
        contract's 256-entry table (the same values as ``contract.to_input``, one lookup each).
        """
        if pixels.dtype != np.uint8:
            return self.contract.to_input(pixels, self._input)
        if self._input_table is None:
            self._input_table = self.contract.input_table(self._input)
        return self._input_table.take(pixels)[None, :, :, None]

    def load(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """The thread-safe half of a frame: (HxW uint8 gray, input tensor values).

        Read + decode + preprocess + quantize with numpy/Pillow only; the interpreter is not
        touched, so this may run on another thread while :meth:`segment` or a stream invokes.
        DataError if the frame is unreadable.
        """
        gray = self.read_frame(frame)
        return gray, self.input_tensor(self.contract.prepare(gray))

    def _load(self, frame: Frame, index: int) -> _Loaded:
        """:meth:`load` for a stream: an unreadable frame comes back with ``error`` set."""
        source = _source_name(frame, index)
        started = time.perf_counter()
        try:
            gray = self.read_frame(frame)
        except DataError as exc:
            return _Loaded(source, started, error=exc)
        tensor = self.input_tensor(self.contract.prepare(gray))
        return _Loaded(source, started, gray, tensor, time.perf_counter())

    def set_input(self, pixels: np.ndarray) -> None:
        """Write a preprocessed uint8 HxW image into the input tensor (quantized as needed)."""
        self.interpreter.set_tensor(self._input["index"], self.input_tensor(pixels))

    def get_output(self) -> tuple[np.ndarray, float | None]:
        """(HxWxC float64 probabilities, presence or None) after ``invoke``."""
        it = self.interpreter
        presence = self._presence
        return self.contract.from_output(
            it.get_tensor(self._mask["index"]),
            self._mask,
            None if presence is None else it.get_tensor(presence["index"]),
            presence,
        )

    def _infer_tensor(
        self, tensor: np.ndarray, started: float, load_ms: float | None = None
    ) -> tuple[np.ndarray, float | None, dict[str, float]]:
        """The interpreter half (caller's thread only): set input, invoke, dequantize.

        ``preprocess_ms`` runs from ``started`` to the input being set, or, when the frame was
        loaded elsewhere, is ``load_ms`` plus setting the input. Timings carry ``_invoked``
        (perf_counter seconds).
        """
        t_set = time.perf_counter()
        self.interpreter.set_tensor(self._input["index"], tensor)
        t_pre = time.perf_counter()
        self.interpreter.invoke()
        t_inv = time.perf_counter()
        prob, presence = self.get_output()
        if load_ms is None:
            pre_ms = (t_pre - started) * 1000.0
        else:
            pre_ms = load_ms + (t_pre - t_set) * 1000.0
        timings = {
            "preprocess_ms": pre_ms,
            "invoke_ms": (t_inv - t_pre) * 1000.0,
            "_invoked": t_inv,
        }
        return prob, presence, timings

    def _finish(
        self,
        gray: np.ndarray,
        prob: np.ndarray,
        presence: float | None,
        timings: dict[str, float],
        started: float,
        source: str | None,
    ) -> Result:
        timings = dict(timings)
        t_invoked = timings.pop("_invoked")
        mask_model, mask = self.contract.to_masks(prob, presence, gray.shape)
        done = time.perf_counter()
        timings["postprocess_ms"] = (done - t_invoked) * 1000.0
        timings["total_ms"] = (done - started) * 1000.0
        return Result(
            mask=mask,
            mask_model=mask_model,
            prob=prob.astype(np.float32),
            presence=presence,
            timings=timings,
            gray=gray,
            classes=self.contract.classes,
            source=source,
        )

    def segment(self, frame: Frame) -> Result:
        """Segment one frame (array, PIL image or path): masks at original and model size."""
        started = time.perf_counter()
        gray, tensor = self.load(frame)
        prob, presence, timings = self._infer_tensor(tensor, started)
        return self._finish(gray, prob, presence, timings, started, _source_name(frame, 0))

    def segment_batch(self, frames: Iterable[Frame]) -> list[Result]:
        """Segment frames one after another (the model's batch is 1)."""
        return [self.segment(f) for f in frames]

    def stream(
        self,
        frames: Iterable[Frame],
        smoothing: float = 0.0,
        on_skip: Callable[[str, str], None] | None = None,
        prefetch: bool = True,
    ) -> FrameStream:
        """Iterate results with temporal smoothing ``p = a * p_prev + (1 - a) * p_new``.

        ``a = smoothing`` (0 = off); the mask is re-derived from the smoothed probabilities.
        Unreadable frames are skipped and counted in ``.skipped``; each gives a
        :class:`SkippedFrameWarning`, or a call ``on_skip(source, reason)`` when given.
        ``prefetch`` (default on) reads and preprocesses the next frame and post-processes the
        previous one on two background threads while this one is inferred (each result then
        comes one frame later); ``prefetch=False`` runs each frame start to finish on the
        caller's thread. Both give identical results (see :class:`FrameStream`).
        """
        if not 0.0 <= smoothing < 1.0:
            raise ConfigError(f"--smoothing {smoothing}: must be in [0, 1) (0 = off)")
        return FrameStream(self, frames, smoothing, on_skip, prefetch)

    def describe(self) -> dict[str, Any]:
        """Model, backend and settings as a JSON-ready dict (for reports and logs)."""
        h, w = self.input_size
        return {
            **self.info.as_dict(),
            "input_size": [h, w],
            "input_dtype": np.dtype(self._input["dtype"]).name,
            "quantization": self.contract.quantization,
            "classes": self.contract.class_names,
            "has_metadata": self.has_metadata,
            "presence_output": self._presence is not None,
            "threshold": self.contract.postprocess.threshold,
        }


__all__ = [
    "PREFETCH_THREAD_PREFIX",
    "Frame",
    "FrameStream",
    "InterpreterInfo",
    "Result",
    "Segmenter",
    "SkippedFrameWarning",
    "overlay",
    "parse_size",
]
