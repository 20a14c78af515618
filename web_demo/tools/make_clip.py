"""Write the web app's bundled phantom clip: ``web_demo/clip/phantom.png`` + ``phantom.json``.

A synthetic ultrasound phantom (``edgeseg.train.synth``, no patient data) seen through a window
that sweeps across it, like a probe sliding over the skin. The clip is stored as the phantom
(one lossless 8-bit gray PNG, ~30 KiB) and the window's offset per frame, so the page crops
exactly the pixels :func:`clip_frames` returns. Seed 10: the demo model finds its nerve (mean Dice
0.84 on every 4th frame; seed 3 gave 0.03). Usage: ``.venv/bin/python
web_demo/tools/make_clip.py`` (the seed is fixed, so the files are reproducible).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from edgeseg.io import write_bytes_atomic, write_text_atomic
from edgeseg.train.synth import synth_frame

CLIP_DIR = Path(__file__).resolve().parents[1] / "clip"
FRAMES, FPS, HEIGHT, WIDTH, SEED = 48, 12, 240, 320, 10
MARGIN_Y, MARGIN_X = 48, 64


def clip_scene(seed: int = SEED) -> np.ndarray:
    """The phantom the window sweeps over, uint8 (HEIGHT + MARGIN_Y, WIDTH + MARGIN_X)."""
    return synth_frame(np.random.default_rng(seed), (HEIGHT + MARGIN_Y, WIDTH + MARGIN_X))[0]


def clip_offsets() -> list[tuple[int, int]]:
    """(y, x) of the window's top-left corner per frame: one smooth loop."""
    offsets = []
    for k in range(FRAMES):
        t = 2 * math.pi * k / FRAMES
        y = int(round(MARGIN_Y / 2 + (MARGIN_Y / 2 - 4) * math.sin(2 * t)))
        x = int(round(MARGIN_X / 2 + (MARGIN_X / 2 - 2) * math.sin(t)))
        offsets.append((y, x))
    return offsets


def clip_frames(scene: np.ndarray | None = None) -> np.ndarray:
    """The clip as uint8 (FRAMES, HEIGHT, WIDTH)."""
    scene = clip_scene() if scene is None else scene
    return np.stack([scene[y : y + HEIGHT, x : x + WIDTH] for y, x in clip_offsets()])


def main() -> None:
    buf = io.BytesIO()
    Image.fromarray(clip_scene(), mode="L").save(buf, format="PNG", optimize=True)
    write_bytes_atomic(CLIP_DIR / "phantom.png", buf.getvalue())
    info = {
        "frames": FRAMES,
        "fps": FPS,
        "width": WIDTH,
        "height": HEIGHT,
        "offsets": [list(o) for o in clip_offsets()],
        "source": f"synthetic phantom (edgeseg.train.synth, seed {SEED}): no patient data",
    }
    write_text_atomic(CLIP_DIR / "phantom.json", json.dumps(info) + "\n")
    print(f"wrote {CLIP_DIR / 'phantom.png'} ({len(buf.getvalue()) // 1024} KiB, {FRAMES} frames)")


if __name__ == "__main__":
    main()
