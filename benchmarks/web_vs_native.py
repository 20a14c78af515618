"""Per-frame inference time of the same int8 .tflite: LiteRT.js (WASM CPU) in headless Chromium
vs native LiteRT invoke, in one script run on the same machine, 128x128.

Usage: .venv/bin/python benchmarks/web_vs_native.py [--model M] [--runs 100] [--rounds 5]
       [--out benchmarks/results] [--screenshot docs/img/web_demo.png]

Both sides run the bytes ``edgeseg web`` serves (the model with a static batch of 1), one
thread each: native is ``ai_edge_litert``'s Interpreter (``num_threads=1``, XNNPACK), timed
around ``invoke()``; the web side is the app's own ``EdgesegModel.infer`` (LiteRT.js's
single-threaded WASM build, XNNPACK), timed in the page with ``performance.now()`` around
``CompiledModel.run`` (input tensor built before, outputs read after; the page is
cross-origin isolated, so the timer's resolution is 5 us). The two alternate in ``--rounds``
rounds of ``--runs`` timed invokes each (after warm-up) so that load on a shared machine hits
both alike; the ratio is of the medians over all timed invokes (goal <= 3x). The page's
end-to-end frame (a 240x320 phantom frame -> mask at frame size: gray, resize, normalise,
infer, post-process) is timed too. Writes ``web_vs_native.json`` and, with ``--screenshot``,
a screenshot of the app running the bundled phantom clip.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "android_demo/app/src/main/assets/model_int8.tflite"
BACKGROUND_ARGS = [  # the page is timed while nothing is on screen: no throttling
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
]
GOAL_RATIO = 3.0


def stats(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms, dtype=np.float64)
    return {
        "ms_p50": float(np.median(arr)),
        "ms_mean": float(arr.mean()),
        "ms_p90": float(np.percentile(arr, 90)),
        "ms_min": float(arr.min()),
        "runs": int(arr.size),
    }


def native_times(path: Path, runs: int, warmup: int) -> list[float]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(str(path), num_threads=1)
    it.allocate_tensors()
    detail = it.get_input_details()[0]
    pixels = (np.arange(128 * 128) * 37 % 256).astype(np.uint8)  # the page's benchmark input
    it.set_tensor(detail["index"], pixels.reshape(detail["shape"]).astype(detail["dtype"]))
    out = []
    for k in range(warmup + runs):
        t0 = time.perf_counter()
        it.invoke()
        if k >= warmup:
            out.append((time.perf_counter() - t0) * 1000.0)
    return out


def cpu_info() -> dict[str, object]:
    """The CPU's model name and whether it has the wide int8 instructions native XNNPACK uses."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model": platform.processor() or "unknown"}
    fields = dict(
        line.split(":", 1) for line in text.splitlines() if ":" in line and line.count(":") == 1
    )
    flags = set(fields.get("flags\t\t", fields.get("flags", "")).split())
    return {
        "model": fields.get("model name\t", "unknown").strip(),
        "avx512_vnni": "avx512_vnni" in flags,
        "avx2": "avx2" in flags,
    }


def chromium_version() -> str:
    from edgeseg.web_server import CHROMIUM

    try:
        return subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    ap.add_argument("--screenshot", type=Path, default=None)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from edgeseg.edge_runtime.batch import static_batch
    from edgeseg.web_server import CHROMIUM, HEADLESS_CHROMIUM_ARGS, WebServer

    load_before = os.getloadavg()
    native: list[float] = []
    web: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, WebServer(args.model, port=0) as server:
        batch1 = Path(tmp) / "model.tflite"
        batch1.write_bytes(static_batch(args.model.read_bytes()))
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=[*HEADLESS_CHROMIUM_ARGS, *BACKGROUND_ARGS]
            )
            page = browser.new_page(viewport={"width": 1100, "height": 720})
            page.goto(server.url + "?source=none")
            if page.evaluate("window.edgeseg.ready") is not True:
                print(f"the page did not load the model: {page.inner_text('#message')}")
                return 1
            isolated = page.evaluate("crossOriginIsolated")
            for r in range(args.rounds):
                native += native_times(batch1, args.runs, args.warmup)
                web += page.evaluate(f"window.edgeseg.benchmark({args.runs}, {args.warmup})")
                print(
                    f"round {r + 1}/{args.rounds}: native p50 {np.median(native):.3f} ms, "
                    f"web p50 {np.median(web):.3f} ms"
                )
            e2e = page.evaluate(
                """async (n) => {
                    const clip = await (await fetch('clip/phantom.json')).json();
                    const g = new Uint8Array(clip.width * clip.height).map((_, i) => (i * 7) % 251);
                    const m = window.edgeseg.state.model, times = [];
                    for (let k = 0; k < n + 10; k++) {
                        const t0 = performance.now();
                        await m.segment(g, clip.width, clip.height);
                        if (k >= 10) times.push(performance.now() - t0);
                    }
                    return {times, width: clip.width, height: clip.height};
                }""",
                args.runs,
            )
            if args.screenshot:
                page.click("#src-clip")
                page.wait_for_function("window.edgeseg.state.frames >= 30", timeout=120_000)
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.screenshot))
            browser.close()
    n, w = stats(native), stats(web)
    ratio = w["ms_p50"] / n["ms_p50"]
    lock = json.loads((ROOT / "web_demo/package-lock.json").read_text())
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/web_vs_native.py " + " ".join(sys.argv[1:]),
        "model": str(
            args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model
        ),
        "input": "128x128x1 uint8, batch 1",
        "threads": 1,
        "rounds": args.rounds,
        "runs_per_round": args.runs,
        "native": {"runtime": "ai_edge_litert Interpreter.invoke (XNNPACK)", **n},
        "web": {
            "runtime": "LiteRT.js @litertjs/core "
            + lock["packages"]["node_modules/@litertjs/core"]["version"]
            + " WASM (single-threaded, XNNPACK), CompiledModel.run",
            "browser": chromium_version(),
            "cross_origin_isolated": isolated,
            **w,
        },
        "web_end_to_end": {
            "what": f"{e2e['width']}x{e2e['height']} gray frame -> mask at frame size in the page",
            **stats(e2e["times"]),
        },
        "ratio_web_over_native_p50": ratio,
        "ratio_web_over_native_min": w["ms_min"] / n["ms_min"],
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio <= GOAL_RATIO,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "cpu": cpu_info()},
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "web_vs_native.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    print(
        f"native LiteRT invoke p50 {n['ms_p50']:.3f} ms | LiteRT.js WASM p50 {w['ms_p50']:.3f} ms"
        f" | ratio {ratio:.2f}x ({verdict} the {GOAL_RATIO:.0f}x goal) | page end to end p50 "
        f"{result['web_end_to_end']['ms_p50']:.2f} ms; wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
