"""Training the rows of `vaeviewer compare`, one after another, through the same `TrainingSession` as `vaeviewer train`."""

from __future__ import annotations

import gc
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from vaeviewer.training import events as ev
from vaeviewer.training.compare_output import write_outputs
from vaeviewer.training.compare_rows import PlannedRow, RowResult


class _RowListener:
    """Collects what a row's table line and plot need; enforces the seconds budget."""

    def __init__(self, budget_seconds: Optional[float], forward: Optional[Callable[[Any], None]] = None):
        self.budget_seconds = budget_seconds
        self.forward = forward
        self.session = None
        self.valid_lengths: list[int] = []
        self.snapshot: Optional[ev.Snapshot] = None
        self.epochs_done = 0
        self.budget_hit = False
        self._deadline_passed = False
        self._timer: Optional[threading.Timer] = None
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if isinstance(event, ev.RunStarted):
            self.valid_lengths = list(event.valid_lengths or event.train_lengths)
        elif isinstance(event, ev.Baselines) and self.budget_seconds is not None:
            # The clock starts with training: data, model and baselines are not the variant's training.
            self._timer = threading.Timer(self.budget_seconds, self._deadline)
            self._timer.daemon = True
            self._timer.start()
        elif isinstance(event, ev.EpochEnd):
            with self._lock:
                self.epochs_done += 1
                if self._deadline_passed:   # the budget ran out in the first epoch: stop after it
                    self.session.stop()
        elif isinstance(event, ev.Snapshot) and event.timeline_error is not None:
            self.snapshot = event
        if self.forward is not None:
            self.forward(event)

    def _deadline(self) -> None:
        with self._lock:
            self.budget_hit = True
            self._deadline_passed = True
            # Stop now if an epoch was validated; else after the first one, so the row has a val MSE.
            if self.epochs_done and self.session is not None:
                self.session.stop()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return None
    return a / b


def row_from_summary(planned: PlannedRow, summary: dict[str, Any], wall: float, budget_hit: bool) -> dict[str, Any]:
    """The compare.json row of a finished session's summary."""
    cfg = planned.config
    windowed = cfg.uses_windows
    val_mse = summary.get("val_mse")
    pca = summary.get("pca_mse")
    window_pca = summary.get("window_pca_mse") if windowed else None
    equal = window_pca if windowed else pca
    row = {
        "variant": planned.variant,
        "window": cfg.model_window,
        "stateful": cfg.stateful,
        "val_mse": val_mse,
        "pca_mse": pca,
        "window_pca_mse": window_pca,
        "mean_frame_mse": summary.get("mean_frame_mse"),
        "vs_pca": _ratio(val_mse, pca),              # val MSE / per-frame PCA's (< 1: beats it)
        "vs_equal_budget": _ratio(val_mse, equal),   # val MSE / the equal-budget PCA's
        "equal_budget_baseline": "window_pca" if windowed else "pca",
        "val_kl": summary.get("val_kl"),
        "samples_per_s": summary.get("samples_per_s"),
        "seconds": summary.get("seconds"),
        "wall_seconds": wall,
        "epochs": summary.get("epochs"),
        "steps": summary.get("steps"),
        "budget_limited": bool(budget_hit),
        "reason": summary.get("reason", "stopped"),
        "verdict": summary.get("verdict") or "unknown",
        "beats_equal_budget": (None if row_none(val_mse, equal) else bool(val_mse < equal)),
        "verdict_text": summary.get("verdict_text") or "no epoch finished: nothing to compare",
        "run_dir": summary.get("out"),
    }
    return row


def row_none(*values: Optional[float]) -> bool:
    return any(v is None or not math.isfinite(v) for v in values)


def _timeline(listener: _RowListener) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    snap = listener.snapshot
    if snap is None or snap.timeline_error is None:
        return None, None
    lengths = listener.valid_lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)])[:-1] if lengths else np.zeros(1)
    seq = np.asarray(snap.timeline_sequence, dtype=np.int64)
    seq = np.clip(seq, 0, len(offsets) - 1)
    position = offsets[seq] + np.asarray(snap.timeline_frame, dtype=np.int64)
    order = np.argsort(position, kind="stable")
    return position[order].astype(np.float64), np.asarray(snap.timeline_error, dtype=np.float64)[order]


def train_row(planned: PlannedRow, sequences: list, budget_seconds: Optional[float] = None,
              forward: Optional[Callable[[Any], None]] = None,
              on_session: Optional[Callable[[Any], None]] = None) -> RowResult:
    """Train one row on `sequences` (already loaded) and return its result.

    `on_session` receives the TrainingSession before it runs (a caller may stop it).
    """
    from vaeviewer.training.session import TrainingSession

    listener = _RowListener(budget_seconds, forward)
    session = TrainingSession(planned.config, listener, sequences=sequences)
    listener.session = session
    if on_session is not None:
        on_session(session)
    t0 = time.perf_counter()
    try:
        summary = session.run()
    finally:
        listener.cancel()
    wall = time.perf_counter() - t0
    row = row_from_summary(planned, summary, wall, listener.budget_hit)
    position, error = _timeline(listener)
    history = [h.get("val_mse") for h in session.history]
    starts = np.cumsum(listener.valid_lengths)[:-1].astype(np.float64) if len(listener.valid_lengths) > 1 else None
    result = RowResult(row, [v if v is not None else float("nan") for v in history], position, error,
                       starts if position is not None else None)
    del session
    return result


def run_compare(rows: list[PlannedRow], sequences: list, out: Optional[str | Path] = None,
                budget_seconds: Optional[float] = None,
                on_row: Optional[Callable[[RowResult], None]] = None,
                on_start: Optional[Callable[[PlannedRow, int], None]] = None,
                on_session: Optional[Callable[[Any], None]] = None) -> list[RowResult]:
    """Train every row in turn; after each, write the outputs (when `out`) and call `on_row`.

    A KeyboardInterrupt propagates after the finished rows' files are written (they are written
    after every row), so the caller keeps them.
    """
    results: list[RowResult] = []
    for i, planned in enumerate(rows):
        if on_start is not None:
            on_start(planned, i)
        result = train_row(planned, sequences, budget_seconds, on_session=on_session)
        results.append(result)
        if out is not None:
            write_outputs(out, results)
        if on_row is not None:
            on_row(result)
        release_graph()
    return results


def release_graph() -> None:
    """Free the finished row's model and TensorFlow graph before the next row builds its own.

    Ctrl-C during the collection is held and raised after it: Python ignores a KeyboardInterrupt
    raised inside a finalizer ("Exception ignored in ..."), so a Ctrl-C landing there was lost and
    the comparison went on to its next row.
    """
    pressed: list[int] = []
    held = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum)) if held else None
    try:
        gc.collect()
        try:
            import keras

            keras.backend.clear_session()
        except Exception:  # noqa: BLE001  (only memory is at stake)
            pass
    finally:
        if held:
            # None: the handler was not Python's to restore; Python's own then stands in.
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if pressed:
        raise KeyboardInterrupt
