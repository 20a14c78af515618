"""docs/build_results.py, part 1: where the artifacts are, reading and formatting them, and the
acceptance checks derived from them (``Check``)."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "results.md"

R = "runs/usgra-nerve"
D = "../shared/data/usgra-seg/dataset"
K = "../shared/data/kaggle-uns-sample/train"
ES = ".venv/bin/edgeseg"
PY = ".venv/bin/python"
CREDIT = "usgra-seg dataset (github.com/tmkand/usgra-seg), CC BY 4.0"
KAGGLE_NOTE = (
    "Kaggle Ultrasound Nerve Segmentation sample: frames from public GitHub copies, sources "
    f"listed in `{K.rsplit('/', 1)[0]}/provenance.tsv`. Under Kaggle's competition terms the "
    "sample serves to test the loader and metrics only, so no model is trained on it here: the "
    "reverse direction (Kaggle -> usgra-seg) is left out on purpose"
)

# Acceptance criteria and references (numbers stated by the issue, not measured here).
GOAL_DICE = 0.50
REFERENCE_UNET_DICE = 0.46
GOAL_SIZE_RATIO = 3.5
GOAL_INT8_DICE_DELTA = -0.005
GOAL_AGREEMENT = 0.99

EVAL_JSON = f"{R}/evaluation/evaluation.json"
EVAL_CSV = f"{R}/evaluation/per_image.csv"
THROUGHPUT_JSON = "benchmarks/results/train_throughput.json"
RUNTIME_JSON = "benchmarks/results/runtime_vs_keras.json"
QAT_JSON = f"{R}/qat/qat.json"
EXPORTS = {
    "float32": f"{R}/export/model_float32.json",
    "int8 QAT": f"{R}/export/model_int8.json",
    "int8 PTQ": f"{R}/export/model_int8_ptq.json",
}
PARITY_JSON = f"{R}/parity/report.json"
PARITY_PTQ_JSON = f"{R}/parity-ptq/report.json"
COMPARE_DIR = "runs/compare-usgra"
POST_DIR = f"{R}/postprocess"
STEM_DIR = "runs/stem-ablation"
# (name, flags): the ResU-Net at full resolution, with the default strided stem, and with the
# stem plus the full-resolution output head; two seeds each (seed 0's full-resolution run is
# the one session 1 trained as runs/usgra-nerve, before the stem existed; its config has no
# stem_stride and loads as 1).
STEM_RUNS = tuple(
    (f"{name}_s{seed}", f"{flags} --seed {seed}")
    for name, flags in (
        ("full", "--stem-stride 1"),
        ("stem", "--stem-stride 2"),
        ("refine", "--stem-stride 2 --refine"),
    )
    for seed in (0, 1)
)
STEM_BENCH_JSON = f"{STEM_DIR}/benchmark.json"
ANALYSIS_DIR = f"{R}/analysis"
CROSS = {  # key -> (trained on, evaluated on, evaluation folder)
    "usgra-on-usgra": ("usgra-seg (train split)", "usgra-seg test (in-domain)", f"{R}/evaluation"),
    "usgra-on-kaggle": (
        "usgra-seg (train split)",
        "Kaggle UNS sample",
        "runs/cross/usgra-on-kaggle",
    ),
    "synth-on-usgra": (
        "synthetic (edgeseg pipeline)",
        "usgra-seg test",
        "runs/cross/synth-on-usgra",
    ),
}

PARITY_CMD = (
    f"{ES} parity --float {R} --tflite {R}/export/model_int8.tflite --data {D}/test "
    f'--out {R}/parity --credit "{CREDIT}"'
)
PARITY_PTQ_CMD = (
    f"{ES} parity --float {R} --tflite {R}/export/model_int8_ptq.tflite --data {D}/test "
    f'--out {R}/parity-ptq --no-qat --credit "{CREDIT}"'
)
# Command prefix -> exit codes that mean "ran and wrote its report, the verdict was not PASS"
# (parity: 1 FAIL, 3 INCONCLUSIVE).
VERDICT_EXITS = {f"{ES} parity ": (1, 3)}

# ----------------------------------------------------------------------------- reading artifacts


def path(rel: str) -> Path:
    return ROOT / rel


def read_json(rel: str) -> Any:
    """The parsed artifact, or None when it is missing or unreadable (NaN is accepted)."""
    try:
        return json.loads(path(rel).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_text(rel: str) -> str | None:
    try:
        return path(rel).read_text(encoding="utf-8")
    except OSError:
        return None


def read_csv(rel: str) -> list[dict[str, str]] | None:
    try:
        with path(rel).open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error):
        return None


def dig(obj: Any, *keys: str | int) -> Any:
    """obj[k1][k2]...; None as soon as a key or index is missing."""
    for key in keys:
        in_dict = isinstance(obj, dict) and isinstance(key, (str, int)) and key in obj
        in_list = isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj)
        if not (in_dict or in_list):
            return None
        obj = obj[key]
    return obj


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def num(value: Any) -> float | None:
    """A finite number, else None (booleans and strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def find(items: Any, **match: Any) -> Any:
    """The first dict in ``items`` whose keys equal ``match``; None if there is none."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and all(item.get(k) == v for k, v in match.items()):
            return item
    return None


# ----------------------------------------------------------------------------- formatting


def fmt(value: Any, digits: int = 4, signed: bool = False) -> str:
    v = num(value)
    if v is None:
        return "n/a"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def text(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return fmt(value)
    return str(value)


def plain(value: Any) -> str:
    """A setting (threshold, tolerance): shortest float form, not the metric format."""
    v = num(value)
    return f"{v:g}" if isinstance(value, float) and v is not None else text(value)


def fmt_ci(stat: Any) -> str:
    mean = fmt(dig(stat, "mean"))
    if mean == "n/a":
        return mean
    return f"{mean} [{fmt(dig(stat, 'ci_low'))}, {fmt(dig(stat, 'ci_high'))}]"


def fmt_p(value: Any) -> str:
    v = num(value)
    if v is None:
        return "n/a"
    return "<0.0001" if v < 1e-4 else f"{v:.4f}"


def kib(value: Any) -> str:
    v = num(value)
    return "n/a" if v is None else f"{v / 1024:.1f}"


def load_lines(load: Any) -> list[str]:
    """The paragraph giving a benchmark's load average (1, 5, 15 min) before and after it."""
    if not load:
        return []
    return [
        "Load average (1, 5, 15 min) before and after: "
        + ", ".join(fmt(v, 1) for v in as_list(load))
        + " (other work on the machine competes for the same cores).",
        "",
    ]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cells(row: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"

    return [cells(header), "|" + "---|" * len(header), *(cells(r) for r in rows), ""]


def demote(markdown: str, levels: int = 2) -> list[str]:
    """A generated Markdown report with its headings pushed down to sit inside a section."""
    return [
        ("#" * levels + line) if line.startswith("#") else line
        for line in markdown.rstrip("\n").splitlines()
    ] + [""]


def embedded_report(rel: str, intro: str) -> list[str]:
    """``intro``, then the Markdown report at ``rel`` demoted (or a line saying it is missing)."""
    md = read_text(rel)
    return [intro, "", *(demote(md) if md is not None else [f"`{rel}` is missing", ""])]


@dataclass(frozen=True)
class Check:
    """One acceptance criterion evaluated on the numbers of an artifact."""

    name: str
    value: float | None
    op: str  # ">=" or "<="
    limit: float
    digits: int = 4
    unit: str = ""

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value >= self.limit if self.op == ">=" else self.value <= self.limit
        return "met" if ok else "NOT met"

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        shown = f"{self.value:.{self.digits}f}{self.unit}"
        if round(self.value, self.digits) == round(self.limit, self.digits):
            shown += f" ({self.value:.6f} unrounded)"
        return shown

    def goal(self) -> str:
        return f"{self.op} {self.limit:g}{self.unit}"

    def line(self) -> str:
        return f"- acceptance: {self.name} {self.goal()}: {self.shown()} -> **{self.status}**"


# ----------------------------------------------------------------------------- derived numbers


def first_class(report: Any) -> str:
    first = dig(report, "classes", 0)
    return first if isinstance(first, str) else "nerve"


def model_entry(report: Any, name: str | None) -> Any:
    return find(dig(report, "models"), name=name)


def model_dice(report: Any, name: str | None) -> Any:
    return dig(model_entry(report, name), "accuracy", first_class(report), "dice")


def agreement(report: Any, reference: str) -> Any:
    entry = find(dig(report, "agreement"), candidate=dig(report, "candidate"), reference=reference)
    return dig(entry, "mask_dice", first_class(report))


def delta(a: Any, b: Any) -> float | None:
    x, y = num(a), num(b)
    return None if x is None or y is None else x - y


def size_ratio(variant: str) -> float | None:
    """float32 file bytes / the variant's file bytes (both measured files)."""
    float_bytes = num(dig(read_json(EXPORTS["float32"]), "bytes"))
    other = num(dig(read_json(EXPORTS[variant]), "bytes"))
    return None if float_bytes is None or not other else float_bytes / other


def check_dice() -> Check:
    ev = read_json(EVAL_JSON)
    value = num(dig(ev, "summary", first_class(ev), "dice", "mean"))
    return Check(f"mean {first_class(ev)} Dice on the test split", value, ">=", GOAL_DICE)


def check_throughput() -> Check:
    data = read_json(THROUGHPUT_JSON)
    goal = num(dig(data, "goal_images_per_second")) or 60.0
    value = num(dig(data, "images_per_second"))
    return Check("training throughput", value, ">=", goal, digits=1, unit=" img/s")


def check_size() -> Check:
    return Check("float32 size / int8 QAT size", size_ratio("int8 QAT"), ">=", GOAL_SIZE_RATIO, 3)


def check_int8_delta() -> Check:
    rep = read_json(PARITY_JSON)
    value = delta(
        dig(model_dice(rep, dig(rep, "candidate")), "mean"),
        dig(model_dice(rep, "float (original)"), "mean"),
    )
    return Check("Dice(int8 QAT TFLite) - Dice(float)", value, ">=", GOAL_INT8_DICE_DELTA)


def check_agreement() -> Check:
    value = num(dig(agreement(read_json(PARITY_JSON), "QAT Keras"), "mean"))
    return Check("mean per-image Dice of int8 masks vs QAT Keras", value, ">=", GOAL_AGREEMENT)


def parse_goal(goal: Any) -> tuple[str, float] | None:
    match = re.fullmatch(r"\s*(>=|<=)\s*([0-9.]+)\s*x?\s*", str(goal))
    return (match.group(1), float(match.group(2))) if match else None


RUNTIME_LABELS = {  # what each ratio in the acceptance table measures (p50 / int8 invoke p50)
    "keras_predict_over_int8_invoke": "Keras `predict` / int8 invoke (1 thread)",
    "int8_e2e_over_int8_invoke": "int8 end to end / invoke: PNG file, sequential",
    "int8_stream_over_int8_invoke": "int8 end to end / invoke: PNG files, pipelined stream",
    "int8_e2e_array_over_int8_invoke": "int8 end to end / invoke: in-memory frame, sequential",
    "int8_stream_array_over_int8_invoke": "int8 end to end / invoke: live frames, pipelined stream",
}


def runtime_checks() -> list[Check]:
    data = read_json(RUNTIME_JSON)
    out = []
    for key, default in (
        ("keras_predict_over_int8_invoke", (">=", 10.0)),
        ("int8_e2e_over_int8_invoke", ("<=", 1.2)),
        ("int8_stream_over_int8_invoke", ("<=", 1.2)),
        ("int8_e2e_array_over_int8_invoke", ("<=", 1.2)),
        ("int8_stream_array_over_int8_invoke", ("<=", 1.2)),
    ):
        op, limit = parse_goal(dig(data, "goals", key)) or default
        out.append(Check(key, num(dig(data, "ratios", key)), op, limit, digits=2, unit="x"))
    return out
