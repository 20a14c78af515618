#!/usr/bin/env python3
"""Render the app's bundled frame sequence: synthetic B-mode phantom frames (no patient data).

    .venv/bin/python android_demo/tools/make_demo_frames.py [--n 24] [--size 256x320]

Writes android_demo/app/src/main/assets/frames/frame_0000.png ... (8-bit gray PNG) with
``edgeseg.train.synth`` (numpy + Pillow): one synthetic subject seen through small probe moves,
some frames without a nerve. The PNGs are git-ignored; rerun this before building the app.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FRAMES = REPO / "android_demo" / "app" / "src" / "main" / "assets" / "frames"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=24, help="number of frames (default 24)")
    ap.add_argument("--size", default="256x320", help="HEIGHTxWIDTH (default 256x320)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=FRAMES)
    args = ap.parse_args(argv)
    try:
        height, width = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"--size {args.size!r}: expected HEIGHTxWIDTH, e.g. 256x320", file=sys.stderr)
        return 2
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from edgeseg.train.synth import write_dataset

    t0 = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("frame_*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        images = write_dataset(
            Path(tmp), args.n, size=(height, width), seed=args.seed, empty_fraction=0.2, subjects=1
        )
        for k, path in enumerate(sorted(images)):
            shutil.copyfile(path, args.out / f"frame_{k:04d}.png")
    size = sum(p.stat().st_size for p in args.out.glob("frame_*.png"))
    print(
        f"wrote {args.n} frames ({size / 1024:.0f} KiB) to {args.out} in "
        f"{time.monotonic() - t0:.1f}s; next: build the app (android_demo/README.md)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
