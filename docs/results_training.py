"""docs/build_results.py, part 2: the sections on training, throughput, QAT and parity."""

from __future__ import annotations

from typing import Any

from results_artifacts import (
    EVAL_JSON,
    EXPORTS,
    GOAL_DICE,
    PARITY_JSON,
    PARITY_PTQ_JSON,
    QAT_JSON,
    REFERENCE_UNET_DICE,
    THROUGHPUT_JSON,
    R,
    agreement,
    as_dict,
    as_list,
    check_agreement,
    check_dice,
    check_int8_delta,
    check_size,
    check_throughput,
    delta,
    dig,
    first_class,
    fmt,
    fmt_ci,
    fmt_p,
    kib,
    model_dice,
    model_entry,
    num,
    plain,
    read_json,
    size_ratio,
    table,
    text,
)

# ----------------------------------------------------------------------------- sections


def render_train() -> list[str]:
    ev = read_json(EVAL_JSON)
    post = dig(ev, "postprocess")
    settings = ", ".join(f"{k}={plain(v)}" for k, v in sorted(as_dict(post).items())) or "n/a"
    lines = [
        f"Model `{text(dig(ev, 'model'))}` of `{text(dig(ev, 'run_dir'))}` on "
        f"`{text(dig(ev, 'data'))}` ({text(dig(ev, 'frames'))} frames, layout "
        f"{text(dig(ev, 'layout'))}); post-processing {settings}"
        + ". Metrics per frame at the original frame size (empty/empty = 1), mean and 95% "
        "bootstrap CI over frames.",
        "",
    ]
    rows = []
    for cls in as_list(dig(ev, "classes")):
        s = dig(ev, "summary", cls)
        for metric in ("dice", "iou", "pixel_accuracy", "precision", "recall"):
            stat = dig(s, metric)
            rows.append([cls, metric, fmt(dig(stat, "mean")), ci_only(stat), text(dig(stat, "n"))])
        p = dig(s, "presence")
        detail = (
            f"{text(dig(p, 'frames'))} frames, {text(dig(p, 'empty_gt_frames'))} empty GT, "
            f"{text(dig(p, 'false_positive_frames'))} FP, "
            f"{text(dig(p, 'false_negative_frames'))} FN frames (mask-based)"
        )
        rows.append(
            [cls, "presence accuracy", fmt(dig(p, "accuracy")), detail, text(dig(p, "frames"))]
        )
    head = dig(ev, "summary", "presence_head_accuracy")
    if head is not None:
        rows.append(["(all)", "presence head accuracy", fmt(head), "threshold on the head", "-"])
    lines += table(["class", "metric", "mean", "95% CI", "n"], rows)
    check = check_dice()
    lines.append(check.line())
    dice = dig(ev, "summary", first_class(ev), "dice")
    low = num(dig(dice, "ci_low"))
    if low is not None and low < GOAL_DICE:
        lines.append(
            f"  (the criterion is on the mean; the 95% CI {ci_only(dice)} reaches below "
            f"{GOAL_DICE:.2f})"
        )
    lines.append(
        f"- reference: {REFERENCE_UNET_DICE:.2f} mean Dice of a plain 2M-parameter U-Net "
        "(figure stated by the issue, not measured here)"
    )
    state = read_json(f"{R}/state.json")
    if state is not None:
        lines.append(
            f"- training: best validation Dice {fmt(dig(state, 'best_val_dice'))} at epoch "
            f"{text(dig(state, 'best_epoch'))}, stopped after epoch {text(dig(state, 'epoch'))} "
            f"(`{R}/state.json`)"
        )
    lines += provenance_notes(ev, R)
    return lines


def ci_only(stat: Any) -> str:
    low, high = fmt(dig(stat, "ci_low")), fmt(dig(stat, "ci_high"))
    return "n/a" if low == "n/a" else f"[{low}, {high}]"


