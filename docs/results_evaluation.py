"""docs/build_results.py, part 3: the sections on the stem ablation, the runtime benchmark, the
model comparison, post-processing, error analysis and the cross-dataset runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from results_artifacts import (
    ANALYSIS_DIR,
    COMPARE_DIR,
    CROSS,
    POST_DIR,
    RUNTIME_JSON,
    STEM_BENCH_JSON,
    STEM_DIR,
    STEM_RUNS,
    R,
    as_dict,
    as_list,
    dig,
    embedded_report,
    first_class,
    fmt,
    fmt_ci,
    kib,
    num,
    plain,
    read_csv,
    read_json,
    runtime_checks,
    table,
    text,
)
from results_training import thousands


def per_invoke(row: dict[str, Any], key: str) -> str:
    """``row[key]`` in ms with its multiple of the row's bare invoke p50, e.g. ``3.16 (1.75x)``."""
    value, invoke = num(dig(row, key)), num(dig(row, "invoke_ms_p50"))
    if value is None or not invoke:
        return fmt(value, 2)
    return f"{fmt(value, 2)} ({fmt(value / invoke, 2)}x)"


def render_stem() -> list[str]:
    bench = {
        Path(text(dig(r, "model"))).parent.parent.name: r
        for r in as_list(dig(read_json(STEM_BENCH_JSON), "rows"))
        if isinstance(r, dict)
    }
    lines = [
        "Test-split nerve Dice of each run (40 frames, mean and 95% bootstrap CI) and the int8 "
        "latency of its post-training int8 export (calibrated on `calibration_data/`; 128x128, "
        "1 thread, CPU; `edgeseg benchmark`, p50 of the bare invoke and of the per-frame time of "
        "pipelined streams of the synthetic 640x480 PNG frame and of the same frame in memory, "
        "each also as a multiple of the invoke).",
        "",
    ]
    rows = []
    by_variant: dict[str, list[float]] = {}
    for name, flags in STEM_RUNS:
        cfg = read_json(f"{STEM_DIR}/{name}/config.json")
        ev = read_json(f"{STEM_DIR}/{name}/evaluation/evaluation.json")
        dice = dig(ev, "summary", "nerve", "dice")
        if num(dig(dice, "mean")) is not None:
            by_variant.setdefault(name.rsplit("_", 1)[0], []).append(num(dig(dice, "mean")))
        b = bench.get(name, {})
        rows.append(
            [
                name,
                f"`{flags}`",
                text(dig(cfg, "model", "stem_stride") or 1),
                fmt_ci(dice),
                fmt(dig(b, "invoke_ms_p50"), 2),
                per_invoke(b, "stream_ms_p50"),
                per_invoke(b, "stream_array_ms_p50"),
                kib(dig(b, "file_size_bytes")),
            ]
        )
    header = ["run", "flags", "stem", "test Dice [95% CI]", "int8 invoke ms"]
    lines += table([*header, "PNG stream ms", "in-memory stream ms", "KiB"], rows)
    means = [
        f"{variant} {fmt(sum(v) / len(v))} ({len(v)} seeds)" for variant, v in by_variant.items()
    ]
    lines.append("- mean test Dice per variant: " + ", ".join(means))
    return lines


def render_runtime() -> list[str]:
    data = read_json(RUNTIME_JSON)
    run = dig(data, "run")
    which = f"trained run `{run}`" if run else "the untrained default model (no --run)"
    litert = dig(data, "litert", "int8")
    bytes_ = as_dict(dig(data, "model_bytes"))
    lines = [
        f"{text(dig(data, 'input'))} input, frame: {text(dig(data, 'frame'))}, "
        f"{text(dig(data, 'threads'))} thread(s), {text(dig(data, 'runs'))} runs after "
        f"{text(dig(data, 'warmup'))} warm-up; model: {which}, "
        f"{thousands(dig(data, 'params'))} parameters; files: "
        + ", ".join(f"{k} {kib(v)} KiB" for k, v in sorted(bytes_.items()))
        + f"; {text(dig(litert, 'backend'))} {text(dig(litert, 'backend_version'))} "
        f"({text(dig(litert, 'delegate'))}), TensorFlow {text(dig(data, 'tensorflow'))}.",
        "",
    ]
    stale = runtime_stale()
    if stale:
        lines += [f"- **note: {stale}**; the numbers below are not those of `{R}`", ""]
    rows = [
        [
            text(dig(r, "name")),
            fmt(dig(r, "ms_p50"), 2),
            fmt(dig(r, "ms_mean"), 2),
            fmt(dig(r, "ms_p90"), 2),
            fmt(dig(r, "ms_min"), 2),
        ]
        for r in as_list(dig(data, "rows"))
    ]
    lines += table(["path", "p50 ms", "mean ms", "p90 ms", "min ms"], rows)
    checks = {c.name: c for c in runtime_checks()}
    rows = []
    for key, value in sorted(as_dict(dig(data, "ratios")).items()):
        check = checks.get(key)
        goal, status = (check.goal(), check.status) if check else ("-", "-")
        rows.append([key, f"{fmt(value, 2)}x", goal, status])
    lines += ["Ratios of p50 latencies:", ""]
    lines += table(["ratio", "value", "goal", "status (from the numbers)"], rows)
    for key, check in checks.items():
        recorded = dig(data, "goals_met", key)
        if isinstance(recorded, bool) and recorded != (check.status == "met"):
            lines.append(f"- note: the JSON's goals_met[{key}]={recorded} disagrees with its ratio")
    p50 = {text(dig(r, "name")): num(dig(r, "ms_p50")) for r in as_list(dig(data, "rows"))}
    invoke, decode = p50.get("LiteRT int8 invoke()"), p50.get("frame file read + decode")
    if invoke and decode is not None:
        lines.append(
            f"- reading + decoding the frame file alone takes {fmt(decode, 2)} ms, "
            f"{fmt(decode / invoke, 2)}x the int8 invoke: sequentially no frame file can come "
            "within 1.2x of invoke once decoding alone takes more than 0.2x; a stream overlaps "
            "it on a second thread, which needs a free core for it"
        )
    e2e_mem, cpus = p50.get("LiteRT int8 in-memory e2e"), num(dig(data, "cpus"))
    if invoke and decode is not None and e2e_mem is not None and cpus:
        floor = (e2e_mem + decode) / cpus  # all of a frame's work, spread over every core
        lines.append(
            f"- a stream of frame files cannot beat {fmt(floor, 2)} ms per frame here "
            f"({fmt(floor / invoke, 2)}x the invoke): one frame's work (in-memory end to end "
            f"{fmt(e2e_mem, 2)} ms + decode {fmt(decode, 2)} ms) spread over all "
            f"{int(cpus)} cores"
        )
    return lines


def runtime_stale() -> str | None:
    data = read_json(RUNTIME_JSON)
    if data is None:
        return None
    if dig(data, "run") != R:
        run = dig(data, "run")
        written = "without --run" if run is None else f"with --run {run}"
        return f"`{RUNTIME_JSON}` was written {written}, not with --run {R}"
    return None


def render_compare() -> list[str]:
    lines = embedded_report(
        f"{COMPARE_DIR}/comparison.md",
        "The tables below are `comparison.md` as `edgeseg compare` wrote it (headings "
        "shifted down):",
    )
    data = read_json(f"{COMPARE_DIR}/comparison.json")
    seconds = as_dict(dig(data, "timing", "train_seconds"))
    if seconds:
        lines.append(
            "- training seconds (measured, not repeatable): "
            + ", ".join(f"{k} {fmt(v, 1)}" for k, v in sorted(seconds.items()))
        )
    lines.append(f"- also written: `{COMPARE_DIR}/comparison.html`, `{COMPARE_DIR}/per_frame.csv`")
    return lines


def render_postprocess() -> list[str]:
    lines = embedded_report(
        f"{POST_DIR}/postprocess.md",
        "`postprocess.md` as `edgeseg tune-postprocess` wrote it (validation frames only, "
        "headings shifted down):",
    )
    data = read_json(f"{POST_DIR}/postprocess.json")
    rec = dig(data, "recommended")
    if isinstance(rec, dict):
        lines.append(
            "- recommended PostProcess: "
            + ", ".join(f"{k}={plain(v)}" for k, v in sorted(rec.items()))
            + f" (flags: `{text(dig(data, 'flags'))}`)"
        )
    return lines


