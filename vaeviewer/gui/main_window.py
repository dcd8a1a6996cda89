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

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QAction, QCloseEvent, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QDockWidget,
    QFileDialog, QGroupBox, QLineEdit, QMainWindow, QMenu, QMenuBar, QMessageBox, QPlainTextEdit, QScrollArea,
    QSplitter, QTextEdit, QVBoxLayout, QWidget,
)
from superqt.utils import qthrottled

from vaeviewer.atomic import atomic_write_text
from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui import exports
from vaeviewer.gui.controls import RESTART_SETTINGS, ControlsPanel
from vaeviewer.gui.data_panel import DataPanel
from vaeviewer.gui.error_timeline import ErrorTimeline
from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.gui.frame_strips import FrameStrips
from vaeviewer.gui.latent_scatter import LatentScatter
from vaeviewer.gui.loss_plot import LossPlot
from vaeviewer.gui.probe_panel import add_probe_dock
from vaeviewer.gui.run_controller import RunController, SessionFactory
from vaeviewer.gui.runs_panel import RunsPanel, VariantComparison, add_runs_dock
from vaeviewer.gui.status import RunStatusBar
from vaeviewer.training import events as ev
from vaeviewer.training.prepare import check_fits, largest_stateful_batch

# The settings that name the data (DataPanel.data_key): restored after a failed load.
DATA_SETTINGS = ("paths", "demo", "frame_size", "demo_sequences", "demo_frames")

# Settings shown in spin boxes, whose ranges and decimals may round a loaded value.
ADJUSTABLE_SETTINGS = ("latent_dim", "beta", "batch_size", "learning_rate", "epochs")

SNAPSHOT_MS = 300      # newest snapshot drawn at most ~3 times a second
STATUS_MS = 250

SCRUB_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Space)
# Widgets whose arrow keys edit or choose a value: they keep their keys.
EDITORS = (QLineEdit, QAbstractSpinBox, QComboBox, QTextEdit, QPlainTextEdit, QAbstractItemView, QAbstractSlider,
           QMenuBar, QMenu)