def provenance_notes(ev: Any, run_dir: str) -> list[str]:
    """Flags an evaluation.json that names another run folder than the one it lies in."""
    notes = []
    recorded = dig(ev, "run_dir")
    if recorded is not None and recorded != run_dir:
        notes.append(
            f"- note: the artifact records run_dir `{recorded}`, not `{run_dir}`: it was written "
            "for another copy of the run; rerun the commands above to tie it to this folder"
        )
    data, trained_on = dig(ev, "data"), dig(ev, "trained_on")
    inside = (
        isinstance(data, str)
        and isinstance(trained_on, str)
        and (data == trained_on or data.startswith(trained_on.rstrip("/") + "/"))
    )
    if dig(ev, "cross_dataset") is True and inside:
        notes.append(
            f"- note: the artifact says cross_dataset=true although `{data}` lies inside "
            f"`{trained_on}` (the training folder); current `edgeseg evaluate` would say false"
        )
    return notes


def render_throughput() -> list[str]:
    data = read_json(THROUGHPUT_JSON)
    rows = [
        ["images/s", fmt(dig(data, "images_per_second"), 1)],
        ["goal images/s", text(dig(data, "goal_images_per_second"))],
        ["model", text(dig(data, "model"))],
        ["parameters", thousands(dig(data, "params"))],
        ["input", text(dig(data, "input"))],
        ["batch size", text(dig(data, "batch_size"))],
        ["augmentation", text(dig(data, "augment"))],
        ["frames x timed epochs", f"{text(dig(data, 'frames'))} x {text(dig(data, 'epochs'))}"],
        ["timed seconds", fmt(dig(data, "seconds"), 2)],
        ["CPUs", text(dig(data, "cpus"))],
    ]
    return [
        "Default model through the real tf.data pipeline (augmentation on), on synthetic frames "
        "the benchmark generates itself, after one warm-up epoch.",
        "",
        *table(["quantity", "value"], rows),
        check_throughput().line(),
    ]


def thousands(value: Any) -> str:
    v = num(value)
    return "n/a" if v is None else f"{int(v):,}"


def render_qat() -> list[str]:
    exports = {name: read_json(rel) for name, rel in EXPORTS.items()}
    rep, ptq = read_json(PARITY_JSON), read_json(PARITY_PTQ_JSON)
    qat = read_json(QAT_JSON)
    lines = []
    if qat is not None:
        lines += [
            f"QAT fine-tuning (`{QAT_JSON}`): {text(dig(qat, 'epochs'))} epochs at lr "
            f"{plain(dig(qat, 'learning_rate'))} from the `{text(dig(qat, 'source'))}` model; "
            f"validation Dice float {fmt(dig(qat, 'float_val_dice'))} -> QAT "
            f"{fmt(dig(qat, 'qat_val_dice'))} (best epoch {text(dig(qat, 'best_epoch'))}).",
            "",
        ]
    lines += ["#### (a) Model files", ""]
    rows = []
    for name, summary in exports.items():
        rows.append(
            [
                name,
                f"`{text(dig(summary, 'path'))}`",
                text(dig(summary, "source")),
                thousands(dig(summary, "bytes")),
                kib(dig(summary, "bytes")),
                fmt(size_ratio(name), 3) if name != "float32" else "1.000",
                text(dig(summary, "calibration")),
            ]
        )
    lines += table(
        ["variant", "file", "from model", "bytes", "KiB", "float32 / this", "calibration"], rows
    )
    lines.append(check_size().line())
    own = num(dig(exports["int8 QAT"], "size_ratio"))
    if own is not None and dig(exports["int8 QAT"], "float32_estimated") is True:
        lines.append(
            f"  (the export summary's own size_ratio {own:.3f} divides by an estimated float32 "
            f"size of the QAT graph, {thousands(dig(exports['int8 QAT'], 'float32_bytes'))} bytes; "
            "the ratio above uses the measured float32 file)"
        )
    for name, summary in exports.items():
        for warning in as_list(dig(summary, "warnings")):
            lines.append(f"- export warning ({name}): {warning}")
    lines += ["", "#### (b) Accuracy on the test split vs ground truth", ""]
    lines += qat_accuracy_table(rep, ptq)
    lines += [check_int8_delta().line(), check_agreement().line()]
    tol = dig(rep, "tolerances")
    if tol is not None:
        lines.append(
            f"- note: `edgeseg parity` ran with its own tolerances (min_dice_delta "
            f"{plain(dig(tol, 'min_dice_delta'))}, min_agreement {plain(dig(tol, 'min_agreement'))}"
            "), looser than the issue's criteria above; its verdict is in the parity section"
        )
    float_a = dig(model_dice(rep, "float (original)"), "mean")
    float_b = dig(model_dice(ptq, "float (original)"), "mean")
    if num(float_a) is not None and num(float_b) is not None and float_a != float_b:
        lines.append(
            f"- note: the float model scores {fmt(float_a)} in `{PARITY_JSON}` but "
            f"{fmt(float_b)} in `{PARITY_PTQ_JSON}`: the two reports did not see the same model"
        )
    lines += ["", "#### (c) Operators", ""]
    ops = sorted(
        {op for s in exports.values() for op in as_dict(dig(s, "op_histogram"))},
        key=lambda op: (-max(num(dig(exports[n], "op_histogram", op)) or 0 for n in exports), op),
    )
    rows = [[op, *(text(dig(s, "op_histogram", op) or 0) for s in exports.values())] for op in ops]
    lines += table(["operator", *exports], rows)
    for name, summary in exports.items():
        float_ops = dig(summary, "float_ops")
        if name != "float32" and isinstance(float_ops, list):
            lines.append(
                f"- float compute ops left in {name}: {', '.join(map(str, float_ops)) or 'none'}"
            )
    return lines


