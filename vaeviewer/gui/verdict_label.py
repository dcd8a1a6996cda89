"""The verdict in a few words: has the model learned more than the baselines? (training.verdict)"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFontMetrics
from PyQt6.QtWidgets import QLabel, QSizePolicy, QWidget

from vaeviewer.training.verdict import HEADLINES

# Colour of the verdict line by kind (training.verdict): learned / partly / nothing.
VERDICT_COLOURS = {"beats_pca": "#1a7f37", "below_pca": "#9a6700", "mean_frame": "#b00020", "unknown": "#555"}


class VerdictLabel(QLabel):
    """The verdict's headline in its colour; the whole text is the tooltip. A long headline is
    cut with an ellipsis to the room it has: it never widens the loss panel (and so the window)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._headline, self._colour = "", VERDICT_COLOURS["unknown"]

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._show()

    def _show(self) -> None:
        if not self._headline:
            self.setText("")
            return
        font = self.font()
        font.setBold(True)
        width = self.contentsRect().width()
        shown = QFontMetrics(font).elidedText(self._headline, Qt.TextElideMode.ElideRight, width) \
            if self.isVisible() and width > 0 else self._headline
        self.setText(f"<span style='color:{self._colour}'><b>{shown}</b></span>")

    def set_verdict(self, kind: str | None, text: str = "", overfitting: bool = False,
                    epoch: int | None = None, where: str | None = None) -> None:
        """Show the verdict of `kind` briefly (None: nothing), with `text` as the tooltip.

        `where` names what was judged (default "epoch N: " for `epoch`, else nothing).
        """
        if kind is None:
            self._headline = ""
            self._show()
            self.setToolTip("")
            return
        short = HEADLINES.get(kind, kind) + (" · memorising" if overfitting else "")
        if where is None:
            where = f"epoch {epoch + 1}: " if epoch is not None else ""
        self._colour = VERDICT_COLOURS.get(kind, VERDICT_COLOURS["unknown"])
        self._headline = f"{where}{short}"
        self._show()
        self.setToolTip(text)
