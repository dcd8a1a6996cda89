"""Readability and layout of the views (issue 13 §7, issue 12 §5), checked on real widgets."""

import numpy as np
import pytest
from PyQt6.QtWidgets import QMainWindow

from vaeviewer.config import RunConfig
from vaeviewer.gui.frame_strips import FrameStrips
from vaeviewer.gui.latent_scatter import LatentScatter
from vaeviewer.gui.loss_plot import LossPlot
from vaeviewer.gui.status import RunStatusBar, elide_words
from vaeviewer.training import events as ev

from .test_display_contrast import dim_snapshot


# ---- frame strips ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(900, 360), (1200, 260), (1400, 300), (500, 250)])
def test_strip_labels_are_whole_for_96x96_frames(qtbot, size):
    strips = FrameStrips()
    qtbot.addWidget(strips)
    strips.resize(*size)
    strips.show()
    strips.set_lengths([80], [80], 10)
    strips.show_snapshot(dim_snapshot())
    qtbot.wait(10)
    view = strips.view.sceneBoundingRect()
    top_of_frames = strips.images[0].sceneBoundingRect().top()
    columns = [label for label in strips.column_labels if label.isVisible()]
    assert [label.textItem.toPlainText() for label in columns] == [str(i) for i in range(10)]
    for label in columns + strips.row_labels:
        assert view.contains(label.sceneBoundingRect()), label.textItem.toPlainText()
    for label in columns:       # above the frames, not over them
        assert label.sceneBoundingRect().bottom() <= top_of_frames + 0.5
    left_of_frames = strips.images[0].sceneBoundingRect().left()
    for label in strips.row_labels:
        assert label.sceneBoundingRect().right() <= left_of_frames + 0.5


# ---- latent scatter -------------------------------------------------------------------------
def scatter_snapshot(n_seq=3, per=100, total=None):
    rng = np.random.default_rng(0)
    snap = ev.Snapshot("valid", 1, 40, np.zeros((4, 8, 8), np.float32), np.zeros((4, 8, 8), np.float32),
                       np.zeros(4))
    snap.latents = rng.normal(size=(n_seq * per, 4)).astype(np.float32)
    snap.latent_sequence = np.repeat(np.arange(n_seq), per)
    snap.latent_frame = np.tile(np.arange(per) * 2, n_seq)
    snap.kl_per_dim = np.array([2.3, 1.7, 0.0123, 0.003])
    if total is not None:
        snap.latent_total = total
    return snap


def test_scatter_ring_axes_colour_bar_and_count(qtbot):
    scatter = LatentScatter()
    qtbot.addWidget(scatter)
    scatter.resize(520, 420)
    scatter.show()
    scatter.set_snapshot(scatter_snapshot(total=8000))
    # the ring: white on a wider black ring, unlike any point colour
    ring, outline = scatter.selected.opts["pen"], scatter.selected_outline.opts["pen"]
    assert ring.color().getRgb()[:3] == (255, 255, 255) and outline.color().getRgb()[:3] == (0, 0, 0)
    assert outline.widthF() > ring.widthF() >= 2
    assert len(scatter.selected.data) == 1 and len(scatter.selected_outline.data) == 1
    # labelled axes that follow the combos
    assert scatter.plot.getAxis("bottom").labelText.startswith("PC1")
    assert scatter.plot.getAxis("left").labelText.startswith("PC2")
    scatter.x_axis.setCurrentIndex(2)
    assert scatter.plot.getAxis("bottom").labelText == "z0"
    # colour by time has a colour bar over the frames shown; by sequence a legend instead
    assert scatter.colour_bar.isVisible() and not scatter.legend.isVisible()
    assert tuple(scatter.colour_bar.levels()) == (0.0, 198.0)
    scatter.colour.setCurrentIndex(1)
    assert not scatter.colour_bar.isVisible() and scatter.legend.isVisible()
    brushes = {p.brush().color().getRgb()[:3] for p in scatter.points.points()}
    assert len(brushes) == 3 and (255, 255, 255) not in brushes and (0, 0, 0) not in brushes
    # a sample says so
    assert "300 of 8,000 valid frames (sample)" in scatter.info.text()   # window 1: a point is a frame
    # the axis combos show their longest entry whole
    qtbot.wait(10)
    for box in (scatter.x_axis, scatter.y_axis):
        longest = max(box.fontMetrics().horizontalAdvance(box.itemText(i)) for i in range(box.count()))
        assert box.width() >= longest + 10


def test_scatter_count_without_sample(qtbot):
    scatter = LatentScatter()
    qtbot.addWidget(scatter)
    scatter.set_snapshot(scatter_snapshot())
    assert scatter.info.text().startswith("300 valid frames")


# ---- loss plot ------------------------------------------------------------------------------
def started():
    return ev.RunStarted(config=RunConfig(demo=True).to_dict(), device="CPU", precision="float32", n_sequences=1,
                         frame_shape=(96, 96), n_train=400, n_valid=80, steps_per_epoch=50, epochs=6)


