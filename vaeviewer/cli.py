"""Command line: `vaeviewer [gui]`, `train`, `compare`, `export`, `inspect`, `bench`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Optional, Sequence

from vaeviewer import __version__
from vaeviewer.config import BETA_SCALES, INTENSITIES, LOSSES, PRECISIONS, SPLITS, VARIANTS, RunConfig, parse_frame_size
from vaeviewer.errors import VaeViewerError

SUBCOMMANDS = ("gui", "train", "compare", "export", "inspect", "bench")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"vaeviewer: error: {message} (see {self.prog} --help)\n")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="data files or folders (.npy/.npz, image folder, TIFF/GIF stack, video); several = several sequences")
    p.add_argument("--demo", action="store_true", help="use the built-in demo data (moving shapes)")
    p.add_argument("--frame-size", type=str, default=None, metavar="HxW", help="resize every frame, e.g. 64x80")


def _add_model_args(p: argparse.ArgumentParser, defaults: RunConfig) -> None:
    p.add_argument("--variant", choices=VARIANTS, default=defaults.variant)
    p.add_argument("--window", type=int, default=defaults.window, metavar="T", help="frames per window")
    p.add_argument("--stride", type=int, default=None, metavar="S", help="frames between window starts (default 1; = window with --stateful)")
    p.add_argument("--stateful", action="store_true", help="convlstm only: carry the recurrent state across a whole sequence")


def _build_parser(given_only: bool = False) -> argparse.ArgumentParser:
    """The command-line parser; `given_only`: no defaults, so a parse holds only the flags given."""
    d = RunConfig()
    parser = _ArgumentParser(prog="vaeviewer", description="Train and inspect variational autoencoders on image sequences.")
    parser.add_argument("--version", action="version", version=f"vaeviewer {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_ArgumentParser)

    g = sub.add_parser("gui", help="open the desktop app (default)")
    _add_data_args(g)
    _add_model_args(g, d)
    g.add_argument("--autostart", action="store_true", help="start training at once")
    g.add_argument("--quit-after", type=float, default=None, metavar="SECONDS", help="close the app cleanly after this long")
    g.add_argument("--screenshot", type=str, default=None, metavar="FILE.png", help="save a picture of the window just before quitting")
    g.add_argument("--epochs", type=int, default=None)
    g.add_argument("--run", type=str, default=None, metavar="DIR",
                   help="open a finished run directory (its best.keras and data) to inspect, without training")

    t = sub.add_parser("train", help="train headless")
    _add_data_args(t)
    _add_model_args(t, d)
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--steps-per-epoch", type=int, default=None, help="cap the batches per epoch (quick runs)")
    t.add_argument("--batch-size", type=int, default=d.batch_size)
    t.add_argument("--latent-dim", type=int, default=d.latent_dim)
    t.add_argument("--filters", type=str, default=",".join(map(str, d.filters)), help="filters per conv stage, e.g. 32,64")
    t.add_argument("--inner-dim", type=int, default=d.inner_dim)
    t.add_argument("--beta", type=float, default=d.beta, help="weight of the KL term (see --beta-scale)")
    t.add_argument("--beta-scale", choices=BETA_SCALES, default=d.beta_scale,
                   help="data: the KL weight is beta x the training frames' variance about their mean frame, "
                        "so low-contrast data is not pushed to the mean frame; none: beta as given (the original loss is "
                        "--beta-scale none --beta 1)")
    t.add_argument("--dropout", type=float, default=d.dropout, help="encoder dropout rate (0 = none)")
    t.add_argument("--intensity", choices=INTENSITIES, default=d.intensity,
                   help="auto: data whose values span under half of 0..1 (dim or low-contrast) is stretched "
                        "linearly to 0..1 for training; none: train on the values as loaded")
    t.add_argument("--loss", choices=LOSSES, default=d.loss)
    t.add_argument("--kl-warmup", type=int, default=d.kl_warmup_epochs, metavar="EPOCHS")
    t.add_argument("--lr", type=float, default=d.learning_rate)
    t.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    t.add_argument("--valid-fraction", type=float, default=d.valid_fraction)
    t.add_argument("--split", choices=SPLITS, default=d.split)
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--out", type=str, default=None, metavar="DIR", help="run directory: config, history, last.keras, best.keras")
    t.add_argument("--resume", type=str, default=None, metavar="DIR",
                   help="continue the run stored in DIR; --epochs is the new total, and --lr, --steps-per-epoch, "
                        "--kl-warmup, --batch-size (not stateful) and --tensorboard may change")
    t.add_argument("--config", type=str, default=None, metavar="FILE.json",
                   help="read settings from a JSON file; flags given as well override the file's settings")
    t.add_argument("--tensorboard", action="store_true", help="also write TensorBoard event files to the run directory")
    t.add_argument("--json", action="store_true", help="print one JSON object with the results at the end")
    t.add_argument("--worker-timeout", type=float, default=None, metavar="SECONDS",
                   help="under TF_CONFIG (several machines): give up when the other workers have not all "
                        "started within this time (default 120)")
    if given_only:
        for action in t._actions:
            action.default = argparse.SUPPRESS

    _add_compare_parser(sub, d)

    _add_export_parser(sub)
    i = sub.add_parser("inspect", help="show what a data path holds")
    _add_data_args(i)
    i.add_argument("--window", type=int, default=None, metavar="T")
    i.add_argument("--stride", type=int, default=None, metavar="S")
    i.add_argument("--json", action="store_true", help="print one JSON object")

    b = sub.add_parser("bench", help="measure speed and memory; prints JSON")
    from vaeviewer.benchmarks import PARTS

    b.add_argument("--only", type=str, default=None, help=f"comma list of: {', '.join(PARTS)}")
    b.add_argument("--quick", action="store_true", help="fewer steps (a smoke run, noisier figures)")
    return parser


def _add_export_parser(sub) -> None:
    e = sub.add_parser("export", help="a finished run's per-frame errors, latents and a comparison video, headless")
    e.add_argument("run", metavar="DIR", help="the run directory (train --out)")
    e.add_argument("paths", nargs="*", metavar="DATA",
                   help="other data to apply the run to (default: the run's own data, split as in training)")
    e.add_argument("--errors", metavar="FILE.csv", help="one row per frame: sequence, frame, mse, in_valid, above_threshold")
    e.add_argument("--latents", metavar="FILE.csv|FILE.npy", help="z mean per frame (conv2d) or per window")
    e.add_argument("--video", metavar="FILE.mp4|FILE.gif", help="input | reconstruction | |error| side by side")
    e.add_argument("--split", choices=("all", "train", "valid"), default="all", help="which frames (default all)")
    e.add_argument("--threshold", type=float, default=None,
                   help="error threshold for above_threshold (default: mean + 3 SD of the training frames' error)")
    e.add_argument("--json", action="store_true", help="print what was written as JSON")


def _add_compare_parser(sub, d: RunConfig) -> None:
    """`vaeviewer compare`: its own flags, and the training flags (given ones only) applied to every row."""
    c = sub.add_parser("compare", help="train each variant on the same data and budget; a table, compare.json/csv/png")
    _add_data_args(c)
    c.add_argument("--variants", type=str, default=None,
                   help="comma list of conv2d, conv3d, convlstm, convlstm-stateful (default: all four)")
    c.add_argument("--windows", type=str, default=None, metavar="T,...",
                   help=f"window sizes for the window variants, e.g. 5,10,20 (default {d.window})")
    budget = c.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, default=argparse.SUPPRESS, help=f"epochs per row (default {d.epochs})")
    budget.add_argument("--budget-seconds", type=float, default=None, metavar="S",
                        help="give each row the same S seconds of training instead of a number of epochs")
    c.add_argument("--demo-frames", type=int, default=argparse.SUPPRESS, metavar="N",
                   help=f"frames per demo sequence (default {d.demo_frames})")
    c.add_argument("--json", action="store_true", help="print the rows as one JSON list at the end (the table goes to stderr)")
    # The training flags, as `train` has them; only those given change the defaults.
    for flag, kwargs in (
        ("--stride", dict(type=int, metavar="S")), ("--steps-per-epoch", dict(type=int)),
        ("--batch-size", dict(type=int)), ("--latent-dim", dict(type=int)), ("--filters", dict(type=str)),
        ("--inner-dim", dict(type=int)), ("--beta", dict(type=float)), ("--beta-scale", dict(choices=BETA_SCALES)),
        ("--dropout", dict(type=float)), ("--intensity", dict(choices=INTENSITIES)), ("--loss", dict(choices=LOSSES)),
        ("--kl-warmup", dict(type=int, metavar="EPOCHS")), ("--lr", dict(type=float)),
        ("--precision", dict(choices=PRECISIONS)), ("--valid-fraction", dict(type=float)),
        ("--split", dict(choices=SPLITS)), ("--seed", dict(type=int)),
    ):
        c.add_argument(flag, default=argparse.SUPPRESS, **kwargs)
    c.add_argument("--out", type=str, default=None, metavar="DIR",
                   help="one run directory per row, and compare.json, compare.csv, compare.png")


# The RunConfig setting each `train` flag sets (flag dest -> setting).
_TRAIN_SETTINGS = {
    "paths": "paths", "demo": "demo", "frame_size": "frame_size", "variant": "variant", "window": "window",
    "stride": "stride", "stateful": "stateful", "epochs": "epochs", "steps_per_epoch": "steps_per_epoch",
    "batch_size": "batch_size", "latent_dim": "latent_dim", "filters": "filters", "inner_dim": "inner_dim",
    "beta": "beta", "beta_scale": "beta_scale", "dropout": "dropout", "loss": "loss", "intensity": "intensity",
    "kl_warmup": "kl_warmup_epochs", "lr": "learning_rate", "precision": "precision",
    "valid_fraction": "valid_fraction", "split": "split", "seed": "seed", "out": "out", "tensorboard": "tensorboard",
}


def _given_train_flags(argv: Sequence[str]) -> set[str]:
    """The `train` flags (argparse dests) the user actually typed, whatever their values."""
    given = vars(_build_parser(given_only=True).parse_args(list(argv)))
    return set(given) - {"command"}


def _settings_from_flags(a: argparse.Namespace, given: set[str]) -> dict[str, Any]:
    """{setting: value} for the flags that were given, converted as RunConfig holds them."""
    changes: dict[str, Any] = {}
    for dest, name in _TRAIN_SETTINGS.items():
        if dest not in given:
            continue
        value = getattr(a, dest)
        if dest == "frame_size":
            value = parse_frame_size(value)
        elif dest == "filters":
            try:
                value = tuple(int(v) for v in value.split(",") if v.strip())
            except ValueError:
                raise VaeViewerError(f"setting filters: {value!r} must be whole numbers separated by commas, e.g. 32,64") from None
        elif dest == "paths":
            value = list(value)
            if not value:
                continue
            changes["demo"] = False
        elif dest == "demo" and value:
            changes["paths"] = []
        changes[name] = value
    return changes


def _config_from_train_args(a: argparse.Namespace, given: set[str]) -> RunConfig:
    """The run's settings: the --config file (or the defaults), then the flags given on top.

    Raises:
        VaeViewerError: a bad setting, or a --config file whose `out` already holds a run while no
            --out was given (a new run never writes into a run directory the user did not name).
    """
    changes = _settings_from_flags(a, given)
    base = RunConfig.load(a.config) if a.config else RunConfig()
    cfg = base.replace(**changes)
    if "stride" not in given and cfg.stateful and ({"stateful", "window"} & given):
        cfg.stride = cfg.window   # stateful means non-overlapping windows unless a stride is given
    if not a.config and not cfg.demo and not cfg.paths:
        cfg.demo = True   # `vaeviewer train` with no data trains on the demo data; a file must say
    cfg.validate()
    if a.config and "out" not in given and cfg.out:
        from vaeviewer.training.rundir import RunDirectory

        if RunDirectory(cfg.out).holds_run():
            raise VaeViewerError(
                f"{a.config}: its out {cfg.out!r} already holds a run; pass --out DIR for this run, "
                f"or --resume {cfg.out} to continue that one")
    return cfg


def _resume_config(a: argparse.Namespace, given: set[str]) -> RunConfig:
    """The stored run's settings with the flags given on top (the session refuses those that cannot change)."""
    from vaeviewer.training.rundir import RunDirectory

    if a.config:
        raise VaeViewerError("--resume continues a run with its own settings; use --resume or --config, not both")
    changes = _settings_from_flags(a, given)
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


