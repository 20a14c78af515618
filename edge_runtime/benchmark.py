"""Measure models on this device: init, warm-up, invoke latency, end-to-end frame time, memory.

One row per (model, backend, delegate, threads). ``invoke_*`` time the bare ``invoke()``;
``e2e_*`` time a whole frame as the app sees it: decode the image file, preprocess, quantize,
invoke, dequantize, post-process, and map the mask back to the frame's original size, one frame
after another (sequential: one frame's latency). ``stream_*`` time the same work per frame of a
stream of frame files run through ``Segmenter.stream`` with prefetch, where the next file is
decoded and preprocessed on a background thread while the current frame is inferred (pipelined:
the per-frame time of a stream; ``stream_fps = 1000 / stream_ms_mean``). ``e2e_array_*`` and
``stream_array_*`` are the same two with the frame already in memory (a camera buffer: no file
read or decode). ``decode_*`` time reading and decoding the frame file alone (Pillow, to 8-bit
gray): the part of ``e2e`` that depends on the file format, not on the runtime.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeseg import __version__
from edgeseg.edge_runtime.interpreter import DelegateFallbackWarning, make_interpreter
from edgeseg.edge_runtime.metadata import read_metadata
from edgeseg.edge_runtime.segmenter import Segmenter
from edgeseg.errors import ConfigError, DependencyError
from edgeseg.imaging import read_gray
from edgeseg.io import write_text_atomic

SCHEMA = "edgeseg.benchmark/1"
DEFAULT_FRAME_SIZE = (480, 640)  # (height, width): a typical ultrasound frame grab


def time_calls(fn: Callable[[], Any], runs: int, warmup: int = 0) -> list[float]:
    """Milliseconds of each of ``runs`` calls of ``fn``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def synthetic_frame(size: tuple[int, int] = DEFAULT_FRAME_SIZE, seed: int = 0) -> np.ndarray:
    """A speckled gray frame with a bright ellipse: realistic decode and preprocessing cost."""
    h, w = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    ellipse = ((yy - h * 0.55) / (h * 0.12)) ** 2 + ((xx - w * 0.45) / (w * 0.1)) ** 2 <= 1.0
    img = rng.gamma(2.0, 30.0, size=(h, w)) + 70.0 * ellipse
    return np.clip(img, 0, 255).astype(np.uint8)


@contextlib.contextmanager
def _frame_file(frame: Path | str | None) -> Iterator[Path]:
    if frame is not None:
        read_gray(Path(frame))  # fail early (DataError) on an unreadable frame
        yield Path(frame)
        return
    with tempfile.TemporaryDirectory(prefix="edgeseg-bench-") as tmp:
        path = Path(tmp) / "frame.png"
        Image.fromarray(synthetic_frame()).save(path)
        yield path


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far (a high-water mark), in MiB."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if platform.system() == "Darwin" else peak / 1024


def current_rss_mb() -> float | None:
    """Current resident memory (Linux /proc; None elsewhere), in MiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _percentiles(ms: Sequence[float], prefix: str) -> dict[str, float]:
    arr = np.asarray(ms, dtype=np.float64)
    return {
        f"{prefix}_ms_mean": float(arr.mean()),
        f"{prefix}_ms_p50": float(np.percentile(arr, 50)),
        f"{prefix}_ms_p90": float(np.percentile(arr, 90)),
        f"{prefix}_ms_p99": float(np.percentile(arr, 99)),
        f"{prefix}_ms_min": float(arr.min()),
    }


def _input_size_for(model: Path, input_size: Any) -> Any:
    """Models without metadata are benchmarked at their input tensor's own size."""
    if input_size is not None or read_metadata(model) is not None:
        return input_size
    interpreter, _ = make_interpreter(model, delegate="cpu")
    shape = interpreter.get_input_details()[0]["shape"]
    return (int(shape[1]), int(shape[2])) if len(shape) == 4 else None


def _stream_times(
    seg: Segmenter, frame: Path | np.ndarray, runs: int, warmup: int
) -> tuple[list[float], list[float], list[float]]:
    """Per-frame (frame_ms, wait_ms, total_ms) of ``warmup + runs`` copies of ``frame`` through a
    prefetching stream, the first ``warmup`` (filling the pipeline) dropped."""
    frame_ms: list[float] = []
    wait_ms: list[float] = []
    latency_ms: list[float] = []
    with seg.stream([frame] * (warmup + runs), prefetch=True) as feed:
        for k, result in enumerate(feed):
            if k >= warmup:
                frame_ms.append(result.timings["frame_ms"])
                wait_ms.append(result.timings["wait_ms"])
                latency_ms.append(result.timings["total_ms"])
    return frame_ms, wait_ms, latency_ms


