"""``edgeseg data synth|check`` and ``edgeseg calibration build``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from edgeseg.cli.app import calibration_app, data_app
from edgeseg.cli.common import (
    MaxPixels,
    check_out_folder,
    fail,
    say,
    user_errors,
)
from edgeseg.imaging import MAX_PIXELS


@data_app.command("synth")
@user_errors
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write images/ and masks/ into.")],
    n: Annotated[int, typer.Option("--n", min=1, max=1_000_000, help="Number of frames.")] = 200,
    size: Annotated[
        int, typer.Option("--size", min=32, max=2048, help="Frame side in pixels.")
    ] = 128,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    empty_fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of frames with no nerve.")
    ] = 0.25,
    force: Annotated[
        bool, typer.Option(help="Replace the images/ and masks/ of an existing dataset in --out.")
    ] = False,
    video: Annotated[
        bool,
        typer.Option(
            "--video",
            help="Write one phantom cine loop (--n frames) as MP4 and multi-frame DICOM instead.",
        ),
    ] = False,
    width: Annotated[
        int | None,
        typer.Option(min=32, max=4096, help="With --video: frame width (default: --size)."),
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="With --video: frames per second (default 30).")
    ] = None,
    formats: Annotated[
        str | None,
        typer.Option(
            help="With --video: some of mp4,dcm,rle,jpeg,y4m (default mp4,dcm,rle,jpeg; "
            "dcm uncompressed, rle RLE Lossless, jpeg JPEG Baseline, y4m a raw camera file)."
        ),
    ] = None,
    phi_test_header: Annotated[
        bool,
        typer.Option(
            "--phi-test-header",
            help="With --video: put MADE-UP patient identifiers in the DICOM headers "
            "(to test that no output leaks them).",
        ),
    ] = False,
) -> None:
    """Write a synthetic ultrasound phantom dataset (paired folders, nerve=1, vessel=2).

    The dataset is built beside --out and swapped in when complete: Ctrl-C or a full disk
    leaves --out as it was. With --video: one phantom cine loop (moving probe, pulsing vessel,
    speckle changing from frame to frame, a run of frames without the nerve) as cine.mp4,
    cine.dcm, cine_rle.dcm, cine_jpeg.dcm, with its masks in masks.npz.

    \b
    Example: edgeseg data synth --out data/phantoms --n 200 --size 128
    Example: edgeseg data synth --video --out data/cine --n 120 --size 480 --width 640
    """
    from edgeseg.progress import progress_bar
    from edgeseg.train.synth import write_dataset

    check_out_folder(out)
    video_only = {"--width": width, "--fps": fps, "--formats": formats}
    video_only["--phi-test-header"] = phi_test_header or None
    if video:
        _synth_video(out, n, (size, width or size), seed, empty_fraction, fps, formats, force,
                     phi_test_header)  # fmt: skip
        return
    given = [flag for flag, value in video_only.items() if value is not None]
    if given:
        fail(f"{', '.join(given)}: only used with --video (add --video)")
    parts = [out / "images", out / "masks"]
    if not force and any(p.is_dir() and any(p.iterdir()) for p in parts):
        fail(f"--out {out} already holds a dataset: pass --force to replace it")
    start = time.time()
    with progress_bar("synthesizing", n) as bar:
        paths = write_dataset(
            out, n, size=(size, size), seed=seed, empty_fraction=empty_fraction,
            progress=bar.advance,
        )  # fmt: skip
    say(
        f"wrote {len(paths)} frames to {out} in {time.time() - start:.1f}s; "
        f"next: edgeseg data check {out}"
    )


def _synth_video(
    out: Path,
    n: int,
    size: tuple[int, int],
    seed: int,
    empty_fraction: float,
    fps: float | None,
    formats: str | None,
    force: bool,
    phi_test_header: bool,
) -> None:
    """``data synth --video``: one phantom cine loop in the asked formats, with its masks."""
    from edgeseg.progress import progress_bar
    from edgeseg.train.cine import check_cine_options, synth_cine
    from edgeseg.train.cine_set import CINE_FILES, DEFAULT_FORMATS, parse_formats, write_cine_set
    from edgeseg.train.cine_writers import PHI_TEST_IDENTIFIERS

    fps = 30.0 if fps is None else fps
    chosen = parse_formats(formats) if formats is not None else DEFAULT_FORMATS
    check_cine_options(n, size, fps, empty_fraction)
    if any(size[i] % 2 for i in (0, 1)) and {"mp4", "y4m"} & set(chosen):
        fail(f"--size/--width {size[1]}x{size[0]}: MP4 and Y4M need an even width and height")
    ours = [out / CINE_FILES[f] for f in CINE_FILES] + [out / "masks.npz"]
    if not force and any(p.exists() for p in ours):
        fail(f"--out {out} already holds a cine: pass --force to replace it")
    start = time.time()
    with progress_bar("rendering frames", n) as bar:
        cine = synth_cine(n, size, seed=seed, fps=fps, empty_fraction=empty_fraction,
                          progress=bar.advance)  # fmt: skip
    with progress_bar("writing files", len(chosen)) as bar:
        identifiers = PHI_TEST_IDENTIFIERS if phi_test_header else None
        paths = write_cine_set(out, cine, chosen, seed, identifiers, progress=bar.advance)
    total = sum(p.stat().st_size for p in paths)
    first = paths[0]
    say(
        f"wrote {n} frames of {size[1]}x{size[0]} at {fps:g} fps as "
        f"{', '.join(p.name for p in paths[:-1])} to {out} ({total / 1e6:.1f} MB) in "
        f"{time.time() - start:.1f}s; next: edgeseg stream MODEL --source {first} --out OUT"
    )


@data_app.command("check")
@user_errors
def data_check(
    data: Annotated[Path, typer.Argument(help="Dataset folder (paired or Kaggle layout).")],
    classes: Annotated[str | None, typer.Option(help="Class map, e.g. nerve=1,vessel=2.")] = None,
    layout: Annotated[str, typer.Option(help="auto, kaggle or paired.")] = "auto",
    subject_regex: Annotated[
        str | None, typer.Option(help="As for train: the subject is the first group.")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="As for train: a CSV with columns image,subject.")
    ] = None,
    max_pixels: MaxPixels = MAX_PIXELS,
) -> None:
    """Counts, sizes, empty masks, unreadable files, mismatches, contradictory duplicates.

    Exits 1 if the data is not usable as it is.

    \b
    Example: edgeseg data check ../shared/data/usgra-seg/dataset --classes nerve=1,vessel=2
    """
    from edgeseg.config import parse_classes
    from edgeseg.datacheck import check_dataset
    from edgeseg.datasets import LAYOUTS, require_folder
    from edgeseg.progress import progress_bar

    require_folder(data, "dataset folder", "pass a dataset folder")  # usage mistakes: exit 2
    if layout not in LAYOUTS:
        fail(f"--layout {layout}: expected {', '.join(LAYOUTS)}")
    with progress_bar("checking") as bar:
        report = check_dataset(
            data,
            parse_classes(classes),
            layout,
            bar.advance,
            bar.total,
            max_pixels,
            subject_regex=subject_regex,
            manifest=manifest,
        )
    for line in report.lines():
        say(line)
    if not report.usable:
        raise typer.Exit(1)


@calibration_app.command("build")
@user_errors
def calibration_build(
    source: Annotated[Path, typer.Option("--from", help="A dataset folder to pick frames from.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the calibration set.")] = Path(
        "calibration_data"
    ),
    n: Annotated[int, typer.Option("--n", min=8, max=100_000, help="How many frames.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the pick.")] = 0,
    force: Annotated[bool, typer.Option(help="Replace an existing set.")] = False,
    max_pixels: MaxPixels = MAX_PIXELS,
) -> None:
    """Pick a representative subset (intensity, contrast, mask area, empty frames, subjects)."""
    from edgeseg.convert.calibration import build_calibration_set
    from edgeseg.progress import progress_bar

    with progress_bar("reading frames") as bar:
        manifest = build_calibration_set(
            source, out, n=n, seed=seed, force=force, progress=bar.advance, max_pixels=max_pixels
        )
    written = len(manifest.read_text().splitlines()) - 1  # one row per frame under a header
    if written < n:
        typer.echo(
            f"edgeseg: warning: {source} has only {written} usable frames: wrote all of them, "
            f"not {n}",
            err=True,
        )
    say(
        f"wrote {written} frames and {manifest}; "
        f"next: edgeseg convert RUN_DIR --int8 --calibration {out}"
    )
