"""The one clock of every benchmark: time.perf_counter, batch timestamps, event-loop ticks."""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

import numpy as np

now = time.perf_counter

#: Interval of the precise Qt timer whose gaps measure event-loop stalls.
TICK_MS = 5


class BatchClock:
    """A listener (or part of one) that timestamps each BatchEnd with its epoch.

    `stamp(epoch)` records one batch by hand (a Keras callback timing `fit`).
    """

    def __init__(self) -> None:
        self.times: list[tuple[float, int]] = []     # (now(), epoch)
        self.first = threading.Event()

    def __call__(self, event: Any) -> None:
        from vaeviewer.training import events as ev

        if isinstance(event, ev.BatchEnd):
            self.stamp(event.epoch)

    def stamp(self, epoch: int = 0) -> None:
        self.times.append((now(), epoch))
        self.first.set()

    def rate(self, batch_size: int, t0: Optional[float] = None, t1: Optional[float] = None) -> float:
        """Samples/s over consecutive batches of the same epoch (inside [t0, t1] if given); the
        run's first batch, which traces the step, never counts."""
        rows = self.times[1:]
        if t0 is not None or t1 is not None:
            lo, hi = (t0 if t0 is not None else -np.inf), (t1 if t1 is not None else np.inf)
            rows = [(t, e) for t, e in rows if lo <= t <= hi]
        dts = [b[0] - a[0] for a, b in zip(rows, rows[1:]) if a[1] == b[1]]
        return batch_size * len(dts) / sum(dts) if dts else 0.0


class Ticks:
    """A precise Qt timer every TICK_MS that records when it fired: gaps between ticks longer
    than TICK_MS are the event loop's stalls. Create and use it on the GUI thread."""

    def __init__(self) -> None:
        from PyQt6.QtCore import Qt, QTimer

        self.times: list[float] = []
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(lambda: self.times.append(now()))

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def gaps_ms(self, t0: Optional[float] = None, t1: Optional[float] = None) -> np.ndarray:
        """Milliseconds between consecutive ticks (those inside [t0, t1] if given)."""
        times = np.array(self.times)
        if t0 is not None or t1 is not None:
            times = times[(times >= (t0 if t0 is not None else -np.inf)) & (times <= (t1 if t1 is not None else np.inf))]
        return np.diff(times) * 1000 if len(times) > 1 else np.zeros(0)
