"""The Runs dock under the settings dock, which keeps the height its contents ask for."""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer
from PyQt6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QWidget

from vaeviewer.gui.docks import panel_dock


def add_runs_dock(window: QMainWindow, panel: QWidget, below: QDockWidget) -> QDockWidget:
    """Put `panel` in a dock under the dock `below` (the settings): the plots keep their height."""
    dock = panel_dock("Runs", "runs", panel)
    window.addDockWidget(window.dockWidgetArea(below), dock)
    window.splitDockWidget(below, dock, Qt.Orientation.Vertical)
    dock.fit_above = _FitAbove(window, below, dock)
    return dock


class _FitAbove(QObject):
    """Keeps the dock above as tall as its scrolled contents ask (the settings, Start included).

    Refitted when those contents change (data loaded, a setting shown) and when the window is
    resized; the Runs dock below takes the rest, at least about eight lines.
    """

    def __init__(self, window: QMainWindow, above: QDockWidget, dock: QDockWidget) -> None:
        super().__init__(dock)
        self.window, self.above, self.dock = window, above, dock
        content = above.widget()
        self.inner = content.widget() if isinstance(content, QScrollArea) else None
        self._pending = False
        if self.inner is not None:
            self.inner.installEventFilter(self)
            window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Resize, QEvent.Type.Show) and not self._pending:
            self._pending = True
            QTimer.singleShot(0, self.fit)
        return False

    def fit(self) -> None:
        self._pending = False
        above, dock = self.above, self.dock
        if not (above.isVisible() and dock.isVisible()) or above.isFloating() or dock.isFloating():
            return
        if self.window.dockWidgetArea(above) != self.window.dockWidgetArea(dock):
            return
        content, inner = above.widget(), self.inner
        width = content.width() - 2 * content.frameWidth()     # the viewport without a vertical scroll bar
        height = inner.heightForWidth(width) if inner.hasHeightForWidth() else -1
        if height < 0:
            height = inner.sizeHint().height()
        if inner.minimumSizeHint().width() > width:
            height += content.horizontalScrollBar().sizeHint().height()
        total = above.height() + dock.height()
        least = 8 * (dock.fontMetrics().height() + 4)
        want = min(height + 2 * content.frameWidth() + above.height() - content.height(), total - least)
        if want > above.height():
            self.window.resizeDocks([above, dock], [want, total - want], Qt.Orientation.Vertical)
