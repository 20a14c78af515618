"""``analysis.md``: the error analysis as Markdown tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from edgeseg.metrics import DEFAULT_POLICY

CHARACTERISTICS = ("noise", "rms_contrast", "nerve_contrast", "brightness")


def empty_rule(policy: str = DEFAULT_POLICY) -> str:
    """The reports' words for an empty-mask policy (``empty/empty = 1`` for the default)."""
    return "empty/empty = 1" if policy == DEFAULT_POLICY else f"empty-mask policy {policy}"


def fmt(v: float | None, digits: int = 3) -> str:
    if v is None or v != v:
        return "n/a"
    return f"{v:.{digits}f}"


def _rate_table(title_col: str, items: Sequence[dict], label: Callable[[dict], str]) -> str:
    lines = [
        f"| {title_col} | frames | Dice | FN rate (missed) | FP rate (empty) | HD95 px | BF |",
        "|---|---|---|---|---|---|---|",
    ]
    for it in items:
        lines.append(
            f"| {label(it)} | {it['frames']} | {fmt(it['dice'])} | "
            f"{fmt(it['fn_rate'])} ({it['fn_frames']}) | {fmt(it['fp_rate'])} ({it['fp_frames']}) "
            f"| {fmt(it['hd95_median'], 1)} | {fmt(it['bf'])} |"
        )
    return "\n".join(lines)


def _range(it: dict) -> str:
    if it["range"] is None:
        return "n/a"
    return f"{it['bin']} [{it['range'][0]:.3g}, {it['range'][1]:.3g}]"


def render_markdown(report: dict) -> str:
    o = report["overall"]
    parts = [
        f"# Error analysis: {report['run_dir']}",
        "",
        f"- data: {report['data']} ({report['frames']} frames), class `{report['class']}`, "
        f"model `{report['model']}`",
        f"- mean Dice {fmt(o['dice'], 4)}; missed nerves (FN frames) {o['fn_frames']} "
        f"(rate {fmt(o['fn_rate'])}); nerves on empty frames (FP frames) {o['fp_frames']} "
        f"(rate {fmt(o['fp_rate'])}); boundary on detected frames: median HD95 "
        f"{fmt(o['hd95_median'], 1)} px, BF@{report['tolerance']:g}px {fmt(o['bf'])}",
        *([f"- data credit: {report['credit']}"] if report.get("credit") else []),
        *(
            [f"- empty-mask policy: {report['empty_policy']}"]
            if report.get("empty_policy", DEFAULT_POLICY) != DEFAULT_POLICY
            else []
        ),
        "",
        "## By image characteristic (tertiles)",
        "",
    ]
    for key in CHARACTERISTICS:
        parts += [f"### {key}", "", _rate_table("tertile", report["breakdown"][key], _range), ""]
    parts += [
        "### nerve area (share of frame)",
        "",
        _rate_table("area", report["breakdown"]["area"], _range),
        "",
        "## By subject (worst first, up to 20)",
        "",
        _rate_table("subject", report["breakdown"]["subject"][:20], lambda it: it["subject"]),
        "",
        "## Galleries",
        "",
        "Green: ground truth; red: prediction.",
        "",
        "![worst frames](gallery_worst.png)",
        "",
        "![best frames](gallery_best.png)",
        "",
    ]
    if "comparison" in report:
        c = report["comparison"]
        parts += [
            f"## Paired comparison: {report['compare_to']} minus this run",
            "",
            "| metric | mean diff [95% CI] | Wilcoxon p (Holm) | t-test p (Holm) |",
            "|---|---|---|---|",
        ]
        for m in ("dice", "iou", "bf"):
            d, w, t = c[m]["diff"], c[m]["wilcoxon"], c[m]["ttest"]
            parts.append(
                f"| {m} | {fmt(d['mean_diff'], 4)} [{fmt(d['ci_low'], 4)}, {fmt(d['ci_high'], 4)}] "
                f"| {fmt(w['pvalue'], 4)} ({fmt(w['pvalue_holm'], 4)}) "
                f"| {fmt(t['pvalue'], 4)} ({fmt(t['pvalue_holm'], 4)}) |"
            )
        parts += [
            "",
            f"frames better / worse / tied (Dice): {c['frames_better']} / {c['frames_worse']} / "
            f"{c['frames_tied']}; outcome changes: {c['outcome_changes'] or 'none'}",
            "",
        ]
    return "\n".join(parts)
