"""The Runs panel and Compare variants: the table on synthetic runs, the action on real tiny Keras runs."""

import threading

import pytest
from PyQt6.QtCore import QObject, Qt, pyqtSignal

from vaeviewer.gui.loss_plot import LossPlot
from vaeviewer.gui.runs_panel import RUN_COLOURS, CompareDialog, CompareRequest, RunsPanel
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


def test_compare_dialog_defaults_and_refusals(qtbot, tiny):
    dialog = CompareDialog(tiny(window=10, epochs=3))
    qtbot.addWidget(dialog)
    request = dialog.request()
    assert request == CompareRequest(["conv2d", "conv3d", "convlstm", "convlstm-stateful"], [10], 3)
    dialog.windows.setText("5, ten")
    dialog.accept()
    assert dialog.request_made is None and "window sizes" in dialog.error.text()
    dialog.windows.setText("5,20")
    for name in ("conv2d", "convlstm-stateful"):
        dialog.variant_boxes[name].setChecked(False)
    dialog.accept()
    assert dialog.request_made == CompareRequest(["conv3d", "convlstm"], [5, 20], 3)


# ---- the real window, real tiny Keras runs ---------------------------------------------------
@pytest.fixture
def window(qtbot, tiny):
    from vaeviewer.gui.main_window import MainWindow

    w = MainWindow(tiny(epochs=1, steps_per_epoch=2))
    w.show_dialogs = False
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.data_panel.sequences_for(w.current_config()) is not None, timeout=30000)
    yield w
    w.controller.stop()
    w.controller.wait(60000)
    # The Probe panel decodes in a pool thread: drop its pending answers (reset) and let the one
    # under way end while its window still exists.
    probe = getattr(getattr(w, "probe_panel", None), "worker", None)
    if probe is not None:
        probe.reset()
        qtbot.waitUntil(lambda: not probe.busy, timeout=30000)


def test_an_impossible_combination_is_refused_before_anything_trains(window):
    window.controls.batch_size.setValue(64)
    assert not window.comparison.start(CompareRequest(["conv2d", "convlstm-stateful"], [4], 1))
    assert "compare row convlstm-stateful-w4" in window.last_error and "Nothing was trained" in window.last_error
    assert not window.controller.running and not window.comparison.active and window.runs_panel.runs == []


def test_compare_fills_a_row_per_variant_and_overlays_them(qtbot, window):
    asked = []
    window.comparison.ask = lambda base: asked.append(base) or CompareRequest(["conv2d", "conv3d"], [4], 1)
    with qtbot.waitSignal(window.comparison.ended, timeout=120000) as ended:
        assert window.comparison.ask_and_start()               # what the Run menu's action calls
    assert ended.args == ["completed"] and asked[0].variant == "conv2d"
    runs = window.runs_panel.runs
    assert [r.settings for r in runs] == ["conv2d", "conv3d T=4"]
    assert all(r.row["epochs"] == 1 and r.best_val_mse > 0 and r.row["seconds"] > 0 for r in runs)
    assert runs[1].row["window_pca_mse"] is not None
    # A comparison's rows come ticked: both validation curves are overlaid, one colour each.
    overlays = window.loss_plot.overlays()
    assert [v[0] for v in overlays.values()] == ["1: conv2d", "2: conv3d T=4"]
    assert overlays[1][3] != overlays[2][3]
    window.runs_panel.table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert list(window.loss_plot.overlays()) == [2]
    qtbot.waitUntil(lambda: not window.controller.running)
    assert "all 2 rows finished" in window.runs_panel.note.text()
    # The Runs dock sits under the settings, which keep their whole height (Start in view).
    assert window.runs_dock.geometry().top() >= window.settings_dock.geometry().bottom()
    assert not window.settings_dock.widget().verticalScrollBar().isVisible()


@pytest.mark.parametrize("hold_at", ["second row started", "first row's last batch done"])
def test_stop_ends_the_comparison_and_keeps_the_finished_rows(qtbot, window, hold_at):
    started, held, release = [], [], threading.Event()

    def hold(event):   # on the training thread: wait there until Stop was pressed
        if isinstance(event, ev.RunStarted):
            started.append(event.config["variant"])
        at_hold = (len(started) == 2 and isinstance(event, ev.RunStarted)) if hold_at.startswith("second") else \
            isinstance(event, ev.RunFinished)
        if at_hold and not held:
            held.append(event)
            release.wait(30)

    window.controller.thread_listeners.append(hold)
    with qtbot.waitSignal(window.comparison.ended, timeout=120000) as ended:
        assert window.comparison.start(CompareRequest(["conv2d", "conv3d"], [4], 1))
        qtbot.waitUntil(lambda: bool(held), timeout=120000)
        window.toggle_pause()                                      # the same Pause ...
        assert window.controller.paused
        window.stop_run()                                          # ... and Stop as a single run
        release.set()
    assert ended.args == ["stopped"]
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60000)
    qtbot.wait(50)
    assert not window.controller.running                           # no further row started
    assert started == (["conv2d", "conv3d"] if hold_at.startswith("second") else ["conv2d"])
    assert [r.settings for r in window.runs_panel.runs] == ["conv2d"]
    assert "after 1 of 2 rows" in window.runs_panel.note.text()
