"""The first look in the app: its verdict shows above the loss plot, then the epoch's verdict replaces it."""

import pytest

from tests.conftest import tiny_config

pytestmark = pytest.mark.slow


def test_the_first_look_verdict_shows_then_the_epoch_replaces_it(qtbot):
    from vaeviewer.gui.main_window import MainWindow

    w = MainWindow(tiny_config(first_look_s=1e-6, epochs=1, steps_per_epoch=4))
    w.show_dialogs = False
    qtbot.addWidget(w)
    w.show()
    seen = []
    w.controller.firstLook.connect(lambda look: seen.append(w.loss_plot.verdict.text()))
    try:
        with qtbot.waitSignal(w.controller.runFinished, timeout=120000) as done:
            assert w.start_run()
        assert done.args[0].reason == "completed", done.args[0].message
        assert len(seen) == 1 and "first look, 25% of epoch 1" in seen[0]
        assert "epoch 1:" in w.loss_plot.verdict.text() and "first look" not in w.loss_plot.verdict.text()
        assert len(w.history) == 1
    finally:
        w.controller.stop()
        w.controller.wait(60000)
