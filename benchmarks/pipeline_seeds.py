"""Issue 11's acceptance: README command 1 in fresh clones, one seed each, each run twice.

Usage: python benchmarks/pipeline_seeds.py [--seeds 1,2,3,4,5] [--repo .]
       [--work /tmp/edgeseg-clones] [--venv-from K]

``--venv-from K`` reuses clone K's venv for the other seeds (the JSON says so).

For each seed K: ``git clone REPO WORK/clone-K``, then in that clone, verbatim,
``python3 -m venv .venv && .venv/bin/pip install -e ".[train]" && .venv/bin/edgeseg pipeline
--seed K``, then ``.venv/bin/edgeseg pipeline --seed K --out edgeseg-out-2`` again, and
records each run's exit code, verdict, Dice numbers and whether the second run's parity numbers
are identical. Writes benchmarks/results/pipeline_seeds.json and prints one line per seed.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

README_COMMAND = (
    'python3 -m venv .venv && .venv/bin/pip install -e ".[train]" && .venv/bin/edgeseg pipeline'
)
# Numbers of a parity report that must repeat exactly under the same seed (latency excluded).
CHECK_KEYS = (
    "check",
    "reference",
    "role",
    "value",
    "ci_low",
    "ci_high",
    "unit",
    "limit",
    "outcome",
)


def numbers(out: Path) -> dict[str, Any]:
    """The reproducible numbers of one pipeline output: Dice per model, verdict, per frame."""
    summary = json.loads((out / "pipeline.json").read_text())
    report = json.loads((out / "parity" / "report.json").read_text())
    dice = {
        m["name"]: m["accuracy"][report["classes"][0]]["dice"]["mean"] for m in report["models"]
    }
    verdict = report.get("verdict", {})
    return {
        "verdict": summary["verdict"],
        "frames": report["frames"],
        "dice": dice,
        "postprocess": summary.get("postprocess"),
        "checks": [{k: c.get(k) for k in CHECK_KEYS} for c in verdict.get("checks", [])],
        "per_image": [
            {k: v for k, v in row.items() if k.endswith("/dice") or k.endswith("/presence")}
            for row in report["per_image"]
        ],
    }


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(command: str, cwd: Path) -> tuple[int, float, str]:
    start = time.time()
    proc = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("done in")]
    return (
        proc.returncode,
        round(time.time() - start, 1),
        (lines[-1] if lines else proc.stderr[-500:]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--work", type=Path, default=Path("/tmp/edgeseg-clones"))
    parser.add_argument("--venv-from", type=int, default=None)
    parser.add_argument("--rerun", default=None, help="seeds to run twice (default: all)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pipeline_seeds.json"))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    commit = subprocess.run(
        ["git", "-C", str(args.repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    rerun = [int(s) for s in args.rerun.split(",") if s] if args.rerun else seeds
    rows: dict[int, dict[str, Any]] = {}
    result: dict[str, Any] = {
        "commit": commit,
        "machine": {"cpu": cpu_name(), "python": platform.python_version()},
        "readme_command": README_COMMAND,
        "venv_reused_from": args.venv_from,
        "runs": [],
    }

    def save() -> None:
        result["runs"] = [rows[k] for k in sorted(rows)]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")

    for seed in seeds:  # first runs, one fresh clone each
        clone = args.work / f"clone-{seed}"
        subprocess.run(["git", "clone", "-q", str(args.repo), str(clone)], check=True)
        if args.venv_from is not None and seed != args.venv_from:
            venv = args.work / f"clone-{args.venv_from}" / ".venv"
            command = f"{venv}/bin/edgeseg pipeline --seed {seed}"
        else:
            command = f"{README_COMMAND} --seed {seed}"
        code, seconds, line = run(command, clone)
        if not (clone / "edgeseg-out" / "pipeline.json").is_file():
            rows[seed] = {"seed": seed, "command": command, "exit_code": code, "error": line}
            save()
            print(f"seed {seed}: exit {code}, no output: {line}", flush=True)
            continue
        first = numbers(clone / "edgeseg-out")
        rows[seed] = {
            "seed": seed,
            "command": command,
            "exit_code": code,
            "seconds": seconds,
            "closing_line": line,
            **{k: first[k] for k in ("verdict", "frames", "dice", "postprocess", "checks")},
        }
        save()
        print(
            f"seed {seed}: exit {code}, {first['verdict']['outcome']}, "
            + ", ".join(f"{k} {v:.4f}" for k, v in first["dice"].items())
            + f" ({seconds:.0f}s)",
            flush=True,
        )
    for seed in [
        s for s in rerun if s in rows and "verdict" in rows[s]
    ]:  # the same seed again, same machine
        clone = args.work / f"clone-{seed}"
        edgeseg = rows[seed]["command"].split(" pipeline")[0].split("&& ")[-1]
        code2, seconds2, _ = run(f"{edgeseg} pipeline --seed {seed} --out edgeseg-out-2", clone)
        second = clone / "edgeseg-out-2"
        same = (second / "pipeline.json").is_file() and numbers(clone / "edgeseg-out") == numbers(
            second
        )
        rows[seed].update(
            {"rerun_exit_code": code2, "rerun_seconds": seconds2, "rerun_identical": same}
        )
        save()
        print(f"seed {seed} again: exit {code2}, numbers identical: {same}", flush=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
