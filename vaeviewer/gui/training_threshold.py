"""The error timeline's default threshold from the training frames, as `vaeviewer export` sets it.

`vaeviewer export` puts its threshold at mean + 3 SD of the training frames' per-frame error
(`training.export.threshold_of` over `Inspector.walk("train", cover_all=True)`). The app does the
same once the weights are final: when a run has ended (finished, stopped, or an opened run shown)
and when a checkpoint is loaded, the walk runs on the inspection worker and the timeline takes its
threshold from it. While a run trains, a walk over the training data every epoch would hold the
Inspector (and so the training thread) for a whole pass, so the timeline's default stays that of
the errors it shows, and its tooltip says so. Without a validation split the timeline already shows
the training frames: nothing to walk.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from PyQt6.QtCore import QObject

from vaeviewer.gui.workers import LatestOnly


def training_frame_errors(inspector) -> Optional[np.ndarray]:
    """Per-frame errors of every training frame (the walk `vaeviewer export --errors` makes)."""
    result = inspector.walk("train", cover_all=True)
    return None if result is None else result.frame_errors()[2]


class TrainingThreshold(QObject):
    """Keeps `window.timeline`'s default threshold on the training frames of the model shown."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.worker = LatestOnly(lambda exc: window.status.showMessage(f"threshold: {exc}", 8000), self)
        self.errors: Optional[np.ndarray] = None
        c = window.controller
        c.runStarted.connect(lambda _started: self._forget())
        c.runningChanged.connect(lambda running: None if running else self.update())
        c.checkpointLoaded.connect(lambda _path: self.update())

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

        self.worker.submit("training errors", lambda: training_frame_errors(insp), done)
