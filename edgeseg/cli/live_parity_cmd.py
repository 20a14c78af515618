"""``edgeseg parity --source CLIP``: the CLI half of parity without labels (called by
``report_cmds.parity``; no command of its own)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgeseg.cli.common import require_tensorflow, say
from edgeseg.errors import ConfigError
from edgeseg.evaluation.verdict import Tolerances


def _warn(message: str) -> None:
    typer.echo(f"edgeseg: warning: {message}", err=True)


def live_parity(
    reference: Path,
    tflite: Path,
    source: str,
    out: Path,
    tolerances: Tolerances,
    qat: bool | None,
    limit: int | None,
    overlays: int,
    block: int,
    threads: int | None,
    credit: str,
) -> None:
    """Compare ``tflite`` with ``reference`` (a float ``.tflite`` or a run folder) on a clip;
    exits with the verdict's code."""
    from edgeseg.evaluation.live_run import FLOAT_TFLITE, INT8, run_live_parity, tflite_model

    if reference.is_file() and reference.suffix.lower() == ".tflite":
        if qat:
            raise ConfigError("--qat needs --float RUN_DIR (a .tflite reference has no QAT model)")
        references, baselines = [tflite_model(reference, FLOAT_TFLITE, threads)], []
        describe = {"reference": str(reference)}
    elif reference.is_dir():
        require_tensorflow()
        from edgeseg.train.live_parity_run import keras_references

        references, baselines = keras_references(reference, qat)
        describe = {"run_dir": str(reference)}
    else:
        raise ConfigError(
            f"--float {reference}: expected a run folder or a float .tflite file "
            "(e.g. RUN/export/model_float32.tflite)"
        )
    candidate = tflite_model(tflite, INT8, threads)
    report = run_live_parity(
        source,
        candidate,
        references,
        out,
        baselines=baselines,
        tolerances=tolerances,
        limit=limit,
        block=block,
        overlays=overlays,
        credit=credit,
        progress=say,
        warn=_warn,
        describe={**describe, "tflite": str(tflite)},
    )
    for reason in report["verdict"]["reasons"]:
        say(f"  {reason}")
    say(report["line"])
    raise typer.Exit(report["verdict"]["exit_code"])


__all__ = ["live_parity"]