def qat_accuracy_table(rep: Any, ptq: Any) -> list[str]:
    cls = first_class(rep)
    float_dice = dig(model_dice(rep, "float (original)"), "mean")
    entries = [
        ("float (original)", rep, "float (original)"),
        ("QAT Keras", rep, "QAT Keras"),
        ("int8 QAT TFLite", rep, dig(rep, "candidate")),
        ("int8 PTQ TFLite", ptq, dig(ptq, "candidate")),
    ]
    rows = []
    for label, report, name in entries:
        acc = dig(model_entry(report, name), "accuracy", cls)
        is_int8 = label.startswith("int8")
        rows.append(
            [
                label,
                fmt_ci(dig(acc, "dice")),
                "-"
                if label.startswith("float")
                else fmt(delta(dig(acc, "dice", "mean"), float_dice), signed=True),
                fmt(dig(acc, "iou", "mean")),
                fmt(dig(acc, "precision", "mean")),
                fmt(dig(acc, "recall", "mean")),
                qat_agreement(report) if is_int8 else "-",
                fmt(dig(agreement(report, "float (original)"), "mean")) if is_int8 else "-",
            ]
        )
    header = [
        "model",
        f"{cls} Dice [95% CI]",
        "Dice - float",
        "IoU",
        "precision",
        "recall",
        "agreement with QAT Keras",
        "agreement with float",
    ]
    return [
        f"{text(dig(rep, 'frames'))} test frames; agreement = mean per-frame Dice between the "
        "int8 mask and the other model's mask. Float, QAT Keras and int8 QAT from "
        f"`{PARITY_JSON}`; int8 PTQ from `{PARITY_PTQ_JSON}`.",
        "",
        *table(header, rows),
    ]


def qat_agreement(report: Any) -> str:
    if dig(report, "qat") is False:
        return "not compared (--no-qat)"
    return fmt(dig(agreement(report, "QAT Keras"), "mean"))


def render_parity() -> list[str]:
    lines = []
    for title, rel in (("int8 QAT model", PARITY_JSON), ("int8 PTQ model", PARITY_PTQ_JSON)):
        rep = read_json(rel)
        lines += [f"#### {title}: `{rel}`", ""]
        lines += parity_report(rep) if rep is not None else [f"not run yet: `{rel}` is missing", ""]
    return lines


def verdict_word(verdict: Any) -> str:
    """PASS / FAIL / INCONCLUSIVE (reports before the three outcomes: PASSED / FAILED)."""
    if dig(verdict, "outcome"):
        return text(dig(verdict, "outcome"))
    return "PASSED" if dig(verdict, "passed") is True else "FAILED"


