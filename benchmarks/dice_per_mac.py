"""Issue 17: Dice per MAC. Every candidate recipe, several seeds, one cost table.

Usage: python benchmarks/dice_per_mac.py [--data D] [--test-data D/test]
       [--candidates "wave1 slim ..."] [--seeds 0,1,2] [--out runs/recipes] [--no-qat]
       [--qat-seeds 0]

For each candidate (a preset of ``edgeseg.train.recipes``, or ``NAME=PRESET:OPTION=VALUE,...``
for a variant, e.g. ``slim_2class=slim:classes=nerve=1;vessel=2``; ``@0;1`` at the end: these
seeds instead of ``--seeds``; ``teacher=@wave1;slim``: distil from every seed's run of those
earlier candidates) and seed: train on the
training folder (the run's subject-wise train/validation split picks the checkpoint; the test
split is only scored), evaluate the float model on the test split (also with test-time flip),
QAT fine-tune (5 epochs) and export int8, and export post-training int8 of the best checkpoint
calibrated on the run's own training frames; evaluate both ``.tflite`` files through
``edge_runtime`` on the same frames. Finished
steps are kept in ``OUT/NAME_sSEED`` (``dice_per_mac.json`` there) and skipped on a re-run.
Then, in one timing session, each candidate's int8 file is invoked on one thread in interleaved
rounds. Statistics: per-frame Dice averaged over the seeds of a candidate, paired with the
reference (the first candidate) frame by frame, bootstrap 95% CI of the mean difference.
Writes ``benchmarks/results/dice_per_mac.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

DATA = "../shared/data/usgra-seg/dataset"
RESULT = Path("benchmarks/results/dice_per_mac.json")
CREDIT = "usgra-seg dataset (github.com/tmkand/usgra-seg), CC BY 4.0"
QAT_EPOCHS = 5
CANDIDATES = (
    "wave1",
    "slim",
    "slim_long",
    "lite@0;1",
    "slim_2class=slim:classes=nerve=1;vessel=2@0",
    "slim_cos_ema",
    "slim_cos",
    # Distilled from every seed of the four candidates above it (12 runs; the table reports
    # the teachers' own ensemble Dice).
    "slim_kd=slim_cos_ema:teacher=@wave1;slim;slim_long;slim_cos_ema",
    # The validation split cut from 20% to 5% of the training folder: 31 more training frames.
    "slim_cos_ema_v05=slim_cos_ema:val_fraction=0.05",
    # The best float recipe of this list trained on both classes: what the vessel class costs.
    "slim_cos_ema_2class=slim_cos_ema:classes=nerve=1;vessel=2",
)
# Scores per run: float (best checkpoint), int8 after QAT, post-training int8 of the best
# checkpoint calibrated on the run's training frames.
KINDS = ("float", "int8", "int8_ptq")
ROUNDS, RUNS = 7, 40  # timing: interleaved rounds x invokes per round and model
# The acceptance for a new default.
MAX_MACS = 100_000_000
MAX_INT8_BYTES = 300_000
MAX_INT8_DROP = 0.005


def parse_candidate(text: str) -> tuple[str, str, dict[str, Any], list[int] | None]:
    """``NAME`` (a preset) or ``NAME=PRESET:KEY=VALUE,...``, either with ``@SEED;SEED`` at the
    end -> (name, preset, overrides, seeds or None for ``--seeds``).

    In values ``;`` stands for ``,`` (class maps) and numbers are parsed.
    """
    seeds = None
    tail = re.search(r"@([0-9;]+)$", text)
    if tail:
        text = text[: tail.start()]
        seeds = [int(v) for v in tail.group(1).split(";")]
    if "=" not in text.split(":")[0]:
        return text, text, {}, seeds
    name, rest = text.split("=", 1)
    preset, _, pairs = rest.partition(":")
    overrides: dict[str, Any] = {}
    for pair in filter(None, pairs.split(",")):
        key, value = pair.split("=", 1)
        overrides[key] = _value(value.replace(";", ","))
    return name, preset, overrides, seeds


def resolve_teachers(overrides: dict, cands: dict, out: Path) -> dict:
    """``teacher=@NAME;NAME`` -> every seed's run folder of those (earlier) candidates."""
    value = overrides.get("teacher")
    if not isinstance(value, str) or not value.startswith("@"):
        return overrides
    runs = []
    for name in value[1:].split(","):
        if name not in cands:
            raise SystemExit(f"teacher {name!r} must be a candidate listed before its student")
        runs += [str(out / f"{name}_s{seed}") for seed in cands[name]["seeds"]]
    return {**overrides, "teacher": ",".join(runs)}


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def train_one(run_dir: Path, data: Path, preset: str, overrides: dict, seed: int) -> None:
    from edgeseg.train.recipes import with_preset
    from edgeseg.train.runner import train_options, train_run

    state = run_dir / "state.json"
    if state.is_file() and json.loads(state.read_text()).get("finished"):
        return
    opts = with_preset(preset, {**overrides, "data": data, "out": run_dir, "seed": seed})
    train_run(train_options(**opts, force=True), log=lambda m: print(f"  [{run_dir.name}] {m}"))


