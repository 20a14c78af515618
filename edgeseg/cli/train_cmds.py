"""``edgeseg train``, ``evaluate``, ``qat`` and ``pipeline``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeseg.cli.app import app
from edgeseg.cli.common import (
    EmptyPolicy,
    LargestComponent,
    MinArea,
    PresenceGate,
    PresenceThreshold,
    Threshold,
    check_out_folder,
    postprocess_overrides,
    require_tensorflow,
    say,
    user_errors,
)
from edgeseg.config import QAT_LEARNING_RATE
from edgeseg.metrics import DEFAULT_POLICY
from edgeseg.train.distribute import JOIN_TIMEOUT_S
from edgeseg.train.options import OPTION_DEFAULTS


@app.command()
@user_errors
def train(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Option("--data", help="Training data folder, or shards from `edgeseg data pack`."),
    ] = None,
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
    val_fraction: Annotated[float, typer.Option(help="Validation share of frames.")] = 0.2,
    size: Annotated[int, typer.Option(help="Model input side (multiple of 16).")] = 128,
    normalize: Annotated[str, typer.Option(help="none, percentile or equalize.")] = "percentile",
    clahe: Annotated[bool, typer.Option(help="Contrast-limited histogram equalisation.")] = False,
    denoise: Annotated[str, typer.Option(help="none, median or gaussian.")] = "none",
    arch: Annotated[
        str,
        typer.Option(
            help="resunet_slim (default: the ResU-Net with a depthwise-separable bottleneck), "
            "resunet (wave 1's default), resunet_lite, unet, attention_unet, unetpp or fcn; "
            "ImageNet-encoder "
            "U-Nets come through --encoder (mnv2_unet is an alias of --encoder mobilenetv2)."
        ),
    ] = OPTION_DEFAULTS["arch"],
    base_filters: Annotated[
        int, typer.Option(help="Filters at the first level.")
    ] = OPTION_DEFAULTS["base_filters"],
    depth: Annotated[int, typer.Option(help="Number of down-sampling levels.")] = OPTION_DEFAULTS[
        "depth"
    ],
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
    epochs: Annotated[int, typer.Option(help="Training epochs (at most).")] = OPTION_DEFAULTS[
        "epochs"
    ],
    batch_size: Annotated[int, typer.Option(help="Frames per training step.")] = OPTION_DEFAULTS[
        "batch_size"
    ],
    lr: Annotated[float, typer.Option(help="Adam learning rate (above 0).")] = OPTION_DEFAULTS[
        "lr"
    ],
    lr_schedule: Annotated[
        str,
        typer.Option(help="constant, or cosine: decay --lr to 1% of it over --epochs."),
    ] = OPTION_DEFAULTS["lr_schedule"],
    ema: Annotated[
        float,
        typer.Option(
            help="0: off; a momentum such as 0.9: validate and save a moving average of the "
            "weights."
        ),
    ] = OPTION_DEFAULTS["ema"],
    teacher: Annotated[
        str | None,
        typer.Option(
            help="Distil from trained runs: RUN[,RUN...] (their mean probabilities are soft "
            "targets; same --size and --classes)."
        ),
    ] = OPTION_DEFAULTS["teacher"],
    distill_weight: Annotated[
        float, typer.Option(help="With --teacher: the soft targets' loss weight.")
    ] = OPTION_DEFAULTS["distill_weight"],
    loss: Annotated[str, typer.Option(help="dice or dice_bce.")] = OPTION_DEFAULTS["loss"],
    patience: Annotated[
        int, typer.Option(help="Early-stopping patience (epochs).")
    ] = OPTION_DEFAULTS["patience"],
    augment: Annotated[
        bool, typer.Option(help="Flips, affine, gain/contrast, speckle.")
    ] = OPTION_DEFAULTS["augment"],
    augment_profile: Annotated[
        str,
        typer.Option(help="standard, or ultrasound: stronger, plus gamma and a depth gain ramp."),
    ] = OPTION_DEFAULTS["augment_profile"],
    threshold: Annotated[float, typer.Option(help="Mask threshold recorded for later.")] = 0.5,
    min_area: Annotated[int, typer.Option(help="Drop components smaller than this (pixels).")] = 0,
    largest_component: Annotated[
        bool, typer.Option(help="Keep only the largest component of each class.")
    ] = False,
    presence_gate: Annotated[
        bool, typer.Option(help="Empty the mask when the presence score is low.")
    ] = False,
    presence_threshold: Annotated[float, typer.Option(help="Presence gate threshold.")] = 0.5,
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
        int, typer.Option(help="Train with a frozen encoder for this many epochs first.")
    ] = 0,
    qat: Annotated[bool, typer.Option(help="Quantization-aware fine-tuning afterwards.")] = False,
    qat_epochs: Annotated[int, typer.Option(help="QAT fine-tuning epochs.")] = 5,
    deterministic: Annotated[
        bool, typer.Option(help="Deterministic ops: a re-run gives the same weights.")
    ] = False,
    strategy: Annotated[
        str,
        typer.Option(
            help="default (one device), mirrored (every GPU of this host) or multiworker "
            "(the machines TF_CONFIG lists; see docs/scale.md). --batch-size is the global batch."
        ),
    ] = "default",
    workers: Annotated[
        int, typer.Option(help="Try multiworker here: N local worker processes (0: off).")
    ] = 0,
    join_timeout: Annotated[
        int, typer.Option(help="Seconds multiworker waits for every worker to join.")
    ] = JOIN_TIMEOUT_S,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run in --out.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing run in --out.")] = False,
    preset: Annotated[
        str | None,
        typer.Option(
            help="A named recipe: slim_cos_ema_b8 (today's default), wave1 (the first "
            "default), slim, slim_long, slim_cos, slim_cos_ema, slim_cos_ema_us or lite; "
            "flags given as well override it."
        ),
    ] = None,
) -> None:
    """Train a lightweight U-Net (Dice+BCE, Adam, subject-wise validation, checkpoints).

    \b
    Example: edgeseg train --data ../shared/data/usgra-seg/dataset --out runs/usgra-nerve
    """
    from edgeseg.train.recipes import explicit_options
    from edgeseg.train.runner import train_options, train_run

    # Every flag goes through the library's one door: names, ranges and combinations are
    # checked there, the same for Python callers. A --preset sets what the user left default.
    def default(name: str) -> bool:
        return getattr(ctx.get_parameter_source(name), "name", "") == "DEFAULT"

    options = train_options(**explicit_options(ctx.params, preset, default))
    check_out_folder(out)
    new_out = not out.exists()
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


@app.command("train-worker", hidden=True)
@user_errors
def train_worker(options: str) -> None:
    """One local worker of `edgeseg train --workers N`: its options as JSON, TF_CONFIG set."""
    import json

    from edgeseg.train.runner import train_options, train_run

    train_run(train_options(**json.loads(options)), log=say)


@app.command()
@user_errors
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run directory from edgeseg train.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled data to evaluate on.")],
    model: Annotated[str, typer.Option(help="best, last or qat.")] = "best",
    threshold: Threshold = None,
    min_area: MinArea = None,
    largest_component: LargestComponent = None,
    presence_gate: PresenceGate = None,
    presence_threshold: PresenceThreshold = None,
    layout: Annotated[str, typer.Option(help="auto, kaggle or paired.")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Folder for evaluation.json.")] = None,
    empty_policy: EmptyPolicy = DEFAULT_POLICY,
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
        report = run_evaluate(
            run_dir,
            data,
            which=model,
            layout=layout,
            out=out,
            progress=bar.advance,
            total=bar.total,
            empty_policy=empty_policy,
            **postprocess_overrides(
                threshold, min_area, largest_component, presence_gate, presence_threshold
            ),
        )
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
    require_tensorflow()
    from edgeseg.train.runner import qat_run

    qat_run(run_dir, epochs=epochs, lr=lr, force=force, log=say)  # logs its closing line


@app.command()
@user_errors
def pipeline(
    out: Annotated[Path, typer.Option(help="Where everything goes.")] = Path("edgeseg-out"),
    n: Annotated[int, typer.Option(min=40, help="Synthetic training frames to make.")] = 160,
    n_test: Annotated[
        int, typer.Option(min=40, help="Held-out test frames, 2 per subject (parity, evaluate).")
    ] = 600,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 36,
    qat_epochs: Annotated[int, typer.Option(min=0, help="QAT epochs (0: post-training int8).")] = 3,
    seed: Annotated[
        int,
        typer.Option(min=0, max=2**31 - 1, help="Seeds the data, split, training and bootstrap."),
    ] = 0,
    force: Annotated[
        bool,
        typer.Option(help="Replace a previous pipeline output (only what the pipeline wrote)."),
    ] = False,
) -> None:
    """The main job on the embedded default (no download): synthetic data -> train -> QAT ->
    presence gate -> evaluate -> int8 -> parity report.

    Exit code: 0 parity PASS, 1 FAIL, 3 INCONCLUSIVE, 2 usage or input error. The same --seed
    on the same machine gives the same numbers.

    Example: edgeseg pipeline --out edgeseg-out --seed 1
    """
    from edgeseg.train.pipeline import run_pipeline

    check_out_folder(out)
    require_tensorflow()
    summary = run_pipeline(
        out,
        n=n,
        n_test=n_test,
        epochs=epochs,
        qat_epochs=qat_epochs,
        seed=seed,
        force=force,
        log=say,
    )
    if summary["verdict"]["exit_code"]:
        raise typer.Exit(summary["verdict"]["exit_code"])  # as `edgeseg parity`: 1 FAIL, 3 INCONCL.