def parity_report(rep: Any) -> list[str]:
    tol = as_dict(dig(rep, "tolerances"))
    verdict = dig(rep, "verdict")
    lines = [
        f"`{text(dig(rep, 'tflite'))}` on `{text(dig(rep, 'data'))}` "
        f"({text(dig(rep, 'frames'))} frames), QAT reference: {text(dig(rep, 'qat'))}; "
        "tolerances: " + ", ".join(f"{k}={plain(v)}" for k, v in sorted(tol.items())),
        "",
        f"**Verdict: {verdict_word(verdict)}**",
        "",
    ]
    reasons = [f"- reason: {r}" for r in as_list(dig(verdict, "reasons"))]
    lines += [*reasons, ""] if reasons else []  # a list ends before the table starts
    rows = [
        [
            text(dig(c, "check")),
            text(dig(c, "reference")),
            text(dig(c, "class")) if dig(c, "class") is not None else "-",
            fmt(dig(c, "value"), signed=dig(c, "check") == "dice_delta")
            + (
                f" [{fmt(dig(c, 'ci_low'))}, {fmt(dig(c, 'ci_high'))}] {text(dig(c, 'unit'))}-level"
                if dig(c, "unit") is not None
                else ""
            ),
            f"{text(dig(c, 'op'))} {plain(dig(c, 'limit'))}",
            text(dig(c, "outcome") or ("pass" if dig(c, "passed") is True else "FAIL")),
            text(dig(c, "message")),
        ]
        for c in as_list(dig(verdict, "checks"))
    ]
    lines += table(["check", "vs", "class", "value", "limit", "result", "message"], rows)
    rows = []
    for a in as_list(dig(rep, "agreement")):
        for cls, m in sorted(as_dict(dig(a, "mask_dice")).items()):
            flips = dig(a, "presence_flips")
            rows.append(
                [
                    f"{text(dig(a, 'candidate'))} vs {text(dig(a, 'reference'))}",
                    cls,
                    fmt(dig(m, "mean")),
                    fmt(dig(m, "min")),
                    fmt(dig(m, "p05")),
                    text(dig(m, "frames_below_0.9")),
                    fmt(dig(a, "mean_abs_dp")),
                    f"{text(dig(flips, 'count'))} ({text(dig(flips, 'decision'))})",
                ]
            )
    lines += table(
        [
            "masks",
            "class",
            "mean Dice",
            "min",
            "5th pct",
            "frames < 0.9",
            "mean abs prob diff",
            "presence flips",
        ],
        rows,
    )
    rows = [
        [
            f"{text(dig(t, 'candidate'))} - {text(dig(t, 'reference'))}",
            text(dig(t, "class")),
            f"{fmt(dig(t, 'diff', 'mean_diff'), signed=True)} "
            f"[{fmt(dig(t, 'diff', 'ci_low'), signed=True)}, "
            f"{fmt(dig(t, 'diff', 'ci_high'), signed=True)}]"
            + (f" {text(dig(t, 'diff', 'unit'))}-level" if dig(t, "diff", "unit") else ""),
            f"{fmt_p(dig(t, 'wilcoxon', 'pvalue'))} "
            f"({text(dig(t, 'wilcoxon', 'nonzero'))} nonzero)",
            fmt_p(dig(t, "ttest", "pvalue")),
            text(dig(t, "diff", "n")),
        ]
        for t in as_list(dig(rep, "paired_tests"))
    ]
    lines += ["Paired tests on per-frame Dice (two-sided):", ""]
    lines += table(
        ["difference", "class", "mean diff [95% bootstrap CI]", "Wilcoxon p", "t-test p", "n"],
        rows,
    )
    lat = dig(rep, "latency")
    size = dig(lat, "frame_size")
    size_text = f"{size[1]}x{size[0]}" if isinstance(size, list) and len(size) == 2 else "n/a"
    runtime = dig(rep, "runtime")
    lines += [
        f"Latency on one frame (`{text(dig(lat, 'frame'))}`, {size_text}), backend "
        f"{text(dig(runtime, 'backend'))} {text(dig(runtime, 'backend_version'))}, delegate "
        f"{text(dig(runtime, 'delegate'))}, threads "
        f"{text(dig(lat, 'threads')) if dig(lat, 'threads') is not None else 'runtime default'}:",
        "",
    ]
    rows = [
        [
            text(dig(r, "model")),
            text(dig(r, "what")),
            fmt(dig(r, "ms_mean"), 2),
            fmt(dig(r, "ms_p50"), 2),
            fmt(dig(r, "ms_p90"), 2),
            text(dig(r, "runs")),
        ]
        for r in as_list(dig(lat, "rows"))
    ]
    lines += table(["model", "what", "mean ms", "p50 ms", "p90 ms", "runs"], rows)
    ratios = as_dict(dig(lat, "ratios"))
    lines += [f"- {k}: {fmt(v, 2)}x" for k, v in sorted(ratios.items())]
    return [*lines, ""]
