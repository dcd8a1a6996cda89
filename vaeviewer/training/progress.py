"""Console reporting for headless runs: a progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any, Optional, TextIO

from vaeviewer.training import events as ev
from vaeviewer.training.verdict import HEADLINES


# Messages that tell what the run does (the KL weight used, frames left out), not how far it is:
# printed in a log too. The rest ("loading data", "saving checkpoint") only on a terminal.
NOTES = ("KL weight", "stateful:", "stateful streams:", "split:", "intensity:")


class ConsoleReporter:
    """A session listener that writes progress to stderr (stdout stays free for --json)."""

    def __init__(self, stream: Optional[TextIO] = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.steps_per_epoch = 1
        self.epochs = 1
        self.finished: Optional[ev.RunFinished] = None
        self._bar_open = False

    def _line(self, text: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: Any) -> None:
        if isinstance(event, ev.RunFinished):
            self.finished = event
        if self.quiet and not isinstance(event, ev.RunFinished):
            return
        if isinstance(event, ev.RunStarted):
            self.steps_per_epoch, self.epochs = max(1, event.steps_per_epoch), event.epochs
            self._line(f"{event.config['variant']}: {event.n_train} training / {event.n_valid} validation examples, "
                       f"frames {event.frame_shape[0]}x{event.frame_shape[1]}, {event.precision} on {event.device}")
        elif isinstance(event, ev.Baselines):
            window_pca = getattr(event, "window_pca_mse", None)
            extra = (f", PCA per {event.window}-frame window (equal budget) {window_pca:.5f}"
                     if window_pca is not None else "")
            self._line(f"baselines on validation: mean frame MSE {event.mean_frame_mse:.5f}, PCA MSE {event.pca_mse:.5f}{extra}")
        elif isinstance(event, ev.BatchEnd) and self.tty:
            done = (event.step + 1) / self.steps_per_epoch
            bar = "#" * int(done * 30)
            self.stream.write(f"\repoch {event.epoch + 1}/{self.epochs} [{bar:<30}] loss {event.loss:9.3f} "
                              f"{event.samples_per_s:7.0f} samples/s  ETA {event.eta_s:5.0f}s")
            self.stream.flush()
            self._bar_open = True
        elif isinstance(event, ev.EpochEnd):
            v = event.valid
            val = f"  val loss {v['loss']:.3f} (rec {v['reconstruction']:.3f}, kl {v['kl']:.3f}) val MSE {v['mse']:.5f}" if v else ""
            verdict = ""
            if event.verdict is not None and event.valid:
                verdict = f"  [{HEADLINES.get(event.verdict.kind, event.verdict.kind)}"
                verdict += ", memorising]" if event.verdict.overfitting else "]"
            self._line(f"epoch {event.epoch + 1}/{self.epochs}: loss {event.train['loss']:.3f} "
                       f"(rec {event.train['reconstruction']:.3f}, kl {event.train['kl']:.3f}){val}  "
                       f"{event.seconds:.1f}s{verdict}")
        elif isinstance(event, ev.FirstLook):
            v = event.valid
            verdict = f"  [{HEADLINES.get(event.verdict.kind, event.verdict.kind)}]" if event.verdict is not None else ""
            self._line(f"first look at {event.seconds:.0f}s ({event.fraction:.0%} of epoch {event.epoch + 1}): "
                       f"val MSE {v['mse']:.5f}{verdict}")
        elif isinstance(event, ev.RunFinished) and event.reason != "error":  # errors: the CLI prints them
            self._line(f"{event.reason}: {event.message}")
        elif isinstance(event, ev.Message) and (self.tty or event.text.startswith(NOTES)):
            self._line(event.text)

    def close(self) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False


class LoadProgress:
    """A ``progress(done_frames, total_frames)`` callback for ``load_sequences`` that draws a bar
    on a terminal once loading has taken ``after_s`` seconds (short loads print nothing, and
    neither does a stream that is not a terminal). Use it as a context manager, or call close(),
    so that the line is ended before anything else is printed.
    """

    def __init__(self, stream: Optional[TextIO] = None, after_s: float = 1.0, label: str = "loading"):
        import time

        self._clock = time.monotonic
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.after_s = after_s
        self.label = label
        self.t0 = self._clock()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.tty:
            return
        seconds = self._clock() - self.t0
        if not self.shown and seconds < self.after_s:
            return
        if total > 0:
            part = min(1.0, done / total)
            bar = "#" * int(part * 30)
            text = f"\r{self.label} [{bar:<30}] {done}/{total} frames  {seconds:4.0f}s"
        else:
            text = f"\r{self.label}: {done} frames  {seconds:4.0f}s"
        self.stream.write(text + "  ")  # the spaces wipe the end of a longer line before
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> "LoadProgress":
        # A warning logged while loading (a cut video) starts on a line of its own, not after the bar.
        import logging

        self._log_filter = _EndBarFirst(self)
        logging.getLogger("vaeviewer.data").addFilter(self._log_filter)   # the loaders' logger
        return self

    def __exit__(self, *exc: Any) -> None:
        import logging

        logging.getLogger("vaeviewer.data").removeFilter(self._log_filter)
        self.close()


class _EndBarFirst:
    """A logging filter that ends an open progress bar's line before a record is written."""

    def __init__(self, bar: LoadProgress):
        self.bar = bar

    def filter(self, record: Any) -> bool:
        self.bar.close()
        return True
