"""The scrubbing keys (←/→, Page Up/Down, Space) of the main window, sent to the frame strips.

Plots take the focus when clicked and a QGraphicsView scrolls on arrow keys, so the keys are caught
before the focused widget sees them: an event filter on the window and on each of its widgets that
can take the focus. Fields that edit text or numbers keep their keys, as does a focused button its
Space; the frame slider itself scrubs (by whole windows when stateful).
"""

from __future__ import annotations

from typing import Any, Optional

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QMenu,
    QMenuBar, QPlainTextEdit, QTextEdit, QWidget,
)

SCRUB_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Space)
# Widgets whose arrow keys edit or choose a value: they keep their keys.
EDITORS = (QLineEdit, QAbstractSpinBox, QComboBox, QTextEdit, QPlainTextEdit, QAbstractItemView, QAbstractSlider,
           QMenuBar, QMenu)


class ScrubKeys(QObject):
    """Event filter of `window` (a QMainWindow with `strips`) sending the scrubbing keys to its strips."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window

    def install(self) -> None:
        """Filter the window and every widget in it that can take the focus (call once it is built)."""
        self.window.installEventFilter(self)
        for widget in self.window.findChildren(QWidget):
            if widget.focusPolicy() != Qt.FocusPolicy.NoFocus:
                widget.installEventFilter(self)

    def _inside(self, obj) -> bool:
        # QWidget.window() is shadowed on some widgets (FrameStrips.window is the window length).
        return isinstance(obj, QWidget) and (obj is self.window or self.window.isAncestorOf(obj))

    def _keeps_keys(self, widget: Optional[QWidget], key) -> bool:
        if widget is None:
            return False
        if isinstance(widget, QAbstractSlider) and self.window.strips.slider.isAncestorOf(widget):
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
        return self.window.strips.scrub_key(key)
