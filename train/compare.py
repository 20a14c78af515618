"""``edgeseg compare``: several architectures and the classical baselines under one protocol.

Every network is trained on the same subject-wise split, with the same preprocessing, epoch
budget (no early stopping), seed and batch size, then evaluated on the same held-out frames with
the same code as ``edgeseg evaluate`` (``train/evaluate.py``: per-frame metrics at the original
frame size, Kaggle empty-mask rule, bootstrap CIs). The classical baselines
(``edgeseg.baselines``) see the same preprocessed frames and go through the same evaluation.
Each method is then compared with the reference (``resunet`` by default) frame by frame: paired
Wilcoxon signed-rank and paired t-test, Holm-corrected over the methods, and a bootstrap CI of the
mean difference.

Output in ``OUT``::

    comparison.json   {"results": deterministic (same seed -> identical), "timing": measured}
    comparison.md     the tables (the cost table's latency column is measured, not repeatable)
    comparison.html   the same, self-contained (inline CSS and SVG), for sharing
    per_frame.csv     every method's per-frame scores
    runs/<model>/     normal run directories (``edgeseg evaluate`` / ``convert`` work on them)

Without ``test_data`` a test part is split off ``data`` by subject first (``val_fraction`` of the
frames), then the rest is split into training and validation, so no test frame ever selects a
checkpoint. Determinism: ``keras.utils.set_random_seed`` and TensorFlow op determinism are
switched on for the run (and op determinism off again afterwards if it was off before).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgeseg.baselines import BASELINES
from edgeseg.config import (
    ENCODER_ALIASES,
    ModelSpec,
    RunConfig,
)
from edgeseg.datasets import Sample, check_samples, discover, load_arrays, subject_split
from edgeseg.errors import ConfigError, EdgesegError
from edgeseg.evaluation.comparison_report import (
    TABLE_METRICS,
    TEST_METRICS,
    md_table,
    per_frame_csv,
    render_html,
    render_markdown,
    result_tables,
)
from edgeseg.io import write_text_atomic
from edgeseg.metrics import DEFAULT_POLICY, check_policy
from edgeseg.stats import bootstrap_diff_ci, holm, paired_ttest, wilcoxon
from edgeseg.train.options import TrainOptions, config_from_options

SCHEMA = "edgeseg.comparison/1"
REFERENCE = "resunet"
LATENCY_RUNS = 20

Log = Callable[[str], None]


def baseline_predictor(fn: Callable[[np.ndarray], np.ndarray], n_classes: int):
    """A ``Predictor`` (see ``train/evaluate.py``) running a classical baseline on each frame.

    The baseline's mask becomes a 0/1 "probability" of the first class (other classes empty),
    so the threshold leaves it unchanged; there is no presence score.
    """

    def predict(images: np.ndarray) -> tuple[np.ndarray, None]:
        probs = np.zeros((*images.shape, n_classes), dtype=np.float32)
        for i, frame in enumerate(images):
            probs[i, ..., 0] = fn(frame)
        return probs, None

    return predict


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seed Python, numpy and TensorFlow; run TensorFlow ops deterministically inside."""
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    try:  # no public getter/disable in TF 2.21: restore the old state where we can read it
        from tensorflow.python.framework import config as tf_config

        was_on = tf_config.is_op_determinism_enabled()
    except (ImportError, AttributeError):
        tf_config, was_on = None, True
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if tf_config is not None and not was_on:
            tf_config.disable_op_determinism()


