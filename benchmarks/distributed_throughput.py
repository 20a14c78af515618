"""Multiworker training on this machine: throughput of 1 vs 2 local workers, and the spread of
validation Dice over seeds that tests/test_distributed.py checks a 2-worker run against.

    .venv/bin/python benchmarks/distributed_throughput.py [--seeds 5] [--mw-seeds 3]

Data: 48 synthetic 64x64 phantoms (edgeseg.train.synth, seed 0; 32 training frames of 4
subjects, 16 validation frames of 2 subjects). Model: the tiny ResU-Net of the tests (8 filters,
depth 2). Throughput is training frames per second of wall time between the first and the last
epoch line (steady state: start-up, TF import, cluster join and graph tracing excluded; each
epoch's validation pass included). Writes benchmarks/results/distributed_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "distributed_throughput.json"

# The test's settings (tests/test_distributed.py reads them from the JSON, so both use these).
DATA = {"n": 48, "size": 64, "seed": 0}
SETTINGS = {
    "size": 64,
    "base_filters": 8,
    "depth": 2,
    "epochs": 10,
    "batch_size": 4,
    "lr": 3e-3,
    "subject_regex": r"^(s\d+)_",
}
THROUGHPUT_EPOCHS = 6


def make_data(folder: Path) -> Path:
    from edgeseg.train.synth import write_dataset

    write_dataset(folder, DATA["n"], size=(DATA["size"], DATA["size"]), seed=DATA["seed"])
    return folder


def run(data: Path, out: Path, workers: int, **overrides) -> dict:
    """One training run (in this process, or ``workers`` local processes); its epoch times."""
    from edgeseg.train.runner import train_options, train_run

    stamps: list[float] = []

    def log(message: str) -> None:
        if message.startswith("epoch "):
            stamps.append(time.perf_counter())

    shutil.rmtree(out, ignore_errors=True)
    opt = train_options(data=data, out=out, workers=workers, **{**SETTINGS, **overrides})
    result = train_run(opt, log=log)
    config = json.loads((out / "config.json").read_text())
    steady = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    frames = config["train_frames"] * (len(stamps) - 1)
    return {
        "workers": workers,
        "seed": opt.seed,
        "epochs": result.epochs_run,
        "best_val_dice": round(result.best_val_dice, 4),
        "seconds_total": round(result.seconds, 1),
        "frames_per_s": round(frames / steady, 2) if frames else None,
        "strategy": config["train"]["strategy"],
        "replicas": config["train"]["replicas"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="single-process seeds (spread)")
    parser.add_argument("--mw-seeds", type=int, default=3, help="2-worker seeds")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="edgeseg-dist-bench-") as tmp:
        tmp = Path(tmp)
        data = make_data(tmp / "data")
        single = [run(data, tmp / f"s{seed}", 0, seed=seed) for seed in range(args.seeds)]
        dice = [r["best_val_dice"] for r in single]
        print(f"single process, seeds 0-{args.seeds - 1}: val Dice {dice}")
        multi = [run(data, tmp / f"m{seed}", 2, seed=seed) for seed in range(args.mw_seeds)]
        print(f"2 local workers, seeds 0-{args.mw_seeds - 1}: val Dice "
              f"{[r['best_val_dice'] for r in multi]}")  # fmt: skip
        speed = [
            run(data, tmp / f"t{w}", w, epochs=THROUGHPUT_EPOCHS, patience=THROUGHPUT_EPOCHS)
            for w in (0, 1, 2)
        ]
    for r in speed:
        label = "1 process (default strategy)" if not r["workers"] else f"{r['workers']} workers"
        print(f"throughput {label}: {r['frames_per_s']} training frames/s")
    mean, sd = statistics.mean(dice), statistics.stdev(dice)
    report = {
        "command": "python benchmarks/distributed_throughput.py " + " ".join(sys.argv[1:]),
        "data": {**DATA, "kind": "synthetic phantoms (edgeseg.train.synth)"},
        "settings": SETTINGS,
        "dice_spread": {
            "single_process": single,
            "dice": dice,
            "mean": round(mean, 4),
            "sd": round(sd, 4),
            "min": min(dice),
            "max": max(dice),
            "two_workers": multi,
        },
        "throughput": {"epochs": THROUGHPUT_EPOCHS, "runs": speed},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
    }
    from edgeseg.io import write_text_atomic

    RESULT.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULT, json.dumps(report, indent=2) + "\n")
    print(f"val Dice over {len(dice)} seeds: mean {mean:.4f}, sd {sd:.4f}; wrote {RESULT}")


if __name__ == "__main__":
    main()
