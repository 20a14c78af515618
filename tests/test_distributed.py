"""Training on tf.distribute (edgeseg.train.distribute, edgeseg.train.local_cluster).

TF_CONFIG mistakes and option combinations are one-line ConfigErrors; a cluster that never forms
ends within --join-timeout; a 2-worker run on 127.0.0.1 finishes, its chief's checkpoint loads and
its validation Dice lies within the single-process spread measured by
benchmarks/distributed_throughput.py; a worker killed mid-training leaves a run that --resume
finishes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from edgeseg.errors import ConfigError
from edgeseg.train.distribute import read_tf_config
from edgeseg.train.local_cluster import free_ports, launch_local, tf_config, worker_options
from edgeseg.train.options import train_options

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "results" / "distributed_throughput.json"
TWO = '{"cluster": {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}, '

BAD_TF_CONFIG = [
    ("", "needs TF_CONFIG"),
    ("{not json", "is not JSON"),
    ("[1, 2]", 'needs the keys "cluster" and "task"'),
    ('{"cluster": {"worker": ["127.0.0.1:2001"]}}', 'needs the keys "cluster" and "task"'),
    ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', '"cluster" must be an object'),
    ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "non-empty list"),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', 'the job "ps"'),
    ('{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": ["a:70000"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "twice"),
    (TWO + '"task": {"type": "worker"}}', '"task" needs "type" and "index"'),
    (TWO + '"task": {"type": "worker", "index": 2}}', "task index 2 is not in the cluster"),
    (TWO + '"task": {"type": "worker", "index": true}}', "task index True is not in"),
    (TWO + '"task": {"type": "chief", "index": 0}}', "task type 'chief' is not a job"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_TF_CONFIG)
def test_bad_tf_config_is_one_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_tf_config(text)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("cluster", "task", "chief", "peers"),
    [
        ({"worker": ["h:1", "h:2"]}, ("worker", 0), True, ["worker 1"]),
        ({"worker": ["h:1", "h:2"]}, ("worker", 1), False, ["worker 0"]),
        ({"chief": ["h:3"], "worker": ["h:1"]}, ("worker", 0), False, ["chief 0"]),
        ({"chief": ["h:3"], "worker": ["h:1"]}, ("chief", 0), True, ["worker 0"]),
    ],
)
def test_chief_is_tensorflows_rule(cluster, task, chief, peers) -> None:
    text = json.dumps({"cluster": cluster, "task": {"type": task[0], "index": task[1]}})
    parsed = read_tf_config(text)
    assert parsed.is_chief is chief
    assert [name for name, _ in parsed.peers()] == peers
    assert parsed.workers == sum(len(v) for v in cluster.values())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"strategy": "horovod"}, "--strategy 'horovod'"),
        ({"workers": 2, "strategy": "mirrored"}, "drop --strategy mirrored"),
        ({"workers": -1}, "--workers -1"),
        ({"join_timeout": 0}, "--join-timeout 0"),
    ],
)
def test_bad_strategy_options(tmp_path: Path, kwargs: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        train_options(data=tmp_path, out=tmp_path / "run", **kwargs)


def test_worker_options_rebuild_the_same_options(tmp_path: Path) -> None:
    opt = train_options(data=tmp_path, out="run", workers=2, seed=3, lr=3e-3, presence=False)
    rebuilt = train_options(**json.loads(worker_options(opt)))
    assert rebuilt.strategy == "multiworker" and rebuilt.workers == 0
    assert rebuilt.out == (Path.cwd() / "run").resolve()
    for name in ("seed", "lr", "presence", "batch_size", "data"):
        assert getattr(rebuilt, name) == getattr(opt, name)


def test_workers_refuse_a_set_tf_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TF_CONFIG", tf_config([2001, 2002], 0))
    with pytest.raises(ConfigError, match="unset TF_CONFIG"):
        launch_local(train_options(data=tmp_path, out=tmp_path / "run", workers=2))
    assert not (tmp_path / "run").exists()


def _edgeseg(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgeseg.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        **kw,
    )


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("edgeseg: error:")]


def test_cli_tf_config_not_json(synth_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("train", "--data", str(synth_dir), "--out", str(out), "--strategy", "multiworker")
    proc = _edgeseg(*args, env={"TF_CONFIG": "{not json"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(_error_lines(proc.stderr)) == 1 and "TF_CONFIG is not JSON" in proc.stderr
    assert not out.exists()


def test_mirrored_in_process_records_its_replicas(synth_dir: Path, tmp_path: Path) -> None:
    """--strategy mirrored on a host without GPUs: one replica (the CPU), trained in-process,
    the strategy and replica count in config.json and in the log."""
    from edgeseg.train.runner import train_run

    lines: list[str] = []
    opt = train_options(
        data=synth_dir, out=tmp_path / "run", strategy="mirrored", size=64, base_filters=8,
        depth=2, epochs=1, batch_size=4, subject_regex=r"^(s\d+)_",
    )  # fmt: skip
    result = train_run(opt, log=lines.append)
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert (cfg["strategy"], cfg["replicas"], cfg["batch_size"]) == ("mirrored", 1, 4)
    assert "strategy mirrored: 1 replicas; global batch 4 (4 per replica)" in "\n".join(lines)
    assert result.epochs_run == 1 and (tmp_path / "run" / "model_best.h5").is_file()


def test_unreachable_worker_fails_within_join_timeout(synth_dir: Path, tmp_path: Path) -> None:
    """Worker 1's port has no listener: worker 0 gives up after --join-timeout, one line."""
    ports = free_ports(2)
    out = tmp_path / "run"
    start = time.monotonic()
    proc = _edgeseg(
        *("train", "--data", str(synth_dir), "--out", str(out), "--strategy", "multiworker"),
        *("--join-timeout", "5", "--subject-regex", r"^(s\d+)_"),
        env={"TF_CONFIG": tf_config(ports, 0)},
        timeout=300,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr[-2000:]
    [line] = _error_lines(proc.stderr)
    assert "did not form within --join-timeout 5 s" in line
    assert f"nothing listens at worker 1 at 127.0.0.1:{ports[1]}" in line
    assert not out.exists()
    # The wait itself is 5 s; the rest is Python + TensorFlow start-up on 2 shared cores.
    assert elapsed < 5 + 120


def _bench() -> dict:
    if not BENCH.is_file():
        pytest.skip(f"{BENCH} is missing: run benchmarks/distributed_throughput.py")
    return json.loads(BENCH.read_text())


def _phantoms(folder: Path, data: dict) -> Path:
    from edgeseg.train.synth import write_dataset

    write_dataset(folder, data["n"], size=(data["size"], data["size"]), seed=data["seed"])
    return folder


def _train_args(data: Path, out: Path, settings: dict, **more) -> list[str]:
    args = ["train", "--data", str(data), "--out", str(out)]
    for name, value in {**settings, **more}.items():
        args += ["--" + name.replace("_", "-"), str(value)]
    return args


def _scratch_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("edgeseg-worker*")}


