"""The `vaeviewer` command line's parser: every subcommand and flag, and which `train` flags were typed."""

from __future__ import annotations

import argparse
from typing import Sequence

from vaeviewer import __version__
from vaeviewer.config import BETA_SCALES, CONV3D_HEADS, INTENSITIES, LOSSES, PRECISIONS, SPLITS, VARIANTS, RunConfig


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


def build_parser(given_only: bool = False) -> argparse.ArgumentParser:
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
    t.add_argument("--conv3d-head", choices=CONV3D_HEADS, default=d.conv3d_head,
                   help="conv3d: pool averages the time steps left before the encoder's dense layer (about 4x fewer "
                        "weights and a 4x smaller checkpoint at window 10); flatten feeds them all, as earlier runs did")
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
    e.add_argument("--frame-size", type=str, default=None, metavar="HxW",
                   help="resize DATA's frames to the model's HxW as they load (without it, DATA of another "
                        "frame size is refused)")
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
        ("--dropout", dict(type=float)), ("--conv3d-head", dict(choices=CONV3D_HEADS)), ("--intensity", dict(choices=INTENSITIES)), ("--loss", dict(choices=LOSSES)),
        ("--kl-warmup", dict(type=int, metavar="EPOCHS")), ("--lr", dict(type=float)),
        ("--precision", dict(choices=PRECISIONS)), ("--valid-fraction", dict(type=float)),
        ("--split", dict(choices=SPLITS)), ("--seed", dict(type=int)),
    ):
        c.add_argument(flag, default=argparse.SUPPRESS, **kwargs)
    c.add_argument("--out", type=str, default=None, metavar="DIR",
                   help="one run directory per row, and compare.json, compare.csv, compare.png")


def given_train_flags(argv: Sequence[str]) -> set[str]:
    """The `train` flags (argparse dests) the user actually typed, whatever their values."""
    given = vars(build_parser(given_only=True).parse_args(list(argv)))
    return set(given) - {"command"}
