"""Per-frame measures of error analysis: boundary errors and image characteristics (numpy).

``boundary_scores`` (95th-percentile Hausdorff distance, boundary F-score), ``characteristics``
(noise from the MAD of a Laplacian, RMS contrast, the nerve's contrast against its
surroundings, brightness, mask area) and the frame-level ``outcome`` (tp, fn, fp, tn).
"""

from __future__ import annotations

import numpy as np

_LAPLACIAN = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
_LAPLACIAN_NORM = 6.0  # sqrt(sum(kernel**2)): the Laplacian of unit white noise has std 6
_MAD_TO_STD = 1.4826
_CHUNK = 2048


def boundary(mask: np.ndarray) -> np.ndarray:
    """Inner boundary: foreground pixels with a 4-neighbour outside the mask (or the frame)."""
    fg = np.asarray(mask, dtype=bool)
    p = np.pad(fg, 1)
    interior = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return fg & ~interior


def _nearest(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """For each point of ``src`` (N, 2) the Euclidean distance to the nearest point of ``dst``."""
    out = np.empty(len(src), dtype=np.float64)
    dst = dst.astype(np.float64)
    for i in range(0, len(src), _CHUNK):
        chunk = src[i : i + _CHUNK].astype(np.float64)
        d2 = ((chunk[:, None, :] - dst[None, :, :]) ** 2).sum(-1)
        out[i : i + _CHUNK] = np.sqrt(d2.min(axis=1))
    return out


def boundary_scores(pred: np.ndarray, gt: np.ndarray, tolerance: float = 2.0) -> dict[str, float]:
    """Boundary errors of one frame, in pixels of the frame.

    ``hd95``: max over both directions of the 95th percentile of boundary-to-boundary distances
    (0 if both masks are empty, NaN if only one is: a frame-level error, counted separately).
    ``bf``: boundary F-score, the share of each boundary within ``tolerance`` pixels of the other,
    combined as an F1 (1 if both are empty, 0 if only one is).
    """
    pb = np.argwhere(boundary(pred))
    gb = np.argwhere(boundary(gt))
    if len(pb) == 0 and len(gb) == 0:
        return {"hd95": 0.0, "bf": 1.0}
    if len(pb) == 0 or len(gb) == 0:
        return {"hd95": float("nan"), "bf": 0.0}
    d_pg = _nearest(pb, gb)
    d_gp = _nearest(gb, pb)
    hd95 = max(float(np.percentile(d_pg, 95)), float(np.percentile(d_gp, 95)))
    precision = float(np.mean(d_pg <= tolerance))
    recall = float(np.mean(d_gp <= tolerance))
    bf = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"hd95": hd95, "bf": bf}


def noise_level(frame: np.ndarray) -> float:
    """Noise standard deviation (gray levels) from the MAD of a 3x3 Laplacian (Immerkaer kernel).

    The kernel cancels smooth intensity and planar ramps, so what is left is mostly noise
    (speckle, in ultrasound); the MAD makes edges and bright specular lines count little.
    """
    f = np.asarray(frame, dtype=np.float64)
    if f.shape[0] < 3 or f.shape[1] < 3:
        return float("nan")
    h, w = f.shape
    lap = sum(
        _LAPLACIAN[dy, dx] * f[dy : dy + h - 2, dx : dx + w - 2]
        for dy in range(3)
        for dx in range(3)
    )
    mad = float(np.median(np.abs(lap - np.median(lap))))
    return _MAD_TO_STD * mad / _LAPLACIAN_NORM


def ring(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` (chessboard distance) of the mask but outside it."""
    grown = np.asarray(mask, dtype=bool)
    for _ in range(width):
        p = np.pad(grown, 1)
        grown = (
            p[1:-1, 1:-1]
            | p[:-2, 1:-1]
            | p[2:, 1:-1]
            | p[1:-1, :-2]
            | p[1:-1, 2:]
            | p[:-2, :-2]
            | p[:-2, 2:]
            | p[2:, :-2]
            | p[2:, 2:]
        )
    return grown & ~np.asarray(mask, dtype=bool)


def characteristics(frame: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Measured image characteristics of one frame (8-bit gray) and its ground-truth mask.

    ``noise`` (gray levels), ``rms_contrast`` (std / 255), ``brightness`` (mean / 255),
    ``area`` (mask share of the frame), ``nerve_contrast`` (|mean inside - mean in a ring around
    the mask| / 255; NaN without a mask).
    """
    f = np.asarray(frame, dtype=np.float64)
    g = np.asarray(gt, dtype=bool)
    row = {
        "noise": noise_level(f),
        "rms_contrast": float(f.std() / 255.0),
        "brightness": float(f.mean() / 255.0),
        "area": float(g.mean()),
        "nerve_contrast": float("nan"),
    }
    if g.any():
        around = ring(g, max(2, round(0.05 * min(g.shape))))
        if around.any():
            row["nerve_contrast"] = float(abs(f[g].mean() - f[around].mean()) / 255.0)
    return row


def outcome(gt_present: bool, pred_present: bool) -> str:
    """Frame-level result: ``tp``, ``fn`` (missed nerve), ``fp`` (nerve on empty frame), ``tn``."""
    if gt_present:
        return "tp" if pred_present else "fn"
    return "fp" if pred_present else "tn"
