"""A phantom cine loop through the edge runtime: decode -> segment -> overlay video, and live.

Usage: python benchmarks/live_stream.py [--model MODEL_INT8.tflite] [--frames 600]
       [--size 480x640] [--fps 30] [--threads N] [--out benchmarks/results]

Renders one phantom cine loop (``edgeseg.train.cine.synth_cine``: probe motion, speckle, a run
of frames without the nerve) of ``--frames`` frames at ``--size`` and writes it as an H.264 MP4
and as a JPEG Baseline multi-frame DICOM (the ``data synth --video`` writers) into a temporary
folder. For each file it times, on this machine as it is:

- **decode alone**: every frame out of the source (``open_source``), nothing else;
- **invoke alone**: the interpreter's ``invoke()`` on one prepared frame, as many times;
- **stream**: ``edgeseg stream --source FILE --out DIR`` in-process (``stream_source``): decode
  (prefetched on a thread) -> segment -> overlay -> H.264 ``overlay.mp4`` (on a writer thread)
  + ``frames.csv``, every frame as fast as possible: frames/s and the per-frame time as a
  multiple of (decode alone + invoke alone), goal <= 1.3x; once more for the MP4 without
  ``--out`` (decode -> segment only), to show what the overlay video costs;

and then the MP4 with ``--realtime`` (paced at its ``--fps``): latency p50/p99 from each
frame's due time to its mask, and the frames dropped (goal: none). The model is
``runs/usgra-nerve/export/model_int8.tflite`` (the README's pipeline/train + convert output)
when present, else the Android demo's bundled ``model_int8.tflite`` (the same default
ResU-Net, 128x128 int8). Writes ``live_stream.json``. The machine's core count and load average
are recorded: on a shared machine the numbers move with the load; so each row also has the
process CPU time per frame (all threads: decode alone, invoke alone, the whole stream), which
the load moves much less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = (
    ROOT / "runs" / "usgra-nerve" / "export" / "model_int8.tflite",
    ROOT / "android_demo" / "app" / "src" / "main" / "assets" / "model_int8.tflite",
)
GOAL_RATIO = 1.3


def _default_model() -> Path:
    for path in MODELS:
        if path.is_file():
            return path
    sys.exit(
        "no int8 model: run `edgeseg pipeline` (or train + convert --int8) into runs/usgra-nerve, "
        "or pass --model"
    )


class Timer:
    """Wall and process CPU time (all threads) of a block, per ``n`` items."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def per(self, n: int) -> tuple[float, float]:
        """(wall ms, CPU ms) per item."""
        return self.wall * 1000.0 / n, self.cpu * 1000.0 / n


def decode_ms(path: Path) -> tuple[float, float, int]:
    """(wall ms, CPU ms) per frame to decode every frame of ``path``, and the frame count."""
    from edgeseg.edge_runtime.sources import open_source

    n = 0
    with Timer() as timer, open_source(path) as src:
        for _frame in src:
            n += 1
    return (*timer.per(n), n)


def invoke_ms(seg, frame: np.ndarray, runs: int) -> tuple[float, float]:
    """(wall ms, CPU ms) per bare ``invoke()`` on one prepared frame (after 5 warm-ups)."""
    _gray, tensor = seg.load(frame)
    it = seg.interpreter
    it.set_tensor(seg.input_detail["index"], tensor)
    for _ in range(5):
        it.invoke()
    with Timer() as timer:
        for _ in range(runs):
            it.invoke()
    return timer.per(runs)


def stream_row(seg, path: Path, out: Path | None, frame: np.ndarray, **options) -> dict:
    from edgeseg.edge_runtime.live_stream import stream_source

    dec, dec_cpu, n = decode_ms(path)
    inv, inv_cpu = invoke_ms(seg, frame, n)
    with Timer() as timer:
        summary = stream_source(seg, path, out_dir=out, **options)
    per_frame = summary.wall_s * 1000.0 / max(summary.processed, 1)
    return {
        "file": path.name,
        "bytes": path.stat().st_size,
        "frames": n,
        "processed": summary.processed,
        "dropped": summary.dropped,
        "mode": summary.mode,
        "fps": summary.fps,
        "ms_per_frame": per_frame,
        "decode_ms": dec,
        "invoke_ms": inv,
        "ratio": per_frame / (dec + inv),
        # process CPU time (every thread) per frame: less sensitive to other work on the machine
        "decode_cpu_ms": dec_cpu,
        "invoke_cpu_ms": inv_cpu,
        "stream_cpu_ms": timer.per(max(summary.processed, 1))[1],
        "goal_ratio": GOAL_RATIO,
        "latency_p50_ms": summary.latency_p50_ms,
        "latency_p99_ms": summary.latency_p99_ms,
        "stream_invoke_mean_ms": summary.invoke_mean_ms,
        "complete": summary.complete,
        "outputs": out is not None,
        "overlay_video_bytes": (out / "overlay.mp4").stat().st_size if out else 0,
        "stability": summary.stability,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--size", default="480x640", help="HxW")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--threads", type=int, default=None, help="interpreter threads (default)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    from edgeseg.edge_runtime.segmenter import Segmenter
    from edgeseg.train.cine import synth_cine
    from edgeseg.train.cine_dicom import write_dicom
    from edgeseg.train.cine_writers import write_mp4

    model = args.model or _default_model()
    h, w = (int(v) for v in args.size.lower().split("x"))
    seg = Segmenter(model, threads=args.threads)
    load_before = list(os.getloadavg())
    started = time.perf_counter()
    cine = synth_cine(n=args.frames, size=(h, w), seed=0, fps=args.fps)
    render_s = time.perf_counter() - started
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeseg-live-bench-") as tmp:
        root = Path(tmp)
        mp4 = write_mp4(cine.frames, root / "phantom.mp4", fps=args.fps)
        dcm = write_dicom(cine.frames, root / "phantom.dcm", fps=args.fps, syntax="jpeg")
        frame = cine.frames[len(cine.frames) // 2]
        del cine
        for name, path, write, options in (
            ("mp4", mp4, True, {}),
            ("dicom-jpeg", dcm, True, {}),
            ("mp4-no-output", mp4, False, {}),
            ("mp4-realtime", mp4, True, {"realtime": True}),
        ):
            out = root / f"out-{name}" if write else None
            row = {"case": name, **stream_row(seg, path, out, frame, **options)}
            rows.append(row)
            print(
                f"{name:13s} {row['processed']:4d}/{row['frames']} frames  {row['fps']:6.1f} FPS  "
                f"{row['ms_per_frame']:6.2f} ms/frame = {row['ratio']:.2f}x (decode "
                f"{row['decode_ms']:.2f} + invoke {row['invoke_ms']:.2f} ms; goal <= "
                f"{GOAL_RATIO}x)  latency p50 {row['latency_p50_ms']:.1f} / p99 "
                f"{row['latency_p99_ms']:.1f} ms  dropped {row['dropped']}",
                flush=True,
            )
    result = {
        "benchmark": "live_stream",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
        "model_info": seg.describe(),
        "size": [h, w],
        "fps": args.fps,
        "frames": args.frames,
        "render_s": render_s,
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": list(os.getloadavg()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "live_stream.json"
    from edgeseg.io import write_text_atomic

    write_text_atomic(target, json.dumps(result, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
