"""docs/build_results.py, the ``recipes`` section: Dice per MAC, every candidate recipe with its
seeds, cost and paired differences (issue 17; ``benchmarks/dice_per_mac.py``)."""

from __future__ import annotations

from typing import Any

from results_artifacts import PY, as_dict, dig, fmt, kib, read_json, table, text

RECIPES_JSON = "benchmarks/results/dice_per_mac.json"
RECIPES_COMMAND = f"{PY} benchmarks/dice_per_mac.py"
ROUND3_JSON = "benchmarks/results/dice_per_mac_round3.json"
ROUND3_COMMAND = f"{PY} benchmarks/dice_per_mac.py --set round3"
SHIPPED_PARITY = "android_demo/app/src/main/assets/parity/report.json"


def _dice(stat: Any) -> str:
    """``mean (sd s, n seeds) [frame CI]`` of a candidate's Dice, ``n/a`` when absent."""
    if not isinstance(stat, dict):
        return "n/a"
    seeds = len(stat.get("per_seed") or [])
    sd = stat.get("sd")
    spread = f"sd {fmt(sd)}, " if sd is not None else ""
    return (
        f"{fmt(stat.get('mean'))} ({spread}{seeds} seed{'s' if seeds != 1 else ''}) "
        f"[{fmt(dig(stat, 'ci', 'low'))}, {fmt(dig(stat, 'ci', 'high'))}]"
    )


def _diff(stat: Any) -> str:
    if not isinstance(stat, dict):
        return "-"
    seeds = ",".join(str(s) for s in stat.get("seeds", []))
    both = stat.get("seeds_and_frames")
    wider = (
        f"; seeds resampled too [{fmt(both.get('low'), signed=True)}, "
        f"{fmt(both.get('high'), signed=True)}]"
        if isinstance(both, dict)
        else ""
    )
    return (
        f"{fmt(stat.get('mean'), signed=True)} [{fmt(stat.get('low'), signed=True)}, "
        f"{fmt(stat.get('high'), signed=True)}] (seeds {seeds}{wider})"
    )


def _flags(row: dict) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in as_dict(row.get("overrides")).items())
    return f"`--preset {row.get('preset')}`" + (f" + {extra}" if extra else "")


def _per_seed(stat: Any) -> str:
    values = stat.get("per_seed") if isinstance(stat, dict) else None
    return ", ".join(fmt(v) for v in values) if values else "n/a"


def _vs_preset(name: str, row: dict, cands: dict, ref: str) -> str:
    """The frame-paired difference from the preset a variant changes (``-`` for a preset)."""
    preset = row.get("preset")
    if preset in (name, ref) or preset not in cands:
        return "-"
    return f"vs {preset}: " + _diff(dig(row, "classes", "nerve", f"float_diff_vs_{preset}"))


def _check(value: Any) -> str:
    return {True: "yes", False: "**no**", None: "not measured"}.get(value, text(value))


def render_recipes() -> list[str]:
    """Round 2 (the full candidate list), then round 3 when its file exists."""
    data = read_json(RECIPES_JSON)
    lines = _round(data) if data is not None else [f"not run yet: `{RECIPES_COMMAND}`", ""]
    third = read_json(ROUND3_JSON)
    if third is not None:
        machine = as_dict(third.get("machine"))
        lines += [
            "### Third round: batch 8 and the ultrasound augmentation profile",
            "",
            "```bash",
            ROUND3_COMMAND,
            "```",
            "",
            f"Artifacts: `{ROUND3_JSON}`. Another machine ({machine.get('cpu', 'n/a')}, "
            f"{machine.get('cpus')} CPUs) than the table above, so every candidate, the "
            "reference included, was trained and timed again here. The second interval of a "
            "difference also resamples each recipe's seeds (`edgeseg.stats.seed_frame_diff_ci`): "
            "it does not take a recipe's three seeds as the truth. QAT here starts from the "
            "float model's measured activation ranges (`train/qat_ranges.py`); the QAT column "
            "of the table above predates that.",
            "",
            *_round(third),
            *_default_line(third),
            *_shipped_parity(),
        ]
    return lines


