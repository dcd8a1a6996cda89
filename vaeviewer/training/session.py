"""The training session: one plain object that loads data, builds the model, trains and reports.

The GUI runs `TrainingSession.run()` in a worker thread; the CLI runs it in the main thread. Both
execute exactly this code. The session talks to the outside only through its listener (events
from `vaeviewer.training.events`) and a few thread-safe controls: `pause`, `resume`, `stop`,
`request_snapshot`.

This module sets a run up (data, model, run directory) and holds the controls; the epoch loop is
`vaeviewer.training.training_loop`, the views and checkpoint load/save `vaeviewer.training.session_views`.
"""

from __future__ import annotations

import importlib.util
import queue
import threading
import time
from typing import Any, Callable, Optional

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.inspector import Inspector
from vaeviewer.training.prepare import PreparedData  # noqa: F401  (re-exported)
from vaeviewer.training.report import run_summary
from vaeviewer.training.run_facts import source_lengths
from vaeviewer.training.rundir import RunDirectory
from vaeviewer.training.session_views import SessionViews
from vaeviewer.training.training_loop import StopRun, TrainingLoop

Listener = Callable[[Any], None]


class TrainingSession(TrainingLoop, SessionViews):
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
        except StopRun:
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
            raise StopRun()

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
                "sequence_lengths": source_lengths(d)})

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

    # ---- persistence --------------------------------------------------------------------
    def _write_epoch(self, improved: bool) -> None:
        if self._rundir is None:
            return
        if self.config.tensorboard:
            self._rundir.write_tensorboard(self.history[-1])
        self._emit(ev.Message("saving checkpoint"))
        self._rundir.save_epoch(self.model, self.history, improved)

    def _summary(self, samples_per_s: float, seconds: float = 0.0, best: Optional[dict] = None) -> dict[str, Any]:
        return run_summary(self, samples_per_s, seconds, best)
