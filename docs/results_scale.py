"""docs/build_results.py, the ``scale`` section: multiworker training on this machine (1 vs 2
local workers), the validation-Dice spread the 2-worker test is held to, and the scaling to
expect on real hardware (issue 16; ``benchmarks/distributed_throughput.py``)."""

from __future__ import annotations

from results_artifacts import PY, as_dict, as_list, dig, fmt, num, read_json, table, text

SCALE_JSON = "benchmarks/results/distributed_throughput.json"
SCALE_COMMAND = f"{PY} benchmarks/distributed_throughput.py"


def _label(run: dict) -> str:
    workers = run.get("workers")
    if not workers:
        return "1 process, `--strategy default`"
    return f"`--workers {workers}` (MultiWorkerMirroredStrategy, {run.get('replicas')} replicas)"


def _throughput(data: dict) -> list[str]:
    runs = as_list(dig(data, "throughput", "runs"))
    base = num(dig(runs, 0, "frames_per_s"))
    rows = []
    for run in runs:
        fps = num(run.get("frames_per_s"))
        ratio = f"{fps / base:.2f}x" if fps and base else "n/a"
        rows.append([_label(run), fmt(fps, 1), ratio, fmt(run.get("seconds_total"), 1)])
    load = dig(data, "machine", "load_average_before")
    return [
        f"Throughput: training frames per second between the first and the last of "
        f"{dig(data, 'throughput', 'epochs')} epochs (start-up, TensorFlow import, joining the "
        "cluster and graph tracing excluded; each epoch's validation pass included), same data, "
        "model and global batch. "
        f"Machine: {dig(data, 'machine', 'cpus')} CPU cores shared with other jobs (load average "
        f"{', '.join(fmt(v, 1) for v in as_list(load))} before the run).",
        "",
        *table(["run", "frames/s", "vs 1 process", "wall s (all)"], rows),
        "No speedup here, as expected: one process already keeps both cores busy (TensorFlow's "
        "intra-op threads), so two workers split the same two cores, and each step adds a "
        "gradient all-reduce over gRPC on 127.0.0.1 plus a barrier where the faster worker waits "
        "for the slower; the tiny model's step is so short that this overhead dominates. "
        "`--workers 1` isolates the strategy's own cost (one worker, no peer).",
        "",
    ]


def _spread(data: dict) -> list[str]:
    spread = as_dict(data.get("dice_spread"))
    settings = as_dict(data.get("settings"))
    flags = ", ".join(f"{k}={v}" for k, v in settings.items())
    two = as_list(spread.get("two_workers"))
    return [
        f"Validation Dice after {settings.get('epochs')} epochs ({flags}; "
        f"{dig(data, 'data', 'n')} synthetic {dig(data, 'data', 'size')}px phantoms, subject-wise "
        "split):",
        "",
        *table(
            ["run", "seeds", "best val Dice per seed", "mean", "sd"],
            [
                [
                    "1 process",
                    text(len(as_list(spread.get("dice")))),
                    ", ".join(fmt(v) for v in as_list(spread.get("dice"))),
                    fmt(spread.get("mean")),
                    fmt(spread.get("sd")),
                ],
                [
                    "`--workers 2`",
                    text(len(two)),
                    ", ".join(fmt(r.get("best_val_dice")) for r in two),
                    "",
                    "",
                ],
            ],
        ),
        "tests/test_distributed.py runs `--workers 2` (seed 0) on these settings and accepts "
        "its Dice within the 99% prediction interval of one more single-process seed "
        "(mean +/- t(0.995, n-1) x sd x sqrt(1 + 1/n)): two workers are the same optimisation "
        "on half-batches per replica (BatchNorm statistics per replica, augmentation sharded), "
        "so a correct run is one more draw from the single-process distribution.",
        "",
    ]


def _expected(data: dict) -> list[str]:
    params = num(dig(data, "model", "default_params"))
    grad_mb = params * 4 / 1e6 if params else None
    lines = [
        "Scaling to expect on real hardware (reasoning, not a measurement): synchronous data "
        "parallelism computes each replica's half (or 1/N) of the global batch, then all-reduces "
        "the gradients once per step. Per step a ring all-reduce moves about 2 x (N-1)/N x the "
        "gradient size through each worker's link.",
        "",
    ]
    if grad_mb is not None:
        lines += [
            f"- The default `edgeseg train` network ({int(params):,} weights) has "
            f"{grad_mb:.1f} MB of float32 gradients: about {2 * grad_mb / 1250 * 1000:.1f} ms "
            f"per step on 10 Gb/s Ethernet, {2 * grad_mb / 12500 * 1000:.2f} ms on 100 Gb/s.",
        ]
    lines += [
        "- CPU-only workers (minutes per epoch, steps of 0.1-1 s at batch 16 of 128x128): the "
        "all-reduce is a few percent of a step, so N machines should train close to N times "
        "faster (expect 0.8-0.95 N) as long as each replica keeps a batch of 8 or more and the "
        "data is read from shards every worker can reach (`edgeseg data pack`).",
        "- GPU workers: a step of this small U-Net takes milliseconds, the same order as the "
        "all-reduce on 10 Gb/s and as the input pipeline, so several GPUs in one host "
        "(`--strategy mirrored`, NVLink/PCIe all-reduce) scale much better than several hosts; "
        "across hosts expect well under linear unless the global batch (and so the step) grows "
        "with N. Raise `--batch-size` with the replica count and tune `--lr` (edgeseg uses the "
        "learning rate as given and records both in config.json).",
        "",
    ]
    return lines


def render_scale() -> list[str]:
    data = read_json(SCALE_JSON)
    if data is None:
        return [f"not run yet: `{SCALE_COMMAND}`", ""]
    return [
        f"`{SCALE_COMMAND}` (`{data.get('command', SCALE_COMMAND)}`); how to run it on a "
        "cluster: docs/scale.md.",
        "",
        *_throughput(data),
        *_spread(data),
        *_expected(data),
    ]
