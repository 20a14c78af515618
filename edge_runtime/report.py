"""Write a parity result as ``report.json`` and a self-contained ``report.html``.

The HTML needs nothing but itself: inline CSS, overlays as base64 PNG data URIs, histograms as
inline SVG, no scripts and no external links, so it can be mailed or attached to a ticket.
Top to bottom: the verdict (PASS/FAIL with its reasons and every check), the run, accuracy of
each model vs ground truth, agreement of the candidate with each reference, paired tests,
histograms of per-image Dice and agreement, latency, overlays of the best and worst frames,
and a footer with the dataset's credit line. numpy + Pillow only; both files written atomically.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeseg import __version__
from edgeseg.io import write_bytes_atomic

JSON_NAME = "report.json"
HTML_NAME = "report.html"
OVERLAY_MAX_WIDTH = 320  # px: overlays are shown downscaled, the JSON keeps no pixels
HIST_BINS = 20
MODEL_COLORS = ("#4c78a8", "#9467bd", "#e45756", "#54a24b", "#f58518")


@dataclass
class OverlayFrame:
    """One frame drawn side by side: ``panels`` are (label, HxWx3 uint8 image)."""

    group: str
    image: str
    caption: str = ""
    panels: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "image": self.image,
            "caption": self.caption,
            "panels": [label for label, _ in self.panels],
        }


# --------------------------------------------------------------------------- JSON


def json_ready(value: Any) -> Any:
    """numpy scalars/arrays -> Python; NaN and infinities -> None (strict JSON)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


# --------------------------------------------------------------------------- small pieces


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    if value is None or isinstance(value, str):
        return "–" if value is None else _e(value)
    value = float(value)
    return f"{value:.{digits}f}" if math.isfinite(value) else "–"


