"""``Segmenter``: frame in, mask out, exactly as docs/runtime-contract.md says.

Everything the model needs (input size, normalisation, classes, threshold, colours) comes from
the ``edgeseg`` metadata inside the ``.tflite``. Quantization and dequantization happen in one
place (:func:`quantize_input`, :func:`dequantize_output`) with the tensor's own scale and zero
point. numpy + Pillow + a TFLite interpreter only.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import warnings
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeseg.config import ClassSpec, PostProcess, Preprocessing, parse_classes
from edgeseg.edge_runtime.interpreter import (
    InterpreterInfo,
    cpu_sibling,
    is_edgetpu_model,
    make_interpreter,
)
from edgeseg.edge_runtime.metadata import (
    PIXEL_SCALE,
    ClassInfo,
    ModelMetadata,
    class_color,
    default_classes,
    load_metadata,
)
from edgeseg.errors import ConfigError, DataError, ModelError
from edgeseg.imaging import read_gray, resize_mask, to_gray8
from edgeseg.postprocess import probabilities_to_mask
from edgeseg.preprocess import preprocess

OVERLAY_ALPHA = 115  # about 45 %, contract section 4

Frame = Any  # numpy array (HxW, HxWx3/4; uint8/uint16/float), PIL image, or a path

PREFETCH_THREAD_PREFIX = "edgeseg-prefetch"  # names of a stream's loader and post threads


class SkippedFrameWarning(RuntimeWarning):
    """A frame in a stream could not be read and was skipped."""


# --------------------------------------------------------------------------- quantization


def tensor_quantization(detail: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """(scales float64, zero points int64, axis) of a tensor; scales are empty if float.

    Scales are the tensor's float32 values widened exactly to float64.
    """
    params = detail.get("quantization_parameters") or {}
    scales = np.asarray(params.get("scales", []), dtype=np.float32).astype(np.float64)
    zeros = np.asarray(params.get("zero_points", []), dtype=np.int64)
    axis = int(params.get("quantized_dimension", 0))
    if scales.size == 0:
        scale, zero = detail.get("quantization", (0.0, 0))
        if scale:
            scales = np.array([np.float32(scale)], dtype=np.float64)
            zeros = np.array([zero], dtype=np.int64)
    if scales.size and zeros.size == 0:
        zeros = np.zeros_like(scales, dtype=np.int64)
    return scales, zeros, axis


def pixels_to_float(pixels: np.ndarray, pixel_scale: float = PIXEL_SCALE) -> np.ndarray:
    """uint8 pixels -> the network's float input (float64): ``pixel / 255`` (contract section 2)."""
    wide = np.asarray(pixels, dtype=np.float64)
    if math.isclose(pixel_scale, PIXEL_SCALE, rel_tol=1e-12):
        return wide / 255.0
    return wide * pixel_scale


def quantize_input(
    pixels: np.ndarray, detail: dict[str, Any], pixel_scale: float = PIXEL_SCALE
) -> np.ndarray:
    """uint8 image -> input tensor values of the tensor's dtype (contract section 2).

    Quantized: ``q = clip(floor(x / s + 0.5) + z, qmin, qmax)`` in float64 with
    ``x = pixel / 255``; float tensors get ``x`` cast to their dtype.
    """
    dtype = np.dtype(detail["dtype"])
    x = pixels_to_float(pixels, pixel_scale)
    scales, zeros, _ = tensor_quantization(detail)
    if dtype.kind == "f":
        return x.astype(dtype)
    if scales.size != 1:
        raise ModelError(
            f"input tensor {detail.get('name', '')!r} is {dtype.name} without a single scale "
            f"and zero point ({scales.size} scales): re-export with a quantized uint8/int8 input"
        )
    info = np.iinfo(dtype)
    q = np.floor(x / scales[0] + 0.5) + zeros[0]
    return np.clip(q, info.min, info.max).astype(dtype)


def quantize_input_lut(detail: dict[str, Any], pixel_scale: float = PIXEL_SCALE) -> np.ndarray:
    """:func:`quantize_input` of every uint8 value 0..255: ``lut.take(pixels)`` is the same."""
    return quantize_input(np.arange(256, dtype=np.uint8), detail, pixel_scale)


