"""``comparison.md``, ``comparison.html`` and ``per_frame.csv`` of ``edgeseg compare``.

The tables (metrics per class with bootstrap CIs, paired tests against the reference, cost)
come from :func:`result_tables`; the HTML page is self-contained (inline CSS and SVG).
"""

from __future__ import annotations

import csv
import html
import io

from edgeseg.evaluation.analysis_report import empty_rule
from edgeseg.metrics import DEFAULT_POLICY

TABLE_METRICS = ("dice", "iou", "precision", "recall", "pixel_accuracy")
TEST_METRICS = ("dice", "iou")


def _fmt_ci(s: dict) -> str:
    if s["mean"] != s["mean"]:  # NaN
        return "n/a"
    return f"{s['mean']:.4f} [{s['ci_low']:.4f}, {s['ci_high']:.4f}]"


def _fmt_p(p: float | None) -> str:
    if p is None or p != p:
        return "n/a"
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


def _fmt_macs(macs: int | None) -> str:
    if macs is None:
        return "n/a"
    return f"{macs / 1e9:.3f} G" if macs >= 1e9 else f"{macs / 1e6:.2f} M"


def result_tables(
    results: dict, timing: dict | None
) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for the report: metrics per class, tests, cost."""
    methods = results["methods"]
    ref = results["reference"]
    tables = []
    for cls in results["classes"]:
        header = ["method", "kind", *TABLE_METRICS, "FP frames", "FN frames"]
        rows = []
        for m in methods:
            s = m["summary"][cls]
            rows.append(
                [
                    m["name"],
                    m["kind"],
                    *(_fmt_ci(s[k]) for k in TABLE_METRICS),
                    str(s["presence"]["false_positive_frames"]),
                    str(s["presence"]["false_negative_frames"]),
                ]
            )
        tables.append((f"{cls}: mean [95% bootstrap CI] over test frames", header, rows))
        for metric in TEST_METRICS:
            family = results["tests"][f"{cls}/{metric}"]
            header = [
                "method",
                f"mean diff vs {ref} [95% CI]",
                "Wilcoxon p",
                "Wilcoxon p (Holm)",
                "t-test p",
                "t-test p (Holm)",
            ]
            rows = []
            for name, t in family.items():
                d = t["diff"]
                diff = (
                    "n/a"
                    if d["mean_diff"] != d["mean_diff"]
                    else (f"{d['mean_diff']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]")
                )
                rows.append(
                    [
                        name,
                        diff,
                        _fmt_p(t["wilcoxon"]["pvalue"]),
                        _fmt_p(t["wilcoxon"]["pvalue_holm"]),
                        _fmt_p(t["ttest"]["pvalue"]),
                        _fmt_p(t["ttest"]["pvalue_holm"]),
                    ]
                )
            if rows:
                title = f"{cls} {metric}: paired tests vs {ref} (Holm over {len(rows)} methods)"
                tables.append((title, header, rows))
    header = ["method", "params", "MACs/frame", "int8 latency (ms, 1 thread)", "int8 size"]
    rows = []
    for m in methods:
        lat = (timing or {}).get("latency", {}).get(m["name"])
        if m["kind"] == "baseline":
            ms, size = "n/a (classical)", "n/a"
        elif lat is None:
            ms, size = "not measured", "n/a"
        elif lat["ms"] is None:
            ms, size = f"n/a ({lat['note']})", "n/a"
        else:
            ms, size = f"{lat['ms']:.2f}", f"{lat['bytes'] / 1024:.1f} KiB"
        params = "0" if m["params"] is None else f"{m['params']:,}"
        rows.append([m["name"], params, _fmt_macs(m["macs"]), ms, size])
    tables.append(("cost (latency is measured on this machine, not repeatable)", header, rows))
    return tables


def md_table(header: list[str], rows: list[list[str]]) -> str:
    esc = [[c.replace("|", "\\|") for c in r] for r in [header, *rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(lines)


def _setup_lines(results: dict) -> list[str]:
    s = results["settings"]
    sp = results["split"]
    return [
        f"data: {results['data']} ({results['layout']} layout); test frames: "
        f"{results['test_source']}",
        f"split: {sp['train_frames']} training / {sp['val_frames']} validation / "
        f"{sp['test_frames']} test frames ({sp['train_subjects']} / {sp['val_subjects']} / "
        f"{sp['test_subjects']} subjects)",
        f"protocol: {s['size']}x{s['size']} input, {s['normalize']} normalisation, "
        f"{s['epochs']} epochs (no early stopping), batch {s['batch_size']}, lr {s['lr']}, "
        f"base filters {s['base_filters']}, depth {s['depth']}, seed {s['seed']}; best "
        "validation-Dice checkpoint; metrics at original frame size, "
        + empty_rule(results.get("empty_policy", DEFAULT_POLICY)),
        *([f"data credit: {results['credit']}"] if results.get("credit") else []),
    ]


def render_markdown(results: dict, timing: dict | None) -> str:
    parts = ["# Model comparison", "", *(f"- {line}" for line in _setup_lines(results)), ""]
    for title, header, rows in result_tables(results, timing):
        parts += [f"## {title}", "", md_table(header, rows), ""]
    parts.append(
        "Classical baselines segment the first class only and have no presence head; "
        "p-values are two-sided, differences are method minus reference."
    )
    return "\n".join(parts) + "\n"


def _svg_chart(results: dict) -> str:
    """Horizontal bars of the first class's mean Dice with 95% CI whiskers (inline SVG)."""
    cls = results["classes"][0]
    methods = results["methods"]
    width, label_w, bar_h, gap = 640, 140, 18, 8
    plot_w = width - label_w - 60
    height = len(methods) * (bar_h + gap) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(cls)} Dice per method">'
    ]
    for i, m in enumerate(methods):
        s = m["summary"][cls]["dice"]
        y = 10 + i * (bar_h + gap)
        mean = 0.0 if s["mean"] != s["mean"] else s["mean"]
        colour = "#4c78a8" if m["kind"] == "model" else "#9d9d9d"
        out.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end" '
            f'font-size="13">{html.escape(m["name"])}</text>'
        )
        out.append(
            f'<rect x="{label_w}" y="{y}" width="{mean * plot_w:.1f}" height="{bar_h}" '
            f'fill="{colour}"/>'
        )
        if s["ci_low"] == s["ci_low"]:
            x0, x1 = label_w + s["ci_low"] * plot_w, label_w + s["ci_high"] * plot_w
            mid = y + bar_h / 2
            out.append(
                f'<line x1="{x0:.1f}" y1="{mid}" x2="{x1:.1f}" y2="{mid}" stroke="#222" '
                'stroke-width="2"/>'
            )
        out.append(
            f'<text x="{label_w + mean * plot_w + 6:.1f}" y="{y + bar_h - 4}" '
            f'font-size="12">{mean:.3f}</text>'
        )
    axis_y = height - 12
    out.append(
        f'<text x="{label_w}" y="{axis_y}" font-size="11">0</text>'
        f'<text x="{label_w + plot_w}" y="{axis_y}" font-size="11" text-anchor="end">1</text>'
    )
    out.append("</svg>")
    return "".join(out)


