"""Per-frame latency in ONE process: int8 LiteRT vs float32 LiteRT vs Keras, 1 thread, 128x128.

Usage: python benchmarks/runtime_vs_keras.py [--run RUN_DIR] [--runs 100] [--threads 1]
       [--frame IMAGE] [--out benchmarks/results]

With ``--run`` it times the run's ``model_best.h5`` and its exports (``RUN_DIR/export/
model_int8.tflite`` / ``model_float32.tflite``; missing ones are converted into a temporary
folder, the run is not touched). Without it, nothing is trained: the default ResU-Net is built
untrained at ``--size`` (128) and converted (int8 calibrated on ``calibration_data/``), which is
fine for timing. Rows: Keras ``model.predict`` and a ``tf.function`` call on one frame; LiteRT
bare ``invoke()``, the runtime's end-to-end frame (decode the image file -> mask at the
frame's original size, one frame after another: a frame's latency) and the pipelined stream
(the same frame files through ``Segmenter.stream`` with prefetch, decoding frame N+1 on a
background thread while frame N is inferred: the per-frame time of a stream), and both again
with the frame already in memory (a camera buffer: everything but the file read and decode),
for float32 and int8, and the file's read + decode alone. Prints a table and the ratios against
their goals (Keras predict / int8 invoke >= 10x; int8 end to end / int8 invoke <= 1.2x, for each
of the four end-to-end rows) and writes ``runtime_vs_keras.json``.
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GOAL_KERAS_OVER_INVOKE = 10.0
GOAL_E2E_OVER_INVOKE = 1.2


def _stats(ms: list[float]) -> dict[str, float]:
    import numpy as np

    arr = np.asarray(ms, dtype=np.float64)
    return {
        "ms_mean": float(arr.mean()),
        "ms_p50": float(np.percentile(arr, 50)),
        "ms_p90": float(np.percentile(arr, 90)),
        "ms_min": float(arr.min()),
        "runs": int(arr.size),
    }


def _models(run: Path | None, size: int, tmp: Path, log) -> tuple[Path, object, dict[str, Path]]:
    """(run dir, Keras model, {"int8": path, "float32": path}); converts what is missing."""
    from edgeseg.config import Preprocessing, RunConfig, load_config
    from edgeseg.convert.tflite import export
    from edgeseg.convert.variants import get_variant
    from edgeseg.train.serialization import load_model, model_path, save_model

    if run is None:
        from edgeseg.train.loop import build_from_config

        cfg = RunConfig(preprocessing=Preprocessing(height=size, width=size))
        model = build_from_config(cfg)
        run = tmp / "untrained"
        cfg.save(run)
        save_model(model, model_path(run, "best"))
        log(f"no --run: built the default untrained {cfg.model.arch} at {size}x{size}")
    else:
        cfg = load_config(run)
        model = load_model(model_path(run, "best"))
    paths = {}
    for variant in ("int8", "float32"):
        existing = run / "export" / get_variant(variant).filename
        if existing.is_file():
            paths[variant] = existing
            continue
        log(f"converting {variant} (not in {run / 'export'})")
        paths[variant] = export(
            run, variant=variant, which="best", out=tmp / get_variant(variant).filename
        ).path
    return run, model, paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="a run directory (optional)")
    parser.add_argument("--size", type=int, default=128, help="input size without --run")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frame", type=Path, default=None, help="default: synthetic 640x480")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from PIL import Image

    from edgeseg import __version__
    from edgeseg.contract import float_input
    from edgeseg.edge_runtime.benchmark import benchmark_one, synthetic_frame, time_calls
    from edgeseg.imaging import read_gray
    from edgeseg.io import write_text_atomic
    from edgeseg.preprocess import preprocess

    start = time.time()
    with tempfile.TemporaryDirectory(prefix="edgeseg-rvk-") as tmp_name:
        tmp = Path(tmp_name)
        run, model, paths = _models(args.run, args.size, tmp, log)
        frame = args.frame
        if frame is None:
            frame = tmp / "frame.png"
            Image.fromarray(synthetic_frame()).save(frame)
        gray = read_gray(frame)
        from edgeseg.config import load_config

        cfg = load_config(run)
        x = float_input(preprocess(gray, cfg.preprocessing))  # the contract's input scale

        rows = []
        log("timing Keras model.predict")
        ms = time_calls(lambda: model.predict(x, verbose=0), args.runs, args.warmup)
        rows.append({"name": "Keras model.predict", "kind": "keras", **_stats(ms)})
        call = tf.function(lambda t: model(t, training=False))
        xt = tf.constant(x)

        def fn_call() -> None:
            out = call(xt)
            for o in out if isinstance(out, (list, tuple)) else [out]:
                o.numpy()

        log("timing Keras tf.function call")
        ms = time_calls(fn_call, args.runs, args.warmup)
        rows.append({"name": "Keras tf.function call", "kind": "keras", **_stats(ms)})
        lite = {}
        for variant in ("float32", "int8"):
            log(f"timing LiteRT {variant}")
            lite[variant] = benchmark_one(
                paths[variant],
                frame,
                delegate="cpu",
                threads=args.threads,
                runs=args.runs,
                warmup=args.warmup,
            )
            r = lite[variant]
            for what, prefix in (
                ("invoke()", "invoke"),
                ("end to end", "e2e"),
                ("pipelined stream", "stream"),
                ("in-memory e2e", "e2e_array"),
                ("in-memory stream", "stream_array"),
            ):
                rows.append(
                    {
                        "name": f"LiteRT {variant} {what}",
                        "kind": prefix,
                        "ms_mean": r[f"{prefix}_ms_mean"],
                        "ms_p50": r[f"{prefix}_ms_p50"],
                        "ms_p90": r[f"{prefix}_ms_p90"],
                        "ms_min": r[f"{prefix}_ms_min"],
                        "runs": args.runs,
                    }
                )
        r = lite["int8"]  # the file's read + decode alone does not depend on the model
        rows.append(
            {
                "name": "frame file read + decode",
                "kind": "decode",
                **{k: r[f"decode_{k}"] for k in ("ms_mean", "ms_p50", "ms_p90", "ms_min")},
                "runs": args.runs,
            }
        )
        params = int(model.count_params())

    by = {r["name"]: r for r in rows}
    int8_invoke = by["LiteRT int8 invoke()"]["ms_p50"]
    ratios = {
        "keras_predict_over_int8_invoke": by["Keras model.predict"]["ms_p50"] / int8_invoke,
        "keras_tf_function_over_int8_invoke": by["Keras tf.function call"]["ms_p50"] / int8_invoke,
        "float32_invoke_over_int8_invoke": by["LiteRT float32 invoke()"]["ms_p50"] / int8_invoke,
        "int8_e2e_over_int8_invoke": by["LiteRT int8 end to end"]["ms_p50"] / int8_invoke,
        "int8_stream_over_int8_invoke": by["LiteRT int8 pipelined stream"]["ms_p50"] / int8_invoke,
        "int8_e2e_array_over_int8_invoke": by["LiteRT int8 in-memory e2e"]["ms_p50"] / int8_invoke,
        "int8_stream_array_over_int8_invoke": by["LiteRT int8 in-memory stream"]["ms_p50"]
        / int8_invoke,
        "decode_over_int8_invoke": by["frame file read + decode"]["ms_p50"] / int8_invoke,
    }
    ratio_notes = {
        "int8_e2e_over_int8_invoke": "sequential: one frame's latency (read + decode + "
        "preprocess + invoke + post-process, frame after frame), p50 / bare invoke p50",
        "int8_stream_over_int8_invoke": "pipelined: per-frame time of a stream of frame files "
        "with prefetch (next frame decoded + preprocessed on a background thread during "
        "invoke), p50 / bare invoke p50",
        "int8_e2e_array_over_int8_invoke": "sequential, frame already in memory (a camera "
        "buffer): preprocess + invoke + post-process + mask at the frame's size, p50 / invoke p50",
        "int8_stream_array_over_int8_invoke": "pipelined, frames already in memory (a live "
        "probe feed through Segmenter.stream), p50 / bare invoke p50",
        "decode_over_int8_invoke": "reading + decoding the frame file alone (Pillow, to 8-bit "
        "gray), p50 / bare invoke p50: above 0.2 no sequential file frame can be within 1.2x",
    }
    goals = {
        "keras_predict_over_int8_invoke": f">= {GOAL_KERAS_OVER_INVOKE:g}x",
        "int8_e2e_over_int8_invoke": f"<= {GOAL_E2E_OVER_INVOKE:g}x",
        "int8_stream_over_int8_invoke": f"<= {GOAL_E2E_OVER_INVOKE:g}x",
        "int8_e2e_array_over_int8_invoke": f"<= {GOAL_E2E_OVER_INVOKE:g}x",
        "int8_stream_array_over_int8_invoke": f"<= {GOAL_E2E_OVER_INVOKE:g}x",
    }
    met = {
        key: ratios[key] >= GOAL_KERAS_OVER_INVOKE
        if key.startswith("keras")
        else ratios[key] <= GOAL_E2E_OVER_INVOKE
        for key in goals
    }
    labels = {
        "int8_e2e_over_int8_invoke": "PNG file, sequential (one frame's latency)",
        "int8_stream_over_int8_invoke": "PNG files, pipelined (per-frame time of a stream)",
        "int8_e2e_array_over_int8_invoke": "in-memory frame, sequential",
        "int8_stream_array_over_int8_invoke": "in-memory frames, pipelined stream",
    }
    result = {
        "benchmark": "runtime_vs_keras",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": str(args.run) if args.run else None,
        "trained": args.run is not None,
        "input": f"{cfg.preprocessing.height}x{cfg.preprocessing.width}x1",
        "frame_size": [int(gray.shape[0]), int(gray.shape[1])],
        "frame": str(args.frame) if args.frame else "synthetic 640x480 PNG",
        "threads": args.threads,
        "runs": args.runs,
        "warmup": args.warmup,
        "params": params,
        "model_bytes": {v: int(lite[v]["file_size_bytes"]) for v in lite},
        "litert": {
            v: {k: lite[v][k] for k in ("backend", "backend_version", "delegate")} for v in lite
        },
        "rows": rows,
        "ratios": ratios,
        "ratio_notes": ratio_notes,
        "stream": {
            v: {
                k: lite[v][k]
                for k in (
                    "stream_ms_mean",
                    "stream_ms_p50",
                    "stream_fps",
                    "stream_wait_ms_mean",
                    "stream_latency_ms_p50",
                    "stream_array_ms_p50",
                )
            }
            for v in lite
        },
        "goals": goals,
        "goals_met": met,
        "tensorflow": tf.__version__,
        "edgeseg_version": __version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    out = write_text_atomic(args.out / "runtime_vs_keras.json", json.dumps(result, indent=2) + "\n")

    print(
        f"{result['input']} input, {result['frame_size'][1]}x{result['frame_size'][0]} frame, "
        f"{args.threads} thread(s), {args.runs} runs, "
        f"{'trained run ' + str(args.run) if args.run else 'untrained default model'}"
    )
    print(f"{'what':<31} {'mean ms':>9} {'p50 ms':>9} {'p90 ms':>9} {'min ms':>9}")
    for r in rows:
        print(
            f"{r['name']:<31} {r['ms_mean']:9.2f} {r['ms_p50']:9.2f} {r['ms_p90']:9.2f} "
            f"{r['ms_min']:9.2f}"
        )
    for key, value in ratios.items():
        goal = f"  goal {goals[key]}: {'met' if met[key] else 'NOT met'}" if key in goals else ""
        label = f"  [{labels[key]}]" if key in labels else ""
        print(f"{key:<36} {value:8.2f}x{goal}{label}")
    print(f"wrote {out} in {time.time() - start:.0f}s; next: edgeseg benchmark MODEL for more rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