def _scores(rows: list[dict], classes: list[str]) -> dict[str, list[float]]:
    return {c: [float(r[f"{c}/dice"]) for r in rows] for c in classes}


def evaluate_run(run_dir: Path, test_data: Path, qat: bool) -> dict:
    """Float (best) and int8 (QAT) per-frame test Dice of one run; cached in the run folder."""
    from edgeseg.config import load_config
    from edgeseg.datasets import discover
    from edgeseg.train.evaluate import contract_for, evaluate_samples
    from edgeseg.train.serialization import load_model, model_path
    from edgeseg.train.zoo import model_stats

    cache = run_dir / "dice_per_mac.json"
    found = json.loads(cache.read_text()) if cache.is_file() else {}
    cfg = load_config(run_dir)
    classes = list(cfg.class_names)
    samples, _ = discover(test_data, "auto")
    if "float" not in found:
        from edgeseg.evaluation.predictions import keras_predictor

        model = load_model(model_path(run_dir, "best"))
        rows = evaluate_samples(samples, contract_for(cfg), keras_predictor(model))
        state = json.loads((run_dir / "state.json").read_text())
        found.update(
            frames=[r["image"] for r in rows],
            classes=classes,
            float=_scores(rows, classes),
            **model_stats(model),
            best_epoch=int(state["best_epoch"]) + 1,
            epochs_run=int(state["epoch"]) + 1,
            best_val_dice=float(state["best_val_dice"]),
        )
        _save(cache, found)
    if "float_flip" not in found:
        from edgeseg.evaluation.predictions import keras_predictor

        model = load_model(model_path(run_dir, "best"))
        rows = evaluate_samples(samples, contract_for(cfg), flip_averaged(keras_predictor(model)))
        found["float_flip"] = _scores(rows, classes)
        _save(cache, found)
    if qat and "int8" not in found:
        from edgeseg.convert.tflite import export
        from edgeseg.edge_runtime.segmenter import Segmenter
        from edgeseg.evaluation.predictions import segmenter_predictor
        from edgeseg.train.runner import qat_run

        qat_run(run_dir, epochs=QAT_EPOCHS, force=True, log=lambda m: None)
        result = export(run_dir, variant="int8", which="qat", force=True)
        seg = Segmenter(result.path, delegate="cpu", threads=1)
        rows = evaluate_samples(samples, seg.contract, segmenter_predictor(seg))
        found.update(int8=_scores(rows, classes), int8_path=str(result.path))
        found["int8_bytes"] = int(result.bytes)
        _save(cache, found)
    if qat and "int8_ptq" not in found:
        found.update(int8_ptq=_ptq_scores(run_dir, cfg, samples, classes))
        _save(cache, found)
    return found


def _ptq_scores(run_dir: Path, cfg, samples: list, classes: list[str]) -> dict:
    """Per-frame test Dice of post-training int8 of the best float checkpoint, calibrated on
    the run's own training frames (``RUN/export_ptq``)."""
    from edgeseg.convert.tflite import export
    from edgeseg.datasets import discover, load_arrays
    from edgeseg.edge_runtime.segmenter import Segmenter
    from edgeseg.evaluation.predictions import segmenter_predictor
    from edgeseg.train.evaluate import evaluate_samples

    frames, _ = discover(Path(cfg.data), cfg.layout or "auto", cfg.subject_regex)
    train = [f for f in frames if f.subject in set(cfg.train_subjects)]
    images, _ = load_arrays(train, cfg.preprocessing, cfg.classes)
    result = export(
        run_dir, variant="int8", which="best", calibration=images,
        out=run_dir / "export_ptq", force=True,
    )  # fmt: skip
    seg = Segmenter(result.path, delegate="cpu", threads=1)
    return _scores(evaluate_samples(samples, seg.contract, segmenter_predictor(seg)), classes)