def _prediction_bound(dice: list[float]) -> float:
    """Half-width of the 99% prediction interval of one more run from the seeds' mean."""
    from scipy import stats

    n = len(dice)
    sd = float(stats.tstd(dice))
    return float(stats.t.ppf(0.995, n - 1)) * sd * (1 + 1 / n) ** 0.5


@pytest.mark.slow
def test_two_workers_match_single_process_spread(tmp_path: Path) -> None:
    bench = _bench()
    data = _phantoms(tmp_path / "data", bench["data"])
    out = tmp_path / "run"
    before = _scratch_folders()
    proc = _edgeseg(*_train_args(data, out, bench["settings"], workers=2, seed=0), timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "strategy multiworker: 2 replicas; global batch 4 (2 per replica)" in proc.stdout
    cfg = json.loads((out / "config.json").read_text())["train"]
    assert (cfg["strategy"], cfg["replicas"], cfg["batch_size"]) == ("multiworker", 2, 4)
    assert cfg["learning_rate"] == bench["settings"]["lr"]
    assert _scratch_folders() <= before  # the non-chief's scratch folder is gone

    import numpy as np

    from edgeseg.train.serialization import load_model

    model = load_model(out / "model_best.h5")
    size = bench["settings"]["size"]
    outputs = model.predict(np.zeros((1, size, size, 1), np.float32), verbose=0)
    assert outputs[0].shape == (1, size, size, 1)
    # The same data, settings and global batch trained in one process gave the validation Dice
    # of bench["dice_spread"] over seeds 0-4 (benchmarks/distributed_throughput.py). Two workers
    # run the same optimisation on half-batches (per-replica BatchNorm statistics, sharded
    # augmentation), so a correct run is one more draw from that distribution: we accept the 99%
    # prediction interval of one more seed (t quantile, n seeds). A worker that trains on the
    # wrong data, skips the gradient all-reduce or never learns lands far outside it.
    state = json.loads((out / "state.json").read_text())
    dice = bench["dice_spread"]["dice"]
    mean, bound = float(np.mean(dice)), _prediction_bound(dice)
    assert abs(state["best_val_dice"] - mean) <= bound, (state["best_val_dice"], mean, bound)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.is_file() else []


def _worker_index(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"TF_CONFIG="):
            return json.loads(item[len(b"TF_CONFIG=") :])["task"]["index"]
    return None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_killed_worker_then_resume(tmp_path: Path) -> None:
    settings = {**_bench()["settings"], "epochs": 4, "patience": 4}
    data = _phantoms(tmp_path / "data", _bench()["data"])
    out = tmp_path / "run"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "edgeseg.cli", *_train_args(data, out, settings, workers=2)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    try:
        deadline = time.monotonic() + 600
        while not (out / "state.json").is_file():  # the chief finished its first epoch
            assert launcher.poll() is None and time.monotonic() < deadline, "no epoch finished"
            time.sleep(0.2)
        workers = {_worker_index(pid): pid for pid in _children(launcher.pid)}
        os.kill(workers[1], signal.SIGKILL)
        _, stderr = launcher.communicate(timeout=120)
    finally:
        launcher.kill()
    assert launcher.returncode == 2
    [line] = _error_lines(stderr)
    assert "worker 1 of 2 local workers was killed (signal 9)" in line
    kept = json.loads((out / "state.json").read_text())["epoch"] + 1
    assert f"epochs 1-{kept} are kept in {out}: restart every worker with --resume" in line
    for pid in workers.values():  # no worker outlives the launcher (it reaped them)
        assert not Path(f"/proc/{pid}").exists()
    proc = _edgeseg("train", "--out", str(out), "--resume", "--workers", "2", timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    state = json.loads((out / "state.json").read_text())
    assert state["finished"] and state["epoch"] == settings["epochs"] - 1
