"""docs/build_results.py, the ``pipeline`` section: why the embedded default is what it is, and
README command 1 in five fresh clones (issue 11)."""

from __future__ import annotations

from typing import Any

from results_artifacts import as_dict, as_list, dig, fmt, read_json, table, text

PIPELINE_DEFAULT_JSON = "benchmarks/results/pipeline_default.json"
PIPELINE_SEEDS_JSON = "benchmarks/results/pipeline_seeds.json"
# The first round, with 300 test frames of 37 subjects (kept: it is why the split changed).
PIPELINE_SEEDS_300_JSON = "benchmarks/results/pipeline_seeds_300frames.json"
PIPELINE_COMMANDS = (
    ".venv/bin/edgeseg pipeline --force",
    ".venv/bin/python benchmarks/pipeline_default.py --out-dir edgeseg-out",
    ".venv/bin/python benchmarks/pipeline_seeds.py --seeds 1,2,3,4,5 --venv-from 1",
)


def _grid_row(model: str, grid: list, min_area: int, gate: Any) -> list[str]:
    row = next((r for r in grid if r.get("min_area") == min_area and r.get("gate") == gate), {})
    return [
        model,
        str(min_area),
        "off" if gate is None else f"< {gate:g}",
        fmt(row.get("dice")),
        text(row.get("fp_frames")),
        text(row.get("fn_frames")),
    ]


def _default_lines() -> list[str]:
    data = read_json(PIPELINE_DEFAULT_JSON)
    if data is None:
        return [f"not run yet: `{PIPELINE_COMMANDS[1]}`", ""]
    models = as_dict(data.get("models"))
    areas = as_dict(data.get("nerve_area_px"))
    blobs = {m: as_list(dig(models, m, "empty_frame_blobs_px")) for m in models}
    rows = [
        _grid_row(model, as_list(dig(models, model, "grid")), min_area, gate)
        for model in models
        for min_area in (16, 64)
        for gate in (None, 0.05, 0.1, 0.4)
    ]
    small = {m: sum(1 for b in v if b <= 40) for m, v in blobs.items()}

    def cell(model: str, min_area: int, gate: Any, key: str) -> Any:
        grid = as_list(dig(models, model, "grid"))
        row = next((r for r in grid if r.get("min_area") == min_area and r.get("gate") == gate), {})
        return row.get(key)

    def fp16(model: str) -> str:
        return text(cell(model, 16, None, "fp_frames"))

    float_off = cell("float", 64, None, "dice")
    float_costs = [
        float_off - d
        for g in (0.05, 0.4)
        if (d := cell("float", 64, g, "dice")) is not None and float_off is not None
    ]
    return [
        f"Measured on the seed-0 pipeline's {text(data.get('frames'))} test frames "
        f"({text(data.get('empty_frames'))} without a nerve), 128x128, threshold 0.5 "
        "(`pipeline_default.json`; this reads the test split to explain a design choice after "
        "the fact, the pipeline itself tunes its gate on validation frames only):",
        "",
        f"- **Nerves are far above any `min_area`.** Ground-truth nerve areas: min "
        f"{text(areas.get('min'))} px, 5th percentile {fmt(areas.get('p05'), 0)} px, median "
        f"{fmt(areas.get('median'), 0)} px (the phantom draws nerve semi-axes of 0.10-0.18 of the "
        "depth, at least ~300 px at 128x128). Nothing in the anatomy needed changing.",
        "- **The stray blobs are what sat on the edge.** Blobs each model leaves on frames "
        "without a nerve (px): "
        + "; ".join(
            f"{m} {len(v)} blobs, {small[m]} of them <= 40 px, largest {max(v) if v else 0}"
            for m, v in blobs.items()
        )
        + f". At `min_area` 16 (the old default) the QAT and int8 models keep a blob on "
        f"{fp16('QAT')} and {fp16('int8')} empty frames, and blobs near 16 px are where rounding "
        "decides (issue 11's failing frame was one).",
        "- **`min_area` 64** (a fifth of the smallest nerve; 16 cells of the stem's "
        "half-resolution grid) removes every blob up to 40 px from every model alike (FP frames "
        f"{fp16('int8')} -> {text(cell('int8', 64, None, 'fp_frames'))} for int8; nerve frames "
        f"missed {text(cell('int8', 16, None, 'fn_frames'))} -> "
        f"{text(cell('int8', 64, None, 'fn_frames'))}) and needs no presence head: it is the "
        "default.",
        "- **The presence gate is tuned, not imposed.** The float checkpoint's presence head is "
        "poorly calibrated here (it scores "
        f"{text(dig(models, 'float', 'presence_nerve_below', '0.1'))} nerve frames below 0.1, "
        f"the QAT model {text(dig(models, 'QAT', 'presence_nerve_below', '0.1'))}), so a gate "
        "that helps the QAT/int8 models by a few thousandths at `min_area` 64 would cost the "
        f"float model {' to '.join(fmt(c) for c in float_costs)} Dice and turn the "
        "int8-vs-float comparison into a comparison of heads. The pipeline scores the gate on "
        "the run's validation frames (`RUN_DIR/presence_gate.json`) and switches it on only when "
        "it raises the exported model's validation Dice without lowering the float model's; "
        "ties go to the lowest threshold (a threshold of 0.4, picked for its margin on 32 "
        f"validation frames, misses {text(cell('QAT', 64, 0.4, 'fn_frames'))} test nerves; 0.1 "
        f"misses {text(cell('QAT', 64, 0.1, 'fn_frames'))}). When on, it is written to "
        "config.json and travels in the .tflite metadata to every runtime.",
        "- **600 test frames of 300 subjects** (issue 11 had 40 of 5): one frame moves a mean "
        "Dice by 0.0017, and the verdict is a subject-level bootstrap interval, so the number of "
        "independent subjects sets its width. A first round with 300 frames of 37 subjects "
        "(8 each; table at the end) passed four seeds and was INCONCLUSIVE on one: the int8 "
        "model matched its QAT reference exactly, but its difference from the float baseline "
        "had an interval reaching just past the tolerance.",
        "- These areas and blobs come from the seed-0 output of that first round (300 test "
        "frames); the test split's size does not change them.",
        "",
        *table(["model", "min_area", "gate", "test Dice", "FP frames", "FN frames"], rows),
    ]


