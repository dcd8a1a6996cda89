"""The loss plot on synthetic events: curves, baselines, faded runs, the verdict line."""

import numpy as np

from vaeviewer.gui.loss_plot import LossPlot
from vaeviewer.gui.verdict_label import VERDICT_COLOURS, VerdictLabel
from vaeviewer.training import events as ev

from .test_widgets import batches, started


def test_loss_plot_curves_baselines_and_faded_runs(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.begin_run(started())
    plot.set_baselines(ev.Baselines(mean_frame_mse=0.05, pca_mse=0.02))
    plot.add_batches(batches(0))
    plot.add_epoch(ev.EpochEnd(0, {"loss": 0.5, "reconstruction": 0.45, "kl": 0.05},
                               {"loss": 0.6, "reconstruction": 0.5, "kl": 0.1, "mse": 0.01}, 1.0))
    plot._redraw_now()
    assert len(plot.batch_curve.getData()[0]) == 5
    assert plot.batch_curve.getData()[0][-1] == 1.0          # x in epochs: end of epoch 0
    assert list(plot.valid_curve.yData) == [0.6]
    assert list(plot.mse_curve.yData) == [0.01]
    assert plot.pca_line.isVisible() and plot.pca_line.value() == 0.02
    assert not plot.recon_curves[0].isVisible()
    plot.show_recon.setChecked(True)
    assert plot.recon_curves[0].isVisible()
    plot.log_y.setChecked(True)
    assert abs(plot.pca_line.value() - np.log10(0.02)) < 1e-9
    plot.begin_run(started())
    assert plot.earlier_runs == 1 and plot.batch_data().shape[0] == 0


def test_window_pca_baseline_is_named_for_its_budget(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.begin_run(started())
    plot.set_baselines(ev.Baselines(mean_frame_mse=0.05, pca_mse=0.02, window_pca_mse=0.03))
    texts = {line: line.label.toPlainText() for line in (plot.pca_line, plot.mean_line, plot.window_pca_line)}
    assert texts == {plot.pca_line: "per-frame PCA 0.02", plot.mean_line: "mean frame baseline 0.05",
                     plot.window_pca_line: "window PCA 0.03"}
    # the middle line's label sits further right; the highest line's label above it, the others' below
    assert [line.label.orthoPos for line in texts] == [0.02, 0.02, 0.98]
    assert plot.window_pca_line.label.anchors[0] == (1, 0)   # the middle label ends at the right edge
    assert plot.mean_line.label.anchors[0] == (0, 1) and plot.pca_line.label.anchors[0] == (0, 0)
    plot.begin_run(started())                      # a new run: no baselines until its own come
    assert not any(line.isVisible() for line in texts)


def test_verdict_label_headline_colour_and_tooltip(qtbot):
    label = VerdictLabel()
    qtbot.addWidget(label)
    label.set_verdict("below_pca", "the whole verdict", overfitting=True, epoch=2)
    assert "epoch 3: " in label.text() and "memorising" in label.text()
    assert VERDICT_COLOURS["below_pca"] in label.text() and label.toolTip() == "the whole verdict"
    label.set_verdict("something new", where="first look: ")
    assert "first look: something new" in label.text() and VERDICT_COLOURS["unknown"] in label.text()
    label.set_verdict(None)
    assert label.text() == "" and label.toolTip() == ""
