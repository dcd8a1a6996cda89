"""Command line: `vaeviewer [gui]`, `train`, `compare`, `export`, `inspect`, `bench`.

The parser is in `vaeviewer.commands.parser`; `train` and `compare` in their own modules there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

from vaeviewer.commands.parser import build_parser, given_train_flags
from vaeviewer.config import parse_frame_size
from vaeviewer.errors import VaeViewerError

SUBCOMMANDS = ("gui", "train", "compare", "export", "inspect", "bench")


def _cmd_export(a: argparse.Namespace) -> int:
    from vaeviewer.training.export import run_export

    if not (a.errors or a.latents or a.video):
        raise VaeViewerError("export: nothing to write; give --errors FILE.csv, --latents FILE.csv|.npy or --video FILE.mp4")
    for flag, value, suffixes in (("--errors", a.errors, (".csv",)), ("--latents", a.latents, (".csv", ".npy")),
                                  ("--video", a.video, (".mp4", ".gif", ".avi", ".mov", ".mkv"))):
        if value and not value.lower().endswith(suffixes):
            raise VaeViewerError(f"{flag} {value}: the name must end with {' or '.join(suffixes)}")
    report = run_export(a.run, a.paths or None, errors=a.errors, latents=a.latents, video=a.video, split=a.split,
                        threshold=a.threshold, frame_size=parse_frame_size(a.frame_size),
                        say=None if a.json else print)
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


def _cmd_compare(a: argparse.Namespace) -> int:
    from vaeviewer.commands.compare import cmd_compare

    return cmd_compare(a)


def _cmd_gui(a: argparse.Namespace) -> int:
    from vaeviewer.gui.app import main_gui

    return main_gui(a)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `vaeviewer` command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter off the terminal
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in SUBCOMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "gui")
    a = build_parser().parse_args(args)
    handlers = {"gui": _cmd_gui, "inspect": _cmd_inspect, "bench": _cmd_bench, "compare": _cmd_compare,
                "export": _cmd_export}
    try:
        if a.command == "train":
            from vaeviewer.commands.train import cmd_train

            return cmd_train(a, given_train_flags(args))
        return handlers[a.command](a)
    except VaeViewerError as exc:
        print(f"vaeviewer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
