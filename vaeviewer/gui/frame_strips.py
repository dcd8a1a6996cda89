"""Frame strips: input / reconstruction / |error| of one window, one column per frame.

Each row is one ImageItem holding the window's frames side by side (NaN gaps between frames
draw as transparent). Input and reconstruction share one contrast range, by default the 0.5th
and 99.5th percentiles of the data (napari's contrast limits), measured once per data or run (not
per window, so the picture does not flicker while scrubbing): dim 16-bit frames use the whole
grey scale. The |error| range follows the errors on a 1-2-5 ladder with hysteresis. Both can be
set by hand in the contrast row (auto off), so brightness means the same in every window.
A scrubber (slider, arrow keys = one frame, Page Up/Down = one window, play) moves over the
whole sequence; each move asks for that window through `windowRequested(split, sequence,
start)`. In stateful mode the model walks whole windows from the sequence's start, so the
position moves by whole windows (arrow keys too). The slider and the keys own the position: a
snapshot that answers an older request is dropped (`answers_request`), never moves them back.
Frames are named as their file numbers them (frame_names). Double-click a column to enlarge it.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QPainterPath
from PyQt6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QGraphicsPathItem, QHBoxLayout, QLabel, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)
from superqt import QLabeledDoubleRangeSlider, QLabeledSlider
from superqt.utils import qthrottled

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.training import events as ev

GAP = 2                       # pixels between frames and between rows
ROWS = ("input", "reconstruction", "|error|")
LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5
MAX_CONTRAST_SAMPLES = 1_000_000    # values read to measure the percentiles (evenly chosen frames)
LABEL_MARGIN_PX = 6                 # screen pixels between the text labels and the frames
SLIDER_TIP = "first frame of the window, as the file numbers it: ←/→ one frame, Page Up/Down one window"
STATEFUL_SLIDER_TIP = ("first frame of the window, as the file numbers it: ←/→ and Page Up/Down one window "
                       "(stateful: the model carries its state window by window, so only whole windows show)")


def contrast_limits(frames, low: float = LOW_PERCENTILE, high: float = HIGH_PERCENTILE,
                    max_samples: int = MAX_CONTRAST_SAMPLES) -> tuple[float, float, float, float]:
    """Display range of frames in [0, 1] units: (low percentile, high percentile, min, max).

    Args:
        frames: one array (…, H, W) or a list of them (e.g. every sequence's frames); uint8
            arrays are read as value/255. At most `max_samples` values are read, from frames
            chosen evenly along each array, so 40,000 frames cost what a few hundred do.

    Returns:
        (lo, hi, min, max) with hi > lo always (a constant image gets a unit-wide range).
    """
    arrays = [frames] if isinstance(frames, np.ndarray) else list(frames)
    arrays = [np.asarray(a) for a in arrays if np.asarray(a).size]
    total = sum(a.size for a in arrays)
    samples = []
    for a in arrays:
        scale = 255.0 if a.dtype == np.uint8 else 1.0
        stack = a.reshape(-1, *a.shape[-2:]) if a.ndim >= 2 else a.reshape(1, 1, -1)
        share = max(1, int(max_samples * a.size / max(1, total)))
        n_frames = int(np.clip(share // max(1, stack[0].size), 1, len(stack)))
        pick = np.unique(np.linspace(0, len(stack) - 1, n_frames).round().astype(int))
        values = stack[pick].astype(np.float32).reshape(-1) / scale
        samples.append(values[np.isfinite(values)])
    values = np.concatenate(samples) if samples else np.zeros(0, np.float32)
    if values.size == 0:
        return 0.0, 1.0, 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(values, [low, high]))
    vmin, vmax = float(values.min()), float(values.max())
    if not hi > lo:
        lo, hi = vmin, vmax
    if not hi > lo:
        hi = lo + 1.0
    # Round to a thousandth of the range: a percentile of noisy float data can be 1.8e-21,
    # which reads as noise on the contrast control instead of 0.
    step = 10.0 ** np.floor(np.log10((hi - lo) / 1000.0))
    lo, hi = float(np.round(lo / step) * step), float(np.round(hi / step) * step)
    return lo, hi, min(vmin, lo), max(vmax, hi)


def contrast_text(lo: float, hi: float, how: str = "auto") -> str:
    """How the strips' contrast was set, in words (for the data panel and tooltips)."""
    if how == "auto":
        how = f"auto, {LOW_PERCENTILE:g}–{HIGH_PERCENTILE:g}th percentile"
    return f"display contrast {lo:.3g} … {hi:.3g} ({how})"


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is >= x (x > 0): steady, readable error ranges."""
    x = max(float(x), 1e-9)
    exp = np.floor(np.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        v = m * 10.0 ** exp
        if v >= x * (1 - 1e-9):
            return float(v)
    return float(10.0 ** (exp + 1))


def _decimals(span: float) -> int:
    """Decimals that show a range of width `span` with about three significant digits."""
    return int(np.clip(np.ceil(-np.log10(max(span, 1e-9))) + 2, 3, 8))


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
        # Contrast: input and reconstruction share one range; |error| has its own.
        self.auto_contrast = QCheckBox("auto")
        self.auto_contrast.setChecked(True)
        self.auto_contrast.setToolTip(f"input and reconstruction range from the data's {LOW_PERCENTILE:g}th to "
                                      f"{HIGH_PERCENTILE:g}th percentile (measured once per data or run); "
                                      "tick again to re-measure")
        self.contrast = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.contrast.setRange(0.0, 1.0)
        self.contrast.setValue((0.0, 1.0))
        self.contrast.setToolTip("grey range of the input and reconstruction rows (both the same)")
        self.contrast.setMinimumWidth(220)
        # One row: the range's ends are edited in the boxes at either end (no floating labels,
        # which are cut off at the ends of the slider).
        self.contrast.setEdgeLabelMode(QLabeledDoubleRangeSlider.EdgeLabelMode.LabelIsValue)
        self.contrast.setHandleLabelPosition(QLabeledDoubleRangeSlider.LabelPosition.NoLabel)
        # The end boxes size themselves for the range's first values; dim data (7.3e-05) needs more.
        for end in (getattr(self.contrast, "_min_label", None), getattr(self.contrast, "_max_label", None)):
            if end is not None:
                end.setMinimumWidth(80)
        self.auto_error = QCheckBox("auto")
        self.auto_error.setChecked(True)
        self.auto_error.setToolTip("|error| range follows the errors (1-2-5 steps, changed only when they "
                                   "leave it, so scrubbing does not flicker)")
        self.error_max = QDoubleSpinBox()
        self.error_max.setPrefix("0 … ")
        self.error_max.setRange(1e-8, 1.0)
        self.error_max.setDecimals(3)
        self.error_max.setValue(0.05)
        self.error_max.setToolTip("top of the |error| colour range")
        self.info = QLabel("no window yet")
        self.slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip(SLIDER_TIP)

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

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        for w in (self.split, self.sequence, self.prev_button, self.play_button, self.next_button, self.info):
            top.addWidget(w)
        top.addStretch(1)
        levels = QHBoxLayout()
        levels.setContentsMargins(0, 0, 0, 0)
        levels.addWidget(QLabel("contrast"))
        levels.addWidget(self.auto_contrast)
        levels.addWidget(self.contrast, 3)
        levels.addSpacing(12)
        levels.addWidget(QLabel("|error|"))
        levels.addWidget(self.auto_error)
        levels.addWidget(self.error_max)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(levels)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.slider)

        self.lengths: dict[str, list[int]] = {"train": [], "valid": []}
        self.window = 1
        self.stateful = False
        self.frame_names = FrameNames()
        # The position the controls ask for (split, sequence, start); None: show what comes.
        self.requested: Optional[tuple[str, int, int]] = None
        self._range_offset = 0     # the slider counts file frames: the part's frame 0 is at this value
        self.snapshot: Optional[ev.Snapshot] = None
        self._quiet = False
        self._dialog: Optional[QDialog] = None
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(300)
        self._play_timer.timeout.connect(self._play_step)
        self._request = qthrottled(self._emit_request, timeout=120)
        self.levels: tuple[float, float] = (0.0, 1.0)       # input / reconstruction
        self.error_levels: tuple[float, float] = (0.0, 0.05)
        self._data_contrast: Optional[tuple[float, float, float, float]] = None   # from the loaded data
        self._run_contrast: Optional[tuple[float, float, float, float]] = None    # first window of a run
        self.contrast_note = ""
        self._setting_levels = False

        self.slider.valueChanged.connect(self._on_position)
        self.sequence.valueChanged.connect(self._on_sequence)
        self.split.currentTextChanged.connect(self._on_split)
        self.prev_button.clicked.connect(lambda: self.step(-self.window))
        self.next_button.clicked.connect(lambda: self.step(self.window))
        self.play_button.toggled.connect(self._on_play)
        self.auto_contrast.toggled.connect(self._on_auto_contrast)
        self.auto_error.toggled.connect(self._on_auto_error)
        self.contrast.valueChanged.connect(self._on_contrast_moved)
        self.error_max.valueChanged.connect(self._on_error_edited)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self.view.sigResized.connect(self._fit_view)
        self._apply_levels()

    # ---- setup ------------------------------------------------------------------------
    def set_lengths(self, train: list[int], valid: list[int], window: int, stateful: bool = False) -> None:
        """Frames per sequence of each split (from RunStarted), the window length T, stateful mode."""
        self.lengths = {"train": list(train), "valid": list(valid)}
        self.window = max(1, int(window))
        self.stateful = bool(stateful)
        self.requested = None      # a new run: show its first window, wherever it is
        self.slider.setPageStep(self.window)
        self.slider.setSingleStep(self.key_step)
        self.slider.setToolTip(STATEFUL_SLIDER_TIP if self.stateful else SLIDER_TIP)
        self._quiet = True
        try:
            has_valid = bool(valid)
            self.split.model().item(1).setEnabled(has_valid)
            if not has_valid and self.split.currentText() == "valid":
                self.split.setCurrentText("train")
            self._update_ranges()
        finally:
            self._quiet = False
        self._run_contrast = None     # a new run: measure its first window again (if no data range)

    # ---- contrast ---------------------------------------------------------------------
    def set_data_contrast(self, frames=None, limits: Optional[tuple] = None) -> None:
        """The loaded data's contrast (from `frames`, or `limits` = contrast_limits(...)).

        Measured once per data: with auto contrast on, the strips use it from now on.
        """
        if limits is None and frames is not None:
            limits = contrast_limits(frames)
        self._data_contrast = tuple(float(v) for v in limits) if limits is not None else None
        if self.auto_contrast.isChecked():
            self._auto_levels()

    def set_levels(self, lo: float, hi: float) -> None:
        """Fix the input/reconstruction range by hand (turns auto contrast off)."""
        self.auto_contrast.setChecked(False)
        self.contrast_note = contrast_text(float(lo), float(hi), how="set by hand")
        self._set_levels(float(lo), float(hi), bounds=None)
        self._apply_levels()

    def set_error_max(self, top: float) -> None:
        """Fix the |error| range to 0..top (turns auto |error| off)."""
        self.auto_error.setChecked(False)
        self._set_error_max(float(top))

    def _auto_levels(self) -> None:
        measured = self._data_contrast or self._run_contrast
        if measured is None and self.snapshot is not None:
            self._run_contrast = measured = contrast_limits(self.snapshot.inputs)
        if measured is None:
            return
        lo, hi, vmin, vmax = measured
        where = "the data" if self._data_contrast is not None else "the first window shown"
        self.contrast_note = contrast_text(lo, hi) + f" of {where}"
        self._set_levels(lo, hi, bounds=(vmin, vmax))
        self._apply_levels()

    def _set_levels(self, lo: float, hi: float, bounds: Optional[tuple[float, float]]) -> None:
        if not hi > lo:
            hi = lo + max(1e-6, abs(lo) * 1e-3)
        self.levels = (lo, hi)
        b_lo, b_hi = bounds if bounds is not None else (self.contrast.minimum(), self.contrast.maximum())
        b_lo, b_hi = min(b_lo, lo), max(b_hi, hi)
        self._setting_levels = True
        try:
            span = b_hi - b_lo
            self.contrast.setDecimals(_decimals(span))
            self.contrast.setRange(b_lo, b_hi)
            self.contrast.setSingleStep(span / 200)
            self.contrast.setValue((lo, hi))
        finally:
            self._setting_levels = False
        self.contrast.setToolTip(self.contrast_note or "grey range of the input and reconstruction rows")

    def _set_error_max(self, top: float) -> None:
        top = max(top, 1e-8)
        self.error_levels = (0.0, top)
        self._setting_levels = True
        try:
            self.error_max.setDecimals(_decimals(top))
            self.error_max.setSingleStep(nice_ceil(top) / 10)
            self.error_max.setValue(top)
        finally:
            self._setting_levels = False
        self._apply_levels()

    def _auto_error(self, error: np.ndarray) -> None:
        """Follow the errors on a 1-2-5 ladder; move only when they leave the range by a step."""
        finite = error[np.isfinite(error)]
        if finite.size == 0:
            return
        target = nice_ceil(max(float(np.percentile(finite, HIGH_PERCENTILE)), 1e-6))
        top = self.error_levels[1]
        if target > top * 1.0001 or target < top / 4.5:
            self._set_error_max(target)

    def _apply_levels(self) -> None:
        self.images[0].setLevels(self.levels)
        self.images[1].setLevels(self.levels)
        self.images[2].setLevels(self.error_levels)

    def _on_auto_contrast(self, on: bool) -> None:
        if on:
            if self._data_contrast is None and self.snapshot is not None:
                self._run_contrast = None     # asked again: measure the window shown now
            self._auto_levels()

    def _on_auto_error(self, on: bool) -> None:
        if on and self.snapshot is not None:
            error = self._error_of(self.snapshot)
            self._set_error_max(nice_ceil(max(1e-6, float(np.percentile(error, HIGH_PERCENTILE)))))

    def _on_contrast_moved(self, value) -> None:
        if self._setting_levels:
            return
        lo, hi = (float(v) for v in value)
        if not hi > lo:
            return
        self.auto_contrast.blockSignals(True)
        self.auto_contrast.setChecked(False)
        self.auto_contrast.blockSignals(False)
        self.levels = (lo, hi)
        self.contrast_note = contrast_text(lo, hi, how="set by hand")
        self.contrast.setToolTip(self.contrast_note)
        self._apply_levels()

    def _on_error_edited(self, value: float) -> None:
        if self._setting_levels:
            return
        self.auto_error.blockSignals(True)
        self.auto_error.setChecked(False)
        self.auto_error.blockSignals(False)
        self.error_levels = (0.0, float(value))
        self._apply_levels()

    @staticmethod
    def _error_of(snap: ev.Snapshot) -> np.ndarray:
        return np.abs(np.asarray(snap.inputs, dtype=np.float32) - np.asarray(snap.reconstruction, dtype=np.float32))

    # ---- showing ----------------------------------------------------------------------
    def set_frame_names(self, names: FrameNames) -> None:
        """Where the split parts sit in their files (from RunStarted): titles and slider name file frames."""
        self.frame_names = names
        quiet, self._quiet = self._quiet, True
        try:
            self._update_ranges()
        finally:
            self._quiet = quiet

    def position(self) -> int:
        """The window's first frame within its split part (the slider shows it as in the file)."""
        return self.slider.value() - self._range_offset

    def _offset(self) -> int:
        return int(self.frame_names.in_file(self.split.currentText(), self.sequence.value(), 0))

    def answers_request(self, snap: ev.Snapshot) -> bool:
        """True unless the snapshot shows another window than the controls ask for now.

        The session clamps a start to the sequence and, stateful, to a whole window; a request
        is compared as the session would show it.
        """
        if self.requested is None:
            return True
        split, sequence, start = self.requested
        return (snap.split, int(snap.sequence), int(snap.start)) == (split, sequence, self._shown_start(start))

    def _shown_start(self, start: int) -> int:
        start = max(0, min(int(start), max(0, self._sequence_length() - self.window)))
        return start - start % self.window if self.stateful else start

    def show_snapshot(self, snap: ev.Snapshot) -> bool:
        """Draw the snapshot's window and move the controls to it (without new requests).

        A snapshot for an older request (the user has moved on) is dropped: returns False.
        """
        if not self.answers_request(snap):
            return False
        self.snapshot = snap
        inputs = np.asarray(snap.inputs, dtype=np.float32)
        recon = np.clip(np.asarray(snap.reconstruction, dtype=np.float32), 0.0, 1.0)
        error = self._error_of(snap)
        if self.auto_contrast.isChecked() and self._data_contrast is None and self._run_contrast is None:
            self._auto_levels()       # once per run: the first window measures the range
        if self.auto_error.isChecked():
            self._auto_error(error)
        t, h, w = inputs.shape
        for item, frames in zip(self.images, (inputs, recon, error)):
            item.setImage(np.ascontiguousarray(side_by_side(frames)), autoLevels=False)
        for row, (item, label) in enumerate(zip(self.images, self.row_labels)):
            y = row * (h + GAP * 3)
            item.setPos(0, y)
            label.setVisible(True)
        gaps = QPainterPath()
        for i in range(1, t):
            gaps.addRect(QRectF(i * (w + GAP) - GAP, 0, GAP, 3 * (h + GAP * 3) - GAP * 3))
        self._gap_mask.setPath(gaps)
        self._layout_columns(t, w, self.frame_names.in_file(snap.split, snap.sequence, snap.start))
        self._apply_levels()
        self._fit_view()
        self._quiet = True
        try:
            if snap.split in self.lengths:
                self.split.setCurrentText(snap.split)
            self._update_ranges()
            self.sequence.setValue(int(snap.sequence))
            self._update_ranges()
            self.slider.setValue(int(snap.start) + self._range_offset)
        finally:
            self._quiet = False
        err = float(np.mean(snap.frame_error)) if len(snap.frame_error) else float("nan")
        where = self.frame_names.describe(snap.split, snap.sequence, snap.start, t)
        if not self.frame_names.known(snap.split, snap.sequence):
            where += f" of {self._sequence_length()}"
        self.info.setText(f"{where}   mean MSE {err:.4g}")
        self.info.setToolTip(f"{where} (frames numbered from 0 as in the file; {snap.split} sequence "
                             f"{snap.sequence}, frames {snap.start}–{snap.start + t - 1} of that part)")
        return True

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

    def _fit_view(self, *_args) -> None:
        """Show every frame with room, in screen pixels, for the row names and column numbers.

        The labels keep their size on screen while the frames scale with the widget, so the
        margins are worked out in pixels (large frames in a small view would cut them off).
        """
        if self.snapshot is None:
            return
        t, h, w = np.asarray(self.snapshot.inputs).shape
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

    # ---- navigation -------------------------------------------------------------------
    @property
    def key_step(self) -> int:
        """Frames per arrow key: one, or one window in stateful mode (only whole windows show)."""
        return self.window if self.stateful else 1

    def step(self, frames: int) -> None:
        self.slider.setValue(max(self.slider.minimum(), min(self.slider.maximum(), self.slider.value() + frames)))

    def scrub_key(self, key) -> bool:
        """Act on a scrubbing key (←/→, Page Up/Down, Space = play); False if it is not one.

        The main window sends these keys here from anywhere in it but text and number fields.
        """
        steps = {Qt.Key.Key_Left: -self.key_step, Qt.Key.Key_Right: self.key_step,
                 Qt.Key.Key_PageUp: -self.window, Qt.Key.Key_PageDown: self.window}
        if key in steps:
            self.step(steps[key])
            return True
        if key == Qt.Key.Key_Space:
            self.play_button.toggle()
            return True
        return False

    def select(self, split: str, sequence: int, start: int) -> None:
        """Move the controls to a window and request it (what a click elsewhere calls)."""
        self._quiet = True
        try:
            self.split.setCurrentText(split)
            self._update_ranges()
            self.sequence.setValue(sequence)
            self._update_ranges()
            self.slider.setValue(self._range_offset + max(0, int(start)))    # clamped to the part
        finally:
            self._quiet = False
        self._remember_request()
        self.windowRequested.emit(split, int(sequence), self.position())

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.scrub_key(event.key()):
            super().keyPressEvent(event)

    def _sequence_length(self) -> int:
        lengths = self.lengths.get(self.split.currentText(), [])
        seq = self.sequence.value()
        return lengths[seq] if seq < len(lengths) else 0

    def _update_ranges(self) -> None:
        lengths = self.lengths.get(self.split.currentText(), [])
        self.sequence.setRange(0, max(0, len(lengths) - 1))
        split, seq = self.split.currentText(), self.sequence.value()
        self.sequence.setToolTip(f"which {split} sequence: this one is from "
                                 f"{self.frame_names.source_name(split, seq)}")
        # The slider shows the file's frame numbers: the part's frames sit at offset.. in it.
        position, offset = self.position(), self._offset()
        quiet, self._quiet = self._quiet, True
        try:
            self._range_offset = offset
            self.slider.setRange(offset, offset + max(0, self._sequence_length() - self.window))
            self.slider.setValue(offset + position)
        finally:
            self._quiet = quiet

    def _on_position(self, value: int) -> None:
        within = value - self._range_offset
        if self.stateful and within % self.window:
            self.slider.setValue(value - within % self.window)    # whole windows only; comes back here
            return
        if not self._quiet:
            self._remember_request()
            self._request()

    def _on_sequence(self, _value: int) -> None:
        if not self._quiet:
            self._update_ranges()
            self._remember_request()
            self._request()

    def _on_split(self, _text: str) -> None:
        if not self._quiet:
            self._update_ranges()
            self._remember_request()
            self._request()

    def _remember_request(self) -> None:
        # At once, not when the (throttled) request goes out: a snapshot arriving in between
        # is already for an older position.
        self.requested = (self.split.currentText(), self.sequence.value(), self.position())

    def _emit_request(self) -> None:
        self.windowRequested.emit(self.split.currentText(), self.sequence.value(), self.position())

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
        if self._dialog is not None:
            # A fresh dialog each time: a closed one given new images and shown again crashed in
            # QPainter::drawImage (pyqtgraph 0.14, reproduced in the test suite).
            self._dialog.close()
            self._dialog.deleteLater()
        self._dialog = FrameDialog(self)
        self._dialog.show_frame(snap, column, self.levels, self.error_levels, self.frame_names)
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
