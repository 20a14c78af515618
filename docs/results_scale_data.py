"""docs/build_results.py, the ``shards`` section: packed TFRecord shards against the folder they
were packed from, pack cost and input-pipeline speed (issue 16, part A)."""

from __future__ import annotations

from results_artifacts import KAGGLE_NOTE, as_dict, as_list, fmt, read_json, table, text

SHARDS_JSON = "benchmarks/results/shard_stream.json"
SHARDS_COMMAND = ".venv/bin/python benchmarks/shard_stream.py"

_ORDER = ("folder (in memory)", "stored size")


def _mb(value: object) -> str:
    return fmt(value / 1e6, 1) if isinstance(value, (int, float)) else "n/a"


def render_shards() -> list[str]:
    data = read_json(SHARDS_JSON)
    if data is None:
        return [f"not run yet: `{SHARDS_COMMAND}`", ""]
    paths = as_dict(data.get("paths"))
    names = [n for n in _ORDER if n in paths] + sorted(n for n in paths if n not in _ORDER)
    rows = []
    for name in names:
        row = as_dict(paths[name])
        rows.append([
            "folder, loaded into memory" if name.startswith("folder") else f"shards, {name}",
            _mb(row.get("bytes")),
            fmt(row.get("pack_seconds"), 1) if "pack_seconds" in row else "-",
            fmt(row.get("split_seconds"), 2),
            fmt(row.get("first_batch_seconds"), 2),
            fmt(row.get("frames_per_second"), 1),
            " - ".join(fmt(v, 1) for v in as_list(row.get("frames_per_second_range"))),
        ])  # fmt: skip
    sizes = ", ".join(f"{k} ({v})" for k, v in as_dict(data.get("frame_sizes")).items())
    load = ", ".join(fmt(v, 1) for v in as_list(data.get("load_average")))
    return [
        f"`{text(data.get('command'))}`: {text(data.get('frames'))} frames of "
        f"{text(data.get('subjects'))} subjects ({sizes}), the training part's batches at "
        f"{text(data.get('input'))}, batch {text(data.get('batch_size'))}, augmentation on, "
        f"{text(data.get('rounds'))} timed rounds of about {text(data.get('frames_per_round'))} "
        "frames (the training part's epochs repeated); only the input pipeline runs (no model). "
        f"{text(data.get('cpus'))} cores shared with other jobs (load average {load} at the end): "
        "the speeds are this machine's under load, for comparing the rows with each other.",
        "",
        *table(
            ["Input", "MB", "Pack (s)", "Split (s)", "First batch (s)", "Frames/s", "Round range"],
            rows,
        ),
        "Split: from the start to both parts of the subject-wise split (the folder path reads "
        "and preprocesses every frame here; the shards path reads `shards.json`). First batch: "
        "from the start to the first training batch. Frames/s: the median round after that "
        "(rounds vary with the load; the range is the slowest and fastest). The "
        "folder path's epochs only batch and augment frames already in memory; the shards path "
        "also decodes and preprocesses every frame each epoch (PNG decoded in the graph, the "
        "contract's numpy steps in `tf.numpy_function`), which is what keeps its memory to the "
        "shuffle buffer. Packing at the model's size (`--size`) stores about a tenth of the "
        "bytes and skips the resize per epoch; at the stored size one pack serves any "
        "`--size`. Folder and shards give the same batches for the same seed "
        "(`tests/test_shards.py`).",
        "",
        f"Data: {KAGGLE_NOTE}; here the frames are only read, packed and batched.",
        "",
    ]
