"""The bad-input corpus and bad settings through the GUI: the error is shown, the data stays.

Offscreen Qt (tests/conftest.py sets QT_QPA_PLATFORM); training runs on a fake session, so no
TensorFlow is needed. Dialogs are recorded instead of shown.
"""

from __future__ import annotations

import json

import pytest

from tests.gui.gui_fakes import FakeSession
from tests.reliability.corpus import BY_NAME
from vaeviewer.config import RunConfig

GUI_SAMPLE = ["npy_pickle", "npy_nan", "npz_truncated", "folder_mixed_sizes", "folder_empty", "tiff_truncated",
              "gif_truncated", "mp4_garbage", "npy_huge_declared", "missing_path"]


def small_config(**changes) -> RunConfig:
    base = dict(demo=True, demo_sequences=2, demo_frames=60, frame_size=(16, 20), window=4, epochs=1,
                steps_per_epoch=2, batch_size=4)
    base.update(changes)
    return RunConfig(**base)


class DialogRecorder:
    """Stands in for QMessageBox in vaeviewer.gui.main_window: records texts, never blocks."""

    texts: list[str] = []

    class Icon:
        Warning = 2

    class StandardButton:
        Ok, Yes, No = 0x400, 0x4000, 0x10000

    def __init__(self, _icon, _title, text, *_args, **_kw):
        DialogRecorder.texts.append(text)

    def setAttribute(self, *_a):  # noqa: N802 - Qt name
        pass

    def open(self):
        pass

    def exec(self):
        return 0

    @staticmethod
    def question(*_a, **_kw):
        return DialogRecorder.StandardButton.No


@pytest.fixture
def panel(qtbot):
    from vaeviewer.gui.data_panel import DataPanel

    p = DataPanel()
    qtbot.addWidget(p)
    with qtbot.waitSignal(p.loaded, timeout=20000):
        p.load(small_config())
    yield p
    qtbot.waitUntil(lambda: not p.loading, timeout=20000)


@pytest.fixture
def window(qtbot, monkeypatch):
    """A main window on a fake session that records the sequences each run is given."""
    import vaeviewer.gui.main_window as mw

    DialogRecorder.texts = []
    monkeypatch.setattr(mw, "QMessageBox", DialogRecorder)
    given = []

    def factory(config, listener, sequences=None):
        given.append((config, sequences))
        return FakeSession(config, listener, sequences)

    w = mw.MainWindow(small_config(), session_factory=factory)
    w.runs_given = given
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.data_panel.sequences is not None, timeout=20000)
    yield w
    w.controller.stop()
    w.controller.wait(10000)
    qtbot.waitUntil(lambda: not w.data_panel.loading, timeout=20000)


@pytest.mark.parametrize("name", GUI_SAMPLE)
def test_data_panel_shows_the_error_and_keeps_the_previous_data(qtbot, panel, tmp_path, name):
    before, key = panel.sequences, panel.key
    path = BY_NAME[name].make(tmp_path)
    with qtbot.waitSignal(panel.failed, timeout=20000) as sig:
        panel.load(small_config(paths=[str(path)], demo=False, frame_size=None))
    text = sig.args[0]
    assert path.name in text and "Traceback" not in text
    assert path.name in panel.summary.text()
    assert panel.sequences is before and panel.key == key, "the previous data is kept"
    assert panel.sequences_for(small_config()) is before


@pytest.mark.parametrize("name", ["npy_one_frame", "folder_16bit_png", "folder_rgba_png"])
def test_data_panel_loads_valid_but_odd_inputs(qtbot, panel, tmp_path, name):
    path = BY_NAME[name].make(tmp_path)
    cfg = small_config(paths=[str(path)], demo=False, frame_size=None)
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        panel.load(cfg)
    BY_NAME[name].check(panel.sequences)
    assert "sequence" in panel.summary.text()


@pytest.mark.parametrize("name", ["npy_pickle", "folder_truncated_png", "mp4_zero_bytes"])
def test_window_shows_a_dialog_and_stays_usable(qtbot, window, tmp_path, name):
    w = window
    before = w.data_panel.sequences
    path = BY_NAME[name].make(tmp_path)
    with qtbot.waitSignal(w.data_panel.failed, timeout=20000):
        w.set_data([str(path)], False)
    assert DialogRecorder.texts and path.name in DialogRecorder.texts[-1]
    assert w.last_error and path.name in w.last_error
    assert w.data_panel.sequences is before
    with qtbot.waitSignal(w.controller.runFinished, timeout=20000) as done:
        assert w.start_run()
    assert done.args[0].reason == "completed"