def filled_loss_plot(qtbot, log=False):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(620, 480)
    plot.show()
    plot.begin_run(started())
    plot.set_baselines(ev.Baselines(mean_frame_mse=0.0104, pca_mse=0.0100))
    rng = np.random.default_rng(2)
    for e in range(4):
        rows = []
        for k in range(50):
            g = e * 50 + k
            loss = 300 * np.exp(-g / 30) + 40 + rng.normal(0, 8) + (900 if g < 3 else 0)
            rows.append(ev.BatchEnd(e, k, g + 1, loss, loss * 0.9, loss * 0.1, 500.0, 3.0))
        plot.add_batches(rows)
        tl = 300 * np.exp(-(e * 50 + 49) / 30) + 40
        plot.add_epoch(ev.EpochEnd(e, {"loss": tl, "reconstruction": tl * 0.9, "kl": tl * 0.1},
                                   {"loss": tl * 1.1, "reconstruction": tl, "kl": tl * 0.1,
                                    "mse": 0.0125 - 0.0008 * e}, 1.0))
    plot.log_y.setChecked(log)
    plot._redraw_now()
    qtbot.wait(20)
    return plot


@pytest.mark.parametrize("log", [False, True])
def test_loss_plot_layout(qtbot, log):
    plot = filled_loss_plot(qtbot, log)
    loss_vb, mse_vb = plot.loss_plot.getViewBox(), plot.mse_plot.getViewBox()
    # the two epoch axes line up
    assert plot.loss_plot.getAxis("left").width() == plot.mse_plot.getAxis("left").width()
    assert abs(loss_vb.sceneBoundingRect().left() - mse_vb.sceneBoundingRect().left()) < 1
    assert abs(loss_vb.sceneBoundingRect().right() - mse_vb.sceneBoundingRect().right()) < 1
    # the legend covers no plot
    legend = plot.legend.sceneBoundingRect()
    assert not legend.intersects(loss_vb.sceneBoundingRect()) and not legend.intersects(mse_vb.sceneBoundingRect())
    # every batch but the run's first spike lies inside the plot
    y = plot.batch_data()[3:, 1]
    y = np.log10(y) if log else y
    lo, hi = loss_vb.viewRange()[1]
    assert lo <= y.min() and y.max() <= hi
    assert hi - lo < 2 * (y.max() - y.min())        # and the range is not flattened by the spike
    # the baseline labels overlap neither each other nor the other dashed line
    labels = {line: line.label.sceneBoundingRect() for line in (plot.pca_line, plot.mean_line)}
    assert not labels[plot.pca_line].intersects(labels[plot.mean_line])
    view = mse_vb.sceneBoundingRect()
    for line, rect in labels.items():
        assert view.contains(rect)
        for other in (plot.pca_line, plot.mean_line):
            line_y = other.mapToScene(other.boundingRect().center()).y()
            assert not (rect.top() < line_y < rect.bottom()), "a label crosses a dashed line"


def test_loss_plot_user_zoom_is_kept(qtbot):
    plot = filled_loss_plot(qtbot)
    vb = plot.loss_plot.getViewBox()
    vb.setYRange(60, 70, padding=0)
    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])    # what a wheel or drag emits
    plot.add_batches([ev.BatchEnd(4, 0, 201, 50.0, 45.0, 5.0, 500.0, 3.0)])
    plot._redraw_now()
    assert vb.viewRange()[1] == pytest.approx([60, 70])
    plot.loss_plot.autoBtn.clicked.emit(plot.loss_plot.autoBtn)   # the plot's "A" button
    assert vb.viewRange()[1][1] > 200


# ---- status bar -----------------------------------------------------------------------------
LONG = ("run completed: finished 6 epochs; the model is no better than the mean frame (valid MSE 0.010412 "
        "vs mean frame 0.010398, PCA 0.009871): train longer or try a smaller beta")


def test_long_status_message_is_elided_at_a_word_with_the_whole_text_in_a_tooltip(qtbot):
    window = QMainWindow()
    bar = RunStatusBar()
    window.setStatusBar(bar)
    qtbot.addWidget(window)
    window.resize(900, 80)
    window.show()
    bar.run_started(started())
    bar.showMessage(LONG, 5000)
    qtbot.wait(10)
    shown = bar.message.text()
    assert shown != LONG and shown.endswith(" …")
    assert LONG.startswith(shown[:-2]) and LONG[len(shown) - 2] == " "      # cut between words
    assert bar.message.toolTip() == LONG and bar.currentMessage() == LONG
    assert bar.message.fontMetrics().horizontalAdvance(shown) <= bar.message.contentsRect().width()
    window.resize(1800, 80)
    qtbot.wait(10)
    assert bar.message.text() == LONG
    bar.clearMessage()
    assert bar.currentMessage() == "" and bar.message.toolTip() == ""


def test_elide_words():
    fits = lambda s: len(s) <= 14   # noqa: E731
    assert elide_words("short", fits) == "short"
    assert elide_words("MSE 0.010412 vs 0.0104", fits) == "MSE 0.010412 …"
    assert elide_words("unbreakablewordhere", fits) == "…"
