"""Error timeline: per-frame reconstruction MSE along the validation data; click to jump there.

Frames are named as their file numbers them (frame_names): with one sequence the x axis is the
frame number in its file; with several it is the position along the concatenated sequences
(boundaries drawn as thin vertical lines) and the ticks name each position's frame in its file.
Hovering names the frame under the mouse; the window the strips show is shaded.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.training import events as ev


class FrameAxis(pg.AxisItem):
    """A bottom axis whose tick labels can be given by a function of the position."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.labeler = None     # position (float) -> str; None: the position itself

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        if self.labeler is None:
            return super().tickStrings(values, scale, spacing)
        return [self.labeler(v) for v in values]


class ErrorTimeline(QWidget):
    """One curve (created once, updated with setData) plus a shaded current window."""

    frameClicked = pyqtSignal(str, int, int)     # split (the data the timeline covers), sequence, frame

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.axis = FrameAxis("bottom")
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis})
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
        self.x = np.zeros(0)                 # x position of each timeline row
        self.frame_names = FrameNames()
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_hover)

    def set_frame_names(self, names: FrameNames) -> None:
        """Where the split parts sit in their files (from RunStarted): labels name file frames."""
        self.frame_names = names

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
            self._place()
            self.curve.setData(self.x, self.error)
            self._draw_boundaries()
            worst = int(np.argmax(self.error))
            what = "validation" if self.split == "valid" else "training (no validation split)"
            self.info.setText(f"{what} per-frame MSE: mean {self.error.mean():.4g}, worst {self.error[worst]:.4g} "
                              f"at {self.describe(worst)}; click to inspect")
        self.show_window(snap.split, snap.sequence, snap.start, len(snap.inputs))

    def show_window(self, split: str, sequence: int, start: int, length: int) -> None:
        if split != self.split or self.error is None:
            self.current.setVisible(False)
            return
        rows = np.flatnonzero((self.sequence_of == sequence) & (self.frame_of >= start) & (self.frame_of < start + length))
        if len(rows) == 0:
            self.current.setVisible(False)
            return
        self.current.setRegion((self.x[rows[0]] - 0.5, self.x[rows[-1]] + 0.5))
        self.current.setVisible(True)

    def position_to_frame(self, x: float) -> Optional[tuple[int, int]]:
        """(sequence, frame) under timeline position x, or None outside the data."""
        i = self.row_at(x)
        return None if i is None else (int(self.sequence_of[i]), int(self.frame_of[i]))

    def row_at(self, x: float) -> Optional[int]:
        """Timeline row under position x, or None outside the data."""
        if self.error is None or len(self.x) == 0:
            return None
        i = int(np.argmin(np.abs(self.x - x)))
        return i if abs(self.x[i] - x) <= 0.5 else None

    def describe(self, row: int) -> str:
        """Row `row` named as in its file: 'valid · clip frame 391 of 400'."""
        return self.frame_names.describe(self.split, int(self.sequence_of[row]), int(self.frame_of[row]))

    def _place(self) -> None:
        """x of every row: the file's frame numbers for one sequence, else the concatenated position."""
        n = len(self.error)
        file_frames = self.frame_names.in_file(self.split, self.sequence_of, self.frame_of)
        if n and np.all(self.sequence_of == self.sequence_of[0]):
            self.x = file_frames.astype(np.float64)
            self.axis.labeler = None
            name = self.frame_names.source_name(self.split, int(self.sequence_of[0]))
            self.plot.setLabel("bottom", f"frame in {name} (from 0; {self.split} part)")
        else:
            self.x = np.arange(n, dtype=np.float64)
            labels = file_frames

            def label(v: float) -> str:
                i = int(round(v))
                return str(int(labels[i])) if 0 <= i < len(labels) and abs(v - i) < 1e-6 else ""

            self.axis.labeler = label
            self.plot.setLabel("bottom", f"{self.split} sequences one after another "
                                         "(ticks: frame in each file, from 0)")

    def _draw_boundaries(self) -> None:
        cuts = np.flatnonzero(np.diff(self.sequence_of) != 0)
        starts = (self.x[cuts] + self.x[cuts + 1]) / 2 if len(cuts) else np.zeros(0)
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

    def _on_hover(self, scene_pos) -> None:
        vb = self.plot.getViewBox()
        row = self.row_at(vb.mapSceneToView(scene_pos).x()) if vb.sceneBoundingRect().contains(scene_pos) else None
        self.plot.setToolTip("" if row is None else
                             f"{self.describe(row)}: MSE {self.error[row]:.4g} (click to inspect)")
