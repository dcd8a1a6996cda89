"""The Runs panel (every run of this app session) and "Compare variants…" on the loaded data.

The panel listens to the RunController: each run that validated at least one epoch becomes a
row (the settings that differ between the runs, best val MSE, seconds, and the verdict on a
second line, so the panel fits under the settings without taking height from the plots).
Ticking a row overlays its validation MSE per epoch in the loss plot, in the row's colour.

`VariantComparison` plans the rows with `training.compare` (the headless `vaeviewer compare`),
refuses what the data cannot hold before anything trains, then starts the rows one after
another on the same RunController, so Pause and Stop act on the row under way; a row that ends
in anything but "completed" or "diverged" (Stop, an error, closing) ends the comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from PyQt6.QtCore import QEvent, QObject, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView, QCheckBox, QDialog, QDialogButtonBox, QDockWidget, QFormLayout, QHBoxLayout, QHeaderView,
    QLabel, QLineEdit, QMainWindow, QPushButton, QScrollArea, QSpinBox, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.docks import panel_dock
from vaeviewer.gui.compare_plot import ROW_COLOURS
from vaeviewer.gui.loss_plot import VERDICT_COLOURS
from vaeviewer.training import compare
from vaeviewer.training import events as ev

# One colour per run; orange is left out, it is the live run's validation curve.
RUN_COLOURS = [c for i, c in enumerate(ROW_COLOURS) if i != 1]
COLUMNS = ("run", "settings", "best val MSE", "seconds")   # the verdict: a second line under a run's cells
# Settings that change neither the model nor its data: never named as a difference.
NOT_COMPARED = ("out", "tensorboard", "snapshot_interval_s", "first_look_s", "max_scatter_points")
# Named by the row's label (compare.row_label): variant, window, stateful.
IN_LABEL = ("variant", "window", "stateful")


@dataclass
class SessionRun:
    """One finished run of this session: its settings, its compare row and curve, its colour."""

    number: int
    config: RunConfig
    result: compare.RowResult
    colour: tuple[int, int, int]
    settings: str = ""          # its label with the settings that differ from the other runs
    opened: Optional[str] = None   # a finished run opened from its directory (File > Open run), not trained here

    @property
    def row(self) -> dict[str, Any]:
        return self.result.row

    @property
    def best_val_mse(self) -> Optional[float]:
        values = np.asarray(self.result.val_mse_per_epoch, dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            return float(values.min())
        value = self.row.get("val_mse")
        return float(value) if value is not None and math.isfinite(value) else None


def row_variant(config: RunConfig) -> str:
    """The variant as `vaeviewer compare` names it (convlstm-stateful for a stateful convlstm)."""
    return "convlstm-stateful" if config.stateful else config.variant


def compared_settings(config: RunConfig) -> dict[str, Any]:
    """The settings that can tell runs apart, besides those in the row's label."""
    d = {k: v for k, v in config.to_dict().items() if k not in NOT_COMPARED and k not in IN_LABEL}
    if not config.uses_windows or config.stateful:
        d.pop("stride")   # conv2d has none; stateful always steps by whole windows
    return d


