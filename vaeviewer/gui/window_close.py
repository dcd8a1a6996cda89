"""Closing the main window without losing a model that lives only in memory.

`CloseMixin` gives MainWindow its closeEvent: ask before trained weights that exist only in memory
are lost; Save stops the run, saves where the user says, then closes (a failed save keeps the
window open); the training thread is never killed.
"""

from __future__ import annotations

from typing import Optional

from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import QFileDialog, QMessageBox


class CloseMixin:
    """closeEvent and its helpers for MainWindow."""

    def _on_task_done(self, text: str) -> None:
        if text.startswith("checkpoint saved"):
            self._model_saved = True
            if self._save_then_close is not None:
                self._save_then_close = None
                self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Ask before trained weights that exist only in memory are lost; stop a run, then close.

        Save: the run stops, the model is saved where the user says, then the window closes (a
        failed save keeps the window open). The training thread is never killed.
        """
        if not self._closing:
            if self._save_then_close is not None:   # a save on the way out is still running
                event.ignore()
                return
            if self._has_unsaved_model():
                choice = self.ask_close()
                if choice == "cancel":
                    event.ignore()
                    return
                if choice == "save":
                    path = self.ask_save_path()
                    if not path:
                        event.ignore()
                        return
                    self._save_then_close = path
            self._closing = True
        if self.controller.running:
            self._restart_config = None
            self.status.showMessage("stopping the run before closing…")
            self.controller.stop()
            event.ignore()
            return
        if self._save_then_close is not None:
            self.status.showMessage(f"saving the model to {self._save_then_close} before closing…")
            self._closing = False   # the save's outcome decides (see _on_task_done)
            self.controller.save_checkpoint(self._save_then_close)
            event.ignore()
            return
        event.accept()

    def _has_unsaved_model(self) -> bool:
        session = self.controller.session
        if session is None or session.model is None:
            return False
        if self.controller.running:
            return True   # the epoch under way is only in memory, whatever --out says
        return not self._model_saved

    def _on_failed_while_closing(self, text: str) -> None:
        if self._save_then_close is not None:
            self._save_then_close = None   # keep the window: nothing is lost
            self._closing = False

    def _ask_close(self) -> str:
        if not self.show_dialogs:   # scripted use (tests, --quit-after): nobody to ask
            return "discard"
        box = QMessageBox(QMessageBox.Icon.Question, "Close vaeviewer",
                          "The trained model is only in memory. Save a checkpoint before closing?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
            QMessageBox.StandardButton(answer), "cancel")

    def _ask_checkpoint_path(self) -> Optional[str]:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", "", "Keras model (*.keras)")
        if path and not path.endswith(".keras"):
            path += ".keras"
        return path or None