def _default_line(data: dict) -> list[str]:
    """Which candidate became the default, and the validation Dice that chose it."""
    from edgeseg.train.recipes import DEFAULT_PRESET

    cands = as_dict(data.get("candidates"))
    rows = {n: r for n, r in cands.items() if dig(r, "acceptance", "all")}
    if DEFAULT_PRESET not in cands:
        return []
    val = {
        n: sum(r.get("best_val_dice") or [0.0]) / max(1, len(r.get("best_val_dice") or []))
        for n, r in rows.items()
    }
    chosen = ", ".join(f"{n} {fmt(v)}" for n, v in val.items())
    return [
        f"- default of `edgeseg train` since this round: **{DEFAULT_PRESET}**, the candidate "
        "meeting every criterion with the highest mean validation Dice (validation picks, the "
        f"test split only reports): {chosen}.",
        "",
    ]


def _shipped_parity() -> list[str]:
    """The verdict of the shipped demo model's parity report (the default recipe, seed 0)."""
    report = read_json(SHIPPED_PARITY)
    if report is None:
        return []
    checks = [c for c in dig(report, "verdict", "checks") or [] if c.get("check") == "dice_delta"]
    parts = [
        f"{c.get('reference')} {fmt(c.get('value'), signed=True)} "
        f"[{fmt(c.get('ci_low'), signed=True)}, {fmt(c.get('ci_high'), signed=True)}]"
        for c in checks
    ]
    return [
        f"- parity of the shipped model (`{SHIPPED_PARITY}`, built by "
        "`android_demo/tools/build_demo_model.sh` with the default recipe, seed 0): "
        f"**{dig(report, 'verdict', 'outcome')}** on {report.get('frames')} frames of the "
        f"training folder; int8 nerve Dice minus {'; minus '.join(parts)}.",
        "",
    ]


def _round(data: dict) -> list[str]:
    """One result file's tables: cost and Dice, per seed, flip, classes, acceptance."""
    cands = as_dict(data.get("candidates"))
    ref = data.get("reference", "wave1")
    lines = [
        f"Every candidate trained on the training folder ({data.get('data')}) with its own "
        "subject-wise train/validation split per seed (validation picks the checkpoint), then "
        f"scored on the {data.get('test_data')} frames; QAT {data.get('qat_epochs')} epochs, "
        "int8 export (uint8 I/O); also post-training int8 (PTQ) of the best float checkpoint "
        "calibrated on the run's own training frames; each int8 file run through `edge_runtime` "
        "on the same frames. "
        "Dice: mean over seeds of the per-seed test mean (sd over seeds), and a 95% bootstrap CI "
        "over frames of the seed-averaged per-frame Dice. Differences: frame-paired, "
        "seed-averaged over the seeds both have, 95% bootstrap CI. Cost: parameters and MACs "
        "from the layer shapes (`edgeseg.train.zoo.model_stats`), int8 file and one-thread "
        "invoke time of the seed-0 int8 model, all models timed in one session in interleaved "
        f"rounds ({dig(data, 'timing', 'rounds')} x {dig(data, 'timing', 'runs_per_round')} "
        "invokes each; median, with p10-p90).",
        "",
    ]
    rows = []
    for name, row in cands.items():
        nerve = as_dict(dig(row, "classes", "nerve"))
        lat = as_dict(row.get("int8_invoke"))
        rows.append(
            [
                name,
                _flags(row),
                f"{row.get('params', 0):,}",
                f"{(row.get('macs') or 0) / 1e6:.1f} M",
                f"{kib(row['int8_bytes'])} KiB" if row.get("int8_bytes") else "n/a",
                f"{fmt(lat['median_ms'], 2)} ({fmt(lat.get('p10_ms'), 2)}-"
                f"{fmt(lat.get('p90_ms'), 2)})"
                if lat
                else "n/a",
                _dice(nerve.get("float")),
                _dice(nerve.get("int8")),
                fmt(dig(nerve, "int8_minus_float", "mean"), signed=True),
                _dice(nerve.get("int8_ptq")),
                fmt(dig(nerve, "int8_ptq_minus_float", "mean"), signed=True),
                _diff(nerve.get(f"float_diff_vs_{ref}")) if name != ref else "(reference)",
                _vs_preset(name, row, cands, ref),
            ]
        )
    lines += table(
        [
            "candidate",
            "recipe",
            "params",
            "MACs/frame",
            "int8 file",
            "int8 invoke ms (p10-p90)",
            "float nerve Dice",
            "int8 (QAT) nerve Dice",
            "QAT int8 - float",
            "int8 (PTQ) nerve Dice",
            "PTQ int8 - float",
            f"float Dice - {ref} [95% CI]",
            "float Dice - its preset [95% CI]",
        ],
        rows,
    )
    lines += [
        "Per seed (test nerve Dice, float / int8) and the epoch each checkpoint came from:",
        "",
    ]
    lines += table(
        [
            "candidate",
            "seeds",
            "float per seed",
            "int8 (QAT) per seed",
            "int8 (PTQ) per seed",
            "best epoch / epochs run",
            "validation Dice per seed",
        ],
        [
            [
                name,
                ", ".join(str(s) for s in row.get("seeds", [])),
                _per_seed(dig(row, "classes", "nerve", "float")),
                _per_seed(dig(row, "classes", "nerve", "int8")),
                _per_seed(dig(row, "classes", "nerve", "int8_ptq")),
                ", ".join(
                    f"{b}/{e}"
                    for b, e in zip(
                        row.get("best_epochs", []), row.get("epochs_run", []), strict=True
                    )
                ),
                ", ".join(fmt(v) for v in row.get("best_val_dice", [])) or "n/a",
            ]
            for name, row in cands.items()
        ],
    )
    lines += _teachers(cands)
    lines += _flip(cands)
    lines += _multiclass(cands, ref)
    lines += [
        "The issue's acceptance for a new default, per candidate (parity, the last criterion, "
        "is judged by `edgeseg parity` on a winner's int8 file, not here):",
        "",
    ]
    checks = list(as_dict(dig(next(iter(cands.values()), {}), "acceptance", "checks")))
    lines += table(
        ["candidate", *checks, "all met"],
        [
            [
                name,
                *(_check(dig(row, "acceptance", "checks", c)) for c in checks),
                _check(dig(row, "acceptance", "all")),
            ]
            for name, row in cands.items()
            if name != ref
        ],
    )
    winners = [n for n, row in cands.items() if n != ref and dig(row, "acceptance", "all")]
    lines.append(
        "- in this round, no candidate met every criterion"
        if not winners
        else f"- candidates meeting every criterion measured here: {', '.join(winners)}"
    )
    lines.append("")
    return lines


