"""The ``edgeseg`` command line (typer). Verbs are thin: each calls a library function.

Heavy modules (TensorFlow, the interpreter) are imported inside the commands, so ``--help`` is
instant and the device-side verbs never load TensorFlow. ``EdgesegError`` becomes one line on
stderr and exit code 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from edgeseg import __version__
from edgeseg.config import QAT_LEARNING_RATE
from edgeseg.errors import DependencyError, EdgesegError

app = typer.Typer(
    help="Ultrasound nerve segmentation from training to a tablet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(help="Make and check datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def say(message: str) -> None:
    typer.echo(message)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"edgeseg: error: {message}", err=True)
    raise typer.Exit(code)


def user_errors(fn):
    """Turn EdgesegError into one line + exit 2, unless --debug was given."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EdgesegError as exc:
            if os.environ.get("EDGESEG_DEBUG"):
                raise
            fail(str(exc), exc.exit_code)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            if os.environ.get("EDGESEG_DEBUG"):
                raise
            fail(path_kind_message(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def path_kind_message(exc: OSError) -> str:
    """One line for a file where a folder belongs, or the reverse."""
    where = exc.filename or "a path"
    if isinstance(exc, IsADirectoryError):
        return f"{where} is a folder, but a file is needed there: choose another path"
    return f"{where} (or a folder above it) is a file, but a folder is needed: choose another path"


def check_out_folder(path: Path | None, flag: str = "--out") -> None:
    """Fail before any work when ``path`` (or a parent) exists but is not a folder."""
    if path is not None:
        from edgeseg.io import check_output_folder

        check_output_folder(path, flag)


def check_learning_rate(lr: float) -> None:
    if not lr > 0:
        fail(f"--lr {lr}: the learning rate must be above 0")


def check_out_file(path: Path | None, flag: str) -> None:
    """Fail before any work when ``path`` is a folder or its parent is a file."""
    if path is None:
        return
    if Path(path).is_dir():
        fail(f"{flag} {path}: is a folder; give a file name, e.g. {Path(path) / 'out.json'}")
    check_out_folder(Path(path).parent, flag)


def require_tensorflow() -> None:
    """A clear message when the host-side extra is missing."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeseg.edge_runtime.interpreter import captured_stderr

    try:
        with captured_stderr():  # TensorFlow's native start-up lines (oneDNN, CUDA probe)
            import tensorflow  # noqa: F401
            import tf_keras  # noqa: F401
    except ImportError as exc:
        raise DependencyError(
            f"this command trains or converts models and needs TensorFlow ({exc.name} is "
            "missing): pip install 'edgeseg[train]'"
        ) from exc


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
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """edgeseg: train a lightweight U-Net, quantize it to int8, run it on a tablet."""
    if debug:
        os.environ["EDGESEG_DEBUG"] = "1"


# ----------------------------------------------------------------------------- data
@data_app.command("synth")
@user_errors
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write images/ and masks/ into.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of frames.")] = 200,
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
) -> None:
    """Write a synthetic ultrasound phantom dataset (paired folders, nerve=1, vessel=2).

    \b
    Example: edgeseg data synth --out data/phantoms --n 200 --size 128
    """
    import shutil

    from edgeseg.progress import progress_bar
    from edgeseg.train.synth import write_dataset

    check_out_folder(out)
    parts = [out / "images", out / "masks"]
    if any(p.exists() and any(p.iterdir()) for p in parts):
        if not force:
            fail(f"--out {out} already holds a dataset: pass --force to replace it")
        for part in parts:
            shutil.rmtree(part, ignore_errors=True)
    new = not out.exists()
    start = time.time()
    try:
        with progress_bar("synthesizing", n) as bar:
            paths = write_dataset(
                out,
                n,
                size=(size, size),
                seed=seed,
                empty_fraction=empty_fraction,
                progress=bar.advance,
            )
    except BaseException:
        if new:  # nothing half-written: a new folder goes again
            shutil.rmtree(out, ignore_errors=True)
        raise
    say(
        f"wrote {len(paths)} frames to {out} in {time.time() - start:.1f}s; "
        f"next: edgeseg data check {out}"
    )


@data_app.command("check")
@user_errors
def data_check(
    data: Annotated[Path, typer.Argument(help="Dataset folder (paired or Kaggle layout).")],
    classes: Annotated[str | None, typer.Option(help="Class map, e.g. nerve=1,vessel=2.")] = None,
    layout: Annotated[str, typer.Option(help="auto, kaggle or paired.")] = "auto",
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
        report = check_dataset(data, parse_classes(classes), layout, bar.advance, bar.total)
    for line in report.lines():
        say(line)
    if not report.usable:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------- train
@app.command()
@user_errors
def train(
    data: Annotated[Path, typer.Option("--data", help="Training data folder.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Run directory to write.")] = Path("runs/run"),
    val_data: Annotated[
        Path | None, typer.Option(help="Separate validation folder (else a subject-wise split).")
    ] = None,
    layout: Annotated[str, typer.Option(help="auto, kaggle or paired.")] = "auto",
    classes: Annotated[
        str | None, typer.Option(help="Class map NAME=VALUE,... (default nerve=1).")
    ] = None,
    subject_regex: Annotated[
        str | None, typer.Option(help="Regex whose first group is the subject (paired layout).")
    ] = None,
    manifest: Annotated[Path | None, typer.Option(help="CSV with columns image,subject.")] = None,
    val_fraction: Annotated[
        float, typer.Option(min=0.05, max=0.5, help="Validation share of frames.")
    ] = 0.2,
    size: Annotated[int, typer.Option(min=32, help="Model input side (multiple of 16).")] = 128,
    normalize: Annotated[str, typer.Option(help="none, percentile or equalize.")] = "percentile",
    clahe: Annotated[bool, typer.Option(help="Contrast-limited histogram equalisation.")] = False,
    denoise: Annotated[str, typer.Option(help="none, median or gaussian.")] = "none",
    arch: Annotated[
        str,
        typer.Option(help="resunet (default), unet, attention_unet, unetpp, mnv2_unet or fcn."),
    ] = "resunet",
    base_filters: Annotated[int, typer.Option(min=1, help="Filters at the first level.")] = 12,
    depth: Annotated[int, typer.Option(min=1, help="Number of down-sampling levels.")] = 3,
    stem_stride: Annotated[
        int | None,
        typer.Option(
            help="2 (U-Net default): a strided stem conv, the U-Net runs at half resolution; "
            "1: full resolution (about 3x slower int8)."
        ),
    ] = None,
    refine: Annotated[
        bool, typer.Option(help="With --stem-stride 2: a full-resolution refinement head.")
    ] = False,
    presence: Annotated[bool, typer.Option(help="Add the nerve-presence head.")] = True,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs (at most).")] = 50,
    batch_size: Annotated[int, typer.Option(min=1, help="Frames per training step.")] = 16,
    lr: Annotated[float, typer.Option(help="Adam learning rate (above 0).")] = 1e-3,
    loss: Annotated[str, typer.Option(help="dice or dice_bce.")] = "dice_bce",
    patience: Annotated[int, typer.Option(min=1, help="Early-stopping patience (epochs).")] = 15,
    augment: Annotated[bool, typer.Option(help="Flips, affine, gain/contrast, speckle.")] = True,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Mask threshold recorded for later.")
    ] = 0.5,
    min_area: Annotated[
        int, typer.Option(min=0, help="Drop components smaller than this (pixels).")
    ] = 0,
    largest_component: Annotated[
        bool, typer.Option(help="Keep only the largest component of each class.")
    ] = False,
    presence_gate: Annotated[
        bool, typer.Option(help="Empty the mask when the presence score is low.")
    ] = False,
    presence_threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Presence gate threshold.")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Random seed (split, weights, augmentation).")] = 0,
    encoder: Annotated[
        str | None, typer.Option(help="ImageNet encoder: mobilenetv2 or mobilenetv3small.")
    ] = None,
    encoder_weights: Annotated[
        str, typer.Option(help="none, imagenet (downloaded once, cached) or a local .h5 PATH.")
    ] = "none",
    encoder_alpha: Annotated[
        float | None,
        typer.Option(
            help="The encoder's width multiplier (default 0.35 for mobilenetv2, 1.0 for "
            "mobilenetv3small); ImageNet weights exist for some values only."
        ),
    ] = None,
    freeze_encoder_epochs: Annotated[
        int, typer.Option(min=0, help="Train with a frozen encoder for this many epochs first.")
    ] = 0,
    qat: Annotated[bool, typer.Option(help="Quantization-aware fine-tuning afterwards.")] = False,
    qat_epochs: Annotated[int, typer.Option(min=1, help="QAT fine-tuning epochs.")] = 5,
    deterministic: Annotated[
        bool, typer.Option(help="Deterministic ops: a re-run gives the same weights.")
    ] = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run in --out.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing run in --out.")] = False,
) -> None:
    """Train a lightweight U-Net (Dice+BCE, Adam, subject-wise validation, checkpoints).

    \b
    Example: edgeseg train --data ../shared/data/usgra-seg/dataset --out runs/usgra-nerve
    """
    from edgeseg.datasets import subject_pattern
    from edgeseg.train.runner import TrainOptions, train_run

    if data is None and not resume:
        fail("--data is required (a folder with images/ + masks/, or Kaggle .tif files)")
    if encoder_alpha is not None and (encoder is None or encoder_alpha <= 0):
        fail(f"--encoder-alpha {encoder_alpha}: needs --encoder and a value above 0")
    if encoder is None and (encoder_weights != "none" or freeze_encoder_epochs):
        fail(
            "--encoder-weights and --freeze-encoder-epochs need --encoder (mobilenetv2 or "
            "mobilenetv3small)"
        )
    check_learning_rate(lr)
    subject_pattern(subject_regex)  # a bad regex fails here, before any work
    check_out_folder(out)
    new_out = not out.exists()
    options = TrainOptions(
        data=data,
        out=out,
        val_data=val_data,
        layout=layout,
        classes=classes,
        subject_regex=subject_regex,
        manifest=manifest,
        val_fraction=val_fraction,
        size=size,
        normalize=normalize,
        clahe=clahe,
        denoise=denoise,
        arch=arch,
        base_filters=base_filters,
        depth=depth,
        stem_stride=stem_stride,
        refine=refine,
        presence=presence,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        loss=loss,
        patience=patience,
        augment=augment,
        threshold=threshold,
        min_area=min_area,
        largest_component=largest_component,
        presence_gate=presence_gate,
        presence_threshold=presence_threshold,
        seed=seed,
        encoder=encoder,
        encoder_weights=encoder_weights,
        encoder_alpha=encoder_alpha,
        freeze_encoder_epochs=freeze_encoder_epochs,
        qat=qat,
        qat_epochs=qat_epochs,
        deterministic=deterministic,
        resume=resume,
        force=force,
    )
    require_tensorflow()
    try:
        result = train_run(options, log=say)
    except BaseException:
        if new_out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a run that never started leaves no empty folder behind
        raise
    say(
        f"trained {result.epochs_run} epoch{'s' if result.epochs_run != 1 else ''} in "
        f"{result.seconds:.0f}s; best val Dice "
        f"{result.best_val_dice:.4f} at epoch {result.best_epoch}; wrote {result.run_dir}; "
        f"next: edgeseg evaluate {result.run_dir} --data DIR"
    )


@app.command()
@user_errors
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run directory from edgeseg train.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled data to evaluate on.")],
    model: Annotated[str, typer.Option(help="best, last or qat.")] = "best",
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Override the run's threshold.")
    ] = None,
    min_area: Annotated[
        int | None, typer.Option(min=0, help="Override the run's min-area.")
    ] = None,
    largest_component: Annotated[
        bool | None, typer.Option(help="Override: keep only the largest component.")
    ] = None,
    presence_gate: Annotated[
        bool | None, typer.Option(help="Override: empty the mask when presence is low.")
    ] = None,
    presence_threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Override the gate's threshold.")
    ] = None,
    layout: Annotated[str, typer.Option(help="auto, kaggle or paired.")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Folder for evaluation.json.")] = None,
) -> None:
    """Dice, IoU, pixel accuracy, precision, recall (Kaggle empty rule) with 95% CIs.

    \b
    Example: edgeseg evaluate runs/usgra-nerve --data ../shared/data/usgra-seg/dataset/test
    """
    from edgeseg.progress import progress_bar

    check_out_folder(out)
    require_tensorflow()
    from edgeseg.train.evaluate import evaluate as run_evaluate

    with progress_bar("evaluating") as bar:
        overrides = {
            "threshold": threshold,
            "min_area": min_area,
            "largest_component": largest_component,
            "presence_gate": presence_gate,
            "presence_threshold": presence_threshold,
        }
        overrides = {k: v for k, v in overrides.items() if v is not None}
        report = run_evaluate(run_dir, data, model, overrides, layout, out, bar.advance, bar.total)
    say(report["table"])
    if report["cross_dataset"]:
        say(f"note: trained on {report['trained_on']}, evaluated on {data} (cross-dataset)")
    elif Path(report["trained_on"]).resolve() == data.resolve():
        typer.echo(
            f"edgeseg: warning: {data} is the folder the run was trained on: its training "
            "frames are scored too, so these numbers are optimistic (use a held-out folder)",
            err=True,
        )
    say(f"wrote {report['out_dir']}/evaluation.json and per_image.csv")


# ----------------------------------------------------------------------------- quantize, convert
calibration_app = typer.Typer(help="Build int8 calibration sets.", no_args_is_help=True)
app.add_typer(calibration_app, name="calibration")


@app.command("qat")
@user_errors
def qat_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory from edgeseg train.")],
    epochs: Annotated[int, typer.Option(min=1, help="Fine-tuning epochs.")] = 5,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = QAT_LEARNING_RATE,
    force: Annotated[bool, typer.Option(help="Replace an existing QAT model.")] = False,
) -> None:
    """Quantization-aware fine-tuning of a trained run (writes RUN_DIR/qat/model_best.h5).

    \b
    Example: edgeseg qat runs/usgra-nerve --epochs 5
    """
    check_learning_rate(lr)
    require_tensorflow()
    from edgeseg.train.runner import qat_run

    qat_run(run_dir, epochs=epochs, lr=lr, force=force, log=say)  # logs its closing line


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


@calibration_app.command("build")
@user_errors
def calibration_build(
    source: Annotated[Path, typer.Option("--from", help="A dataset folder to pick frames from.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the calibration set.")] = Path(
        "calibration_data"
    ),
    n: Annotated[int, typer.Option("--n", min=8, help="How many frames (8 or more).")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the pick.")] = 0,
    force: Annotated[bool, typer.Option(help="Replace an existing set.")] = False,
) -> None:
    """Pick a representative subset (intensity, contrast, mask area, empty frames, subjects)."""
    from edgeseg.convert.calibration import build_calibration_set
    from edgeseg.progress import progress_bar

    with progress_bar("reading frames") as bar:
        manifest = build_calibration_set(
            source, out, n=n, seed=seed, force=force, progress=bar.advance
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


Credit = Annotated[
    str, typer.Option(help="The dataset's credit line, written into the reports (its licence).")
]


@app.command()
@user_errors
def parity(
    float_run: Annotated[Path, typer.Option("--float", help="The float model's run directory.")],
    tflite: Annotated[Path, typer.Option("--tflite", help="The .tflite to check.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled frames to compare on.")],
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("parity-report"),
    min_dice_delta: Annotated[
        float, typer.Option(help="Fail if Dice(int8) - Dice(float) is below this.")
    ] = -0.01,
    min_agreement: Annotated[
        float, typer.Option(help="Fail if the mean int8-vs-float mask Dice is below this.")
    ] = 0.98,
    max_flip_fraction: Annotated[
        float, typer.Option(help="Fail if more frames than this flip their presence decision.")
    ] = 0.01,
    qat: Annotated[
        bool | None, typer.Option(help="Also compare with RUN/qat (default: if it exists).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N frames.")] = None,
    overlays: Annotated[
        int, typer.Option(min=0, help="Frames per overlay group (worst, best, disagreement).")
    ] = 3,
    threads: Threads = None,
    credit: Credit = "",
) -> None:
    """Int8 vs float on the same frames: accuracy, agreement, paired tests; exit 0 pass, 1 fail.

    \b
    Example: edgeseg parity --float runs/usgra-nerve --data DIR/test --out runs/usgra-nerve/parity
      --tflite runs/usgra-nerve/export/model_int8.tflite
    """
    check_out_folder(out)
    require_tensorflow()
    from edgeseg.train.parity_run import run_parity

    report = run_parity(
        float_run,
        tflite,
        data,
        out,
        min_dice_delta=min_dice_delta,
        min_agreement=min_agreement,
        max_flip_fraction=max_flip_fraction,
        qat=qat,
        limit=limit,
        overlays=overlays,
        threads=threads,
        credit=credit,
        progress=say,
    )
    for reason in report["verdict"]["reasons"]:
        say(f"  {reason}")
    say(report["line"])
    raise typer.Exit(0 if report["passed"] else 1)


# ----------------------------------------------------------------------------- evaluation studies
@app.command()
@user_errors
def compare(
    data: Annotated[Path, typer.Option("--data", help="Labelled training data.")],
    models: Annotated[
        str, typer.Option(help="Comma-separated: resunet,unet,attention_unet,unetpp,mnv2_unet,fcn")
    ] = "resunet,unet",
    baselines: Annotated[str, typer.Option(help="Classical baselines: edges,otsu or none.")] = (
        "edges,otsu"
    ),
    epochs: Annotated[int, typer.Option(min=1, help="Epoch budget for every model.")] = 50,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/compare"),
    test_data: Annotated[
        Path | None, typer.Option(help="Held-out test folder (else a subject-wise test split).")
    ] = None,
    classes: Annotated[str | None, typer.Option(help="Class map, e.g. nerve=1,vessel=2.")] = None,
    size: Annotated[int, typer.Option(help="Model input side.")] = 128,
    seed: Annotated[int, typer.Option()] = 0,
    latency: Annotated[bool, typer.Option(help="Convert to int8 and time it.")] = True,
    force: Annotated[bool, typer.Option(help="Overwrite an existing comparison.")] = False,
    credit: Credit = "",
) -> None:
    """Train and evaluate several models and baselines under one split and metric code."""
    check_out_folder(out)
    require_tensorflow()
    from edgeseg.progress import progress_bar
    from edgeseg.train.compare import compare as run_compare

    chosen = tuple(b for b in baselines.split(",") if b and b != "none")
    with progress_bar("comparing") as bar:
        result = run_compare(
            data,
            models,
            out,
            epochs,
            size=size,
            seed=seed,
            test_data=test_data,
            classes=classes,
            baselines=chosen,
            latency=latency,
            force=force,
            credit=credit,
            progress=bar.advance,
            total=bar.total,
            log=say,
        )
    say(result["table"])
    say(f"wrote {result['out_dir']} (comparison.json, comparison.md, comparison.html)")


@app.command()
@user_errors
def analyze(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled data to analyse.")],
    compare_to: Annotated[
        Path | None, typer.Option("--compare", help="A second run for a paired comparison.")
    ] = None,
    model: Annotated[str, typer.Option(help="best, last or qat.")] = "best",
    out: Annotated[Path | None, typer.Option(help="Output folder (default RUN_DIR/analysis).")] = (
        None
    ),
    credit: Credit = "",
) -> None:
    """Error analysis: missed nerves, false alarms, boundary errors, by image characteristics."""
    check_out_folder(out)
    require_tensorflow()
    from edgeseg.progress import progress_bar
    from edgeseg.train.analyze import analyze as run_analyze

    with progress_bar("analysing") as bar:
        run_analyze(
            run_dir,
            data,
            compare_to=compare_to,
            out=out,
            which=model,
            credit=credit,
            progress=bar.advance,
            total=bar.total,
            log=say,  # its closing line names the folder
        )


@app.command("tune-postprocess")
@user_errors
def tune_postprocess(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    data: Annotated[
        Path | None, typer.Option(help="Data holding the run's validation subjects.")
    ] = None,
    model: Annotated[str, typer.Option(help="best, last or qat.")] = "best",
    credit: Credit = "",
) -> None:
    """Measure each post-processing step on the run's validation frames (never the test split)."""
    require_tensorflow()
    from edgeseg.train.postprocess_tuning import tune_postprocess as run_tune

    result = run_tune(run_dir, data=data, which=model, credit=credit, log=say)
    say(f"recommended: {result['flags']}")


# ----------------------------------------------------------------------------- device runtime
Backend = Annotated[
    str, typer.Option(help="Interpreter: auto, litert, tflite_runtime or tensorflow.")
]
Delegate = Annotated[str, typer.Option(help="auto, cpu, edgetpu, nnapi or gpu.")]
Threads = Annotated[int | None, typer.Option(help="CPU threads (default: the runtime's).")]
StrictDelegate = Annotated[
    bool, typer.Option(help="Fail instead of falling back to the CPU when a delegate is missing.")
]
InputSize = Annotated[
    str | None,
    typer.Option(help="Input size (e.g. 128 or 128x96) for a .tflite without edgeseg metadata."),
]


def runtime_options(
    backend: str, delegate: str, threads: int | None, input_size: str | None, strict: bool
) -> dict:
    """The interpreter options ``predict`` and ``stream`` share, as keyword arguments."""
    return {
        "backend": backend,
        "delegate": delegate,
        "threads": threads,
        "input_size": input_size,
        "strict_delegate": strict,
    }


def runtime_warnings_as_lines() -> None:
    """Runtime warnings (delegate fallback, skipped frame) print as one plain line each."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
        typer.echo(f"edgeseg: warning: {message}", err=True)

    warnings.showwarning = show


@app.command()
@user_errors
def predict(
    model: Annotated[Path, typer.Argument(help="A .tflite model (edgeseg metadata inside).")],
    images: Annotated[list[Path], typer.Argument(help="Image files or folders.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for masks and overlays.")],
    overlay: Annotated[bool, typer.Option(help="Also write <stem>_overlay.png.")] = True,
    threshold: Annotated[float | None, typer.Option(help="Override the threshold.")] = None,
    min_area: Annotated[int | None, typer.Option(help="Override the min-area.")] = None,
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

    runtime_warnings_as_lines()
    overrides = {
        k: v for k, v in {"threshold": threshold, "min_area": min_area}.items() if v is not None
    }
    with progress_bar("segmenting") as bar:
        summary = run_predict(
            model,
            images,
            out,
            overlay=overlay,
            progress=per_event(bar),
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
    frames: Annotated[Path, typer.Option("--frames", help="Folder of frames (natural order).")],
    smoothing: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Temporal smoothing of probabilities (0-0.99).")
    ] = 0.0,
    out: Annotated[Path | None, typer.Option(help="Also write masks/overlays here.")] = None,
    limit: Annotated[int | None, typer.Option(help="Stop after this many frames.")] = None,
    prefetch: Annotated[
        bool, typer.Option(help="Decode the next frame while this one runs (2 cores).")
    ] = True,
    backend: Backend = "auto",
    delegate: Delegate = "auto",
    threads: Threads = None,
    strict_delegate: StrictDelegate = False,
    input_size: InputSize = None,
) -> None:
    """Run a frame sequence at its own pace and print the FPS; unreadable frames are skipped.

    \b
    Example: edgeseg stream model_int8.tflite --frames clip/ --smoothing 0.5 --out masks/
    """
    from edgeseg.edge_runtime.predict import stream as run_stream
    from edgeseg.progress import per_event, progress_bar

    runtime_warnings_as_lines()
    with progress_bar("streaming") as bar:
        summary = run_stream(
            model,
            frames,
            progress=per_event(bar),
            smoothing=smoothing,
            out_dir=out,
            limit=limit,
            prefetch=prefetch,
            **runtime_options(backend, delegate, threads, input_size, strict_delegate),
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
    runs: Annotated[int, typer.Option(min=1, help="Timed invocations per row.")] = 50,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed warm-up invocations.")] = 5,
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
    try:
        threads_list = tuple(int(t) for t in threads.split(","))
    except ValueError:
        fail(f"--threads {threads!r}: expected thread counts like 1 or 1,2,4")
    if any(t < 1 for t in threads_list):
        fail(f"--threads {threads}: thread counts must be 1 or more")
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


# ----------------------------------------------------------------------------- pipeline
@app.command()
@user_errors
def pipeline(
    out: Annotated[Path, typer.Option(help="Where everything goes.")] = Path("edgeseg-out"),
    n: Annotated[int, typer.Option(min=40, help="Synthetic frames to make.")] = 160,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 36,
    qat_epochs: Annotated[int, typer.Option(min=0, help="QAT epochs (0: post-training int8).")] = 3,
    force: Annotated[bool, typer.Option(help="Overwrite a previous pipeline output.")] = False,
) -> None:
    """The main job on the embedded default (no download): synthetic data -> train -> evaluate
    -> QAT -> int8 -> parity report."""
    from edgeseg.train.runner import run_pipeline

    check_out_folder(out)
    require_tensorflow()
    summary = run_pipeline(out, n=n, epochs=epochs, qat_epochs=qat_epochs, force=force, log=say)
    if not summary["parity_passed"]:
        raise typer.Exit(1)  # like `edgeseg parity`: a failed gate is exit 1


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