def ensemble_scores(teachers: str, test_data: Path, out: Path) -> dict:
    """Per-frame test Dice of the teachers' mean probabilities (their ensemble); cached."""
    from edgeseg.config import load_config
    from edgeseg.datasets import discover
    from edgeseg.train.distill import teacher_probabilities
    from edgeseg.train.evaluate import contract_for, evaluate_samples

    cache = out / "dice_per_mac.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    runs = [Path(p) for p in teachers.split(",")]
    cfg = load_config(runs[0])
    samples, _ = discover(test_data, "auto")
    # One batch of every frame: each teacher is loaded once, not once per batch.
    rows = evaluate_samples(
        samples,
        contract_for(cfg),
        lambda images: (teacher_probabilities(runs, images, cfg), None),
        batch=len(samples),
    )
    found = {"teachers": [r.name for r in runs], "float": _scores(rows, list(cfg.class_names))}
    out.mkdir(parents=True, exist_ok=True)
    _save(cache, found)
    return found


def flip_averaged(predict):
    """Test-time flip: the mean of a predictor's probabilities on the frame and on its mirror
    image (mirrored back); twice the invokes per frame."""

    def predict_both(images: np.ndarray):
        probs, presence = predict(images)
        mirrored, presence_m = predict(images[:, :, ::-1].copy())
        probs = (probs + mirrored[:, :, ::-1]) / 2.0
        return probs, None if presence is None else (presence + presence_m) / 2.0

    return predict_both


def _save(path: Path, data: dict) -> None:
    from edgeseg.io import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2))


def time_invokes(paths: dict[str, str]) -> dict[str, dict]:
    """Median and spread of one-thread ``invoke`` per model, rounds interleaved across models."""
    from ai_edge_litert.interpreter import Interpreter

    interpreters = {}
    for name, path in paths.items():
        it = Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], np.zeros(d["shape"], dtype=d["dtype"]))
        for _ in range(5):
            it.invoke()
        interpreters[name] = it
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(ROUNDS):
        for name, it in interpreters.items():
            for _ in range(RUNS):
                t0 = time.perf_counter()
                it.invoke()
                times[name].append((time.perf_counter() - t0) * 1000.0)
    return {
        name: {
            "median_ms": float(np.median(t)),
            "p10_ms": float(np.percentile(t, 10)),
            "p90_ms": float(np.percentile(t, 90)),
            "invokes": len(t),
        }
        for name, t in times.items()
    }


def _by_seed(c: dict, kind: str) -> dict[int, dict]:
    """A candidate's runs that have ``kind`` (float, int8) scores, by seed."""
    return {seed: r for seed, r in zip(c["seeds"], c["runs"], strict=True) if kind in r}


def paired_diff(c: dict, base: dict, kind: str, cls: str) -> dict | None:
    """Frame-paired bootstrap CI of (c - base) per-frame Dice, each averaged over the seeds both
    have (plus the CI that resamples those seeds too); None without a common seed."""
    from edgeseg.stats import bootstrap_diff_ci, seed_frame_diff_ci

    mine, theirs = _by_seed(c, kind), _by_seed(base, kind)
    common = sorted(set(mine) & set(theirs))
    if not common or cls not in theirs[common[0]]["classes"]:
        return None
    a = np.asarray([mine[s][kind][cls] for s in common])
    b = np.asarray([theirs[s][kind][cls] for s in common])
    both = seed_frame_diff_ci(a, b)
    return {
        **_ci(bootstrap_diff_ci(a.mean(axis=0), b.mean(axis=0)), "mean_diff"),
        "seeds": common,
        # Conservative: the seeds resampled as well as the frames (edgeseg.stats).
        "seeds_and_frames": {"low": both["ci_low"], "high": both["ci_high"]},
    }


