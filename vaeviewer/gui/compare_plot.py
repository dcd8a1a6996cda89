"""compare.png without matplotlib: pyqtgraph's image exporter, offscreen when there is no display.

`vaeviewer compare` is headless; it draws here only when matplotlib is not installed (pyqtgraph
and Qt are vaeviewer's own dependencies). `series` is `training.compare.plot_series`'s dict.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# Distinct colours for up to 10 rows (matplotlib's tab10), then they repeat.
ROW_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
               (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
BASELINE_COLOUR = (90, 90, 90)


def _application():
    """The running QApplication, or a new one (offscreen when no display is there to show on)."""
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app


def draw_compare_png(path: str | Path, series: dict[str, Any], width: int = 1000, height: int = 800) -> bool:
    """Validation MSE per epoch of every row with the baselines (top); per-frame validation error (bottom)."""
    import pyqtgraph as pg
    import pyqtgraph.exporters  # noqa: F401  (registers ImageExporter)

    _application()
    # White paper for a file; the app's own options are put back afterwards.
    saved = {name: pg.getConfigOption(name) for name in ("antialias", "background", "foreground")}
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    try:
        return _draw(pg, path, series, width, height)
    finally:
        pg.setConfigOptions(**saved)


def _draw(pg, path, series, width: int, height: int) -> bool:
    from vaeviewer.atomic import atomic_target

    layout = pg.GraphicsLayoutWidget()
    layout.resize(width, height)
    # Never shown: lay the plots out on a page of the requested size by hand.
    layout.setSceneRect(0, 0, width, height)
    layout.ci.setGeometry(pg.QtCore.QRectF(0, 0, width, height))
    top = layout.addPlot(row=0, col=0, title="validation MSE per epoch, with the baselines (dashed)")
    bottom = layout.addPlot(row=1, col=0, title="per-frame validation error along the data")
    for plot in (top, bottom):
        plot.getAxis("bottom").setHeight(42)   # room for the tick labels and the axis title
    top.setLabel("bottom", "epoch")
    top.setLabel("left", "val MSE")
    bottom.setLabel("bottom", "validation frame (parts in order)")
    bottom.setLabel("left", "MSE")
    top_legend = top.addLegend(offset=(-10, 10))
    bottom.addLegend(offset=(-10, 10))
    values = []
    for i, row in enumerate(series["rows"]):
        colour = ROW_COLOURS[i % len(ROW_COLOURS)]
        y = np.asarray(row["val_mse"], dtype=np.float64)
        x = np.asarray(row["epochs"], dtype=np.float64)
        keep = np.isfinite(y)
        top.plot(x[keep], y[keep], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=7,
                 symbolBrush=colour, symbolPen=None, name=row["label"])
        values.extend(y[keep].tolist())
        if row.get("frame_position") is not None and len(row["frame_position"]):
            bottom.plot(np.asarray(row["frame_position"], np.float64), np.asarray(row["frame_error"], np.float64),
                        pen=pg.mkPen(colour, width=1), name=row["label"])
    styles = [pg.QtCore.Qt.PenStyle.DashLine, pg.QtCore.Qt.PenStyle.DotLine, pg.QtCore.Qt.PenStyle.DashDotLine]
    for j, (name, value) in enumerate(series["baselines"].items()):
        pen = pg.mkPen(BASELINE_COLOUR, width=1.5, style=styles[j % len(styles)])
        line = pg.InfiniteLine(pos=value, angle=0, pen=pen, movable=False,
                               label=f"{name} {value:.4g}",
                               labelOpts={"position": 0.05 + 0.3 * (j % 3), "color": BASELINE_COLOUR,
                                          "anchors": [(0, 1), (0, 1)]})
        top.addItem(line)
        values.append(value)
    if top_legend is not None and not series["rows"]:
        top_legend.setVisible(False)
    if values:
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.15 or max(abs(hi) * 0.05, 1e-9)
        top.setYRange(lo - pad, hi + pad, padding=0)
    n_epochs = max((len(r["epochs"]) for r in series["rows"]), default=1)
    top.setXRange(0.5, max(1, n_epochs) + 0.5, padding=0)
    exporter = pg.exporters.ImageExporter(layout.scene())
    exporter.parameters()["width"] = width
    with atomic_target(path, suffix=".png") as tmp:
        exporter.export(str(tmp))
    layout.close()
    layout.deleteLater()
    return True
