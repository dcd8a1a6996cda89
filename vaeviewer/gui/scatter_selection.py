"""Choosing points in the latent scatter with the mouse: box and lasso selection.

`PlaneViewBox` is the scatter's view: a left click or drag on empty space probes (decodes there),
draws a box (the "drag: select box" mode, or Ctrl+drag in any mode) or a free-hand lasso (the
"drag: lasso" mode, or Ctrl+Shift+drag). A box or lasso selects on release; while it is drawn only
its outline moves, so dragging stays cheap with 100,000 points. `SelectionMixin` gives the scatter
its selection API (`selection` rows, `drag_box`, `drag_lasso`, `select_box`, `select_polygon`).

`points_in_polygon` is plain numpy (even-odd rule; matplotlib is not a dependency): points are
sorted by y once, and each polygon edge only tests the points inside its own band of y, so a lasso
over n points costs about n times the number of edges a horizontal line crosses, not n x edges.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QPainterPath, QPolygonF
from PyQt6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem

DRAG_TIP = ("What a left drag on the plot does: decode the point under the mouse (Probe panel), select the "
            "points in a box (also Ctrl+drag), select the points inside a free-hand lasso (also "
            "Ctrl+Shift+drag), or pan. Click empty space: decode there (in the select modes: clear the "
            "selection); shift-click a point: pick it for interpolation.")
# Selected points get orange rings up to this many (rings cost ~4 ms per 1,000 points to set); a
# larger selection is shown by its box or lasso outline, which then stays.
RING_MAX_POINTS = 5000
SELECT_COLOUR = "#E69F00"


def points_in_polygon(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which rows of `xy` (n, 2) lie inside `polygon` (m, 2; closed implicitly), even-odd rule.

    A point exactly on an edge may fall either side. Fewer than 3 vertices: nothing is inside.
    """
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    inside = np.zeros(len(xy), dtype=bool)
    if len(poly) < 3 or not len(xy):
        return inside
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    rows = np.flatnonzero(np.all((xy >= lo) & (xy <= hi), axis=1))   # the bounding box first
    if not len(rows):
        return inside
    order = np.argsort(xy[rows, 1], kind="stable")
    rows = rows[order]
    px, py = xy[rows, 0], xy[rows, 1]
    odd = np.zeros(len(rows), dtype=bool)
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    # An edge counts for a point when the point's y is in [min y, max y) of the edge (half-open, so
    # a vertex shared by two edges is counted once) and the edge crosses right of the point.
    starts = np.searchsorted(py, np.minimum(y0, y1), side="left")
    stops = np.searchsorted(py, np.maximum(y0, y1), side="left")
    for e in np.flatnonzero(stops > starts):
        a, b = starts[e], stops[e]
        t = (py[a:b] - y0[e]) / (y1[e] - y0[e])
        odd[a:b] ^= px[a:b] < x0[e] + t * (x1[e] - x0[e])
    inside[rows[odd]] = True
    return inside


class PlaneViewBox(pg.ViewBox):
    """The scatter's view: left clicks and drags on empty space probe or select (see the module)."""

    def __init__(self, owner) -> None:
        super().__init__()
        self._owner = owner

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() == Qt.MouseButton.LeftButton and self._owner._plane_click(self.mapSceneToView(ev.scenePos())):
            ev.accept()
            return
        super().mouseClickEvent(ev)

    def drag_kind(self, modifiers) -> str:
        """What a left drag with these keyboard modifiers does: 'probe', 'box', 'lasso' or 'pan'."""
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if ctrl and modifiers & Qt.KeyboardModifier.ShiftModifier:
            return "lasso"
        if ctrl:
            return "box"
        return {"select": "box"}.get(self._owner.drag_mode(), self._owner.drag_mode())

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph override
        owner = self._owner
        kind = self.drag_kind(ev.modifiers())
        if ev.button() != Qt.MouseButton.LeftButton or owner.latents is None or kind == "pan":
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        here = self.mapSceneToView(ev.scenePos())
        if kind == "box":
            start = self.mapSceneToView(ev.buttonDownScenePos())
            owner.drag_box(start.x(), start.y(), here.x(), here.y(), finish=ev.isFinish())
        elif kind == "lasso":
            if ev.isStart():
                start = self.mapSceneToView(ev.buttonDownScenePos())
                owner.drag_lasso(start.x(), start.y(), start=True)
            owner.drag_lasso(here.x(), here.y(), finish=ev.isFinish())
        else:
            owner.planeClicked.emit(float(here.x()), float(here.y()))


