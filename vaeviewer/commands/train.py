"""`vaeviewer train`: the run's settings from the flags (or a stored run's), then one session,
on this machine or as one worker of a TF_CONFIG cluster."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional

from vaeviewer.config import RunConfig, config_from_args, settings_from_args
from vaeviewer.errors import VaeViewerError


def train_config(a: argparse.Namespace, given: set[str], writes_out: bool = True) -> RunConfig:
    """The run's settings: the --config file (or the defaults), then the flags given on top.

    `writes_out`: whether this process writes the run directory (False for a TF_CONFIG worker
    other than the chief, which writes to a scratch folder); only then is `out` checked.

    Raises:
        VaeViewerError: a bad setting, or an `out` (from --out or the --config file) that already
            holds a run: a new run never overwrites one; --resume continues it.
    """
    cfg = config_from_args(a, given, base=RunConfig.load(a.config) if a.config else None)
    if writes_out and cfg.out:
        from vaeviewer.training.rundir import CONFIG, RunDirectory

        if RunDirectory(cfg.out).holds_run():
            if a.config and "out" not in given:
                raise VaeViewerError(
                    f"{a.config}: its out {cfg.out!r} already holds a run; pass --out DIR for this run, "
                    f"or --resume {cfg.out} to continue that one")
            raise VaeViewerError(f"{cfg.out} already holds a run ({CONFIG}); continue it with --resume {cfg.out}, "
                                 "or pick another --out")
    return cfg


def _resume_config(a: argparse.Namespace, given: set[str]) -> RunConfig:
    """The stored run's settings with the flags given on top (the session refuses those that cannot change)."""
    from vaeviewer.training.rundir import RunDirectory

    if a.config:
        raise VaeViewerError("--resume continues a run with its own settings; use --resume or --config, not both")
    changes = settings_from_args(a, given)
    out = changes.pop("out", None)
    if out is not None and os.path.abspath(out) != os.path.abspath(a.resume):
        raise VaeViewerError(f"--out {out}: a resumed run stays in its run directory {a.resume}; "
                             "leave out --out, or start a new run there without --resume")
    stored = RunDirectory(a.resume).read_config()
    return stored.replace(**changes, out=a.resume)


def _load_train_data(cfg: RunConfig) -> Optional[list]:
    """The files a new run trains on, with a bar on a terminal when loading takes over a second;
    None for the demo data (the session makes it)."""
    if cfg.demo:
        return None
    from vaeviewer.training.prepare import load_run_sequences
    from vaeviewer.training.progress import LoadProgress
    from vaeviewer.training.rundir import RunDirectory

    if cfg.out:
        RunDirectory(cfg.out).prepare()   # a bad --out fails before a long load, as the session does
    with LoadProgress() as progress:
        return load_run_sequences(cfg, progress=progress)


def cmd_train(a: argparse.Namespace, given: set[str]) -> int:
    """`vaeviewer train`; `given`: the flags typed (see parser.given_train_flags)."""
    from vaeviewer.training import distribute
    from vaeviewer.training.progress import ConsoleReporter
    from vaeviewer.training.session import TrainingSession

    cluster = distribute.read_tf_config()
    if a.resume:
        cfg = _resume_config(a, given)
        resume = True
    else:
        # A worker other than the chief writes to a scratch folder, not to --out.
        cfg = train_config(a, given, writes_out=cluster is None or cluster.is_chief)
        resume = False
    if a.worker_timeout is not None and not (0 < a.worker_timeout < 1e6):
        raise VaeViewerError(f"--worker-timeout {a.worker_timeout:g}: must be a number of seconds above 0")
    if cluster is not None:
        return _train_on_cluster(a, cfg, resume, cluster)
    reporter = ConsoleReporter(quiet=a.json)
    # A resumed run loads its data in the session, after checking that the run can go on.
    session = TrainingSession(cfg, reporter, resume=resume, sequences=None if resume else _load_train_data(cfg))
    try:
        summary = session.run()
    except KeyboardInterrupt:
        session.stop()
        return 130
    reporter.close()
    if a.json:
        print(json.dumps({**summary, "workers": 1}))
    return _train_status(reporter, a.json)


