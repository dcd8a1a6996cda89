"""Closing with a trained model in memory, and loading a checkpoint into a fresh window.

Real window, real TrainingSession, tiny models (TensorFlow on the CPU).
"""

import pytest

from .test_real_session import real_window, tiny  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def _start(qtbot, w, epochs=50):
    qtbot.waitUntil(lambda: w.data_panel.sequences_for(w.current_config()) is not None, timeout=30000)
    with qtbot.waitSignal(w.controller.epochEnd, timeout=120000):
        assert w.start_run()


def test_close_during_a_run_can_save_first(qtbot, real_window, tmp_path):  # noqa: F811
    w = real_window(tiny(epochs=50))
    _start(qtbot, w)
    asked = []
    w.ask_close = lambda: asked.append("close") or "save"
    target = tmp_path / "on-close.keras"
    w.ask_save_path = lambda: str(target)
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=120000)
    assert asked == ["close"] and not w.controller.running
    from vaeviewer.models.io import load_model

    assert load_model(target) is not None


def test_close_cancelled_keeps_the_run_going(qtbot, real_window):  # noqa: F811
    w = real_window(tiny(epochs=50))
    _start(qtbot, w)
    w.ask_close = lambda: "cancel"
    w.close()
    assert w.isVisible() and w.controller.running
    w.ask_close = lambda: "discard"
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=120000)


def test_close_after_a_finished_run_asks_only_while_unsaved(qtbot, real_window, tmp_path):  # noqa: F811
    w = real_window(tiny(epochs=1))
    qtbot.waitUntil(lambda: w.data_panel.sequences_for(w.current_config()) is not None, timeout=30000)
    with qtbot.waitSignal(w.controller.runFinished, timeout=120000):
        w.start_run()
    qtbot.waitUntil(lambda: not w.controller.running, timeout=30000)
    asked = []
    w.ask_close = lambda: asked.append(1) or "cancel"
    w.close()
    assert asked and w.isVisible()
    with qtbot.waitSignal(w.controller.taskDone, timeout=60000):
        w.save_checkpoint(str(tmp_path / "m.keras"))
    w.close()
    assert len(asked) == 1 and not w.isVisible()


def test_checkpoint_loads_in_a_fresh_window(qtbot, real_window, tmp_path):  # noqa: F811
    from vaeviewer.training.session import TrainingSession

    run = tmp_path / "run"
    TrainingSession(tiny(variant="conv3d", window=5, epochs=1, out=str(run))).run()
    # A fresh window with other settings (conv2d, window 4): the checkpoint brings its own.
    w = real_window(tiny())
    qtbot.waitUntil(lambda: w.data_panel.sequences_for(w.current_config()) is not None, timeout=30000)
    with qtbot.waitSignal(w.controller.checkpointLoaded, timeout=120000):
        w.load_checkpoint(str(run / "best.keras"))
    assert w.last_error is None
    assert w.controls.variant.currentText() == "conv3d" and w.controls.window.value() == 5
    assert "best.keras" in w.windowTitle()
    assert w.loss_plot.epoch_data().shape[0] == 0 and w.loss_plot.verdict.text() == ""
    qtbot.waitUntil(lambda: w.strips.snapshot is not None and w.scatter.latents is not None, timeout=60000)
    assert len(w.strips.snapshot.inputs) == 5
    # The views are laid out for the loaded run's data: another sequence can be asked for.
    assert len(w.strips.lengths["valid"]) == 2
    with qtbot.waitSignal(w.controller.snapshot, timeout=60000) as sig:
        w.strips.select("valid", 1, 5)
    assert (sig.args[0].sequence, sig.args[0].start) == (1, 5)