def benchmark_one(
    model: Path | str,
    frame_path: Path,
    backend: str = "auto",
    delegate: str = "auto",
    threads: int | None = None,
    runs: int = 50,
    warmup: int = 5,
    input_size: Any = None,
    strict_delegate: bool = False,
) -> dict[str, Any]:
    """One row: see the module docstring for what each timing covers."""
    model = Path(model)
    size = _input_size_for(model, input_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DelegateFallbackWarning)  # the row says it instead
        t0 = time.perf_counter()
        seg = Segmenter(
            model,
            backend=backend,
            delegate=delegate,
            threads=threads,
            input_size=size,
            strict_delegate=strict_delegate,
        )
        init_ms = (time.perf_counter() - t0) * 1000.0
    info = seg.info
    gray = read_gray(frame_path)
    seg.set_input(seg.contract.prepare(gray))

    invoke = seg.interpreter.invoke
    t0 = time.perf_counter()
    invoke()
    first_ms = (time.perf_counter() - t0) * 1000.0
    for _ in range(max(0, warmup - 1)):
        invoke()
    warmup_ms = (time.perf_counter() - t0) * 1000.0

    invoke_ms = time_calls(invoke, runs)

    e2e_ms = []
    stages: dict[str, list[float]] = {"preprocess_ms": [], "postprocess_ms": []}
    for _ in range(runs):
        t = time.perf_counter()
        result = seg.segment(frame_path)
        e2e_ms.append((time.perf_counter() - t) * 1000.0)
        for key in stages:
            stages[key].append(result.timings[key])

    # The file format's share: read + decode to 8-bit gray, nothing else.
    decode_ms = time_calls(lambda: read_gray(frame_path), runs)

    # The same frame already in memory (a camera buffer): everything but the file decode.
    e2e_array_ms = time_calls(lambda: seg.segment(gray), runs)

    # Pipelined: `runs` frame files (the same file, read and decoded every time, as e2e does)
    # through a prefetching stream; the first `warmup` frames fill the pipeline and are dropped.
    stream_ms, stream_wait_ms, stream_latency_ms = _stream_times(seg, frame_path, runs, warmup)
    stream_array_ms, _, _ = _stream_times(seg, gray, runs, warmup)

    tracemalloc.start()
    try:
        for _ in range(min(runs, 3)):
            seg.segment(frame_path)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    row: dict[str, Any] = {
        "model": str(model),
        "model_file": info.model_path,
        "file_size_bytes": Path(info.model_path).stat().st_size,
        "quantization": seg.metadata.quantization,
        "input_dtype": np.dtype(seg.input_detail["dtype"]).name,
        "input_size": list(seg.input_size),
        "frame_size": [int(gray.shape[0]), int(gray.shape[1])],
        "backend": info.backend,
        "backend_version": info.backend_version,
        "requested_delegate": delegate,
        "delegate": info.delegate,
        "fallback": info.fallback,
        "threads": threads,
        "runs": runs,
        "warmup": warmup,
        "init_ms": init_ms,
        "first_invoke_ms": first_ms,
        "warmup_ms": warmup_ms,
        **_percentiles(invoke_ms, "invoke"),
        **_percentiles(e2e_ms, "e2e"),
        "preprocess_ms_mean": float(np.mean(stages["preprocess_ms"])),
        "postprocess_ms_mean": float(np.mean(stages["postprocess_ms"])),
        **_percentiles(decode_ms, "decode"),
        **_percentiles(e2e_array_ms, "e2e_array"),
        **_percentiles(stream_ms, "stream"),
        **_percentiles(stream_array_ms, "stream_array"),
        "stream_wait_ms_mean": float(np.mean(stream_wait_ms)),
        "stream_latency_ms_p50": float(np.percentile(stream_latency_ms, 50)),
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb": current_rss_mb(),
        "python_peak_kb": python_peak / 1024.0,
    }
    row["fps"] = 1000.0 / row["e2e_ms_mean"] if row["e2e_ms_mean"] > 0 else 0.0
    row["invoke_fps"] = 1000.0 / row["invoke_ms_p50"] if row["invoke_ms_p50"] > 0 else 0.0
    row["stream_fps"] = 1000.0 / row["stream_ms_mean"] if row["stream_ms_mean"] > 0 else 0.0
    return row


