"""Why a frame's presence decision flipped between two models: the post-processing, step by step.

A model "sees" a class on a frame when its mask for that class is non-empty after the shared
post-processing (``edgeseg.postprocess.probabilities_to_mask``): pixels at or above
``threshold``, then (when the gate is on) a presence score below ``presence_threshold`` empties
the frame, then components under ``min_area`` pixels are dropped. For a flipped frame each
model's side of every step is recorded, and the step that decided is named.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeseg.config import PostProcess
from edgeseg.postprocess import label_components


def explain(
    prob: np.ndarray, presence: float | None, post: PostProcess, present: bool
) -> dict[str, Any]:
    """One model's evidence for one class on one frame (``prob``: HxW at model size).

    Areas are in model-size pixels, where post-processing runs (``min_area`` is in those
    pixels too); ``present`` is the decision on the mask as scored, at the frame's size.
    """
    binary = np.asarray(prob) >= post.threshold
    sizes = label_components(binary)[1] if binary.any() else []
    largest = int(max(sizes, default=0))
    max_prob = float(np.max(prob)) if np.size(prob) else float("nan")
    gated = post.presence_gate and presence is not None and presence < post.presence_threshold
    if present:
        step = "kept"
    elif not binary.any():
        step = "below threshold"
    elif gated:
        step = "presence gate"
    else:
        step = "under min_area"
    return {
        "present": bool(present),
        "max_prob": max_prob,
        "threshold": post.threshold,
        "largest_area": largest,
        "min_area": post.min_area,
        "presence": presence,
        "presence_threshold": post.presence_threshold,
        "gate": post.presence_gate,
        "decided_by": step,
    }


def describe(model: str, e: dict[str, Any]) -> str:
    """One line: ``int8: mask (max p 0.71 >= 0.5; largest component 18 px >= min_area 16; ...)``."""
    parts = [
        f"max p {e['max_prob']:.3f} {'>=' if e['max_prob'] >= e['threshold'] else '<'} "
        f"{e['threshold']:g}"
    ]
    if e["max_prob"] >= e["threshold"]:
        ok = e["largest_area"] >= e["min_area"]
        parts.append(
            f"largest component {e['largest_area']} px {'>=' if ok else '<'} "
            f"min_area {e['min_area']}"
        )
    if e["presence"] is not None:
        above = e["presence"] >= e["presence_threshold"]
        parts.append(
            f"presence {e['presence']:.3f} {'>=' if above else '<'} {e['presence_threshold']:g} "
            f"(gate {'on' if e['gate'] else 'off'})"
        )
    state = "mask" if e["present"] else f"empty ({e['decided_by']})"
    return f"{model}: {state}; " + "; ".join(parts)
