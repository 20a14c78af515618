"""Frame -> model input, exactly as the runtime and the Android core do it (numpy + Pillow).

Order: gray 8-bit -> Pillow bilinear resize -> denoise -> CLAHE -> intensity normalisation.
The result is uint8; the network sees ``pixel / 255``. See docs/runtime-contract.md.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from edgeseg.config import Preprocessing
from edgeseg.imaging import resize_gray, to_gray8


def percentile_stretch(img: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Stretch the [low, high] percentiles of a uint8 image onto 0..255 (integer, exact).

    Percentiles come from the histogram: ``lo`` is the first value whose cumulative count exceeds
    ``low``% of the pixels, ``hi`` the first whose cumulative count reaches ``high``%.
    Output = clip(floor(((x - lo) * 255) / (hi - lo) + 1/2)), done in integers.
    """
    hist = np.bincount(img.ravel(), minlength=256)
    cdf = np.cumsum(hist)
    n = int(cdf[-1])
    lo = int(np.searchsorted(cdf, n * low / 100.0, side="right"))
    hi = int(np.searchsorted(cdf, n * high / 100.0, side="left"))
    if hi <= lo:
        return img.copy()
    span = hi - lo
    x = np.clip(np.arange(256, dtype=np.int64), lo, hi) - lo
    lut = ((2 * 255 * x + span) // (2 * span)).astype(np.uint8)  # the formula for each value
    return lut.take(img)


def clahe(img: np.ndarray, clip: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (tile CDFs, bilinear blend)."""
    h, w = img.shape
    th, tw = max(1, -(-h // tiles)), max(1, -(-w // tiles))
    ny, nx = -(-h // th), -(-w // tw)
    luts = np.zeros((ny, nx, 256), dtype=np.float64)
    for ty in range(ny):
        for tx in range(nx):
            tile = img[ty * th : (ty + 1) * th, tx * tw : (tx + 1) * tw]
            hist = np.bincount(tile.ravel(), minlength=256).astype(np.float64)
            limit = max(1.0, clip * tile.size / 256.0)
            excess = np.clip(hist - limit, 0, None).sum()
            hist = np.minimum(hist, limit) + excess / 256.0
            cdf = np.cumsum(hist)
            luts[ty, tx] = (cdf - cdf[0]) / max(cdf[-1] - cdf[0], 1.0) * 255.0
    cy = (np.arange(h) + 0.5) / th - 0.5
    cx = (np.arange(w) + 0.5) / tw - 0.5
    y0 = np.clip(np.floor(cy).astype(int), 0, ny - 1)
    x0 = np.clip(np.floor(cx).astype(int), 0, nx - 1)
    y1, x1 = np.minimum(y0 + 1, ny - 1), np.minimum(x0 + 1, nx - 1)
    fy = np.clip(cy - y0, 0, 1)[:, None]
    fx = np.clip(cx - x0, 0, 1)[None, :]
    yy0, xx0, yy1, xx1 = y0[:, None], x0[None, :], y1[:, None], x1[None, :]
    top = luts[yy0, xx0, img] * (1 - fx) + luts[yy0, xx1, img] * fx
    bottom = luts[yy1, xx0, img] * (1 - fx) + luts[yy1, xx1, img] * fx
    return np.clip(np.rint(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)


def denoise(img: np.ndarray, method: str) -> np.ndarray:
    """Optional speckle smoothing: 3x3 median or a Gaussian of radius 1 (Pillow filters)."""
    if method == "none":
        return img
    pil = Image.fromarray(img)
    filt = ImageFilter.MedianFilter(3) if method == "median" else ImageFilter.GaussianBlur(1)
    return np.asarray(pil.filter(filt))


def normalize(img: np.ndarray, pp: Preprocessing) -> np.ndarray:
    if pp.normalize == "percentile":
        return percentile_stretch(img, *pp.percentiles)
    if pp.normalize == "equalize":
        return np.asarray(ImageOps.equalize(Image.fromarray(img)))
    return img


def preprocess(frame: np.ndarray, pp: Preprocessing) -> np.ndarray:
    """Any frame (gray/RGB, 8/16-bit, any size) -> uint8 (height, width) model input."""
    img = resize_gray(to_gray8(frame), pp.size)
    img = denoise(img, pp.denoise)
    if pp.clahe:
        img = clahe(img, pp.clahe_clip, pp.clahe_tiles)
    return normalize(img, pp)
