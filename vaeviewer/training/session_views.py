"""A training session's views and checkpoints: snapshots through its Inspector, saving and loading models.

`SessionViews` is a part of `TrainingSession` (its base class); the app calls these between
and after runs, the trainer's loop asks for the epoch's views through them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from vaeviewer.config import adopt_model_spec
from vaeviewer.errors import VaeViewerError
from vaeviewer.training import events as ev
from vaeviewer.training.inspector import Inspector


class SessionViews:
    """Views and checkpoints of a TrainingSession (see the module docstring)."""

    # ---- views (through the Inspector) ---------------------------------------------------
    def _synced_inspector(self) -> Inspector:
        """The Inspector, told which weights the model holds now and whether training runs."""
        self.inspector.live = self.running
        self.inspector.step = self.global_step
        return self.inspector

    def _detail_snapshot(self, split: str, sequence: int, start: int) -> ev.Snapshot:
        return self._synced_inspector().window(split, sequence, start)

    def _validate(self, dense_timeline: bool = True) -> tuple[dict[str, float], Optional[ev.Snapshot]]:
        return self._synced_inspector().validate(self._check_stop if self.running else None, dense_timeline)

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