def _seed_lines(rel: str = PIPELINE_SEEDS_JSON) -> list[str]:
    data = read_json(rel)
    if data is None:
        return [f"not run yet: `{PIPELINE_COMMANDS[2]}`", ""]
    rows = []
    for run in as_list(data.get("runs")):
        dice = as_dict(run.get("dice"))
        checks = as_list(run.get("checks"))
        main, base = (
            next(
                (c for c in checks if c.get("check") == "dice_delta" and c.get("role") == role),
                {},
            )
            for role in ("reference", "baseline")
        )
        post = as_dict(run.get("postprocess"))
        gate = f"< {post['presence_threshold']:g}" if post.get("presence_gate") else "off"
        rows.append(
            [
                text(run.get("seed")),
                text(run.get("exit_code")),
                text(dig(run, "verdict", "outcome")),
                fmt(dice.get("float (original)")),
                fmt(dice.get("QAT Keras")),
                fmt(dice.get("int8 TFLite")),
                *(
                    f"{fmt(c.get('value'), signed=True)} [{fmt(c.get('ci_low'), signed=True)}, "
                    f"{fmt(c.get('ci_high'), signed=True)}]"
                    for c in (main, base)
                ),
                gate,
                text(run.get("rerun_identical")),
            ]
        )
    reused = data.get("venv_reused_from")
    how = (
        f"seed {reused} ran README command 1 verbatim (`{text(data.get('readme_command'))} "
        f"--seed {reused}`) in its fresh clone; the other clones ran `edgeseg pipeline --seed K` "
        "with that clone's venv (same commit; the machine's 2 cores were shared, so installs "
        "were not repeated)"
        if reused is not None
        else f"each clone ran README command 1 verbatim with `--seed K` appended "
        f"(`{text(data.get('readme_command'))} --seed K`)"
    )
    return [
        f"{len(as_list(data.get('runs')))} fresh clones (`git clone`) of commit "
        f"`{str(data.get('commit'))[:7]}` on "
        f"{text(dig(data, 'machine', 'cpu'))}: {how}. Each seed then ran a second time into "
        "`edgeseg-out-2`; 'rerun identical' compares the two parity reports' Dice of every "
        "model, every check's interval, and every frame's Dice and presence score"
        + (
            "."
            if any("rerun_identical" in as_dict(r) for r in as_list(data.get("runs")))
            else " (not run here: this round stopped when the test split changed)."
        ),
        "",
        *table(
            [
                "seed",
                "exit",
                "verdict",
                "float Dice",
                "QAT Dice",
                "int8 Dice",
                "Dice(int8) - Dice(QAT) [95% subject-level CI]",
                "Dice(int8) - Dice(float) [95% subject-level CI]",
                "gate",
                "rerun identical",
            ],
            rows,
        ),
    ]


def render_pipeline() -> list[str]:
    return [
        "### Why the default is what it is",
        "",
        *_default_lines(),
        "### README command 1, five seeds",
        "",
        *_seed_lines(),
        "### First round: 300 test frames of 37 subjects",
        "",
        *_seed_lines(PIPELINE_SEEDS_300_JSON),
    ]
