"""How the loss plot's curves look: one colour per quantity, and the pens drawn with them."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import Qt

TRAIN = (31, 119, 180)
VALID = (255, 127, 14)
RECON = (44, 160, 44)
KL = (214, 39, 40)
BASELINE_COLOURS = {"PCA": (120, 60, 160), "mean frame": (90, 90, 90), "window PCA": (23, 140, 150)}


def curve_pen(color, width=1.0, alpha=255, dash=False):
    """A pen of `color` (r, g, b), `width` pixels wide, `alpha` opaque, dashed or solid."""
    pen = pg.mkPen((*color, alpha), width=width)
    if dash:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen
