"""docs/build_results.py, the ``live`` section: a phantom cine loop through the edge runtime
(decode -> segment -> overlay video), every frame and in real time (issue 13)."""

from __future__ import annotations

from results_artifacts import as_dict, as_list, dig, fmt, load_lines, read_json, table, text

LIVE_JSON = "benchmarks/results/live_stream.json"
LIVE_COMMAND = ".venv/bin/python benchmarks/live_stream.py"

_CASES = {
    "mp4": "H.264 MP4 -> overlay.mp4 + frames.csv",
    "dicom-jpeg": "JPEG Baseline multi-frame DICOM -> overlay.mp4 + frames.csv",
    "mp4-no-output": "H.264 MP4, no --out (decode -> segment only)",
    "mp4-realtime": "H.264 MP4 --realtime -> overlay.mp4 + frames.csv",
}


def _sum(*values: object) -> float | None:
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(nums) if len(nums) == len(values) else None


def _row(row: dict) -> list[str]:
    realtime = row.get("mode") == "real time"
    ratio = fmt(row.get("ratio"), 2) + "x"
    goal = row.get("goal_ratio")
    if not realtime and isinstance(row.get("ratio"), (int, float)) and goal:
        ratio += " (meets)" if row["ratio"] <= goal else " (misses)"
    return [
        _CASES.get(str(row.get("case")), text(row.get("case"))),
        f"{text(row.get('processed'))}/{text(row.get('frames'))}",
        fmt(row.get("fps"), 1),
        fmt(row.get("ms_per_frame"), 2),
        fmt(row.get("decode_ms"), 2),
        fmt(row.get("invoke_ms"), 2),
        "paced (n/a)" if realtime else ratio,
        f"{fmt(row.get('stream_cpu_ms'), 2)} / "
        f"{fmt(_sum(row.get('decode_cpu_ms'), row.get('invoke_cpu_ms')), 2)}",
        fmt(row.get("latency_p50_ms"), 1),
        fmt(row.get("latency_p99_ms"), 1),
        text(row.get("dropped")),
    ]


def render_live() -> list[str]:
    data = read_json(LIVE_JSON)
    if data is None:
        return [f"not run yet: `{LIVE_COMMAND}`", ""]
    rows = [as_dict(r) for r in as_list(data.get("rows"))]
    size = as_list(data.get("size"))
    info = as_dict(data.get("model_info"))
    nerve = dig(next((r for r in rows if r.get("case") == "mp4"), {}), "stability", "classes")
    stab = as_dict(as_dict(nerve).get("nerve"))
    load = as_list(data.get("loadavg_before")) + as_list(data.get("loadavg_after"))
    lines = [
        f"One phantom cine loop (`edgeseg.train.cine`, seed 0) of {text(data.get('frames'))} "
        f"frames at {'x'.join(str(v) for v in reversed(size))} and {fmt(data.get('fps'), 0)} "
        f"FPS, written as an H.264 MP4 and a JPEG Baseline multi-frame DICOM, through "
        f"`{text(data.get('model'))}` ({text(info.get('quantization'))}, "
        f"{'x'.join(str(v) for v in as_list(info.get('input_size')))} input, "
        f"{text(info.get('backend'))}/{text(info.get('delegate'))}) on "
        f"{text(data.get('cpus'))} cores ({text(data.get('when'))}). Per-frame time = the "
        "stream's wall time / frames; ratio = that / (decode alone + invoke alone), goal "
        "<= 1.3x. CPU ms: process CPU time per frame over all threads, for the stream and for "
        "decode alone + invoke alone; other work on a shared machine moves it much less than "
        "wall time, and on 2 idle cores a stream's wall time per frame cannot go below half its "
        "CPU time. Latency: a frame's hand-over by the decoder (every frame) or its due time "
        "(--realtime) -> its mask.",
        "",
        *table(
            [
                "case",
                "frames",
                "FPS",
                "ms/frame",
                "decode ms",
                "invoke ms",
                "ratio",
                "CPU ms: stream / decode + invoke",
                "latency p50 ms",
                "p99 ms",
                "dropped",
            ],
            [_row(r) for r in rows],
        ),
    ]
    if stab:
        lines += [
            f"Stability of the MP4's masks: frame-to-frame Dice mean {fmt(stab.get('dice_mean'))}"
            f" (min {fmt(stab.get('dice_min'))}), {text(stab.get('flicker'))} presence "
            f"flicker(s) over {text(stab.get('pairs'))} frame pairs; the nerve is on "
            f"{text(stab.get('present_frames'))} frames.",
            "",
        ]
    return lines + load_lines(load)


__all__ = ["LIVE_COMMAND", "LIVE_JSON", "render_live"]