def render_analysis() -> list[str]:
    data = read_json(f"{ANALYSIS_DIR}/analysis.json")
    o = dig(data, "overall")
    lines = [
        f"`{text(dig(data, 'run_dir'))}`, model `{text(dig(data, 'model'))}`, on "
        f"`{text(dig(data, 'data'))}` ({text(dig(data, 'frames'))} frames), class "
        f"`{text(dig(data, 'class'))}`; boundary F-score tolerance "
        f"{plain(dig(data, 'tolerance'))} px. HD95 and BF are over detected (TP) frames.",
        "",
    ]
    header = ["frames", "Dice", "FN frames (rate)", "FP frames (rate)", "median HD95 px", "BF"]
    lines += table(header, [rate_cells(o)])
    breakdown = as_dict(dig(data, "breakdown"))
    for key in ("noise", "rms_contrast", "nerve_contrast", "brightness", "area"):
        bins = breakdown.get(key)
        if not isinstance(bins, list):
            continue
        rows = [[bin_label(b), *rate_cells(b)] for b in bins]
        lines += [f"By {key} ({'nerve share of frame' if key == 'area' else 'tertiles'}):", ""]
        lines += table(["bin [range]", *header], rows)
    subjects = breakdown.get("subject")
    if isinstance(subjects, list):
        lines.append(
            f"- per-subject table ({len(subjects)} subjects) and per-frame rows: "
            f"`{ANALYSIS_DIR}/analysis.md`, `{ANALYSIS_DIR}/per_frame.csv`"
        )
    for which in ("worst", "best"):
        frames = dig(data, "gallery", which)
        if isinstance(frames, list):
            lines.append(
                f"- gallery `{ANALYSIS_DIR}/gallery_{which}.png` (not committed): "
                + ", ".join(str(f) for f in frames)
            )
    return lines


def rate_cells(r: Any) -> list[str]:
    return [
        text(dig(r, "frames")),
        fmt(dig(r, "dice")),
        f"{text(dig(r, 'fn_frames'))} ({fmt(dig(r, 'fn_rate'))})",
        f"{text(dig(r, 'fp_frames'))} ({fmt(dig(r, 'fp_rate'))})",
        fmt(dig(r, "hd95_median"), 1),
        fmt(dig(r, "bf")),
    ]


def bin_label(b: Any) -> str:
    rng = dig(b, "range")
    if isinstance(rng, list) and len(rng) == 2 and None not in (num(rng[0]), num(rng[1])):
        return f"{text(dig(b, 'bin'))} [{rng[0]:.3g}, {rng[1]:.3g}]"
    return text(dig(b, "bin"))


def render_cross() -> list[str]:
    rows = []
    for trained_on, evaluated_on, folder in CROSS.values():
        ev = read_json(f"{folder}/evaluation.json")
        if ev is None:
            rows.append([trained_on, evaluated_on, "not run yet", *["-"] * 5])
            continue
        cls = first_class(ev)
        s = dig(ev, "summary", cls)
        nonempty, n = nonempty_dice(f"{folder}/per_image.csv", cls)
        rows.append(
            [
                trained_on,
                evaluated_on,
                text(dig(ev, "frames")),
                text(dig(s, "presence", "empty_gt_frames")),
                fmt_ci(dig(s, "dice")),
                f"{fmt(nonempty)} (n={n})" if n else "n/a",
                fmt(dig(s, "iou", "mean")),
                text(dig(s, "presence", "false_positive_frames")),
            ]
        )
    header = [
        "trained on",
        "evaluated on",
        "frames",
        "empty GT frames",
        "Dice, Kaggle rule [95% CI]",
        "Dice, non-empty frames only",
        "IoU",
        "FP frames",
    ]
    return [
        "Kaggle rule: per-frame Dice with empty prediction on an empty frame = 1, averaged over "
        "all frames; the non-empty column averages only frames whose ground truth has a nerve "
        "(from each evaluation's `per_image.csv`). Class maps differ: usgra-seg masks are "
        "labels (nerve = 1), the Kaggle masks binary 0/255 read as nerve. The first row is the "
        "in-domain result of the train section, for reference.",
        "",
        *table(header, rows),
        "- evaluation folders: " + ", ".join(f"`{folder}`" for _, _, folder in CROSS.values()),
    ]


def nonempty_dice(rel: str, cls: str) -> tuple[float | None, int]:
    """Mean Dice over rows whose ground truth is present, and how many rows that is."""
    values = []
    for row in read_csv(rel) or []:
        if row.get(f"{cls}/gt_present") == "True":
            try:
                value = float(row.get(f"{cls}/dice", "nan"))
            except (TypeError, ValueError):
                continue
            if not math.isnan(value):
                values.append(value)
    return (sum(values) / len(values) if values else None), len(values)