def _cmd_train(a: argparse.Namespace, given: set[str]) -> int:
    """`vaeviewer train`; `given`: the flags typed (see _given_train_flags)."""
    from vaeviewer.training import distribute
    from vaeviewer.training.progress import ConsoleReporter
    from vaeviewer.training.session import TrainingSession

    if a.resume:
        cfg = _resume_config(a, given)
        resume = True
    else:
        cfg = _config_from_train_args(a, given)
        resume = False
    if a.worker_timeout is not None and not (0 < a.worker_timeout < 1e6):
        raise VaeViewerError(f"--worker-timeout {a.worker_timeout:g}: must be a number of seconds above 0")
    cluster = distribute.read_tf_config()
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


def _cmd_compare(a: argparse.Namespace) -> int:
    """`vaeviewer compare`: every listed variant on the same data, split, seed and budget."""
    from vaeviewer.training import compare

    given = set(vars(a)) & set(_TRAIN_SETTINGS)
    given -= {"paths"} if not a.paths else set()
    given -= {"demo"} if not a.demo else set()
    given -= {"frame_size"} if a.frame_size is None else set()
    given -= {"out"}
    changes = _settings_from_flags(a, given)
    if getattr(a, "demo_frames", None) is not None:
        changes["demo_frames"] = a.demo_frames
    if a.budget_seconds is not None:
        if not (a.budget_seconds > 0 and a.budget_seconds < 1e7):
            raise VaeViewerError(f"--budget-seconds {a.budget_seconds:g}: must be a number of seconds above 0")
        changes["epochs"] = compare.BUDGET_EPOCHS
    base = RunConfig().replace(**changes)
    if not base.demo and not base.paths:
        base.demo = True   # as `train`: no data means the demo data
    if a.out:
        base.out = a.out
    variants = compare.parse_variants(a.variants)
    windows = compare.parse_windows(a.windows, base.window)
    rows = compare.plan_rows(base, variants, windows)
    from vaeviewer.training.prepare import load_run_sequences

    sequences = load_run_sequences(base.validate())
    split = compare.common_split(rows, sequences)
    if split is not None:   # "auto": one split for every row, the one the widest window fits
        rows = [compare.PlannedRow(r.name, r.variant, r.config.replace(split=split)) for r in rows]
    compare.check_rows(rows, sequences)

    table = sys.stderr if a.json else sys.stdout
    budget = f"{a.budget_seconds:g} s of training" if a.budget_seconds is not None else \
        f"{base.epochs} epoch{'s' if base.epochs != 1 else ''}"
    print(f"compare: {len(rows)} rows on the same data, split, seed {base.seed} and budget ({budget}); "
          "vs PCA: val MSE against per-frame PCA's; vs eq-budget: against PCA with the same numbers per window",
          file=table, flush=True)
    print(compare.table_header(), file=table, flush=True)
    results: list = []
    current: list = []

    def on_row(result) -> None:
        results.append(result)
        print(compare.table_row(result.row), file=table, flush=True)

    try:
        compare.run_compare(rows, sequences, out=a.out, budget_seconds=a.budget_seconds, on_row=on_row,
                            on_session=current.append)
    except KeyboardInterrupt:
        if current:
            current[-1].stop()
        kept = f"; {a.out} holds them" if a.out and results else ""
        print(f"vaeviewer: interrupted: kept the {len(results)} finished row{'s' if len(results) != 1 else ''}{kept}",
              file=sys.stderr)
        if a.json:
            print(json.dumps(compare.rows_json(results)))
        return 130
    if a.out:
        print(f"wrote {a.out}/compare.json, compare.csv, compare.png and one run directory per row", file=table)
    if a.json:
        print(json.dumps(compare.rows_json(results)))
    return 0