def _pvalue(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{value:.2e}" if 0 < value < 1e-3 else f"{value:.4f}"


def _ci(stat: Mapping[str, Any], digits: int = 4) -> str:
    return (
        f"{_num(stat.get('mean', stat.get('mean_diff')), digits)} "
        f"<span class=ci>[{_num(stat.get('ci_low'), digits)}, "
        f"{_num(stat.get('ci_high'), digits)}]</span>"
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str, text: int = 1) -> str:
    """An HTML table; the first ``text`` columns are labels (left-aligned), the rest numbers."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td class=t>{c}</td>" if i < text else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table class={cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def png_data_uri(rgb: np.ndarray, max_width: int = OVERLAY_MAX_WIDTH, min_width: int = 160) -> str:
    """HxWx3 (or HxW) uint8 -> ``data:image/png;base64,...``.

    Wider than ``max_width``: downscaled (bilinear); narrower than ``min_width``: enlarged by a
    whole factor with nearest neighbour, so every model pixel stays a crisp square.
    """
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    if img.width > max_width:
        height = max(1, round(img.height * max_width / img.width))
        img = img.resize((max_width, height), Image.BILINEAR)
    elif img.width < min_width:
        factor = -(-min_width // img.width)
        img = img.resize((img.width * factor, img.height * factor), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def svg_histogram(
    values: Sequence[float],
    title: str,
    color: str = MODEL_COLORS[0],
    bins: int = HIST_BINS,
    value_range: tuple[float, float] = (0.0, 1.0),
    xlabel: str = "",
) -> str:
    """An inline SVG histogram (counts per bin over ``value_range``; NaN left out)."""
    vals = np.asarray([v for v in values if v is not None], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    counts, edges = np.histogram(np.clip(vals, *value_range), bins=bins, range=value_range)
    w, h, left, right, top, bottom = 380, 190, 40, 10, 26, 36
    pw, ph = w - left - right, h - top - bottom
    peak = max(int(counts.max(initial=0)), 1)
    bar_w = pw / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class=hist width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        f'<text x="{left}" y="16" class=ht>{_e(title)} (n={vals.size})</text>',
    ]
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = ph * c / peak
        x, y = left + i * bar_w, top + ph - bh
        parts.append(
            f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{bh:.1f}" '
            f'fill="{color}"><title>{edges[i]:.2f}–{edges[i + 1]:.2f}: {c}</title></rect>'
        )
    axis_y = top + ph
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + pw}" y2="{axis_y}" class=ax />'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{axis_y}" class=ax />'
    )
    lo, hi = value_range
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + frac * pw
        parts.append(
            f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" class=ax />'
            f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" class=tk>'
            f"{lo + frac * (hi - lo):g}</text>"
        )
    parts.append(
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class=tk>{peak}</text>'
        f'<text x="{left - 4}" y="{axis_y}" text-anchor="end" class=tk>0</text>'
        f'<text x="{left + pw / 2:.1f}" y="{h - 4}" text-anchor="middle" class=tk>'
        f"{_e(xlabel)}</text></svg>"
    )
    return "".join(parts)


# --------------------------------------------------------------------------- sections


CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
  margin:0 auto;max-width:1180px;padding:20px 24px;color:#1d232a;background:#fff}
h1{font-size:20px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;
  border-bottom:1px solid #dde2e8;padding-bottom:4px}
.verdict{border-radius:8px;padding:14px 20px;margin:8px 0 16px;color:#fff}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#c62828}
.verdict .big{font-size:56px;font-weight:800;letter-spacing:3px;line-height:1.1}
.verdict p{margin:4px 0;font-size:15px}.verdict ul{margin:6px 0 2px 18px;padding:0;font-size:15px}
table{border-collapse:collapse;margin:6px 0 4px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dde2e8;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f3f5f8;text-align:center}td.t{text-align:left}
td.ok{color:#1a7f37;font-weight:700;text-align:center}
td.bad{color:#c62828;font-weight:700;text-align:center}
.ci{color:#66707a;font-size:12px}.note{color:#66707a;font-size:12px;margin:2px 0 8px}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;margin:6px 0}
dl.info{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dl.info dt{color:#66707a}dl.info dd{margin:0;word-break:break-all}
.hists{display:flex;flex-wrap:wrap;gap:8px 18px}
svg.hist .ht{font-size:12px;font-weight:600;fill:#1d232a}
svg.hist .tk{font-size:10px;fill:#4a545e}svg.hist .ax{stroke:#4a545e;stroke-width:1}
.frame{margin:10px 0 18px}.frame .cap{font-size:13px;margin:0 0 4px}
.panels{display:flex;flex-wrap:wrap;gap:8px}
figure{margin:0}figure img{display:block;max-width:320px;height:auto;
  image-rendering:auto;border:1px solid #dde2e8}
figcaption{font-size:12px;color:#4a545e;text-align:center}
footer{margin-top:32px;border-top:1px solid #dde2e8;padding-top:8px;color:#66707a;font-size:12px}
"""


def _verdict_section(r: Mapping[str, Any]) -> str:
    v = r.get("verdict", {})
    passed = bool(v.get("passed"))
    refs = [a["reference"] for a in r.get("agreement", [])]
    lines = v.get("reasons") if not passed else None
    checks = v.get("checks", [])
    items = lines or [c["message"] for c in checks]
    head = "reasons" if not passed else "all checks passed"
    rows = [
        [
            _e(c["check"]),
            _e(c["reference"]),
            _e(c.get("class") or "all"),
            _num(c["value"]),
            f"{_e(c['op'])} {c['limit']:g}",
            "PASS" if c["passed"] else "FAIL",
        ]
        for c in checks
    ]
    table = _table(["check", "vs", "class", "value", "tolerance", "result"], rows, "checks", 3)
    table = table.replace("<td>PASS</td>", "<td class=ok>PASS</td>").replace(
        "<td>FAIL</td>", "<td class=bad>FAIL</td>"
    )
    return (
        f'<section class="verdict {"pass" if passed else "fail"}" id=verdict>'
        f"<div class=big>{'PASS' if passed else 'FAIL'}</div>"
        f"<p>{_e(r.get('candidate', ''))} vs {_e(', '.join(refs))} on "
        f"{r.get('frames', 0)} frames ({head})</p>"
        f"<ul class=reasons>{''.join(f'<li>{_e(x)}</li>' for x in items)}</ul></section>"
        f"<h2>Checks</h2>{table}"
    )


def _info_section(r: Mapping[str, Any]) -> str:
    rt = r.get("runtime") or {}
    tol = r.get("tolerances", {})
    roles = r.get("roles", {})
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
        (
            "tolerances",
            f"Dice delta >= {tol.get('min_dice_delta')}, mean agreement >= "
            f"{tol.get('min_agreement')}, presence flips <= "
            f"{100 * float(tol.get('max_flip_fraction', 0)):g}% of frames"
            if tol
            else None,
        ),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items if v)
    warns = "".join(f"<div class=warn>{_e(w)}</div>" for w in r.get("warnings") or [])
    return f"<h2>Run</h2><dl class=info>{dl}</dl>{warns}"