def make_outlines(plot: pg.PlotWidget) -> tuple[QGraphicsRectItem, QGraphicsPathItem]:
    """The rubber band (box) and the lasso outline, added to `plot` outside its auto range."""
    pen = pg.mkPen(SELECT_COLOUR, width=1.5, style=Qt.PenStyle.DashLine, cosmetic=True)
    band, lasso = QGraphicsRectItem(), QGraphicsPathItem()
    for item in (band, lasso):
        item.setPen(pen)
        item.setBrush(pg.mkBrush(230, 159, 0, 40))
        item.setZValue(13)
        item.setVisible(False)
        plot.addItem(item, ignoreBounds=True)   # never rescales the view
    return band, lasso


class SelectionMixin:
    """The scatter's selection: rows of `latents` chosen with a box or a lasso.

    The host (LatentScatter) provides `latents`, `xy`, `sequence_of`, `frame_of`, `band`, `lasso`,
    `chosen` (the ring item) and the `selectionChanged` signal.
    """

    selection: np.ndarray
    _lasso_points: list

    # ---- box --------------------------------------------------------------------------------
    def drag_box(self, x0: float, y0: float, x1: float, y1: float, finish: bool = True) -> None:
        """Show the rubber band from (x0, y0) to (x1, y1); on `finish` select the points inside."""
        self.lasso.setVisible(False)
        self.band.setRect(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)))
        self.band.setVisible(True)
        if finish:
            self.select_box(x0, y0, x1, y1)
            self.band.setVisible(len(self.selection) > RING_MAX_POINTS)

    def select_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Select the points inside the box (shown axes' coordinates); returns their rows."""
        if self.latents is None:
            return self.selection
        lo, hi = np.minimum([x0, y0], [x1, y1]), np.maximum([x0, y0], [x1, y1])
        self._set_selection(np.flatnonzero(np.all((self.xy >= lo) & (self.xy <= hi), axis=1)))
        return self.selection

    # ---- lasso ------------------------------------------------------------------------------
    def drag_lasso(self, x: float, y: float, start: bool = False, finish: bool = False) -> None:
        """Extend the lasso to (x, y) (`start`: begin a new one there); on `finish` select inside."""
        if start or not self._lasso_points:
            self._lasso_points = []
            self.band.setVisible(False)
        self._lasso_points.append((float(x), float(y)))
        self._draw_lasso(self._lasso_points, closed=finish)
        if finish:
            self.select_polygon(self._lasso_points)
            self.lasso.setVisible(len(self.selection) > RING_MAX_POINTS)
            self._lasso_points = []

    def select_polygon(self, vertices) -> np.ndarray:
        """Select the points inside the polygon `vertices` [(x, y), ...] (shown axes); returns rows."""
        if self.latents is None:
            return self.selection
        self._set_selection(np.flatnonzero(points_in_polygon(self.xy, np.asarray(vertices, np.float64))))
        return self.selection

    def _draw_lasso(self, points: list, closed: bool) -> None:
        path = QPainterPath()
        path.addPolygon(QPolygonF([QPointF(px, py) for px, py in points]))
        if closed:
            path.closeSubpath()
        self.lasso.setPath(path)
        self.lasso.setVisible(True)

    # ---- the selection ------------------------------------------------------------------------
    def clear_selection(self) -> None:
        self._set_selection(np.zeros(0, dtype=np.int64))

    def selected_windows(self) -> tuple[np.ndarray, np.ndarray]:
        """(sequence, first frame) of each selected point, in row order."""
        if self.latents is None or not len(self.selection):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return (self.sequence_of[self.selection].astype(np.int64), self.frame_of[self.selection].astype(np.int64))

    def _reselect(self, sequence: np.ndarray, frame: np.ndarray) -> None:
        """Select again the windows (sequence, frame) among new latents (a later snapshot)."""
        span = int(max(self.frame_of.max(), frame.max())) + 1
        keys = self.sequence_of.astype(np.int64) * span + self.frame_of.astype(np.int64)
        self._set_selection(np.flatnonzero(np.isin(keys, sequence * span + frame)))

    def _hide_outlines(self) -> None:
        self.band.setVisible(False)
        self.lasso.setVisible(False)

    def _set_selection(self, rows: np.ndarray) -> None:
        self.selection = np.asarray(rows, dtype=np.int64)
        if not len(self.selection):
            self._hide_outlines()
        self._draw_rings()
        self.selectionChanged.emit()

    def _draw_rings(self) -> None:
        rows = self.selection if len(self.selection) <= RING_MAX_POINTS else self.selection[:0]
        self.chosen.setData(pos=self.xy[rows] if len(rows) else np.zeros((0, 2)))
