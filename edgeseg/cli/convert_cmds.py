"""``edgeseg convert``: a run -> a .tflite with edgeseg metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeseg.cli.app import app
from edgeseg.cli.common import (
    debug_enabled,
    fail,
    require_tensorflow,
    say,
    user_errors,
)


@app.command()
@user_errors
def convert(
    run_dir: Annotated[Path, typer.Argument(help="A run directory from edgeseg train.")],
    int8: Annotated[bool, typer.Option("--int8", help="Full-integer int8 (calibrated).")] = False,
    float16: Annotated[bool, typer.Option("--float16", help="float16 weights.")] = False,
    dynamic: Annotated[bool, typer.Option("--dynamic", help="Dynamic-range int8 weights.")] = False,
    model: Annotated[
        str,
        typer.Option(
            help="auto (int8: the QAT model if there is one, else best), qat, best, last."
        ),
    ] = "auto",
    calibration: Annotated[
        Path | None,
        typer.Option(
            help="Calibration frames (default: ./calibration_data if it exists, else the "
            "bundled synthetic set)."
        ),
    ] = None,
    io: Annotated[str | None, typer.Option(help="Input/output type: uint8, int8 or float32.")] = (
        None
    ),
    out: Annotated[Path | None, typer.Option(help="Output file or folder.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output.")] = False,
    allow_float_ops: Annotated[
        bool, typer.Option(help="Accept float compute ops in an int8 model.")
    ] = False,
    debug_quantization: Annotated[
        bool, typer.Option(help="Per-layer quantization error table (JSON + worst 10).")
    ] = False,
    edgetpu: Annotated[
        bool, typer.Option(help="Check ops for the Edge TPU; compile if edgetpu_compiler exists.")
    ] = False,
) -> None:
    """Export to TensorFlow Lite (default float32) with edgeseg metadata inside.

    \b
    Example: edgeseg convert runs/usgra-nerve --int8 (writes runs/usgra-nerve/export/)
    """
    require_tensorflow()
    from edgeseg.convert.tflite import export

    chosen = [
        name for name, on in (("int8", int8), ("float16", float16), ("dynamic", dynamic)) if on
    ]
    if len(chosen) > 1:
        fail(f"choose one of --int8, --float16, --dynamic (got {', '.join(chosen)})")
    result = export(
        run_dir,
        variant=chosen[0] if chosen else "float32",
        which=model,
        calibration=calibration,
        io=io,
        out=out,
        force=force,
        allow_float_ops=allow_float_ops,
        debug_quantization=debug_quantization,
        edgetpu=edgetpu,
        progress=say,
        native_log=debug_enabled(),
    )
    if result.op_histogram:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(result.op_histogram.items()))
        say(f"operators: {ops}")
    if result.worst_layers:
        from edgeseg.convert.quant_debug import format_rows

        for line in format_rows(result.worst_layers):
            say(line)
    for warning in result.warnings:
        typer.echo(f"edgeseg: warning: {warning}", err=True)
    say(result.summary())
