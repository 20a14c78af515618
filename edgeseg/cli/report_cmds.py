"""``edgeseg parity``, ``compare``, ``analyze`` and ``tune-postprocess``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeseg.cli.app import app
from edgeseg.cli.common import (
    Credit,
    EmptyPolicy,
    Threads,
    check_out_folder,
    fail,
    require_tensorflow,
    say,
    user_errors,
)
from edgeseg.evaluation.live_parity import DEFAULT_BLOCK
from edgeseg.evaluation.verdict import Tolerances
from edgeseg.metrics import DEFAULT_POLICY


@app.command()
@user_errors
def parity(
    float_run: Annotated[
        Path,
        typer.Option(
            "--float",
            help="The float model's run directory; with --source also a float .tflite "
            "(no TensorFlow needed).",
        ),
    ],
    tflite: Annotated[Path, typer.Option("--tflite", help="The .tflite to check.")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Labelled frames to compare on.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Instead of --data: a clip without labels (video, DICOM cine, TIFF, folder, "
            "/dev/videoN); agreement, flips and stability only.",
        ),
    ] = None,
    block: Annotated[
        int,
        typer.Option(min=1, help="With --source: consecutive frames resampled together."),
    ] = DEFAULT_BLOCK,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("parity-report"),
    min_dice_delta: Annotated[
        float,
        typer.Option(help="Tolerance: Dice(int8) - Dice(reference) must credibly be >= this."),
    ] = Tolerances.min_dice_delta,
    min_agreement: Annotated[
        float, typer.Option(help="Tolerance: mean int8-vs-reference mask Dice >= this.")
    ] = Tolerances.min_agreement,
    max_flip_fraction: Annotated[
        float, typer.Option(help="Tolerance: fraction of frames whose presence flips <= this.")
    ] = Tolerances.max_flip_fraction,
    confidence: Annotated[
        float, typer.Option(help="Two-sided confidence of every interval (0.5 to <1).")
    ] = Tolerances.level,
    subject_regex: Annotated[
        str | None,
        typer.Option(
            help="Regex whose first group is a frame's subject (default: the run's); "
            "intervals then resample subjects."
        ),
    ] = None,
    empty_policy: Annotated[
        str, typer.Option(help="Empty-mask policy: kaggle (both empty = 1), monai, nonempty-gt.")
    ] = DEFAULT_POLICY,
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
    """Int8 vs float on the same frames: accuracy, agreement, flips, paired tests, a verdict.

    Each check is decided on a confidence interval (bootstrap by subject when subjects are
    known, else by frame; exact binomial for flips): PASS when it is credibly within the
    tolerance, FAIL when credibly outside, INCONCLUSIVE when the frames cannot tell (the report
    says about how many more frames would decide).

    With --source instead of --data (a clip without ground truth), the int8 file is compared
    with the float model frame by frame: agreement, presence flips and each model's stability;
    the Dice check needs labels and is left out (the report says so).

    \b
    Exit codes: 0 PASS, 1 FAIL, 3 INCONCLUSIVE, 2 bad input (nothing written).
    \b
    Example: edgeseg parity --float runs/usgra-nerve --data DIR/test --out runs/usgra-nerve/parity
      --tflite runs/usgra-nerve/export/model_int8.tflite
    \b
    Without labels: edgeseg parity --float export/model_float32.tflite
      --tflite export/model_int8.tflite --source clip.mp4 --out parity-clip
    """
    check_out_folder(out)
    if (data is None) == (source is None):
        fail("give exactly one of --data (labelled frames) and --source (a clip without labels)")
    if source is not None:
        from edgeseg.cli.live_parity_cmd import live_parity

        live_parity(
            float_run,
            tflite,
            source,
            out,
            Tolerances(min_dice_delta, min_agreement, max_flip_fraction, confidence),
            qat=qat,
            limit=limit,
            overlays=overlays,
            block=block,
            threads=threads,
            credit=credit,
        )
        return
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
        confidence=confidence,
        qat=qat,
        limit=limit,
        overlays=overlays,
        threads=threads,
        credit=credit,
        progress=say,
        subject_regex=subject_regex,
        empty_policy=empty_policy,
    )
    for reason in report["verdict"]["reasons"]:
        say(f"  {reason}")
    say(report["line"])
    raise typer.Exit(report["verdict"]["exit_code"])


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
    empty_policy: EmptyPolicy = DEFAULT_POLICY,
) -> None:
    """Train and evaluate several models and baselines under one split and metric code."""
    check_out_folder(out)
    require_tensorflow()
    from edgeseg.progress import progress_bar
    from edgeseg.train.compare import compare as run_compare

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
            baselines=baselines,
            latency=latency,
            force=force,
            credit=credit,
            progress=bar.advance,
            total=bar.total,
            log=say,
            empty_policy=empty_policy,
        )
    say(result["table"])
    say(f"wrote {result['out_dir']} (comparison.json, comparison.md, comparison.html)")


ClassName = Annotated[
    str | None, typer.Option("--class", help="The class to study (default: the run's first).")
]
SubjectRegex = Annotated[
    str | None, typer.Option(help="Regex whose first group is a frame's subject.")
]


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
    empty_policy: EmptyPolicy = DEFAULT_POLICY,
    class_name: ClassName = None,
    subject_regex: SubjectRegex = None,
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
            empty_policy=empty_policy,
            class_name=class_name,
            subject_regex=subject_regex,
        )


@app.command("tune-postprocess")
@user_errors
def tune_postprocess(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    data: Annotated[
        Path | None, typer.Option(help="Data holding the run's validation subjects.")
    ] = None,
    model: Annotated[str, typer.Option(help="best, last or qat.")] = "best",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default RUN_DIR/postprocess).")
    ] = None,
    credit: Credit = "",
    empty_policy: EmptyPolicy = DEFAULT_POLICY,
    class_name: ClassName = None,
    subject_regex: Annotated[
        str | None,
        typer.Option(help="Regex whose first group is a frame's subject (default: the run's)."),
    ] = None,
) -> None:
    """Measure each post-processing step on the run's validation frames (never the test split)."""
    check_out_folder(out)
    require_tensorflow()
    from edgeseg.train.postprocess_tuning import tune_postprocess as run_tune

    result = run_tune(
        run_dir,
        data=data,
        which=model,
        out=out,
        credit=credit,
        log=say,
        empty_policy=empty_policy,
        class_name=class_name,
        subject_regex=subject_regex,
    )
    say(f"recommended: {result['flags']}")