def _cmd_export(a: argparse.Namespace) -> int:
    from vaeviewer.training.export import run_export

    if not (a.errors or a.latents or a.video):
        raise VaeViewerError("export: nothing to write; give --errors FILE.csv, --latents FILE.csv|.npy or --video FILE.mp4")
    for flag, value, suffixes in (("--errors", a.errors, (".csv",)), ("--latents", a.latents, (".csv", ".npy")),
                                  ("--video", a.video, (".mp4", ".gif", ".avi", ".mov", ".mkv"))):
        if value and not value.lower().endswith(suffixes):
            raise VaeViewerError(f"{flag} {value}: the name must end with {' or '.join(suffixes)}")
    report = run_export(a.run, a.paths or None, errors=a.errors, latents=a.latents, video=a.video, split=a.split,
                        threshold=a.threshold, say=None if a.json else print)
    if a.json:
        print(json.dumps(report))
    return 0


def _cmd_inspect(a: argparse.Namespace) -> int:
    from vaeviewer.data.inspect import describe, describe_text

    if a.demo or not a.paths:
        if not a.demo:
            raise VaeViewerError("inspect: give one or more data paths, or --demo")
        from vaeviewer.data.demo import demo_sequences

        size = parse_frame_size(a.frame_size) or (64, 80)
        sequences = demo_sequences(frame_size=size)
    else:
        from vaeviewer.data.sources import load_sequences
        from vaeviewer.training.progress import LoadProgress

        with LoadProgress() as progress:  # a bar on a terminal when loading takes over a second
            sequences = load_sequences(a.paths, parse_frame_size(a.frame_size), progress=progress)
    window = a.window
    stride = a.stride if a.stride is not None else (1 if window else None)
    info = describe(sequences, window, stride)
    if a.json:
        print(json.dumps(info))
        return 0
    for line in describe_text(info):
        print(line)
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    from vaeviewer.benchmarks import run_bench

    parts = a.only.split(",") if a.only else None
    print(json.dumps(run_bench(parts, quick=a.quick), indent=2))
    return 0


def _cmd_gui(a: argparse.Namespace) -> int:
    from vaeviewer.gui.app import main_gui

    return main_gui(a)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `vaeviewer` command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter off the terminal
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in SUBCOMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "gui")
    parser = _build_parser()
    a = parser.parse_args(args)
    handlers = {"gui": _cmd_gui, "inspect": _cmd_inspect, "bench": _cmd_bench, "compare": _cmd_compare,
                "export": _cmd_export}
    try:
        if a.command == "train":
            return _cmd_train(a, _given_train_flags(args))
        return handlers[a.command](a)
    except VaeViewerError as exc:
        print(f"vaeviewer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
