"""The verdict in a few words: has the model learned more than the baselines? (training.verdict)"""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QWidget

from vaeviewer.training.verdict import HEADLINES

# Colour of the verdict line by kind (training.verdict): learned / partly / nothing.
VERDICT_COLOURS = {"beats_pca": "#1a7f37", "below_pca": "#9a6700", "mean_frame": "#b00020", "unknown": "#555"}


class VerdictLabel(QLabel):
    """The verdict's headline in its colour; the whole text is the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setWordWrap(False)

    def set_verdict(self, kind: str | None, text: str = "", overfitting: bool = False,
                    epoch: int | None = None, where: str | None = None) -> None:
        """Show the verdict of `kind` briefly (None: nothing), with `text` as the tooltip.

        `where` names what was judged (default "epoch N: " for `epoch`, else nothing).
        """
        if kind is None:
            self.setText("")
            self.setToolTip("")
            return
        short = HEADLINES.get(kind, kind) + (" · memorising" if overfitting else "")
        if where is None:
            where = f"epoch {epoch + 1}: " if epoch is not None else ""
        colour = VERDICT_COLOURS.get(kind, VERDICT_COLOURS["unknown"])
        self.setText(f"<span style='color:{colour}'><b>{where}{short}</b></span>")
        self.setToolTip(text)
