"""Training on ``tf.distribute``: ``--strategy default|mirrored|multiworker`` and ``TF_CONFIG``.

``multiworker`` is ``tf.distribute.MultiWorkerMirroredStrategy``; the cluster and this process's
place in it come from ``TF_CONFIG`` exactly as TensorFlow documents it::

    {"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}

(an optional ``"chief": ["host:port"]`` job makes that task the chief; otherwise worker 0 is).
Every worker runs the same ``edgeseg train`` command. The chief writes the run folder
(checkpoints, logs, config.json); the others write into a temporary folder removed at the end.
``--batch-size`` is the global batch, split evenly over the replicas; the learning rate is used
as given (not scaled); both are recorded in config.json with the strategy and replica count.

Two waits are bounded so that a broken cluster is an error, not a hang:

* joining: TensorFlow blocks inside the strategy's constructor until every worker has joined,
  in C++ code that holds the GIL and ignores Ctrl-C and SIGTERM. So the training runs in a child
  process that a parent supervises (``local_cluster.supervise``): a child that has not joined
  ``--join-timeout`` seconds after it started to is killed, and the parent names the peers whose
  ports do not answer, in one line (exit code 2). Nothing is written before the cluster forms.
* training: the coordination service's heartbeat marks a worker that stops answering as failed
  after ``HEARTBEAT_S`` seconds; the collective in flight then fails on the others, and that
  becomes one ``TrainingError`` naming the last finished epoch to ``--resume`` from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgeseg.config import CONFIG_NAME, RunConfig
from edgeseg.errors import ConfigError, TrainingError
from edgeseg.train.local_cluster import JOINED, JOINING, mark

STRATEGIES = ("default", "mirrored", "multiworker")
JOIN_TIMEOUT_S = 120  # default --join-timeout: how long the workers may take to join
HEARTBEAT_S = 30  # a worker silent this long is failed by the coordination service
JOBS = ("chief", "worker")  # the jobs MultiWorkerMirroredStrategy trains with
EXAMPLE = (
    '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}'
)
Log = Callable[[str], None]


@dataclass(frozen=True)
class ClusterTask:
    """A ``TF_CONFIG``: the cluster's jobs (name -> addresses) and this process's task."""

    cluster: dict[str, tuple[str, ...]]
    task_type: str
    index: int

    @property
    def address(self) -> str:
        return self.cluster[self.task_type][self.index]

    @property
    def is_chief(self) -> bool:
        """TensorFlow's rule: the ``chief`` task if the cluster has one, else worker 0."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.index == 0

    @property
    def workers(self) -> int:
        return sum(len(v) for v in self.cluster.values())

    def peers(self) -> list[tuple[str, str]]:
        """(task name, address) of every other task."""
        return [
            (f"{job} {i}", address)
            for job, addresses in self.cluster.items()
            for i, address in enumerate(addresses)
            if (job, i) != (self.task_type, self.index)
        ]


def _bad(detail: str) -> ConfigError:
    return ConfigError(f"TF_CONFIG {detail}; expected e.g. {EXAMPLE}")


def _address(job: str, value: Any) -> str:
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad(f'cluster "{job}" lists {value!r}, which is not a "host:port" address')
    return value


def read_tf_config(text: str | None) -> ClusterTask:
    """The cluster described by ``TF_CONFIG``'s text; one-line ConfigError for each mistake."""
    if not text or not text.strip():
        raise ConfigError(
            "--strategy multiworker needs TF_CONFIG (the cluster and this worker's place in "
            f"it), e.g. TF_CONFIG='{EXAMPLE}'; or try it locally with --workers 2"
        )
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"is not JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(raw, dict) or "cluster" not in raw or "task" not in raw:
        raise _bad('needs the keys "cluster" and "task"')
    cluster, task = raw["cluster"], raw["task"]
    if not isinstance(cluster, dict) or not cluster:
        raise _bad('"cluster" must be an object of job name -> list of "host:port"')
    jobs: dict[str, tuple[str, ...]] = {}
    for job, addresses in cluster.items():
        if job not in JOBS:
            raise _bad(
                f'names the job "{job}": MultiWorkerMirroredStrategy trains with chief/worker'
            )
        if not isinstance(addresses, list) or not addresses:
            raise _bad(f'cluster "{job}" must be a non-empty list of "host:port"')
        jobs[job] = tuple(_address(job, a) for a in addresses)
    if len(jobs.get("chief", ())) > 1:
        raise _bad('has more than one "chief"')
    every = [a for addresses in jobs.values() for a in addresses]
    if len(set(every)) != len(every):
        raise _bad("lists one address twice")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise _bad('"task" needs "type" and "index"')
    kind, index = task["type"], task["index"]
    if kind not in jobs:
        raise _bad(f"task type {kind!r} is not a job of its cluster ({', '.join(jobs)})")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(jobs[kind]):
        raise _bad(f'task index {index!r} is not in the cluster ("{kind}" has {len(jobs[kind])})')
    return ClusterTask(jobs, kind, index)


