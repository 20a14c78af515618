"""The HTML toolkit of edgeseg's self-contained reports: strict JSON, escaping, tables, inline
PNG data URIs and SVG histograms, and the shared CSS. numpy + Pillow only; no scripts, no
external assets.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

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


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any, digits: int = 4) -> str:
    if value is None or isinstance(value, str):
        return "–" if value is None else esc(value)
    value = float(value)
    return f"{value:.{digits}f}" if math.isfinite(value) else "–"


def fmt_p(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{value:.2e}" if 0 < value < 1e-3 else f"{value:.4f}"


def ci_cell(stat: Mapping[str, Any], digits: int = 4) -> str:
    """``mean [low, high]`` with the interval's unit (frame-level / subject-level) when known."""
    unit = stat.get("unit")
    label = f" {esc(unit)}-level" if unit else ""
    if stat.get("degenerate"):
        label += ", one unit: no interval"
    return (
        f"{num(stat.get('mean', stat.get('mean_diff')), digits)} "
        f"<span class=ci>[{num(stat.get('ci_low'), digits)}, "
        f"{num(stat.get('ci_high'), digits)}]{label}</span>"
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str, text: int = 1) -> str:
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
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<text x="{left}" y="16" class=ht>{esc(title)} (n={vals.size})</text>',
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
        f"{esc(xlabel)}</text></svg>"
    )
    return "".join(parts)


# --------------------------------------------------------------------------- style


CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
  margin:0 auto;max-width:1180px;padding:20px 24px;color:#1d232a;background:#fff}
h1{font-size:20px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;
  border-bottom:1px solid #dde2e8;padding-bottom:4px}
.verdict{border-radius:8px;padding:14px 20px;margin:8px 0 16px;color:#fff}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#c62828}
.verdict.inconclusive{background:#9a6700}
.verdict .big{font-size:56px;font-weight:800;letter-spacing:3px;line-height:1.1}
.verdict p{margin:4px 0;font-size:15px}.verdict ul{margin:6px 0 2px 18px;padding:0;font-size:15px}
table{border-collapse:collapse;margin:6px 0 4px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dde2e8;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f3f5f8;text-align:center}td.t{text-align:left}
td.ok{color:#1a7f37;font-weight:700;text-align:center}
td.bad{color:#c62828;font-weight:700;text-align:center}
td.unk{color:#9a6700;font-weight:700;text-align:center}
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
