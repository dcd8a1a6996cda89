"""Live loss curves: per-batch (light), per-epoch train/valid (bold), recon/KL terms, baselines.

Two linked plots share the epoch axis: the VAE loss and its terms on top; the validation MSE
below, next to the PCA and mean-frame baselines (those are MSEs, so they live on the MSE plot), and for
window models PCA over whole windows, the baseline at equal budget (K numbers per window).
Curves are created once and updated with setData; the per-batch curve uses peak downsampling
and clip-to-view so tens of thousands of batches stay cheap. Earlier runs stay, faded.
Runs ticked in the Runs panel are overlaid on the MSE plot (`set_overlay`), one colour each,
named in a legend row of their own just above that plot.

Layout: the legend is a row of its own above the plots (it never covers a curve); both left
axes have one fixed width so the two epoch axes line up; the loss plot's y range holds every
batch except the first few of the run (their loss is often 10x the rest); the baselines'
labels sit above the higher line and below the lower one, so they never overlap.
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
LEFT_AXIS_WIDTH = 64   # pixels: the same for both plots, so their epoch axes line up
SPIKE_BATCHES = 10     # the run's first batches may leave the loss plot at the top (the early spike)
BASELINE_COLOURS = {"PCA": (120, 60, 160), "mean frame": (90, 90, 90), "window PCA": (23, 140, 150)}
REDRAW_MS = 400     # at most 2.5 redraws a second: each redraw holds the GIL the training thread needs
OVERLAY_LEGEND_COLUMNS = 3
OVERLAY_LEGEND_ROW_PX = 18


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
        # The legend has a row of its own above the plots: inside, it covered the curves.
        self.legend = pg.LegendItem(colCount=5, labelTextSize="8pt", horSpacing=12, verSpacing=-6)
        self.graphics.addItem(self.legend, row=0, col=0)
        self.graphics.ci.layout.setRowMaximumHeight(0, 22)
        self.graphics.ci.layout.setSpacing(2)
        self.graphics.ci.setContentsMargins(2, 0, 6, 2)
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(row=1, col=0)
        # The overlaid runs' legend: a row between the two plots, empty (0 px) without overlays.
        self.overlay_legend = pg.LegendItem(colCount=OVERLAY_LEGEND_COLUMNS, labelTextSize="8pt", horSpacing=12,
                                            verSpacing=-6)
        self.graphics.addItem(self.overlay_legend, row=2, col=0)
        self.mse_plot: pg.PlotItem = self.graphics.addPlot(row=3, col=0)
        self._overlays: dict = {}    # key -> (label, PlotDataItem, x, y)
        self._size_overlay_legend()
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

        self.batch_curve = self.loss_plot.plot(pen=_pen(TRAIN, 1, 70))
        self.train_curve = self.loss_plot.plot(pen=_pen(TRAIN, 2.5), symbol="o", symbolSize=5,
                                               symbolBrush=TRAIN, symbolPen=None)
        self.valid_curve = self.loss_plot.plot(pen=_pen(VALID, 2.5), symbol="o", symbolSize=5,
                                               symbolBrush=VALID, symbolPen=None)
        for curve, name in ((self.batch_curve, "batch loss"), (self.train_curve, "train loss"),
                            (self.valid_curve, "valid loss")):
            self.legend.addItem(curve, name)
        # Added to the legend only while shown (see _update_visibility).
        self.recon_curves = (self.loss_plot.plot(pen=_pen(RECON, 1.5)),
                             self.loss_plot.plot(pen=_pen(RECON, 1.5, dash=True)))
        self.kl_curves = (self.loss_plot.plot(pen=_pen(KL, 1.5)),
                          self.loss_plot.plot(pen=_pen(KL, 1.5, dash=True)))
        self.mse_curve = self.mse_plot.plot(pen=_pen(VALID, 2.5), symbol="o", symbolSize=5,
                                            symbolBrush=VALID, symbolPen=None)
        self.pca_line = pg.InfiniteLine(angle=0, pen=_pen(BASELINE_COLOURS["PCA"], 1.5, dash=True), movable=False,
                                        label="PCA", labelOpts={"position": 0.02, "color": BASELINE_COLOURS["PCA"]})
        self.mean_line = pg.InfiniteLine(angle=0, pen=_pen(BASELINE_COLOURS["mean frame"], 1.5, dash=True),
                                         movable=False, label="mean frame",
                                         labelOpts={"position": 0.02, "color": BASELINE_COLOURS["mean frame"]})
        # Window models: PCA with K components per window of T frames, the baseline at equal budget.
        self.window_pca_line = pg.InfiniteLine(angle=0, pen=_pen(BASELINE_COLOURS["window PCA"], 1.5, dash=True),
                                               movable=False, label="window PCA",
                                               labelOpts={"position": 0.02, "color": BASELINE_COLOURS["window PCA"]})
        for line in (self.pca_line, self.mean_line, self.window_pca_line):
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
        self._baselines = {}
        self._place_baselines()
        self.set_verdict(None)
        self._redraw_now()

    def set_baselines(self, baselines: ev.Baselines) -> None:
        self._baselines = {"PCA": baselines.pca_mse, "mean frame": baselines.mean_frame_mse}
        window_pca = getattr(baselines, "window_pca_mse", None)
        if window_pca is not None:
            self._baselines["window PCA"] = window_pca
        self._place_baselines()
        self._fit_mse_y()

    def _place_baselines(self) -> None:
        log = self.log_y.isChecked()
        shown = []
        for line, name in ((self.pca_line, "PCA"), (self.mean_line, "mean frame"),
                           (self.window_pca_line, "window PCA")):
            value = self._baselines.get(name)
            ok = value is not None and np.isfinite(value) and (value > 0 or not log)
            line.setVisible(bool(ok))
            if ok:
                # InfiniteLine does not follow the plot's log mode: place it in log10 units.
                line.setValue(float(np.log10(value)) if log else float(value))
                title = f"{name} baseline"
                if name == "window PCA":
                    title = "window PCA (equal budget)"
                elif name == "PCA" and "window PCA" in self._baselines:
                    title = "per-frame PCA"
                line.label.setFormat(f"{title} {value:.4g}")
                shown.append((float(value), name, line))
        # The higher line's label above it, the lower's below: however close the baselines,
        # the labels overlap neither each other nor the dashed lines.
        shown.sort(key=lambda v: v[0])
        for i, (_value, name, line) in enumerate(shown):
            above = i == len(shown) - 1
            line.label.anchors = [(0, 1), (0, 1)] if above else [(0, 0), (0, 0)]
            # A third line between the other two: its label (below it) sits further right, so it
            # cannot meet the lowest line's label however close the two lines are.
            middle = len(shown) == 3 and i == 1
            line.label.setPosition(0.4 if middle else 0.02)
            line.label.updatePosition()

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
        """Show the verdict briefly in the row above the plots; the whole text is the tooltip.

        `where` names what was judged (default "epoch N: " for `epoch`, else nothing).
        """
        if kind is None:
            self.verdict.setText("")
            self.verdict.setToolTip("")
            return
        short = HEADLINES.get(kind, kind) + (" · memorising" if overfitting else "")
        if where is None:
            where = f"epoch {epoch + 1}: " if epoch is not None else ""
        colour = VERDICT_COLOURS.get(kind, VERDICT_COLOURS["unknown"])
        self.verdict.setText(f"<span style='color:{colour}'><b>{where}{short}</b></span>")
        self.verdict.setToolTip(text)

    # ---- overlaid runs (the Runs panel) -------------------------------------------------
    def set_overlay(self, key, label: str, epochs, val_mse, colour) -> None:
        """Overlay a run's validation MSE per epoch (epochs count from 1) in `colour`, named `label`.

        Replaces the overlay of the same `key`; the live run and the baselines stay as they are.
        """
        self.remove_overlay(key, refit=False)
        x, y = _finite(np.asarray(epochs, dtype=np.float64), np.asarray(val_mse, dtype=np.float64))
        item = self.mse_plot.plot(x, y, pen=_pen(colour, 2), symbol="s", symbolSize=6, symbolBrush=colour,
                                  symbolPen=None)
        self._overlays[key] = (label, item, x, y)
        self._overlays_changed()

    def remove_overlay(self, key, refit: bool = True) -> None:
        entry = self._overlays.pop(key, None)
        if entry is not None:
            self.mse_plot.removeItem(entry[1])
        if refit:
            self._overlays_changed()

    def clear_overlays(self) -> None:
        for key in list(self._overlays):
            self.remove_overlay(key, refit=False)
        self._overlays_changed()

    def overlays(self) -> dict:
        """key -> (label, epochs, val_mse, colour) of every overlaid run, in the order added."""
        return {k: (label, x.copy(), y.copy(), item.opts["pen"].color().getRgb()[:3])
                for k, (label, item, x, y) in self._overlays.items()}

    def _overlays_changed(self) -> None:
        self.overlay_legend.clear()
        for label, item, _x, _y in self._overlays.values():
            self.overlay_legend.addItem(item, label)
        self._size_overlay_legend()
        self._set_x_range()
        self._fit_mse_y()

    def _size_overlay_legend(self) -> None:
        rows = -(-len(self._overlays) // OVERLAY_LEGEND_COLUMNS)
        # With runs overlaid the comparison is in the MSE plot: it gets the larger share.
        self.graphics.ci.layout.setRowStretchFactor(1, 2 if rows else 3)
        self.graphics.ci.layout.setRowStretchFactor(3, 3 if rows else 2)
        self.overlay_legend.setVisible(rows > 0)
        self.graphics.ci.layout.setRowMinimumHeight(2, rows * OVERLAY_LEGEND_ROW_PX)
        self.graphics.ci.layout.setRowMaximumHeight(2, rows * OVERLAY_LEGEND_ROW_PX)

    def _set_x_range(self) -> None:
        """The epoch axis: the live run's (see _redraw_now), widened to every overlaid run."""
        right = max([self._x_right] + [float(x[-1]) for _l, _i, x, _y in self._overlays.values() if len(x)])
        if right > 0:
            self.loss_plot.setXRange(0.0, right, padding=0.02)

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
        self.valid_curve.setData(*_finite(e[:, 0], e[:, 4]))
        self.recon_curves[0].setData(e[:, 0], e[:, 2])
        self.recon_curves[1].setData(*_finite(e[:, 0], e[:, 5]))
        self.kl_curves[0].setData(e[:, 0], e[:, 3])
        self.kl_curves[1].setData(*_finite(e[:, 0], e[:, 6]))
        self.mse_curve.setData(*_finite(e[:, 0], e[:, 7]))
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
        span = _span([batch, *curves], self.log_y.isChecked(), high=[head, rest, *curves])
        if span is not None:
            self.loss_plot.setYRange(*span, padding=0.05)
        self._fit_mse_y()

    def _fit_mse_y(self) -> None:
        """Fit the MSE plot to its curve and baselines, leaving room for the baselines' labels."""
        if not self.follow_y:
            return
        e = self._epochs.view()
        log = self.log_y.isChecked()
        values = [e[:, 7], np.array([v for v in self._baselines.values() if v is not None], dtype=np.float64),
                  *[y for _l, _i, _x, y in self._overlays.values()]]
        span = _span(values, log)
        if span is None:
            return
        lo, hi = span
        vb = self.mse_plot.getViewBox()
        label_px = self.pca_line.label.boundingRect().height() + 4
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
        if hasattr(self, "follow_y"):
            self._fit_loss_y()

    def _set_log(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.mse_plot.setLogMode(y=on)
        self._set_x_range()       # setLogMode re-fits x to the data: keep the epoch axis as it was
        self._place_baselines()
        self._fit_loss_y()


def _span(parts: list, log: bool, high: list | None = None) -> tuple[float, float] | None:
    """(min of `parts`, max of `high` or `parts`) over their finite values (log10 and > 0 in
    log mode); a zero-width span is widened; None when there is nothing to fit."""
    def values(ps):
        v = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1) for p in ps]) if ps else np.zeros(0)
        v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
        return np.log10(v) if log else v

    lo_v, hi_v = values(parts), values(high if high is not None else parts)
    if lo_v.size == 0 or hi_v.size == 0:
        return None
    lo, hi = float(lo_v.min()), float(hi_v.max())
    if not hi > lo:
        half = max(abs(lo) * 0.05, 1e-12) if not log else 0.1
        lo, hi = lo - half, hi + half
    return lo, hi


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(y)
    return x[keep], y[keep]
