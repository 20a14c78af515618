"""The pipeline's robustness pieces: the presence gate tuned on validation frames, seeded
synthetic data, and output ownership (build beside, swap in only what it made)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeseg.config import SEED_MAX, PostProcess, load_config
from edgeseg.errors import ConfigError
from edgeseg.train.pipeline import (
    OWNED,
    PIPELINE_FILE,
    check_out,
    data_seeds,
    owned_entries,
    staging,
    swap_in,
)
from edgeseg.train.presence_gate import choose_gate, gated_postprocess


def _frames(n_nerve: int, n_empty: int, blob: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """(probs, gts) at 32x32: a 10x10 nerve predicted right; empty frames with a ``blob``-px
    square false positive."""
    probs = np.zeros((n_nerve + n_empty, 32, 32), np.float32)
    gts = np.zeros_like(probs, dtype=np.uint8)
    probs[:n_nerve, 10:20, 10:20] = 0.9
    gts[:n_nerve, 10:20, 10:20] = 1
    side = int(np.sqrt(blob))
    probs[n_nerve:, 2 : 2 + side, 2 : 2 + side] = 0.9
    return probs, gts


# (presence of nerve frames, presence of empty frames, expected enabled, expected threshold)
GATE_CASES = [
    # well separated: the gate removes every false positive; ties -> the lowest threshold
    ([0.95, 0.9, 0.97], [0.01, 0.03], True, 0.05),
    # one empty frame scored 0.15: only thresholds above it remove both blobs
    ([0.95, 0.9, 0.97], [0.01, 0.15], True, 0.2),
    # the head misses a nerve (0.01) as often as it clears a blob: gating gains nothing
    ([0.01, 0.9, 0.97], [0.01, 0.99], False, None),
]


@pytest.mark.parametrize(("pos", "neg", "enabled", "threshold"), GATE_CASES)
def test_gate_threshold_is_chosen_on_validation(pos, neg, enabled, threshold):
    probs, gts = _frames(len(pos), len(neg))
    presence = np.array(pos + neg)
    choice = choose_gate(probs, presence, gts, PostProcess(min_area=0))
    assert choice["enabled"] is enabled
    assert choice["threshold"] == threshold
    assert choice["ungated"]["fp_frames"] == len(neg)
    post = gated_postprocess(PostProcess(min_area=4), choice)
    assert post.presence_gate is enabled and post.min_area == 4
    if enabled:
        assert post.presence_threshold == threshold
        assert choice["gated"]["dice"] > choice["ungated"]["dice"]


def test_gate_respects_min_area_and_the_guard_model():
    probs, gts = _frames(3, 2, blob=4)
    presence = np.array([0.95, 0.9, 0.97, 0.01, 0.03])
    # min_area already drops the 4-px blobs: the gate has nothing left to gain
    assert not choose_gate(probs, presence, gts, PostProcess(min_area=8))["enabled"]
    # a guard whose head misses the nerves at 0.05+ vetoes every threshold it would lose on
    guard = (probs, np.array([0.03, 0.04, 0.97, 0.99, 0.99]))
    choice = choose_gate(probs, presence, gts, PostProcess(min_area=0), guard=guard)
    assert choice["enabled"] and choice["threshold"] == 0.02
    assert [r["allowed"] for r in choice["rows"]][:3] == [True, False, False]


def test_gate_rejects_mismatched_inputs():
    probs, gts = _frames(2, 1)
    with pytest.raises(ConfigError, match="presence scores"):
        choose_gate(probs, np.array([0.5]), gts, PostProcess())
    with pytest.raises(ConfigError, match="presence thresholds"):
        choose_gate(probs, np.array([0.5] * 3), gts, PostProcess(), thresholds=(1.5,))


@pytest.mark.slow
def test_tune_presence_gate_records_in_config(tiny_run, tmp_path):
    from edgeseg.train.presence_gate import GATE_FILE, tune_presence_gate

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = load_config(run)
    report = tune_presence_gate(run, which="best", guard=None, subject_regex=r"^(s\d+)_")
    after = load_config(run)
    recorded = json.loads((run / GATE_FILE).read_text())
    assert recorded["frames"] == before.val_frames > 0
    assert after.postprocess.presence_gate is report["enabled"]
    if report["enabled"]:
        assert after.postprocess.presence_threshold == report["threshold"]
    assert after.postprocess.min_area == before.postprocess.min_area


# ----------------------------------------------------------------------- seeded data


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.png")):
        h.update(p.relative_to(folder).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_seed_gives_the_same_synthetic_splits(tmp_path):
    from edgeseg.train.synth import write_dataset

    assert data_seeds(0) == (0, 1)  # seed 0 keeps the splits the pipeline always made
    digests = {}
    for tag, seed in (("a", 3), ("b", 3), ("c", 4)):
        train_seed, test_seed = data_seeds(seed)
        write_dataset(tmp_path / tag / "train", 12, size=(32, 32), seed=train_seed)
        write_dataset(tmp_path / tag / "test", 12, size=(32, 32), seed=test_seed)
        digests[tag] = [_digest(tmp_path / tag / s) for s in ("train", "test")]
    assert digests["a"] == digests["b"]
    assert digests["a"][0] != digests["c"][0] and digests["a"][1] != digests["c"][1]
    assert digests["a"][0] != digests["a"][1]  # train and test never share frames
    with pytest.raises(ConfigError, match="--seed -1"):
        data_seeds(-1)
    top = (SEED_MAX - 1) // 2  # the test split's seed 2 seed + 1 must be a seed too
    assert data_seeds(top)[1] <= SEED_MAX
    with pytest.raises(ConfigError, match="--seed"):
        data_seeds(top + 1)


# ----------------------------------------------------------------------- ownership


def _old_output(out: Path) -> None:
    for name in ("data", "run", "parity"):
        (out / name).mkdir(parents=True)
        (out / name / "x.txt").write_text(f"old {name}")
    (out / PIPELINE_FILE).write_text(json.dumps({"owned": list(OWNED)}))
    (out / "notes.md").write_text("the user's own file")


def test_force_replaces_only_what_the_pipeline_wrote(tmp_path):
    out = tmp_path / "out"
    _old_output(out)
    with pytest.raises(ConfigError, match="pass --force"):
        check_out(out, force=False)
    check_out(out, force=True)
    assert owned_entries(out) == set(OWNED)
    with staging(out) as build:
        for name in ("data", "run", "parity"):
            (build / name).mkdir()
            (build / name / "y.txt").write_text(f"new {name}")
        (build / PIPELINE_FILE).write_text(json.dumps({"owned": list(OWNED)}))
        swap_in(build, out)
    assert not build.exists()  # the staging folder and the old entries are gone
    assert (out / "notes.md").read_text() == "the user's own file"
    assert (out / "run" / "y.txt").read_text() == "new run"
    assert not (out / "run" / "x.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_refuses_entries_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    (out / "run").mkdir(parents=True)
    (out / "run" / "mine.h5").write_text("a user's run")
    with pytest.raises(ConfigError, match="was not written by edgeseg pipeline"):
        check_out(out, force=True)
    (out / PIPELINE_FILE).write_text(json.dumps({"owned": ["parity"]}))
    with pytest.raises(ConfigError, match="run was not written"):
        check_out(out, force=True)


def test_a_failed_build_leaves_the_old_output(tmp_path):
    out = tmp_path / "out"
    _old_output(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(RuntimeError), staging(out) as build:
        (build / "run").mkdir()
        raise RuntimeError("training failed")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ----------------------------------------------------------------------- interruptions

TINY = ["--n", "40", "--n-test", "40", "--epochs", "1", "--qat-epochs", "0"]


def _pipeline(out: Path, *extra: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "edgeseg.cli", "pipeline", "--out", str(out), *TINY, *extra]


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_interrupted_force_keeps_the_old_output_or_completes(tmp_path):
    """Kill ``pipeline --force`` at a random moment (SIGINT, then SIGKILL): each time the old
    output is byte-identical, or the new one is complete; the user's file is never touched."""
    import random
    import signal
    import subprocess
    import time

    pytest.importorskip("tensorflow")
    from edgeseg.edge_runtime.metadata import read_metadata

    out = tmp_path / "out"
    start = time.time()
    first = subprocess.run(_pipeline(out, "--seed", "1"), capture_output=True, text=True)
    full = time.time() - start
    assert first.returncode in (0, 1, 3), first.stderr[-2000:]
    # built beside, relocated: nothing recorded points at the staging folder
    assert load_config(out / "run").data == str((out / "data" / "train").resolve())
    staged = [k for k, v in _files(out).items() if b".out.pipeline-" in v]
    assert not staged, staged
    meta = read_metadata(out / "run" / "export" / "model_int8.tflite")  # checks the weights too
    assert meta["config_sha256"] == load_config(out / "run").sha256()
    (out / "notes.md").write_text("the user's own file")
    rng = random.Random(0)
    for seed, signum in ((2, signal.SIGINT), (3, signal.SIGKILL)):
        old = _files(out)
        proc = subprocess.Popen(
            _pipeline(out, "--seed", str(seed), "--force"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.15, 0.9) * full)
        proc.send_signal(signum)
        proc.wait(timeout=600)
        now = _files(out)
        assert now["notes.md"] == b"the user's own file"
        if now != old:  # then the new output must be whole
            summary = json.loads(now[PIPELINE_FILE])
            assert summary["seed"] == seed and set(summary["owned"]) == set(OWNED)
            assert load_config(out / "run").train.seed == seed
            assert any(k.startswith("parity/report") for k in now)
        leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out.pipeline-")]
        if signum == signal.SIGINT:
            assert not leftovers  # SIGINT cleans up its staging folder
    # SIGKILL cannot clean up; the next run's staging removes what a dead process left
    with staging(out) as build:
        assert [p for p in tmp_path.iterdir() if p.name.startswith(".out.pipeline-")] == [build]


# ----------------------------------------------------------------------- the gate downstream


def test_a_recorded_gate_reaches_the_runtime_through_the_metadata(tiny_tflite, tmp_path):
    """A gate in the metadata is applied by the Segmenter (the Java core's twin is
    SegmentationPipelineTest.presenceGateEmptiesTheMask)."""
    from edgeseg.edge_runtime.metadata import read_metadata, write_metadata
    from edgeseg.edge_runtime.segmenter import Segmenter

    meta = read_metadata(tiny_tflite["i8"])
    frame = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    masks = {}
    for gate in (False, True):
        meta["postprocess"].update(
            threshold=0.01, min_area=0, presence_gate=gate, presence_threshold=0.999
        )
        path = write_metadata(tiny_tflite["i8"], meta, out_path=tmp_path / f"gate_{gate}.tflite")
        assert read_metadata(path)["postprocess"]["presence_gate"] is gate
        result = Segmenter(path, delegate="cpu").segment(frame)
        assert result.presence is not None and result.presence < 0.999
        masks[gate] = result.mask
    assert masks[False].any() and not masks[True].any()
