"""Compare variants…: train conv2d, conv3d, convlstm and stateful convlstm on the loaded data.

`CompareDialog` asks for the variants, the window sizes and the epochs. `VariantComparison`
plans the rows with `training.compare` (the headless `vaeviewer compare`), refuses what the data
cannot hold before anything trains, then starts the rows one after another on the window's
RunController, so Pause and Stop act on the row under way; a row that ends in anything but
"completed" or "diverged" (Stop, an error, closing) ends the comparison. Each finished row
becomes a run of the Runs panel, ticked so that its curve is overlaid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout,
    QWidget,
)

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui.session_runs import SessionRun
from vaeviewer.training import compare
from vaeviewer.training import events as ev

if TYPE_CHECKING:
    from vaeviewer.gui.runs_panel import RunsPanel


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
