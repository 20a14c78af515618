"""Training throughput of the default model: images/s at 128x128 through the real tf.data pipeline.

Usage: python benchmarks/train_throughput.py [--frames 256] [--epochs 3] [--out benchmarks/results]
Prints a table and writes train_throughput.json. Goal: >= 60 img/s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    from edgeseg.config import Preprocessing, RunConfig
    from edgeseg.datasets import discover, load_arrays
    from edgeseg.train.data import Augment, make_dataset
    from edgeseg.train.loop import build_from_config, compile_model
    from edgeseg.train.synth import write_dataset

    cfg = RunConfig(preprocessing=Preprocessing(height=args.size, width=args.size))
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(Path(tmp), args.frames, size=(args.size, args.size), seed=0)
        samples, _ = discover(Path(tmp))
        images, masks = load_arrays(samples, cfg.preprocessing, cfg.classes)
    model = build_from_config(cfg)
    compile_model(model, cfg)
    augment = None if args.no_augment else Augment()
    ds = make_dataset(images, masks, args.batch_size, cfg.model.presence_head, augment, True)
    model.fit(ds, epochs=1, verbose=0)  # warm-up: graph tracing, allocator
    start = time.perf_counter()
    model.fit(ds, epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - start
    result = {
        "benchmark": "train_throughput",
        "images_per_second": round(args.frames * args.epochs / seconds, 1),
        "seconds": round(seconds, 2),
        "frames": args.frames,
        "epochs": args.epochs,
        "input": f"{args.size}x{args.size}x1",
        "batch_size": args.batch_size,
        "augment": augment is not None,
        "model": cfg.model.arch,
        "params": int(model.count_params()),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "goal_images_per_second": 60,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train_throughput.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print(f"wrote {args.out / 'train_throughput.json'}")


if __name__ == "__main__":
    main()