def _accuracy_section(r: Mapping[str, Any]) -> str:
    header = [
        "model",
        "role",
        "class",
        "Dice (Kaggle rule) [95% CI]",
        "Dice, non-empty frames",
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
                    _e(m["name"]),
                    _e(m["role"]),
                    _e(cls),
                    _ci(acc["dice"]),
                    f"{_num(ne.get('mean'))} <span class=ci>(n={ne.get('n', 0)})</span>",
                    _num(acc["iou"]["mean"]),
                    _num(acc["precision"]["mean"]),
                    _num(acc["recall"]["mean"]),
                    _num(pres["accuracy"]),
                    _num(head["accuracy"]) if head else "–",
                    f"{pres['false_positive_frames']} / {pres['false_negative_frames']}",
                ]
            )
    empty = ""
    if r.get("models"):
        first = next(iter(r["models"][0]["accuracy"].values()))["presence"]
        empty = f"{first['empty_gt_frames']} of {first['frames']} frames have an empty ground truth"
    note = (
        "<p class=note>Kaggle rule: a frame where prediction and ground truth are both empty "
        f"scores 1. {_e(empty)}. Masks scored at each frame's original size, all models "
        "post-processed alike.</p>"
    )
    return f"<h2>Accuracy vs ground truth</h2>{_table(header, rows, 'metrics', 3)}{note}"


def _agreement_section(r: Mapping[str, Any]) -> str:
    header = [
        "candidate vs",
        "role",
        "class",
        "mean agreement (mask Dice)",
        "worst frame",
        "frames < 0.9",
        "mean |Δp|",
        "max |Δp|",
        "presence flips",
        "mask-empty flips",
    ]
    rows = []
    for a in r.get("agreement", []):
        flips, mflips = a["presence_flips"], a["mask_presence_flips"]
        for cls, d in a["mask_dice"].items():
            rows.append(
                [
                    _e(a["reference"]),
                    _e(a["role"]),
                    _e(cls),
                    _num(d["mean"]),
                    _num(d["min"]),
                    str(d["frames_below_0.9"]),
                    _num(a["mean_abs_dp"]),
                    _num(a["max_abs_dp"]),
                    f"{flips['count']} ({100 * flips['fraction']:.1f}%, {_e(flips['decision'])})",
                    f"{mflips['count']} ({100 * mflips['fraction']:.1f}%)",
                ]
            )
    flipped = [
        f"{_e(a['reference'])}: {_e(', '.join(a['presence_flips']['frames'][:20]))}"
        for a in r.get("agreement", [])
        if a["presence_flips"]["count"]
    ]
    note = (
        f"<p class=note>Agreement: per-frame Dice between {_e(r.get('candidate', ''))}'s mask "
        "and the reference's (both empty = 1). |Δp|: difference of the probability maps at "
        "model size.</p>"
    )
    if flipped:
        note += "<p class=note>Flipped frames: " + "; ".join(flipped) + "</p>"
    return f"<h2>Agreement with the references</h2>{_table(header, rows, 'agreement', 3)}{note}"


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
                _e(t["reference"]),
                _e(t["class"]),
                _ci(d),
                _num(w["statistic"], 1),
                _pvalue(w["pvalue"]),
                _num(tt["statistic"], 3),
                _pvalue(tt["pvalue"]),
                str(d["n"]),
            ]
        )
    note = (
        "<p class=note>On per-image Dice vs ground truth, candidate minus reference. A small p "
        "says the difference is systematic; the CI says how large it is.</p>"
    )
    return f"<h2>Paired tests</h2>{_table(header, rows, 'tests', 2)}{note}"


