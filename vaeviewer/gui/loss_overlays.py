"""Runs overlaid on the validation-MSE plot (ticked in the Runs panel), one colour each.

Each overlaid run is named in a legend row of its own just above the MSE plot (it never covers a
curve); with runs overlaid the MSE plot takes the larger share of the height. After every change
the owner is told (`changed`) so it can refit its axes to the overlaid curves.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg

from vaeviewer.gui.curve_data import finite_points
from vaeviewer.gui.curve_style import curve_pen

LEGEND_COLUMNS = 3
LEGEND_ROW_PX = 18


class RunOverlays:
    """The overlaid runs of one MSE plot and their legend row in the plots' layout."""

    def __init__(self, graphics: pg.GraphicsLayoutWidget, plot: pg.PlotItem, legend_row: int,
                 plot_rows: tuple[int, int], changed: Callable[[], None]) -> None:
        """The legend goes in row `legend_row` of `graphics`; `plot_rows` are the rows of the plot
        above it and of `plot`, which share the height."""
        self.graphics, self.plot, self.changed = graphics, plot, changed
        self.legend_row, self.plot_rows = legend_row, plot_rows
        self.legend = pg.LegendItem(colCount=LEGEND_COLUMNS, labelTextSize="8pt", horSpacing=12, verSpacing=-6)
        graphics.addItem(self.legend, row=legend_row, col=0)
        self._runs: dict = {}    # key -> (label, PlotDataItem, x, y)
        self._size_legend()

    def set(self, key, label: str, epochs, val_mse, colour) -> None:
        """Overlay a run's validation MSE per epoch (epochs count from 1) in `colour`, named `label`.

        Replaces the overlay of the same `key`.
        """
        self.remove(key, refit=False)
        x, y = finite_points(np.asarray(epochs, dtype=np.float64), np.asarray(val_mse, dtype=np.float64))
        item = self.plot.plot(x, y, pen=curve_pen(colour, 2), symbol="s", symbolSize=6, symbolBrush=colour,
                              symbolPen=None)
        self._runs[key] = (label, item, x, y)
        self._update()

    def remove(self, key, refit: bool = True) -> None:
        entry = self._runs.pop(key, None)
        if entry is not None:
            self.plot.removeItem(entry[1])
        if refit:
            self._update()

    def clear(self) -> None:
        for key in list(self._runs):
            self.remove(key, refit=False)
        self._update()

    def as_dict(self) -> dict:
        """key -> (label, epochs, val_mse, colour) of every overlaid run, in the order added."""
        return {k: (label, x.copy(), y.copy(), item.opts["pen"].color().getRgb()[:3])
                for k, (label, item, x, y) in self._runs.items()}

    def curves(self) -> list[np.ndarray]:
        """The overlaid val MSE values, one array per run (to fit the y axis to)."""
        return [y for _l, _i, _x, y in self._runs.values()]

    def last_epoch(self) -> float:
        """The furthest epoch any overlaid run reached (0 with none)."""
        return max([0.0] + [float(x[-1]) for _l, _i, x, _y in self._runs.values() if len(x)])

    def _update(self) -> None:
        self.legend.clear()
        for label, item, _x, _y in self._runs.values():
            self.legend.addItem(item, label)
        self._size_legend()
        self.changed()

    def _size_legend(self) -> None:
        rows = -(-len(self._runs) // LEGEND_COLUMNS)
        layout = self.graphics.ci.layout
        above, below = self.plot_rows
        # With runs overlaid the comparison is in the MSE plot: it gets the larger share.
        layout.setRowStretchFactor(above, 2 if rows else 3)
        layout.setRowStretchFactor(below, 3 if rows else 2)
        self.legend.setVisible(rows > 0)
        layout.setRowMinimumHeight(self.legend_row, rows * LEGEND_ROW_PX)
        layout.setRowMaximumHeight(self.legend_row, rows * LEGEND_ROW_PX)