def render_html(results: dict, timing: dict | None) -> str:
    """A self-contained page: no scripts, fonts or images from elsewhere."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>edgeseg comparison</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}"
        "th{background:#f2f2f2}h2{font-size:1.1em;margin-top:1.5em}</style></head><body>",
        "<h1>Model comparison</h1><ul>",
        *(f"<li>{html.escape(line)}</li>" for line in _setup_lines(results)),
        "</ul>",
        f"<h2>{html.escape(results['classes'][0])} Dice, mean and 95% CI</h2>",
        _svg_chart(results),
    ]
    for title, header, rows in result_tables(results, timing):
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in header]
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    parts.append(
        "<p>Classical baselines segment the first class only and have no presence head; "
        "p-values are two-sided, differences are method minus reference.</p></body></html>"
    )
    return "\n".join(parts) + "\n"


def per_frame_csv(frames: list[dict], scores: dict[str, dict[str, list[float]]]) -> str:
    buffer = io.StringIO()
    columns = [f"{m}/{k}" for m, per in scores.items() for k in per]
    writer = csv.writer(buffer)
    writer.writerow(["image", "subject", *columns])
    for i, frame in enumerate(frames):
        values = [scores[m][k][i] for m, per in scores.items() for k in per]
        writer.writerow([frame["image"], frame["subject"], *values])
    return buffer.getvalue()
