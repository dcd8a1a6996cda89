"""The Probe panel in a dock of the main window, wired to the window's scatter, timeline and run."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget, QMainWindow

from vaeviewer.gui.docks import panel_dock
from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.gui.probe_panel import ProbePanel


def add_probe_dock(window: QMainWindow) -> tuple[ProbePanel, QDockWidget]:
    """Put a Probe panel in a dock right of the views and wire it to the window's widgets.

    The panel reads `window.controller.session.inspector`; it follows the window the strips show
    (each snapshot), the scatter's clicks, shift-clicks and box or lasso selection, and the timeline's
    shift-clicks. The selection is also shaded in the error timeline.
    """
    c, scatter, timeline = window.controller, window.scatter, window.timeline
    panel = ProbePanel(lambda: getattr(c.session, "inspector", None), busy=lambda: c.running)
    dock = panel_dock("Probe", "probe", panel)
    dock.setMinimumWidth(260)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resizeDocks([dock], [280], Qt.Orientation.Horizontal)   # the width left goes to the views

    def on_snapshot(snap: Any) -> None:
        panel.refresh()
        if snap.kl_per_dim is not None:
            panel.set_kl(snap.kl_per_dim)
        panel.set_selected(snap.split, snap.sequence, snap.start)
        # A validation pass (new weights): the selected window's z mean moved; follow it unless the
        # user has moved away from it (sliders, a click in the scatter, an interpolation end).
        if snap.latents is not None and panel.origin.text().startswith("decoding: z mean of"):
            panel.load_selected(force=True)

    def on_started(started: Any) -> None:
        panel.frame_names = FrameNames.from_started(started)
        panel.refresh()

    def on_selection() -> None:
        seq, first = scatter.selected_windows()
        panel.set_selection(scatter.split, seq, first, scatter.window)
        n = timeline.highlight_windows(seq, first, scatter.window)
        if len(seq):
            window.status.showMessage(f"{len(seq):,} points selected: {n:,} frames shaded in the error timeline", 5000)

    c.snapshot.connect(on_snapshot)
    c.runStarted.connect(on_started)
    # The weights are final (or new): the selected window's z mean again.
    for signal in (c.checkpointLoaded, c.runFinished):
        signal.connect(lambda _x: (panel.refresh(), panel.load_selected(force=True)))
    scatter.planeClicked.connect(lambda x, y: panel.set_z(scatter.latent_at(x, y, panel.base_point()),
                                                          f"the scatter at ({x:.2f}, {y:.2f})", background=True)
                                 if panel.z is not None else None)
    scatter.windowPicked.connect(panel.pick_window)
    scatter.selectionChanged.connect(on_selection)
    timeline.framePicked.connect(panel.pick_frame)
    panel.pointChanged.connect(scatter.show_probe)
    panel.message.connect(lambda text: window.status.showMessage(text, 5000))
    panel.failed.connect(window.show_error)
    for menu_action in window.menuBar().actions():
        if menu_action.text() == "&View" and menu_action.menu() is not None:
            menu_action.menu().addAction(dock.toggleViewAction())
    return panel, dock
