"""``edgeseg data fetch`` and ``edgeseg data pack``: data past one folder (docs/scale.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeseg.cli.app import data_app
from edgeseg.cli.common import MaxPixels, check_out_folder, require_tensorflow, say, user_errors
from edgeseg.imaging import MAX_PIXELS


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


@data_app.command("fetch")
@user_errors
def data_fetch(
    name: Annotated[str, typer.Argument(help="The data set: kaggle-uns.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to unpack the training frames into.")],
    from_zip: Annotated[
        Path | None,
        typer.Option("--from-zip", help="Use an archive downloaded elsewhere (offline machines)."),
    ] = None,
    keep_zip: Annotated[
        Path | None, typer.Option(help="Keep the downloaded archive at this path.")
    ] = None,
    expect_frames: Annotated[
        int | None,
        typer.Option(min=1, help="Frames the archive must hold (default: the competition's)."),
    ] = None,
    expect_subjects: Annotated[
        int | None,
        typer.Option(min=1, help="Subjects it must hold (default: the competition's)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a non-empty --out.")] = False,
) -> None:
    """Download a Kaggle data set with the official kaggle package, check it, unpack it.

    Credentials are found where the Kaggle CLI finds them (KAGGLE_API_TOKEN,
    ~/.kaggle/access_token, KAGGLE_USERNAME + KAGGLE_KEY, kaggle.json in KAGGLE_CONFIG_DIR or
    ~/.kaggle). Accept the competition's rules on kaggle.com first. An interrupted download
    resumes from its .part file; --out is replaced only by a complete, checked data set.

    \b
    Example: edgeseg data fetch kaggle-uns --out data/kaggle-uns
    Offline: edgeseg data fetch kaggle-uns --from-zip ultrasound-nerve-segmentation.zip --out DIR
    """
    import sys
    import time

    from edgeseg.progress import progress_bar
    from edgeseg.train.kaggle_fetch import install, obtain, plan_fetch

    check_out_folder(out)
    start = time.time()
    plan = plan_fetch(
        name, out, from_zip=from_zip, force=force, keep_zip=keep_zip,
        expect_frames=expect_frames, expect_subjects=expect_subjects,
    )  # fmt: skip
    path, downloaded = obtain(plan, show_progress=sys.stderr.isatty())  # kaggle's own bar
    with progress_bar("unpacking") as bar:
        result = install(plan, path, downloaded, bar.advance, bar.total)
    source = "downloaded" if result.downloaded else f"from {from_zip}"
    say(
        f"unpacked {result.frames:,} training frames with masks of {result.subjects} subjects "
        f"({source}, sha256 {result.sha256[:12]}...) into {result.out} in "
        f"{time.time() - start:.0f}s; next: edgeseg data check {result.out}"
    )


@data_app.command("pack")
@user_errors
def data_pack(
    data: Annotated[Path, typer.Argument(help="Dataset folder (paired or Kaggle layout).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the shards and shards.json.")],
    size: Annotated[
        int | None,
        typer.Option(help="Store frames at SIZExSIZE (default: their stored size)."),
    ] = None,
    layout: Annotated[str, typer.Option(help="auto, kaggle or paired.")] = "auto",
    subject_regex: Annotated[
        str | None, typer.Option(help="As for train: the subject is the first group.")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="As for train: a CSV with columns image,subject.")
    ] = None,
    frames_per_shard: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Frames per TFRecord file.")
    ] = 500,
    strict: Annotated[
        bool, typer.Option(help="Stop at the first bad frame (default: skip, count, list).")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace a non-empty --out.")] = False,
    max_pixels: MaxPixels = MAX_PIXELS,
) -> None:
    """Pack a dataset folder into TFRecord shards that `edgeseg train --data SHARDS` streams.

    Frames without a mask, unreadable frames and masks of another size are skipped and
    counted (each listed in shards.json with its reason); --strict stops at the first.

    \b
    Example: edgeseg data pack data/kaggle-uns --out data/kaggle-uns-shards
    """
    from edgeseg.progress import progress_bar

    check_out_folder(out)
    require_tensorflow()
    from edgeseg.train.shards import pack

    with progress_bar("packing") as bar:
        result = pack(
            data, out, size=size, layout=layout, subject_regex=subject_regex, manifest=manifest,
            frames_per_shard=frames_per_shard, strict=strict, force=force,
            max_pixels=max_pixels, progress=bar.advance, total=bar.total,
        )  # fmt: skip
    sizes = ", ".join(f"{k} ({v})" for k, v in list(result.sizes.items())[:3])
    if result.skipped:
        typer.echo(
            f"edgeseg: warning: skipped {len(result.skipped)} frame(s), listed in "
            f"{result.out}/shards.json; first: {result.skipped[0][1]}",
            err=True,
        )
    say(
        f"packed {result.frames:,} frames of {result.subjects} subjects (sizes {sizes}) into "
        f"{result.shards} shard(s), {_size(result.bytes)}, in {result.out}; "
        f"next: edgeseg train --data {result.out} --out runs/RUN"
    )
