"""Worker processes of a multiworker run, supervised so that a broken cluster is an error.

TensorFlow joins a cluster inside the strategy's constructor, in C++ code that holds the GIL and
ignores Ctrl-C and SIGTERM: a process cannot time out its own join. So ``edgeseg train
--strategy multiworker`` trains in a child process (``python -m edgeseg.cli train-worker``, a
hidden command taking the options as JSON) and the parent, which never imports TensorFlow,
watches it:

* the child marks in its folder (``EDGESEG_WORKER_DIR``) when it starts to join and when it has
  joined; if it has not joined ``--join-timeout`` seconds after starting to, the parent probes
  the peers' ports (to name the missing ones), kills it and raises one ConfigError;
* when a child fails, its ``edgeseg: error:`` line becomes the parent's error; when it is killed,
  the error says so and which epochs the run kept for ``--resume``.

``edgeseg train --workers N`` uses the same supervisor for N local children on free 127.0.0.1
ports (worker 0 is the chief and writes ``--out``; the others write scratch folders they
remove). Only the chief's lines are passed on. Children die with the parent (Linux
``PR_SET_PDEATHSIG``), so a killed launcher leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeseg.errors import ConfigError, TrainingError

Log = Callable[[str], None]
STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL (a worker waiting in a collective ignores SIGTERM)
WORKER_DIR_ENV = "EDGESEG_WORKER_DIR"  # set by the supervisor for its child
JOINING, JOINED, RESULT = "joining", "joined", "result.json"


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that were free on 127.0.0.1 a moment ago."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports: list[int], index: int) -> str:
    """``TF_CONFIG`` of local worker ``index`` in a cluster on ``ports``."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def worker_options(opt: Any) -> str:
    """``opt`` as the JSON a worker's ``edgeseg train-worker`` reads: ``--strategy
    multiworker`` without ``--workers``, paths absolute."""
    values = dataclasses.asdict(opt)
    for name, value in values.items():
        if isinstance(value, Path):
            values[name] = str(value.resolve())
    return json.dumps({**values, "strategy": "multiworker", "workers": 0})


def mark(name: str, payload: str = "") -> None:
    """In a supervised child: tell the parent ``joining``/``joined``/the result."""
    folder = os.environ.get(WORKER_DIR_ENV)
    if folder:
        from edgeseg.io import write_text_atomic

        write_text_atomic(Path(folder) / name, payload)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Worker:
    """One child process; the chief's stdout is relayed line by line."""

    def __init__(self, index: int, cmd: list[str], tf_cfg: str, folder: Path, log: Log | None):
        self.index, self.folder = index, folder
        folder.mkdir()
        env = {**os.environ, "TF_CONFIG": tf_cfg, WORKER_DIR_ENV: str(folder)}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.err_path = folder / "stderr"
        out = subprocess.PIPE if log else subprocess.DEVNULL
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=err,
                env=env,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.relay = None
        if log:
            self.relay = threading.Thread(target=self._relay, args=(log,), daemon=True)
            self.relay.start()

    def _relay(self, log: Log) -> None:
        for raw in self.proc.stdout:
            log(raw.decode("utf-8", "replace").rstrip("\n"))

    def late(self, timeout: int) -> bool:
        """Whether it started to join more than ``timeout`` seconds ago and has not joined."""
        joining = self.folder / JOINING
        if (self.folder / JOINED).is_file() or not joining.is_file():
            return False
        return time.time() - joining.stat().st_mtime > timeout

    def error_line(self) -> str:
        """The worker's ``edgeseg: error:`` line, else its last stderr line."""
        try:
            lines = self.err_path.read_text("utf-8", "replace").splitlines()
        except OSError:
            return ""
        errors = [ln for ln in lines if ln.startswith("edgeseg: error: ")]
        if errors:
            return errors[-1].removeprefix("edgeseg: error: ")
        return lines[-1].strip() if lines else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.relay is not None:
            self.relay.join(5)


def _failure(worker: _Worker, n: int, out: Path) -> TrainingError:
    from edgeseg.train.distribute import lost_worker

    code = worker.proc.returncode
    line = worker.error_line()
    if code > 0 and line.startswith(("TF_CONFIG", "a worker of the cluster stopped")):
        return TrainingError(line)
    if n == 1:
        role = "the training process"
    else:
        role = "the chief (worker 0)" if worker.index == 0 else f"worker {worker.index}"
        role += f" of {n} local workers"
    if code > 0 and line:
        return TrainingError(f"{role}: {line}")  # its own one-line error
    how = f"was killed (signal {-code})" if code < 0 else f"exited with code {code}"
    return TrainingError(lost_worker(out, f"{role} {how}"))


def supervise(opt: Any, configs: list[str], log: Log = print):
    """Run one ``train-worker`` child per ``TF_CONFIG`` in ``configs`` (the first one's lines
    are relayed) and watch them; the TrainResult of the first."""
    from edgeseg.train.distribute import _join_failure, read_tf_config
    from edgeseg.train.loop import TrainResult

    n, out = len(configs), Path(opt.out)
    cmd = [sys.executable, "-m", "edgeseg.cli", "train-worker", worker_options(opt)]
    root = Path(tempfile.mkdtemp(prefix="edgeseg-workers-"))
    workers: list[_Worker] = []
    try:
        for i, cfg in enumerate(configs):
            workers.append(_Worker(i, cmd, cfg, root / f"worker{i}", log if i == 0 else None))
        failed = late = None
        while failed is None and late is None and any(w.proc.poll() is None for w in workers):
            time.sleep(0.2)
            failed = next((w for w in workers if w.proc.poll() not in (None, 0)), None)
            late = next((w for w in workers if w.late(opt.join_timeout)), None)
        for w in workers:
            w.stop()
        if late is not None and failed is None:
            raise ConfigError(_join_failure(read_tf_config(configs[late.index]), opt.join_timeout))
        if failed is not None:
            raise _failure(failed, n, out)
        try:
            done = json.loads((workers[0].folder / RESULT).read_text())
        except (OSError, ValueError) as exc:
            raise TrainingError(f"the training process ended without a result ({exc})") from exc
    finally:
        for w in workers:
            w.stop()
        shutil.rmtree(root, ignore_errors=True)
    return TrainResult(**{**done, "run_dir": out})


def launch_local(opt: Any, log: Log = print):
    """``--workers N``: a cluster of N local processes; the TrainResult of the chief's run."""
    if os.environ.get("TF_CONFIG"):
        raise ConfigError(
            "TF_CONFIG is set, but --workers starts its own local cluster: unset TF_CONFIG, or "
            "drop --workers and use --strategy multiworker on each machine"
        )
    ports = free_ports(opt.workers)
    log(f"starting {opt.workers} local workers on 127.0.0.1 ports {', '.join(map(str, ports))}")
    return supervise(opt, [tf_config(ports, i) for i in range(opt.workers)], log)
