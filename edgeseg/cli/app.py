"""The ``edgeseg`` command line (typer). Verbs are thin: each calls a library function.

Heavy modules (TensorFlow, the interpreter) are imported inside the commands, so ``--help`` is
instant and the device-side verbs never load TensorFlow. ``EdgesegError`` becomes one line on
stderr and exit code 2 (``--debug`` shows the traceback). This module holds the typer apps and
the entry point; the commands live in the ``*_cmds`` modules beside it.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from edgeseg import __version__
from edgeseg.cli.common import DEBUG_ENV

app = typer.Typer(
    help="Ultrasound nerve segmentation from training to a tablet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(help="Make and check datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
calibration_app = typer.Typer(help="Build int8 calibration sets.", no_args_is_help=True)
app.add_typer(calibration_app, name="calibration")


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"edgeseg {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Print version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors and converter logs.")
    ] = False,
) -> None:
    """edgeseg: train a lightweight U-Net, quantize it to int8, run it on a tablet."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


# ----------------------------------------------------------------------------- data


def main() -> None:
    """Console-script entry point; a usage error (bad option value) is one line, exit 2."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any TensorFlow import
    try:
        code = app(prog_name="edgeseg", standalone_mode=False)
    except typer.Abort:
        typer.echo("edgeseg: error: aborted", err=True)
        code = 1
    except Exception as exc:  # click's own errors (typer may vendor click: match by class name)
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "ClickException" not in kinds:
            raise
        if "NoArgsIsHelpError" in kinds:  # `edgeseg` or a group alone: its help
            exc.show()
        elif "UsageError" in kinds and getattr(exc, "ctx", None) is not None:
            hint = f" (see `{exc.ctx.command_path} --help`)"
            typer.echo(f"edgeseg: error: {exc.format_message()}{hint}", err=True)
        else:
            typer.echo(f"edgeseg: error: {exc.format_message()}", err=True)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(main())