def test_start_after_a_failed_load_trains_on_the_previous_data(qtbot, window, tmp_path):
    """After a file fails to load, Start must use the data still shown, not retry the bad file."""
    w = window
    before = w.data_panel.sequences
    path = BY_NAME["npy_truncated"].make(tmp_path)
    with qtbot.waitSignal(w.data_panel.failed, timeout=20000):
        w.set_data([str(path)], False)
    with qtbot.waitSignal(w.controller.runFinished, timeout=20000):
        assert w.start_run()
    config, sequences = w.runs_given[-1]
    assert str(path) not in config.paths, "the run was configured with the file that failed to load"
    assert sequences is before


# ---- bad settings from the GUI ---------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"window": -5}, "window"),
        ({"window": "ten"}, "window"),
        ({"variant": "transformer"}, "variant"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": 1e9}, "learning_rate"),
        ({"variant": "conv2d", "stateful": True}, "stateful"),
        ({"variant": "convlstm", "stateful": True, "window": 8, "stride": 1}, "stride"),
        ({"latent_dim": 3.5}, "latent_dim"),
        ({"frame_size": [2, 2]}, "frame size"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_load_settings_refuses_bad_files_and_keeps_the_settings(qtbot, window, tmp_path, settings, words):
    w = window
    f = tmp_path / "settings.json"
    # the data part equals the window's, so a (wrongly) accepted file loads nothing new
    f.write_text(json.dumps({**small_config().to_dict(), **settings}))
    before = w.current_config()
    w.load_settings(str(f))
    assert w.last_error is not None and words in w.last_error, w.last_error
    assert w.current_config() == before, "a refused settings file must not change the settings"


def test_load_settings_that_are_not_json(qtbot, window, tmp_path):
    f = tmp_path / "settings.json"
    f.write_bytes(b"\x00\xff not json")
    window.load_settings(str(f))
    assert window.last_error and "settings.json" in window.last_error


def test_start_with_impossible_settings_shows_what_would_work(qtbot, window):
    w = window
    w.config = w.config.replace(variant="conv3d", window=4, stride=4)
    w.controls.set_config(w.config)
    w.controls.window.setValue(2)
    w.config = w.config.replace(demo_frames=3)   # fewer frames than any window: fails in the session
    w.controls.set_config(w.config.replace(variant="conv2d", stateful=False))
    bad = w.config.replace(variant="conv2d", stateful=True)
    w.restart_with(bad)
    assert w.last_error and "stateful" in w.last_error and "convlstm" in w.last_error
    assert not w.controller.running


def test_closing_the_panel_while_it_loads_is_harmless(qtbot):
    """The window may close while data loads in a pool thread: the late result must go nowhere."""
    from PyQt6.QtCore import QThreadPool

    from vaeviewer.gui.data_panel import DataPanel

    p = DataPanel()
    p.load(small_config(demo_sequences=4, demo_frames=1500, frame_size=(64, 80)))
    assert p.loading
    p.deleteLater()
    qtbot.wait(50)  # the panel is gone; the load is still running
    assert QThreadPool.globalInstance().waitForDone(30000)
    qtbot.wait(200)  # deliver the worker's queued signals: pytest-qt fails the test on any exception


# ---- a fault inside the training thread: the window says so and stays usable -------------------


class FaultySession(FakeSession):
    """Trains a few batches, then a training step raises (a bug or a fault: disk, memory)."""

    def run(self):
        from vaeviewer.training import events as ev

        self.listener(ev.Message("loading data"))
        self.listener(ev.BatchEnd(0, 0, 1, 1.0, 0.9, 0.1, 100.0, 1.0))
        raise RuntimeError("injected fault in a training step")


def test_a_fault_in_the_training_thread_is_shown_and_the_app_carries_on(qtbot, window):
    w = window
    normal = w.controller._factory
    w.controller._factory = lambda config, listener, sequences=None: FaultySession(config, listener, sequences)
    with qtbot.waitSignal(w.controller.runFinished, timeout=20000) as done:
        assert w.start_run()
    assert done.args[0].reason == "error" and "injected fault" in done.args[0].message
    qtbot.waitUntil(lambda: not w.controller.running, timeout=20000)
    assert w.last_error and "injected fault" in w.last_error
    assert DialogRecorder.texts and "injected fault" in DialogRecorder.texts[-1]
    # The thread stops first; the controls hear of it from the queued runningChanged(False) signal.
    qtbot.waitUntil(w.controls.start_button.isEnabled, timeout=10000)
    w.controller._factory = normal
    with qtbot.waitSignal(w.controller.runFinished, timeout=20000) as done:
        assert w.start_run()
    assert done.args[0].reason == "completed"
