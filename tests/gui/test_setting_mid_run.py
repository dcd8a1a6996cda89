"""A setting changed during a run: checked against the loaded data before anything stops.

Real window, real TrainingSession, tiny models (TensorFlow on the CPU).
"""

import pytest

from .test_real_session import real_window, tiny  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def _wait_data(qtbot, w):
    qtbot.waitUntil(lambda: w.data_panel.sequences_for(w.current_config()) is not None, timeout=30000)


def _start_long_run(qtbot, w):
    _wait_data(qtbot, w)
    with qtbot.waitSignal(w.controller.epochEnd, timeout=120000):
        assert w.start_run()
    return w.controller.session


def test_a_refused_setting_keeps_the_running_model(qtbot, real_window):  # noqa: F811
    # 2 sequences of 40 frames: a window of 60 fits neither a time nor a sequence split.
    w = real_window(tiny(variant="conv3d", demo_frames=40, epochs=50, steps_per_epoch=2))
    w.confirm = lambda text: pytest.fail(f"asked to restart for a setting the data cannot hold: {text}")
    session = _start_long_run(qtbot, w)
    w.controls.window.setValue(60)          # the user's edit: emits settingChanged
    assert w.controller.running and w.controller.session is session
    assert "window" in (w.last_error or "") and "left as it is" in w.last_error
    assert w.controls.window.value() == 4   # the controls show the running model's setting again
    assert "window 4" in w.windowTitle()
    w.stop_run()
    qtbot.waitUntil(lambda: not w.controller.running, timeout=60000)
    assert w.controller.session.model is not None


def test_stateful_on_short_data_gets_a_batch_that_fits(qtbot, real_window):  # noqa: F811
    w = real_window(tiny(variant="convlstm", demo_frames=40, batch_size=64, epochs=1))
    _wait_data(qtbot, w)
    w.controls.stateful.setChecked(True)
    # 30 training frames per sequence, windows of 4: at most 7 streams of whole windows.
    assert w.controls.batch_size.value() == 7
    assert "batch size set to 7" in w.status.currentMessage()
    w.controls.stateful.setChecked(False)       # the lowered batch was for stateful only
    assert w.controls.batch_size.value() == 64
    w.controls.stateful.setChecked(True)
    assert w.controls.batch_size.value() == 7
    with qtbot.waitSignal(w.controller.runFinished, timeout=120000) as done:
        assert w.start_run()
    assert done.args[0].reason == "completed", done.args[0].message


def test_a_restarted_run_that_fails_leaves_the_previous_model(qtbot, real_window, tmp_path):  # noqa: F811
    w = real_window(tiny(variant="conv3d", epochs=50, steps_per_epoch=2))
    session = _start_long_run(qtbot, w)
    # A failure the data check cannot see in advance: the run's output folder is a file.
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    w.config = w.config.replace(out=str(blocker))
    w.confirm = lambda text: True
    w.controls.window.setValue(5)
    with qtbot.waitSignal(w.controller.previousRestored, timeout=120000):
        pass
    qtbot.waitUntil(lambda: not w.controller.running, timeout=60000)
    assert w.controller.session is session and session.model is not None
    assert "window 4" in w.windowTitle() and w.controls.window.value() == 4
    assert "previous model is still loaded" in w.status.currentMessage()
    w.save_checkpoint(str(tmp_path / "kept.keras"))
    qtbot.waitUntil(lambda: (tmp_path / "kept.keras").exists(), timeout=60000)
