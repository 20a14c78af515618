"""docs/build_results.py, the ``web`` section: the same int8 .tflite in LiteRT.js (WASM) in
headless Chromium next to native LiteRT invoke, one script run on one machine (issue 14)."""

from __future__ import annotations

from results_artifacts import as_dict, as_list, fmt, read_json, table, text

WEB_JSON = "benchmarks/results/web_vs_native.json"
WEB_COMMAND = ".venv/bin/python benchmarks/web_vs_native.py --screenshot docs/img/web_demo.png"


def _row(name: str, part: dict) -> list[str]:
    return [
        name,
        text(part.get("runtime", part.get("what"))),
        fmt(part.get("ms_p50"), 3),
        fmt(part.get("ms_mean"), 3),
        fmt(part.get("ms_p90"), 3),
        fmt(part.get("ms_min"), 3),
        text(part.get("runs")),
    ]


def render_web() -> list[str]:
    data = read_json(WEB_JSON)
    if not isinstance(data, dict):
        return [f"not run yet: `{WEB_COMMAND}`", ""]
    native, web = as_dict(data.get("native")), as_dict(data.get("web"))
    e2e = as_dict(data.get("web_end_to_end"))
    ratio, goal = data.get("ratio_web_over_native_p50"), data.get("goal_ratio")
    verdict = "meets" if data.get("meets_goal") else "misses"
    before = ", ".join(fmt(v, 1) for v in as_list(data.get("loadavg_before")))
    after = ", ".join(fmt(v, 1) for v in as_list(data.get("loadavg_after")))
    cpus = text(as_dict(data.get("machine")).get("cpus"))
    cpu = as_dict(as_dict(data.get("machine")).get("cpu"))
    min_ratio = data.get("ratio_web_over_native_min")
    lines = [
        f"`{text(data.get('model'))}` ({text(data.get('input'))}, {text(data.get('threads'))} "
        f"thread each side), {text(data.get('rounds'))} alternating rounds of "
        f"{text(data.get('runs_per_round'))} timed invokes; browser: {text(web.get('browser'))} "
        f"(cross-origin isolated: {text(web.get('cross_origin_isolated'))}).",
        "",
        *table(
            ["side", "runtime", "p50 ms", "mean ms", "p90 ms", "min ms", "runs"],
            [
                _row("native", native),
                _row("web (invoke)", web),
                _row("web (frame -> mask)", e2e),
            ],
        ),
        "",
        f"LiteRT.js / native at the median: **{fmt(ratio, 2)}x** ({verdict} the "
        f"<= {fmt(goal, 0)}x goal); at the minimum: {fmt(min_ratio, 2)}x. Load average before"
        f" / after (1, 5, 15 min): {before} / {after} on {cpus} CPUs: the ratio depends on how "
        "busy the machine is (the browser's processes share it with the page's WASM thread); "
        "rerun on an idle machine for the figure a tablet user would see.",
        "",
        f"CPU: {text(cpu.get('model'))} (AVX-512 VNNI: {text(cpu.get('avx512_vnni'))}). Native "
        "XNNPACK may use such 512-bit int8 dot-product instructions, while WebAssembly SIMD is "
        "128 bits wide, so a server CPU like this one is expected to widen the gap compared with "
        "a tablet's ARM CPU, where both sides have 128-bit NEON (an expectation, not measured "
        "here: no tablet was available).",
        "",
        "Masks: the browser tests (`tests/test_web_demo.py`) compare the page with the Python "
        "runtime on the golden frames shared with the Java core and 48 phantom clip frames: "
        "quantized outputs and masks are equal on every frame, and the JavaScript contract "
        "(gray, Pillow bilinear/nearest, percentile stretch, quantization, post-processing, "
        "overlay) matches every golden vector byte for byte.",
        "",
        "![the web app running the bundled phantom clip](img/web_demo.png)",
        "",
        f"Command: `{WEB_COMMAND}`",
        "",
    ]
    return lines