def summarize(cands: dict[str, dict], reference: str) -> dict:
    """Per candidate: seeds' Dice, seed-mean per frame, paired CIs vs the reference (and vs the
    candidate's own preset when that is a candidate too), cost."""
    from edgeseg.stats import bootstrap_ci

    out = {}
    for name, c in cands.items():
        first = c["runs"][0]
        row: dict[str, Any] = {
            "preset": c["preset"],
            "overrides": c["overrides"],
            "seeds": c["seeds"],
            "params": first["params"],
            "macs": first["macs"],
            "int8_bytes": first.get("int8_bytes"),
            "best_epochs": [r["best_epoch"] for r in c["runs"]],
            "epochs_run": [r["epochs_run"] for r in c["runs"]],
            "classes": {},
        }
        if "teachers" in c:
            nerve = c["teachers"]["float"]["nerve"]
            row["teacher_ensemble"] = {
                "runs": c["teachers"]["teachers"],
                "nerve_dice": _ci(bootstrap_ci(np.asarray(nerve))),
            }
        bases = [b for b in dict.fromkeys((reference, c["preset"])) if b in cands and b != name]
        for cls in first["classes"]:
            cls_row: dict[str, Any] = {}
            for kind in KINDS:
                runs = _by_seed(c, kind)
                if not runs:
                    continue
                per_seed = [float(np.mean(r[kind][cls])) for r in runs.values()]
                frames = np.mean([r[kind][cls] for r in runs.values()], axis=0)
                cls_row[kind] = {
                    "seeds": list(runs),
                    "per_seed": per_seed,
                    "mean": float(np.mean(per_seed)),
                    "sd": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else None,
                    "ci": _ci(bootstrap_ci(frames)),
                }
                for base in bases:
                    diff = paired_diff(c, cands[base], kind, cls)
                    if diff is not None:
                        cls_row[f"{kind}_diff_vs_{base}"] = diff
            flip = _by_seed(c, "float_flip")
            if flip:
                from edgeseg.stats import bootstrap_diff_ci

                seeds = sorted(flip)
                with_flip = np.mean([flip[s]["float_flip"][cls] for s in seeds], axis=0)
                plain = np.mean([flip[s]["float"][cls] for s in seeds], axis=0)
                cls_row["flip_minus_float"] = {
                    **_ci(bootstrap_diff_ci(with_flip, plain), "mean_diff"),
                    "seeds": seeds,
                    "flip_mean": float(np.mean(with_flip)),
                }
            for kind in KINDS[1:]:
                runs = _by_seed(c, kind)
                both = sorted(set(runs) & set(_by_seed(c, "float")))
                if both:
                    drops = [
                        np.mean(runs[s][kind][cls]) - np.mean(runs[s]["float"][cls]) for s in both
                    ]
                    cls_row[f"{kind}_minus_float"] = {"seeds": both, "mean": float(np.mean(drops))}
            row["classes"][cls] = cls_row
        out[name] = row
    return out


def _ci(stats: dict, key: str = "mean") -> dict:
    return {"mean": stats[key], "low": stats["ci_low"], "high": stats["ci_high"]}


def acceptance(row: dict, ref: dict, reference: str, cls: str = "nerve") -> dict:
    """The issue's criteria for a new default that this benchmark measures, each with its value
    (None where not measured); ``all``: every one met (parity is checked apart)."""
    c = row["classes"].get(cls, {})
    diff = c.get(f"float_diff_vs_{reference}")
    lat, ref_lat = row.get("int8_invoke", {}), ref.get("int8_invoke", {})
    checks = {
        "seeds >= 3": len(row["seeds"]) >= 3,
        "test Dice CI vs reference above 0": None if diff is None else diff["low"] > 0,
        "MACs <= 100 M": row["macs"] <= MAX_MACS,
        "int8 <= 300 KB": None if row["int8_bytes"] is None else row["int8_bytes"] <= 300_000,
        "int8 invoke <= reference": None
        if not lat or not ref_lat
        else lat["median_ms"] <= ref_lat["median_ms"],
        "int8 QAT Dice >= float - 0.005": _within_drop(c, "int8"),
        "int8 PTQ Dice >= float - 0.005": _within_drop(c, "int8_ptq"),
    }
    # One int8 route (QAT or post-training) keeping the float Dice is enough. Parity is the
    # other criterion: edgeseg parity judges a winner's int8 file on its own (docs/results.md).
    routes = ("int8 QAT Dice >= float - 0.005", "int8 PTQ Dice >= float - 0.005")
    needed = [v for k, v in checks.items() if k not in routes]
    int8_ok = any(checks[k] is True for k in routes)
    return {"checks": checks, "all": int8_ok and all(v is True for v in needed)}


