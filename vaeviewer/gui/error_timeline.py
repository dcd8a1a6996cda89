"""Error timeline: per-frame reconstruction MSE along the validation data; click to jump there.

Frames are named as their file numbers them (frame_names): with one sequence the x axis is the
frame number in its file; with several it is the position along the concatenated sequences
(boundaries drawn as thin vertical lines) and the ticks name each position's frame in its file.
Hovering names the frame under the mouse; the window the strips show is shaded.

A horizontal threshold line (draggable) marks the frames above it. Its default is mean + 3 SD of the
training frames' errors (`set_threshold_basis`, as `vaeviewer export` computes it with
`training.export.threshold_of`); until those are known (while a run trains) it is that of the
errors shown, and its tooltip says which frames it came from. The frames above it which the ◀/▶ buttons (or [ and ] with the timeline focused) step through; its value is
`threshold`. Windows selected in the latent scatter are shaded orange under the curve
(`highlight_windows`). Shift-click emits `framePicked` (an interpolation end).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.training import events as ev
from vaeviewer.training.export import threshold_of

THRESHOLD_SDS = 3.0      # as training.export.threshold_of
MAX_MARKERS = 2000       # frames above the threshold drawn as dots; more: only counted
THRESHOLD_TIP = ("Anomaly threshold: drag it. Default: mean + 3 standard deviations of the per-frame errors of "
                 "{basis}, recomputed at each update until you move it. ◀/▶ (or [ and ]) step through the "
                 "frames above it.")


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
    framePicked = pyqtSignal(str, int, int)      # shift-click: an interpolation end
    thresholdChanged = pyqtSignal(float)

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
        # Cached as a pixmap: dragging the threshold repaints without redrawing the curve.
        self.curve.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.current = pg.LinearRegionItem(values=(0, 0), movable=False, brush=pg.mkBrush(31, 119, 180, 60),
                                           pen=pg.mkPen((31, 119, 180), width=1))
        self.current.setVisible(False)
        self.plot.addItem(self.current)
        # Windows selected in the scatter: orange under the curve (zero elsewhere, so it downsamples).
        self.selection_fill = pg.PlotDataItem(fillLevel=0, brush=pg.mkBrush(230, 159, 0, 130), pen=None)
        self.selection_fill.setZValue(-1)
        self.plot.addItem(self.selection_fill)
        self.threshold_line = pg.InfiniteLine(angle=0, movable=True, pen=pg.mkPen((60, 60, 60), width=1.5,
                                                                                   style=Qt.PenStyle.DashLine),
                                              hoverPen=pg.mkPen((0, 0, 0), width=3), label="threshold {value:.3g}",
                                              # at the right end, on a pale ground: readable over the curve
                                              labelOpts={"position": 0.98, "color": (60, 60, 60),
                                                         "fill": (255, 255, 255, 210), "anchors": [(1, 1), (1, 1)]})
        self.threshold_line.setVisible(False)
        self.threshold_line.setZValue(20)
        # Out of the auto range (a drag must not rescale the plot); set_snapshot keeps it in view.
        self.plot.addItem(self.threshold_line, ignoreBounds=True)
        self.above_marks = pg.ScatterPlotItem(size=6, pen=pg.mkPen((120, 0, 0), width=1.2), brush=None, symbol="o")
        self.plot.addItem(self.above_marks)
        self.info = QLabel("per-frame reconstruction error on validation data: click to inspect")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.above_info = QLabel("")
        self.prev_above = QToolButton(text="◀")
        self.next_above = QToolButton(text="▶")
        self.prev_above.setToolTip("previous frame above the threshold ([)")
        self.next_above.setToolTip("next frame above the threshold (])")
        self.prev_above.clicked.connect(lambda: self.step_above(-1))
        self.next_above.clicked.connect(lambda: self.step_above(+1))
        for key, step in (("[", -1), ("]", +1)):
            shortcut = QShortcut(QKeySequence(key), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda s=step: self.step_above(s))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.info, 1)
        for w in (self.above_info, self.prev_above, self.next_above):
            row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self._threshold_moved = False        # the user dragged or set it: keep it across updates
        self._basis: Optional[tuple[float, str]] = None   # (threshold, frames) from set_threshold_basis
        self.threshold_basis = ""            # which frames the default threshold came from
        self._step_x: Optional[float] = None  # x of the frame last stepped to
        self.stepped_row: Optional[int] = None
        self._highlight: Optional[tuple[np.ndarray, np.ndarray, int]] = None
        self.threshold_line.sigDragged.connect(self._on_threshold_dragged)
        self.threshold_line.sigPositionChanged.connect(lambda _l: self._update_above())
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
        self.selection_fill.setData([], [])
        self.above_marks.setData(pos=np.zeros((0, 2)))
        self.threshold_line.setVisible(False)
        self.above_info.setText("")
        self._threshold_moved = False
        self._basis = None
        self.threshold_basis = ""
        self._step_x = self.stepped_row = None
        self._highlight = None
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
            self._draw_highlight()
            self._apply_default_threshold()
            self.threshold_line.setVisible(True)
            self._fit_y()
            self._update_above()
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
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            (self.framePicked if shift else self.frameClicked).emit(self.split, hit[0], hit[1])

    def _fit_y(self) -> None:
        """The curve and the threshold in view, with room above for the threshold's label."""
        top = max(float(self.error.max()), self.threshold_line.value())
        self.plot.setYRange(0.0, top * 1.15, padding=0.02)

    # ---- threshold ------------------------------------------------------------------------
    def default_threshold(self) -> float:
        """Mean + 3 SD of the training frames' errors when known (set_threshold_basis), else of those shown."""
        if self._basis is not None:
            return self._basis[0]
        if self.error is None or not len(self.error):
            return 0.0
        return threshold_of(self.error)

    def set_threshold_basis(self, errors: np.ndarray, frames: str) -> float:
        """The default threshold from `errors` (mean + 3 SD: the training frames' per-frame errors);
        `frames` names them in the tooltip. Moves the threshold unless the user has moved it."""
        value = threshold_of(errors)
        if not np.isfinite(value):
            return value    # no errors to go by: keep the default of those shown
        self._basis = (value, frames)
        if self.error is not None:
            self._apply_default_threshold()
            self._fit_y()
            self._update_above()
        return value

    def _apply_default_threshold(self) -> None:
        if self._basis is not None:
            self.threshold_basis = self._basis[1]
        else:
            shown = "validation" if self.split == "valid" else "training"
            self.threshold_basis = (f"the {shown} frames shown (the training frames' errors are scored once the "
                                    "run has ended)" if self.split == "valid" else
                                    "the training frames shown (there is no validation split)")
        tip = THRESHOLD_TIP.format(basis=self.threshold_basis)
        self.threshold_line.setToolTip(tip)
        self.above_info.setToolTip(tip)
        if not self._threshold_moved:
            self.threshold_line.blockSignals(True)   # one update (_update_above), not two
            self.threshold_line.setValue(self.default_threshold())
            self.threshold_line.blockSignals(False)
            # The label's text follows the value's signal (blocked above, and ignored while hidden).
            label = self.threshold_line.label
            label.setText(label.format.format(value=self.threshold_line.value()))

    @property
    def threshold(self) -> Optional[float]:
        """The threshold's value, or None before there are errors."""
        return float(self.threshold_line.value()) if self.error is not None else None

    def set_threshold(self, value: float) -> None:
        """Put the threshold at `value` (as a drag does: kept across later updates)."""
        self._threshold_moved = True
        self.threshold_line.setValue(float(value))

    def rows_above(self) -> np.ndarray:
        """Timeline rows whose error is above the threshold, in timeline order."""
        if self.error is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.error > self.threshold_line.value())

    def step_above(self, direction: int) -> Optional[int]:
        """Go to the next (+1) or previous (-1) frame above the threshold, wrapping at the ends.

        Emits frameClicked for it (the strips show it) and returns its row; None if none is above.
        """
        rows = self.rows_above()
        if not len(rows):
            return None
        xs = self.x[rows]
        here = self._step_x
        if here is None:
            row = rows[0] if direction > 0 else rows[-1]
        elif direction > 0:
            after = np.flatnonzero(xs > here)
            row = rows[after[0]] if len(after) else rows[0]
        else:
            before = np.flatnonzero(xs < here)
            row = rows[before[-1]] if len(before) else rows[-1]
        self.stepped_row = int(row)
        self._step_x = float(self.x[row])
        self.frameClicked.emit(self.split, int(self.sequence_of[row]), int(self.frame_of[row]))
        return self.stepped_row

    def _on_threshold_dragged(self, _line) -> None:
        self._threshold_moved = True

    def _update_above(self) -> None:
        if self.error is None:
            return
        rows = self.rows_above()
        value = float(self.threshold_line.value())
        shown = rows if len(rows) <= MAX_MARKERS else rows[:0]
        marks = np.column_stack([self.x[shown], self.error[shown]]) if len(shown) else np.zeros((0, 2))
        self.above_marks.setData(pos=marks)
        many = "" if len(rows) <= MAX_MARKERS else " (too many to mark)"
        self.above_info.setText(f"{len(rows):,} above {value:.3g}{many}")
        enabled = len(rows) > 0
        self.prev_above.setEnabled(enabled)
        self.next_above.setEnabled(enabled)
        self.thresholdChanged.emit(value)

    # ---- windows selected elsewhere -------------------------------------------------------
    def highlight_windows(self, sequence: np.ndarray, first: np.ndarray, length: int) -> int:
        """Shade the frames of the windows (sequence, first frame, `length` frames); returns the
        number of timeline frames shaded. Empty arrays clear the shading."""
        self._highlight = (np.asarray(sequence, np.int64), np.asarray(first, np.int64), max(1, int(length)))
        return self._draw_highlight()

    def highlighted_rows(self) -> np.ndarray:
        """Timeline rows inside a highlighted window."""
        if self.error is None or self._highlight is None or not len(self._highlight[0]):
            return np.zeros(0, dtype=np.int64)
        seq, first, length = self._highlight
        span = int(max(self.frame_of.max(), (first + length).max())) + 2
        n_seq = int(max(self.sequence_of.max(), seq.max())) + 1
        cover = np.zeros(n_seq * span + 1, np.int64)    # +1 at a window's first frame, -1 after its last
        np.add.at(cover, seq * span + first, 1)
        np.add.at(cover, seq * span + first + length, -1)
        inside = np.cumsum(cover) > 0
        return np.flatnonzero(inside[self.sequence_of * span + self.frame_of])

    def _draw_highlight(self) -> int:
        rows = self.highlighted_rows()
        if not len(rows):
            self.selection_fill.setData([], [])
            return 0
        y = np.zeros(len(self.error))
        y[rows] = self.error[rows]
        self.selection_fill.setData(self.x, y)
        return len(rows)

    def _on_hover(self, scene_pos) -> None:
        vb = self.plot.getViewBox()
        row = self.row_at(vb.mapSceneToView(scene_pos).x()) if vb.sceneBoundingRect().contains(scene_pos) else None
        self.plot.setToolTip("" if row is None else
                             f"{self.describe(row)}: MSE {self.error[row]:.4g} (click to inspect)")