def check_strategy(strategy: str, workers: int) -> None:
    """The combinations ``edgeseg train`` refuses (called by ``check_options``)."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if workers and strategy == "mirrored":
        raise ConfigError("--workers starts local multiworker processes: drop --strategy mirrored")


def _reachable(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def _join_failure(task: ClusterTask, timeout: int) -> str:
    silent = [f"{name} at {address}" for name, address in task.peers() if not _reachable(address)]
    why = (
        f"nothing listens at {', '.join(silent)} (not started, wrong address, or a firewall)"
        if silent
        else "every peer's port answers, but not every worker joined (do all of them run "
        "`edgeseg train --strategy multiworker` with the same TF_CONFIG cluster?)"
    )
    return (
        f"the multiworker cluster did not form within --join-timeout {timeout} s: {why}; "
        "nothing was written"
    )


def _multiworker(task: ClusterTask):
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context

    # The strategy's own coordination-service setup, with a heartbeat timeout we state.
    jobs = [
        coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(addresses))
        for job, addresses in task.cluster.items()
    ]
    leader = "chief" if "chief" in task.cluster else "worker"
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=f"/job:{leader}/replica:0/task:0",
        heartbeat_timeout_in_ms=HEARTBEAT_S * 1000,
        coordinated_jobs=jobs,
        allow_new_incarnation_to_reconnect=True,
    )
    mark(JOINING)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    mark(JOINED)
    return strategy


def build_strategy(name: str, tf_config: str | None = None):
    """(strategy, cluster task) for ``--strategy``: ``default`` gives (None, None).

    ``multiworker`` reads ``TF_CONFIG`` (the environment's unless ``tf_config`` is given) and
    returns once every worker has joined (unbounded here: ``local_cluster.supervise`` bounds it).
    """
    if name == "default":
        return None, None
    if name == "multiworker":
        task = read_tf_config(os.environ.get("TF_CONFIG") if tf_config is None else tf_config)
        return _multiworker(task), task
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(), None


def record_strategy(cfg: RunConfig, name: str, strategy) -> RunConfig:
    """The config with the strategy and replica count; the batch must split evenly."""
    replicas = int(strategy.num_replicas_in_sync) if strategy is not None else 1
    if cfg.train.batch_size % replicas:
        fit = replicas * max(1, cfg.train.batch_size // replicas)
        raise ConfigError(
            f"--batch-size {cfg.train.batch_size} is the global batch: it must split evenly "
            f"over the {replicas} replicas (e.g. {fit})"
        )
    return replace(cfg, train=replace(cfg.train, strategy=name, replicas=replicas))


def describe(cfg: RunConfig) -> str:
    """The log line stating the global batch and learning rate."""
    t = cfg.train
    return (
        f"strategy {t.strategy}: {t.replicas} replicas; global batch {t.batch_size} "
        f"({t.batch_size // t.replicas} per replica); learning rate {t.learning_rate:g} (as given, "
        "not scaled)"
    )


@contextlib.contextmanager
def worker_folder(out: Path, resume: bool) -> Iterator[Path]:
    """A non-chief worker's scratch run folder (removed at the end); with ``resume`` it starts
    as a copy of the chief's checkpoints, so every worker resumes from the same epoch."""
    from edgeseg.train.loop import HISTORY, STATE
    from edgeseg.train.serialization import BEST, LAST

    scratch = Path(tempfile.mkdtemp(prefix="edgeseg-worker-"))
    try:
        if resume:  # the chief's run folder (one all workers see): what --resume reads
            for name in (CONFIG_NAME, STATE, LAST, BEST, HISTORY):
                if (Path(out) / name).is_file():
                    shutil.copy2(Path(out) / name, scratch / name)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def peer_errors(out: Path) -> Iterator[None]:
    """A lost worker (TensorFlow's collective or heartbeat error) as one TrainingError."""
    import tensorflow as tf

    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError,
            tf.errors.DeadlineExceededError, tf.errors.InternalError) as exc:  # fmt: skip
        raise TrainingError(lost_worker(out, str(exc.message).splitlines()[0][:200])) from exc


def lost_worker(out: Path, detail: str) -> str:
    """The message for a cluster that lost a worker: what is kept and how to continue."""
    from edgeseg.train.loop import read_state

    done = int(read_state(Path(out)).get("epoch", -1)) + 1  # {} without a state.json
    keep = (
        f"epochs 1-{done} are kept in {out}: restart every worker with --resume (the "
        "unfinished epoch is lost)"
        if done
        else "no epoch had finished, so there is nothing to resume: start it again"
    )
    return f"a worker of the cluster stopped ({detail}); {keep}"


def distributed_run(opt, log: Log = print):
    """``edgeseg train --strategy mirrored|multiworker`` (or ``--workers N``): join the cluster,
    then train into the run folder (the chief, or a single host) or a scratch folder (the
    other workers). Returns the run's TrainResult.

    A multiworker run outside a supervisor starts one (``local_cluster.supervise``) and trains
    in its child; ``--workers N`` supervises N local children.
    """
    from edgeseg.train import local_cluster
    from edgeseg.train.loop import run_folder
    from edgeseg.train.runner import train_in

    if opt.workers:
        return local_cluster.launch_local(opt, log)
    supervised = bool(os.environ.get(local_cluster.WORKER_DIR_ENV))
    if opt.strategy == "multiworker" and not supervised:
        text = os.environ.get("TF_CONFIG")
        read_tf_config(text)  # its mistakes are reported before any process starts
        return local_cluster.supervise(opt, [text], log)
    strategy, task = build_strategy(opt.strategy)
    out = Path(opt.out)
    if task is not None and not task.is_chief:
        quiet: Log = lambda _message: None  # noqa: E731 - the chief reports
        with peer_errors(out), worker_folder(out, opt.resume) as scratch:
            result = train_in(opt, scratch, quiet, strategy)
    else:
        with run_folder(out, opt.resume, opt.force) as work, peer_errors(out):
            result = train_in(opt, work, log, strategy)
    result = replace(result, run_dir=out)
    fields = {k: v for k, v in dataclasses.asdict(result).items() if k != "run_dir"}
    local_cluster.mark(local_cluster.RESULT, json.dumps(fields))
    return result