def _multiclass(cands: dict, ref: str) -> list[str]:
    """Nerve and vessel Dice of the candidates trained on both classes, and the nerve change."""
    rows = []
    for name, row in cands.items():
        classes = as_dict(row.get("classes"))
        if len(classes) < 2:
            continue
        base = row.get("preset")
        nerve = as_dict(classes.get("nerve"))
        rows.append(
            [
                name,
                *(_dice(as_dict(classes.get(c)).get("float")) for c in ("nerve", "vessel")),
                *(_dice(as_dict(classes.get(c)).get("int8")) for c in ("nerve", "vessel")),
                _diff(nerve.get(f"float_diff_vs_{base}")) if base in cands else "-",
            ]
        )
    if not rows:
        return []
    return [
        "Trained on both classes (nerve=1, vessel=2): each class's Dice, and the nerve Dice "
        "difference from the same recipe trained on the nerve alone (frame-paired):",
        "",
        *table(
            [
                "candidate",
                "float nerve",
                "float vessel",
                "int8 nerve",
                "int8 vessel",
                "nerve Dice - nerve-only",
            ],
            rows,
        ),
    ]


def _flip(cands: dict) -> list[str]:
    """Test-time flip of each candidate's float model: its nerve Dice and the frame-paired gain."""
    rows = []
    for name, row in cands.items():
        flip = dig(row, "classes", "nerve", "flip_minus_float")
        if isinstance(flip, dict):
            rows.append([name, fmt(flip.get("flip_mean")), _diff(flip)])
    if not rows:
        return []
    return [
        "Test-time flip (the mean of the probabilities on the frame and on its mirror image): "
        "twice the invokes per frame, so it doubles the int8 cost above; float models, "
        "seed-averaged per frame:",
        "",
        *table(["candidate", "float nerve Dice with flip", "flip - plain [95% CI]"], rows),
    ]


def _teachers(cands: dict) -> list[str]:
    """Each distilled candidate's teachers and their ensemble's test Dice."""
    lines = []
    for name, row in cands.items():
        ens = as_dict(row.get("teacher_ensemble"))
        if not ens:
            continue
        dice = as_dict(ens.get("nerve_dice"))
        lines.append(
            f"- {name} distils from {len(ens.get('runs', []))} runs "
            f"({', '.join(ens.get('runs', []))}); their ensemble (mean probability) scores "
            f"nerve Dice {fmt(dice.get('mean'))} [{fmt(dice.get('low'))}, {fmt(dice.get('high'))}] "
            "on the test split."
        )
    return [*lines, ""] if lines else []
