"""``edgeseg predict``, ``stream`` and ``benchmark``: the device-side verbs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeseg.cli.app import app
from edgeseg.cli.common import (
    Backend,
    Delegate,
    InputSize,
    LargestComponent,
    MinArea,
    PresenceGate,
    PresenceThreshold,
    StrictDelegate,
    Threads,
    Threshold,
    check_out_file,
    fail,
    postprocess_overrides,
    runtime_options,
    runtime_warnings_as_lines,
    say,
    user_errors,
)


@app.command()
@user_errors
def predict(
    model: Annotated[Path, typer.Argument(help="A .tflite model (edgeseg metadata inside).")],
    images: Annotated[list[Path], typer.Argument(help="Image files or folders.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for masks and overlays.")],
    overlay: Annotated[bool, typer.Option(help="Also write <stem>_overlay.png.")] = True,
    dicom_seg: Annotated[
        Path | None,
        typer.Option(
            "--dicom-seg",
            help="With one DICOM file as input: also write its masks as a DICOM Segmentation "
            "referencing it (carries the patient's identity, by the standard).",
        ),
    ] = None,
    threshold: Threshold = None,
    min_area: MinArea = None,
    largest_component: LargestComponent = None,
    presence_gate: PresenceGate = None,
    presence_threshold: PresenceThreshold = None,
    backend: Backend = "auto",
    delegate: Delegate = "auto",
    threads: Threads = None,
    strict_delegate: StrictDelegate = False,
    input_size: InputSize = None,
) -> None:
    """Segment images with a .tflite model: <stem>_mask.png and <stem>_overlay.png.

    \b
    Example: edgeseg predict model_int8.tflite frames/ --out masks/
    """
    from edgeseg.edge_runtime.predict import predict as run_predict
    from edgeseg.progress import per_event, progress_bar

    check_out_file(dicom_seg, "--dicom-seg")
    runtime_warnings_as_lines()
    overrides = postprocess_overrides(
        threshold, min_area, largest_component, presence_gate, presence_threshold
    )
    with progress_bar("segmenting") as bar:
        summary = run_predict(
            model,
            images,
            out,
            overlay=overlay,
            progress=per_event(bar),
            dicom_seg=dicom_seg,
            **runtime_options(backend, delegate, threads, input_size, strict_delegate),
            **overrides,
        )
    for _source, reason in summary.failed:
        typer.echo(f"edgeseg: warning: skipped {reason}", err=True)
    say(summary.line())
    if summary.failed and len(summary.failed) == summary.images:
        fail(f"none of the {summary.images} images could be read: nothing was written")


@app.command()
@user_errors
def stream(
    model: Annotated[Path, typer.Argument(help="A .tflite model.")],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="A video (MP4, AVI, MOV, MKV), DICOM cine, multi-page TIFF, folder of frames "
            "or capture device (/dev/videoN).",
        ),
    ] = None,
    frames: Annotated[
        Path | None,
        typer.Option(
            "--frames",
            help="Folder of frames, the older form: --out gets <frame>_mask.png and "
            "<frame>_overlay.png per frame; unreadable frames are skipped.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write overlay.mp4, frames.csv (masks/ with --masks), summary.json."),
    ] = None,
    realtime: Annotated[
        bool,
        typer.Option(
            help="Play a file at its own frame rate: segment the newest frame, drop stale ones "
            "(a device is always real time)."
        ),
    ] = False,
    overlay_video: Annotated[
        bool, typer.Option(help="Write overlay.mp4 (H.264) into --out.")
    ] = True,
    masks: Annotated[bool, typer.Option(help="Write masks/frame_NNNNNN_mask.png into --out.")] = (
        False
    ),
    fps: Annotated[
        float | None,
        typer.Option("--fps", help="Frame rate of a folder, TIFF or device (they carry none)."),
    ] = None,
    smoothing: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Temporal smoothing of probabilities (0-0.99).")
    ] = 0.0,
    limit: Annotated[int | None, typer.Option(help="Stop after this many frames.")] = None,
    prefetch: Annotated[
        bool, typer.Option(help="Decode the next frame while this one runs (2 cores).")
    ] = True,
    dicom_seg: Annotated[
        Path | None,
        typer.Option(
            "--dicom-seg",
            help="With a DICOM --source: also write the masks as a DICOM Segmentation "
            "referencing it (carries the patient's identity, by the standard).",
        ),
    ] = None,
    threshold: Threshold = None,
    min_area: MinArea = None,
    largest_component: LargestComponent = None,
    presence_gate: PresenceGate = None,
    presence_threshold: PresenceThreshold = None,
    backend: Backend = "auto",
    delegate: Delegate = "auto",
    threads: Threads = None,
    strict_delegate: StrictDelegate = False,
    input_size: InputSize = None,
) -> None:
    """Segment a video, DICOM cine, folder or live device frame by frame; print FPS and latency.

    \b
    Example: edgeseg stream model_int8.tflite --source clip.mp4 --out run1/
             edgeseg stream model_int8.tflite --source cine.dcm --realtime --out run2/
             edgeseg stream model_int8.tflite --source /dev/video0 --out live/
    """
    if (source is None) == (frames is None):
        fail("pass one of --source (a video, DICOM, TIFF, folder or /dev/videoN) or --frames")
    runtime_warnings_as_lines()
    overrides = postprocess_overrides(
        threshold, min_area, largest_component, presence_gate, presence_threshold
    )
    options = runtime_options(backend, delegate, threads, input_size, strict_delegate)
    if frames is not None:
        if realtime or masks or fps is not None or dicom_seg is not None:
            fail(
                "--realtime, --masks, --fps and --dicom-seg go with --source (e.g. --source FOLDER)"
            )
        _stream_folder(model, frames, out, smoothing, limit, prefetch, options, overrides)
        return
    check_out_file(dicom_seg, "--dicom-seg")
    from edgeseg.edge_runtime.live_stream import stream_source
    from edgeseg.progress import per_event, progress_bar

    done = [0]

    def note(line: str) -> None:
        typer.echo(f"edgeseg: warning: {line}", err=True)

    with progress_bar("streaming") as bar:
        advance = per_event(bar)

        def on_event(event) -> None:
            done[0] += bool(event.ok)
            advance(event)

        try:
            summary = stream_source(
                model,
                source,
                out_dir=out,
                realtime=realtime,
                overlay_video=overlay_video,
                masks=masks,
                smoothing=smoothing,
                limit=limit,
                prefetch=prefetch,
                frame_rate=fps,
                progress=on_event,
                on_note=note,
                dicom_seg=dicom_seg,
                **options,
                **overrides,
            )
        except KeyboardInterrupt:
            kept = f"; what was written is in {out} (summary.json: incomplete)" if out else ""
            fail(f"interrupted after {done[0]} frames{kept}", 130)
    say(summary.line())
    if summary.processed == 0:
        fail(f"none of the {summary.received} frames of {summary.source} could be read")


def _stream_folder(model, frames, out, smoothing, limit, prefetch, options, overrides) -> None:
    """``stream --frames FOLDER``: per-frame PNGs named after the frames (the older form)."""
    from edgeseg.edge_runtime.predict import stream as run_stream
    from edgeseg.progress import per_event, progress_bar

    with progress_bar("streaming") as bar:
        summary = run_stream(
            model,
            frames,
            progress=per_event(bar),
            smoothing=smoothing,
            out_dir=out,
            limit=limit,
            prefetch=prefetch,
            **options,
            **overrides,
        )
    say(summary.line())
    if summary.processed == 0:
        fail(f"none of the {summary.skipped} frames in {frames} could be read")


@app.command()
@user_errors
def benchmark(
    models: Annotated[list[Path], typer.Argument(help="One or more .tflite models.")],
    backends: Annotated[str, typer.Option(help="Comma-separated backends.")] = "auto",
    delegates: Annotated[str, typer.Option(help="Comma-separated delegates.")] = "auto",
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts, e.g. 1,2.")] = "1",
    runs: Annotated[int, typer.Option(min=1, max=100_000, help="Timed invocations per row.")] = 50,
    warmup: Annotated[
        int, typer.Option(min=0, max=10_000, help="Untimed warm-up invocations.")
    ] = 5,
    frame: Annotated[Path | None, typer.Option(help="Frame for end-to-end timing.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write rows as JSON.")] = None,
    input_size: InputSize = None,
) -> None:
    """Init, warm-up, latency p50/p90/p99, FPS, memory, size per model, backend, delegate.

    \b
    Example: edgeseg benchmark model_int8.tflite model_float32.tflite --threads 1,2
      --json bench.json
    """
    from edgeseg.edge_runtime.benchmark import benchmark as run_benchmark
    from edgeseg.edge_runtime.benchmark import format_table, write_json
    from edgeseg.progress import progress_bar

    check_out_file(json_out, "--json")
    if json_out is not None:
        from edgeseg.io import check_not_overlapping

        inputs = [("MODELS", m) for m in models] + ([("--frame", frame)] if frame else [])
        check_not_overlapping(json_out, inputs, "--json")
    try:
        threads_list = tuple(int(t) for t in threads.split(","))
    except ValueError:
        fail(f"--threads {threads!r}: expected thread counts like 1 or 1,2,4")
    from edgeseg.edge_runtime.interpreter import check_threads

    for count in threads_list:
        check_threads(count)
    runtime_warnings_as_lines()
    backend_list = tuple(b.strip() for b in backends.split(",") if b.strip())
    delegate_list = tuple(d.strip() for d in delegates.split(",") if d.strip())
    rows_to_run = len(models) * len(backend_list) * len(delegate_list) * len(threads_list)
    with progress_bar("benchmarking", rows_to_run) as bar:
        rows = run_benchmark(
            models,
            backends=backend_list,
            delegates=delegate_list,
            threads_list=threads_list,
            runs=runs,
            warmup=warmup,
            frame=frame,
            input_size=input_size,
            progress=lambda _row: bar.advance(1),
        )
    say(format_table(rows))
    if json_out:
        write_json(rows, json_out)
        say(f"wrote {json_out}")
    if all("error" in row for row in rows):
        fail("no row could run (see the errors above)")
