"""A movable, floatable, closable dock around a panel (the Runs and Probe docks)."""

from __future__ import annotations

from PyQt6.QtWidgets import QDockWidget, QWidget


def panel_dock(title: str, name: str, panel: QWidget) -> QDockWidget:
    """A dock titled `title` holding `panel`; `name` is its object name (Qt saves layouts by it)."""
    dock = QDockWidget(title)
    dock.setObjectName(name)
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    return dock
