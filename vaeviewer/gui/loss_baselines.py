"""The baselines on the validation-MSE plot: dashed lines for PCA, the mean frame, window PCA.

The model should do better than these (training.baselines): the mean frame predicts nothing,
PCA is a linear model with as many numbers per frame as the latent, and for window models
window PCA is the baseline at equal budget (K numbers per window of T frames). The higher
line's label sits above it and the lower's below, so however close the lines are, the labels
overlap neither each other nor the dashed lines.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from vaeviewer.gui.curve_style import BASELINE_COLOURS, curve_pen
from vaeviewer.training import events as ev

NAMES = ("PCA", "mean frame", "window PCA")


def baseline_values(baselines: ev.Baselines) -> dict[str, float]:
    """Name -> MSE of each baseline the event carries (window PCA only for window models)."""
    values = {"PCA": baselines.pca_mse, "mean frame": baselines.mean_frame_mse}
    window_pca = getattr(baselines, "window_pca_mse", None)
    if window_pca is not None:
        values["window PCA"] = window_pca
    return values


class BaselineLines:
    """The baselines' lines on one plot (hidden until their values come)."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.lines: dict[str, pg.InfiniteLine] = {}
        for name in NAMES:
            colour = BASELINE_COLOURS[name]
            line = pg.InfiniteLine(angle=0, pen=curve_pen(colour, 1.5, dash=True), movable=False, label=name,
                                   labelOpts={"position": 0.02, "color": colour})
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=False)
            self.lines[name] = line
        self.values: dict[str, float] = {}

    def label_height(self) -> float:
        """Height of a line's label in screen pixels."""
        return self.lines["PCA"].label.boundingRect().height()

    def place(self, values: dict[str, float], log: bool) -> None:
        """Show the baselines of `values` (name -> MSE) on a linear or log10 y axis."""
        self.values = dict(values)
        shown = []
        for name, line in self.lines.items():
            value = self.values.get(name)
            ok = value is not None and np.isfinite(value) and (value > 0 or not log)
            line.setVisible(bool(ok))
            if ok:
                # InfiniteLine does not follow the plot's log mode: place it in log10 units.
                line.setValue(float(np.log10(value)) if log else float(value))
                line.label.setFormat(f"{self._title(name)} {value:.3g}")
                shown.append((float(value), line))
        shown.sort(key=lambda v: v[0])
        for i, (_value, line) in enumerate(shown):
            above = i == len(shown) - 1
            # A third line between the other two: its label (below it) ends at the plot's right
            # edge, so it cannot meet the lowest line's label (at the left) however close the lines are.
            middle = len(shown) == 3 and i == 1
            x_anchor = 1 if middle else 0
            line.label.anchors = [(x_anchor, 1), (x_anchor, 1)] if above else [(x_anchor, 0), (x_anchor, 0)]
            line.label.setPosition(0.98 if middle else 0.02)
            line.label.updatePosition()

    def _title(self, name: str) -> str:
        if name == "window PCA":
            return "window PCA"   # short: the plot may be narrow (equal budget: the verdict's tooltip says it)
        if name == "PCA" and "window PCA" in self.values:
            return "per-frame PCA"
        return f"{name} baseline"
