"""The main window: settings dock on the left; loss, latents, strips and error timeline in splitters.

The window owns a RunController (the training thread) and wires its signals to the widgets.
Snapshots are rendered at most every `SNAPSHOT_MS` (the newest wins; the newest one carrying
latents is kept apart so a later detail-only snapshot cannot drop it). A snapshot whose window
is not the one the strips ask for now (it answers an older request) keeps its latents and error
timeline but is not drawn in the strips: the scrubber's position belongs to the user. The
scrubbing keys (←/→, Page Up/Down, Space) work anywhere in the window but in fields that edit
text or numbers. All widget updates happen on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QGroupBox, QMainWindow, QMessageBox, QScrollArea, QSplitter, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.controls import ControlsPanel
from vaeviewer.gui.data_panel import DataPanel
from vaeviewer.gui.docks import panel_dock
from vaeviewer.gui.error_timeline import ErrorTimeline
from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.gui.frame_strips import FrameStrips
from vaeviewer.gui.latent_scatter import LatentScatter
from vaeviewer.gui.loss_plot import LossPlot
from vaeviewer.gui.menus import build_menus
from vaeviewer.gui.probe_dock import add_probe_dock
from vaeviewer.gui.run_controller import RunController, SessionFactory
from vaeviewer.gui.runs_panel import RunsPanel, VariantComparison, add_runs_dock
from vaeviewer.gui.scrub_keys import ScrubKeys
from vaeviewer.gui.status import RunStatusBar, opened_run_text
from vaeviewer.gui.training_threshold import TrainingThreshold
from vaeviewer.gui.window_close import CloseMixin
from vaeviewer.gui.window_files import FilesMixin
from vaeviewer.gui.window_settings import DATA_SETTINGS, SettingsMixin  # noqa: F401 - DATA_SETTINGS public here
from vaeviewer.training import events as ev

SNAPSHOT_MS = 300      # newest snapshot drawn at most ~3 times a second
STATUS_MS = 250


class MainWindow(FilesMixin, SettingsMixin, CloseMixin, QMainWindow):
    """One window: choose data and settings, train, and inspect what the model learned."""

    def __init__(self, config: Optional[RunConfig] = None, session_factory: Optional[SessionFactory] = None,
                 parent: QWidget | None = None, *, load_data: bool = True) -> None:
        """`load_data=False`: do not load the config's data now (`gui --run`: the run's data comes next)."""
        super().__init__(parent)
        self.setWindowTitle("vaeviewer")
        self.resize(1400, 900)
        self.config = config or RunConfig(demo=True)
        if not self.config.paths and not self.config.demo:
            self.config = self.config.replace(demo=True)
        self.controller = RunController(session_factory, parent=self)
        self.history: list[dict] = []
        self.last_error: Optional[str] = None
        self.show_dialogs = True
        self.confirm: Callable[[str], bool] = self._ask
        self._restart_config: Optional[RunConfig] = None
        self._closing = False
        self._run_title = "vaeviewer"
        self._model_saved = True          # no trained weights that only live in memory
        self._save_then_close: Optional[str] = None
        self._opened_run: Optional[str] = None   # the run directory shown read-only (File > Open run)
        self.ask_close: Callable[[], str] = self._ask_close
        self.ask_save_path: Callable[[], Optional[str]] = self._ask_checkpoint_path
        self._detail: Optional[ev.Snapshot] = None
        self._with_latents: Optional[ev.Snapshot] = None
        self._render_snapshot = qthrottled(self._render_snapshot_now, timeout=SNAPSHOT_MS)
        self._pending_batches: list = []
        self._update_status = qthrottled(self._update_status_now, timeout=STATUS_MS)

        # ---- widgets ----------------------------------------------------------------------
        self.data_panel = DataPanel()
        self.controls = ControlsPanel(self.config)
        self.loss_plot = LossPlot()
        self.scatter = LatentScatter()
        self.strips = FrameStrips()
        self.strips.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.timeline = ErrorTimeline()
        self.status = RunStatusBar()
        self.setStatusBar(self.status)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        for title, panel in (("Data", self.data_panel), ("Model and training", self.controls)):
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(panel)
            side_layout.addWidget(box)
        side_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.settings_dock = panel_dock("Settings", "settings", scroll)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.settings_dock)
        # As wide as the settings need (their buttons and boxes whole); only height scrolls.
        scroll.setMinimumWidth(side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(_titled("Loss", self.loss_plot))
        top.addWidget(_titled("Latent space", self.scatter))
        top.setSizes([600, 450])
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(top)
        centre.addWidget(_titled("Frames", self.strips))
        centre.addWidget(_titled("Error along the validation data", self.timeline))
        centre.setSizes([380, 330, 170])
        self.setCentralWidget(centre)
        # The runs of this session, and Compare variants… (gui/runs_panel.py).
        self.runs_panel = RunsPanel(self.controller, self.loss_plot)
        self.runs_dock = add_runs_dock(self, self.runs_panel, below=self.settings_dock)
        self.comparison = VariantComparison(self)
        build_menus(self)

        # ---- wiring -----------------------------------------------------------------------
        c = self.controller
        c.runStarted.connect(self._on_run_started)
        c.baselines.connect(self.loss_plot.set_baselines)
        c.batches.connect(self._on_batches)
        c.epochEnd.connect(self._on_epoch)
        c.firstLook.connect(self._on_first_look)
        c.snapshot.connect(self._on_snapshot)
        c.runFinished.connect(self._on_run_finished)
        c.message.connect(lambda text: self.status.showMessage(text, 5000))
        c.failed.connect(self.show_error)
        c.taskDone.connect(lambda text: self.status.showMessage(text, 5000))
        c.runningChanged.connect(self._on_running_changed)
        c.previousRestored.connect(self._on_previous_restored)
        c.checkpointLoaded.connect(self._on_checkpoint_loaded)
        c.epochEnd.connect(lambda _e: setattr(self, "_model_saved", bool(self.config.out)))
        c.taskDone.connect(self._on_task_done)
        c.failed.connect(self._on_failed_while_closing)
        c.pausedChanged.connect(lambda p: self.controls.set_running(c.running, p))
        self.controls.startClicked.connect(self.start_run)
        self.controls.pauseClicked.connect(self.toggle_pause)
        self.controls.stopClicked.connect(self.stop_run)
        self.controls.settingChanged.connect(self._on_setting_changed)
        self.data_panel.dataChosen.connect(self.set_data)
        self.data_panel.failed.connect(self._on_data_failed)
        self.data_panel.loaded.connect(self._on_data_loaded)
        self.strips.windowRequested.connect(c.request_window)
        self.scatter.windowSelected.connect(lambda split, seq, start: self.strips.select(split, seq, start))
        self.timeline.frameClicked.connect(self._on_timeline_click)
        if load_data:
            self.data_panel.load(self.config)
        self.frame_names = FrameNames()
        # Sliders over the latents, decode-anywhere, interpolation, selection exports (gui/probe_dock.py).
        self.probe_panel, self.probe_dock = add_probe_dock(self)
        # The timeline's default threshold from the training frames once the weights are final.
        self.training_threshold = TrainingThreshold(self)
        self.scrub_keys = ScrubKeys(self)
        self.scrub_keys.install()

    # ---- run control ----------------------------------------------------------------------
    def current_config(self) -> RunConfig:
        """The config a Start would use: the panel's settings over the data/hidden settings."""
        return self.controls.config(self.config)

    def start_run(self) -> bool:
        """Validate the settings and start training; False (and a dialog) if they are wrong."""
        if self.controller.running:
            return False
        try:
            cfg = self._fit_to_data(self.current_config().validate())
        except VaeViewerError as exc:
            self.show_error(str(exc))
            return False
        self.config = cfg
        self.controller.start(cfg, self.data_panel.sequences_for(cfg))
        self.controls.set_running(True)
        self.status.showMessage("starting…")
        return True

    def stop_run(self) -> None:
        self._restart_config = None
        if self.controller.running:
            self.status.showMessage("stopping after this batch…")
            self.controller.stop()

    def toggle_pause(self) -> None:
        if not self.controller.running:
            return
        if self.controller.paused:
            self.controller.resume()
            self.status.showMessage("resumed", 3000)
        else:
            self.controller.pause()
            self.status.showMessage("paused")

    def restart_with(self, config: RunConfig) -> None:
        """Stop the current run and start `config` as soon as it has ended."""
        try:
            config.validate()
        except VaeViewerError as exc:
            self.show_error(str(exc))
            return
        self._restart_config = config
        self.status.showMessage("restarting with the new setting…")
        self.controller.stop()

    def set_data(self, paths: list, demo: bool) -> None:
        self.config = self.config.replace(paths=list(paths), demo=bool(demo or not paths))
        self.data_panel.load(self.config)
        if self.controller.running:
            self.status.showMessage("the new data is used from the next Start", 8000)

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.question(self, "Restart the run?", text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def show_error(self, text: str) -> None:
        """A user-facing error: in the status bar, and in a (non-blocking) dialog."""
        self.last_error = text
        self.status.showMessage(text, 15000)
        if self.show_dialogs:
            box = QMessageBox(QMessageBox.Icon.Warning, "vaeviewer", text, QMessageBox.StandardButton.Ok, self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    # ---- events from the training thread (queued to here) --------------------------------
    def _on_run_started(self, started: ev.RunStarted) -> None:
        self.history = []
        self._detail = self._with_latents = None
        self._model_saved = False
        window = int(started.config.get("window", 1))
        self.loss_plot.begin_run(started)
        self.status.run_started(started)
        if self._showing_opened_run():
            self.status.describe_model("opening run…")   # a run's record, not a training run's progress
        self._use_data_contrast(started.intensity)
        self.strips.set_lengths(started.train_lengths, started.valid_lengths, window,
                                stateful=bool(started.config.get("stateful")))
        self.frame_names = FrameNames.from_started(started)
        for view in (self.strips, self.scatter, self.timeline):
            view.set_frame_names(self.frame_names)
        # A latent point stands for one model input: a window, or one frame for conv2d.
        self.scatter.set_window(window if started.config.get("variant") != "conv2d" else 1)
        self.scatter.clear()
        self.timeline.clear()
        variant = started.config.get("variant", "")
        mode = " stateful" if started.config.get("stateful") else ""
        frames = "frames shown" if variant == "conv2d" else "window"
        self._run_title = f"vaeviewer: {variant}{mode}, {frames} {window}, {started.n_sequences} sequence(s)"
        self.setWindowTitle(self._run_title)

    def _use_data_contrast(self, intensity) -> None:
        """The strips' contrast from the loaded data, mapped as training stretched it (intensity)."""
        from vaeviewer.training.runs import RunViewer

        viewer = self.controller.session
        if isinstance(viewer, RunViewer):
            # An opened run shows its own data (or the data it is applied to), not the panel's.
            if viewer.applied_to_other_data:
                shown = ", ".join(Path(p).name for p in viewer.config.paths) or "other data"
                note = (f"the opened run {viewer.path.name} is shown applied to {shown}; the data above is the "
                        "run's own, what Start trains on")
            else:
                note = f"the opened run {viewer.path.name} is shown on this data (its own); Start trains on it too"
            self.data_panel.set_run_note(note)
            self.strips.set_data_contrast(limits=None)
            return
        limits = self.data_panel.contrast
        if limits is not None and intensity:
            lo, hi = intensity
            limits = tuple((v - lo) / (hi - lo) for v in limits)
        self.data_panel.set_run_note(
            f"training stretches values {intensity[0]:.3g} … {intensity[1]:.3g} to 0 … 1 (intensity auto); "
            "the frame strips show the stretched values" if intensity else "")
        self.strips.set_data_contrast(limits=limits)

    def _on_data_loaded(self) -> None:
        """The panel's data is loaded: the strips take its contrast, unless an opened run is shown
        (its strips show the run's stretched values, measured by the strips themselves)."""
        if not self._showing_opened_run():
            self.strips.set_data_contrast(limits=self.data_panel.contrast)

    def _on_previous_restored(self, config: RunConfig) -> None:
        """A new run failed before training: the model shown is still the previous one; say so."""
        if self._restart_config is not None:
            return   # a restart the user confirmed follows (runningChanged starts it)
        if config is not None:
            self.config = config
            self.controls.set_config(config)
        self.setWindowTitle(self._run_title)
        self.status.showMessage("the new run did not start; the previous model is still loaded (inspect it or "
                                "save a checkpoint)", 15000)

    def _on_batches(self, batches: list) -> None:
        self.loss_plot.add_batches(batches)
        self._pending_batches.extend(batches)
        self._update_status()

    def _update_status_now(self) -> None:
        batches, self._pending_batches = self._pending_batches, []
        self.status.batches(batches)

    def _on_epoch(self, epoch: ev.EpochEnd) -> None:
        self.loss_plot.add_epoch(epoch)
        row = {"epoch": epoch.epoch + 1, **epoch.train, **{f"val_{k}": v for k, v in (epoch.valid or {}).items()}}
        self.history.append(row)

    def _on_first_look(self, look: ev.FirstLook) -> None:
        """A verdict before the first epoch ends (config.first_look_s); the epoch's own replaces it."""
        if look.verdict is not None:
            self.loss_plot.set_verdict(look.verdict.kind, look.verdict.text, look.verdict.overfitting,
                                       where=f"first look, {look.fraction:.0%} of epoch {look.epoch + 1}: ")
        self.status.showMessage(f"first look at {look.seconds:.0f} s: validation MSE {look.valid['mse']:.5f}", 10000)

    def _on_snapshot(self, snap: ev.Snapshot) -> None:
        if self.strips.answers_request(snap):
            self._detail = snap     # else a late answer to an older request: never drawn
        if snap.latents is not None or snap.timeline_error is not None:
            self._with_latents = snap
        self._render_snapshot()

    def _render_snapshot_now(self) -> None:
        full, self._with_latents = self._with_latents, None
        if full is not None:
            self.scatter.set_snapshot(full)
            self.timeline.set_snapshot(full)
        snap = self._detail
        if snap is None:
            return
        self.strips.show_snapshot(snap)
        self.scatter.set_current(snap.split, snap.sequence, snap.start)
        self.timeline.show_window(snap.split, snap.sequence, snap.start, len(snap.inputs))

    def _on_run_finished(self, finished: ev.RunFinished) -> None:
        # Draw what the throttles still hold back, so the final state shows at once.
        self._update_status_now()
        self.loss_plot._redraw_now()
        summary = finished.summary or {}
        if summary.get("verdict"):
            kept = summary.get("kept_epoch")
            # kept_epoch counts from 1 (as the console and history.jsonl); set_verdict takes the 0-based index
            self.loss_plot.set_verdict(summary["verdict"], summary.get("verdict_text", ""),
                                       bool(summary.get("overfitting")), kept - 1 if isinstance(kept, int) else None)
        self.status.run_finished(finished)
        if summary.get("opened"):
            self._model_saved = True   # the run's best.keras: nothing to lose on closing
            self.config = self.controller.config or self.config
            applied = " applied to other data" if getattr(self.controller.session, "applied_to_other_data", False) \
                else ""
            self._run_title = f"vaeviewer: run {Path(summary['opened']).name} ({self._run_title.split(': ', 1)[-1]}, " \
                              f"opened{applied})"
            self.setWindowTitle(self._run_title)
            kept = summary.get("kept_epoch")
            if not isinstance(kept, int):   # no verdict: the best epoch by validation loss
                rows = [r for r in self.history if isinstance(r.get("val_loss"), (int, float))]
                kept = min(rows, key=lambda r: r["val_loss"])["epoch"] if rows else None
            epochs = int(summary.get("epochs") or len(self.history))
            self.status.describe_model(opened_run_text(epochs, kept),
                                       f"{finished.message} (the run is shown read-only; nothing trains)")

    def _showing_opened_run(self) -> bool:
        """True when the session is a finished run opened read-only (File > Open run, gui --run)."""
        from vaeviewer.training.runs import RunViewer

        return isinstance(self.controller.session, RunViewer)

    def _on_running_changed(self, running: bool) -> None:
        self.controls.set_running(running, self.controller.paused)
        if running:
            return
        if self._closing:
            self.close()
            return
        if self._restart_config is not None:
            cfg, self._restart_config = self._restart_config, None
            self.config = cfg
            self.controls.set_config(cfg)
            self.controller.start(cfg, self.data_panel.sequences_for(cfg))
            self.controls.set_running(True)

    def _on_timeline_click(self, split: str, sequence: int, frame: int) -> None:
        # Centre the clicked frame in the window shown; stateful, the whole window holding it.
        t = self.strips.window
        self.strips.select(split, sequence, frame - frame % t if self.strips.stateful else max(0, frame - t // 2))

def _titled(title: str, widget: QWidget) -> QWidget:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(widget)
    return box
