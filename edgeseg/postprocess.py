"""Probabilities -> mask (threshold, minimum area, largest component, presence gate) -> overlay.

Sections 3 and 4 of docs/runtime-contract.md, called through :class:`edgeseg.contract.FrameContract`
by evaluation and the edge runtime. numpy + Pillow only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from edgeseg.config import PostProcess
from edgeseg.errors import DataError
from edgeseg.imaging import to_gray8

OVERLAY_ALPHA = 115  # about 45 %, section 4

_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def label_components(mask: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """8-connected components of a 2-D binary mask, numbered 1.. in raster order of first pixel.

    Returns (labels HxW int32, sizes) where ``sizes[k - 1]`` is the pixel count of component k.
    """
    fg = np.asarray(mask, dtype=bool)
    labels = np.zeros(fg.shape, dtype=np.int32)
    sizes: list[int] = []
    h, w = fg.shape
    for y, x in zip(*np.nonzero(fg), strict=True):
        if labels[y, x]:
            continue
        label = len(sizes) + 1
        labels[y, x] = label
        queue = deque([(y, x)])
        count = 0
        while queue:
            cy, cx = queue.popleft()
            count += 1
            for dy, dx in _NEIGHBOURS:
                ny, nx = cy + dy, cx + dx
                if 0 <= ny < h and 0 <= nx < w and fg[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = label
                    queue.append((ny, nx))
        sizes.append(count)
    return labels, sizes


def keep_components(
    components: tuple[np.ndarray, list[int]], min_area: int, largest: bool
) -> np.ndarray:
    """Bool mask of the labelled components kept: those of ``min_area`` pixels or more (all
    when ``min_area <= 1``), then with ``largest`` only the largest of those (ties: the first
    in raster order). ``components``: ``label_components(mask)``, reusable across settings."""
    labels, sizes = components
    keep = [s >= min_area for s in sizes] if min_area > 1 else [True] * len(sizes)
    if largest and any(keep):
        biggest = max((k for k in range(len(sizes)) if keep[k]), key=lambda k: (sizes[k], -k))
        keep = [k == biggest for k in range(len(sizes))]
    return np.array([False, *keep], dtype=bool)[labels]


def remove_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Drop 8-connected components with fewer than ``min_area`` pixels."""
    if min_area <= 1 or not mask.any():
        return mask.astype(np.uint8)
    return keep_components(label_components(mask), min_area, False).astype(np.uint8)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep only the largest 8-connected component (ties: the first in raster order)."""
    if not mask.any():
        return mask.astype(np.uint8)
    return keep_components(label_components(mask), 0, True).astype(np.uint8)


def gate_closed(post: PostProcess, presence: float | None) -> bool:
    """The presence gate empties the mask: gate on, a score, and the score below its threshold.

    ``post`` is anything with ``presence_gate`` and ``presence_threshold`` (``PostProcess``, the
    tuning's ``Settings``)."""
    return bool(post.presence_gate and presence is not None and presence < post.presence_threshold)


def probabilities_to_mask(
    prob: np.ndarray, post: PostProcess, presence: float | None = None
) -> np.ndarray:
    """HxWxC (or HxW) probabilities -> uint8 {0,1} mask of the same shape.

    Threshold, presence gate, then per class the components of ``min_area`` pixels or more and
    with ``largest_component`` only the largest (:func:`keep_components`).
    """
    squeeze = prob.ndim == 2
    probs = prob[..., None] if squeeze else prob
    out = (probs >= post.threshold).astype(np.uint8)
    if gate_closed(post, presence):
        out[:] = 0
    if post.min_area > 1 or post.largest_component:
        for c in range(out.shape[-1]):
            if out[..., c].any():
                components = label_components(out[..., c])
                out[..., c] = keep_components(components, post.min_area, post.largest_component)
    return out[..., 0] if squeeze else out


def overlay(
    gray_frame: np.ndarray, mask: np.ndarray, colors: Sequence[Sequence[int]]
) -> np.ndarray:
    """Colour the mask onto the gray frame -> HxWx3 uint8 (section 4).

    On mask pixels ``(base * (256 - A) + colour * A + 128) >> 8`` with ``A = 115``, ``base``
    the gray frame; other pixels keep the gray. Later classes paint over earlier ones.
    """
    gray = to_gray8(gray_frame)
    masks = np.asarray(mask)
    if masks.ndim == 2:
        masks = masks[..., None]
    if masks.shape[:2] != gray.shape:
        raise DataError(
            f"mask is {masks.shape[1]}x{masks.shape[0]} but the frame is "
            f"{gray.shape[1]}x{gray.shape[0]}: use Result.mask (frame size), not mask_model"
        )
    if masks.shape[2] > len(colors):
        raise DataError(f"mask has {masks.shape[2]} classes but only {len(colors)} colours")
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.uint16)
    out = base.copy()
    for c in range(masks.shape[2]):
        on = masks[..., c] > 0
        colour = np.asarray(colors[c], dtype=np.uint16)
        out[on] = (base[on] * (256 - OVERLAY_ALPHA) + colour * OVERLAY_ALPHA + 128) >> 8
    return out.astype(np.uint8)
