"""One frame of the strips' window, large: input, reconstruction and |error| side by side."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QDialog, QVBoxLayout, QWidget

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.gui.strip_canvas import ROWS
from vaeviewer.training import events as ev


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

    def show_frame(self, snap: ev.Snapshot, column: int, levels: tuple[float, float] = (0.0, 1.0),
                   error_levels: tuple[float, float] = (0.0, 0.05), names: Optional[FrameNames] = None) -> None:
        """Frame `column` of the snapshot with the strips' contrast ranges."""
        x = np.ascontiguousarray(snap.inputs[column], dtype=np.float32)
        r = np.ascontiguousarray(np.clip(snap.reconstruction[column], 0, 1), dtype=np.float32)
        e = np.abs(x - np.asarray(snap.reconstruction[column], dtype=np.float32))
        for item, img, lv in zip(self.images, (x, r, e), (levels, levels, error_levels)):
            item.setImage(img, autoLevels=False)
            item.setLevels(tuple(lv))     # setImage(levels=...) is ignored with autoLevels=False
            item.getViewBox().autoRange(padding=0.02)
        self.setWindowTitle((names or FrameNames()).describe(snap.split, snap.sequence, snap.start + column))
