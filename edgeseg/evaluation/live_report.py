"""The parts of the parity report that only parity without labels has: what could not be
computed, and each model's stability over the clip (HTML strings for
:func:`edgeseg.evaluation.parity_report.render_html`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgeseg.evaluation.html import MODEL_COLORS, esc, num, svg_histogram, table


def no_labels_section(r: Mapping[str, Any]) -> str:
    """Why there is no accuracy table: the source has no ground truth."""
    items = "".join(
        f"<li><b>{esc(check)}</b>: {esc(why)}</li>"
        for check, why in (r.get("not_applicable") or {}).items()
    )
    src = r.get("source") or {}
    rate = src.get("frame_rate")
    where = (
        f"{esc(src.get('name', ''))}: {r.get('frames', 0)} frames"
        + (f" at {num(rate, 2)} FPS" if rate else "")
        + (f" (stopped after --limit {src['limit']})" if src.get("limit") else "")
    )
    notes = "".join(f"<div class=warn>{esc(n)}</div>" for n in src.get("notes") or [])
    return (
        "<h2>Without ground truth</h2>"
        f"<p>Source {where}. The models are compared with each other only; not computed:</p>"
        f"<ul>{items}</ul>{notes}"
    )


def stability_section(r: Mapping[str, Any]) -> str:
    """Each model's frame-to-frame mask Dice and presence flicker, per class."""
    stab = r.get("stability") or {}
    if not stab:
        return ""
    rows = []
    for model, s in stab.items():
        for cls, c in s.get("classes", {}).items():
            rows.append(
                [
                    esc(model),
                    esc(cls),
                    num(c.get("dice_mean")),
                    num(c.get("dice_p5")),
                    num(c.get("dice_min")),
                    str(c.get("flicker", 0)),
                    f"{c.get('present_frames', 0)} of {s.get('frames', 0)}",
                ]
            )
    header = [
        "model",
        "class",
        "mean Dice, consecutive frames",
        "5th percentile",
        "worst pair",
        "presence flicker",
        "frames with the class",
    ]
    per_image = r.get("per_image") or []
    classes = r.get("classes") or []
    svgs = ""
    if per_image and classes:
        svgs = "".join(
            svg_histogram(
                [row.get(f"{model}/{classes[0]}/steady_dice") for row in per_image],
                f"stability: {model}",
                MODEL_COLORS[i % len(MODEL_COLORS)],
                xlabel="Dice of consecutive masks",
            )
            for i, model in enumerate(stab)
        )
        svgs = f"<div class=hists>{svgs}</div>"
    note = (
        "<p class=note>Stability: Dice between each frame's mask and the previous frame's (both "
        "empty = 1); flicker: times the class appears or disappears from one frame to the next. "
        "Informational: no tolerance applies, but a candidate that flickers more than its "
        "reference jitters on screen.</p>"
    )
    return f"<h2>Stability over the clip</h2>{table(header, rows, 'stability', 2)}{svgs}{note}"


__all__ = ["no_labels_section", "stability_section"]
