"""The main window's menu bar: File (data, settings, checkpoints, runs, exports), Run and View."""

from __future__ import annotations

from typing import Any, Callable

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QFileDialog, QWidget


def build_menus(w: Any) -> None:
    """Fill `w.menuBar()`; the handlers are the window's (and its Probe panel's, looked up when used)."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    add_action(w, file_menu, "Open &files…", w.data_panel._pick_files, QKeySequence.StandardKey.Open)
    add_action(w, file_menu, "Open f&older…", w.data_panel._pick_folder)
    add_action(w, file_menu, "Use &demo data", lambda: w.set_data([], True))
    file_menu.addSeparator()
    add_action(w, file_menu, "&Load settings…",
               lambda: ask_path(w, w.load_settings, "Load settings", "Settings (*.json)", save=False))
    add_action(w, file_menu, "&Save settings…",
               lambda: ask_path(w, w.save_settings, "Save settings", "Settings (*.json)", ".json"))
    file_menu.addSeparator()
    add_action(w, file_menu, "Save &checkpoint…",
               lambda: ask_path(w, w.save_checkpoint, "Save checkpoint", "Keras model (*.keras)", ".keras"),
               QKeySequence.StandardKey.Save)
    add_action(w, file_menu, "Load checkpoint…",
               lambda: ask_path(w, w.load_checkpoint, "Load checkpoint", "Keras model (*.keras)", save=False))
    add_action(w, file_menu, "Open &run…", w._pick_run)
    add_action(w, file_menu, "&Apply run to data…", w._pick_apply_data)
    file_menu.addSeparator()
    add_action(w, file_menu, "Export strips as &PNG…",
               lambda: ask_path(w, w.export_strips_png, "Export strips", "PNG image (*.png)", ".png"))
    add_action(w, file_menu, "Export latents as CSV…",
               lambda: ask_path(w, w.export_latents_csv, "Export latents", "CSV (*.csv)", ".csv"))
    add_action(w, file_menu, "Export loss &history as CSV…",
               lambda: ask_path(w, w.export_history_csv, "Export loss history", "CSV (*.csv)", ".csv"))
    selection = file_menu.addMenu("Export the scatter's se&lection")
    add_action(w, selection, "Frame indices as CSV…", lambda: w.probe_panel.export_selection_csv())
    add_action(w, selection, "Frames as PNG (input over reconstruction)…", lambda: w.probe_panel.export_selection_png())
    add_action(w, selection, "Frames as video (mp4 or gif)…", lambda: w.probe_panel.export_selection_video())
    file_menu.addSeparator()
    add_action(w, file_menu, "&Quit", w.close, QKeySequence.StandardKey.Quit)
    run_menu = bar.addMenu("&Run")
    add_action(w, run_menu, "&Start", w.start_run, QKeySequence("F5"))
    add_action(w, run_menu, "&Pause / resume", w.toggle_pause, QKeySequence("F6"))
    add_action(w, run_menu, "S&top", w.stop_run, QKeySequence("Shift+F5"))
    run_menu.addSeparator()
    add_action(w, run_menu, "&Compare variants…", lambda: w.comparison.ask_and_start())
    view_menu = bar.addMenu("&View")
    view_menu.addAction(w.settings_dock.toggleViewAction())
    view_menu.addAction(w.runs_dock.toggleViewAction())


def add_action(parent: QWidget, menu, text: str, slot: Callable[[], Any], shortcut=None) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action


def ask_path(parent: QWidget, handler: Callable[[str], None], title: str, filt: str, suffix: str = "",
             save: bool = True) -> None:
    """A file dialog; `handler(path)` when the user chose one (`suffix` added to a saved name without it)."""
    if save:
        path, _ = QFileDialog.getSaveFileName(parent, title, "", filt)
        if path and suffix and not path.endswith(suffix):
            path += suffix
    else:
        path, _ = QFileDialog.getOpenFileName(parent, title, "", filt)
    if path:
        handler(path)
