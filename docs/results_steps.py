"""docs/build_results.py, part 4: ``STEPS``, each command that makes artifacts with the section
that renders them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from results_artifacts import (
    ANALYSIS_DIR,
    COMPARE_DIR,
    CREDIT,
    CROSS,
    ES,
    EVAL_CSV,
    EVAL_JSON,
    EXPORTS,
    KAGGLE_NOTE,
    PARITY_CMD,
    PARITY_JSON,
    PARITY_PTQ_CMD,
    PARITY_PTQ_JSON,
    POST_DIR,
    PY,
    QAT_JSON,
    RUNTIME_JSON,
    STEM_BENCH_JSON,
    STEM_DIR,
    STEM_RUNS,
    THROUGHPUT_JSON,
    D,
    K,
    R,
)
from results_evaluation import (
    render_analysis,
    render_compare,
    render_cross,
    render_postprocess,
    render_runtime,
    render_stem,
    runtime_stale,
)
from results_live import LIVE_COMMAND, LIVE_JSON, render_live
from results_live_parity import LIVE_PARITY_COMMAND, LIVE_PARITY_JSON, render_live_parity
from results_pipeline import (
    PIPELINE_COMMANDS,
    PIPELINE_DEFAULT_JSON,
    PIPELINE_SEEDS_JSON,
    render_pipeline,
)
from results_recipes import RECIPES_COMMAND, RECIPES_JSON, render_recipes
from results_scale import SCALE_COMMAND, SCALE_JSON, render_scale
from results_scale_data import SHARDS_COMMAND, SHARDS_JSON, render_shards
from results_training import render_parity, render_qat, render_throughput, render_train
from results_web import WEB_COMMAND, WEB_JSON, render_web

# ----------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    commands: tuple[str, ...]
    artifacts: tuple[str, ...]
    render: Callable[[], list[str]]
    real_data: bool = True
    needs: tuple[str, ...] = ()  # rerun this step when one of these was rerun
    stale: Callable[[], str | None] | None = None  # why existing artifacts are not current
    extra_credit: str = ""  # a second data source's credit, after the usgra-seg line


STEPS: tuple[Step, ...] = (
    Step(
        "train",
        "Training and test-split evaluation",
        (
            f"{ES} train --data {D} --out {R} --force",
            f"{ES} evaluate {R} --data {D}/test",
        ),
        (EVAL_JSON, EVAL_CSV),
        render_train,
    ),
    Step(
        "stem",
        "Stem ablation: full resolution vs strided stem vs stem + full-resolution head",
        tuple(
            cmd
            for name, flags in STEM_RUNS
            for cmd in (
                f"{ES} train --data {D} --out {STEM_DIR}/{name} {flags} --force",
                f"{ES} evaluate {STEM_DIR}/{name} --data {D}/test",
            )
        ),
        tuple(f"{STEM_DIR}/{name}/evaluation/evaluation.json" for name, _ in STEM_RUNS),
        render_stem,
    ),
    Step(
        "stem_bench",
        "Stem ablation: int8 latency of each run",
        (
            *(
                f"{ES} convert {STEM_DIR}/{name} --int8 --model best --calibration "
                f"calibration_data --force"
                for name, _ in STEM_RUNS
            ),
            f"{ES} benchmark "
            + " ".join(f"{STEM_DIR}/{name}/export/model_int8.tflite" for name, _ in STEM_RUNS)
            + f" --delegates cpu --threads 1 --runs 200 --json {STEM_BENCH_JSON}",
        ),
        (STEM_BENCH_JSON,),
        lambda: [f"The table is in the section above (`{STEM_BENCH_JSON}`)."],
        real_data=False,
        needs=("stem",),
    ),
    Step(
        "throughput",
        "Training throughput",
        (f"{PY} benchmarks/train_throughput.py",),
        (THROUGHPUT_JSON,),
        render_throughput,
        real_data=False,
    ),
    Step(
        "qat",
        "Quantization: QAT, int8/float32 export, PTQ comparison",
        (
            f"{ES} qat {R} --epochs 5 --force",
            f"{ES} convert {R} --int8 --force",
            f"{ES} convert {R} --force",
            f"{ES} convert {R} --int8 --model best --calibration calibration_data "
            f"--out {R}/export/model_int8_ptq.tflite --force",
            PARITY_CMD,
            PARITY_PTQ_CMD,
        ),
        (QAT_JSON, *EXPORTS.values(), PARITY_JSON, PARITY_PTQ_JSON),
        render_qat,
        needs=("train",),
    ),
    Step(
        "parity",
        "Parity reports: int8 vs float on the test split",
        (PARITY_CMD, PARITY_PTQ_CMD),
        (PARITY_JSON, PARITY_PTQ_JSON),
        render_parity,
        needs=("qat",),
    ),
    Step(
        "runtime_bench",
        "Runtime latency: LiteRT vs Keras",
        (f"{PY} benchmarks/runtime_vs_keras.py --run {R}",),
        (RUNTIME_JSON,),
        render_runtime,
        real_data=False,
        needs=("qat",),
        stale=runtime_stale,
    ),
    Step(
        "compare",
        "Architecture comparison",
        (
            f"{ES} compare --data {D} --test-data {D}/test "
            "--models resunet,unet,attention_unet,unetpp,mnv2_unet,fcn --epochs 20 "
            f'--out {COMPARE_DIR} --force --credit "{CREDIT}"',
        ),
        (f"{COMPARE_DIR}/comparison.md", f"{COMPARE_DIR}/comparison.json"),
        render_compare,
    ),
    Step(
        "postprocess",
        "Post-processing ablation on validation frames",
        (f'{ES} tune-postprocess {R} --credit "{CREDIT}"',),
        (f"{POST_DIR}/postprocess.md", f"{POST_DIR}/postprocess.json"),
        render_postprocess,
        needs=("train",),
    ),
    Step(
        "analysis",
        "Error analysis on the test split",
        (f'{ES} analyze {R} --data {D}/test --credit "{CREDIT}"',),
        (f"{ANALYSIS_DIR}/analysis.md", f"{ANALYSIS_DIR}/analysis.json"),
        render_analysis,
        needs=("train",),
    ),
    Step(
        "cross",
        "Cross-dataset evaluation",
        (
            f"{ES} evaluate {R} --data {K} --out runs/cross/usgra-on-kaggle",
            f"{ES} pipeline --force",
            f"{ES} evaluate edgeseg-out/run --data {D}/test --out runs/cross/synth-on-usgra",
        ),
        tuple(
            f"{folder}/{name}"
            for key, (_, _, folder) in CROSS.items()
            if key != "usgra-on-usgra"
            for name in ("evaluation.json", "per_image.csv")
        ),
        render_cross,
        needs=("train",),
        extra_credit=KAGGLE_NOTE,
    ),
    Step(
        "pipeline",
        "The pipeline's default: why it passes, five seeds",
        PIPELINE_COMMANDS,
        (PIPELINE_DEFAULT_JSON, PIPELINE_SEEDS_JSON),
        render_pipeline,
        real_data=False,
    ),
    Step(
        "recipes",
        "Dice per MAC: candidate recipes, seeds, cost (issue 17)",
        (RECIPES_COMMAND,),
        (RECIPES_JSON,),
        render_recipes,
    ),
    Step(
        "live",
        "Video and DICOM cine through the edge runtime: every frame and real time (issue 13)",
        (LIVE_COMMAND,),
        (LIVE_JSON,),
        render_live,
        real_data=False,
    ),
    Step(
        "shards",
        "Packed TFRecord shards vs a folder: pack cost, first batch, frames/s (issue 16)",
        (SHARDS_COMMAND,),
        (SHARDS_JSON,),
        render_shards,
        real_data=False,  # the Kaggle sample; render_shards credits it
    ),
    Step(
        "scale",
        "Training past one process: tf.distribute multiworker, 1 vs 2 local workers (issue 16)",
        (SCALE_COMMAND,),
        (SCALE_JSON,),
        render_scale,
        real_data=False,
    ),
    Step(
        "web",
        "The int8 model in a browser: LiteRT.js (WASM) vs native LiteRT (issue 14)",
        (WEB_COMMAND,),
        (WEB_JSON,),
        render_web,
        real_data=False,
    ),
    Step(
        "live_parity",
        "Parity without labels and the DICOM SEG export on a phantom cine (issue 13)",
        (LIVE_PARITY_COMMAND,),
        (LIVE_PARITY_JSON,),
        render_live_parity,
        real_data=False,
    ),
)
