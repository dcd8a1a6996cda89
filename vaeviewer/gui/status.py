"""Status bar: epoch, step, samples/s, ETA, precision and device, and a progress bar."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from vaeviewer.training import events as ev


def format_eta(seconds: float) -> str:
    if seconds != seconds or seconds < 0:   # NaN or negative
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class RunStatusBar(QStatusBar):
    """Permanent run figures on the right; transient messages on the left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epoch = QLabel("epoch –")
        self.step = QLabel("step –")
        self.rate = QLabel("– samples/s")
        self.eta = QLabel("ETA –")
        self.device = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        for w in (self.epoch, self.step, self.rate, self.eta, self.device):
            w.setContentsMargins(6, 0, 6, 0)
            self.addPermanentWidget(w)
        self.addPermanentWidget(self.progress)
        self._epochs = 1
        self._steps = 1
        self._rate = 0.0

    def run_started(self, started: ev.RunStarted) -> None:
        self._epochs = max(1, started.epochs)
        self._steps = max(1, started.steps_per_epoch)
        self.progress.setRange(0, self._epochs * self._steps)
        self.progress.setValue(0)
        self.epoch.setText(f"epoch 1/{self._epochs}")
        self.step.setText(f"step 0/{self._steps}")
        self.device.setText(f"{started.precision} · {started.device}")
        self.device.setToolTip(f"{started.n_train} training and {started.n_valid} validation examples, "
                               f"{started.steps_per_epoch} steps per epoch")

    def batches(self, batches: list[ev.BatchEnd]) -> None:
        if not batches:
            return
        b = batches[-1]
        rates = [x.samples_per_s for x in batches if x.samples_per_s > 0]
        if rates:   # smooth: the per-batch rate of tiny models jumps around
            mean = sum(rates) / len(rates)
            self._rate = mean if self._rate == 0 else 0.7 * self._rate + 0.3 * mean
        self.epoch.setText(f"epoch {b.epoch + 1}/{self._epochs}")
        self.step.setText(f"step {b.step + 1}/{self._steps}")
        self.rate.setText(f"{self._rate:,.0f} samples/s")
        self.eta.setText(f"ETA {format_eta(b.eta_s)}")
        self.progress.setValue(min(self.progress.maximum(), b.epoch * self._steps + b.step + 1))

    def run_finished(self, finished: ev.RunFinished) -> None:
        self.eta.setText("ETA –")
        if finished.reason == "completed":
            self.progress.setValue(self.progress.maximum())
        self.showMessage(f"run {finished.reason}: {finished.message}")
