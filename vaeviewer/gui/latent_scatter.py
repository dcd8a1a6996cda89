"""Latent scatter: one point per window (z_mean), two chosen axes, coloured by time or sequence.

The axes are either the first principal components of the latents (PC1/PC2, signs fixed so the
picture does not flip between snapshots) or any two latent dimensions. Clicking a point emits
`windowSelected(split, sequence, start)`; the window shown in the strips is ringed in white
with a black outline, which stands out on the white background and on every colour used for
the points (viridis by time, the sequence palette). Colour by time has a colour bar, colour by
sequence a legend; the axes are labelled with what they show. Time and the tooltips use the
frame numbers of the source file (frame_names), not positions within the train/valid part.

Probing (issue 15): a click, or a drag in "drag decodes" mode, on empty space emits
`planeClicked(x, y)`; `latent_at` turns that point into a full latent vector (PCA axes mapped back
through the PCA, the other directions kept from a base point). Shift-click on a point emits
`windowPicked` (interpolation ends). A box drag ("drag: select box" mode, or Ctrl+drag in any mode)
or a lasso ("drag: lasso" mode, or Ctrl+Shift+drag) selects the points inside it: `selection` rows,
`selectionChanged` (gui/scatter_selection.py).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QApplication, QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget,
)

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.gui.latent_plane import PlaneMixin, pca_basis, principal_components  # noqa: F401 - public here too
from vaeviewer.gui.scatter_selection import DRAG_TIP, PlaneViewBox, SelectionMixin, make_outlines
from vaeviewer.training import events as ev

TIME_COLOURS = "viridis"
RING_SIZE = 17
MAX_LEGEND_SEQUENCES = 8
# Above this many points pyqtgraph's hover (a restyle of every point, a SpotItem per point) takes
# 100+ ms a mouse move; the scatter then finds the point under the mouse itself (tooltip only).
HOVER_MAX_POINTS = 5000
# Okabe-Ito's colour-blind-safe palette without its black (the ring's outline is black).
SEQUENCE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


def sequence_colour(s: int, n: int) -> QColor:
    """Colour of sequence s of n: the palette above, then evenly spread hues."""
    if n <= len(SEQUENCE_COLOURS):
        colour = QColor(SEQUENCE_COLOURS[s])
    else:
        colour = pg.intColor(s, hues=n)
    colour.setAlpha(210)
    return colour


class LatentScatter(SelectionMixin, PlaneMixin, QWidget):
    """Scatter of the latest snapshot's latents."""

    windowSelected = pyqtSignal(str, int, int)
    planeClicked = pyqtSignal(float, float)      # a click or probe drag on empty space: shown axes' values
    windowPicked = pyqtSignal(str, int, int)     # shift-click on a point: an interpolation end
    selectionChanged = pyqtSignal()              # `selection` (rows) changed: box or lasso selection, or cleared

    DRAG_MODES = ("probe", "select", "lasso", "pan")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drag = QComboBox()
        self.drag.addItems(["drag: decode", "drag: select box", "drag: lasso", "drag: pan"])
        self.drag.setToolTip(DRAG_TIP)
        self.x_axis = QComboBox()
        self.y_axis = QComboBox()
        self.colour = QComboBox()
        self.colour.addItems(["colour by time", "colour by sequence"])
        self.x_axis.setToolTip("horizontal axis: a principal component or a latent dimension")
        self.y_axis.setToolTip("vertical axis")
        for box in (self.x_axis, self.y_axis, self.colour, self.drag):
            # Wide enough for "z12 (KL 0.0031)": never cut to "z0 (I".
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.info = QLabel("")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot = pg.PlotWidget(viewBox=PlaneViewBox(self))
        self.plot.setMenuEnabled(False)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.points = pg.ScatterPlotItem(size=6, pen=None, hoverable=True, hoverSize=9,
                                         hoverPen=pg.mkPen("k"), tip=self._tip)
        # The ring of the window shown: white on a wider black ring, visible on any colour.
        self.selected_outline = pg.ScatterPlotItem(size=RING_SIZE, pen=pg.mkPen("k", width=5.5), brush=None, symbol="o")
        self.selected = pg.ScatterPlotItem(size=RING_SIZE, pen=pg.mkPen("w", width=2.5), brush=None, symbol="o")
        self.selected_outline.setZValue(10)
        self.selected.setZValue(11)
        self.plot.addItem(self.points)
        self.plot.addItem(self.selected_outline)
        self.plot.addItem(self.selected)
        # Selected points (orange rings), the probed point (a cross), the rubber band and the lasso.
        self.chosen = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#E69F00", width=1.6), brush=None, symbol="o")
        self.chosen.setZValue(5)
        self.probe_marker = pg.ScatterPlotItem(size=18, pen=pg.mkPen("#D55E00", width=3), brush=None, symbol="+")
        self.probe_marker.setZValue(12)
        self.plot.addItem(self.chosen)
        self.plot.addItem(self.probe_marker, ignoreBounds=True)   # never rescales the view (nor its cache)
        self.band, self.lasso = make_outlines(self.plot)
        self._lasso_points: list[tuple[float, float]] = []
        # Cached as pixmaps: a moving band, lasso or cross repaints without redrawing every point.
        for item in (self.points, self.chosen):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plot.scene().sigMouseMoved.connect(self._hover_many)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(TIME_COLOURS), width=14,
                                          interactive=False, label="first frame", colorMapMenu=False)
        self.colour_bar.axis.enableAutoSIPrefix(False)
        self.plot.getPlotItem().layout.addItem(self.colour_bar, 2, 5)   # right of the plot
        self.plot.getPlotItem().layout.setColumnFixedWidth(4, 5)
        self.colour_bar.setVisible(False)
        self.legend = pg.LegendItem(offset=(-4, 4), labelTextSize="8pt", brush=pg.mkBrush(255, 255, 255, 210),
                                    pen=pg.mkPen(200, 200, 200))
        self.legend.setParentItem(self.plot.getPlotItem().getViewBox())
        self.legend.setVisible(False)
        self._legend_samples: list[pg.ScatterPlotItem] = []

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("x"), self.x_axis, QLabel("y"), self.y_axis, self.colour):
            row.addWidget(w)
        row.addStretch(1)
        info_row = QHBoxLayout()
        info_row.setContentsMargins(0, 0, 0, 0)
        info_row.addWidget(self.info, 1)
        info_row.addWidget(self.drag)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addLayout(info_row)
        layout.addWidget(self.plot, 1)

        self.latents: Optional[np.ndarray] = None
        self.sequence_of: Optional[np.ndarray] = None
        self.frame_of: Optional[np.ndarray] = None
        self.split = "valid"
        self.window = 1
        self.frame_names = FrameNames()
        self.total: Optional[int] = None     # windows the latents were sampled from (if known)
        self.xy = np.zeros((0, 2))
        self._current: Optional[tuple[str, int, int]] = None
        self.selected_index = -1
        self.selection = np.zeros(0, dtype=np.int64)    # box- or lasso-selected rows of `latents`
        self.pca_mean: Optional[np.ndarray] = None       # the PCA the PC axes show (see latent_at)
        self.pca_axes: Optional[np.ndarray] = None
        self._set_dims(0)

        self.points.sigClicked.connect(self._on_clicked)
        self.x_axis.currentIndexChanged.connect(lambda _i: self._redraw())
        self.y_axis.currentIndexChanged.connect(lambda _i: self._redraw())
        self.colour.currentIndexChanged.connect(lambda _i: self._redraw())

    # ---- data -------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the latents (a new run: old points would refer to another model)."""
        self.latents = self.sequence_of = self.frame_of = None
        self.xy = np.zeros((0, 2))
        self.total = None
        self.points.setData(pos=np.zeros((0, 2)))
        self.selected.setData(pos=np.zeros((0, 2)))
        self.selected_outline.setData(pos=np.zeros((0, 2)))
        self.selected_index = -1
        self.probe_marker.setData(pos=np.zeros((0, 2)))
        self._hide_outlines()
        self._set_selection(np.zeros(0, dtype=np.int64))
        self.colour_bar.setVisible(False)
        self.legend.setVisible(False)
        self.info.setText("latents appear after the first epoch")
        self.info.setToolTip("")

    def set_window(self, window: int) -> None:
        """Frames per latent point (the model's window; 1 for per-frame models)."""
        self.window = max(1, int(window))

    def set_frame_names(self, names: FrameNames) -> None:
        """Where the split parts sit in their files (from RunStarted): time is the file's frame."""
        self.frame_names = names
        self._redraw()

    def file_frames(self) -> np.ndarray:
        """Each latent row's first frame, numbered as in its source file."""
        if self.latents is None:
            return np.zeros(0, dtype=np.int64)
        return self.frame_names.in_file(self.split, self.sequence_of, self.frame_of)

    def set_snapshot(self, snap: ev.Snapshot) -> None:
        """Take the latents of a snapshot (if it has any) and ring its detailed window."""
        if snap.latents is not None and len(snap.latents):
            kept = self.selected_windows() if len(self.selection) else None
            self.selection = np.zeros(0, dtype=np.int64)   # rows of the old latents
            z = np.asarray(snap.latents, dtype=np.float64)
            self.latents = z
            n = len(z)
            self.sequence_of = (np.asarray(snap.latent_sequence) if snap.latent_sequence is not None
                                else np.zeros(n, dtype=int))
            self.frame_of = (np.asarray(snap.latent_frame) if snap.latent_frame is not None
                             else np.arange(n))
            self.split = getattr(snap, "latent_split", None) or "valid"
            total = getattr(snap, "latent_total", None)    # all windows, when the latents are a sample
            self.total = int(total) if total is not None else None
            if self.x_axis.count() != z.shape[1] + 2:
                self._set_dims(z.shape[1])
            if snap.kl_per_dim is not None and len(snap.kl_per_dim) == z.shape[1]:
                self._label_dims(np.asarray(snap.kl_per_dim, dtype=float))
            self._redraw(keep_selection=False)
            if kept is not None:
                self._reselect(*kept)
        self.set_current(snap.split, snap.sequence, snap.start)

    def set_current(self, split: str, sequence: int, start: int) -> None:
        """Ring the point of the window the strips show (nearest start in that sequence)."""
        self._current = (split, int(sequence), int(start))
        self._update_selected()

    def index_of(self, sequence: int, start: int) -> int:
        """Row of the latent nearest to (sequence, start); -1 if that sequence has none."""
        if self.latents is None:
            return -1
        rows = np.flatnonzero(self.sequence_of == sequence)
        if len(rows) == 0:
            return -1
        return int(rows[np.argmin(np.abs(self.frame_of[rows] - start))])

    def select_index(self, i: int) -> None:
        """Act as if point i was clicked."""
        seq, frame = int(self.sequence_of[i]), int(self.frame_of[i])
        self.set_current(self.split, seq, frame)
        self.windowSelected.emit(self.split, seq, frame)

    # ---- drawing ----------------------------------------------------------------------
    def _set_dims(self, k: int) -> None:
        names = ["PC1", "PC2"] + [f"z{i}" for i in range(k)]
        for box, default in ((self.x_axis, 0), (self.y_axis, 1)):
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            box.setCurrentIndex(default)
            box.blockSignals(False)

    def _label_dims(self, kl: np.ndarray) -> None:
        """Show each dimension's mean KL: dims near 0 are unused by the model (collapsed)."""
        for box in (self.x_axis, self.y_axis):
            for i, value in enumerate(kl):
                box.setItemText(i + 2, f"z{i} (KL {value:.2g})")

    def _axis(self, box: QComboBox, pcs: Optional[np.ndarray]) -> np.ndarray:
        i = box.currentIndex()
        if i < 2:
            return pcs[:, i]
        return self.latents[:, i - 2]

    def _redraw(self, keep_selection: bool = True) -> None:
        z = self.latents
        if z is None:
            return
        pcs = None
        if min(self.x_axis.currentIndex(), self.y_axis.currentIndex()) < 2:
            self.pca_mean, self.pca_axes = pca_basis(z)
            pcs = (z - self.pca_mean) @ self.pca_axes.T
        self.xy = np.column_stack([self._axis(self.x_axis, pcs), self._axis(self.y_axis, pcs)])
        by_sequence = self.colour.currentIndex() == 1
        if by_sequence:
            seqs = self.sequence_of.astype(int)
            palette = [pg.mkBrush(sequence_colour(s, int(seqs.max()) + 1)) for s in range(int(seqs.max()) + 1)]
            brushes = [palette[s] for s in seqs]
        else:
            t = self.file_frames().astype(float)
            span = max(1.0, float(t.max() - t.min()))
            cmap = pg.colormap.get("viridis")
            lut = [pg.mkBrush(c) for c in cmap.getLookupTable(nPts=64, alpha=True)]
            idx = ((t - t.min()) / span * 63).astype(int)
            brushes = [lut[i] for i in idx]
        self.points.setData(pos=self.xy, brush=brushes, data=np.arange(len(z)), hoverable=len(z) <= HOVER_MAX_POINTS)
        self.plot.setLabel("bottom", self._axis_name(self.x_axis))
        self.plot.setLabel("left", self._axis_name(self.y_axis))
        self.colour_bar.setVisible(not by_sequence)
        if not by_sequence:
            self.colour_bar.setLevels((float(t.min()), float(t.min()) + span))
            # The colour bar's label sits on its left axis (pyqtgraph's ColorBarItem, vertical).
            self.colour_bar.getAxis("left").setLabel("first frame in file" if self.window > 1 else "frame in file")
        self._update_legend(palette if by_sequence else None)
        what = "sequence" if by_sequence else ("first frame in file" if self.window > 1 else "frame in file")
        self.info.setText(f"{self.count_text()}, colour = {what}")
        self.info.setToolTip(self.info.text())
        self._update_selected()
        self._hide_outlines()   # the axes may have changed: the box or lasso no longer applies
        self._draw_rings()

    def count_text(self) -> str:
        """'600 valid windows' ('frames' for window 1), or '600 of 8000 valid windows (sample)' when a sample."""
        n = 0 if self.latents is None else len(self.latents)
        what = "window" if self.window > 1 else "frame"   # a point is one model input: a frame for conv2d
        if self.total is not None and self.total > n:
            return f"{n:,} of {self.total:,} {self.split} {what}s (sample)"
        return f"{n:,} {self.split} {what}{'' if n == 1 else 's'}"

    @staticmethod
    def _axis_name(box: QComboBox) -> str:
        """The axis as named in its combo, without the KL note: 'PC1', 'z0'."""
        name = box.currentText().split(" (")[0]
        return f"{name} of z mean" if name.startswith("PC") else name

    def _update_legend(self, palette: Optional[list]) -> None:
        self.legend.clear()
        self.legend.setVisible(palette is not None)
        if palette is None:
            return
        shown = palette[:MAX_LEGEND_SEQUENCES]
        while len(self._legend_samples) < len(shown):
            self._legend_samples.append(pg.ScatterPlotItem(size=8, pen=None, symbol="o"))
        for s, brush in enumerate(shown):
            sample = self._legend_samples[s]
            sample.setBrush(brush)
            sample.opts["brush"] = brush       # what the legend's sample draws
            self.legend.addItem(sample, f"sequence {s}")
        if len(palette) > len(shown):
            self.legend.addItem(pg.ScatterPlotItem(size=0, pen=None), f"… {len(palette)} sequences")

    def _update_selected(self) -> None:
        i = -1
        if self._current is not None and self._current[0] == self.split:
            i = self.index_of(self._current[1], self._current[2])
        pos = np.zeros((0, 2)) if i < 0 or i >= len(self.xy) else self.xy[i: i + 1]
        self.selected_outline.setData(pos=pos)
        self.selected.setData(pos=pos)
        self.selected_index = i

    def _tip(self, x: float, y: float, data) -> str:
        i = int(data)
        return self.frame_names.describe(self.split, int(self.sequence_of[i]), int(self.frame_of[i]), self.window)

    def _hover_many(self, scene_pos) -> None:
        """Tooltip of the point under the mouse when pyqtgraph's hover is off (many points)."""
        if (self.latents is None or len(self.xy) <= HOVER_MAX_POINTS
                or QApplication.mouseButtons() != Qt.MouseButton.NoButton):   # no tips mid-drag
            return
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        here = vb.mapSceneToView(scene_pos)
        px = vb.viewPixelSize()
        d = np.hypot((self.xy[:, 0] - here.x()) / px[0], (self.xy[:, 1] - here.y()) / px[1])
        i = int(np.argmin(d))
        vb.setToolTip(self._tip(0, 0, i) if d[i] <= 4 else "")

    def _on_clicked(self, _item, points, event=None) -> None:
        if not len(points):
            return
        i = int(points[0].data())
        if event is not None and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.windowPicked.emit(self.split, int(self.sequence_of[i]), int(self.frame_of[i]))
            return
        self.select_index(i)

    # ---- probing: the plane <-> latent vectors ------------------------------------------
    def drag_mode(self) -> str:
        """'probe', 'select' (a box), 'lasso' or 'pan': what a left drag on empty space does."""
        return self.DRAG_MODES[max(0, self.drag.currentIndex())]

    def _plane_click(self, pos) -> bool:
        """A left click on empty space (points take their own clicks): probe there."""
        if self.latents is None:
            return False
        if self.drag_mode() in ("select", "lasso") and len(self.selection):
            self.clear_selection()   # select mode: a click beside the points clears the selection
            return True
        self.planeClicked.emit(float(pos.x()), float(pos.y()))
        return True

    def show_probe(self, z: Optional[np.ndarray]) -> None:
        """Mark where the probed latent vector z lies on the shown axes (None: no mark)."""
        if z is None or self.latents is None or len(z) != self.latents.shape[1]:
            self.probe_marker.setData(pos=np.zeros((0, 2)))
            return
        self.probe_marker.setData(pos=np.array([self.axis_values(z)]))
