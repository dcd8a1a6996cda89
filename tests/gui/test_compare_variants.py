"""Compare variants…: the dialog's fields and refusals, and the action on real tiny Keras runs."""

import threading

import pytest
from PyQt6.QtCore import Qt

from vaeviewer.gui.compare_variants import CompareDialog, CompareRequest
from vaeviewer.training import events as ev


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