def _value_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ("x" if name == "frame_size" else ",").join(str(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_labels(configs: list[RunConfig], rows: list[dict[str, Any]]) -> list[str]:
    """Each run's label (compare.row_label) and the other settings whose values differ between the runs."""
    compared = [compared_settings(c) for c in configs]
    names: list[str] = []
    for d in compared:
        names.extend(k for k in d if k not in names)
    differing = [k for k in names if len({repr(d[k]) for d in compared if k in d}) > 1]
    labels = []
    for d, row in zip(compared, rows):
        extra = [f"{k} {_value_text(k, d[k])}" for k in differing if k in d]
        labels.append(", ".join([compare.row_label(row), *extra]))
    return labels


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
        number = len(self.runs) + 1
        planned = compare.PlannedRow(f"run {number}", row_variant(config), config)
        row = compare.row_from_summary(planned, summary, float(summary.get("seconds") or 0.0), False)
        run = SessionRun(number, config, compare.RowResult(row, list(val_mse_per_epoch)),
                         RUN_COLOURS[(number - 1) % len(RUN_COLOURS)], opened=summary.get("opened"))
        self.runs.append(run)
        if checked:
            self._checked.add(number)
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
                cells[1].setToolTip(f"{label}\n{_config_tip(run)}")
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


def _config_tip(run: SessionRun) -> str:
    c = run.config
    window = f", window {c.window}, stride {c.stride}" if c.uses_windows else ""
    where = f"\n{run.row['run_dir']}" if run.row.get("run_dir") else ""
    return (f"{row_variant(c)}{window}, latent {c.latent_dim}, beta {c.beta:g}, batch {c.batch_size}, "
            f"epochs {run.row.get('epochs')}, seed {c.seed}{where}")


def add_runs_dock(window: QMainWindow, panel: RunsPanel, below: QDockWidget) -> QDockWidget:
    """Put `panel` in a dock under the dock `below` (the settings): the plots keep their height."""
    dock = panel_dock("Runs", "runs", panel)
    window.addDockWidget(window.dockWidgetArea(below), dock)
    window.splitDockWidget(below, dock, Qt.Orientation.Vertical)
    dock.fit_above = _FitAbove(window, below, dock)
    return dock


class _FitAbove(QObject):
    """Keeps the dock above as tall as its scrolled contents ask (the settings, Start included).

    Refitted when those contents change (data loaded, a setting shown) and when the window is
    resized; the Runs dock below takes the rest, at least about eight lines.
    """

    def __init__(self, window: QMainWindow, above: QDockWidget, dock: QDockWidget) -> None:
        super().__init__(dock)
        self.window, self.above, self.dock = window, above, dock
        content = above.widget()
        self.inner = content.widget() if isinstance(content, QScrollArea) else None
        self._pending = False
        if self.inner is not None:
            self.inner.installEventFilter(self)
            window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Resize, QEvent.Type.Show) and not self._pending:
            self._pending = True
            QTimer.singleShot(0, self.fit)
        return False

    def fit(self) -> None:
        self._pending = False
        above, dock = self.above, self.dock
        if not (above.isVisible() and dock.isVisible()) or above.isFloating() or dock.isFloating():
            return
        if self.window.dockWidgetArea(above) != self.window.dockWidgetArea(dock):
            return
        content, inner = above.widget(), self.inner
        width = content.width() - 2 * content.frameWidth()     # the viewport without a vertical scroll bar
        height = inner.heightForWidth(width) if inner.hasHeightForWidth() else -1
        if height < 0:
            height = inner.sizeHint().height()
        if inner.minimumSizeHint().width() > width:
            height += content.horizontalScrollBar().sizeHint().height()
        total = above.height() + dock.height()
        least = 8 * (dock.fontMetrics().height() + 4)
        want = min(height + 2 * content.frameWidth() + above.height() - content.height(), total - least)
        if want > above.height():
            self.window.resizeDocks([above, dock], [want, total - want], Qt.Orientation.Vertical)


# ---- Compare variants… ----------------------------------------------------------------------
@dataclass
class CompareRequest:
    """What to compare: variants as `vaeviewer compare --variants` names them, window sizes, epochs."""

    variants: list[str] = field(default_factory=lambda: list(compare.ROW_VARIANTS))
    windows: list[int] = field(default_factory=lambda: [10])
    epochs: int = 10


class CompareDialog(QDialog):
    """Asks for the variants, the window sizes and the epochs; refuses a bad list in place."""

    def __init__(self, base: RunConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare variants")
        self.base = base
        self.request_made: Optional[CompareRequest] = None
        self.variant_boxes = {name: QCheckBox(name) for name in compare.ROW_VARIANTS}
        boxes = QHBoxLayout()
        for box in self.variant_boxes.values():
            box.setChecked(True)
            boxes.addWidget(box)
        self.windows = QLineEdit(str(base.window))
        self.windows.setToolTip("frames per window for conv3d and convlstm; several sizes add rows, e.g. 5,10,20")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100000)
        self.epochs.setValue(base.epochs)
        note = QLabel("Each variant trains on the loaded data with the current settings, one after another "
                      "(same split, seed and epochs). Pause and Stop act on the comparison; Stop keeps the "
                      "finished rows.")
        note.setWordWrap(True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        self.error.setVisible(False)
        form = QFormLayout()
        form.addRow("variants", boxes)
        form.addRow("window sizes", self.windows)
        form.addRow("epochs", self.epochs)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Compare")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def request(self) -> CompareRequest:
        """The request the fields describe. Raises VaeViewerError naming the field that is wrong."""
        ticked = [name for name, box in self.variant_boxes.items() if box.isChecked()]
        if not ticked:
            raise VaeViewerError("tick one or more variants to compare")
        variants = compare.parse_variants(",".join(ticked))
        try:
            windows = compare.parse_windows(self.windows.text(), self.base.window)
        except VaeViewerError as exc:
            raise VaeViewerError(str(exc).replace("--windows", "window sizes")) from None
        return CompareRequest(variants, windows, self.epochs.value())

    def accept(self) -> None:
        try:
            self.request_made = self.request()
        except VaeViewerError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return
        super().accept()


class VariantComparison(QObject):
    """Runs a CompareRequest on the window's loaded data, one row after another, via its RunController."""

    ended = pyqtSignal(str)     # why the comparison ended: "completed", "stopped", "error", ...

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.panel: RunsPanel = window.runs_panel
        # Asks for the request (a dialog); tests replace it. None: cancelled.
        self.ask: Callable[[RunConfig], Optional[CompareRequest]] = self._ask_dialog
        self.rows: list[compare.PlannedRow] = []
        self.index = -1
        self.active = False
        self.finished_rows = 0
        self._sequences: Optional[list] = None
        self._go_on = False
        self.controller.runFinished.connect(self._on_run_finished)
        self.controller.runningChanged.connect(self._on_running_changed)
        self.panel.runAdded.connect(self._on_run_added)
        self.panel.compareClicked.connect(self.ask_and_start)

    def ask_and_start(self) -> bool:
        """Ask for the variants (dialog), check them against the loaded data, start the first row."""
        if self.controller.running or self.active:
            self.window.show_error("a run is going: stop it before comparing variants")
            return False
        try:
            base = self.window.current_config().validate()
        except VaeViewerError as exc:
            self.window.show_error(str(exc))
            return False
        request = self.ask(base)
        return self.start(request) if request is not None else False

    def _ask_dialog(self, base: RunConfig) -> Optional[CompareRequest]:
        dialog = CompareDialog(base, self.window)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        dialog.deleteLater()
        return dialog.request_made if accepted else None

    def start(self, request: CompareRequest) -> bool:
        """Plan and check every row (a dialog and False when one cannot train), then start the first."""
        w = self.window
        if self.controller.running or self.active:
            w.show_error("a run is going: stop it before comparing variants")
            return False
        try:
            base = w.current_config().replace(epochs=int(request.epochs)).validate()
            sequences = w.data_panel.sequences_for(base)
            if sequences is None:
                raise VaeViewerError("the data is not loaded yet: compare once the Data panel shows it")
            rows = compare.plan_rows(base, compare.parse_variants(",".join(request.variants)), list(request.windows))
            split = compare.common_split(rows, sequences)
            if split is not None:   # "auto": every row on the split the widest window fits
                rows = [compare.PlannedRow(r.name, r.variant, r.config.replace(split=split)) for r in rows]
            compare.check_rows(rows, sequences)
        except VaeViewerError as exc:
            w.show_error(f"Compare variants: {exc}\n\nNothing was trained.")
            return False
        self.rows, self._sequences = rows, sequences
        self.index, self.finished_rows, self.active = -1, 0, True
        self._start_next()
        return True

    def _start_next(self) -> None:
        self.index += 1
        planned = self.rows[self.index]
        self.controller.start(planned.config, self._sequences)
        self.window.controls.set_running(True)
        text = f"Compare variants: row {self.index + 1} of {len(self.rows)}, {planned.name}…"
        self.panel.set_note(text)
        self.window.status.showMessage(text, 8000)

    def _on_run_added(self, run: SessionRun) -> None:
        if self.active:
            self.panel.set_checked(run.number, True)   # a comparison's rows are overlaid as they come

    def _on_run_finished(self, finished: ev.RunFinished) -> None:
        if not self.active:
            return
        if finished.reason not in ("completed", "diverged"):
            self._end(finished.reason)
            return
        self.finished_rows += 1
        if self.index + 1 < len(self.rows):
            self._go_on = True   # the next row starts once the thread has ended
        else:
            self._end("completed")

    def _on_running_changed(self, running: bool) -> None:
        if running or not self._go_on:
            return
        self._go_on = False
        # After the window's own handlers for this signal have run.
        QTimer.singleShot(0, self._continue)

    def _continue(self) -> None:
        if not self.active:
            return
        # Stop pressed after the row's last batch, a run started meanwhile, or the window closing.
        if self.controller.stop_requested or self.controller.running or getattr(self.window, "_closing", False):
            self._end("stopped")
            return
        self._start_next()

    def _end(self, reason: str) -> None:
        self.active = False
        self._go_on = False
        n = len(self.rows)
        if reason == "completed":
            text = f"Compare variants: all {n} rows finished."
        else:
            text = (f"Compare variants {reason} after {self.finished_rows} of {n} rows; "
                    "the finished rows are kept.")
        self.panel.set_note(text)
        self.window.status.showMessage(text, 15000)
        self.ended.emit(reason)
