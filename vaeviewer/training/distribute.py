"""Pick a tf.distribute strategy: every GPU of one machine, or several machines under TF_CONFIG.

One machine with two or more GPUs trains with `MirroredStrategy` (`choose_strategy`). Several
machines each run `vaeviewer train` with the same settings and data and their own `TF_CONFIG`
task; TensorFlow's `MultiWorkerMirroredStrategy` keeps their replicas in step. Here:
`read_tf_config` checks TF_CONFIG, `join_cluster` starts this worker's part within a timeout, and
`check_workers_agree` makes sure every worker was started alike before the first step (workers that
differ in steps per epoch would otherwise wait on each other's collectives).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from vaeviewer.errors import VaeViewerError

DEFAULT_WORKER_TIMEOUT_S = 120.0
TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["hostA:12345", "hostB:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')
_KEY = "vaeviewer/worker/{}"


def choose_strategy() -> Optional[Any]:
    """MirroredStrategy over all visible GPUs when there are two or more, else None."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) < 2:
        return None
    return tf.distribute.MirroredStrategy([g.name for g in gpus])


@dataclass(frozen=True)
class Cluster:
    """This process's place in the TF_CONFIG cluster: `jobs` maps "chief"/"worker" to addresses."""

    jobs: dict
    task_type: str
    task_index: int

    def addresses(self) -> list[str]:
        """Every task's address, by rank (the chief first, when there is one)."""
        return [*self.jobs.get("chief", []), *self.jobs.get("worker", [])]

    @property
    def workers(self) -> int:
        return len(self.addresses())

    @property
    def rank(self) -> int:
        """0 for the chief (the "chief" task, else worker 0), then the workers in order."""
        before = len(self.jobs.get("chief", [])) if self.task_type == "worker" else 0
        return before + self.task_index

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    def name(self, rank: Optional[int] = None) -> str:
        """'worker 1 (hostB:12345)'; rank None: this one."""
        rank = self.rank if rank is None else rank
        return f"worker {rank} ({self.addresses()[rank]})"


def _check_address(job: str, address: Any) -> None:
    host, _, port = str(address).rpartition(":")
    if not isinstance(address, str) or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise VaeViewerError(f"TF_CONFIG: {address!r} in cluster.{job} is not a host:port address "
                             "(e.g. \"hostA:12345\")")


