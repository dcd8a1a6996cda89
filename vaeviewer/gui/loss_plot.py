"""Live loss curves: per-batch (light), per-epoch train/valid (bold), recon/KL terms, baselines.

Two linked plots share the epoch axis: the VAE loss and its terms on top; the validation MSE
below, next to the PCA and mean-frame baselines (those are MSEs, so they live on the MSE plot).
Curves are created once and updated with setData; the per-batch curve uses peak downsampling
and clip-to-view so tens of thousands of batches stay cheap. Earlier runs stay, faded.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from vaeviewer.training import events as ev
from vaeviewer.training.verdict import HEADLINES

TRAIN = (31, 119, 180)
VALID = (255, 127, 14)
RECON = (44, 160, 44)
KL = (214, 39, 40)
MAX_EARLIER_RUNS = 4
# Colour of the verdict line by kind (training.verdict): learned / partly / nothing.
VERDICT_COLOURS = {"beats_pca": "#1a7f37", "below_pca": "#9a6700", "mean_frame": "#b00020", "unknown": "#555"}
REDRAW_MS = 400     # at most 2.5 redraws a second: each redraw holds the GIL the training thread needs


class GrowingArray:
    """An append-only float array that doubles its buffer (no per-append reallocation)."""

    def __init__(self, columns: int) -> None:
        self._data = np.empty((1024, columns), dtype=np.float64)
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self._data.shape[1])
        need = self.n + len(rows)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), self._data.shape[1]))
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n: need] = rows
        self.n = need

    def view(self) -> np.ndarray:
        return self._data[: self.n]

    def clear(self) -> None:
        self.n = 0


def _pen(color, width=1.0, alpha=255, dash=False):
    pen = pg.mkPen((*color, alpha), width=width)
    if dash:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


class LossPlot(QWidget):
    """Shows the losses of the current run and, faded, of earlier runs of this session."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_recon = QCheckBox("reconstruction")
        self.show_kl = QCheckBox("KL")
        self.log_y = QCheckBox("log scale")
        self.show_recon.setToolTip("per-epoch reconstruction term (train solid, valid dashed)")
        self.show_kl.setToolTip("per-epoch KL term (train solid, valid dashed)")
        self.graphics = pg.GraphicsLayoutWidget()
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0)
        self.mse_plot: pg.PlotItem = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.mse_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "loss")
        self.mse_plot.setLabel("left", "valid MSE")
        self.mse_plot.setLabel("bottom", "epoch")
        for p in (self.loss_plot, self.mse_plot):
            p.setClipToView(True)   # no grid: pyqtgraph grids cost ~8 ms a repaint in software rendering
        self.loss_plot.setDownsampling(auto=True, mode="peak")
        for p in (self.loss_plot, self.mse_plot):
            p.getAxis("left").enableAutoSIPrefix(False)
            p.getAxis("bottom").enableAutoSIPrefix(False)
        self.legend = self.loss_plot.addLegend(offset=(5, -5), labelTextSize="8pt")   # bottom left: losses fall
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 200))

        self.batch_curve = self.loss_plot.plot(pen=_pen(TRAIN, 1, 70), name="batch loss")
        self.train_curve = self.loss_plot.plot(pen=_pen(TRAIN, 2.5), symbol="o", symbolSize=5,
                                               symbolBrush=TRAIN, symbolPen=None, name="train loss")
        self.valid_curve = self.loss_plot.plot(pen=_pen(VALID, 2.5), symbol="o", symbolSize=5,
                                               symbolBrush=VALID, symbolPen=None, name="valid loss")
        # Added to the legend only while shown (see _update_visibility).
        self.recon_curves = (self.loss_plot.plot(pen=_pen(RECON, 1.5)),
                             self.loss_plot.plot(pen=_pen(RECON, 1.5, dash=True)))
        self.kl_curves = (self.loss_plot.plot(pen=_pen(KL, 1.5)),
                          self.loss_plot.plot(pen=_pen(KL, 1.5, dash=True)))
        self.mse_curve = self.mse_plot.plot(pen=_pen(VALID, 2.5), symbol="o", symbolSize=5,
                                            symbolBrush=VALID, symbolPen=None)
        self.pca_line = pg.InfiniteLine(angle=0, pen=_pen((120, 60, 160), 1.5, dash=True), movable=False,
                                        label="PCA", labelOpts={"position": 0.97, "color": (120, 60, 160), "anchors": [(1, 1), (1, 1)]})
        self.mean_line = pg.InfiniteLine(angle=0, pen=_pen((90, 90, 90), 1.5, dash=True), movable=False,
                                         label="mean frame", labelOpts={"position": 0.03, "color": (90, 90, 90), "anchors": [(0, 0), (0, 0)]})
        for line in (self.pca_line, self.mean_line):
            line.setVisible(False)
            self.mse_plot.addItem(line, ignoreBounds=False)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for box in (self.show_recon, self.show_kl, self.log_y):
            row.addWidget(box)
        row.addStretch(1)
        # Has the model learned more than the baselines? Updated every epoch (see training.verdict).
        self.verdict = QLabel("")
        self.verdict.setWordWrap(False)
        row.addWidget(self.verdict)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.graphics)

        self.show_recon.toggled.connect(self._update_visibility)
        self.show_kl.toggled.connect(self._update_visibility)
        self.log_y.toggled.connect(self._set_log)

        self._steps_per_epoch = 1
        self._epochs_planned = 1
        self._x_right = 0.0
        self._batches = GrowingArray(4)       # x, loss, reconstruction, kl
        self._epochs = GrowingArray(8)        # x, loss, recon, kl, val_loss, val_recon, val_kl, val_mse
        self._earlier: list[list[pg.PlotDataItem]] = []
        self.runs = 0
        self._baselines: dict[str, float] = {}
        self._redraw = qthrottled(self._redraw_now, timeout=REDRAW_MS)
        self._update_visibility()
        # The first batches' loss is often 10x the rest: auto-range y over the central 90% of
        # each curve's values so the spike does not flatten everything after it.
        self.loss_plot.getViewBox().enableAutoRange(axis="y", enable=0.9)

    # ---- events -----------------------------------------------------------------------
    def begin_run(self, started: ev.RunStarted) -> None:
        """A new run: fade the current curves into the background and start empty."""
        if self._batches.n or self._epochs.n:
            self._fade_current()
        self._batches.clear()
        self._epochs.clear()
        self._steps_per_epoch = max(1, int(started.steps_per_epoch))
        self._epochs_planned = max(1, int(started.epochs))
        self._x_right = 0.0
        self.runs += 1
        self._baselines = {}
        self._place_baselines()
        self.set_verdict(None)
        self._redraw_now()

    def set_baselines(self, baselines: ev.Baselines) -> None:
        self._baselines = {"PCA": baselines.pca_mse, "mean frame": baselines.mean_frame_mse}
        self._place_baselines()

    def _place_baselines(self) -> None:
        log = self.log_y.isChecked()
        for line, name in ((self.pca_line, "PCA"), (self.mean_line, "mean frame")):
            value = self._baselines.get(name)
            ok = value is not None and np.isfinite(value) and (value > 0 or not log)
            line.setVisible(bool(ok))
            if ok:
                # InfiniteLine does not follow the plot's log mode: place it in log10 units.
                line.setValue(float(np.log10(value)) if log else float(value))
                line.label.setFormat(f"{name} baseline {value:.4g}")

    def add_batches(self, batches: list[ev.BatchEnd]) -> None:
        if not batches:
            return
        spe = self._steps_per_epoch
        rows = np.array([(b.epoch + (b.step + 1) / spe, b.loss, b.reconstruction, b.kl) for b in batches])
        self._batches.extend(rows)
        self._redraw()

    def add_epoch(self, epoch: ev.EpochEnd) -> None:
        t, v = epoch.train, epoch.valid or {}
        nan = float("nan")
        self._epochs.extend(np.array([
            epoch.epoch + 1, t.get("loss", nan), t.get("reconstruction", nan), t.get("kl", nan),
            v.get("loss", nan), v.get("reconstruction", nan), v.get("kl", nan), v.get("mse", nan),
        ]))
        if epoch.verdict is not None:
            v = epoch.verdict
            self.set_verdict(v.kind, v.text, v.overfitting, epoch.epoch)
        self._redraw()

    def set_verdict(self, kind: str | None, text: str = "", overfitting: bool = False,
                    epoch: int | None = None) -> None:
        """Show the verdict briefly in the row above the plots; the whole text is the tooltip."""
        if kind is None:
            self.verdict.setText("")
            self.verdict.setToolTip("")
            return
        short = HEADLINES.get(kind, kind) + (" · memorising" if overfitting else "")
        where = f"epoch {epoch + 1}: " if epoch is not None else ""
        colour = VERDICT_COLOURS.get(kind, VERDICT_COLOURS["unknown"])
        self.verdict.setText(f"<span style='color:{colour}'><b>{where}{short}</b></span>")
        self.verdict.setToolTip(text)

    # ---- queries for tests/exports ----------------------------------------------------
    def batch_data(self) -> np.ndarray:
        return self._batches.view().copy()

    def epoch_data(self) -> np.ndarray:
        return self._epochs.view().copy()

    @property
    def earlier_runs(self) -> int:
        return len(self._earlier)

    # ---- drawing ----------------------------------------------------------------------
    def _redraw_now(self) -> None:
        b = self._batches.view()
        e = self._epochs.view()
        x_max = max(b[-1, 0] if len(b) else 0.0, e[-1, 0] if len(e) else 0.0)
        if x_max > self._x_right or self._x_right == 0.0:
            # Widen the epoch axis in steps (x1.5, up to the planned epochs) rather than on every
            # redraw: a changing range makes pyqtgraph rebuild the axis ticks each time.
            self._x_right = min(float(self._epochs_planned), max(1.0, x_max * 1.5))
            self.loss_plot.setXRange(0.0, self._x_right, padding=0.02)
        self.batch_curve.setData(b[:, 0], b[:, 1])
        self.train_curve.setData(e[:, 0], e[:, 1])
        self.valid_curve.setData(*_finite(e[:, 0], e[:, 4]))
        self.recon_curves[0].setData(e[:, 0], e[:, 2])
        self.recon_curves[1].setData(*_finite(e[:, 0], e[:, 5]))
        self.kl_curves[0].setData(e[:, 0], e[:, 3])
        self.kl_curves[1].setData(*_finite(e[:, 0], e[:, 6]))
        self.mse_curve.setData(*_finite(e[:, 0], e[:, 7]))

    def _fade_current(self) -> None:
        b = self._batches.view()
        e = self._epochs.view()
        if len(b) > 4000:   # keep the shape, not every batch
            b = b[:: len(b) // 2000]
        items = [
            self.loss_plot.plot(b[:, 0], b[:, 1], pen=_pen(TRAIN, 1, 25)),
            self.loss_plot.plot(e[:, 0], e[:, 1], pen=_pen(TRAIN, 2, 70)),
            self.loss_plot.plot(*_finite(e[:, 0], e[:, 4]), pen=_pen(VALID, 2, 70)),
            self.mse_plot.plot(*_finite(e[:, 0], e[:, 7]), pen=_pen(VALID, 2, 70)),
        ]
        for item in items:
            item.setZValue(-10)
        self._earlier.append(items)
        while len(self._earlier) > MAX_EARLIER_RUNS:
            for item in self._earlier.pop(0):
                item.getViewBox().removeItem(item) if item.getViewBox() else None

    def _update_visibility(self) -> None:
        for box, curves, name in ((self.show_recon, self.recon_curves, "reconstruction"),
                                  (self.show_kl, self.kl_curves, "KL")):
            on = box.isChecked()
            for c in curves:
                c.setVisible(on)
            self.legend.removeItem(curves[0])
            if on:
                self.legend.addItem(curves[0], name)

    def _set_log(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.mse_plot.setLogMode(y=on)
        self._place_baselines()


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(y)
    return x[keep], y[keep]