def _names(value: Sequence[str] | str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [v.strip() for v in items if v.strip()]


def check_methods(models: Sequence[str], baselines: Sequence[str]) -> None:
    """Model and baseline names must be known and unique; ConfigError naming the valid set."""
    from edgeseg.train.models import BUILDERS

    if not models:
        raise ConfigError(
            f"--models is empty: pass e.g. --models resunet,unet ({_valid(BUILDERS)})"
        )
    for kind, names, valid in (
        ("--models", models, {**BUILDERS, **ENCODER_ALIASES}),
        ("--baselines", baselines, BASELINES),
    ):
        unknown = [n for n in names if n not in valid]
        if unknown:
            raise ConfigError(f"{kind}: {', '.join(unknown)} not one of {_valid(valid)}")
        if len(set(names)) != len(names):
            raise ConfigError(f"{kind} {','.join(names)}: each name may appear once")
    clash = set(models) & set(baselines)
    if clash:
        raise ConfigError(f"{', '.join(sorted(clash))} is both a model and a baseline")


def _valid(table: dict) -> str:
    return ", ".join(sorted(table))


def split_for_comparison(
    samples: Sequence[Sample],
    test_samples: Sequence[Sample] | None,
    val_fraction: float,
    seed: int,
) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """(train, val, test): subject-wise; the test part is held out first when not given."""
    if test_samples is not None:
        train_s, val_s = subject_split(samples, val_fraction, seed)
        return train_s, val_s, list(test_samples)
    subjects = {s.subject for s in samples}
    if len(subjects) < 3:
        raise ConfigError(
            f"{len(subjects)} subject(s) in the data: a train/validation/test split by subject "
            "needs 3 or more; pass --test-data DIR, or --subject-regex/--manifest if frames "
            "of one subject are grouped wrongly"
        )
    rest, test_s = subject_split(samples, val_fraction, seed)
    train_s, val_s = subject_split(rest, val_fraction, seed)
    return train_s, val_s, test_s


def int8_latency(run_dir: Path, calibration: np.ndarray, runs: int = LATENCY_RUNS) -> dict:
    """Export the run to int8 (``edgeseg.convert``) and time ``invoke()`` with LiteRT, 1 thread.

    Returns ``{"ms": median or None, "note": why not, "bytes": file size}``; nothing here raises,
    a model that does not convert is reported as such.
    """
    try:
        from edgeseg.convert.tflite import export
    except ImportError as exc:
        return {"ms": None, "note": f"edgeseg.convert unavailable ({exc.name})", "bytes": None}
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return {"ms": None, "note": "ai_edge_litert not installed", "bytes": None}
    try:
        result = export(run_dir, variant="int8", which="best", calibration=calibration, force=True)
    except EdgesegError as exc:
        return {"ms": None, "note": f"does not convert: {exc}", "bytes": None}
    except Exception as exc:  # a converter failure is a result of the comparison, not a crash
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {"ms": None, "note": f"does not convert: {first}", "bytes": None}
    interpreter = Interpreter(model_path=str(result.path), num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
    for _ in range(3):
        interpreter.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        interpreter.invoke()
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"ms": float(np.median(times)), "note": "", "bytes": int(result.bytes)}


def paired_tests(
    scores: dict[str, dict[str, list[float]]],
    reference: str,
    classes: Sequence[str],
    seed: int = 0,
) -> dict:
    """Each method vs ``reference`` per class and metric; Holm over the methods in each family.

    ``scores[method][f"{class}/{metric}"]`` are per-frame values in the same frame order.
    Differences are ``method - reference``.
    """
    others = [m for m in scores if m != reference]
    out: dict = {}
    for cls in classes:
        for metric in TEST_METRICS:
            key = f"{cls}/{metric}"
            ref = scores[reference][key]
            rows = {
                m: {
                    "wilcoxon": wilcoxon(scores[m][key], ref),
                    "ttest": paired_ttest(scores[m][key], ref),
                    "diff": bootstrap_diff_ci(scores[m][key], ref, seed=seed),
                }
                for m in others
            }
            for test in ("wilcoxon", "ttest"):
                adjusted = holm([rows[m][test]["pvalue"] for m in others])
                for m, p in zip(others, adjusted, strict=True):
                    rows[m][test]["pvalue_holm"] = p
            out[key] = rows
    return out


def compare(
    data: Path,
    models: Sequence[str] | str,
    out_dir: Path,
    epochs: int,
    size: int = 128,
    seed: int = 0,
    test_data: Path | None = None,
    classes: str | None = None,
    baselines: Sequence[str] | str = tuple(BASELINES),
    reference: str = REFERENCE,
    base_filters: int = 12,
    depth: int = 3,
    batch_size: int = 16,
    lr: float = 1e-3,
    val_fraction: float = 0.2,
    normalize: str = "percentile",
    layout: str = "auto",
    subject_regex: str | None = None,
    manifest: Path | None = None,
    latency: bool = True,
    force: bool = False,
    credit: str = "",
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    log: Log = print,
    empty_policy: str = DEFAULT_POLICY,
) -> dict:
    """Train each of ``models``, evaluate them and ``baselines`` on one test set; write reports.

    ``models``/``baselines``: names (or one comma-separated string) from ``models.BUILDERS`` and
    ``baselines.BASELINES`` (``"none"``: no baselines). ``reference`` (default resunet, else the
    first model) is what the paired tests compare against. ``progress(n)``/``total(n)`` count
    evaluated frames.
    ``empty_policy``: how frames with empty masks score (``edgeseg.metrics.EMPTY_POLICIES``).
    Returns ``{"results", "timing", "table", "files", "out_dir", "seconds"}``.
    """
    from edgeseg.config import check_seed

    check_seed(seed)  # before any work: numpy's traceback otherwise (H4, issue 18)
    import tf_keras as keras

    from edgeseg.train.evaluate import (
        contract_for,
        evaluate_samples,
        keras_predictor,
        summarize_rows,
    )
    from edgeseg.train.loop import train
    from edgeseg.train.serialization import load_model, model_path
    from edgeseg.train.zoo import model_stats

    start = time.time()
    models = _names(models)
    baselines = [b for b in _names(baselines) if b != "none"]
    check_methods(models, baselines)
    check_policy(empty_policy)
    options = TrainOptions(  # train's door: the same checks of sizes, epochs, lr, classes, regex
        data=Path(data),
        out=Path(out_dir),
        size=size,
        normalize=normalize,
        base_filters=base_filters,
        depth=depth,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        val_fraction=val_fraction,
        seed=seed,
        patience=epochs,  # no early stopping: every model gets the whole budget
        classes=classes,
        subject_regex=subject_regex,
        manifest=manifest,
    )
    if reference not in models:
        log(f"note: reference {reference!r} is not among --models; comparing against {models[0]}")
        reference = models[0]
    out_dir = Path(out_dir)
    if (out_dir / "comparison.json").is_file() and not force:
        raise ConfigError(
            f"{out_dir} already holds a comparison: pass --force to overwrite or choose --out"
        )

    with deterministic(seed):
        samples, found_layout = discover(Path(data), layout, subject_regex, manifest)
        given_test = None
        if test_data is not None:
            given_test, _ = discover(
                Path(test_data), "auto", subject_regex, manifest, hint="pass --test-data DIR"
            )
        train_s, val_s, test_s = split_for_comparison(samples, given_test, val_fraction, seed)
        base = replace(
            config_from_options(options, found_layout),
            # each model's own stem default: the architecture is set per model below
            model=ModelSpec(base_filters=base_filters, depth=depth, presence_head=True),
            train_subjects=tuple(sorted({s.subject for s in train_s})),
            val_subjects=tuple(sorted({s.subject for s in val_s})),
            train_frames=len(train_s),
            val_frames=len(val_s),
        )
        class_names = base.class_names
        log(
            f"split: {len(train_s)} training, {len(val_s)} validation, {len(test_s)} test frames; "
            f"{len(models)} models x {epochs} epochs + {len(baselines)} baselines"
        )
        # Every frame is read before any model trains: a bad one fails fast, nothing written.
        train_arrays = load_arrays(train_s, base.preprocessing, base.classes)
        val_arrays = load_arrays(val_s, base.preprocessing, base.classes)
        check_samples(test_s, base.classes)
        if total:
            total((len(models) + len(baselines)) * len(test_s))

        methods: list[dict] = []
        scores: dict[str, dict[str, list[float]]] = {}
        frames: list[dict] = []
        timing: dict = {"train_seconds": {}, "latency": {}}

        def record(name: str, kind: str, cfg: RunConfig, rows: list[dict], stats: dict | None):
            nonlocal frames
            frames = [{"image": r["image"], "subject": r["subject"]} for r in rows]
            methods.append(
                {
                    "name": name,
                    "kind": kind,
                    "summary": summarize_rows(
                        rows, contract_for(cfg), seed=seed, policy=empty_policy
                    ),
                    "params": None if stats is None else stats["params"],
                    "macs": None if stats is None else stats["macs"],
                }
            )
            scores[name] = {
                f"{c}/{k}": [float(r[f"{c}/{k}"]) for r in rows]
                for c in class_names
                for k in TABLE_METRICS
            }

        for name in models:
            cfg = replace(base, model=replace(base.model, arch=name))
            run_dir = out_dir / "runs" / name
            if run_dir.exists():
                shutil.rmtree(run_dir)
            log(f"[{name}] training {epochs} epochs -> {run_dir}")
            keras.backend.clear_session()
            result = train(
                cfg,
                run_dir,
                train_arrays,
                val_arrays,
                verbose=0,
                log=lambda m, name=name: log(f"[{name}] {m}"),
            )
            timing["train_seconds"][name] = round(result.seconds, 2)
            model = load_model(model_path(run_dir, "best"))
            rows = evaluate_samples(
                test_s,
                contract_for(cfg),
                keras_predictor(model, batch_size),
                progress=progress,
                policy=empty_policy,
            )
            record(name, "model", cfg, rows, model_stats(model))
            if latency:
                timing["latency"][name] = int8_latency(run_dir, train_arrays[0])
                note = timing["latency"][name]["note"]
                if note:
                    log(f"[{name}] int8 latency n/a: {note}")

        for name in baselines:
            cfg = replace(base, model=ModelSpec(arch=name, presence_head=False))
            rows = evaluate_samples(
                test_s,
                contract_for(cfg),
                baseline_predictor(BASELINES[name], len(class_names)),
                progress=progress,
                policy=empty_policy,
            )
            record(name, "baseline", cfg, rows, None)

        results = {
            "schema": SCHEMA,
            "data": str(data),
            "layout": found_layout,
            "test_source": str(test_data) if test_data else "held-out subjects of --data",
            "credit": credit,
            "empty_policy": empty_policy,
            "classes": class_names,
            "reference": reference,
            "settings": {
                "models": models,
                "baselines": baselines,
                "size": size,
                "normalize": normalize,
                "epochs": epochs,
                "batch_size": batch_size,
                "lr": lr,
                "base_filters": base_filters,
                "depth": depth,
                "seed": seed,
                "val_fraction": val_fraction,
            },
            "split": {
                "train_frames": len(train_s),
                "val_frames": len(val_s),
                "test_frames": len(test_s),
                "train_subjects": len(base.train_subjects),
                "val_subjects": len(base.val_subjects),
                "test_subjects": len({s.subject for s in test_s}),
            },
            "methods": methods,
            "tests": paired_tests(scores, reference, class_names, seed=seed),
        }
        timing["seconds"] = round(time.time() - start, 1)
        report = {"results": results, "timing": timing}
        files = {
            "json": write_text_atomic(out_dir / "comparison.json", json.dumps(report, indent=2)),
            "md": write_text_atomic(out_dir / "comparison.md", render_markdown(results, timing)),
            "html": write_text_atomic(out_dir / "comparison.html", render_html(results, timing)),
            "csv": write_text_atomic(out_dir / "per_frame.csv", per_frame_csv(frames, scores)),
        }
        first = result_tables(results, timing)[0]
        return {
            **report,
            "table": md_table(first[1], first[2]),
            "files": {k: str(v) for k, v in files.items()},
            "out_dir": str(out_dir),
            "seconds": timing["seconds"],
        }
