"""Status bar: epoch, step, samples/s, ETA, precision and device, and a progress bar.

Transient messages are shown in a label that drops whole words to fit (" …" at the end), with
the whole text in its tooltip: QStatusBar's own message was cut mid-word by the permanent figures.
"""

from __future__ import annotations

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QWidget


def elide_words(text: str, fits) -> str:
    """The longest run of `text`'s leading whole words, plus " …", for which fits(s) is true.

    Numbers and words are never cut in the middle (a verdict's "0.0104" stays whole).
    """
    if fits(text):
        return text
    words = text.split(" ")
    lo, hi = 0, len(words)      # binary search on the number of words kept
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(" ".join(words[:mid]).rstrip(",;:") + " …"):
            lo = mid
        else:
            hi = mid - 1
    return (" ".join(words[:lo]).rstrip(",;:") + " …") if lo else "…"


class WordElidingLabel(QLabel):
    """A one-line label that drops whole words to fit, with the whole text as its tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setFullText(text)

    def setFullText(self, text: str) -> None:  # noqa: N802 - Qt style
        self._full = text
        self.setToolTip(text)
        self._elide()

    def fullText(self) -> str:  # noqa: N802 - Qt style
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        metrics = self.fontMetrics()
        self.setText(elide_words(self._full, lambda s: metrics.horizontalAdvance(s) <= width))

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
        self.message = WordElidingLabel("")
        self.message.setContentsMargins(4, 0, 4, 0)
        self.addWidget(self.message, 1)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clearMessage)
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

    # ---- transient messages (QStatusBar's API, drawn by the eliding label) ------------------
    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt API
        """Show `text` (elided to the space left, whole text in the tooltip) for `timeout` ms."""
        self.message.setFullText(text)
        self._message_timer.stop()
        if timeout > 0:
            self._message_timer.start(timeout)
        self.messageChanged.emit(text)

    def clearMessage(self) -> None:  # noqa: N802 - Qt API
        self._message_timer.stop()
        self.message.setFullText("")
        self.messageChanged.emit("")

    def currentMessage(self) -> str:  # noqa: N802 - Qt API
        """The whole message (the label may show it shortened)."""
        return self.message.fullText()

    def run_started(self, started: ev.RunStarted) -> None:
        for w in (self.step, self.rate, self.eta, self.progress):
            w.show()   # hidden while a model that is not training was described (describe_model)
        self.epoch.setToolTip("")
        self._epochs = max(1, started.epochs)
        self._steps = max(1, started.steps_per_epoch)
        self.progress.setRange(0, self._epochs * self._steps)
        self.progress.setValue(0)
        self.epoch.setText(f"epoch 1/{self._epochs}")
        self.step.setText(f"step 0/{self._steps}")
        self.device.setText(f"{started.precision} · {started.device}")
        cfg = started.config or {}
        windowed = cfg.get("variant") in ("conv3d", "convlstm")
        train_how = ("stateful streams" if cfg.get("stateful") else
                     f"windows every {cfg.get('stride', 1)} frame(s)") if windowed else "frames"
        valid_how = "non-overlapping windows, each frame counted once" if windowed else "frames"
        self.device.setToolTip(f"{started.n_train} training examples ({train_how}) and {started.n_valid} "
                               f"validation examples ({valid_how}), {started.steps_per_epoch} steps per epoch")

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
        if (finished.summary or {}).get("opened") and finished.reason == "completed":
            self.showMessage(finished.message)   # "opened DIR (…)": no training run completed here
        else:
            self.showMessage(f"run {finished.reason}: {finished.message}")

    def describe_model(self, text: str, tooltip: str = "") -> None:
        """Describe a model that is not training (an opened run, a loaded checkpoint) in place of the
        epoch/step/rate/ETA figures, which only a training run has."""
        self.epoch.setText(text)
        self.epoch.setToolTip(tooltip or text)
        self.step.setText("")
        self.rate.setText("")
        self.eta.setText("")
        for w in (self.step, self.rate, self.eta, self.progress):
            w.hide()


def opened_run_text(epochs: int, best_epoch: int | None = None) -> str:
    """'opened run: 3 epochs, best epoch 2' (the status bar's figure for an opened run)."""
    text = f"opened run: {epochs} epoch{'' if epochs == 1 else 's'}"
    return text + (f", best epoch {best_epoch}" if best_epoch is not None else "")