def dequantize_output(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Output tensor -> float64 probabilities: ``p = (q - z) * s`` (contract section 3)."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return values.astype(np.float64)
    scales, zeros, axis = tensor_quantization(detail)
    if scales.size == 0:
        raise ModelError(
            f"output tensor {detail.get('name', '')!r} is {values.dtype.name} with no scale: "
            "re-export the model"
        )
    if scales.size > 1:  # per-channel: broadcast along the quantized axis
        shape = [1] * values.ndim
        shape[axis] = scales.size
        scales, zeros = scales.reshape(shape), zeros.reshape(shape)
    return (values.astype(np.float64) - zeros) * scales


# --------------------------------------------------------------------------- overlay


def overlay(
    gray_frame: np.ndarray, mask: np.ndarray, colors: Sequence[Sequence[int]]
) -> np.ndarray:
    """Colour the mask onto the gray frame -> HxWx3 uint8 (contract section 4).

    On mask pixels ``(base * (256 - A) + colour * A + 128) >> 8`` with ``A = 115``, ``base``
    the gray frame; other pixels keep the gray. Later classes paint over earlier ones.
    """
    gray = to_gray8(gray_frame)
    masks = np.asarray(mask)
    if masks.ndim == 2:
        masks = masks[..., None]
    if masks.shape[:2] != gray.shape:
        raise DataError(
            f"mask is {masks.shape[1]}x{masks.shape[0]} but the frame is "
            f"{gray.shape[1]}x{gray.shape[0]}: use Result.mask (frame size), not mask_model"
        )
    if masks.shape[2] > len(colors):
        raise DataError(f"mask has {masks.shape[2]} classes but only {len(colors)} colours")
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.uint16)
    out = base.copy()
    for c in range(masks.shape[2]):
        on = masks[..., c] > 0
        colour = np.asarray(colors[c], dtype=np.uint16)
        out[on] = (base[on] * (256 - OVERLAY_ALPHA) + colour * OVERLAY_ALPHA + 128) >> 8
    return out.astype(np.uint8)


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    """One segmented frame.

    ``mask``: HxWxC uint8 {0,1} at the frame's original size; ``mask_model``: the same at model
    size; ``prob``: model-size float32 probabilities; ``presence``: the presence score or None;
    ``timings``: preprocess_ms (read + decode + preprocess + quantize), invoke_ms, postprocess_ms
    and total_ms (the frame's latency: start of its read -> result); ``gray``: the frame as
    8-bit gray at original size (for overlays).

    Frames from :meth:`Segmenter.stream` also carry ``frame_ms``, the stream's per-frame time as
    its consumer sees it (asking for the frame -> getting it; skipped frames before it included;
    the sum over a stream is its wall time less the consumer's own work), and ``wait_ms``, the
    part of that spent waiting for the frame's input (its whole load without prefetch; only
    what the loader thread did not hide with it). With prefetch ``total_ms`` includes the time
    the loaded frame waited for the interpreter, so it can exceed ``frame_ms``; and since a
    result is handed out after the next frame's invoke, its ``frame_ms`` spans that invoke,
    while the last result before a skip or the end of the stream comes back at once.
    """

    mask: np.ndarray
    mask_model: np.ndarray
    prob: np.ndarray
    presence: float | None
    timings: dict[str, float]
    gray: np.ndarray
    classes: tuple[ClassInfo, ...]
    source: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the original frame."""
        return self.gray.shape[0], self.gray.shape[1]

    def label_map(self) -> np.ndarray:
        """HxW uint8 of class values (0 = background; later classes paint over earlier)."""
        out = np.zeros(self.size, dtype=np.uint8)
        for c, cls in enumerate(self.classes):
            out[self.mask[..., c] > 0] = cls.value
        return out

    def overlay(self) -> np.ndarray:
        """The contract's colour overlay of ``mask`` on the gray frame, HxWx3 uint8."""
        return overlay(self.gray, self.mask, [c.color for c in self.classes])

    def areas(self) -> dict[str, int]:
        """Mask pixels per class at the original frame size."""
        return {c.name: int(self.mask[..., i].sum()) for i, c in enumerate(self.classes)}


@dataclass
class _Loaded:
    """One frame after the thread-safe half: read, preprocessed and quantized (or unreadable)."""

    source: str
    started: float  # perf_counter when its read began
    gray: np.ndarray | None = None
    tensor: np.ndarray | None = None  # input tensor values, [1, H, W, 1]
    loaded: float = 0.0  # perf_counter when the input tensor was ready
    error: DataError | None = None


