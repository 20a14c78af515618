"""Golden cases for reading frames (runtime contract, section 0), written by make_golden.py.

Kinds: ``frame_read`` (a stored gray frame -> reduced by the oversized-frame rule -> turned
upright by an EXIF orientation, from ``edgeseg.imaging``), ``reduce_factors`` (frame sizes ->
reduction factor at the default limit, no arrays) and ``drop_order`` (frame arrival times and
processing times -> which frames the segmenter takes, from ``edgeseg.edge_runtime.live``'s
``NewestSlot`` driven by a simulated clock).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from golden_writer import Case, phantom

from edgeseg.edge_runtime.live import Arrival, NewestSlot
from edgeseg.edge_runtime.sources.base import SourceFrame
from edgeseg.imaging import FRAME_PIXELS, orient_gray, reduce_factor, reduce_gray

# name, description, phantom seed, stored (h, w), pixel limit, EXIF orientation
FRAME_READ_CASES = [
    ("read_rotated_6", "EXIF 6 (rotate 90 clockwise), not reduced", 41, (97, 131), None, 6),
    ("read_rotated_5", "EXIF 5 (transpose), not reduced", 42, (60, 45), None, 5),
    ("read_rotated_7", "EXIF 7 (transverse), not reduced", 43, (33, 70), None, 7),
    ("read_oversized", "301x203 above a 10,000-pixel limit: factor 3, edge blocks", 44,
     (203, 301), 10_000, 1),
    ("read_oversized_rotated_8", "reduced by 2 in stored orientation, then EXIF 8", 45,
     (150, 257), 12_000, 8),
]  # fmt: skip

# stored sizes (w, h) whose factor at FRAME_PIXELS the Java rule must reproduce
FACTOR_SIZES = [
    (2048, 2048), (2049, 2048), (4096, 4096), (4097, 4096), (6000, 4000), (6120, 4080),
    (4032, 3024), (8000, 5000), (640, 480), (1, 4_194_304), (1, 4_194_305), (12000, 9),
]  # fmt: skip


def frame_read_cases(root: Path) -> None:
    for name, description, seed, (h, w), limit, orientation in FRAME_READ_CASES:
        stored, _ = phantom(seed, h, w)
        limit = FRAME_PIXELS if limit is None else limit
        factor = reduce_factor(w, h, limit)
        reduced = reduce_gray(stored, factor)
        case = Case(root, name, "frame_read", description)
        case.array("stored", stored)
        case.array("reduced", reduced)
        case.array("oriented", orient_gray(reduced, orientation))
        case.doc.update(max_pixels=limit, factor=factor, orientation=orientation)
        case.finish()

    case = Case(root, "reduce_factors", "reduce_factors", "reduction factors at FRAME_PIXELS")
    case.doc["max_pixels"] = FRAME_PIXELS
    case.doc["sizes"] = [[w, h, reduce_factor(w, h)] for w, h in FACTOR_SIZES]
    case.finish()


def taken_order(arrivals_us: list[int], busy_us: list[int]) -> list[int]:
    """Frames the segmenter takes: the runtime's NewestSlot, with a simulated clock.

    Frame i arrives at ``arrivals_us[i]``; processing it takes ``busy_us[i]``. Whenever the
    segmenter is free at time t, every frame that arrived by t is put in the slot (replacing
    an untaken one), then it takes what the slot holds, or waits for the next arrival.
    """
    slot = NewestSlot()
    empty = np.zeros((1, 1), np.uint8)
    t, nxt, taken = 0, 0, []
    while True:
        while nxt < len(arrivals_us) and arrivals_us[nxt] <= t:
            slot.put(Arrival(SourceFrame(empty, nxt, arrivals_us[nxt] / 1e6, "sim"), 0.0))
            nxt += 1
        if slot.waiting:
            item = slot.take()
            taken.append(item.frame.index)
            t += busy_us[item.frame.index]
        elif nxt < len(arrivals_us):
            t = arrivals_us[nxt]
        else:
            break
    assert slot.dropped == len(arrivals_us) - len(taken)
    return taken


def drop_order_cases(root: Path) -> None:
    rng = np.random.default_rng(77)
    n = 90
    # 30 frames/s (timestamps as a video container rounds them) with a jittery, sometimes slow
    # segmenter: 10..60 ms per frame, a 250 ms stall at frame 40
    arrivals = [round(i * 1_000_000 / 30) for i in range(n)]
    busy = [int(v) for v in rng.integers(10_000, 60_000, n)]
    busy[40] = 250_000
    # a variable-rate stream: bursts and a gap, arrival times not on a grid
    gaps = rng.choice([2_000, 5_000, 33_000, 120_000], size=n, p=[0.3, 0.3, 0.3, 0.1])
    arrivals_var = [int(v) for v in np.cumsum(gaps) - gaps[0]]
    busy_var = [int(v) for v in rng.integers(1_000, 40_000, n)]
    for name, description, arr, dur in [
        ("drop_order_30fps", "30 frames/s, 10-60 ms per frame, one 250 ms stall", arrivals, busy),
        ("drop_order_bursty", "bursts and gaps, 1-40 ms per frame", arrivals_var, busy_var),
    ]:
        taken = taken_order(arr, dur)
        case = Case(root, name, "drop_order", description)
        case.doc.update(arrivals_us=arr, busy_us=dur, taken=taken, dropped=len(arr) - len(taken))
        case.finish()