def _histograms_section(r: Mapping[str, Any]) -> str:
    per_image = r.get("per_image", [])
    classes = r.get("classes", [])
    if not per_image or not classes:
        return ""
    cls = classes[0]
    svgs = []
    for i, m in enumerate(r.get("models", [])):
        key = f"{m['name']}/{cls}/dice"
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
    return f"<h2>Per-image distributions ({_e(cls)})</h2><div class=hists>{''.join(svgs)}</div>"


def _latency_section(r: Mapping[str, Any]) -> str:
    lat = r.get("latency")
    if not lat:
        return ""
    rows = [
        [
            _e(x["model"]),
            _e(x["what"]),
            _num(x["ms_mean"], 2),
            _num(x["ms_p50"], 2),
            _num(x["ms_p90"], 2),
            str(x["runs"]),
        ]
        for x in lat.get("rows", [])
    ]
    ratios = lat.get("ratios", {})
    size = lat.get("frame_size") or ["?", "?"]
    note = (
        f"<p class=note>One {size[1]}x{size[0]} frame, {_e(lat.get('backend', ''))}, threads "
        f"{_e(lat.get('threads') or 'default')}. Keras predict / invoke: "
        f"{_num(ratios.get('keras_predict_over_invoke'), 1)}x; end to end / invoke: "
        f"{_num(ratios.get('e2e_over_invoke'), 2)}x (medians).</p>"
    )
    header = ["model", "what", "mean ms", "p50 ms", "p90 ms", "runs"]
    return f"<h2>Latency</h2>{_table(header, rows, 'latency', 2)}{note}"


def _overlay_section(frames: Sequence[OverlayFrame], classes: Sequence[str]) -> str:
    if not frames:
        return ""
    out = [f"<h2>Overlays</h2><p class=note>Masks of {_e(', '.join(classes))} in colour.</p>"]
    for f in frames:
        figs = "".join(
            f'<figure><img src="{png_data_uri(img)}" alt="{_e(label)}: {_e(f.image)}">'
            f"<figcaption>{_e(label)}</figcaption></figure>"
            for label, img in f.panels
        )
        out.append(
            f"<div class=frame><p class=cap><b>{_e(f.group)}: {_e(f.image)}</b>"
            f"{' — ' + _e(f.caption) if f.caption else ''}</p><div class=panels>{figs}</div></div>"
        )
    return "".join(out)


def render_html(
    report: Mapping[str, Any],
    overlays: Sequence[OverlayFrame] = (),
    credit: str = "",
    title: str = "edgeseg parity report",
) -> str:
    """The report as one self-contained HTML string (no scripts, no external assets)."""
    created = report.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds")
    footer = (
        f"<footer>{'<p class=credit>Data: ' + _e(credit) + '</p>' if credit else ''}"
        f"<p>edgeseg {_e(__version__)} · {_e(report.get('schema', ''))} · {_e(created)}</p>"
        "</footer>"
    )
    body = "".join(
        [
            f"<h1>{_e(title)}</h1>",
            _verdict_section(report),
            _info_section(report),
            _accuracy_section(report),
            _agreement_section(report),
            _tests_section(report),
            _histograms_section(report),
            _latency_section(report),
            _overlay_section(overlays, report.get("classes", [])),
            footer,
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}: {'PASS' if report.get('passed') else 'FAIL'}</title>"
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

    ``report`` is a :func:`~edgeseg.edge_runtime.parity.compare_predictions` result, optionally
    with ``latency``, ``runtime``, ``warnings``, ``run_dir``, ``tflite``, ``data`` added. The
    JSON gets ``created``, ``credit`` and the overlays' frame names (not their pixels).
    """
    out_dir = Path(out_dir)
    report.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    report["credit"] = credit
    report["overlays"] = [f.to_dict() for f in overlays]
    doc = json_ready({k: v for k, v in report.items() if k not in ("paths", "line")})
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    json_path = write_bytes_atomic(out_dir / JSON_NAME, text.encode("utf-8"))
    page = render_html(report, overlays, credit, title)
    html_path = write_bytes_atomic(out_dir / HTML_NAME, page.encode("utf-8"))
    return {"json": json_path, "html": html_path}


__all__ = [
    "OverlayFrame",
    "json_ready",
    "png_data_uri",
    "render_html",
    "svg_histogram",
    "write_report",
]
