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
from typing import Any, Callable, Iterator, Optional

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.data.windows import frames_to_float
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.prepare import PreparedData  # noqa: F401  (re-exported)
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
        self._twin = None
        self._twin_synced_step: Any = None
        self._forward_cache: dict[int, Any] = {}
        # Bumped whenever weights are set other than by a training step (restore-best, a
        # divergence's roll-back, a checkpoint load): with the step it names the weights.
        self._weights_version = 0
        self._state_checkpoints = None   # inference.StateCheckpoints of the stateful views
        self.state_budget_bytes: Optional[int] = None   # None: inference.STATE_BUDGET_BYTES
        self.data: Optional[PreparedData] = None
        self.baselines: Optional[tuple[float, float]] = None
        self.window_pca_mse: Optional[float] = None   # window models: PCA with K per window (equal budget)
        self.global_step = 0
        self._selected = ("valid", 0, 0)
        self._last_detail_t = 0.0
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
            cfg = self.config = self._resumed_config(stored, cfg)
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

        steps = self._steps_per_epoch()
        d = self.data
        self._selected = ("valid", 0, 0) if d.valid else ("train", 0, 0)
        self._emit(self.started_event(steps))

        if cfg.beta_scale == "data":
            self._emit(ev.Message(f"KL weight {self.model.beta:.4g} = beta {cfg.beta:g} x the training frames' "
                                  "variance about their mean frame (beta_scale data)"))
        else:
            self._emit(ev.Message(f"KL weight {self.model.beta:.4g} = beta as given (beta_scale none)"))
        self._emit(ev.Message("computing baselines (mean frame, PCA)"))
        from vaeviewer.training.baselines import compute_baselines

        self.baselines = compute_baselines(d.train, d.valid, cfg.latent_dim, seed=cfg.seed)
        if cfg.uses_windows:
            from vaeviewer.training.baselines import compute_window_pca

            # Fitted on windows at stride 1 whatever the run's stride: the same baseline for every
            # run with this window (stateful or not), as the per-frame baselines are.
            self.window_pca_mse = compute_window_pca(d.train, d.valid, cfg.model_window, cfg.latent_dim,
                                                     stride=1, seed=cfg.seed)
        self._emit(ev.Baselines(mean_frame_mse=self.baselines[0], pca_mse=self.baselines[1],
                                window_pca_mse=self.window_pca_mse, window=cfg.model_window))

        return self._train_loop(cfg, steps)

    def _resumed_config(self, stored: RunConfig, wanted: RunConfig) -> RunConfig:
        """The settings of a resumed run: `wanted`, checked against the stored run's.

        `wanted.epochs` is the new total. Raises VaeViewerError naming what cannot change on
        resume, or saying that nothing is left to train.
        """
        from vaeviewer.training.rundir import fixed_on_resume

        where = self._rundir.path
        fixed = fixed_on_resume(stored, wanted)
        if fixed:
            a, b = stored.to_dict(), wanted.to_dict()
            what = "; ".join(f"{name} {b[name]!r} (the run has {a[name]!r})" for name in fixed)
            raise VaeViewerError(f"{where}: cannot change on resume: {what}; start a new run with --out for other settings")
        done = len(self.history)
        if wanted.epochs <= done:
            raise VaeViewerError(f"{where} already has {_epochs(done)}; pass --epochs N, a new total above {done}, "
                                 "to train more")
        return wanted

    # ---- data ---------------------------------------------------------------------------
    def _prepare_data(self, cfg: RunConfig) -> PreparedData:
        from vaeviewer.training.prepare import load_run_sequences, prepare_data

        sequences = self._given_sequences if self._given_sequences is not None else load_run_sequences(cfg)
        # What the preparation decided (split, stateful layout, intensity) is said once the model
        # exists: a run refused before that (a bad checkpoint to resume) prints its one error line.
        self._data_notes = []
        return prepare_data(cfg, sequences, note=self._data_notes.append)

    def _n_train_examples(self) -> int:
        d = self.data
        if d.train_streams is not None:
            return d.train_streams.n_batches() * d.train_streams.batch_size
        return len(d.train_index)

    def _steps_per_epoch(self) -> int:
        cfg, d = self.config, self.data
        if d.train_streams is not None:
            full = d.train_streams.n_batches()
        else:
            full = math.ceil(len(d.train_index) / cfg.batch_size)
        return cfg.steps_per_epoch if cfg.steps_per_epoch else max(full, cfg.min_steps_per_epoch)

    def _train_batches(self, rng: np.random.Generator) -> Iterator[tuple[bool, np.ndarray]]:
        """Yield (reset_states_before, batch) shaped for the model, pass after pass."""
        cfg, d = self.config, self.data
        from vaeviewer.data import windows as win

        # Endless: the epoch loop takes as many batches as an epoch has, so a small data set
        # is walked again (reshuffled, or with fresh state resets) within one epoch.
        while True:
            if d.train_streams is not None:
                # Whole-sequence groups are drawn afresh each pass (members, order), so the
                # S mod B sequences that sit out a pass differ from pass to pass.
                yield from d.train_streams.batches(d.train, rng)
                continue
            # Full batches only: a short last batch would retrace the compiled step (seconds on
            # a CPU). The order is reshuffled every pass, so no window is left out for good.
            full_only = len(d.train_index) >= cfg.batch_size
            for batch in win.iterate_batches(d.train, d.train_index, cfg.model_window, cfg.batch_size, shuffle=True,
                                             rng=rng, drop_remainder=full_only):
                yield False, self._shape_for_model(batch)

    def _shape_for_model(self, batch: np.ndarray) -> np.ndarray:
        """gather() returns (B, T, H, W, 1); conv2d takes (B, H, W, 1)."""
        if not self.config.uses_windows:
            return batch.reshape(batch.shape[0], *batch.shape[2:])
        return batch

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

    def _viewer_model(self):
        """A model that takes batch-1 windows: the model itself, or a weight-synced stateful twin."""
        from vaeviewer.models import builders

        if not self.config.stateful:
            return self.model
        if self._twin is None:
            self._twin = builders.inference_twin(self.model)
            self._twin_synced_step = None
        token = self._weights_token()
        if self._twin_synced_step != token and self._twin is not self.model:
            self._twin.set_weights(self.model.get_weights())
            self._twin_synced_step = token
        return self._twin

    def _weights_token(self) -> tuple:
        """Names the model's current weights: changes after a training step or any set_weights."""
        return (id(self.model), self.global_step, self._weights_version)

    def _forward(self, model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(z_mean, z_log_var, reconstruction from z_mean), all float32 numpy."""
        fn = self._forward_cache.get(id(model))
        if fn is None:
            import tensorflow as tf

            encoder, decoder = model.encoder, model.decoder

            @tf.function(reduce_retracing=True)
            def fn(batch):
                z_mean, z_log_var = encoder(batch, training=False)[:2]
                recon = decoder(z_mean, training=False)
                return tf.cast(z_mean, tf.float32), tf.cast(z_log_var, tf.float32), tf.cast(recon, tf.float32)

            self._forward_cache[id(model)] = fn
        z_mean, z_log_var, recon = fn(x)
        return z_mean.numpy(), z_log_var.numpy(), recon.numpy()

    def _loss_terms(self, x: np.ndarray, recon: np.ndarray, z_mean: np.ndarray, z_log_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-example reconstruction loss and KL, with the model's own formulas (from z_mean)."""
        axes = tuple(range(1, x.ndim))
        if self.config.loss == "bce":
            r = np.clip(recon, 1e-7, 1 - 1e-7)
            rec = -np.sum(x * np.log(r) + (1 - x) * np.log(1 - r), axis=axes)
        else:
            rec = np.mean((x - recon) ** 2, axis=axes) * np.prod(x.shape[1:-1])
        kl_axes = tuple(range(1, z_mean.ndim))
        kl = -0.5 * np.sum(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=kl_axes)
        return rec, kl

    # ---- the loop -----------------------------------------------------------------------
    def _train_loop(self, cfg: RunConfig, steps: int) -> dict[str, Any]:
        from vaeviewer.models import builders

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
        reason, message = "completed", f"finished {_epochs(cfg.epochs)}"

        try:
            for epoch in range(start_epoch, cfg.epochs):
                self._set_kl_weight(epoch)
                sums = np.zeros(3)
                n_batches = 0
                t_epoch = time.perf_counter()
                for step, (reset, x) in enumerate(self._prefetch(self._train_batches(rng))):
                    if step >= steps:
                        break
                    self._between_batches()
                    if reset:
                        builders.reset_states(model)
                    t0 = time.perf_counter()
                    logs = model.train_on_batch(self._distribute(x), return_dict=True)
                    dt = time.perf_counter() - t0
                    train_seconds += dt
                    values = np.array([logs["loss"], logs["reconstruction"], logs["kl"]], dtype=np.float64)
                    if not np.all(np.isfinite(values)):
                        model.set_weights(good_weights)
                        self._weights_version += 1
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
                train_wall += time.perf_counter() - t_epoch
                if cfg.stateful:
                    builders.reset_states(model)
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
            reason, message = "stopped", f"stopped after {_epochs(len(self.history))}, step {self.global_step}"
        except _Diverged as exc:
            reason = "diverged"
            message = self._divergence_message(exc)
        last_row = self.history[-1] if self.history else {}
        if cfg.restore_best and best_weights is not None and best_row is not last_row:
            # Early stopping's "restore best weights": the model left to inspect is the one with
            # the lowest validation loss of this run, as best.keras holds.
            model.set_weights(best_weights)
            self._weights_version += 1
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

    def _divergence_message(self, exc: "_Diverged") -> str:
        """What a diverged run says: where, what was kept (truthfully), and what to try."""
        text = f"the loss became NaN or infinite at epoch {exc.epoch + 1}, step {exc.step + 1}; training stopped"
        if self.history:
            kept = len(self.history)
            text += f" and the model was set back to the end of epoch {kept}"
            if self._rundir is not None:
                text += f" (saved in {self._rundir.last_model})"
        else:
            text += " before any epoch finished, so no weights were saved"
            if self._rundir is not None:
                text += f" in {self._rundir.path}"
        if self.precision and self.precision.startswith("mixed"):
            text += (f". It ran in {self.precision}: --precision float32 is worth a try, then a lower "
                     "learning rate or a smaller beta")
        else:
            text += ". Try a lower learning rate or a smaller beta"
        return text + "."

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
            self._selected = newest[1:]
            self._emit(self._detail_snapshot(*self._selected))
            self._last_detail_t = time.perf_counter()

    def _maybe_detail_snapshot(self) -> None:
        now = time.perf_counter()
        if now - self._last_detail_t >= self.config.snapshot_interval_s:
            self._last_detail_t = now
            self._emit(self._detail_snapshot(*self._selected))

    def _prefetch(self, batches: Iterator, depth: int = 2) -> Iterator:
        """Assemble the next batches in a helper thread while the model trains on this one."""
        q: "queue.Queue" = queue.Queue(maxsize=depth)
        done = object()
        stop = threading.Event()

        def produce() -> None:
            try:
                for item in batches:
                    while not stop.is_set():
                        try:
                            q.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                q.put(done)
            except BaseException as exc:  # hand the error to the consumer
                q.put(exc)

        thread = threading.Thread(target=produce, name="vaeviewer-batches", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join(timeout=5)

    # ---- validation, snapshots, inspection ----------------------------------------------
    def _split_list(self, split: str) -> list:
        d = self.data
        if split == "valid" and d.valid:
            return d.valid
        return d.train

    def _detail_snapshot(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        """Reconstruct one window of `cfg.window` frames for the strips."""
        cfg = self.config
        seqs = self._split_list(split)
        split = "valid" if seqs is self.data.valid and self.data.valid else "train"
        sequence = int(np.clip(sequence, 0, len(seqs) - 1))
        frames = seqs[sequence].frames
        view_t = cfg.window
        start = int(np.clip(start, 0, len(frames) - view_t))
        model = self._viewer_model()
        if not cfg.uses_windows:
            x = frames_to_float(frames[start : start + view_t])[..., None]
            _, _, recon = self._forward(model, x)
        elif cfg.stateful:
            # The state carried from the sequence's start: from the nearest checkpointed state.
            t = cfg.model_window
            k = start // t
            start = k * t
            x, recon = self._stateful_window(model, split, sequence, k)
        else:
            x = frames_to_float(frames[start : start + view_t])[None, ..., None]
            _, _, recon = self._forward(model, x)
            x, recon = x[0], recon[0]
        inputs = x[..., 0]
        rec = recon[..., 0]
        err = np.mean((inputs - rec) ** 2, axis=(1, 2))
        return ev.Snapshot(split=split, sequence=sequence, start=start, inputs=inputs, reconstruction=rec, frame_error=err)

    def _checkpoints(self, split: str, model, token: Any = None):
        """The stateful views' state checkpoints for `token`'s weights (None: keep), planned for `split`."""
        from vaeviewer.models import inference

        if self._state_checkpoints is None:
            budget = self.state_budget_bytes or inference.STATE_BUDGET_BYTES
            self._state_checkpoints = inference.StateCheckpoints(budget)
        cache = self._state_checkpoints
        if token is not None or cache.token is None:
            cache.use(token if token is not None else self._weights_token())
        t = self.config.model_window
        n_windows = sum(len(s) // t for s in self._split_list(split))
        cache.plan(split, n_windows, inference.state_nbytes(model))
        return cache

    def _stateful_window(self, model, split: str, sequence: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(window k, its reconstruction), each (T, H, W, 1), with the state carried from the start.

        The state at the window's start comes from the nearest checkpoint at or before it (see
        `inference.StateCheckpoints`: every n-th window's state within a memory budget), so any
        window costs at most n window passes, not k. The validation pass keeps the validation
        split's checkpoints; the training split's are kept as views walk it (the first view of
        a deep training window walks to it once). Checkpoints belong to the weights they were
        computed with and are dropped when the weights change (training steps, restore-best,
        a divergence's roll-back, a checkpoint load), with one exception: while the run is
        executing, a live view starts from the states of the last validation (or of an earlier
        view), computed with slightly older weights, and walks on with the current ones. That
        approximation keeps live snapshots from stalling training; after the run every view is
        exact again (the checkpoints are rebuilt for the final weights).
        """
        from vaeviewer.models import inference

        t = self.config.model_window
        frames = self._split_list(split)[sequence].frames
        cache = self._checkpoints(split, model, None if self.running else self._weights_token())

        def window_at(j: int) -> np.ndarray:
            return frames_to_float(frames[j * t:(j + 1) * t]).reshape(1, t, *frames.shape[1:], 1)

        _, _, recon = inference.walk_to_window(model, window_at, k, self._forward, cache, split, sequence)
        return window_at(k)[0], recon[0]

    def _validate(self) -> tuple[dict[str, float], Optional[ev.Snapshot]]:
        """One pass over the validation windows: loss terms, MSE, latents, per-frame errors.

        The loss terms, MSE and latents come from non-overlapping windows (each frame counted
        once). The error timeline shows, for stateless window models, each frame's error
        averaged over the windows `timeline_stride(T)` apart that hold it, so that it does not
        depend on where the frame sits in a window; for conv2d and for stateful runs (whose
        carried-state walk needs consecutive, non-overlapping windows) it is the error in the
        non-overlapping windows. A stateful pass also keeps the state checkpoints of the views.
        """
        cfg, d = self.config, self.data
        use_valid = bool(d.valid)
        seqs = d.valid if use_valid else d.train
        from vaeviewer.data import windows as win

        index = d.valid_index if use_valid else win.make_windows(d.train, cfg.model_window, cfg.model_window)
        model = self._viewer_model()
        t = cfg.model_window
        # The loss terms and latents come from the non-overlapping windows (each frame counted
        # once); for stateless window models the error timeline averages more windows.
        scored = np.ones(len(index), dtype=bool)
        averaged = None
        if cfg.uses_windows and not cfg.stateful and t > 1:
            index, scored = _timeline_index(seqs, index, t, timeline_stride(t))
            averaged = _TimelineAverage([len(s) for s in seqs])
        checkpoints = None
        if cfg.stateful:
            from vaeviewer.models import inference

            split_name = "valid" if use_valid else "train"
            checkpoints = self._checkpoints(split_name, model, self._weights_token())
        rec_sum = kl_sum = 0.0
        n = 0
        latents, timeline_err, timeline_seq, timeline_frame = [], [], [], []
        lat_seq, lat_frame = [], []
        kl_dim_sum = None
        if cfg.stateful:
            from vaeviewer.models import builders

            order = np.lexsort((index.start, index.sequence))
            batches = []
            prev_seq = None
            for row in order:
                batches.append((index.sequence[row] != prev_seq, np.array([row])))
                prev_seq = index.sequence[row]
        else:
            rows = np.arange(len(index))
            batches = [(False, rows[i : i + cfg.batch_size]) for i in range(0, len(rows), cfg.batch_size)]
        for reset, rows in batches:
            if self.running:
                self._check_stop()
            if cfg.stateful and reset:
                builders.reset_states(model)
            x = win.gather(seqs, index, rows, t)
            x = self._shape_for_model(x)
            if checkpoints is not None:  # the state at this window's start, for the views
                checkpoints.store(split_name, int(index.sequence[rows[0]]), int(index.start[rows[0]]) // t,
                                  lambda: inference.carried_states(model))
            z_mean, z_log_var, recon = self._forward(model, x)
            if averaged is not None:
                averaged.add(index.sequence[rows], index.start[rows], ((x - recon) ** 2).mean(axis=(2, 3, 4)))
                keep = scored[rows]
                if not keep.any():
                    continue
                x, recon, z_mean, z_log_var, rows = x[keep], recon[keep], z_mean[keep], z_log_var[keep], rows[keep]
            rec, kl = self._loss_terms(x, recon, z_mean, z_log_var)
            rec_sum += float(rec.sum())
            kl_sum += float(kl.sum())
            n += len(x)
            kl_elem = -0.5 * (1 + z_log_var - z_mean**2 - np.exp(z_log_var))
            kl_elem = kl_elem.reshape(-1, kl_elem.shape[-1])
            kl_dim_sum = kl_elem.sum(0) if kl_dim_sum is None else kl_dim_sum + kl_elem.sum(0)
            sq = (x - recon) ** 2
            per_frame = sq.reshape(len(x), -1, *sq.shape[-3:]).mean(axis=(2, 3, 4)) if t > 1 else sq.mean(axis=(1, 2, 3))[:, None]
            starts = index.start[rows]
            timeline_err.append(per_frame.reshape(-1))
            timeline_seq.append(np.repeat(index.sequence[rows], per_frame.shape[1]))
            timeline_frame.append((starts[:, None] + np.arange(per_frame.shape[1])[None, :]).reshape(-1))
            zm = z_mean
            if zm.ndim == 3:  # one latent per frame: one scatter point per frame
                lat_frame.append((starts[:, None] + np.arange(zm.shape[1])[None, :]).reshape(-1))
                lat_seq.append(np.repeat(index.sequence[rows], zm.shape[1]))
                zm = zm.reshape(-1, zm.shape[-1])
            else:
                lat_frame.append(starts)
                lat_seq.append(index.sequence[rows])
            latents.append(zm)
        if cfg.stateful:
            from vaeviewer.models import builders

            builders.reset_states(model)
        if n == 0:
            return {}, None
        kl_weight = float(self.model.kl_weight.numpy())
        rec_mean, kl_mean = rec_sum / n, kl_sum / n
        err = np.concatenate(timeline_err)
        terms = {"loss": rec_mean + self.model.beta * kl_weight * kl_mean, "reconstruction": rec_mean, "kl": kl_mean,
                 "mse": float(err.mean())}
        if not use_valid:
            terms = {}
        lat = np.concatenate(latents)
        keep = _even_sample(len(lat), cfg.max_scatter_points)
        detail = self._detail_snapshot(*self._selected)
        detail.latents = lat[keep]
        detail.latent_total = len(lat)
        detail.latent_sequence = np.concatenate(lat_seq)[keep]
        detail.latent_frame = np.concatenate(lat_frame)[keep]
        detail.latent_split = "valid" if use_valid else "train"
        detail.timeline_error = err
        detail.timeline_sequence = np.concatenate(timeline_seq)
        detail.timeline_frame = np.concatenate(timeline_frame)
        if averaged is not None:  # every window that holds a frame, averaged: see timeline_stride
            detail.timeline_sequence, detail.timeline_frame, detail.timeline_error = averaged.result()
        detail.kl_per_dim = (kl_dim_sum / len(err) * (1 if t == 1 else t)) if kl_dim_sum is not None else None
        return terms, detail

    def inspect(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        """The detail snapshot of one window, computed now. Only when `run()` is not executing."""
        if self.model is None or self.data is None:
            raise VaeViewerError("no trained model yet: start a run first")
        if self.running:
            raise VaeViewerError("the run is in progress: use request_snapshot() while training")
        self._selected = (split, sequence, start)
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
            self._write_tensorboard(self.history[-1])
        from vaeviewer.models.io import save_model

        self._emit(ev.Message("saving checkpoint"))
        try:
            save_model(self.model, self._rundir.last_model)
            if improved:
                save_model(self.model, self._rundir.best_model)
            self._rundir.write_history(self.history)
        except OSError as exc:
            raise VaeViewerError(
                f"{self._rundir.path}: cannot write the checkpoint ({exc.strerror or exc}); "
                "the previous checkpoint is still intact. Free some space or choose another --out."
            ) from None

    def _write_tensorboard(self, row: dict[str, Any]) -> None:
        """Scalars of one epoch as TensorBoard events under DIR/tensorboard."""
        import tensorflow as tf

        if getattr(self, "_tb_writer", None) is None:
            self._tb_writer = tf.summary.create_file_writer(str(self._rundir.path / "tensorboard"))
        with self._tb_writer.as_default():
            for key, value in row.items():
                if key not in ("epoch", "global_step") and isinstance(value, float) and math.isfinite(value):
                    tf.summary.scalar(key, value, step=row["epoch"])
        self._tb_writer.flush()

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
            cfg = self.config = _adopt_model_spec(cfg, model.spec).validate()
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
        self._weights_version += 1
        self._twin = None
        self._forward_cache.clear()
        self._selected = ("valid", 0, 0) if self.data.valid else ("train", 0, 0)
        self._emit(self.started_event(self._steps_per_epoch()))   # the views lay out for this model
        snapshot = self.full_snapshot()
        if snapshot is not None:
            self._emit(snapshot)

    def started_event(self, steps: int) -> ev.RunStarted:
        """What the views need to know of this run's data and settings (sent at the start, and
        after a checkpoint load so the views lay themselves out for the loaded model)."""
        cfg, d = self.config, self.data
        return ev.RunStarted(
            config=cfg.to_dict(),
            device=self.device,
            precision=self.precision,
            n_sequences=d.n_sources,
            frame_shape=d.frame_shape,
            n_train=self._n_train_examples(),
            n_valid=len(d.valid_index) if d.valid_index is not None else 0,
            steps_per_epoch=steps,
            epochs=cfg.epochs,
            intensity=d.intensity,
            train_lengths=[len(s) for s in d.train],
            valid_lengths=[len(s) for s in d.valid],
            # Where each part sits in its file, so the views name frames as the file does.
            train_offsets=[int(s.offset) for s in d.train],
            valid_offsets=[int(s.offset) for s in d.valid],
            train_sources=[int(s.source_index) for s in d.train],
            valid_sources=[int(s.source_index) for s in d.valid],
            source_names=[next((s.name for s in d.train + d.valid if s.source_index == i), "")
                          for i in range(d.n_sources)],
            source_lengths=[max((s.offset + len(s) for s in d.train + d.valid if s.source_index == i), default=0)
                            for i in range(d.n_sources)],
        )

    def _verdict(self, row: dict[str, Any]):
        """The verdict on `row`'s validation MSE, with this run's history so far (see verdict.py)."""
        from vaeviewer.training.verdict import assess

        mean_mse, pca_mse = self.baselines if self.baselines else (None, None)
        n_frames = sum(len(s) for s in self.data.train) if self.data is not None else None
        return assess(row.get("val_mse"), pca_mse, mean_mse, self.config.latent_dim, self.history, n_frames,
                      val_kl=row.get("val_kl"), window=self.config.model_window,
                      window_pca_mse=self.window_pca_mse)

    def _summary(self, samples_per_s: float, seconds: float = 0.0, best: Optional[dict] = None) -> dict[str, Any]:
        last = self.history[-1] if self.history else {}
        cfg = self.config
        kept = best if (best is not None and cfg.restore_best) else last
        return {
            "variant": cfg.variant,
            "stateful": cfg.stateful,
            "window": cfg.model_window,
            "epochs": len(self.history),
            "steps": self.global_step,
            "train_loss": last.get("loss"),
            "val_loss": kept.get("val_loss"),
            "val_mse": kept.get("val_mse"),
            "val_kl": kept.get("val_kl"),
            "kept_epoch": kept.get("epoch"),     # 1-based, as history.jsonl and the console count
            "last_val_loss": last.get("val_loss"),
            "last_val_mse": last.get("val_mse"),
            "pca_mse": self.baselines[1] if self.baselines else None,
            "mean_frame_mse": self.baselines[0] if self.baselines else None,
            "window_pca_mse": self.window_pca_mse,   # window models: PCA with K per window (equal budget)
            "samples_per_s": samples_per_s,
            "seconds": seconds,
            "precision": self.precision,
            "effective_beta": self.model.beta if self.model is not None else None,
            # (lo, hi) of the loaded values stretched to 0..1 for training (cfg.intensity), or None
            "intensity_range": list(self.data.intensity) if self.data is not None and self.data.intensity else None,
            "device": self.device,
            "replicas": self.replicas,
            **self._layout_summary(),
            "out": str(cfg.out) if cfg.out else None,
        }


    def _layout_summary(self) -> dict[str, Any]:
        """`split` (the split used) and, for stateful runs, the layout of the training groups."""
        d = self.data
        plan = d.train_streams if d is not None else None
        return {
            "split": d.split if d is not None else None,
            "stateful_layout": plan.layout if plan is not None else None,   # "sequences" or "streams"
            "groups": len(plan.groups) if plan is not None else None,
            "dropped_frames": plan.dropped_frames if plan is not None else None,
            "left_out_sequences": plan.left_out if plan is not None else None,
        }


class _Diverged(Exception):
    def __init__(self, epoch: int, step: int):
        super().__init__(f"diverged at epoch {epoch}, step {step}")
        self.epoch, self.step = epoch, step


def _epochs(n: int) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{n} epoch{'' if n == 1 else 's'}"


def _adopt_model_spec(cfg: RunConfig, spec: dict[str, Any]) -> RunConfig:
    """`cfg` with the architecture a saved model was built with (variant, window, latent, ...)."""
    changes: dict[str, Any] = {}
    for name in ("variant", "latent_dim", "inner_dim", "loss", "dropout"):
        if spec.get(name) is not None:
            changes[name] = spec[name]
    if spec.get("filters"):
        changes["filters"] = tuple(int(f) for f in spec["filters"])
    variant = changes.get("variant", cfg.variant)
    stateful = bool(spec.get("stateful", False))
    changes["stateful"] = stateful
    if variant != "conv2d" and spec.get("window"):
        changes["window"] = int(spec["window"])
        window = changes["window"]
        changes["stride"] = window if stateful else min(cfg.stride, window)
    if stateful and spec.get("batch_size"):
        changes["batch_size"] = int(spec["batch_size"])
    return cfg.replace(**changes)


def timeline_stride(window: int) -> int:
    """Stride of the windows whose errors the validation timeline averages, for window models.

    A frame at a window's edge is reconstructed worse than one in its middle, so the errors of
    non-overlapping windows make a sawtooth with the window's period. The timeline instead
    gives each frame the mean error of the windows, `window // 4` frames apart, that hold it (a
    frame then sits at about 4 positions, spread over the window). Measured on the demo data
    (2 sequences of 2000 frames, 800 validation frames, 64x80, T=10, default model after 150
    steps, 2 CPU cores): non-overlapping windows took 0.6 s (conv3d) and 1.0 s (convlstm) per
    validation, with the mean error at a window's first and last frames 24% and 27% above the
    middle ones; stride T//4 took 2.6 s and 5.1 s, with that difference down to 0.7% and 1.1%;
    stride 1 took 5.0 s and 11.6 s for no further gain (0.6% and 1.1%). The loss, MSE and
    latents stay on the non-overlapping windows (each frame counted once).
    """
    return max(1, int(window) // 4)


def _timeline_index(seqs: list, index: Any, window: int, stride: int) -> tuple[Any, np.ndarray]:
    """Windows `stride` apart plus `index`'s, in order; and which rows are `index`'s."""
    from vaeviewer.data import windows as win

    dense = win.make_windows(seqs, window, stride)
    seq = np.concatenate([dense.sequence, index.sequence])
    start = np.concatenate([dense.start, index.start]).astype(np.int64)
    span = int(start.max(initial=0)) + 1
    keys = seq.astype(np.int64) * span + start
    unique, first = np.unique(keys, return_index=True)
    merged = win.WindowIndex(sequence=seq[first].astype(index.sequence.dtype), start=start[first])
    scored = np.isin(unique, index.sequence.astype(np.int64) * span + index.start.astype(np.int64))
    return merged, scored


class _TimelineAverage:
    """Per-frame error summed over every window that holds the frame, then averaged."""

    def __init__(self, lengths: list[int]):
        self.sums = [np.zeros(n, np.float64) for n in lengths]
        self.counts = [np.zeros(n, np.int64) for n in lengths]

    def add(self, sequences: np.ndarray, starts: np.ndarray, per_frame: np.ndarray) -> None:
        width = per_frame.shape[1]
        for s, a, e in zip(sequences.tolist(), starts.tolist(), per_frame):
            self.sums[s][a:a + width] += e
            self.counts[s][a:a + width] += 1

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sequence, frame, mean error) of every frame some window held, in order."""
        seqs, frames, errs = [], [], []
        for i, (total, count) in enumerate(zip(self.sums, self.counts)):
            held = np.flatnonzero(count)
            seqs.append(np.full(len(held), i, np.int64))
            frames.append(held.astype(np.int64))
            errs.append((total[held] / count[held]).astype(np.float32))
        return np.concatenate(seqs), np.concatenate(frames), np.concatenate(errs)


def _even_sample(n: int, limit: int) -> np.ndarray:
    """At most `limit` indices spread evenly over range(n)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
