"""Worker-thread glue: runs a TrainingSession in a QThread and re-emits its events as Qt signals.

The session calls its listener on the training thread. The listener here never touches a
widget: it only emits signals, which Qt queues to the GUI thread. Per-batch events are
coalesced into lists (at most one `batches` signal every `batch_flush_s`), so a fast model does
not flood the GUI event queue; the rarer events are forwarded one by one, in order.

After a run has returned, `request_window` runs `session.inspect` on the inspection worker instead
(one at a time; a newer request replaces a pending one).
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable, Optional, Protocol

from PyQt6.QtCore import QObject, QThread, pyqtSignal
from superqt.utils import create_worker

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.gui.workers import LatestOnly, start_worker

class Session(Protocol):
    """What the app expects of a session: a TrainingSession, or a RunViewer for an opened run.

    `run()` executes on the training thread and reports through the listener it was made with;
    the controls are thread-safe; `inspect` and `save_checkpoint` run on a pool thread once
    `run()` has returned.
    """

    config: RunConfig
    model: Any                 # the Keras model once built or loaded, else None
    inspector: Any             # training.inspector.Inspector once the model exists, else None
    history: list

    def run(self) -> dict: ...
    def stop(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def request_snapshot(self, split: str, sequence: int, start: int) -> None: ...
    def inspect(self, split: str, sequence: int, start: int) -> ev.Snapshot: ...
    def save_checkpoint(self, path: str) -> None: ...


SessionFactory = Callable[[RunConfig, Callable[[Any], None], Optional[list]], Session]


def default_session_factory(config: RunConfig, listener: Callable[[Any], None],
                            sequences: Optional[list] = None) -> Any:
    """Import the real session only when called (on the training thread): TensorFlow loads there."""
    from vaeviewer.training.session import TrainingSession

    return TrainingSession(config, listener, sequences=sequences)


class _RunThread(QThread):
    """Runs one session to the end; everything it learns goes out through the controller."""

    def __init__(self, controller: "RunController", config: RunConfig, sequences: Optional[list]) -> None:
        super().__init__()
        self._controller = controller
        self._config = config
        self._sequences = sequences

    def run(self) -> None:  # noqa: D401 - QThread entry point
        self._controller._run_in_thread(self._config, self._sequences)


class RunController(QObject):
    """Owns at most one training thread and the session of the latest run."""

    runStarted = pyqtSignal(object)      # events.RunStarted
    message = pyqtSignal(str)
    baselines = pyqtSignal(object)       # events.Baselines
    batches = pyqtSignal(list)           # list[events.BatchEnd], in order
    epochEnd = pyqtSignal(object)        # events.EpochEnd
    firstLook = pyqtSignal(object)       # events.FirstLook: a verdict before the first epoch ends
    snapshot = pyqtSignal(object)        # events.Snapshot (live or inspected)
    runFinished = pyqtSignal(object)     # events.RunFinished
    failed = pyqtSignal(str)             # a user-facing error message (VaeViewerError or bug)
    runningChanged = pyqtSignal(bool)
    pausedChanged = pyqtSignal(bool)
    taskDone = pyqtSignal(str)           # a background task (checkpoint save...) finished: text
    previousRestored = pyqtSignal(object)  # a run failed before training: the previous model's RunConfig is back

    def __init__(self, session_factory: Optional[SessionFactory] = None, parent: QObject | None = None,
                 batch_flush_s: float = 0.1) -> None:
        super().__init__(parent)
        self._factory = session_factory or default_session_factory
        self._run_factory = self._factory
        self._flush_s = batch_flush_s
        self._thread: Optional[_RunThread] = None
        self._session: Optional[Session] = None
        self._lock = threading.Lock()
        self._pending: list[ev.BatchEnd] = []
        self._last_flush = 0.0
        self._stop_requested = False
        self._paused = False
        # Inspections after a run: the newest request wins (keys held down), on the inspection worker.
        self._inspections = LatestOnly(self._inspect_failed, self)
        self.thread_listeners: list[Callable[[Any], None]] = []   # called on the training thread (bench)
        self.config: Optional[RunConfig] = None
        self._previous: Optional[tuple[Any, Optional[RunConfig]]] = None   # (session, config) of the last model
        self._started_seen = False

    # ---- state ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_requested(self) -> bool:
        """Stop was asked for the latest run (Compare variants then starts no further row)."""
        return self._stop_requested

    @property
    def session(self) -> Optional[Session]:
        return self._session

    # ---- commands (GUI thread) ----------------------------------------------------------
    def start(self, config: RunConfig, sequences: Optional[list] = None,
              factory: Optional[SessionFactory] = None) -> None:
        """Start a run on a new thread (config already validated; sequences: data loaded already).

        `factory`: make this run's session with it instead of the controller's (an opened run's
        viewer, which sends a run's events without training).
        """
        if self.running:
            raise RuntimeError("a run is already going; stop it first")
        if self._session is not None and self._session.model is not None:
            # Kept until the new run has started training: if it fails before that (settings
            # the data cannot hold, a file gone), the previous model stays available.
            self._previous = (self._session, self.config)
        self.config = config
        self._stop_requested = False
        self._paused = False
        self._started_seen = False
        self._session = None
        self._pending = []
        self._run_factory = factory or self._factory
        self._thread = _RunThread(self, config, sequences)
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.start()
        self.runningChanged.emit(True)
        self.pausedChanged.emit(False)

    def stop(self) -> None:
        """Ask the run to stop (takes effect within one batch; also before training begins)."""
        with self._lock:
            self._stop_requested = True
            session = self._session
        if session is not None:
            session.stop()

    def pause(self) -> None:
        if self._session is not None and self.running:
            self._session.pause()
            self._paused = True
            self.pausedChanged.emit(True)

    def resume(self) -> None:
        if self._session is not None:
            self._session.resume()
        self._paused = False
        self.pausedChanged.emit(False)

    def wait(self, ms: int = 30000) -> bool:
        """Block until the training thread has ended (True) or `ms` passed (False)."""
        if self._thread is None:
            return True
        return self._thread.wait(ms)

    def request_window(self, split: str, sequence: int, start: int) -> None:
        """Show (split, sequence, start) in detail: live during a run, by inspection after it."""
        session = self._session
        if session is None:
            return
        if self.running:
            session.request_snapshot(split, int(sequence), int(start))
            return
        request = (split, int(sequence), int(start))
        self._inspections.submit("inspect", lambda: session.inspect(*request), self._inspected)

    def save_checkpoint(self, path: str) -> None:
        """Save the current model in a pool thread; `taskDone` or `failed` reports the outcome."""
        session = self._session
        if session is None:
            self.failed.emit("no model yet: start a run before saving a checkpoint")
            return
        self._background(lambda: session.save_checkpoint(path), f"checkpoint saved to {path}")

    checkpointLoaded = pyqtSignal(str)   # path; the session (maybe new) now holds that model

    def load_checkpoint(self, path: str, config: Optional[RunConfig] = None, sequences: Optional[list] = None) -> None:
        """Load a saved model for inspection, in a pool thread; not during a run.

        Without a session yet (a fresh window) one is made for `config` and the loaded
        `sequences`; it prepares the data and takes the model's architecture, without training.
        """
        if self.running:
            self.failed.emit("stop the run before loading a checkpoint")
            return
        if config is None:
            self.failed.emit("choose data before loading a checkpoint")
            return

        def load_fresh():
            # Always a new session: it takes the checkpoint's architecture and the data loaded
            # now, whatever an earlier run in this window was.
            fresh = self._factory(config, self._forward, sequences)
            fresh.load_checkpoint(path)
            return fresh

        def done(loaded: Any) -> None:
            if self.running:   # a run was started while the checkpoint loaded: it owns the views
                self.failed.emit(f"a run started while {path} was loading; the checkpoint was not opened")
                return
            self._session = loaded
            self.config = loaded.config
            self.checkpointLoaded.emit(path)
            self.taskDone.emit(f"checkpoint loaded from {path}")

        def errored(exc: Exception) -> None:
            self.failed.emit(str(exc) if isinstance(exc, VaeViewerError) else f"loading {path} failed: {exc!r}")

        self._launch(load_fresh, done, errored)

    def history(self) -> list[dict]:
        session = self._session
        return list(session.history or []) if session is not None else []

    # ---- training thread ----------------------------------------------------------------
    def _run_in_thread(self, config: RunConfig, sequences: Optional[list]) -> None:
        finished_seen = False

        def listener(event: Any) -> None:
            nonlocal finished_seen
            for extra in self.thread_listeners:
                extra(event)
            if isinstance(event, ev.RunFinished):
                finished_seen = True
            elif isinstance(event, ev.RunStarted):
                self._started_seen = True
            self._forward(event)

        try:
            self.message.emit("loading TensorFlow and the data…")
            session = self._run_factory(config, listener, sequences)
            with self._lock:
                self._session = session
                stop_now = self._stop_requested
            if stop_now:
                listener(ev.RunFinished(reason="stopped", message="stopped before training began"))
                return
            session.run()
        except VaeViewerError as exc:
            self._flush()
            self.failed.emit(str(exc))
            if not finished_seen:
                self._forward(ev.RunFinished(reason="error", message=str(exc)))
        except Exception as exc:  # a bug: show it rather than kill the thread silently
            self._flush()
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.failed.emit(f"internal error (please report): {text}")
            traceback.print_exc()
            if not finished_seen:
                self._forward(ev.RunFinished(reason="error", message=text))

    def _forward(self, event: Any) -> None:
        if isinstance(event, ev.BatchEnd):
            self._pending.append(event)
            now = time.monotonic()
            if now - self._last_flush >= self._flush_s:
                self._flush(now)
            return
        self._flush()
        if isinstance(event, ev.Snapshot):
            self.snapshot.emit(event)
        elif isinstance(event, ev.EpochEnd):
            self.epochEnd.emit(event)
        elif isinstance(event, ev.FirstLook):
            self.firstLook.emit(event)
        elif isinstance(event, ev.RunStarted):
            self.runStarted.emit(event)
        elif isinstance(event, ev.Baselines):
            self.baselines.emit(event)
        elif isinstance(event, ev.Message):
            self.message.emit(event.text)
        elif isinstance(event, ev.RunFinished):
            self.runFinished.emit(event)

    def _flush(self, now: float | None = None) -> None:
        if self._pending:
            chunk, self._pending = self._pending, []
            self.batches.emit(chunk)
        self._last_flush = time.monotonic() if now is None else now

    # ---- GUI thread helpers -----------------------------------------------------------
    def _on_thread_finished(self) -> None:
        previous, self._previous = self._previous, None
        if previous is not None and not self._started_seen:
            self._session, self.config = previous
            self.previousRestored.emit(self.config)
        self._paused = False
        self.pausedChanged.emit(False)
        self.runningChanged.emit(False)

    def _inspected(self, snap: Any) -> None:
        if snap is not None:
            self.snapshot.emit(snap)

    def _inspect_failed(self, exc: Exception) -> None:
        self.failed.emit(str(exc) if isinstance(exc, VaeViewerError) else f"inspect failed: {exc!r}")

    def _background(self, func: Callable[[], Any], ok_text: str) -> None:
        def errored(exc: Exception) -> None:
            self.failed.emit(str(exc) if isinstance(exc, VaeViewerError) else f"failed: {exc!r}")

        self._launch(func, lambda _r: self.taskDone.emit(ok_text), errored)

    def _launch(self, func: Callable[[], Any], on_done: Callable[[Any], None],
                on_error: Callable[[Exception], None]) -> None:
        start_worker(create_worker(func, _start_thread=False, _ignore_errors=True), on_done, on_error)
