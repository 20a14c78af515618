"""Frame timing shared by the sources: intervals and the variable-frame-rate test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

VFR_TOLERANCE = 0.02  # intervals spreading more than 2 % around their median: a variable rate


def frame_intervals(times_s: Sequence[float] | np.ndarray) -> np.ndarray:
    """Frame times (any order) -> the intervals between consecutive frames, in seconds."""
    return np.diff(np.sort(np.asarray(times_s, dtype=np.float64)))


def is_variable_rate(intervals: np.ndarray, tolerance: float = VFR_TOLERANCE) -> bool:
    """True when frame intervals differ from their median by more than ``tolerance`` of it."""
    if len(intervals) < 2:
        return False
    median = float(np.median(intervals))
    if median <= 0:
        return True
    return bool(np.max(np.abs(intervals - median)) > tolerance * median)


def variable_rate_note(name: str, frame_rate: float | None) -> str:
    """The one-line note a source adds when its frames are not evenly spaced."""
    return (
        f"{name}: variable frame rate (average {frame_rate or 0:.2f} fps); frame timestamps "
        "follow the file and real-time pacing uses them"
    )
