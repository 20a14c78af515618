"""How steady a stream's masks are: frame-to-frame Dice and presence flicker, per class.

A mask that jumps between frames is useless to a clinician even when each frame scores well.
For each pair of consecutive processed frames, :class:`Stability` scores the Dice of the two
masks (the ``kaggle`` empty policy of :mod:`edgeseg.metrics`: two empty masks agree, 1.0) and
counts a *flicker* each time a class appears or disappears (the mask goes from empty to
non-empty or back). numpy only; the live parity report uses it for both models of a stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeseg.metrics import dice


def _channels(mask: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(mask)
    return arr[..., None] if arr.ndim == 2 and n == 1 else arr


@dataclass
class Stability:
    """Feed each frame's mask (HxW or HxWxC, {0,1}) in order with :meth:`add`.

    ``classes``: the class names, one per mask channel. :meth:`summary` gives, per class,
    ``dice_mean`` / ``dice_min`` / ``dice_p5`` over consecutive pairs (None with fewer than two
    frames), ``flicker`` (appear/disappear changes), ``present_frames`` and ``frames``.
    """

    classes: Sequence[str]
    frames: int = 0
    dices: list[list[float]] = field(default_factory=list)
    flicker: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)
    _previous: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.classes)
        self.dices = [[] for _ in range(n)]
        self.flicker = [0] * n
        self.present = [0] * n

    def add(self, mask: np.ndarray) -> list[float | None]:
        """Add the next frame's mask; returns its Dice with the previous frame, per class."""
        cur = _channels(mask, len(self.classes)) > 0
        if cur.ndim != 3 or cur.shape[2] != len(self.classes):
            raise ValueError(f"mask shape {np.shape(mask)} for {len(self.classes)} classes")
        prev = self._previous
        if prev is not None and prev.shape != cur.shape:
            prev = None  # the frame size changed: no pair to compare
        out: list[float | None] = []
        for c in range(cur.shape[2]):
            now = bool(cur[..., c].any())
            self.present[c] += now
            if prev is None:
                out.append(None)
                continue
            score = dice(cur[..., c], prev[..., c], "kaggle")
            self.dices[c].append(score)
            self.flicker[c] += now != bool(prev[..., c].any())
            out.append(score)
        self._previous = cur
        self.frames += 1
        return out

    def summary(self) -> dict[str, Any]:
        """Per class name: dice_mean, dice_min, dice_p5, flicker, present_frames; and frames."""
        per: dict[str, Any] = {}
        for c, name in enumerate(self.classes):
            arr = np.asarray(self.dices[c], dtype=np.float64)
            per[name] = {
                "dice_mean": float(arr.mean()) if arr.size else None,
                "dice_min": float(arr.min()) if arr.size else None,
                "dice_p5": float(np.percentile(arr, 5)) if arr.size else None,
                "pairs": int(arr.size),
                "flicker": int(self.flicker[c]),
                "present_frames": int(self.present[c]),
            }
        return {"frames": self.frames, "classes": per}


__all__ = ["Stability"]
