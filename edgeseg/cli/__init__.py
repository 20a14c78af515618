"""The ``edgeseg`` command line: ``app`` (typer) and ``main`` (the console script)."""

# isort: off  (import order is the order of the commands in --help: the workflow's order)
from edgeseg.cli import data_cmds, train_cmds, convert_cmds, report_cmds, runtime_cmds  # noqa: F401
from edgeseg.cli.app import app, main

# isort: on

__all__ = ["app", "main"]
