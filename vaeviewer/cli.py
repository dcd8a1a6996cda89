"""Command line: `vaeviewer [gui]`, `vaeviewer train`, `vaeviewer inspect`, `vaeviewer bench`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Optional, Sequence

from vaeviewer import __version__
from vaeviewer.config import BETA_SCALES, LOSSES, PRECISIONS, SPLITS, VARIANTS, RunConfig, parse_frame_size
from vaeviewer.errors import VaeViewerError

SUBCOMMANDS = ("gui", "train", "inspect", "bench")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"vaeviewer: error: {message} (see vaeviewer {self.prog.split()[-1]} --help)\n")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="data files or folders (.npy/.npz, image folder, TIFF/GIF stack, video); several = several sequences")
    p.add_argument("--demo", action="store_true", help="use the built-in demo data (moving shapes)")
    p.add_argument("--frame-size", type=str, default=None, metavar="HxW", help="resize every frame, e.g. 64x80")


def _add_model_args(p: argparse.ArgumentParser, defaults: RunConfig) -> None:
    p.add_argument("--variant", choices=VARIANTS, default=defaults.variant)
    p.add_argument("--window", type=int, default=defaults.window, metavar="T", help="frames per window")
    p.add_argument("--stride", type=int, default=None, metavar="S", help="frames between window starts (default 1; = window with --stateful)")
    p.add_argument("--stateful", action="store_true", help="convlstm only: carry the recurrent state across a whole sequence")


def _build_parser() -> argparse.ArgumentParser:
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
    t.add_argument("--loss", choices=LOSSES, default=d.loss)
    t.add_argument("--kl-warmup", type=int, default=d.kl_warmup_epochs, metavar="EPOCHS")
    t.add_argument("--lr", type=float, default=d.learning_rate)
    t.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    t.add_argument("--valid-fraction", type=float, default=d.valid_fraction)
    t.add_argument("--split", choices=SPLITS, default=d.split)
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--out", type=str, default=None, metavar="DIR", help="run directory: config, history, last.keras, best.keras")
    t.add_argument("--resume", type=str, default=None, metavar="DIR", help="continue the run stored in DIR")
    t.add_argument("--config", type=str, default=None, metavar="FILE.json", help="read settings from a JSON file (flags given on the command line are ignored)")
    t.add_argument("--tensorboard", action="store_true", help="also write TensorBoard event files to the run directory")
    t.add_argument("--json", action="store_true", help="print one JSON object with the results at the end")

    i = sub.add_parser("inspect", help="show what a data path holds")
    _add_data_args(i)
    i.add_argument("--window", type=int, default=None, metavar="T")
    i.add_argument("--stride", type=int, default=None, metavar="S")
    i.add_argument("--json", action="store_true", help="print one JSON object")

    b = sub.add_parser("bench", help="measure speed and memory; prints JSON")
    b.add_argument("--only", type=str, default=None, help="comma list of: windows, models, session, gui")
    b.add_argument("--quick", action="store_true", help="fewer steps (a smoke run, noisier figures)")
    return parser


def _config_from_train_args(a: argparse.Namespace) -> RunConfig:
    if a.config:
        cfg = RunConfig.load(a.config)
        return cfg.validate()
    try:
        filters = tuple(int(v) for v in a.filters.split(",") if v.strip())
    except ValueError:
        raise VaeViewerError(f"setting filters: {a.filters!r} must be whole numbers separated by commas, e.g. 32,64") from None
    stride = a.stride if a.stride is not None else (a.window if a.stateful else 1)
    cfg = RunConfig(
        paths=list(a.paths), demo=a.demo or not a.paths, frame_size=parse_frame_size(a.frame_size),
        variant=a.variant, window=a.window, stride=stride, stateful=a.stateful, epochs=a.epochs,
        steps_per_epoch=a.steps_per_epoch, batch_size=a.batch_size, latent_dim=a.latent_dim, filters=filters,
        inner_dim=a.inner_dim, beta=a.beta, beta_scale=a.beta_scale, dropout=a.dropout, loss=a.loss, kl_warmup_epochs=a.kl_warmup, learning_rate=a.lr,
        precision=a.precision, valid_fraction=a.valid_fraction, split=a.split, seed=a.seed, out=a.out,
        tensorboard=a.tensorboard,
    )
    if not a.demo and not a.paths:
        cfg.demo = True
    return cfg.validate()


def _cmd_train(a: argparse.Namespace) -> int:
    from vaeviewer.training.progress import ConsoleReporter
    from vaeviewer.training.session import TrainingSession

    if a.resume:
        cfg = RunConfig(demo=True, out=a.resume, epochs=a.epochs if a.epochs != RunConfig().epochs else 1)
        resume = True
    else:
        cfg = _config_from_train_args(a)
        resume = False
    reporter = ConsoleReporter(quiet=a.json)
    session = TrainingSession(cfg, reporter, resume=resume)
    try:
        summary = session.run()
    except KeyboardInterrupt:
        session.stop()
        return 130
    reporter.close()
    if a.json:
        print(json.dumps(summary))
    finished = reporter.finished
    if finished is not None and finished.reason == "diverged":
        if a.json:  # the reporter was quiet; otherwise it has printed the message once already
            print(f"vaeviewer: {finished.message}", file=sys.stderr)
        return 1
    return 0


def _cmd_inspect(a: argparse.Namespace) -> int:
    from vaeviewer.data.inspect import describe

    if a.demo or not a.paths:
        if not a.demo:
            raise VaeViewerError("inspect: give one or more data paths, or --demo")
        from vaeviewer.data.demo import demo_sequences

        size = parse_frame_size(a.frame_size) or (64, 80)
        sequences = demo_sequences(frame_size=size)
    else:
        from vaeviewer.data.sources import load_sequences

        sequences = load_sequences(a.paths, parse_frame_size(a.frame_size))
    window = a.window
    stride = a.stride if a.stride is not None else (1 if window else None)
    info = describe(sequences, window, stride)
    if a.json:
        print(json.dumps(info))
        return 0
    print(f"{info['sequences']} sequence(s), {info['frames']} frames of {info['frame_shape'][0]}x{info['frame_shape'][1]}, "
          f"stored as {info['dtype']}, values {info['value_range'][0]:.3g}..{info['value_range'][1]:.3g}")
    for name, n in zip(info.get("names", []), info["frames_per_sequence"]):
        print(f"  {name}: {n} frames")
    if window:
        print(f"window {window}, stride {stride}: {info['windows']} windows")
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    from vaeviewer.bench import run_bench

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
    handlers = {"gui": _cmd_gui, "train": _cmd_train, "inspect": _cmd_inspect, "bench": _cmd_bench}
    try:
        return handlers[a.command](a)
    except VaeViewerError as exc:
        print(f"vaeviewer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