@dataclass
class FrameStream:
    """Iterator over a stream's results; ``skipped`` counts unreadable frames (after iterating).

    With ``prefetch`` (the default) a loader thread reads, decodes and preprocesses frame N+1
    (advancing ``frames`` too, so a consumer that stops early has taken up to two frames more)
    and a post-processing thread finishes frame N-1 (threshold, components, mask at the frame's
    size) while the caller's thread runs frame N through the interpreter, which never leaves
    the caller's thread. A result is handed out once the next frame has been inferred (one frame
    later than without prefetch), or at once before a skipped frame and at the end. Results,
    order, skips, warnings and smoothing are exactly those of ``prefetch=False``, which does
    everything on the caller's thread. The threads end when the stream ends, when iteration
    stops early (breaking out of the loop, an exception) or on :meth:`close` / leaving a
    ``with`` block.
    """

    segmenter: Segmenter
    frames: Iterable[Frame]
    smoothing: float = 0.0
    on_skip: Callable[[str, str], None] | None = None
    prefetch: bool = True
    processed: int = 0
    skipped: int = 0
    skipped_sources: list[str] = field(default_factory=list)
    _open: weakref.WeakSet[Generator[Result, None, None]] = field(
        default_factory=weakref.WeakSet, init=False, repr=False, compare=False
    )

    def __iter__(self) -> Iterator[Result]:
        gen = self._results()
        self._open.add(gen)
        return gen

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop any iteration in progress and join its loader thread (idempotent)."""
        for gen in list(self._open):
            gen.close()
        self._open.clear()

    def _results(self) -> Generator[Result, None, None]:
        ema: np.ndarray | None = None
        ema_presence: float | None = None
        a = self.smoothing
        seg = self.segmenter
        loads = self._prefetched() if self.prefetch else self._sequential()
        post = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{PREFETCH_THREAD_PREFIX}-post")
            if self.prefetch
            else None
        )
        pending: tuple[Future[Result], float] | None = None  # (finishing result, its wait_ms)

        def handed_out(result: Result, wait_ms: float) -> Result:
            self.processed += 1  # counted when handed out, so counts and results agree
            result.timings["wait_ms"] = wait_ms
            result.timings["frame_ms"] = (time.perf_counter() - asked) * 1000.0
            return result

        def delivered(finishing: tuple[Future[Result], float]) -> Result:
            future, wait_ms = finishing
            return handed_out(future.result(), wait_ms)

        try:
            asked = time.perf_counter()
            for item in loads:
                if item.error is not None:
                    if pending is not None:  # results and skips keep the frames' order
                        yield delivered(pending)
                        pending = None
                        asked = time.perf_counter()
                    self.skipped += 1
                    self.skipped_sources.append(item.source)
                    exc, source = item.error, item.source
                    reason = str(exc) if source in str(exc) else f"{source}: {exc}"
                    if self.on_skip is not None:
                        self.on_skip(source, reason)
                    else:
                        warnings.warn(f"skipped frame {reason}", SkippedFrameWarning, stacklevel=2)
                    continue
                assert item.gray is not None and item.tensor is not None
                wait_ms = (time.perf_counter() - asked) * 1000.0
                load_ms = (item.loaded - item.started) * 1000.0 if self.prefetch else None
                prob, presence, timings = seg._infer_tensor(item.tensor, item.started, load_ms)
                if a > 0 and ema is not None and ema.shape == prob.shape:
                    ema = a * ema + (1.0 - a) * prob
                    if presence is not None and ema_presence is not None:
                        ema_presence = a * ema_presence + (1.0 - a) * presence
                    else:
                        ema_presence = presence
                else:
                    ema, ema_presence = prob, presence
                finish = (item.gray, ema, ema_presence, timings, item.started, item.source)
                if post is None:
                    yield handed_out(seg._finish(*finish), wait_ms)
                    asked = time.perf_counter()
                    continue
                # Post-process frame N on the worker while frame N+1 is inferred; frame N is
                # handed out after that (one frame later than without prefetch).
                finishing = (post.submit(seg._finish, *finish), wait_ms)
                if pending is not None:
                    yield delivered(pending)
                    asked = time.perf_counter()
                pending = finishing
            if pending is not None:
                yield delivered(pending)
                pending = None
        except GeneratorExit:  # the consumer stopped: nothing more is handed out
            raise
        except BaseException:  # the source, a load or an invoke failed: what was done comes first
            if pending is not None:
                finished, pending = pending, None
                yield delivered(finished)
            raise
        finally:
            loads.close()  # joins the loader thread
            if post is not None:
                post.shutdown(wait=True, cancel_futures=True)

    def _sequential(self) -> Generator[_Loaded, None, None]:
        for index, frame in enumerate(self.frames):
            yield self.segmenter._load(frame, index)

    def _prefetched(self) -> Generator[_Loaded, None, None]:
        """Frames loaded one ahead on a single worker thread, in order."""
        frames = iter(self.frames)
        seg = self.segmenter
        counter = itertools.count()
        end = object()

        def load_next() -> Any:  # runs on the worker only, one call at a time
            try:
                frame = next(frames)
            except StopIteration:
                return end
            return seg._load(frame, next(counter))

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=PREFETCH_THREAD_PREFIX)
        pending: Future[Any] | None = None
        try:
            pending = pool.submit(load_next)
            while True:
                item = pending.result()
                if item is end:
                    return
                pending = pool.submit(load_next)  # frame N+1 loads while frame N is inferred
                yield item
        finally:
            if pending is not None:
                pending.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _source_name(frame: Frame, index: int) -> str:
    if isinstance(frame, (str, Path)):
        return str(frame)
    return f"frame #{index}"


# --------------------------------------------------------------------------- the segmenter


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


def _class_infos(classes: str | Sequence[str | ClassSpec]) -> tuple[ClassInfo, ...]:
    if isinstance(classes, str):
        specs = parse_classes(classes) if "=" in classes else None
        if specs is None:
            return default_classes([n.strip() for n in classes.split(",") if n.strip()])
    else:
        specs = tuple(
            c if isinstance(c, ClassSpec) else ClassSpec(str(c), i + 1)
            for i, c in enumerate(classes)
        )
    return tuple(ClassInfo(s.name, s.value, class_color(s.name, i)) for i, s in enumerate(specs))


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
        meta = self._read_metadata(self.model_path)
        self.has_metadata = meta is not None
        if meta is None:
            if size is None:
                raise ModelError(
                    f"{self.model_path} has no edgeseg metadata: re-export it with "
                    "`edgeseg convert`, or give its input size (--input-size HxW)"
                )
            meta = ModelMetadata(
                preprocessing=Preprocessing(height=size[0], width=size[1]),
                postprocess=PostProcess(),
                classes=default_classes(["nerve"]),
                quantization="unknown",
            )
        elif size is not None and size != meta.input_size:
            raise ConfigError(
                f"--input-size {size[0]}x{size[1]}, but the model's metadata says "
                f"{meta.input_size[0]}x{meta.input_size[1]}: drop --input-size"
            )
        meta = self._override(
            meta,
            normalize,
            classes,
            threshold,
            min_area,
            largest_component,
            presence_gate,
            presence_threshold,
        )
        self.metadata: ModelMetadata = meta
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
    def _read_metadata(path: Path) -> ModelMetadata | None:
        meta = load_metadata(path)
        if meta is None and is_edgetpu_model(path) and cpu_sibling(path).is_file():
            meta = load_metadata(cpu_sibling(path))  # the compiler may drop metadata
        return meta

    @staticmethod
    def _override(
        meta: ModelMetadata,
        normalize: str | None,
        classes: Any,
        threshold: float | None,
        min_area: int | None,
        largest_component: bool | None,
        presence_gate: bool | None,
        presence_threshold: float | None,
    ) -> ModelMetadata:
        pre = meta.preprocessing
        if normalize is not None:
            pre = dataclasses.replace(pre, normalize=normalize)
        post_changes = {
            k: v
            for k, v in {
                "threshold": threshold,
                "min_area": min_area,
                "largest_component": largest_component,
                "presence_gate": presence_gate,
                "presence_threshold": presence_threshold,
            }.items()
            if v is not None
        }
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"--threshold {threshold}: must be between 0 and 1")
        if min_area is not None and min_area < 0:
            raise ConfigError(f"--min-area {min_area}: must be 0 or more pixels")
        post = dataclasses.replace(meta.postprocess, **post_changes)
        infos = meta.classes if classes is None else _class_infos(classes)
        return dataclasses.replace(meta, preprocessing=pre, postprocess=post, classes=infos)

    def _bind_tensors(self, explicit_classes: bool) -> None:
        it = self.interpreter
        inputs = it.get_input_details()
        name = self.model_path.name
        if len(inputs) != 1:
            raise ModelError(f"{name} has {len(inputs)} inputs: an edgeseg model has one image")
        detail = inputs[0]
        shape = tuple(int(v) for v in detail["shape"])
        dtype = np.dtype(detail["dtype"])
        h, w = self.metadata.input_size
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
        self._input_lut: np.ndarray | None = None  # quantize_input per pixel value, on first use
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
        n_classes = len(self.metadata.classes)
        if channels != n_classes:
            if not self.has_metadata and not explicit_classes:
                self.metadata = dataclasses.replace(
                    self.metadata,
                    classes=default_classes([f"class{i + 1}" for i in range(channels)]),
                )
            else:
                raise ModelError(
                    f"{name} outputs {channels} mask channels but {n_classes} classes are "
                    f"configured ({', '.join(self.metadata.class_names)}): pass --classes with "
                    f"{channels} name{'s' if channels > 1 else ''}"
                )

    # -- properties ----------------------------------------------------------------------------

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        return self.metadata.input_size

    @property
    def classes(self) -> tuple[ClassInfo, ...]:
        return self.metadata.classes

    @property
    def input_detail(self) -> dict[str, Any]:
        return self._input

    @property
    def output_details(self) -> dict[str, dict[str, Any] | None]:
        return {"mask": self._mask, "presence": self._presence}

    # -- running -------------------------------------------------------------------------------

    @staticmethod
    def read_frame(frame: Frame) -> np.ndarray:
        """Path / array / PIL image -> HxW uint8 gray; DataError if unreadable."""
        if frame is None:
            raise DataError("frame is None (camera or decoder returned nothing)")
        if isinstance(frame, (str, Path)):
            return read_gray(Path(frame))
        if isinstance(frame, Image.Image):
            return to_gray8(frame)
        arr = np.asarray(frame)
        if arr.size == 0:
            raise DataError(f"frame has shape {arr.shape}: it is empty")
        return to_gray8(arr)

    def input_tensor(self, pixels: np.ndarray) -> np.ndarray:
        """A preprocessed uint8 HxW image -> the input tensor's values, [1, H, W, 1].

        Pure numpy (no interpreter), so safe on any thread. uint8 pixels go through a 256-entry
        table of :func:`quantize_input` (the same values, one lookup per pixel).
        """
        if pixels.dtype != np.uint8:
            return quantize_input(pixels, self._input, self.metadata.input_scale)[None, :, :, None]
        if self._input_lut is None:
            self._input_lut = quantize_input_lut(self._input, self.metadata.input_scale)
        return self._input_lut.take(pixels)[None, :, :, None]

    def load(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """The thread-safe half of a frame: (HxW uint8 gray, input tensor values).

        Read + decode + preprocess + quantize with numpy/Pillow only; the interpreter is not
        touched, so this may run on another thread while :meth:`segment` or a stream invokes.
        DataError if the frame is unreadable.
        """
        gray = self.read_frame(frame)
        return gray, self.input_tensor(preprocess(gray, self.metadata.preprocessing))

    def _load(self, frame: Frame, index: int) -> _Loaded:
        """:meth:`load` for a stream: an unreadable frame comes back with ``error`` set."""
        source = _source_name(frame, index)
        started = time.perf_counter()
        try:
            gray = self.read_frame(frame)
        except DataError as exc:
            return _Loaded(source, started, error=exc)
        tensor = self.input_tensor(preprocess(gray, self.metadata.preprocessing))
        return _Loaded(source, started, gray, tensor, time.perf_counter())

    def set_input(self, pixels: np.ndarray) -> None:
        """Write a preprocessed uint8 HxW image into the input tensor (quantized as needed)."""
        self.interpreter.set_tensor(self._input["index"], self.input_tensor(pixels))

    def get_output(self) -> tuple[np.ndarray, float | None]:
        """(HxWxC float64 probabilities, presence or None) after ``invoke``."""
        it = self.interpreter
        prob = dequantize_output(it.get_tensor(self._mask["index"])[0], self._mask)
        presence = None
        if self._presence is not None:
            raw = it.get_tensor(self._presence["index"])
            presence = float(dequantize_output(raw, self._presence).ravel()[0])
        return prob, presence

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
        mask_model = probabilities_to_mask(prob, self.metadata.postprocess, presence)
        mask = resize_mask(mask_model, gray.shape)
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
            classes=self.metadata.classes,
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
            "quantization": self.metadata.quantization,
            "classes": self.metadata.class_names,
            "has_metadata": self.has_metadata,
            "presence_output": self._presence is not None,
            "threshold": self.metadata.postprocess.threshold,
        }


__all__ = [
    "PREFETCH_THREAD_PREFIX",
    "FrameStream",
    "InterpreterInfo",
    "Result",
    "Segmenter",
    "SkippedFrameWarning",
    "dequantize_output",
    "overlay",
    "parse_size",
    "quantize_input",
    "quantize_input_lut",
    "tensor_quantization",
]
