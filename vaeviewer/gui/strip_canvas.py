"""The frame strips' picture: input / reconstruction / |error| rows, one column per frame.

Each row is one ImageItem holding the window's frames side by side; background-coloured bars
cover the gaps between frames. The rows are named on the left and the columns numbered above,
in screen pixels that stay whole however large the frames are. A double-click on a column
emits `columnDoubleClicked(column)`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, pyqtSignal
from PyQt6.QtGui import QPainterPath
from PyQt6.QtWidgets import QGraphicsPathItem, QWidget

GAP = 2                       # pixels between frames and between rows
ROWS = ("input", "reconstruction", "|error|")
LABEL_MARGIN_PX = 6           # screen pixels between the text labels and the frames


def side_by_side(frames: np.ndarray, gap: int = GAP) -> np.ndarray:
    """(T, H, W) -> (H, T*W + (T-1)*gap) float32, C-contiguous, 0 in the gaps.

    Not NaN: that keeps pyqtgraph 0.14 off its transparent-pixel path for float images (which
    copies the image to RGBA on every render); the gaps are covered by the strips' gap mask.
    """
    frames = np.asarray(frames, dtype=np.float32)
    t, h, w = frames.shape
    out = np.zeros((h, t * w + (t - 1) * gap), dtype=np.float32)
    for i in range(t):
        out[:, i * (w + gap): i * (w + gap) + w] = frames[i]
    return out


class StripCanvas(pg.GraphicsLayoutWidget):
    """Draws one window's three rows with their row names and frame numbers."""

    columnDoubleClicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.view: pg.ViewBox = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        gray = pg.colormap.get("CET-L1")    # perceptually uniform black -> white
        heat = pg.colormap.get("inferno")
        self.images: list[pg.ImageItem] = []
        for row in range(3):
            item = pg.ImageItem(levels=(0.0, 1.0))
            item.setColorMap(heat if row == 2 else gray)
            self.view.addItem(item)
            self.images.append(item)
        # Background-coloured bars over the gaps between frames (see side_by_side).
        self._gap_mask = QGraphicsPathItem()
        self._gap_mask.setPen(pg.mkPen(None))
        self._gap_mask.setBrush(pg.mkBrush("w"))
        self._gap_mask.setZValue(5)
        self.view.addItem(self._gap_mask)
        self.row_labels = [pg.TextItem(name, color=(40, 40, 40), anchor=(1, 0.5)) for name in ROWS]
        for label in self.row_labels:
            label.setVisible(False)       # placed (and shown) with the first window
            self.view.addItem(label)
        self.column_labels: list[pg.TextItem] = []
        self.shape: Optional[tuple[int, int, int]] = None      # (T, H, W) of the window drawn
        self.scene().sigMouseClicked.connect(self._on_click)
        self.view.sigResized.connect(self.fit)

    def show_window(self, inputs: np.ndarray, reconstruction: np.ndarray, error: np.ndarray,
                    first_frame: int) -> None:
        """Draw the three rows (T, H, W each); the columns are numbered from `first_frame`."""
        t, h, w = inputs.shape
        self.shape = (t, h, w)
        for item, frames in zip(self.images, (inputs, reconstruction, error)):
            item.setImage(np.ascontiguousarray(side_by_side(frames)), autoLevels=False)
        for row, (item, label) in enumerate(zip(self.images, self.row_labels)):
            item.setPos(0, row * (h + GAP * 3))
            label.setVisible(True)
        gaps = QPainterPath()
        for i in range(1, t):
            gaps.addRect(QRectF(i * (w + GAP) - GAP, 0, GAP, 3 * (h + GAP * 3) - GAP * 3))
        self._gap_mask.setPath(gaps)
        self._layout_columns(t, w, first_frame)

    def set_levels(self, levels: tuple[float, float], error_levels: tuple[float, float]) -> None:
        """Grey range of the input and reconstruction rows; colour range of the |error| row."""
        self.images[0].setLevels(levels)
        self.images[1].setLevels(levels)
        self.images[2].setLevels(error_levels)

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

    def fit(self, *_args) -> None:
        """Show every frame with room, in screen pixels, for the row names and column numbers.

        The labels keep their size on screen while the frames scale with the widget, so the
        margins are worked out in pixels (large frames in a small view would cut them off).
        """
        if self.shape is None:
            return
        t, h, w = self.shape
        content_w = t * (w + GAP) - GAP
        content_h = 3 * (h + GAP * 3) - GAP * 3
        # The labels' own boxes (text plus the text document's margin), in screen pixels.
        left_px = max(label.textItem.boundingRect().width() for label in self.row_labels) + 2 * LABEL_MARGIN_PX
        top_px = max([label.textItem.boundingRect().height() for label in self.column_labels[:t]] or [16.0]) + 4
        pad_px = 4
        rect = self.view.boundingRect()
        avail_w = max(20.0, rect.width() - left_px - pad_px)
        avail_h = max(20.0, rect.height() - top_px - pad_px)
        scale = min(avail_w / content_w, avail_h / content_h)     # screen pixels per frame pixel
        self.view.setRange(xRange=(-left_px / scale, content_w + pad_px / scale),
                           yRange=(-top_px / scale, content_h + pad_px / scale), padding=0)
        for row, label in enumerate(self.row_labels):
            label.setPos(-LABEL_MARGIN_PX / scale, row * (h + GAP * 3) + h / 2)
        for i, label in enumerate(self.column_labels[:t]):
            label.setPos(i * (w + GAP) + w / 2, 0)

    def _on_click(self, event) -> None:
        if not event.double() or self.shape is None:
            return
        t, _h, w = self.shape
        pos: QPointF = self.view.mapSceneToView(event.scenePos())
        column = int(pos.x() // (w + GAP))
        if 0 <= column < t:
            self.columnDoubleClicked.emit(column)
