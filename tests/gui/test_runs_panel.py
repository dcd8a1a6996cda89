"""The Runs panel on synthetic runs: its rows, their settings and verdicts, the overlaid curves."""

from PyQt6.QtCore import QObject, Qt, pyqtSignal

from vaeviewer.gui.loss_plot import LossPlot
from vaeviewer.gui.runs_panel import RUN_COLOURS, RunsPanel
from vaeviewer.training import events as ev


class Reports(QObject):
    """The three RunController signals the panel listens to."""

    runStarted = pyqtSignal(object)
    epochEnd = pyqtSignal(object)
    runFinished = pyqtSignal(object)

    def run(self, config, val_mse, verdict="beats_pca", reason="completed", seconds=2.5, **extra):
        self.runStarted.emit(ev.RunStarted(config.to_dict(), "CPU", "float32", 2, (16, 20), 100, 20, 3,
                                           len(val_mse)))
        for i, v in enumerate(val_mse):
            self.epochEnd.emit(ev.EpochEnd(i, {"loss": 1.0}, {"loss": 1.0, "mse": v}, 1.0))
        summary = {"epochs": len(val_mse), "steps": 3 * len(val_mse), "val_mse": min(val_mse, default=None),
                   "val_kl": 2.0, "pca_mse": 0.02, "mean_frame_mse": 0.05,
                   "window_pca_mse": 0.03 if config.uses_windows else None, "samples_per_s": 100.0,
                   "seconds": seconds, "reason": reason, "out": None, **extra}
        if val_mse:
            summary.update(verdict=verdict, verdict_text=f"the whole verdict: {verdict}")
        self.runFinished.emit(ev.RunFinished(reason, "done", summary))


def test_rows_name_the_differing_settings_and_ticking_overlays_a_curve(qtbot, tiny):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(620, 480)
    plot.show()
    reports = Reports()
    panel = RunsPanel(reports, plot)
    qtbot.addWidget(panel)
    reports.run(tiny(variant="conv2d"), [0.03, 0.025])
    assert [r.settings for r in panel.runs] == ["conv2d"]          # one run: nothing differs but its name
    reports.run(tiny(variant="conv3d"), [0.04, 0.02, 0.018], verdict="below_pca")
    reports.run(tiny(variant="conv3d", latent_dim=3), [0.05], reason="stopped")
    reports.run(tiny(variant="convlstm"), [], reason="stopped")   # stopped before an epoch: no row
    assert len(panel.runs) == 3 and panel.table.rowCount() == 6        # each run: its cells, its verdict below
    assert panel.cells(1) == {"run": "1", "settings": "conv2d, latent_dim 2", "best val MSE": "0.02500",
                              "seconds": "2.5", "verdict": "beats PCA"}
    two, three = panel.cells(2), panel.cells(3)
    assert (two["settings"], two["best val MSE"]) == ("conv3d T=4, latent_dim 2", "0.01800")
    assert two["verdict"] == "better than the mean frame, not than PCA; beats window PCA"
    assert three["settings"] == "conv3d T=4, latent_dim 3" and three["verdict"].endswith("(stopped)")
    assert panel.verdict_item(2).toolTip() == "the whole verdict: below_pca"
    assert plot.overlays() == {}

    panel.table.item(2, 0).setCheckState(Qt.CheckState.Checked)           # as a click on run 2's box does
    (label, x, y, colour), = plot.overlays().values()
    assert label == "2: conv3d T=4, latent_dim 2" and list(x) == [1, 2, 3] and list(y) == [0.04, 0.02, 0.018]
    assert colour == RUN_COLOURS[1] and plot.overlay_legend.isVisible()
    assert plot.loss_plot.getViewBox().viewRange()[0][1] >= 3          # the epoch axis holds the overlay
    lo, hi = plot.mse_plot.getViewBox().viewRange()[1]
    assert lo < 0.018 and hi > 0.04
    panel.set_checked(1, True)
    assert list(plot.overlays()) == [1, 2] and panel.checked() == [1, 2]
    qtbot.wait(20)
    legend = plot.overlay_legend.sceneBoundingRect()
    for vb in (plot.loss_plot.getViewBox(), plot.mse_plot.getViewBox()):
        assert not legend.intersects(vb.sceneBoundingRect())         # the legend covers no curve
    panel.table.item(2, 0).setCheckState(Qt.CheckState.Unchecked)
    assert list(plot.overlays()) == [1] and plot.mse_plot.getViewBox().viewRange()[1][1] < 0.04   # refitted
    panel.set_checked(1, False)
    assert plot.overlays() == {} and not plot.overlay_legend.isVisible()
    # A finished run opened from its directory (File > Open run) is listed too, and says so.
    reports.run(tiny(variant="conv2d"), [0.03], seconds=None, opened="/runs/yesterday")
    assert panel.cells(4)["settings"] == "conv2d, latent_dim 2, opened yesterday" and panel.cells(4)["seconds"] == "-"