def read_tf_config(environ: Optional[dict] = None) -> Optional[Cluster]:
    """The cluster TF_CONFIG describes, or None when it is not set.

    Raises:
        VaeViewerError: TF_CONFIG is not JSON, has jobs other than "chief" and "worker", a bad
            address, or a task that is not one of its cluster's.
    """
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not text.strip():
        return None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VaeViewerError(f"TF_CONFIG is not valid JSON ({exc.msg} at character {exc.pos}); "
                             f"it should look like {TF_CONFIG_EXAMPLE}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("cluster"), dict) or not isinstance(spec.get("task"), dict):
        raise VaeViewerError(f"TF_CONFIG needs a \"cluster\" and a \"task\", like {TF_CONFIG_EXAMPLE}")
    cluster, task = spec["cluster"], spec["task"]
    other = sorted(set(cluster) - {"chief", "worker"})
    if other:
        raise VaeViewerError(f"TF_CONFIG: vaeviewer trains with MultiWorkerMirroredStrategy, whose cluster has "
                             f"\"worker\" tasks (and at most one \"chief\"); remove {other[0]!r}")
    jobs: dict[str, list[str]] = {}
    for job in ("chief", "worker"):
        if job not in cluster:
            continue
        addresses = cluster[job]
        if not isinstance(addresses, list) or not addresses:
            raise VaeViewerError(f"TF_CONFIG: cluster.{job} must be a list of host:port addresses")
        for address in addresses:
            _check_address(job, address)
        jobs[job] = list(addresses)
    if not jobs:
        raise VaeViewerError(f"TF_CONFIG: its cluster lists no worker; it should look like {TF_CONFIG_EXAMPLE}")
    if len(jobs.get("chief", [])) > 1:
        raise VaeViewerError("TF_CONFIG: cluster.chief may hold one address only")
    listed = [a for addrs in jobs.values() for a in addrs]
    twice = sorted({a for a in listed if listed.count(a) > 1})
    if twice:
        raise VaeViewerError(f"TF_CONFIG: {twice[0]} is listed twice; every worker needs its own host:port")
    kind, index = task.get("type"), task.get("index")
    if kind not in jobs:
        raise VaeViewerError(f"TF_CONFIG: task type {kind!r} is not one of its cluster's jobs ({', '.join(jobs)})")
    n = len(jobs[kind])
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
        raise VaeViewerError(f"TF_CONFIG: task index {index!r} must be 0..{n - 1}, the position of this "
                             f"machine's address in cluster.{kind}")
    return Cluster(jobs, kind, index)


@contextlib.contextmanager
def _native_log(path: Path) -> Iterator[None]:
    """Send fd 2 (TensorFlow's native log lines) to `path` for the duration."""
    import sys

    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (pytest capture)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def _log_path(cluster: Cluster) -> Path:
    return Path(tempfile.gettempdir()) / f"vaeviewer-worker{cluster.rank}-{os.getpid()}-tensorflow.log"


def _strategy_class():
    import tensorflow as tf

    class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """MultiWorkerMirroredStrategy whose `reduce` also takes scalars with axis=0.

        Keras 3 averages each metric over the workers with reduce("MEAN", value, axis=0), which
        fails on the scalar metrics a custom train_step returns (tensorflow/tensorflow#72388).
        """

        def reduce(self, reduce_op, value, axis):
            values = getattr(value, "values", (value,))
            if axis is not None and all(getattr(getattr(v, "shape", None), "rank", None) == 0 for v in values):
                axis = None
            return super().reduce(reduce_op, value, axis)

    return MultiWorkerStrategy


def join_cluster(cluster: Cluster, timeout_s: float = DEFAULT_WORKER_TIMEOUT_S):
    """Start this worker's part of the TF_CONFIG cluster; the strategy once every worker has joined.

    Must run before anything else uses TensorFlow in this process. Every worker waits at most
    `timeout_s` seconds for all the others to register with the chief.

    Raises:
        VaeViewerError: a worker was missing after `timeout_s` (naming the addresses), or this
            worker could not start its server (e.g. its port is taken).
    """
    from vaeviewer.quiet import import_tensorflow

    tf = import_tensorflow()
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context

    ctx = context.context()
    leader = "chief" if "chief" in cluster.jobs else "worker"
    # MultiWorkerMirroredStrategy keeps a coordination service configured before it; this one
    # gives up after the timeout instead of waiting for ever for a worker that never starts.
    ctx.configure_coordination_service(
        service_type="standalone", service_leader=f"/job:{leader}/replica:0/task:0",
        cluster_register_timeout_in_ms=int(timeout_s * 1000),
        coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(addresses))
                          for job, addresses in cluster.jobs.items()])
    ctx.coordination_service.cluster_register_with_barrier = True
    log = _log_path(cluster)
    others = ", ".join(a for i, a in enumerate(cluster.addresses()) if i != cluster.rank)
    strategy, detail, deadline = None, "", False
    with _native_log(log):
        try:
            strategy = _strategy_class()()
        except Exception as exc:  # noqa: BLE001 - TensorFlow raises several kinds; each gets one line
            deadline = isinstance(exc, tf.errors.DeadlineExceededError)
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        # Freeing the failed start makes TensorFlow log its shutdown: into the log too.
        gc.collect()
    if strategy is not None:
        log.unlink(missing_ok=True)
        return strategy
    if deadline:
        raise VaeViewerError(
            f"{cluster.name()}: not every worker of TF_CONFIG ({others}) joined within {timeout_s:g} s; "
            "start `vaeviewer train` with the same settings on every machine, check the addresses and that "
            f"their ports are open between the machines, or wait longer with --worker-timeout (log: {log})")
    raise VaeViewerError(f"{cluster.name()}: could not join the cluster of TF_CONFIG ({detail}); "
                         f"is its port free and the address this machine's? (log: {log})")


def data_fingerprint(paths: list) -> list:
    """What the data paths hold, cheaply: [name, bytes] per file, [name, files, bytes] per folder.

    Raises:
        VaeViewerError: a path does not exist.
    """
    out: list = []
    for p in map(Path, paths):
        p = p.expanduser()
        if p.is_dir():
            files = [e for e in os.scandir(p) if e.is_file()]
            out.append([p.name, len(files), sum(e.stat().st_size for e in files)])
        elif p.is_file():
            out.append([p.name, p.stat().st_size])
        else:
            raise VaeViewerError(f"{p}: no such file or folder")
    return out


