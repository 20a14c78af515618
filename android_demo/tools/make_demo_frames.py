#!/usr/bin/env python3
"""Render the app's bundled samples: synthetic B-mode phantom frames and a short phantom clip.

    .venv/bin/python android_demo/tools/make_demo_frames.py [--n 8] [--size 256x320]
        [--clip-frames 60] [--clip-fps 30] [--no-clip]

Writes android_demo/app/src/main/assets/frames/frame_0000.png ... (8-bit gray PNG) with
``edgeseg.train.synth`` (numpy + Pillow): one synthetic subject seen through small probe moves,
some frames without a nerve; and assets/clips/phantom_clip.mp4 (H.264, PyAV: the ``video``
extra), a phantom cine loop from ``edgeseg.train.cine`` under a moving probe. No patient data.
Both are committed (small); rerun this to change them. Same seed, same pixels.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "android_demo" / "app" / "src" / "main" / "assets"
FRAMES = ASSETS / "frames"
CLIP = ASSETS / "clips" / "phantom_clip.mp4"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8, help="number of frames (default 8)")
    ap.add_argument("--size", default="256x320", help="HEIGHTxWIDTH (default 256x320)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=FRAMES)
    ap.add_argument("--clip", type=Path, default=CLIP, help="where the phantom clip goes")
    ap.add_argument("--clip-frames", type=int, default=60, help="clip length (default 60)")
    ap.add_argument("--clip-fps", type=float, default=30.0, help="clip frame rate (default 30)")
    ap.add_argument("--no-clip", action="store_true", help="frames only")
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
    clip_note = ""
    if not args.no_clip:
        from edgeseg.errors import EdgesegError

        try:
            clip_note = write_clip(args.clip, args.clip_frames, (height, width), args)
        except EdgesegError as exc:
            print(f"make_demo_frames: {exc}", file=sys.stderr)
            return 2
    print(
        f"wrote {args.n} frames ({size / 1024:.0f} KiB) to {args.out}{clip_note} in "
        f"{time.monotonic() - t0:.1f}s; next: build the app (android_demo/README.md)"
    )
    return 0


def write_clip(path: Path, n: int, size: tuple[int, int], args: argparse.Namespace) -> str:
    """The phantom cine loop as H.264 MP4 (written atomically by ``write_mp4``)."""
    from edgeseg.train.cine import synth_cine
    from edgeseg.train.cine_writers import write_mp4

    cine = synth_cine(n, size=size, seed=args.seed, fps=args.clip_fps)
    write_mp4(cine.frames, path, cine.fps, crf=CLIP_CRF)
    return f" and a {n}-frame clip ({path.stat().st_size / 1024:.0f} KiB) to {path}"


# H.264 quality of the bundled clip: speckle is costly to encode; 30 keeps the clip small and the
# phantom's structures clear (the app segments whatever Android decodes).
CLIP_CRF = 30


if __name__ == "__main__":
    sys.exit(main())
