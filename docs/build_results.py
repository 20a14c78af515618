"""Build docs/results.md from the artifacts of the commands listed in STEPS; nothing is typed in.

Usage (from the repository root or anywhere else; commands always run in the repository root):

    python docs/build_results.py                      # render docs/results.md from what exists
    python docs/build_results.py --run                # run the steps whose artifacts are missing
    python docs/build_results.py --run --only qat,parity [--force]

Render-only mode reads JSON/CSV/Markdown artifacts and writes docs/results.md; a section whose
artifacts are missing says "not run yet: <command>". The output is deterministic: no timestamps,
no machine probing (the machine is the one the benchmark JSONs recorded), fixed float formats
(4 decimals for metrics), sorted keys wherever a dict drives the rows.

``--run`` runs a step's commands when one of its artifacts is missing, when a step it needs was
rerun in the same invocation, when the step reports its artifacts as stale (e.g. a benchmark JSON
written for another run), or always with ``--force``. Output is streamed; a command that fails
stops its step (``edgeseg parity`` exiting 1 means "verdict failed, report written": it goes on).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from results_artifacts import (
    CREDIT,
    OUTPUT,
    PARITY_JSON,
    ROOT,
    RUNTIME_JSON,
    RUNTIME_LABELS,
    THROUGHPUT_JSON,
    VERDICT_EXITS,
    Check,
    check_agreement,
    check_dice,
    check_int8_delta,
    check_size,
    check_throughput,
    dig,
    path,
    read_json,
    runtime_checks,
    table,
    text,
)
from results_evaluation import runtime_stale
from results_steps import STEPS, Step
from results_training import verdict_word


def missing(step: Step) -> list[str]:
    return [a for a in step.artifacts if not path(a).is_file()]


# ----------------------------------------------------------------------------- rendering


def machine_lines() -> list[str]:
    """The host recorded in the benchmark JSONs (``host`` dict if present, else flat keys)."""
    hosts: dict[str, dict[str, str]] = {}
    for rel in (THROUGHPUT_JSON, RUNTIME_JSON):
        data = read_json(rel)
        if not isinstance(data, dict):
            continue
        host = data.get("host")
        if isinstance(host, dict):
            info = {str(k): text(v) for k, v in host.items() if not isinstance(v, (dict, list))}
        else:
            info = {k: text(data[k]) for k in ("cpus", "machine", "python") if k in data}
        if "tensorflow" in data and "tensorflow" not in info:
            info["tensorflow"] = text(data["tensorflow"])
        if info:
            hosts[rel] = info
    if not hosts:
        return ["Machine: not recorded yet (run the benchmarks: `--run --only throughput`).", ""]
    keys = sorted({k for info in hosts.values() for k in info})
    rows = [[f"`{rel}`", *(info.get(k, "n/a") for k in keys)] for rel, info in hosts.items()]
    return [
        "Machine, as recorded by the benchmark JSONs (the training, evaluation and parity "
        "artifacts record no host):",
        "",
        *table(["recorded in", *keys], rows),
    ]


def acceptance_lines() -> list[str]:
    checks = [
        ("train", check_dice()),
        ("throughput", check_throughput()),
        ("qat", check_size()),
        ("qat", check_int8_delta()),
        ("qat", check_agreement()),
        *(("runtime_bench", c) for c in runtime_checks()),
    ]
    stale = " (stale artifact)" if runtime_stale() else ""
    steps = {s.id: s for s in STEPS}

    def status(sid: str, c: Check) -> str:
        if len(missing(steps[sid])) == len(steps[sid].artifacts):
            return "not run yet"
        return c.status + (stale if sid == "runtime_bench" else "")

    rows = [
        [RUNTIME_LABELS.get(c.name, c.name), c.shown(), c.goal(), status(sid, c), sid]
        for sid, c in checks
    ]
    parity = read_json(PARITY_JSON)
    passed = dig(parity, "verdict", "passed")
    rows.append(
        [
            "`edgeseg parity` verdict (its own tolerances)",
            "n/a" if passed is None else verdict_word(dig(parity, "verdict")),
            "PASS",
            "n/a" if passed is None else ("met" if passed else "NOT met"),
            "parity",
        ]
    )
    return table(["criterion", "value", "goal", "status", "section"], rows)


def render_step(number: int, step: Step) -> list[str]:
    lines = [f"## {number}. {step.title} (`{step.id}`)", "", "```bash", *step.commands, "```", ""]
    absent = missing(step)
    if len(absent) == len(step.artifacts):
        lines += [f"- not run yet: `{c}`" for c in step.commands]
        lines.append("")
    else:
        lines.append("Artifacts: " + ", ".join(f"`{a}`" for a in step.artifacts if a not in absent))
        lines.append("")
        unreadable = [
            a
            for a in step.artifacts
            if a not in absent and a.endswith(".json") and read_json(a) is None
        ]
        if unreadable:
            lines += ["Unreadable (not JSON): " + ", ".join(f"`{a}`" for a in unreadable), ""]
        if absent:
            lines += [
                "Missing: " + ", ".join(f"`{a}`" for a in absent) + f" (not run yet: "
                f"`python docs/build_results.py --run --only {step.id}`); their cells read n/a.",
                "",
            ]
        try:
            lines += step.render()
        except Exception as exc:  # an odd artifact must not take the whole page down
            print(f"build_results: {step.id}: {type(exc).__name__}: {exc}", file=sys.stderr)
            lines += [f"could not render from the artifacts ({type(exc).__name__}: {exc})"]
    if lines[-1] != "":
        lines.append("")
    if step.real_data:
        lines += [f"Data: {CREDIT}." + (f" {step.extra_credit}." if step.extra_credit else ""), ""]
    return lines


def render() -> str:
    lines = [
        "# edgeseg results",
        "",
        "Generated by `python docs/build_results.py` from the artifacts named in each section; "
        "do not edit by hand. Every number sits under the command that regenerates it "
        "(commands run from the repository root). `python docs/build_results.py --run` runs the "
        "steps whose artifacts are missing, `--run --only ID[,ID]` selected steps, `--force` "
        "reruns them even when their artifacts exist. Artifacts under `runs/` are not "
        "committed (the folder is git-ignored; the commands rebuild them); those under "
        "`benchmarks/results/` and `docs/img/` are.",
        "",
        f"Real-data results use the {CREDIT}. Benchmarks (throughput, runtime) use synthetic "
        "frames.",
        "",
        *machine_lines(),
        "## Acceptance at a glance",
        "",
        *acceptance_lines(),
        "Steps: "
        + ", ".join(
            f"{i}. `{s.id}`" + (" (not run yet)" if len(missing(s)) == len(s.artifacts) else "")
            for i, s in enumerate(STEPS, 1)
        ),
        "",
    ]
    for number, step in enumerate(STEPS, 1):
        lines += render_step(number, step)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- running


def run_command(command: str) -> bool:
    """Run one command in the repository root, output streamed; True if the step may go on."""
    print(f"\n$ {command}", flush=True)
    code = subprocess.run(command, shell=True, cwd=ROOT).returncode
    if code == 0:
        return True
    for prefix, verdict_codes in VERDICT_EXITS.items():
        if command.startswith(prefix) and code in verdict_codes:
            print("build_results: verdict not PASS (report written); going on", flush=True)
            return True
    print(f"build_results: exit {code}: {command}", file=sys.stderr, flush=True)
    return False


def run_steps(only: set[str] | None, force: bool) -> int:
    rerun: set[str] = set()
    done: set[str] = set()
    failed: list[str] = []
    for step in STEPS:
        if only is not None and step.id not in only:
            continue
        absent = missing(step)
        upstream = [n for n in step.needs if n in rerun]
        stale = step.stale() if step.stale else None
        if force:
            reason = "--force"
        elif absent:
            reason = "missing " + ", ".join(absent)
        elif upstream:
            reason = "rerun after " + ", ".join(upstream)
        elif stale:
            reason = stale
        else:
            print(f"[{step.id}] artifacts present; skipped (use --force to rerun)", flush=True)
            continue
        print(f"\n[{step.id}] {step.title}: {reason}", flush=True)
        rerun.add(step.id)
        for command in step.commands:
            if command in done:
                print(f"\n$ {command}  (already ran in this invocation)", flush=True)
                continue
            done.add(command)
            if not run_command(command):
                failed.append(step.id)
                break
    if failed:
        print(f"build_results: failed steps: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


README = ROOT / "README.md"
README_BLOCK = ("<!-- acceptance: written by docs/build_results.py -->", "<!-- /acceptance -->")


def update_readme() -> bool:
    """Put the acceptance table between README's markers; False if it has none."""
    text = README.read_text(encoding="utf-8")
    start, end = README_BLOCK
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    block = "\n".join(acceptance_lines()).strip("\n")
    README.write_text(f"{head}{start}\n{block}\n{end}{tail}", encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run steps before rendering")
    parser.add_argument("--only", default=None, help="comma-separated step ids (with --run)")
    parser.add_argument("--force", action="store_true", help="rerun even if artifacts exist")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="the Markdown file to write")
    args = parser.parse_args(argv)
    ids = {s.id for s in STEPS}
    only = None
    if args.only:
        only = {x.strip() for x in args.only.split(",") if x.strip()}
        unknown = sorted(only - ids)
        if unknown:
            valid = ", ".join(sorted(ids))
            parser.error(f"--only: unknown step(s) {', '.join(unknown)}; valid: {valid}")
    if (args.only or args.force) and not args.run:
        parser.error("--only and --force select steps to run: add --run")
    code = run_steps(only, args.force) if args.run else 0
    args.out.write_text(render(), encoding="utf-8")
    print(f"wrote {args.out}")
    if args.out.resolve() == OUTPUT.resolve() and update_readme():
        print(f"updated the acceptance table in {README}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
