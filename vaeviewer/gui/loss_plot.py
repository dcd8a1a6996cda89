"""Live loss curves: per-batch (light), per-epoch train/valid (bold), recon/KL terms, baselines.

Two linked plots share the epoch axis: the VAE loss and its terms on top; the validation MSE
below, next to the PCA and mean-frame baselines (those are MSEs, so they live on the MSE plot), and for
window models PCA over whole windows, the baseline at equal budget (K numbers per window).
Curves are created once and updated with setData; the per-batch curve uses peak downsampling
and clip-to-view so tens of thousands of batches stay cheap. Earlier runs stay, faded.
Runs ticked in the Runs panel are overlaid on the MSE plot (`set_overlay`, loss_overlays); the
baselines are dashed lines (loss_baselines); the verdict is a line above the plots (verdict_label).

Layout: the legend is a row of its own above the plots (it never covers a curve); both left
axes have one fixed width so the two epoch axes line up; the loss plot's y range holds every
batch except the first few of the run (their loss is often 10x the rest).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from vaeviewer.gui.curve_data import GrowingArray, finite_points, span
from vaeviewer.gui.curve_style import BASELINE_COLOURS, KL, RECON, TRAIN, VALID, curve_pen
from vaeviewer.gui.loss_baselines import BaselineLines, baseline_values
from vaeviewer.gui.loss_overlays import RunOverlays
from vaeviewer.gui.verdict_label import VERDICT_COLOURS, VerdictLabel
from vaeviewer.training import events as ev

# Public here too: other modules and tests import them from loss_plot.
__all__ = ["LossPlot", "GrowingArray", "VERDICT_COLOURS", "BASELINE_COLOURS", "TRAIN", "VALID", "RECON", "KL",
           "MAX_EARLIER_RUNS", "LEFT_AXIS_WIDTH", "SPIKE_BATCHES", "REDRAW_MS"]

MAX_EARLIER_RUNS = 4
LEFT_AXIS_WIDTH = 64   # pixels: the same for both plots, so their epoch axes line up
SPIKE_BATCHES = 10     # the run's first batches may leave the loss plot at the top (the early spike)
REDRAW_MS = 400     # at most 2.5 redraws a second: each redraw holds the GIL the training thread needs


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
        # The legend has a row of its own above the plots: inside, it covered the curves.
        self.legend = pg.LegendItem(colCount=5, labelTextSize="8pt", horSpacing=12, verSpacing=-6)
        self.graphics.addItem(self.legend, row=0, col=0)
        self.graphics.ci.layout.setRowMaximumHeight(0, 22)
        self.graphics.ci.layout.setSpacing(2)
        self.graphics.ci.setContentsMargins(2, 0, 6, 2)
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(row=1, col=0)
        self.mse_plot: pg.PlotItem = self.graphics.addPlot(row=3, col=0)
        # The overlaid runs' legend: a row between the two plots, empty (0 px) without overlays.
        self.run_overlays = RunOverlays(self.graphics, self.mse_plot, legend_row=2, plot_rows=(1, 3),
                                        changed=self._overlays_changed)
        self.overlay_legend = self.run_overlays.legend
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
            p.getAxis("left").setWidth(LEFT_AXIS_WIDTH)

        self.batch_curve = self.loss_plot.plot(pen=curve_pen(TRAIN, 1, 70))
        self.train_curve = self.loss_plot.plot(pen=curve_pen(TRAIN, 2.5), symbol="o", symbolSize=5,
                                               symbolBrush=TRAIN, symbolPen=None)
        self.valid_curve = self.loss_plot.plot(pen=curve_pen(VALID, 2.5), symbol="o", symbolSize=5,
                                               symbolBrush=VALID, symbolPen=None)
        for curve, name in ((self.batch_curve, "batch loss"), (self.train_curve, "train loss"),
                            (self.valid_curve, "valid loss")):
            self.legend.addItem(curve, name)
        # Added to the legend only while shown (see _update_visibility).
        self.recon_curves = (self.loss_plot.plot(pen=curve_pen(RECON, 1.5)),
                             self.loss_plot.plot(pen=curve_pen(RECON, 1.5, dash=True)))
        self.kl_curves = (self.loss_plot.plot(pen=curve_pen(KL, 1.5)),
                          self.loss_plot.plot(pen=curve_pen(KL, 1.5, dash=True)))
        self.mse_curve = self.mse_plot.plot(pen=curve_pen(VALID, 2.5), symbol="o", symbolSize=5,
                                            symbolBrush=VALID, symbolPen=None)
        self.baselines = BaselineLines(self.mse_plot)
        self.pca_line, self.mean_line, self.window_pca_line = (self.baselines.lines[name] for name in
                                                              ("PCA", "mean frame", "window PCA"))

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for box in (self.show_recon, self.show_kl, self.log_y):
            row.addWidget(box)
        row.addStretch(1)
        # Has the model learned more than the baselines? Updated every epoch (see training.verdict).
        # Its own line under the switches, the panel's whole width; cut to it if the panel is narrow.
        self.verdict = VerdictLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.verdict)
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
        self._redraw = qthrottled(self._redraw_now, timeout=REDRAW_MS)
        self._update_visibility()
        # The y range is set in _fit_loss_y (every batch but the first spike), until the user
        # pans or zooms; the plot's "A" button hands it back.
        self.follow_y = True
        for plot in (self.loss_plot, self.mse_plot):
            vb = plot.getViewBox()
            vb.disableAutoRange(axis="y")
            vb.sigRangeChangedManually.connect(self._on_manual_range)
            plot.autoBtn.clicked.connect(self._on_auto_button)
        self.mse_plot.getViewBox().sigResized.connect(lambda *_a: self._fit_mse_y())

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
        self.baselines.place({}, self.log_y.isChecked())
        self.set_verdict(None)
        self._redraw_now()

    def set_baselines(self, baselines: ev.Baselines) -> None:
        self.baselines.place(baseline_values(baselines), self.log_y.isChecked())
        self._fit_mse_y()

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
                    epoch: int | None = None, where: str | None = None) -> None:
        """Show the verdict briefly in the row above the plots (see VerdictLabel.set_verdict)."""
        self.verdict.set_verdict(kind, text, overfitting, epoch, where)

    # ---- overlaid runs (the Runs panel) -------------------------------------------------
    def set_overlay(self, key, label: str, epochs, val_mse, colour) -> None:
        """Overlay a run's validation MSE per epoch (epochs count from 1) in `colour`, named `label`.

        Replaces the overlay of the same `key`; the live run and the baselines stay as they are.
        """
        self.run_overlays.set(key, label, epochs, val_mse, colour)

    def remove_overlay(self, key, refit: bool = True) -> None:
        self.run_overlays.remove(key, refit)

    def clear_overlays(self) -> None:
        self.run_overlays.clear()

    def overlays(self) -> dict:
        """key -> (label, epochs, val_mse, colour) of every overlaid run, in the order added."""
        return self.run_overlays.as_dict()

    def _overlays_changed(self) -> None:
        self._set_x_range()
        self._fit_mse_y()

    def _set_x_range(self) -> None:
        """The epoch axis: the live run's (see _redraw_now), widened to every overlaid run."""
        right = max(self._x_right, self.run_overlays.last_epoch())
        if right > 0:
            # a little room past the last epoch: its marker is not cut by the plot's edge
            self.loss_plot.setXRange(0.0, right * 1.04, padding=0.02)

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
            self._set_x_range()
        self.batch_curve.setData(b[:, 0], b[:, 1])
        self.train_curve.setData(e[:, 0], e[:, 1])
        self.valid_curve.setData(*finite_points(e[:, 0], e[:, 4]))
        self.recon_curves[0].setData(e[:, 0], e[:, 2])
        self.recon_curves[1].setData(*finite_points(e[:, 0], e[:, 5]))
        self.kl_curves[0].setData(e[:, 0], e[:, 3])
        self.kl_curves[1].setData(*finite_points(e[:, 0], e[:, 6]))
        self.mse_curve.setData(*finite_points(e[:, 0], e[:, 7]))
        self._fit_loss_y()

    def _fit_loss_y(self) -> None:
        """Fit the loss plot's y range to what is drawn, but the run's first few batches.

        pyqtgraph's auto range over the central 90% of the values cut the batch curve off at
        the top and at the bottom; this range holds all of it except the early spike.
        """
        if not self.follow_y:
            return
        b, e = self._batches.view(), self._epochs.view()
        columns = ([1, 4] + ([2, 5] if self.show_recon.isChecked() else [])
                   + ([3, 6] if self.show_kl.isChecked() else []))
        curves = [e[:, c] for c in columns]
        batch = b[:, 1]
        # The early spike: any of the run's first batches above twice the highest of the rest.
        head, rest = batch[:SPIKE_BATCHES], batch[SPIKE_BATCHES:]
        rest_top = np.nanmax(rest) if np.isfinite(rest).any() else np.inf
        head = head[~(head > 2 * rest_top)]
        fitted = span([batch, *curves], self.log_y.isChecked(), high=[head, rest, *curves])
        if fitted is not None:
            self.loss_plot.setYRange(*fitted, padding=0.05)
        self._fit_mse_y()

    def _fit_mse_y(self) -> None:
        """Fit the MSE plot to its curve and baselines, leaving room for the baselines' labels."""
        if not self.follow_y:
            return
        e = self._epochs.view()
        log = self.log_y.isChecked()
        baselines = np.array([v for v in self.baselines.values.values() if v is not None], dtype=np.float64)
        fitted = span([e[:, 7], baselines, *self.run_overlays.curves()], log)
        if fitted is None:
            return
        lo, hi = fitted
        vb = self.mse_plot.getViewBox()
        label_px = self.baselines.label_height() + 4
        frac = min(0.4, label_px / max(30.0, vb.height()))    # of the visible height, per side
        pad = (hi - lo) * frac / max(0.2, 1 - 2 * frac)
        self.mse_plot.setYRange(lo - pad, hi + pad, padding=0)

    def _on_manual_range(self, *_args) -> None:
        self.follow_y = False

    def _on_auto_button(self, *_args) -> None:
        self.follow_y = True
        self._fit_loss_y()

    def _fade_current(self) -> None:
        b = self._batches.view()
        e = self._epochs.view()
        if len(b) > 4000:   # keep the shape, not every batch
            b = b[:: len(b) // 2000]
        items = [
            self.loss_plot.plot(b[:, 0], b[:, 1], pen=curve_pen(TRAIN, 1, 25)),
            self.loss_plot.plot(e[:, 0], e[:, 1], pen=curve_pen(TRAIN, 2, 70)),
            self.loss_plot.plot(*finite_points(e[:, 0], e[:, 4]), pen=curve_pen(VALID, 2, 70)),
            self.mse_plot.plot(*finite_points(e[:, 0], e[:, 7]), pen=curve_pen(VALID, 2, 70)),
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
        if hasattr(self, "follow_y"):
            self._fit_loss_y()

    def _set_log(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.mse_plot.setLogMode(y=on)
        self._set_x_range()       # setLogMode re-fits x to the data: keep the epoch axis as it was
        self.baselines.place(self.baselines.values, on)
        self._fit_loss_y()