def _within_drop(c: dict, kind: str) -> bool | None:
    drop = c.get(f"{kind}_minus_float")
    return None if drop is None else drop["mean"] >= -MAX_INT8_DROP


def one_line(name: str, row: dict, reference: str) -> str:
    """A candidate's cost and nerve Dice on one line (the printed table)."""
    nerve = row["classes"]["nerve"]
    lat = row.get("int8_invoke", {}).get("median_ms")
    text = (
        f"{name:12s} params {row['params']:>8,} MACs {row['macs'] / 1e6:6.1f}M "
        f"int8 {row['int8_bytes'] or 0:>8,} B invoke {lat or float('nan'):.2f} ms "
        f"float {nerve['float']['mean']:.4f} (sd {nerve['float']['sd'] or 0:.4f}, "
        f"{len(row['seeds'])} seeds)"
    )
    if "int8" in nerve:
        text += f" int8 {nerve['int8']['mean']:.4f}"
    if "int8_ptq" in nerve:
        text += f" int8 PTQ {nerve['int8_ptq']['mean']:.4f}"
    diff = nerve.get(f"float_diff_vs_{reference}")
    if diff:
        text += f" vs {reference} {diff['mean']:+.4f} [{diff['low']:+.4f}, {diff['high']:+.4f}]"
    return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DATA)
    p.add_argument("--test-data", default=None, help="default: DATA/test")
    p.add_argument(
        "--candidates",
        default=" ".join(CANDIDATES),
        help="space-separated; the first is the reference",
    )
    p.add_argument("--qat-seeds", default=None, help="QAT + int8 only for these seeds")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--out", default="runs/recipes")
    p.add_argument("--no-qat", action="store_true", help="float only (no int8 columns)")
    p.add_argument("--json", default=str(RESULT))
    args = p.parse_args()
    data = Path(args.data)
    test_data = Path(args.test_data) if args.test_data else data / "test"
    seeds = [int(s) for s in args.seeds.split(",")]
    qat_seeds = [int(s) for s in args.qat_seeds.split(",")] if args.qat_seeds else None
    start = time.time()
    cands: dict[str, dict] = {}
    for text in args.candidates.split(" "):
        name, preset, overrides, own_seeds = parse_candidate(text)
        overrides = resolve_teachers(overrides, cands, Path(args.out))
        runs = []
        for seed in own_seeds or seeds:
            run_dir = Path(args.out) / f"{name}_s{seed}"
            train_one(run_dir, data, preset, overrides, seed)
            qat = not args.no_qat and (qat_seeds is None or seed in qat_seeds)
            runs.append(evaluate_run(run_dir, test_data, qat=qat))
            print(f"{run_dir}: float nerve Dice {np.mean(runs[-1]['float']['nerve']):.4f}")
        cands[name] = {
            "preset": preset,
            "overrides": overrides,
            "seeds": own_seeds or seeds,
            "runs": runs,
        }
        if "teacher" in overrides:
            teachers = ensemble_scores(
                overrides["teacher"], test_data, Path(args.out) / f"{name}_teachers"
            )
            cands[name]["teachers"] = teachers
    reference = next(iter(cands))
    table = summarize(cands, reference)
    paths = {n: c["runs"][0]["int8_path"] for n, c in cands.items() if "int8_path" in c["runs"][0]}
    for name, timing in time_invokes(paths).items() if paths else ():
        table[name]["int8_invoke"] = timing
    for row in table.values():
        row["acceptance"] = acceptance(row, table[reference], reference)
    report = {
        "schema": "edgeseg.dice_per_mac/1",
        "command": "python benchmarks/dice_per_mac.py "
        + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v not in (None, False)
        ),
        "data": str(data),
        "test_data": str(test_data),
        "credit": CREDIT,
        "reference": reference,
        "qat_epochs": QAT_EPOCHS,
        "timing": {"rounds": ROUNDS, "runs_per_round": RUNS, "threads": 1, "model": "seed 0"},
        "machine": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
        },
        "seconds": round(time.time() - start, 1),
        "candidates": table,
    }
    from edgeseg.io import write_text_atomic

    write_text_atomic(Path(args.json), json.dumps(report, indent=2))
    for name, row in table.items():
        print(one_line(name, row, reference))
    print(f"wrote {args.json} in {time.time() - start:.0f}s; next: python docs/build_results.py")


if __name__ == "__main__":
    main()
