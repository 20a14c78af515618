"""Classical segmentation baselines that need no training (numpy + Pillow only).

Each baseline maps a uint8 HxW frame to a uint8 {0, 1} mask of the same size, so it can stand in
for a model anywhere a mask is expected (``edgeseg compare`` evaluates them on the same
preprocessed frames and with the same metric code as the networks):

- ``edges``: traditional edge detection. Gaussian smoothing, Sobel gradient magnitude,
  hysteresis thresholding (Canny-style strong/weak edges, without non-maximum suppression),
  morphological closing, hole filling, then the most plausible blob.
- ``otsu``: intensity thresholding. Gaussian smoothing, Otsu's threshold, opening, hole filling,
  then the most plausible blob.

"Plausible blob": the largest 8-connected component whose area is between ``min_frac`` and
``max_frac`` of the frame, preferring components that do not touch the frame border (tissue
layers and the skin line do). No candidate gives an empty mask (a frame without a nerve).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

from edgeseg.postprocess import label_components

_SOBEL = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def gaussian(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a uint8 frame (Pillow), returned as float32."""
    if sigma <= 0:
        return np.asarray(img, dtype=np.float32)
    blurred = Image.fromarray(np.asarray(img, dtype=np.uint8)).filter(
        ImageFilter.GaussianBlur(sigma)
    )
    return np.asarray(blurred, dtype=np.float32)


def _correlate3(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3x3 correlation with edge padding."""
    p = np.pad(img, 1, mode="edge")
    h, w = img.shape
    out = np.zeros((h, w), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            if kernel[dy, dx]:
                out += kernel[dy, dx] * p[dy : dy + h, dx : dx + w]
    return out


def sobel_magnitude(img: np.ndarray) -> np.ndarray:
    """Gradient magnitude ``hypot(Gx, Gy)`` from the 3x3 Sobel operators."""
    f = np.asarray(img, dtype=np.float32)
    return np.hypot(_correlate3(f, _SOBEL), _correlate3(f, _SOBEL.T))


def _shift_or(mask: np.ndarray, connectivity: int) -> np.ndarray:
    """Binary dilation by one pixel (4- or 8-neighbourhood), zero outside the frame."""
    p = np.pad(mask, 1)
    h, w = mask.shape
    out = mask.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (dy or dx) and (connectivity == 8 or not (dy and dx)):
                out |= p[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    return out


def dilate(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Binary dilation with a (2r+1)x(2r+1) square."""
    out = np.asarray(mask, dtype=bool)
    for _ in range(radius):
        out = _shift_or(out, 8)
    return out


def erode(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Binary erosion with a (2r+1)x(2r+1) square (outside the frame counts as foreground)."""
    return ~dilate(~np.asarray(mask, dtype=bool), radius)


def closing(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Dilate then erode: bridges gaps up to ~2r pixels wide."""
    return erode(dilate(mask, radius), radius)


def opening(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Erode then dilate: removes specks and thin bridges."""
    return dilate(erode(mask, radius), radius)


def reconstruct(seed: np.ndarray, within: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """Morphological reconstruction: the parts of ``within`` connected to ``seed``."""
    allowed = np.asarray(within, dtype=bool)
    grown = np.asarray(seed, dtype=bool) & allowed
    while True:
        nxt = _shift_or(grown, connectivity) & allowed
        if np.array_equal(nxt, grown):
            return grown
        grown = nxt


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill background regions not 4-connected to the frame border (uint8 {0, 1})."""
    fg = np.asarray(mask, dtype=bool)
    border = np.zeros_like(fg)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    outside = reconstruct(border & ~fg, ~fg, connectivity=4)
    return (~outside).astype(np.uint8)


def hysteresis(magnitude: np.ndarray, low: float, high: float) -> np.ndarray:
    """Weak edges (>= low) kept only where 8-connected to a strong edge (>= high)."""
    return reconstruct(magnitude >= high, magnitude >= low)


def otsu_threshold(img: np.ndarray) -> int:
    """Otsu's threshold of a uint8 image: pixels > t are foreground (max between-class variance)."""
    hist = np.bincount(np.asarray(img, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 0
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    w1 = total - w0
    m0 = np.cumsum(hist * levels)
    mean_all = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 - m0 * total) ** 2 / (w0 * w1)
    between[(w0 == 0) | (w1 == 0)] = -1.0
    return int(np.argmax(between))


def plausible_blob(mask: np.ndarray, min_frac: float = 0.002, max_frac: float = 0.25) -> np.ndarray:
    """Keep the largest component with an area in [min_frac, max_frac] of the frame.

    Components clear of the frame border are preferred; if there are none, border-touching ones
    are considered. No candidate at all: an empty mask.
    """
    fg = np.asarray(mask, dtype=bool)
    out = np.zeros(fg.shape, dtype=np.uint8)
    if not fg.any():
        return out
    labels, sizes = label_components(fg)
    border_labels = set(
        np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])).tolist()
    )
    lo, hi = min_frac * fg.size, max_frac * fg.size
    candidates = [k + 1 for k, s in enumerate(sizes) if lo <= s <= hi]
    inner = [k for k in candidates if k not in border_labels]
    pool = inner or candidates
    if not pool:
        return out
    best = max(pool, key=lambda k: sizes[k - 1])
    out[labels == best] = 1
    return out


def edge_baseline(
    frame: np.ndarray,
    sigma: float = 1.5,
    low_ratio: float = 0.5,
    close_radius: int = 2,
    min_frac: float = 0.002,
    max_frac: float = 0.25,
) -> np.ndarray:
    """Traditional edge-detection segmentation of a uint8 frame -> uint8 {0, 1} mask.

    The strong-edge threshold is Otsu's threshold of the gradient magnitude (edges vs. smooth
    texture, as automatic Canny implementations pick it); weak edges reach down to ``low_ratio``
    times that. The closed edge map's enclosed regions are filled, and one erosion pulls the blob
    back onto the contour.
    """
    frame = np.asarray(frame, dtype=np.uint8)
    magnitude = sobel_magnitude(gaussian(frame, sigma))
    top = float(magnitude.max())
    if top <= 0:
        return np.zeros(frame.shape, dtype=np.uint8)
    scaled = np.clip(np.rint(magnitude * (255.0 / top)), 0, 255).astype(np.uint8)
    high = (otsu_threshold(scaled) + 0.5) * top / 255.0
    edges = hysteresis(magnitude, low_ratio * high, high)
    filled = fill_holes(closing(edges, close_radius)).astype(bool)
    # One erosion pulls the blob back onto the contour and drops unenclosed thin edge lines.
    return plausible_blob(erode(filled, 1), min_frac, max_frac)


def otsu_baseline(
    frame: np.ndarray,
    sigma: float = 2.0,
    bright: bool = True,
    open_radius: int = 1,
    min_frac: float = 0.002,
    max_frac: float = 0.25,
) -> np.ndarray:
    """Otsu intensity thresholding of a uint8 frame -> uint8 {0, 1} mask.

    ``bright=True`` segments what is brighter than the threshold (a hyperechoic nerve sheath);
    ``False`` the darker part.
    """
    frame = np.asarray(frame, dtype=np.uint8)
    smooth = np.clip(np.rint(gaussian(frame, sigma)), 0, 255).astype(np.uint8)
    t = otsu_threshold(smooth)
    fg = smooth > t if bright else smooth <= t
    fg = fill_holes(opening(fg, open_radius)).astype(bool)
    return plausible_blob(fg, min_frac, max_frac)


BASELINES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "edges": edge_baseline,
    "otsu": otsu_baseline,
}
