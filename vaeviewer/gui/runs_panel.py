"""The Runs panel: every run of this app session that validated at least one epoch, one row each.

The panel listens to the RunController: each such run becomes a row (the settings that differ
between the runs, best val MSE, seconds, and the verdict on a second line, so the panel fits
under the settings without taking height from the plots). Ticking a row overlays its validation
MSE per epoch in the loss plot, in the row's colour. Its "Compare variants…" button is served by
compare_variants; the dock it sits in, by runs_dock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PyQt6.QtCore import QObject, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget,
)

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.compare_variants import CompareDialog, CompareRequest, VariantComparison
from vaeviewer.gui.runs_dock import add_runs_dock
from vaeviewer.gui.session_runs import (
    IN_LABEL, NOT_COMPARED, RUN_COLOURS, SessionRun, compared_settings, config_tip, row_variant, session_run,
    settings_labels,
)
from vaeviewer.gui.verdict_label import VERDICT_COLOURS
from vaeviewer.training import compare
from vaeviewer.training import events as ev

# Public here too: the main window and tests import them from runs_panel.
__all__ = ["RunsPanel", "COLUMNS", "CompareDialog", "CompareRequest", "VariantComparison", "add_runs_dock",
           "SessionRun", "RUN_COLOURS", "NOT_COMPARED", "IN_LABEL", "compared_settings", "row_variant",
           "settings_labels"]

COLUMNS = ("run", "settings", "best val MSE", "seconds")   # the verdict: a second line under a run's cells


def _swatch(colour: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(*colour))
    return QIcon(pixmap)


class RunsPanel(QWidget):
    """A table of this session's runs; ticked rows are overlaid in `loss_plot`."""

    runAdded = pyqtSignal(object)        # SessionRun
    compareClicked = pyqtSignal()

    def __init__(self, controller: Optional[QObject] = None, loss_plot: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = loss_plot
        self.runs: list[SessionRun] = []
        self._checked: set[int] = set()
        self._pending: Optional[tuple[RunConfig, list[int], list[float]]] = None   # config, epochs, val MSE

        self.note = QLabel("Tick a run to overlay its validation MSE.")
        self.note.setWordWrap(True)
        self.compare_button = QPushButton("Compare variants…")
        self.compare_button.setToolTip("Train conv2d, conv3d, convlstm and stateful convlstm (or those you tick) "
                                       "on the loaded data, one after another, and list them here")
        self.compare_button.clicked.connect(self.compareClicked)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("settings"), QHeaderView.ResizeMode.Stretch)
        self._verdict_font = self.table.font()
        self._verdict_font.setPointSizeF(max(6.0, self._verdict_font.pointSizeF() - 1))
        self.table.itemChanged.connect(self._on_item_changed)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.note, 1)
        top.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        if controller is not None:
            self.track(controller)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # Narrower than the settings above; its height is what they leave (see _FitAbove).
        return QSize(340, 150)

    # ---- what the controller reports ------------------------------------------------------
    def track(self, controller: QObject) -> None:
        """Record the runs `controller` (a RunController) starts."""
        controller.runStarted.connect(self._on_started)
        controller.epochEnd.connect(self._on_epoch)
        controller.runFinished.connect(self._on_finished)

    def _on_started(self, started: ev.RunStarted) -> None:
        try:
            config = RunConfig.from_dict(dict(started.config))
        except (VaeViewerError, TypeError):
            config = None
        self._pending = (config, [], []) if config is not None else None

    def _on_epoch(self, epoch: ev.EpochEnd) -> None:
        if self._pending is not None:
            self._pending[1].append(epoch.epoch + 1)
            self._pending[2].append(float((epoch.valid or {}).get("mse", float("nan"))))

    def _on_finished(self, finished: ev.RunFinished) -> None:
        pending, self._pending = self._pending, None
        # A run that validated no epoch has no curve and no val MSE: it gets no row.
        if pending is None or not finished.summary or not pending[1]:
            return
        config, _epochs, val_mse = pending
        self.add_run(config, finished.summary, val_mse)

    # ---- rows ---------------------------------------------------------------------------
    def add_run(self, config: RunConfig, summary: dict[str, Any], val_mse_per_epoch: list[float],
                checked: bool = False) -> SessionRun:
        """Add a finished run (its RunFinished summary and validation MSE per epoch) as a row."""
        run = session_run(len(self.runs) + 1, config, summary, val_mse_per_epoch)
        self.runs.append(run)
        if checked:
            self._checked.add(run.number)
        self._refresh()
        self.runAdded.emit(run)
        return run

    def set_checked(self, number: int, on: bool) -> None:
        """Tick (overlay) or untick run `number` (counting from 1)."""
        item = self.table.item(2 * (number - 1), 0)
        if item is not None:
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def checked(self) -> list[int]:
        return sorted(self._checked)

    def cells(self, number: int) -> dict[str, str]:
        """The texts shown for run `number`: each column's, and the verdict's."""
        row = 2 * (number - 1)
        texts = {name: self.table.item(row, col).text() for col, name in enumerate(COLUMNS)}
        texts["verdict"] = self.table.item(row + 1, 0).text()
        return texts

    def verdict_item(self, number: int) -> QTableWidgetItem:
        return self.table.item(2 * (number - 1) + 1, 0)

    def set_note(self, text: str) -> None:
        self.note.setText(text)

    def _refresh(self) -> None:
        """Rebuild the table (labels depend on every run) and the overlays."""
        labels = settings_labels([r.config for r in self.runs], [r.row for r in self.runs])
        labels = [f"{label}, opened {Path(r.opened).name}" if r.opened else label
                  for r, label in zip(self.runs, labels)]
        self.table.blockSignals(True)
        try:
            self.table.clearSpans()
            self.table.setRowCount(2 * len(self.runs))
            for i, (run, label) in enumerate(zip(self.runs, labels)):
                run.settings = label
                tick = QTableWidgetItem(str(run.number))
                tick.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                              | Qt.ItemFlag.ItemIsSelectable)
                tick.setCheckState(Qt.CheckState.Checked if run.number in self._checked else Qt.CheckState.Unchecked)
                tick.setIcon(_swatch(run.colour))
                tick.setToolTip("tick to overlay this run's validation MSE in the loss plot")
                best = run.best_val_mse
                seconds = run.row.get("seconds")
                cells = [tick, QTableWidgetItem(label),
                         QTableWidgetItem("-" if best is None else f"{best:.5f}"),
                         QTableWidgetItem("-" if seconds is None else f"{seconds:.1f}")]
                cells[1].setToolTip(f"{label}\n{config_tip(run)}")
                for col in (2, 3):
                    cells[col].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                for col, cell in enumerate(cells):
                    self.table.setItem(2 * i, col, cell)
                # The verdict on the line below, across the row, in the verdict's colour.
                verdict = QTableWidgetItem(compare.verdict_cell(run.row))
                verdict.setToolTip(run.row.get("verdict_text") or "")
                verdict.setFlags(Qt.ItemFlag.ItemIsEnabled)
                verdict.setFont(self._verdict_font)
                verdict.setForeground(QColor(VERDICT_COLOURS.get(run.row["verdict"], VERDICT_COLOURS["unknown"])))
                self.table.setItem(2 * i + 1, 0, verdict)
                self.table.setSpan(2 * i + 1, 0, 1, len(COLUMNS))
        finally:
            self.table.blockSignals(False)
        self._update_overlays()

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 0 or item.row() % 2 or not 0 <= item.row() // 2 < len(self.runs):
            return
        number = self.runs[item.row() // 2].number
        if item.checkState() == Qt.CheckState.Checked:
            self._checked.add(number)
        else:
            self._checked.discard(number)
        self._update_overlays()

    def _update_overlays(self) -> None:
        plot = self.loss_plot
        if plot is None:
            return
        shown = set(plot.overlays())
        for run in self.runs:
            if run.number in self._checked:
                values = run.result.val_mse_per_epoch
                plot.set_overlay(run.number, f"{run.number}: {run.settings}", range(1, len(values) + 1), values,
                                 run.colour)
            elif run.number in shown:
                plot.remove_overlay(run.number)
