"""Error-analysis drawings: a frame with ground truth (green) and prediction (red), and a grid."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from edgeseg.evaluation.frame_measures import boundary, ring


def overlay(frame: np.ndarray, gt: np.ndarray, pred: np.ndarray) -> Image.Image:
    """Gray frame with the ground truth outlined in green and the prediction in red (fill+edge)."""
    rgb = np.repeat(np.asarray(frame, dtype=np.float64)[..., None], 3, axis=2)
    p = np.asarray(pred, dtype=bool)
    rgb[p] = 0.65 * rgb[p] + 0.35 * np.array([255.0, 40.0, 40.0])
    thick = max(1, round(min(frame.shape) / 160))
    for mask, colour in ((gt, (40, 230, 40)), (pred, (255, 40, 40))):
        edge = boundary(mask)
        for _ in range(thick - 1):
            edge = ring(edge, 1) | edge
        rgb[edge] = colour
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def gallery(
    tiles: Sequence[tuple[Image.Image, str]], columns: int = 4, tile: int = 192
) -> Image.Image:
    """A grid of overlays (longest side ``tile`` px), each captioned below."""
    if not tiles:
        return Image.new("RGB", (tile, 24), "white")
    caption = 28
    cols = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("RGB", (cols * (tile + 4), rows * (tile + caption + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (img, text) in enumerate(tiles):
        scale = tile / max(img.size)
        small = img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.NEAREST
        )
        x = (i % cols) * (tile + 4) + 2
        y = (i // cols) * (tile + caption + 4) + 2
        sheet.paste(small, (x, y))
        for line, t in enumerate(text.split("\n")[:2]):
            draw.text((x, y + tile + 2 + 12 * line), t, fill=(0, 0, 0))
    return sheet
