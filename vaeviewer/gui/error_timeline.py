"""Error timeline: per-frame reconstruction MSE along the validation data; click to jump there.

The x axis is the position along the concatenated validation sequences (sequence boundaries
drawn as thin vertical lines); the window the strips show is shaded.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from vaeviewer.training import events as ev


class ErrorTimeline(QWidget):
    """One curve (created once, updated with setData) plus a shaded current window."""

    frameClicked = pyqtSignal(str, int, int)     # split (the data the timeline covers), sequence, frame

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("left", "MSE")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "validation frame (sequences concatenated)")
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setMouseEnabled(x=True, y=False)
        self.curve = self.plot.plot(pen=pg.mkPen((214, 39, 40), width=1.2))
        self.current = pg.LinearRegionItem(values=(0, 0), movable=False, brush=pg.mkBrush(31, 119, 180, 60),
                                           pen=pg.mkPen((31, 119, 180), width=1))
        self.current.setVisible(False)
        self.plot.addItem(self.current)
        self.info = QLabel("per-frame reconstruction error on validation data: click to inspect")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)
        self._boundaries: list[pg.InfiniteLine] = []
        self.error: Optional[np.ndarray] = None
        self.sequence_of = np.zeros(0, dtype=int)
        self.frame_of = np.zeros(0, dtype=int)
        self.split = "valid"
        self.plot.scene().sigMouseClicked.connect(self._on_click)

    def clear(self) -> None:
        self.error = None
        self.curve.setData([], [])
        self.current.setVisible(False)
        for line in self._boundaries:
            line.setVisible(False)
        self.info.setText("per-frame reconstruction error on validation data: appears after the first epoch")

    def set_snapshot(self, snap: ev.Snapshot) -> None:
        """Take the snapshot's timeline (if any) and shade its detailed window."""
        if snap.timeline_error is not None and len(snap.timeline_error):
            self.error = np.asarray(snap.timeline_error, dtype=np.float64)
            n = len(self.error)
            self.sequence_of = (np.asarray(snap.timeline_sequence, dtype=int) if snap.timeline_sequence is not None
                                else np.zeros(n, dtype=int))
            self.frame_of = (np.asarray(snap.timeline_frame, dtype=int) if snap.timeline_frame is not None
                             else np.arange(n))
            # The session scores the training data when there is no validation split.
            self.split = getattr(snap, "latent_split", None) or "valid"
            self.curve.setData(np.arange(n), self.error)
            self._draw_boundaries()
            worst = int(np.argmax(self.error))
            what = "validation" if self.split == "valid" else "training (no validation split)"
            self.info.setText(f"{what} per-frame MSE: mean {self.error.mean():.4g}, worst {self.error[worst]:.4g} "
                              f"(sequence {self.sequence_of[worst]}, frame {self.frame_of[worst]}); click to inspect")
        self.show_window(snap.split, snap.sequence, snap.start, len(snap.inputs))

    def show_window(self, split: str, sequence: int, start: int, length: int) -> None:
        if split != self.split or self.error is None:
            self.current.setVisible(False)
            return
        rows = np.flatnonzero((self.sequence_of == sequence) & (self.frame_of >= start) & (self.frame_of < start + length))
        if len(rows) == 0:
            self.current.setVisible(False)
            return
        self.current.setRegion((rows[0] - 0.5, rows[-1] + 0.5))
        self.current.setVisible(True)

    def position_to_frame(self, x: float) -> Optional[tuple[int, int]]:
        """(sequence, frame) under timeline position x, or None outside the data."""
        if self.error is None:
            return None
        i = int(round(x))
        if not 0 <= i < len(self.error):
            return None
        return int(self.sequence_of[i]), int(self.frame_of[i])

    def _draw_boundaries(self) -> None:
        starts = np.flatnonzero(np.diff(self.sequence_of) != 0) + 0.5
        while len(self._boundaries) < len(starts):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DotLine))
            self.plot.addItem(line)
            self._boundaries.append(line)
        for i, line in enumerate(self._boundaries):
            line.setVisible(i < len(starts))
            if i < len(starts):
                line.setValue(float(starts[i]))

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        hit = self.position_to_frame(vb.mapSceneToView(event.scenePos()).x())
        if hit is not None:
            self.frameClicked.emit(self.split, hit[0], hit[1])
