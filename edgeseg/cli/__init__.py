"""The ``edgeseg`` command line: ``app`` (typer) and ``main`` (the console script)."""

# Importing the command modules registers their commands, in this order in --help.
from edgeseg.cli import data_cmds, train_cmds, convert_cmds, report_cmds, runtime_cmds  # noqa: F401, I001
from edgeseg.cli import web_cmds  # noqa: F401, I001
from edgeseg.cli import scale_cmds  # noqa: F401, I001
from edgeseg.cli.app import app, main

__all__ = ["app", "main"]
