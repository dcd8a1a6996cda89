"""The frame strips' contrast row: the grey range of input and reconstruction, the |error| range.

Input and reconstruction share one range, measured once per data (`set_data_contrast`) or, with
no data range, from the first window of a run (not per window, so the picture does not flicker
while scrubbing). The |error| range follows the errors on a 1-2-5 ladder with hysteresis. Both
can be set by hand (auto off), so brightness means the same in every window. Every change of
either range is announced with `levelsChanged`; the strips apply `levels` and `error_levels`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QWidget
from superqt import QLabeledDoubleRangeSlider

from vaeviewer.gui.strip_levels import (
    HIGH_PERCENTILE, LOW_PERCENTILE, contrast_limits, contrast_text, decimals_for, error_top, nice_ceil,
)


class ContrastRow(QWidget):
    """Auto / by-hand grey range of the input and reconstruction rows, and the |error| top."""

    levelsChanged = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("contrast"))
        row.addWidget(self.auto_contrast)
        row.addWidget(self.contrast, 3)
        row.addSpacing(12)
        row.addWidget(QLabel("|error|"))
        row.addWidget(self.auto_error)
        row.addWidget(self.error_max)

        self.levels: tuple[float, float] = (0.0, 1.0)       # input / reconstruction
        self.error_levels: tuple[float, float] = (0.0, 0.05)
        self.contrast_note = ""
        self._data_contrast: Optional[tuple[float, float, float, float]] = None   # from the loaded data
        self._run_contrast: Optional[tuple[float, float, float, float]] = None    # first window of a run
        self._inputs: Optional[np.ndarray] = None     # the window shown now: its inputs and |error|
        self._error: Optional[np.ndarray] = None
        self._setting_levels = False

        self.auto_contrast.toggled.connect(self._on_auto_contrast)
        self.auto_error.toggled.connect(self._on_auto_error)
        self.contrast.valueChanged.connect(self._on_contrast_moved)
        self.error_max.valueChanged.connect(self._on_error_edited)

    # ---- what the strips tell it -------------------------------------------------------------
    def new_run(self) -> None:
        """A new run: its first window is measured again (if there is no data range)."""
        self._run_contrast = None

    def show_window(self, inputs: np.ndarray, error: np.ndarray) -> None:
        """A window is shown: with auto on, measure the run's range once and follow its errors."""
        self._inputs, self._error = inputs, error
        if self.auto_contrast.isChecked() and self._data_contrast is None and self._run_contrast is None:
            self._auto_levels()       # once per run: the first window measures the range
        if self.auto_error.isChecked():
            self._follow_errors(error)

    # ---- setting the ranges --------------------------------------------------------------------
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
        self.levelsChanged.emit()

    def set_error_max(self, top: float) -> None:
        """Fix the |error| range to 0..top (turns auto |error| off)."""
        self.auto_error.setChecked(False)
        self._set_error_max(float(top))

    def _auto_levels(self) -> None:
        measured = self._data_contrast or self._run_contrast
        if measured is None and self._inputs is not None:
            self._run_contrast = measured = contrast_limits(self._inputs)
        if measured is None:
            return
        lo, hi, vmin, vmax = measured
        where = "the data" if self._data_contrast is not None else "the first window shown"
        self.contrast_note = contrast_text(lo, hi) + f" of {where}"
        self._set_levels(lo, hi, bounds=(vmin, vmax))
        self.levelsChanged.emit()

    def _set_levels(self, lo: float, hi: float, bounds: Optional[tuple[float, float]]) -> None:
        if not hi > lo:
            hi = lo + max(1e-6, abs(lo) * 1e-3)
        self.levels = (lo, hi)
        b_lo, b_hi = bounds if bounds is not None else (self.contrast.minimum(), self.contrast.maximum())
        b_lo, b_hi = min(b_lo, lo), max(b_hi, hi)
        self._setting_levels = True
        try:
            span = b_hi - b_lo
            self.contrast.setDecimals(decimals_for(span))
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
            self.error_max.setDecimals(decimals_for(top))
            self.error_max.setSingleStep(nice_ceil(top) / 10)
            self.error_max.setValue(top)
        finally:
            self._setting_levels = False
        self.levelsChanged.emit()

    def _follow_errors(self, error: np.ndarray) -> None:
        """Follow the errors on a 1-2-5 ladder; move only when they leave the range by a step."""
        target = error_top(error)
        if target is None:
            return
        top = self.error_levels[1]
        if target > top * 1.0001 or target < top / 4.5:
            self._set_error_max(target)

    # ---- the controls ----------------------------------------------------------------------------
    def _on_auto_contrast(self, on: bool) -> None:
        if on:
            if self._data_contrast is None and self._inputs is not None:
                self._run_contrast = None     # asked again: measure the window shown now
            self._auto_levels()

    def _on_auto_error(self, on: bool) -> None:
        target = error_top(self._error) if on and self._error is not None else None
        if target is not None:
            self._set_error_max(target)

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
        self.levelsChanged.emit()

    def _on_error_edited(self, value: float) -> None:
        if self._setting_levels:
            return
        self.auto_error.blockSignals(True)
        self.auto_error.setChecked(False)
        self.auto_error.blockSignals(False)
        self.error_levels = (0.0, float(value))
        self.levelsChanged.emit()