def benchmark(
    models: Sequence[Path | str],
    backends: Sequence[str] = ("auto",),
    delegates: Sequence[str] = ("auto",),
    threads_list: Sequence[int | None] = (None,),
    runs: int = 50,
    warmup: int = 5,
    frame: Path | str | None = None,
    input_size: Any = None,
    strict_delegate: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Benchmark every (model, backend, delegate, threads) combination; a list of rows.

    ``frame``: an image file for the end-to-end and stream timings (default: a synthetic 640x480
    frame).
    A backend or delegate library that is missing (with ``strict_delegate``) gives a row with
    ``error`` instead of stopping the run; a bad model raises ModelError. ``peak_rss_mb`` is the
    process's high-water mark so far, so compare it across separate runs, not rows.
    """
    if runs < 1 or warmup < 0:
        raise ConfigError(f"--runs {runs} / --warmup {warmup}: need runs >= 1 and warmup >= 0")
    if not models:
        raise ConfigError("no models to benchmark: pass one or more .tflite files")
    rows: list[dict[str, Any]] = []
    with _frame_file(frame) as frame_path:
        for model in models:
            for backend in backends:
                for delegate in delegates:
                    for threads in threads_list:
                        try:
                            row = benchmark_one(
                                model, frame_path, backend, delegate, threads, runs, warmup,
                                input_size, strict_delegate,
                            )  # fmt: skip
                        except DependencyError as exc:
                            row = {
                                "model": str(model),
                                "backend": backend,
                                "requested_delegate": delegate,
                                "threads": threads,
                                "error": str(exc),
                            }
                        rows.append(row)
                        if progress is not None:
                            progress(row)
    return rows


def host_info() -> dict[str, Any]:
    return {
        "machine": platform.machine(),
        "system": platform.system(),
        "release": platform.release(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "edgeseg_version": __version__,
    }


def write_json(rows: Sequence[dict[str, Any]], path: Path | str) -> Path:
    """Write ``{"schema", "created", "host", "rows"}`` to ``path`` atomically."""
    doc = {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": host_info(),
        "rows": list(rows),
    }
    return write_text_atomic(Path(path), json.dumps(doc, indent=2) + "\n")


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of the main columns (for the CLI)."""
    header = ["model", "backend", "delegate", "thr", "init ms", "p50 ms", "p90 ms", "p99 ms",
              "e2e ms", "FPS", "stream ms", "stream FPS", "MB", "peak RSS"]  # fmt: skip
    lines = [header]
    for r in rows:
        if "error" in r:
            lines.append([Path(r["model"]).name, r["backend"], r["requested_delegate"],
                          str(r["threads"] or "-"), "error: " + r["error"]])  # fmt: skip
            continue
        delegate = r["delegate"]
        if r.get("fallback"):  # which request fell back, e.g. gpu->cpu*
            delegate = f"{r['requested_delegate']}->{delegate}*"
        rss = f"{r['peak_rss_mb']:.0f} MB" if r.get("peak_rss_mb") is not None else "-"
        lines.append([
            Path(r["model_file"]).name, r["backend"], delegate, str(r["threads"] or "-"),
            f"{r['init_ms']:.1f}", f"{r['invoke_ms_p50']:.2f}", f"{r['invoke_ms_p90']:.2f}",
            f"{r['invoke_ms_p99']:.2f}", f"{r['e2e_ms_mean']:.2f}", f"{r['fps']:.1f}",
            f"{r['stream_ms_mean']:.2f}", f"{r['stream_fps']:.1f}",
            f"{r['file_size_bytes'] / 1e6:.2f}", rss,
        ])  # fmt: skip
    sized = [row if len(row) == len(header) else row[:-1] for row in lines]  # not error text
    widths = [max(len(row[i]) for row in sized if i < len(row)) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(widths[i]) if i < len(widths) else cell for i, cell in enumerate(row))
        for row in lines
    ]
    if any(r.get("fallback") for r in rows):
        text.append("* the requested delegate is unavailable here: the row ran on the CPU")
    return "\n".join(line.rstrip() for line in text)