class MainWindow(QMainWindow):
    """One window: choose data and settings, train, and inspect what the model learned."""

    def __init__(self, config: Optional[RunConfig] = None, session_factory: Optional[SessionFactory] = None,
                 parent: QWidget | None = None) -> None:
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
        self.settings_dock = QDockWidget("Settings")
        self.settings_dock.setObjectName("settings")
        self.settings_dock.setWidget(scroll)
        self.settings_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                       | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                                       | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.settings_dock)
        self.settings_dock.setMinimumWidth(300)

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
        self._build_menus()

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
        self.data_panel.loaded.connect(lambda: self.strips.set_data_contrast(limits=self.data_panel.contrast))
        self.strips.windowRequested.connect(c.request_window)
        self.scatter.windowSelected.connect(lambda split, seq, start: self.strips.select(split, seq, start))
        self.timeline.frameClicked.connect(self._on_timeline_click)
        self.data_panel.load(self.config)
        self.frame_names = FrameNames()
        # Sliders over the latents, decode-anywhere, interpolation, selection exports (gui/probe_panel.py).
        self.probe_panel, self.probe_dock = add_probe_dock(self)
        self._install_scrub_keys()

    # ---- scrubbing keys -----------------------------------------------------------------
    def _install_scrub_keys(self) -> None:
        """Send ←/→, Page Up/Down and Space to the strips from anywhere in the window.

        Plots take the focus when clicked and a QGraphicsView scrolls on arrow keys, so keys
        are caught before the focused widget sees them (an event filter on each widget that can
        take the focus); fields that edit text or numbers keep their keys.
        """
        self.installEventFilter(self)
        for widget in self.findChildren(QWidget):
            if widget.focusPolicy() != Qt.FocusPolicy.NoFocus:
                widget.installEventFilter(self)

    def _inside(self, obj) -> bool:
        # QWidget.window() is shadowed on some widgets (FrameStrips.window is the window length).
        return isinstance(obj, QWidget) and (obj is self or self.isAncestorOf(obj))

    def _keeps_keys(self, widget: Optional[QWidget], key) -> bool:
        if widget is None:
            return False
        if isinstance(widget, QAbstractSlider) and self.strips.slider.isAncestorOf(widget):
            return False    # the frame slider itself: scrub (by whole windows when stateful)
        if key == Qt.Key.Key_Space and isinstance(widget, QAbstractButton):
            return True     # Space presses a focused button
        return isinstance(widget, EDITORS)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.KeyPress or not self._inside(obj):
            return False
        key = event.key()
        if key not in SCRUB_KEYS or event.modifiers() not in (Qt.KeyboardModifier.NoModifier,
                                                               Qt.KeyboardModifier.KeypadModifier):
            return False
        focus = QApplication.focusWidget()
        if self._keeps_keys(obj, key) or (self._inside(focus) and self._keeps_keys(focus, key)):
            return False
        return self.strips.scrub_key(key)

    # ---- menus --------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &files…", self.data_panel._pick_files, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open f&older…", self.data_panel._pick_folder)
        self._action(file_menu, "Use &demo data", lambda: self.set_data([], True))
        file_menu.addSeparator()
        self._action(file_menu, "&Load settings…", lambda: self._ask_path(self.load_settings, "Load settings", "Settings (*.json)", save=False))
        self._action(file_menu, "&Save settings…", lambda: self._ask_path(self.save_settings, "Save settings", "Settings (*.json)", ".json"))
        file_menu.addSeparator()
        self._action(file_menu, "Save &checkpoint…", lambda: self._ask_path(self.save_checkpoint, "Save checkpoint", "Keras model (*.keras)", ".keras"), QKeySequence.StandardKey.Save)
        self._action(file_menu, "Load checkpoint…", lambda: self._ask_path(self.load_checkpoint, "Load checkpoint", "Keras model (*.keras)", save=False))
        self._action(file_menu, "Open &run…", self._pick_run)
        self._action(file_menu, "&Apply run to data…", self._pick_apply_data)
        file_menu.addSeparator()
        self._action(file_menu, "Export strips as &PNG…", lambda: self._ask_path(self.export_strips_png, "Export strips", "PNG image (*.png)", ".png"))
        self._action(file_menu, "Export latents as CSV…", lambda: self._ask_path(self.export_latents_csv, "Export latents", "CSV (*.csv)", ".csv"))
        self._action(file_menu, "Export loss &history as CSV…", lambda: self._ask_path(self.export_history_csv, "Export loss history", "CSV (*.csv)", ".csv"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        run_menu = bar.addMenu("&Run")
        self._action(run_menu, "&Start", self.start_run, QKeySequence("F5"))
        self._action(run_menu, "&Pause / resume", self.toggle_pause, QKeySequence("F6"))
        self._action(run_menu, "S&top", self.stop_run, QKeySequence("Shift+F5"))
        run_menu.addSeparator()
        self._action(run_menu, "&Compare variants…", lambda: self.comparison.ask_and_start())
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.settings_dock.toggleViewAction())
        view_menu.addAction(self.runs_dock.toggleViewAction())

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _ask_path(self, handler: Callable[[str], None], title: str, filt: str, suffix: str = "", save: bool = True) -> None:
        if save:
            path, _ = QFileDialog.getSaveFileName(self, title, "", filt)
            if path and suffix and not path.endswith(suffix):
                path += suffix
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, "", filt)
        if path:
            handler(path)

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

    def _on_data_failed(self, text: str) -> None:
        """The chosen data did not load: go back to the data still loaded (if any), then say why.

        Without this, `self.config` would keep naming the bad file and the next Start would
        retry it instead of training on the data the panel still holds.
        """
        loaded = self.data_panel.loaded_config
        if loaded is not None:
            self.config = self.config.replace(**{k: getattr(loaded, k) for k in DATA_SETTINGS})
        if text.startswith("loading cancelled"):
            self.status.showMessage(text, 10000)   # the user asked for it: the panel says so, no dialog
            return
        self.show_error(text)

    def _fit_to_data(self, cfg: RunConfig) -> RunConfig:
        """`cfg` checked against the loaded data; a stateful batch too large for it is lowered.

        Stateful training cuts every training sequence into one stream per batch row, so the
        default batch of 64 does not fit a short clip: the largest batch that fits is taken and
        the status bar says so. Data still loading (or not loaded) is checked by the run itself.

        Raises:
            VaeViewerError: the settings cannot train on the loaded data.
        """
        sequences = self.data_panel.sequences_for(cfg)
        if sequences is None:
            return cfg
        try:
            check_fits(cfg, sequences)
            return cfg
        except VaeViewerError:
            if not cfg.stateful:
                raise
            best = largest_stateful_batch(cfg, sequences)
            if not 1 <= best < cfg.batch_size:
                raise
            fitted = cfg.replace(batch_size=best)
            check_fits(fitted, sequences)
        self._batch_before_fit = cfg.batch_size   # given back when stateful is turned off
        self.controls.set_config(fitted)
        self.status.showMessage(f"batch size set to {best}: the largest that fits stateful training on this data "
                                f"(each batch row is a whole sequence, or a stream of whole {cfg.model_window}-frame windows)", 15000)
        return fitted

    def _on_setting_changed(self, name: str) -> None:
        if self._closing:
            return
        if not self.controller.running:
            before = getattr(self, "_batch_before_fit", None)
            if name == "batch_size":
                self._batch_before_fit = None   # the user's own choice now
            elif before is not None and not self.current_config().stateful:
                self._batch_before_fit = None
                self.controls.set_config(self.current_config().replace(batch_size=before))
                self.status.showMessage(f"batch size back to {before} (stateful off)", 8000)
                return
            if name in ("stateful", "window", "batch_size", "variant"):
                try:  # say at once when the data cannot hold the new setting (and fit the batch)
                    self._fit_to_data(self.current_config())
                except VaeViewerError:
                    pass  # Start shows the problem in a dialog
            return
        running = self.controller.config
        wanted = self.current_config()
        if name in RESTART_SETTINGS and running is not None:
            old = (running.variant, running.window, running.stride, running.stateful)
            new = (wanted.variant, wanted.window, wanted.stride, wanted.stateful)
            if old == new:
                return
            # Check against the loaded data *before* stopping anything: a refused setting must
            # never cost the running model.
            try:
                wanted = self._fit_to_data(wanted.validate())
            except VaeViewerError as exc:
                self.controls.set_config(running)
                self.controls.set_running(True, self.controller.paused)
                self.show_error(f"{exc}\n\nThe running model was left as it is and keeps training.")
                return
            text = (f"Changing {name} changes what the model sees, so the running model cannot adopt it.\n\n"
                    "Stop this run and start a new one with the new setting? "
                    "The current curves stay, faded, for comparison.")
            if self.confirm(text):
                self.restart_with(wanted)
            else:
                self.controls.set_config(running)
                self.controls.set_running(True, self.controller.paused)
        else:
            self.status.showMessage(f"{name}: applies from the next Start (the running model keeps its setting)", 8000)

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
            data = "the data it is applied to" if viewer.applied_to_other_data else "its own data"
            self.data_panel.set_run_note(f"showing the opened run {viewer.path.name} on {data}; the panel's data "
                                         "is what Start trains on")
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

    # ---- files --------------------------------------------------------------------------
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

    def _on_task_done(self, text: str) -> None:
        if text.startswith("checkpoint saved"):
            self._model_saved = True
            if self._save_then_close is not None:
                self._save_then_close = None
                self.close()

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
        self.controls.set_config(self.config)
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

    # ---- closing --------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Ask before trained weights that exist only in memory are lost; stop a run, then close.

        Save: the run stops, the model is saved where the user says, then the window closes (a
        failed save keeps the window open). The training thread is never killed.
        """
        if not self._closing:
            if self._save_then_close is not None:   # a save on the way out is still running
                event.ignore()
                return
            if self._has_unsaved_model():
                choice = self.ask_close()
                if choice == "cancel":
                    event.ignore()
                    return
                if choice == "save":
                    path = self.ask_save_path()
                    if not path:
                        event.ignore()
                        return
                    self._save_then_close = path
            self._closing = True
        if self.controller.running:
            self._restart_config = None
            self.status.showMessage("stopping the run before closing…")
            self.controller.stop()
            event.ignore()
            return
        if self._save_then_close is not None:
            self.status.showMessage(f"saving the model to {self._save_then_close} before closing…")
            self._closing = False   # the save's outcome decides (see _on_task_done)
            self.controller.save_checkpoint(self._save_then_close)
            event.ignore()
            return
        event.accept()

    def _has_unsaved_model(self) -> bool:
        session = self.controller.session
        if session is None or session.model is None:
            return False
        if self.controller.running:
            return True   # the epoch under way is only in memory, whatever --out says
        return not self._model_saved

    def _on_failed_while_closing(self, text: str) -> None:
        if self._save_then_close is not None:
            self._save_then_close = None   # keep the window: nothing is lost
            self._closing = False

    def _ask_close(self) -> str:
        if not self.show_dialogs:   # scripted use (tests, --quit-after): nobody to ask
            return "discard"
        box = QMessageBox(QMessageBox.Icon.Question, "Close vaeviewer",
                          "The trained model is only in memory. Save a checkpoint before closing?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
            QMessageBox.StandardButton(answer), "cancel")

    def _ask_checkpoint_path(self) -> Optional[str]:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", "", "Keras model (*.keras)")
        if path and not path.endswith(".keras"):
            path += ".keras"
        return path or None


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(widget)
    return box
