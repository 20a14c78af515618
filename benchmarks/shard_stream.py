"""Packed shards vs a folder: pack time and size, time to the first training batch, frames/s.

Usage: python benchmarks/shard_stream.py [--data DIR] [--size 128] [--frames 320] [--rounds 7]
Prints a table and writes benchmarks/results/shard_stream.json. Only the input pipeline is
timed (the batches ``edgeseg train`` feeds the model, augmentation on), no model is trained:
the in-memory path (``load_split`` reads and preprocesses every frame, then ``tf.data`` batches
arrays) against the streamed one (``load_split`` reads shards.json; frames are decoded and
preprocessed as they are read). Default data: the Kaggle sample (580x420 frames, Kaggle's size).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_DATA = "../shared/data/kaggle-uns-sample/train"


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def _time_path(data: Path, args: argparse.Namespace) -> dict:
    """Split + first batch + timed epochs of training batches from ``data``."""
    from edgeseg.train.data import Augment, as_dataset
    from edgeseg.train.options import config_from_options, train_options
    from edgeseg.train.runner import load_split
    from edgeseg.train.shard_manifest import LAYOUT, is_shard_folder

    start = time.perf_counter()
    opt = train_options(data=data, out=Path("unused"), size=args.size, batch_size=args.batch_size)
    cfg = config_from_options(opt, LAYOUT if is_shard_folder(data) else "kaggle")
    cfg, train_part, _ = load_split(cfg)
    split_s = time.perf_counter() - start
    batches = iter(as_dataset(train_part, cfg, Augment(), shuffle=True).repeat())
    next(batches)
    first = time.perf_counter() - start
    rounds = []
    for _ in range(args.rounds):  # each round: about --frames frames, whole epochs repeated
        timed, frames = time.perf_counter(), 0
        while frames < args.frames:
            frames += int(next(batches)[0].shape[0])
        rounds.append(frames / (time.perf_counter() - timed))
    return {
        "split_seconds": round(split_s, 2),
        "first_batch_seconds": round(first, 2),
        "frames_per_second": round(statistics.median(rounds), 1),  # the median round's
        "frames_per_second_range": [round(min(rounds), 1), round(max(rounds), 1)],
        "train_frames": cfg.train_frames,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(DEFAULT_DATA))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--frames", type=int, default=320, help="frames per timed round")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds after the first batch")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    import tensorflow  # noqa: F401  (imported before the clock starts: pack imports it)

    from edgeseg.train.shards import pack

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, size in (("stored size", None), (f"--size {args.size}", args.size)):
            shards = Path(tmp) / f"shards-{size}"
            start = time.perf_counter()
            result = pack(args.data, shards, size=size)
            rows[name] = {
                "pack_seconds": round(time.perf_counter() - start, 2),
                "bytes": result.bytes,
                **_time_path(shards, args),
            }
        rows["folder (in memory)"] = {
            "bytes": _folder_bytes(args.data),
            **_time_path(args.data, args),
        }
    out = {
        "benchmark": "shard_stream",
        "data": str(args.data),
        "frames": result.frames,
        "subjects": result.subjects,
        "frame_sizes": result.sizes,
        "input": f"{args.size}x{args.size}",
        "batch_size": args.batch_size,
        "frames_per_round": args.frames,
        "rounds": args.rounds,
        "paths": rows,
        "cpus": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "machine": platform.processor() or platform.machine(),
        "command": f"python benchmarks/shard_stream.py --data {args.data} --size {args.size} "
        f"--frames {args.frames} --rounds {args.rounds}",
    }
    print(f"{'path':<22}{'MB':>8}{'pack s':>8}{'split s':>9}{'1st batch s':>13}{'frames/s':>10}")
    for name, row in rows.items():
        pack_s = f"{row['pack_seconds']:.1f}" if "pack_seconds" in row else "-"
        print(f"{name:<22}{row['bytes'] / 1e6:>8.1f}{pack_s:>8}{row['split_seconds']:>9.2f}"
              f"{row['first_batch_seconds']:>13.2f}{row['frames_per_second']:>10.1f}")  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "shard_stream.json"
    target.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
