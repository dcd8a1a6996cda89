"""Frame strips: input / reconstruction / |error| of one window, one column per frame.

The widget puts three parts together, each in its own module:
- the picture (strip_canvas): one row per kind, frames side by side, named rows and columns;
- the contrast row (strip_contrast, strip_levels): input and reconstruction share one range,
  by default the data's 0.5th..99.5th percentiles measured once per data or run, so dim 16-bit
  frames use the whole grey scale; the |error| range follows the errors on a 1-2-5 ladder;
- the scrubber (strip_scrubber): split, sequence, slider, keys and play over the whole sequence;
  each move asks for that window through `windowRequested(split, sequence, start)`, and a
  snapshot that answers an older request is dropped (`answers_request`).
Frames are named as their file numbers them (frame_names). Double-click a column to enlarge it
(frame_dialog).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QDialog, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from vaeviewer.gui.frame_dialog import FrameDialog
from vaeviewer.gui.strip_canvas import GAP, LABEL_MARGIN_PX, ROWS, StripCanvas, side_by_side
from vaeviewer.gui.strip_contrast import ContrastRow
from vaeviewer.gui.strip_levels import (
    HIGH_PERCENTILE, LOW_PERCENTILE, MAX_CONTRAST_SAMPLES, contrast_limits, contrast_text, nice_ceil,
)
from vaeviewer.gui.strip_scrubber import SLIDER_TIP, STATEFUL_SLIDER_TIP, StripScrubber
from vaeviewer.training import events as ev

# Public here too: other modules and tests import them from frame_strips.
__all__ = ["FrameStrips", "FrameDialog", "GAP", "ROWS", "LABEL_MARGIN_PX", "side_by_side", "contrast_limits",
           "contrast_text", "nice_ceil", "LOW_PERCENTILE", "HIGH_PERCENTILE", "MAX_CONTRAST_SAMPLES",
           "SLIDER_TIP", "STATEFUL_SLIDER_TIP"]


def _part(part: str, name: str) -> property:
    """The strips' attribute `name` is that of their part `part` (read-only)."""
    return property(lambda self: getattr(getattr(self, part), name),
                    doc=f"the {part}'s {name}")


class FrameStrips(QWidget):
    """The detailed view of one window, with a scrubber over its sequence."""

    windowRequested = pyqtSignal(str, int, int)   # split, sequence, start frame
    frameEnlarged = pyqtSignal(int)               # column index

    # Where the scrubber is and what it asks for.
    lengths = _part("scrubber", "lengths")
    window = _part("scrubber", "window")
    stateful = _part("scrubber", "stateful")
    frame_names = _part("scrubber", "frame_names")
    requested = _part("scrubber", "requested")
    key_step = _part("scrubber", "key_step")
    position = _part("scrubber", "position")
    answers_request = _part("scrubber", "answers_request")
    step = _part("scrubber", "step")
    scrub_key = _part("scrubber", "scrub_key")       # the main window sends scrubbing keys here
    select = _part("scrubber", "select")
    set_frame_names = _part("scrubber", "set_frame_names")
    # The display ranges.
    levels = _part("contrast_row", "levels")
    error_levels = _part("contrast_row", "error_levels")
    contrast_note = _part("contrast_row", "contrast_note")
    set_data_contrast = _part("contrast_row", "set_data_contrast")
    set_levels = _part("contrast_row", "set_levels")
    set_error_max = _part("contrast_row", "set_error_max")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scrubber = StripScrubber(self)
        self.contrast_row = ContrastRow()
        self.graphics = StripCanvas()
        self.info = QLabel("no window yet")
        # Takes the room left in the row and is cut to it: a long place name never widens the window.
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        s, c, g = self.scrubber, self.contrast_row, self.graphics
        self.split, self.sequence, self.slider = s.split, s.sequence, s.slider
        self.prev_button, self.play_button, self.next_button = s.prev_button, s.play_button, s.next_button
        self.auto_contrast, self.contrast = c.auto_contrast, c.contrast
        self.auto_error, self.error_max = c.auto_error, c.error_max
        self.view, self.images = g.view, g.images
        self.row_labels, self.column_labels = g.row_labels, g.column_labels

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        for w in (s.split, s.sequence, s.prev_button, s.play_button, s.next_button):
            top.addWidget(w)
        top.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(c)
        layout.addWidget(g, 1)
        layout.addWidget(s.slider)

        self.snapshot: Optional[ev.Snapshot] = None
        self._dialog: Optional[QDialog] = None
        s.windowRequested.connect(self.windowRequested)
        c.levelsChanged.connect(self._apply_levels)
        g.columnDoubleClicked.connect(self.enlarge)
        self._apply_levels()

    def set_lengths(self, train: list[int], valid: list[int], window: int, stateful: bool = False) -> None:
        """Frames per sequence of each split (from RunStarted), the window length T, stateful mode.

        A new run: its first window shows wherever it is, and is measured for contrast again
        (if there is no data range).
        """
        self.scrubber.set_lengths(train, valid, window, stateful)
        self.contrast_row.new_run()

    def show_snapshot(self, snap: ev.Snapshot) -> bool:
        """Draw the snapshot's window and move the controls to it (without new requests).

        A snapshot for an older request (the user has moved on) is dropped: returns False.
        """
        if not self.scrubber.answers_request(snap):
            return False
        self.snapshot = snap
        inputs = np.asarray(snap.inputs, dtype=np.float32)
        recon = np.clip(np.asarray(snap.reconstruction, dtype=np.float32), 0.0, 1.0)
        error = np.abs(inputs - np.asarray(snap.reconstruction, dtype=np.float32))
        self.contrast_row.show_window(inputs, error)
        t = inputs.shape[0]
        names = self.frame_names
        self.graphics.show_window(inputs, recon, error, names.in_file(snap.split, snap.sequence, snap.start))
        self._apply_levels()
        self.graphics.fit()
        self.scrubber.move_to(snap.split, int(snap.sequence), int(snap.start))
        err = float(np.mean(snap.frame_error)) if len(snap.frame_error) else float("nan")
        where = names.describe(snap.split, snap.sequence, snap.start, t)
        if not names.known(snap.split, snap.sequence):
            where += f" of {self.scrubber.sequence_length()}"
        self.info.setText(f"{where}   mean MSE {err:.4g}")
        self.info.setToolTip(self.info.text())
        self.info.setToolTip(f"{where} (frames numbered from 0 as in the file; {snap.split} sequence "
                             f"{snap.sequence}, frames {snap.start}–{snap.start + t - 1} of that part)")
        return True

    def _apply_levels(self) -> None:
        self.graphics.set_levels(self.contrast_row.levels, self.contrast_row.error_levels)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.scrubber.scrub_key(event.key()):
            super().keyPressEvent(event)

    def enlarge(self, column: int) -> QDialog:
        """Open (or reuse) a window showing frame `column` of the window large."""
        if self._dialog is not None:
            # A fresh dialog each time: a closed one given new images and shown again crashed in
            # QPainter::drawImage (pyqtgraph 0.14, reproduced in the test suite).
            self._dialog.close()
            self._dialog.deleteLater()
        self._dialog = FrameDialog(self)
        self._dialog.show_frame(self.snapshot, column, self.levels, self.error_levels, self.frame_names)
        self._dialog.show()
        self._dialog.raise_()
        self.frameEnlarged.emit(column)
        return self._dialog
