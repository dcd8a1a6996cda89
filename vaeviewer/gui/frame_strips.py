"""Frame strips: input / reconstruction / |error| of one window, one column per frame.

Each row is one ImageItem holding the window's frames side by side (NaN gaps between frames
draw as transparent), with fixed levels: 0..1 for frames, 0..`error scale` for the error, so
brightness means the same thing in every window. A scrubber (slider, arrow keys = one frame,
Page Up/Down = one window, play) moves over the whole sequence; each move asks for that window
through `windowRequested(split, sequence, start)`. Double-click a column to enlarge the frame.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox, QDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)
from superqt import QLabeledSlider
from superqt.utils import qthrottled

from vaeviewer.training import events as ev

GAP = 2                       # pixels between frames and between rows
ROWS = ("input", "reconstruction", "|error|")
ERROR_SCALES = (1.0, 0.5, 0.25, 0.1, 0.05)


def side_by_side(frames: np.ndarray, gap: int = GAP) -> np.ndarray:
    """(T, H, W) -> (H, T*W + (T-1)*gap) float32, C-contiguous, NaN in the gaps."""
    frames = np.asarray(frames, dtype=np.float32)
    t, h, w = frames.shape
    out = np.full((h, t * w + (t - 1) * gap), np.nan, dtype=np.float32)
    for i in range(t):
        out[:, i * (w + gap): i * (w + gap) + w] = frames[i]
    return out


class FrameStrips(QWidget):
    """The detailed view of one window, with a scrubber over its sequence."""

    windowRequested = pyqtSignal(str, int, int)   # split, sequence, start frame
    frameEnlarged = pyqtSignal(int)               # column index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.split = QComboBox()
        self.split.addItems(["train", "valid"])
        self.split.setToolTip("which data the strips show")
        self.sequence = QSpinBox()
        self.sequence.setPrefix("sequence ")
        self.sequence.setRange(0, 0)
        self.prev_button = QPushButton("◀")
        self.play_button = QPushButton("▶ play")
        self.play_button.setCheckable(True)
        self.next_button = QPushButton("▶")
        self.prev_button.setToolTip("previous window (Page Up)")
        self.next_button.setToolTip("next window (Page Down)")
        self.play_button.setToolTip("step window by window through the sequence")
        for b in (self.prev_button, self.next_button):
            b.setFixedWidth(32)
        self.error_scale = QComboBox()
        self.error_scale.addItems([f"error 0..{s:g}" for s in ERROR_SCALES])
        self.error_scale.setCurrentIndex(1)
        self.error_scale.setToolTip("fixed colour range of the |error| row")
        self.info = QLabel("no window yet")
        self.slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("first frame of the window: ←/→ one frame, Page Up/Down one window")

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.view: pg.ViewBox = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        gray = pg.colormap.get("CET-L1")    # perceptually uniform black -> white
        heat = pg.colormap.get("inferno")
        self.images: list[pg.ImageItem] = []
        for row in range(3):
            item = pg.ImageItem(levels=(0.0, 1.0))
            item.setColorMap(heat if row == 2 else gray)
            self.view.addItem(item)
            self.images.append(item)
        self.row_labels = [pg.TextItem(name, color=(40, 40, 40), anchor=(1, 0.5)) for name in ROWS]
        for label in self.row_labels:
            label.setVisible(False)       # placed (and shown) with the first window
            self.view.addItem(label)
        self.column_labels: list[pg.TextItem] = []

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        for w in (self.split, self.sequence, self.prev_button, self.play_button, self.next_button,
                  self.error_scale, self.info):
            top.addWidget(w)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.slider)

        self.lengths: dict[str, list[int]] = {"train": [], "valid": []}
        self.window = 1
        self.snapshot: Optional[ev.Snapshot] = None
        self._quiet = False
        self._dialog: Optional[QDialog] = None
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(300)
        self._play_timer.timeout.connect(self._play_step)
        self._request = qthrottled(self._emit_request, timeout=120)

        self.slider.valueChanged.connect(self._on_position)
        self.sequence.valueChanged.connect(self._on_sequence)
        self.split.currentTextChanged.connect(self._on_split)
        self.prev_button.clicked.connect(lambda: self.step(-self.window))
        self.next_button.clicked.connect(lambda: self.step(self.window))
        self.play_button.toggled.connect(self._on_play)
        self.error_scale.currentIndexChanged.connect(lambda _i: self._update_error_levels())
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self._update_error_levels()

    # ---- setup ------------------------------------------------------------------------
    def set_lengths(self, train: list[int], valid: list[int], window: int) -> None:
        """Frames per sequence of each split (from RunStarted) and the window length T."""
        self.lengths = {"train": list(train), "valid": list(valid)}
        self.window = max(1, int(window))
        self.slider.setPageStep(self.window)
        self._quiet = True
        try:
            has_valid = bool(valid)
            self.split.model().item(1).setEnabled(has_valid)
            if not has_valid and self.split.currentText() == "valid":
                self.split.setCurrentText("train")
            self._update_ranges()
        finally:
            self._quiet = False

    # ---- showing ----------------------------------------------------------------------
    def show_snapshot(self, snap: ev.Snapshot) -> None:
        """Draw the snapshot's window and move the controls to it (without new requests)."""
        self.snapshot = snap
        inputs = np.asarray(snap.inputs, dtype=np.float32)
        recon = np.clip(np.asarray(snap.reconstruction, dtype=np.float32), 0.0, 1.0)
        error = np.abs(inputs - np.asarray(snap.reconstruction, dtype=np.float32))
        t, h, w = inputs.shape
        for item, frames in zip(self.images, (inputs, recon, error)):
            item.setImage(np.ascontiguousarray(side_by_side(frames)), autoLevels=False)
        for row, (item, label) in enumerate(zip(self.images, self.row_labels)):
            y = row * (h + GAP * 3)
            item.setPos(0, y)
            label.setPos(-3, y + h / 2)
            label.setVisible(True)
        self._layout_columns(t, w, snap.start)
        self._update_error_levels()
        self.view.setRange(xRange=(-0.12 * t * w - 20, t * (w + GAP)), yRange=(-12, 3 * (h + GAP * 3)), padding=0.02)
        self._quiet = True
        try:
            if snap.split in self.lengths:
                self.split.setCurrentText(snap.split)
            self._update_ranges()
            self.sequence.setValue(int(snap.sequence))
            self._update_ranges()
            self.slider.setValue(int(snap.start))
        finally:
            self._quiet = False
        n = self._sequence_length()
        err = float(np.mean(snap.frame_error)) if len(snap.frame_error) else float("nan")
        self.info.setText(f"{snap.split} seq {snap.sequence}: frames {snap.start}–{snap.start + t - 1}"
                          f" of {n}   mean MSE {err:.4g}")

    def _layout_columns(self, t: int, w: int, start: int) -> None:
        while len(self.column_labels) < t:
            label = pg.TextItem("", color=(60, 60, 60), anchor=(0.5, 1))
            self.view.addItem(label)
            self.column_labels.append(label)
        for i, label in enumerate(self.column_labels):
            label.setVisible(i < t)
            if i < t:
                label.setText(str(start + i))
                label.setPos(i * (w + GAP) + w / 2, -1)

    def _update_error_levels(self) -> None:
        scale = ERROR_SCALES[self.error_scale.currentIndex()]
        self.images[0].setLevels((0.0, 1.0))
        self.images[1].setLevels((0.0, 1.0))
        self.images[2].setLevels((0.0, scale))

    # ---- navigation -------------------------------------------------------------------
    def step(self, frames: int) -> None:
        self.slider.setValue(max(0, min(self.slider.maximum(), self.slider.value() + frames)))

    def select(self, split: str, sequence: int, start: int) -> None:
        """Move the controls to a window and request it (what a click elsewhere calls)."""
        self._quiet = True
        try:
            self.split.setCurrentText(split)
            self._update_ranges()
            self.sequence.setValue(sequence)
            self._update_ranges()
            self.slider.setValue(max(0, min(start, self.slider.maximum())))
        finally:
            self._quiet = False
        self.windowRequested.emit(split, int(sequence), int(self.slider.value()))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        keys = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1,
                Qt.Key.Key_PageUp: -self.window, Qt.Key.Key_PageDown: self.window}
        if event.key() in keys:
            self.step(keys[event.key()])
        elif event.key() == Qt.Key.Key_Space:
            self.play_button.toggle()
        else:
            super().keyPressEvent(event)

    def _sequence_length(self) -> int:
        lengths = self.lengths.get(self.split.currentText(), [])
        seq = self.sequence.value()
        return lengths[seq] if seq < len(lengths) else 0

    def _update_ranges(self) -> None:
        lengths = self.lengths.get(self.split.currentText(), [])
        self.sequence.setRange(0, max(0, len(lengths) - 1))
        self.slider.setRange(0, max(0, self._sequence_length() - self.window))

    def _on_position(self, _value: int) -> None:
        if not self._quiet:
            self._request()

    def _on_sequence(self, _value: int) -> None:
        if not self._quiet:
            self._update_ranges()
            self._request()

    def _on_split(self, _text: str) -> None:
        if not self._quiet:
            self._update_ranges()
            self._request()

    def _emit_request(self) -> None:
        self.windowRequested.emit(self.split.currentText(), self.sequence.value(), self.slider.value())

    def _on_play(self, on: bool) -> None:
        self.play_button.setText("❚❚ pause" if on else "▶ play")
        if on:
            self._play_timer.start()
        else:
            self._play_timer.stop()

    def _play_step(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play_button.setChecked(False)
            return
        self.step(self.window)

    # ---- enlarging ----------------------------------------------------------------------
    def _on_click(self, event) -> None:
        if not event.double() or self.snapshot is None:
            return
        pos: QPointF = self.view.mapSceneToView(event.scenePos())
        w = self.snapshot.inputs.shape[2]
        column = int(pos.x() // (w + GAP))
        if 0 <= column < self.snapshot.inputs.shape[0]:
            self.enlarge(column)

    def enlarge(self, column: int) -> QDialog:
        """Open (or reuse) a window showing frame `column` of the window large."""
        snap = self.snapshot
        if self._dialog is None:
            self._dialog = FrameDialog(self)
        self._dialog.show_frame(snap, column, ERROR_SCALES[self.error_scale.currentIndex()])
        self._dialog.show()
        self._dialog.raise_()
        self.frameEnlarged.emit(column)
        return self._dialog


class FrameDialog(QDialog):
    """One frame large: input, reconstruction and |error| side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("frame")
        self.resize(900, 360)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.images = []
        for col, name in enumerate(ROWS):
            self.graphics.addLabel(name, row=0, col=col)
            vb = self.graphics.addViewBox(row=1, col=col, lockAspect=True, invertY=True)
            item = pg.ImageItem(levels=(0.0, 1.0))
            item.setColorMap(pg.colormap.get("inferno" if col == 2 else "CET-L1"))
            vb.addItem(item)
            self.images.append(item)
        layout = QVBoxLayout(self)
        layout.addWidget(self.graphics)

    def show_frame(self, snap: ev.Snapshot, column: int, error_scale: float) -> None:
        x = np.ascontiguousarray(snap.inputs[column], dtype=np.float32)
        r = np.ascontiguousarray(np.clip(snap.reconstruction[column], 0, 1), dtype=np.float32)
        e = np.abs(x - np.asarray(snap.reconstruction[column], dtype=np.float32))
        for item, img, hi in zip(self.images, (x, r, e), (1.0, 1.0, error_scale)):
            item.setImage(img, autoLevels=False, levels=(0.0, hi))
            item.getViewBox().autoRange(padding=0.02)
        self.setWindowTitle(f"{snap.split} sequence {snap.sequence}, frame {snap.start + column}")
