"""Latent scatter: one point per window (z_mean), two chosen axes, coloured by time or sequence.

The axes are either the first principal components of the latents (PC1/PC2, signs fixed so the
picture does not flip between snapshots) or any two latent dimensions. Clicking a point emits
`windowSelected(split, sequence, start)`; the window shown in the strips is ringed in white
with a black outline, which stands out on the white background and on every colour used for
the points (viridis by time, the sequence palette). Colour by time has a colour bar, colour by
sequence a legend; the axes are labelled with what they show. Time and the tooltips use the
frame numbers of the source file (frame_names), not positions within the train/valid part.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.training import events as ev

TIME_COLOURS = "viridis"
RING_SIZE = 17
MAX_LEGEND_SEQUENCES = 8
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


def principal_components(z: np.ndarray, k: int = 2) -> np.ndarray:
    """Project rows of z on their first k principal axes (each axis' largest loading positive)."""
    centred = z - z.mean(axis=0, keepdims=True)
    if len(z) < 2:
        return np.zeros((len(z), k))
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:k]
    signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
    axes = axes * np.where(signs == 0, 1, signs)[:, None]
    proj = centred @ axes.T
    if proj.shape[1] < k:   # K == 1: pad with zeros
        proj = np.hstack([proj, np.zeros((len(z), k - proj.shape[1]))])
    return proj


class LatentScatter(QWidget):
    """Scatter of the latest snapshot's latents."""

    windowSelected = pyqtSignal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.x_axis = QComboBox()
        self.y_axis = QComboBox()
        self.colour = QComboBox()
        self.colour.addItems(["colour by time", "colour by sequence"])
        self.x_axis.setToolTip("horizontal axis: a principal component or a latent dimension")
        self.y_axis.setToolTip("vertical axis")
        for box in (self.x_axis, self.y_axis, self.colour):
            # Wide enough for "z12 (KL 0.0031)": never cut to "z0 (I".
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.info = QLabel("")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot = pg.PlotWidget()
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.info)
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
        pcs = principal_components(z) if min(self.x_axis.currentIndex(), self.y_axis.currentIndex()) < 2 else None
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
        self.points.setData(pos=self.xy, brush=brushes, data=np.arange(len(z)))
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

    def count_text(self) -> str:
        """'600 valid windows', or '600 of 8000 valid windows (sample)' when it is a sample."""
        n = 0 if self.latents is None else len(self.latents)
        if self.total is not None and self.total > n:
            return f"{n:,} of {self.total:,} {self.split} windows (sample)"
        return f"{n:,} {self.split} windows"

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

    def _on_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            self.select_index(int(points[0].data()))
