"""The trainer's loop: epochs of batches with KL warm-up, stop/pause/view requests between batches,
validation, the first look, divergence and restore-best.

`TrainingLoop` is a part of `TrainingSession` (its base class), which owns the state it uses:
the model, data, Inspector, history, controls and listener.
"""

from __future__ import annotations

import math
import queue
import time
from typing import Any

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.training import events as ev
from vaeviewer.training.prefetch import prefetch
from vaeviewer.training.report import divergence_message, epochs_text


class StopRun(Exception):
    """Raised inside the loop when stop() was requested."""


class Diverged(Exception):
    def __init__(self, epoch: int, step: int):
        super().__init__(f"diverged at epoch {epoch}, step {step}")
        self.epoch, self.step = epoch, step


class TrainingLoop:
    """The loop of a TrainingSession (see the module docstring)."""

    # ---- the loop -----------------------------------------------------------------------
    def _train_loop(self, cfg: RunConfig, steps: int) -> dict[str, Any]:
        from vaeviewer.models import inference

        model = self.model
        rng = np.random.default_rng(cfg.seed + len(self.history))
        start_epoch = len(self.history)
        total_steps = max(1, (cfg.epochs - start_epoch) * steps)
        good_weights = model.get_weights()
        best_weights, best_row = None, None
        best = min((h.get("val_loss") or h.get("loss") or math.inf for h in self.history), default=math.inf)
        t_run = time.perf_counter()
        train_seconds = 0.0   # inside train_on_batch only
        train_wall = 0.0      # the whole batch loop: data, steps, events, snapshots (not validation)
        samples_done = 0
        done_steps = 0
        looked, looked_seconds = False, 0.0   # the first look (config.first_look_s): once, not timed as training
        reason, message = "completed", f"finished {epochs_text(cfg.epochs)}"

        try:
            for epoch in range(start_epoch, cfg.epochs):
                self._set_kl_weight(epoch)
                sums = np.zeros(3)
                n_batches = 0
                t_epoch = time.perf_counter()
                for step, (reset, x) in enumerate(prefetch(self.data.train_batches(cfg, rng))):
                    if step >= steps:
                        break
                    self._between_batches()
                    if reset:
                        inference.reset_states(model)
                    t0 = time.perf_counter()
                    logs = model.train_on_batch(self._distribute(x), return_dict=True)
                    dt = time.perf_counter() - t0
                    train_seconds += dt
                    values = np.array([logs["loss"], logs["reconstruction"], logs["kl"]], dtype=np.float64)
                    if not np.all(np.isfinite(values)):
                        model.set_weights(good_weights)
                        self.inspector.weights_changed()
                        raise Diverged(epoch, step)
                    sums += values
                    n_batches += 1
                    samples_done += len(x)
                    done_steps += 1
                    self.global_step += 1
                    rate = len(x) / dt if dt > 0 else 0.0
                    elapsed = time.perf_counter() - t_run
                    eta = elapsed / done_steps * (total_steps - done_steps)
                    self._emit(ev.BatchEnd(epoch, step, self.global_step, *values.tolist(), rate, eta))
                    self._maybe_detail_snapshot()
                    if not self.history and not looked and cfg.first_look_s and \
                            time.perf_counter() - self._t_start >= cfg.first_look_s and step + 1 < steps:
                        looked = True
                        t_look = time.perf_counter()
                        self._first_look(epoch, step + 1, steps)
                        looked_seconds += time.perf_counter() - t_look
                train_wall += time.perf_counter() - t_epoch - looked_seconds
                looked_seconds = 0.0
                if cfg.stateful:
                    inference.reset_states(model)
                train_terms = dict(zip(("loss", "reconstruction", "kl"), (sums / max(n_batches, 1)).tolist()))
                self._check_stop()
                valid_terms, snapshot = self._validate()
                # history rows count epochs from 1, as the console does; EpochEnd.epoch stays 0-based
                row = {"epoch": epoch + 1, "global_step": self.global_step, **train_terms,
                       **{f"val_{k}": v for k, v in valid_terms.items()},
                       "seconds": time.perf_counter() - t_epoch}
                self.history.append(row)
                good_weights = model.get_weights()
                self._emit(ev.EpochEnd(epoch, train_terms, valid_terms, row["seconds"],
                                       kl_per_dim=snapshot.kl_per_dim if snapshot else None,
                                       verdict=self._verdict(row)))
                if snapshot is not None:
                    self._emit(snapshot)
                score = valid_terms.get("loss", train_terms["loss"])
                if score < best:
                    best_weights, best_row = good_weights, row
                self._write_epoch(score < best)
                best = min(best, score)
        except StopRun:
            reason, message = "stopped", f"stopped after {epochs_text(len(self.history))}, step {self.global_step}"
        except Diverged as exc:
            reason = "diverged"
            message = self._divergence_message(exc)
        last_row = self.history[-1] if self.history else {}
        if cfg.restore_best and best_weights is not None and best_row is not last_row:
            # Early stopping's "restore best weights": the model left to inspect is the one with
            # the lowest validation loss of this run, as best.keras holds.
            model.set_weights(best_weights)
            self.inspector.weights_changed()
            message += f"; kept the weights of epoch {best_row['epoch']} (lowest validation loss)"
            try:
                snapshot = self.full_snapshot_now()
            except StopRun:  # stopped: the views keep the last snapshot
                snapshot = None
            if snapshot is not None:
                self._emit(snapshot)
        seconds = time.perf_counter() - t_run
        summary = self._summary(samples_done / train_wall if train_wall else 0.0, seconds, best_row)
        summary["step_samples_per_s"] = samples_done / train_seconds if train_seconds else 0.0
        summary["reason"] = reason
        if self.history:
            verdict = self._verdict(best_row if (cfg.restore_best and best_row is not None) else last_row)
            summary.update(verdict.as_dict())
            message = f"{message.rstrip('.')}. {verdict.text}"
        self._emit(ev.RunFinished(reason, message, summary))
        return summary

    def _first_look(self, epoch: int, done: int, steps: int) -> None:
        """Validate once before the first epoch ends, for a first verdict (the weights are not touched)."""
        self._emit(ev.Message("first look: validating before the first epoch ends"))
        # Non-overlapping windows only: the loss terms are the same, and a window model's dense
        # timeline (windows T/4 apart) would cost it several times as long; the epoch's end draws it.
        valid, snapshot = self._validate(dense_timeline=False)
        if not valid:
            return
        row = {f"val_{k}": v for k, v in valid.items()}
        self._emit(ev.FirstLook(epoch, done, done / steps, time.perf_counter() - self._t_start, valid,
                                verdict=self._verdict(row)))
        if snapshot is not None:
            self._emit(snapshot)

    def _divergence_message(self, exc: "Diverged") -> str:
        return divergence_message(exc.epoch, exc.step, len(self.history), self._rundir, self.precision)

    def _distribute(self, x: np.ndarray):
        """Under a multi-replica strategy, give each replica its own slice of the batch."""
        if self.replicas <= 1 or len(x) < self.replicas:
            return x
        import tensorflow as tf

        n = self.replicas
        return self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(x[ctx.replica_id_in_sync_group :: n])
        )

    def _set_kl_weight(self, epoch: int) -> None:
        warm = self.config.kl_warmup_epochs
        weight = 1.0 if warm <= 0 else min(1.0, (epoch + 1) / (warm + 1))
        self.model.kl_weight.assign(weight)

    def _between_batches(self) -> None:
        """Honour stop, pause and snapshot requests. Called before every batch."""
        self._handle_requests()
        while not self._unpaused.is_set():
            self._unpaused.wait(0.05)
            self._handle_requests()
        self._check_stop()

    def _handle_requests(self) -> None:
        """Answer the newest view request only: the ones before it are stale (keys pressed fast)."""
        newest = None
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                break
            if request[0] == "snapshot":
                newest = request
        if newest is not None:
            self.inspector.selected = newest[1:]
            self._emit(self._detail_snapshot(*self.inspector.selected))
            self._last_detail_t = time.perf_counter()

    def _maybe_detail_snapshot(self) -> None:
        now = time.perf_counter()
        if now - self._last_detail_t >= self.config.snapshot_interval_s:
            self._last_detail_t = now
            self._emit(self._detail_snapshot(*self.inspector.selected))
