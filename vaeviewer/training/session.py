"""The training session: one plain object that loads data, builds the model, trains and reports.

The GUI runs `TrainingSession.run()` in a worker thread; the CLI runs it in the main thread. Both
execute exactly this code. The session talks to the outside only through its listener (events
from `vaeviewer.training.events`) and a few thread-safe controls: `pause`, `resume`, `stop`,
`request_snapshot`.
"""

from __future__ import annotations

import importlib.util
import math
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from vaeviewer.config import RunConfig, adopt_model_spec
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.inspector import Inspector
from vaeviewer.training.prefetch import prefetch
from vaeviewer.training.prepare import PreparedData  # noqa: F401  (re-exported)
from vaeviewer.training.report import divergence_message, epochs_text, run_summary
from vaeviewer.training.rundir import RunDirectory

Listener = Callable[[Any], None]


class _StopRun(Exception):
    """Raised inside the loop when stop() was requested."""


class TrainingSession:
    """Train one VAE from a RunConfig, reporting to `listener`.

    Args:
        config: every setting of the run (validated in `run`).
        listener: callable receiving each event; called from the thread that runs `run()`.
        sequences: already-loaded sequences (the GUI loads data once); None = load from config.
        resume: continue the run stored in `config.out` (its config, history and last.keras).
        strategy: a tf.distribute strategy; None = MirroredStrategy when several GPUs are
            visible (stateless runs), else none.
    """

    def __init__(
        self,
        config: RunConfig,
        listener: Optional[Listener] = None,
        *,
        sequences: Optional[list] = None,
        resume: bool = False,
        strategy: Any = None,
    ):
        self.config = config
        self.listener = listener or (lambda event: None)
        self._given_sequences = sequences
        self._resume = resume
        self.strategy = strategy
        self.replicas = 1
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._requests: "queue.SimpleQueue[tuple]" = queue.SimpleQueue()
        self._running = threading.Event()
        self.history: list[dict[str, Any]] = []
        self.model = None
        # The views of the model (windows, validation, decoding): made once the model exists.
        self.inspector: Optional[Inspector] = None
        self.state_budget_bytes: Optional[int] = None   # stateful views' state memory; None: the default
        self.data: Optional[PreparedData] = None
        self.global_step = 0
        self._last_detail_t = 0.0
        self._t_start = time.perf_counter()   # set again when run() starts: the first look counts from it
        self._rundir: Optional[RunDirectory] = None
        self.precision = "float32"
        self.device = "CPU"

    # ---- controls (thread-safe) ---------------------------------------------------------
    def stop(self) -> None:
        """Ask the run to stop; takes effect before the next batch (also wakes a pause)."""
        self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        self._unpaused.clear()

    def resume(self) -> None:
        self._unpaused.set()

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def request_snapshot(self, split: str, sequence: int, start: int) -> None:
        """Select the window shown in detail; the next Snapshot (within one batch) shows it."""
        self._requests.put(("snapshot", split, int(sequence), int(start)))

    # ---- the run ------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Train to the end (or until stopped); return the summary. Blocking."""
        self._running.set()
        self._t_start = time.perf_counter()
        try:
            return self._run()
        except _StopRun:
            summary = self._summary(0.0)
            self._emit(ev.RunFinished("stopped", "stopped before training began", summary))
            return summary
        except VaeViewerError as exc:
            self._emit(ev.RunFinished("error", str(exc)))
            raise
        except Exception as exc:  # a bug or a fault (disk, memory): report it, then re-raise
            self._emit(ev.RunFinished("error", f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            self._running.clear()

    def _emit(self, event: Any) -> None:
        self.listener(event)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _StopRun()

    def _run(self) -> dict[str, Any]:
        cfg = self.config
        if self._resume:
            if not cfg.out:
                raise VaeViewerError("resume: no run directory given")
            self._rundir = RunDirectory(cfg.out)
            stored = self._rundir.read_config()
            self.history = self._rundir.read_history()
            cfg = self.config = self._rundir.resumed_config(stored, cfg, len(self.history))
        cfg.validate()
        if cfg.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise VaeViewerError("setting tensorboard: the tensorboard package is not installed; "
                                 "pip install 'vaeviewer[tensorboard]' or turn the option off")
        if cfg.out and self._rundir is None:
            # Before the slow parts, so a bad --out fails at once.
            self._rundir = RunDirectory(cfg.out)
            self._rundir.prepare()
        self._emit(ev.Message("loading data"))
        self.data = self._prepare_data(cfg)
        self._check_stop()

        from vaeviewer.quiet import import_tensorflow

        import_tensorflow()
        from vaeviewer.models import precision as prec

        self.precision = prec.apply_precision(cfg.precision)
        self.device = prec.device_description()
        import keras

        keras.utils.set_random_seed(cfg.seed)
        self._emit(ev.Message("building model"))
        self.model = self._build_or_load_model(cfg)
        for text in getattr(self, "_data_notes", []):
            self._emit(ev.Message(text))
        self._data_notes = []
        cfg = self.config
        self._check_stop()

        if self._rundir is not None:
            # On resume too: the run directory's config says what this run is (e.g. its new epochs).
            self._rundir.write_config(cfg)
            # The stretch the model was trained under, so that other data can be given the same one.
            d = self.data
            self._rundir.write_data_info({
                "intensity": list(d.intensity) if d.intensity else None, "frame_shape": list(d.frame_shape),
                # frames per loaded sequence: opening the run on moved data checks it is the same
                "sequence_lengths": [max((s.offset + len(s) for s in d.train + d.valid if s.source_index == i), default=0)
                                     for i in range(d.n_sources)]})

        steps = self.data.steps_per_epoch(self.config)
        d = self.data
        self._make_inspector()
        self._emit(self.started_event(steps))

        if cfg.beta_scale == "data":
            self._emit(ev.Message(f"KL weight {self.model.beta:.4g} = beta {cfg.beta:g} x the training frames' "
                                  "variance about their mean frame (beta_scale data)"))
        else:
            self._emit(ev.Message(f"KL weight {self.model.beta:.4g} = beta as given (beta_scale none)"))
        self._emit(ev.Message("computing baselines (mean frame, PCA)"))
        self._emit(self.inspector.compute_baselines())

        return self._train_loop(cfg, steps)

    # ---- data ---------------------------------------------------------------------------
    def _prepare_data(self, cfg: RunConfig) -> PreparedData:
        from vaeviewer.training.prepare import load_run_sequences, prepare_data

        sequences = self._given_sequences if self._given_sequences is not None else load_run_sequences(cfg)
        # What the preparation decided (split, stateful layout, intensity) is said once the model
        # exists: a run refused before that (a bad checkpoint to resume) prints its one error line.
        self._data_notes = []
        return prepare_data(cfg, sequences, note=self._data_notes.append)

    # ---- model --------------------------------------------------------------------------
    def _build_or_load_model(self, cfg: RunConfig):
        from vaeviewer.models import builders

        if self._resume and self._rundir is not None and self._rundir.last_model.exists():
            from vaeviewer.models.io import load_model

            model = load_model(self._rundir.last_model)
            # The stored model decides (a run directory from before `dropout` existed has none).
            self.config = self.config.replace(dropout=float(model.spec.get("dropout", 0.0)))
            # The optimizer comes back with its stored learning rate; a resumed run may set another.
            model.optimizer.learning_rate = float(cfg.learning_rate)
            self.global_step = int(self.history[-1].get("global_step", 0)) if self.history else 0
            return model
        if self.strategy is None and not cfg.stateful:
            from vaeviewer.training.distribute import choose_strategy

            self.strategy = choose_strategy()
        from vaeviewer.training.baselines import frame_statistics

        mean_frame, spread = frame_statistics(self.data.train, seed=cfg.seed)
        beta = builders.effective_beta(cfg, spread)
        if self.strategy is not None:
            self.replicas = int(self.strategy.num_replicas_in_sync)
            with self.strategy.scope():
                model = builders.build_from_config(cfg, self.data.frame_shape, beta=beta)
        else:
            model = builders.build_from_config(cfg, self.data.frame_shape, beta=beta)
        # The decoder starts at the mean frame and the encoder sees what departs from it.
        builders.set_frame_statistics(model, mean_frame, spread)
        return model

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
                        raise _Diverged(epoch, step)
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
        except _StopRun:
            reason, message = "stopped", f"stopped after {epochs_text(len(self.history))}, step {self.global_step}"
        except _Diverged as exc:
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
            except _StopRun:  # stopped: the views keep the last snapshot
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
        valid, snapshot = self._validate()
        if not valid:
            return
        row = {f"val_{k}": v for k, v in valid.items()}
        self._emit(ev.FirstLook(epoch, done, done / steps, time.perf_counter() - self._t_start, valid,
                                verdict=self._verdict(row)))
        if snapshot is not None:
            self._emit(snapshot)

    def _divergence_message(self, exc: "_Diverged") -> str:
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

    # ---- views (through the Inspector) ---------------------------------------------------
    def _synced_inspector(self) -> Inspector:
        """The Inspector, told which weights the model holds now and whether training runs."""
        self.inspector.live = self.running
        self.inspector.step = self.global_step
        return self.inspector

    def _detail_snapshot(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        return self._synced_inspector().window(split, sequence, start)

    def _validate(self) -> tuple[dict[str, float], Optional[ev.Snapshot]]:
        return self._synced_inspector().validate(self._check_stop if self.running else None)

    def inspect(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        """The detail snapshot of one window, computed now. Only when `run()` is not executing."""
        if self.model is None or self.data is None:
            raise VaeViewerError("no trained model yet: start a run first")
        if self.running:
            raise VaeViewerError("the run is in progress: use request_snapshot() while training")
        self.inspector.selected = (split, sequence, start)
        return self._detail_snapshot(split, sequence, start)

    def full_snapshot(self) -> Optional[ev.Snapshot]:
        """Latents, error timeline and the selected window, computed now (not while running)."""
        if self.model is None or self.running:
            return None
        return self.full_snapshot_now()

    def full_snapshot_now(self) -> Optional[ev.Snapshot]:
        return self._validate()[1]

    # ---- persistence --------------------------------------------------------------------
    def _write_epoch(self, improved: bool) -> None:
        if self._rundir is None:
            return
        if self.config.tensorboard:
            self._rundir.write_tensorboard(self.history[-1])
        self._emit(ev.Message("saving checkpoint"))
        self._rundir.save_epoch(self.model, self.history, improved)

    def save_checkpoint(self, path: str | Path) -> None:
        """Save the current model as a .keras file (atomically). Not while a batch runs."""
        if self.model is None:
            raise VaeViewerError("no model to save yet: start a run first")
        from vaeviewer.models.io import save_model

        save_model(self.model, path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Replace the model by a saved one (safe mode) for inspection; not while running.

        The checkpoint must fit this session's settings: same variant, stateful mode, window
        and frame size. The views are refreshed with a full snapshot through the listener.
        """
        if self.running:
            raise VaeViewerError("stop the run before loading a checkpoint")
        from vaeviewer.models.io import load_model

        model = load_model(path)
        cfg = self.config
        if self.data is None:
            # A session that never trained (a fresh window): take the model's own architecture
            # settings, so that any checkpoint of the loaded data's frame size opens.
            cfg = self.config = adopt_model_spec(cfg, model.spec).validate()
            self.data = self._prepare_data(cfg)
        expected = (cfg.model_window,) if cfg.uses_windows else ()
        expected += (*self.data.frame_shape, 1)
        found = tuple(model.sample_shape)
        if model.variant not in (None, cfg.variant) or bool(model.stateful) != cfg.stateful or found != expected:
            raise VaeViewerError(
                f"{path}: this checkpoint is a {'stateful ' if model.stateful else ''}{model.variant} model for inputs "
                f"{found}, but the current settings need a {'stateful ' if cfg.stateful else ''}{cfg.variant} model "
                f"for {expected}; change the settings (variant, window, frame size) to match it"
            )
        self.model = model
        self._make_inspector()
        self._emit(self.started_event(self.data.steps_per_epoch(self.config)))   # the views lay out for this model
        snapshot = self.full_snapshot()
        if snapshot is not None:
            self._emit(snapshot)

    def started_event(self, steps: int) -> ev.RunStarted:
        """What the views need to know of this run's data and settings (sent at the start, and
        after a checkpoint load so the views lay themselves out for the loaded model)."""
        return self.inspector.started_event(steps, self.data.n_train_examples())

    def _make_inspector(self) -> None:
        keep = self.inspector
        self.inspector = Inspector(self.model, self.data, self.config, precision=self.precision, device=self.device)
        self.inspector.state_budget_bytes = self.state_budget_bytes
        if keep is not None and keep.data is self.data:   # a checkpoint load: same data, same baselines
            self.inspector.baselines, self.inspector.window_pca_mse = keep.baselines, keep.window_pca_mse

    @property
    def baselines(self) -> Optional[tuple[float, float]]:
        """(mean-frame MSE, per-frame PCA MSE) on the validation frames, once computed."""
        return self.inspector.baselines if self.inspector is not None else None

    @property
    def window_pca_mse(self) -> Optional[float]:
        """Window models: PCA with K components per window, the baseline at equal budget."""
        return self.inspector.window_pca_mse if self.inspector is not None else None

    def _verdict(self, row: dict[str, Any]):
        return self.inspector.verdict(row, self.history)

    def _summary(self, samples_per_s: float, seconds: float = 0.0, best: Optional[dict] = None) -> dict[str, Any]:
        return run_summary(self, samples_per_s, seconds, best)


class _Diverged(Exception):
    def __init__(self, epoch: int, step: int):
        super().__init__(f"diverged at epoch {epoch}, step {step}")
        self.epoch, self.step = epoch, step