def worker_facts(config, devices: int) -> dict:
    """What must be the same on every worker: the settings (but where --out points), the data, the devices."""
    settings = config.to_dict()
    settings["out"] = bool(settings.get("out"))   # each worker names its own; given or not must agree
    settings.pop("paths", None)                   # each machine may keep the data elsewhere
    return {"settings": settings, "data": [] if config.demo else data_fingerprint(config.paths), "devices": devices}


def differences(mine: dict, theirs: dict) -> list[str]:
    """'name: A here, B there' for every fact in which two workers differ."""
    out = []
    for key in sorted(set(mine["settings"]) | set(theirs["settings"])):
        a, b = mine["settings"].get(key), theirs["settings"].get(key)
        if a != b:
            out.append(f"{'--out given' if key == 'out' else key}: {a!r} here, {b!r} there")
    if mine["data"] != theirs["data"]:
        out.append(f"data (name, bytes): {mine['data']} here, {theirs['data']} there")
    if mine["devices"] != theirs["devices"]:
        out.append(f"devices: {mine['devices']} here, {theirs['devices']} there")
    return out


def check_workers_agree(cluster: Cluster, config, strategy, timeout_s: float = DEFAULT_WORKER_TIMEOUT_S) -> None:
    """Refuse the run on every worker unless all were started with the same settings and data.

    Each worker posts its facts (or the error that stops it) to the cluster's key-value store and
    reads every other's, waiting at most `timeout_s` for each.

    Raises:
        VaeViewerError: naming the first worker that differs and how, or one that stopped or did
            not answer.
    """
    from tensorflow.python.eager import context

    ctx = context.context()
    replicas = int(strategy.num_replicas_in_sync)
    local = len(strategy.extended.worker_devices)
    try:
        mine = worker_facts(config, local)
        if config.batch_size % replicas:
            raise VaeViewerError(f"--batch-size {config.batch_size} does not split evenly over {replicas} replicas "
                                 f"({cluster.workers} workers x {local} device{'s' if local != 1 else ''}); "
                                 f"use a multiple of {replicas}")
        if cluster.is_chief and config.out:
            from vaeviewer.training.rundir import RunDirectory

            RunDirectory(config.out).prepare()   # a bad --out stops every worker now, not mid-run
    except VaeViewerError as exc:
        ctx.set_config_key_value(_KEY.format(cluster.rank), json.dumps({"error": str(exc)}))
        raise
    ctx.set_config_key_value(_KEY.format(cluster.rank), json.dumps(mine))
    import tensorflow as tf

    for rank in range(cluster.workers):
        if rank == cluster.rank:
            continue
        try:
            theirs = json.loads(ctx.get_config_key_value(_KEY.format(rank), int(timeout_s * 1000)))
        except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError):
            raise VaeViewerError(f"{cluster.name(rank)} did not check in within {timeout_s:g} s of joining; "
                                 "it may have stopped with an error (see its terminal)") from None
        if "error" in theirs:
            raise VaeViewerError(f"{cluster.name(rank)} stopped: {theirs['error']}")
        diff = differences(mine, theirs)
        if diff:
            raise VaeViewerError(f"{cluster.name()} and {cluster.name(rank)} were not started alike ("
                                 + "; ".join(diff[:3]) + "); give every worker the same command and data, "
                                 "only TF_CONFIG's task index differs")


def lost_contact(cluster: Cluster, exc: BaseException) -> str:
    """What a TensorFlow error in a collective means for the user: which worker was lost, if it says."""
    text = str(exc)
    tasks = {int(m.group(2)) + (len(cluster.jobs.get("chief", [])) if m.group(1) == "worker" else 0)
             for m in re.finditer(r"/job:(chief|worker)/(?:replica:\d+/)?task:(\d+)", text)}
    tasks.discard(cluster.rank)
    lost = [cluster.name(r) for r in sorted(tasks) if r < cluster.workers]
    if lost:
        return f"{cluster.name()}: lost contact with {', '.join(lost)} during training (it stopped, or its machine cannot be reached)"
    line = re.sub(r"\{\{[^}]*\}\}\s*", "", text).strip().splitlines()
    return f"{cluster.name()}: lost contact with the other workers during training ({(line or [type(exc).__name__])[0][:160]})"


def weights_digest(model) -> str:
    """sha256 of a model's weights, in order: equal on workers that ended in step."""
    import numpy as np

    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()
