"""The error timeline's default threshold from the training frames, as `vaeviewer export` sets it.

`vaeviewer export` puts its threshold at mean + 3 SD of the training frames' per-frame error
(`training.export.threshold_of` over `Inspector.walk("train", cover_all=True)`). The app does the
same once the weights are final: when a run has ended (finished, stopped, or an opened run shown)
and when a checkpoint is loaded, the walk runs on the inspection worker and the timeline takes its
threshold from it. While a run trains, a walk over the training data every epoch would hold the
Inspector (and so the training thread) for a whole pass, so the timeline's default stays that of
the errors it shows, and its tooltip says so. Without a validation split the timeline already shows
the training frames: nothing to walk.

The walk is long (every training frame) and the inspection worker runs one job at a time, so it
gives way: before each batch it checks whether a view or a probe decode is waiting, and if so it
stops and is asked again a moment later. A slider moved just after a run ends is answered at once.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from PyQt6.QtCore import QObject, QTimer

from vaeviewer.gui.workers import LatestOnly, jobs_waiting

RETRY_MS = 700   # after giving way to other jobs, ask again this much later


class GaveWay(Exception):
    """The training-frame walk stopped to let a waiting job run first."""


def _give_way() -> None:
    if jobs_waiting():
        raise GaveWay()


def training_frame_errors(inspector, check=None) -> Optional[np.ndarray]:
    """Per-frame errors of every training frame (the walk `vaeviewer export --errors` makes);
    `check` is called before each batch and may raise to stop the walk."""
    result = inspector.walk("train", check=check, cover_all=True)
    return None if result is None else result.frame_errors()[2]


class TrainingThreshold(QObject):
    """Keeps `window.timeline`'s default threshold on the training frames of the model shown."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.worker = LatestOnly(self._failed, self)
        self.errors: Optional[np.ndarray] = None
        c = window.controller
        c.runStarted.connect(lambda _started: self._forget())
        c.runningChanged.connect(lambda running: None if running else self.update())
        c.checkpointLoaded.connect(lambda _path: self.update())

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, GaveWay):
            QTimer.singleShot(RETRY_MS, self.update)
        else:
            self.window.status.showMessage(f"threshold: {exc}", 8000)

    def _forget(self) -> None:
        self.worker.reset()   # an answer for the previous model is dropped
        self.errors = None

    def update(self) -> None:
        """Score the training frames of the model shown, off the GUI thread (if it has validation data)."""
        w = self.window
        insp = getattr(w.controller.session, "inspector", None)
        if insp is None or w.controller.running or getattr(w, "_closing", False) or not insp.data.valid:
            return
        token = insp.weights_token()

        def done(errors: Optional[np.ndarray]) -> None:
            if errors is None or getattr(w.controller.session, "inspector", None) is not insp \
                    or insp.weights_token() != token:
                return   # another model, or other weights, by now
            self.errors = errors
            value = w.timeline.set_threshold_basis(
                errors, f"the training frames ({len(errors):,} frames, scored after the run as `vaeviewer export` "
                        "does)")
            w.status.showMessage(f"error threshold {value:.4g}: mean + 3 SD of the training frames' error", 5000)

        self.worker.submit("training errors", lambda: training_frame_errors(insp, _give_way), done)
