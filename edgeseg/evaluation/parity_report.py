"""Write a parity result as ``report.json`` and a self-contained ``report.html``.

The HTML needs nothing but itself: inline CSS, overlays as base64 PNG data URIs, histograms as
inline SVG, no scripts and no external links, so it can be mailed or attached to a ticket.
Top to bottom: the verdict (PASS / FAIL / INCONCLUSIVE with its reasons and every check, each
with its interval and whether it is frame-level or subject-level), the run (empty-mask policy,
resampling unit), accuracy of each model vs ground truth, agreement of the candidate with each
reference, the flipped frames and why they flipped, paired tests, histograms of per-image Dice
and agreement, latency, overlays of the best and worst frames, and a footer with the dataset's
credit line. The page is rendered before anything is written; both files are written
atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeseg import __version__
from edgeseg.evaluation.html import (
    CSS,
    MODEL_COLORS,
    OverlayFrame,
    ci_cell,
    esc,
    fmt_p,
    json_ready,
    num,
    png_data_uri,
    svg_histogram,
    table,
)
from edgeseg.evaluation.live_report import no_labels_section, stability_section
from edgeseg.io import write_bytes_atomic

JSON_NAME = "report.json"
HTML_NAME = "report.html"


def outcome_of(r: Mapping[str, Any]) -> str:
    """PASS / FAIL / INCONCLUSIVE of a report (older reports: from ``passed``)."""
    v = r.get("verdict") or {}
    return str(v.get("outcome") or ("PASS" if v.get("passed") else "FAIL"))


def _verdict_section(r: Mapping[str, Any]) -> str:
    v = r.get("verdict", {})
    outcome = outcome_of(r)
    refs = [a["reference"] for a in r.get("agreement", [])]
    checks = v.get("checks", [])
    items = v.get("reasons") or [c["message"] for c in checks]
    head = "all checks passed" if outcome == "PASS" else "reasons"
    if outcome == "INCONCLUSIVE" and v.get("more_frames"):
        head += f"; about {v['more_frames']} more frames would decide"
    marks = {"PASS": "ok", "FAIL": "bad", "INCONCLUSIVE": "unk"}
    rows = [
        [
            esc(c["check"]),
            esc(c["reference"]),
            esc(c.get("class") or "all"),
            num(c["value"]),
            f"[{num(c.get('ci_low'))}, {num(c.get('ci_high'))}]",
            esc(f"{c.get('unit', 'frame')}-level {c.get('method', '')}".strip()),
            f"{esc(c['op'])} {c['limit']:g}",
            c.get("outcome") or ("PASS" if c["passed"] else "FAIL"),
        ]
        for c in checks
    ]
    level = f"{100 * float(v.get('level', 0.95)):g}% CI"
    page = table(
        ["check", "vs", "class", "value", level, "interval", "tolerance", "result"],
        rows,
        "checks",
        3,
    )
    for word, cls in marks.items():
        page = page.replace(f"<td>{word}</td>", f"<td class={cls}>{word}</td>")
    return (
        f'<section class="verdict {outcome.lower()}" id=verdict>'
        f"<div class=big>{esc(outcome)}</div>"
        f"<p>{esc(r.get('candidate', ''))} vs {esc(', '.join(refs))} on "
        f"{r.get('frames', 0)} frames ({esc(head)})</p>"
        f"<ul class=reasons>{''.join(f'<li>{esc(x)}</li>' for x in items)}</ul></section>"
        f"<h2>Checks</h2>{page}<p class=note>PASS: the interval's bound on the bad side is "
        "within the tolerance; FAIL: the whole interval is outside; INCONCLUSIVE: it straddles "
        "the tolerance (more frames would decide).</p>"
    )


def _info_section(r: Mapping[str, Any]) -> str:
    rt = r.get("runtime") or {}
    tol = r.get("tolerances", {})
    roles = r.get("roles", {})
    policy = r.get("empty_policy") or {}
    res = r.get("resampling") or {}
    items = [
        ("models", "; ".join(f"{m} ({role})" for m, role in roles.items())),
        ("run", r.get("run_dir")),
        ("tflite", r.get("tflite")),
        (
            "data",
            f"{r.get('data', '')} ({r.get('layout', '')} layout, {r.get('frames', 0)} frames)"
            if r.get("data")
            else None,
        ),
        (
            "runtime",
            f"{rt.get('backend', '')} {rt.get('backend_version', '')}, "
            f"{rt.get('delegate', '')}, input {rt.get('input_dtype', '')}"
            if rt
            else None,
        ),
        ("post-processing", ", ".join(f"{k}={v}" for k, v in r.get("postprocess", {}).items())),
        ("empty-mask policy", f"{policy['name']}: {policy['rule']}" if policy else None),
        (
            "intervals",
            f"{res.get('unit')}-level ({res.get('frames')} frames"
            + (f", {res['subjects']} subjects" if res.get("subjects") else "")
            + (f"; {res['note']}" if res.get("note") else "")
            + ")"
            if res
            else None,
        ),
        (
            "tolerances",
            f"Dice delta >= {tol.get('min_dice_delta')}, mean agreement >= "
            f"{tol.get('min_agreement')}, presence flips <= "
            f"{100 * float(tol.get('max_flip_fraction', 0)):g}% of frames, at "
            f"{100 * float(tol.get('level', 0.95)):g}% confidence"
            if tol
            else None,
        ),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items if v)
    warns = "".join(f"<div class=warn>{esc(w)}</div>" for w in r.get("warnings") or [])
    return f"<h2>Run</h2><dl class=info>{dl}</dl>{warns}"


def _accuracy_section(r: Mapping[str, Any]) -> str:
    policy = (r.get("empty_policy") or {}).get("name", "kaggle")
    header = [
        "model",
        "role",
        "class",
        f"Dice ({esc(policy)}) [95% CI]",
        "Dice, ground truth non-empty",
        "IoU",
        "precision",
        "recall",
        "presence acc. (mask)",
        "presence head acc.",
        "FP / FN frames",
    ]
    rows = []
    for m in r.get("models", []):
        head = m.get("presence_head")
        for cls, acc in m["accuracy"].items():
            pres = acc["presence"]
            ne = acc.get("dice_nonempty", {})
            rows.append(
                [
                    esc(m["name"]),
                    esc(m["role"]),
                    esc(cls),
                    ci_cell(acc["dice"]),
                    f"{num(ne.get('mean'))} <span class=ci>(n={ne.get('n', 0)})</span>",
                    num(acc["iou"]["mean"]),
                    num(acc["precision"]["mean"]),
                    num(acc["recall"]["mean"]),
                    num(pres["accuracy"]),
                    num(head["accuracy"]) if head else "–",
                    f"{pres['false_positive_frames']} / {pres['false_negative_frames']}",
                ]
            )
    empty = ""
    if r.get("models"):
        first = next(iter(r["models"][0]["accuracy"].values()))["presence"]
        empty = f"{first['empty_gt_frames']} of {first['frames']} frames have an empty ground truth"
    rule = (r.get("empty_policy") or {}).get("rule", "both empty = 1 (Kaggle rule)")
    note = (
        f"<p class=note>Empty-mask policy {esc(policy)}: {esc(rule)}. {esc(empty)}. Masks "
        "scored at each frame's original size, all models post-processed alike.</p>"
    )
    return f"<h2>Accuracy vs ground truth</h2>{table(header, rows, 'metrics', 3)}{note}"


def _agreement_section(r: Mapping[str, Any]) -> str:
    header = [
        "candidate vs",
        "role",
        "class",
        "mean agreement (mask Dice) [95% CI]",
        "worst frame",
        "frames < 0.9",
        "mean |Δp|",
        "max |Δp|",
        "presence flips [95% CI]",
        "presence-head flips",
    ]
    rows = []
    for a in r.get("agreement", []):
        heads = a.get("presence_head_flips")
        for cls, d in a["mask_dice"].items():
            f = a["presence_flips"]["by_class"][cls]
            rows.append(
                [
                    esc(a["reference"]),
                    esc(a["role"]),
                    esc(cls),
                    ci_cell(d),
                    num(d["min"]),
                    str(d["frames_below_0.9"]),
                    num(a["mean_abs_dp"]),
                    num(a["max_abs_dp"]),
                    f"{f['count']} ({100 * f['fraction']:.1f}%) <span class=ci>"
                    f"[{num(f['ci_low'])}, {num(f['ci_high'])}] frame-level, exact</span>",
                    f"{heads['count']} of {heads['scored_frames']}" if heads else "–",
                ]
            )
    note = (
        f"<p class=note>Agreement: per-frame Dice between {esc(r.get('candidate', ''))}'s mask "
        "and the reference's (both empty = 1). |Δp|: difference of the probability maps at "
        "model size. A presence flip: the class's mask is empty for one model and not for the "
        "other, after post-processing.</p>"
    )
    return (
        f"<h2>Agreement with the references</h2>{table(header, rows, 'agreement', 3)}{note}"
        + _flips_section(r)
    )


def _flips_section(r: Mapping[str, Any]) -> str:
    rows = [
        [esc(a["reference"]), esc(e["frame"]), esc(e["class"]), esc(e["text"])]
        for a in r.get("agreement", [])
        for e in a["presence_flips"].get("explained", [])
    ]
    if not rows:
        return "<h2>Flipped frames</h2><p class=note>No frame flips its presence decision.</p>"
    return (
        "<h2>Flipped frames</h2>"
        + table(
            ["candidate vs", "frame", "class", "why (each model, step by step)"], rows, "flips", 4
        )
        + "<p class=note>Post-processing order: pixels >= threshold, the presence gate (when "
        "on), then components under min_area dropped.</p>"
    )


def _tests_section(r: Mapping[str, Any]) -> str:
    header = [
        "candidate vs",
        "class",
        "mean Dice difference [95% bootstrap CI]",
        "Wilcoxon W",
        "Wilcoxon p",
        "paired t",
        "t-test p",
        "pairs",
    ]
    rows = []
    for t in r.get("paired_tests", []):
        w, tt, d = t["wilcoxon"], t["ttest"], t["diff"]
        rows.append(
            [
                esc(t["reference"]),
                esc(t["class"]),
                ci_cell(d),
                num(w["statistic"], 1),
                fmt_p(w["pvalue"]),
                num(tt["statistic"], 3),
                fmt_p(tt["pvalue"]),
                str(d["n"]),
            ]
        )
    note = (
        "<p class=note>On per-image Dice vs ground truth, candidate minus reference; tests "
        "two-sided. A small p says the difference is systematic; the CI says how large it is "
        "and is what the verdict decides on.</p>"
    )
    return f"<h2>Paired tests</h2>{table(header, rows, 'tests', 2)}{note}"


def _histograms_section(r: Mapping[str, Any]) -> str:
    per_image = r.get("per_image", [])
    classes = r.get("classes", [])
    if not per_image or not classes:
        return ""
    cls = classes[0]
    svgs = []
    for i, m in enumerate(r.get("models", [])):
        key = f"{m['name']}/{cls}/dice"
        if key not in per_image[0]:
            continue  # no ground truth: no Dice to plot
        svgs.append(
            svg_histogram(
                [row.get(key) for row in per_image],
                f"Dice vs ground truth: {m['name']}",
                MODEL_COLORS[i % len(MODEL_COLORS)],
                xlabel="per-image Dice",
            )
        )
    for a in r.get("agreement", []):
        key = f"agreement/{a['reference']}/{cls}"
        svgs.append(
            svg_histogram(
                [row.get(key) for row in per_image],
                f"agreement with {a['reference']}",
                "#6b7b8c",
                xlabel="per-image mask Dice between the models",
            )
        )
    return f"<h2>Per-image distributions ({esc(cls)})</h2><div class=hists>{''.join(svgs)}</div>"


def _latency_section(r: Mapping[str, Any]) -> str:
    lat = r.get("latency")
    if not lat:
        return ""
    rows = [
        [
            esc(x["model"]),
            esc(x["what"]),
            num(x["ms_mean"], 2),
            num(x["ms_p50"], 2),
            num(x["ms_p90"], 2),
            str(x["runs"]),
        ]
        for x in lat.get("rows", [])
    ]
    ratios = lat.get("ratios", {})
    size = lat.get("frame_size") or ["?", "?"]
    note = (
        f"<p class=note>One {size[1]}x{size[0]} frame, {esc(lat.get('backend', ''))}, threads "
        f"{esc(lat.get('threads') or 'default')}. Keras predict / invoke: "
        f"{num(ratios.get('keras_predict_over_invoke'), 1)}x; end to end / invoke: "
        f"{num(ratios.get('e2e_over_invoke'), 2)}x (medians).</p>"
    )
    header = ["model", "what", "mean ms", "p50 ms", "p90 ms", "runs"]
    return f"<h2>Latency</h2>{table(header, rows, 'latency', 2)}{note}"


def _overlay_section(frames: Sequence[OverlayFrame], classes: Sequence[str]) -> str:
    if not frames:
        return ""
    out = [f"<h2>Overlays</h2><p class=note>Masks of {esc(', '.join(classes))} in colour.</p>"]
    for f in frames:
        figs = "".join(
            f'<figure><img src="{png_data_uri(img)}" alt="{esc(label)}: {esc(f.image)}">'
            f"<figcaption>{esc(label)}</figcaption></figure>"
            for label, img in f.panels
        )
        out.append(
            f"<div class=frame><p class=cap><b>{esc(f.group)}: {esc(f.image)}</b>"
            f"{' — ' + esc(f.caption) if f.caption else ''}</p><div class=panels>{figs}</div></div>"
        )
    return "".join(out)


def render_html(
    report: Mapping[str, Any],
    overlays: Sequence[OverlayFrame] = (),
    credit: str = "",
    title: str = "edgeseg parity report",
) -> str:
    """The report as one self-contained HTML string (no scripts, no external assets)."""
    labelled = report.get("ground_truth", True)  # False: parity without labels (live_parity)
    created = report.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds")
    footer = (
        f"<footer>{'<p class=credit>Data: ' + esc(credit) + '</p>' if credit else ''}"
        f"<p>edgeseg {esc(__version__)} · {esc(report.get('schema', ''))} · {esc(created)}</p>"
        "</footer>"
    )
    body = "".join(
        [
            f"<h1>{esc(title)}</h1>",
            _verdict_section(report),
            _info_section(report),
            _accuracy_section(report) if labelled else no_labels_section(report),
            _agreement_section(report),
            _tests_section(report) if labelled else stability_section(report),
            _histograms_section(report),
            _latency_section(report),
            _overlay_section(overlays, report.get("classes", [])),
            footer,
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}: {esc(outcome_of(report))}</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def write_report(
    report: dict[str, Any],
    out_dir: Path | str,
    overlays: Sequence[OverlayFrame] = (),
    credit: str = "",
    title: str = "edgeseg parity report",
) -> dict[str, Path]:
    """Write ``out_dir/report.json`` and ``out_dir/report.html`` atomically; their paths.

    ``report`` is a :func:`~edgeseg.evaluation.parity.compare_predictions` result, optionally
    with ``latency``, ``runtime``, ``warnings``, ``run_dir``, ``tflite``, ``data`` added. The
    JSON gets ``created``, ``credit`` and the overlays' frame names (not their pixels). Both
    documents are rendered before either file is written, so a failure leaves no half report.
    """
    out_dir = Path(out_dir)
    report.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    report["credit"] = credit
    report["overlays"] = [f.to_dict() for f in overlays]
    doc = json_ready({k: v for k, v in report.items() if k not in ("paths", "line")})
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    page = render_html(report, overlays, credit, title)
    json_path = write_bytes_atomic(out_dir / JSON_NAME, text.encode("utf-8"))
    html_path = write_bytes_atomic(out_dir / HTML_NAME, page.encode("utf-8"))
    return {"json": json_path, "html": html_path}


__all__ = ["HTML_NAME", "JSON_NAME", "OverlayFrame", "outcome_of", "render_html", "write_report"]
