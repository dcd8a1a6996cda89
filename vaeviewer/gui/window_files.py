"""The main window's files: settings, checkpoints, finished runs opened read-only, and exports.

`FilesMixin` gives MainWindow these handlers (the menus and tests call them by these names); every
user mistake (a bad file, nothing to export yet) ends in `show_error`, never in a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PyQt6.QtWidgets import QFileDialog, QMessageBox

from vaeviewer.atomic import atomic_write_text
from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui import exports

# Settings shown in spin boxes, whose ranges and decimals may round a loaded value.
ADJUSTABLE_SETTINGS = ("latent_dim", "beta", "batch_size", "learning_rate", "epochs")


class FilesMixin:
    """Settings, checkpoint, run and export handlers of MainWindow."""

    def save_settings(self, path: str) -> None:
        try:
            atomic_write_text(path, self.current_config().to_json())
        except OSError as exc:
            self.show_error(f"{path}: cannot write the settings ({exc.strerror or exc})")
            return
        self.status.showMessage(f"settings saved to {path}", 5000)

    def load_settings(self, path: str) -> None:
        # Validate before anything is applied: a refused file leaves every setting as it was
        # (and a wrongly typed value never reaches the widgets, where it would raise in a slot).
        try:
            cfg = RunConfig.load(path).validate()
        except VaeViewerError as exc:
            self.show_error(str(exc))
            return
        self.config = cfg
        self.controls.set_config(cfg)
        self.data_panel.load(cfg)
        # The spin boxes round or clamp some values (e.g. learning_rate below 1e-6): say so, as
        # the next Start uses what the controls show.
        shown = self.current_config()
        adjusted = [f"{name} {getattr(cfg, name)!r} → {getattr(shown, name)!r}" for name in ADJUSTABLE_SETTINGS
                    if getattr(cfg, name) != getattr(shown, name)]
        note = f"; adjusted to the controls: {', '.join(adjusted)}" if adjusted else ""
        running = " (apply at the next Start)" if self.controller.running else ""
        self.status.showMessage(f"settings loaded from {path}{running}{note}", 15000 if adjusted else 5000)

    def save_checkpoint(self, path: str) -> None:
        self.controller.save_checkpoint(path)

    def load_checkpoint(self, path: str) -> None:
        cfg = self.current_config()
        self.controller.load_checkpoint(path, cfg, self.data_panel.sequences_for(cfg))

    # ---- a finished run, opened read-only -------------------------------------------------
    def _pick_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a run directory (train --out)")
        if path:
            self.open_run(path)

    def _pick_apply_data(self) -> None:
        if self._opened_run is None:
            self.show_error("open a run first (File > Open run…): its model is applied to the data you choose")
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Apply the run to data", "")
        if paths:
            self.open_run(self._opened_run, other_paths=paths)

    def ask_data_paths(self, missing: list) -> Optional[list]:
        """The run's data moved: where is it now? (a file dialog; tests replace this)."""
        QMessageBox.information(self, "vaeviewer", "The run's data is not where it was:\n" + "\n".join(missing)
                                + "\n\nChoose the same data where it is now.")
        paths, _ = QFileDialog.getOpenFileNames(self, "Where is the run's data now?", "")
        return paths or None

    def open_run(self, path: str, other_paths: Optional[list] = None) -> bool:
        """Show a finished run (its best.keras over its data, or over `other_paths`) without training.

        Nothing is written into the run directory. False (and a dialog) when it cannot open.
        """
        from vaeviewer.training.rundir import RunDirectory
        from vaeviewer.training.runs import RunViewer

        if self.controller.running:
            self.show_error("stop the run before opening another")
            return False
        try:
            cfg = RunDirectory(path).read_config()
            if not RunDirectory(path).best_model.is_file():
                raise VaeViewerError(f"{path}: no best.keras (the run saved no checkpoint)")
        except VaeViewerError as exc:
            self.show_error(str(exc))
            return False
        data_paths = None
        missing = [p for p in cfg.paths if not Path(p).exists()] if not cfg.demo else []
        if missing and not other_paths:
            data_paths = self.ask_data_paths(missing)
            if not data_paths:
                return False
        self._opened_run = str(path)
        self.config = cfg.replace(out=None)
        if data_paths:   # the run's data, where it is now
            self.config = self.config.replace(paths=[str(Path(p).resolve()) for p in data_paths], demo=False)
        self.controls.set_config(self.config)
        # The Data panel holds the run's own data (what Start would train on now), never other data.
        if self.config.demo or all(Path(p).exists() for p in self.config.paths):
            self.data_panel.load(self.config)
        self.controller.start(self.config, None, factory=lambda c, listener, s: RunViewer(
            path, listener, data_paths=data_paths, other_paths=other_paths))
        self.status.showMessage(f"opening {path}…")
        return True

    def _on_checkpoint_loaded(self, path: str) -> None:
        """The views now show a loaded model: its settings in the controls, no curves of another run."""
        cfg = self.controller.config
        if cfg is not None:
            self.config = cfg
            self.controls.set_config(cfg)
        # The session sent a RunStarted for the loaded model first: views laid out, curves cleared.
        self.history = []
        self._model_saved = True   # it is on disk already
        name = Path(path).name
        variant = cfg.variant if cfg is not None else "model"
        self._run_title = f"vaeviewer: {name} ({variant}{' stateful' if cfg and cfg.stateful else ''}, loaded)"
        self.setWindowTitle(self._run_title)
        # A loaded model has no training progress to show: say what it is instead of "epoch 1/N".
        self.status.describe_model(f"loaded checkpoint {name}", f"{path}: loaded for inspection, not trained here")

    def export_strips_png(self, path: str) -> None:
        if self.strips.snapshot is None:
            self.show_error("nothing to export yet: the strips fill once training has started")
            return
        try:
            exports.export_png(self.strips.graphics.scene(), path, width=max(1200, self.strips.graphics.width()))
        except VaeViewerError as exc:
            self.show_error(str(exc))
            return
        self.status.showMessage(f"strips saved to {path}", 5000)

    def export_latents_csv(self, path: str) -> None:
        s = self.scatter
        if s.latents is None:
            self.show_error("no latents yet: they appear after the first epoch")
            return
        try:
            n = exports.write_latents_csv(path, s.split, s.sequence_of, s.frame_of, s.latents, names=self.frame_names)
        except VaeViewerError as exc:
            self.show_error(str(exc))
            return
        self.status.showMessage(f"{n} latent rows saved to {path}", 5000)

    def export_history_csv(self, path: str) -> None:
        rows = self.controller.history() or self.history
        try:
            n = exports.write_history_csv(path, rows)
        except VaeViewerError as exc:
            self.show_error(str(exc))
            return
        self.status.showMessage(f"{n} epoch rows saved to {path}", 5000)