def _train_status(reporter, quiet: bool) -> int:
    """0, or 1 for a run that diverged (saying so once)."""
    finished = reporter.finished
    if finished is not None and finished.reason == "diverged":
        if quiet:  # the reporter was quiet; otherwise it has printed the message once already
            print(f"vaeviewer: {finished.message}", file=sys.stderr)
        return 1
    return 0


def _train_on_cluster(a: argparse.Namespace, cfg: RunConfig, resume: bool, cluster) -> int:
    """`vaeviewer train` as one worker of a TF_CONFIG cluster (MultiWorkerMirroredStrategy).

    Every worker trains on the same batches, each replica on its slice; the chief (worker 0)
    alone writes the run directory and prints the results. Another worker writes its checkpoints
    (TensorFlow needs every worker to save) to a scratch folder that it deletes at the end.
    """
    import io
    import shutil
    import tempfile

    from vaeviewer.training import distribute
    from vaeviewer.training.progress import ConsoleReporter
    from vaeviewer.training.session import TrainingSession

    me = cluster.name()
    if resume:
        raise VaeViewerError(f"TF_CONFIG is set: --resume continues a run on one machine only; unset TF_CONFIG "
                             f"to resume {a.resume}, or start a new run on the cluster with --out")
    if cfg.stateful:
        raise VaeViewerError("TF_CONFIG is set: a stateful model carries its state from batch to batch on one "
                             "machine; unset TF_CONFIG to train it, or leave out --stateful")
    timeout = a.worker_timeout if a.worker_timeout is not None else distribute.DEFAULT_WORKER_TIMEOUT_S
    from vaeviewer.quiet import import_tensorflow

    import_tensorflow()   # first, so that the wait below is the wait for the others
    print(f"{me} of {cluster.workers}: waiting up to {timeout:g} s for the others to join", file=sys.stderr, flush=True)
    strategy = distribute.join_cluster(cluster, timeout)
    # TensorFlow's coordination service traps SIGTERM; `kill PID` must stop a worker as it stops a
    # lone run (the others then give up naming it).
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    distribute.check_workers_agree(cluster, cfg, strategy, timeout)
    scratch = None
    if not cluster.is_chief and cfg.out:
        scratch = tempfile.mkdtemp(prefix=f"vaeviewer-worker{cluster.rank}-")
        cfg = cfg.replace(out=scratch)
    if not cluster.is_chief:
        print(f"{me}: training; worker 0 writes the run directory and prints the results", file=sys.stderr, flush=True)
    # Another worker keeps its console for its own lines: the reporter only records how the run ended.
    reporter = ConsoleReporter(quiet=a.json) if cluster.is_chief else ConsoleReporter(io.StringIO(), quiet=True)
    session = None
    try:
        session = TrainingSession(cfg, reporter, sequences=_load_train_data(cfg), strategy=strategy)
        summary = session.run()
        digest = distribute.weights_digest(session.model) if session.model is not None else None
    except KeyboardInterrupt:
        if session is not None:
            session.stop()
        return 130
    except VaeViewerError:
        raise
    except Exception as exc:  # noqa: BLE001 - a lost worker surfaces as a TensorFlow error in a collective
        import tensorflow as tf

        if not isinstance(exc, tf.errors.OpError):
            raise
        kept = f"; {cfg.out} keeps what the finished epochs saved" if cluster.is_chief and cfg.out else ""
        print(f"vaeviewer: error: {distribute.lost_contact(cluster, exc)}{kept}", file=sys.stderr)
        return 1
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    reporter.close()
    summary.update(workers=cluster.workers, weights_sha256=digest)
    if cluster.is_chief:
        if a.json:
            print(json.dumps(summary))
    else:
        if a.json:  # a worker's own part: enough to check that it ended in step with the chief
            print(json.dumps({"worker": cluster.rank, **{k: summary[k] for k in (
                "workers", "replicas", "steps", "epochs", "weights_sha256")}, "reason": summary.get("reason")}))
        print(f"{me}: {summary.get('reason', 'stopped')} after {summary['steps']} steps", file=sys.stderr)
    return _train_status(reporter, a.json or not cluster.is_chief)
