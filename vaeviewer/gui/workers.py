"""Background work of the app: one worker for the model, and newest-wins queues on it.

Inspection, probe decodes and encodes, checkpoint load and save all run on `inspection_pool()`,
one at a time in the order asked, so a stateful model's batch-1 twin and its carried state are
never used by two of them at once (as napari's layer slicer and ndv's controller keep one slicing
worker). `LatestOnly` sits in front of it where requests come fast (scrubbing, slider moves): a
request still waiting is replaced by a newer one of its kind, and answers to requests made before
`reset()` are dropped. Data files load on Qt's shared pool instead (`pool=` of `start_worker`).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from PyQt6 import sip
from PyQt6.QtCore import QObject, Qt, QThreadPool
from superqt.utils import create_worker

# Workers still running: a worker must outlive the widget that started it, or its signals
# object is deleted under it (superqt then fails in the pool thread).
_LIVE_WORKERS: set = set()

_INSPECTION_POOL: Optional[QThreadPool] = None
_WAITING = [0]   # jobs queued on the inspection worker that have not started yet


def jobs_waiting() -> int:
    """Jobs queued on the inspection worker and not yet started: a long job can give way to them."""
    return _WAITING[0]


def inspection_pool() -> QThreadPool:
    """The app's one background worker for the model: inspection, probe decodes, checkpoint load
    and save run on it one at a time, in the order asked (a stateful model's batch-1 twin and its
    carried state are never used by two of them at once)."""
    global _INSPECTION_POOL
    if _INSPECTION_POOL is None:
        _INSPECTION_POOL = QThreadPool()
        _INSPECTION_POOL.setMaxThreadCount(1)
        _INSPECTION_POOL.setExpiryTimeout(-1)   # keep the thread: TensorFlow state stays warm on it
    return _INSPECTION_POOL


def start_worker(worker: Any, on_done: Callable[[Any], None], on_error: Callable[[Exception], None],
                 pool: Optional[QThreadPool] = None) -> None:
    """Connect a superqt worker and run it on `pool` (default: the inspection worker), keeping it
    alive until it has finished."""
    worker.returned.connect(on_done)
    worker.errored.connect(on_error)
    _LIVE_WORKERS.add(worker)
    worker.finished.connect(lambda w=worker: _LIVE_WORKERS.discard(w))
    if pool is None or pool is _INSPECTION_POOL:
        _WAITING[0] += 1
        # Direct: counted down on the worker thread as the job begins, before its function runs.
        worker.started.connect(_job_began, Qt.ConnectionType.DirectConnection)
    (pool or inspection_pool()).start(worker)


def _job_began() -> None:
    _WAITING[0] -= 1


# ---- background work --------------------------------------------------------------------
class LatestOnly(QObject):
    """One job at a time on a pool thread; a job still waiting is replaced by a newer one of its
    kind (newest wins); answers to jobs submitted before `reset()`, or after the parent was deleted,
    are dropped."""

    def __init__(self, on_error: Callable[[Exception], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_error = on_error
        self._waiting: dict[str, tuple[Callable[[], Any], Callable[[Any], None], int]] = {}
        self._running = False
        self._generation = 0

    @property
    def busy(self) -> bool:
        return self._running or bool(self._waiting)

    def submit(self, kind: str, func: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        self._waiting.pop(kind, None)
        self._waiting[kind] = (func, on_done, self._generation)
        if not self._running:
            self._next()

    def reset(self) -> None:
        self._waiting.clear()
        self._generation += 1

    def _next(self) -> None:
        if not self._waiting:
            return
        kind = next(iter(self._waiting))
        func, on_done, generation = self._waiting.pop(kind)
        self._running = True

        def finished(deliver: Callable[[], None]) -> None:
            if sip.isdeleted(self):   # the panel (our parent) is gone: nobody to answer
                self._running = False
                self._waiting.clear()
                return
            self._running = False
            if generation == self._generation:
                deliver()
            self._next()

        start_worker(create_worker(func, _start_thread=False, _ignore_errors=True),
                     lambda result: finished(lambda: on_done(result)),
                     lambda exc: finished(lambda: self._on_error(exc)))
