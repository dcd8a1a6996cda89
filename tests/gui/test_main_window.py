"""The main window driven end to end on a fake session (fast; no TensorFlow)."""

import json
import subprocess
import sys

import pytest
from PyQt6.QtCore import Qt

from vaeviewer.errors import VaeViewerError

from .gui_fakes import FakeSession, fake_factory


def run_to_end(qtbot, window, timeout=10000):
    with qtbot.waitSignal(window.controller.runFinished, timeout=timeout):
        assert window.start_run()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=timeout)
    qtbot.waitUntil(lambda: window.strips.snapshot is not None and window.scatter.latents is not None, timeout=timeout)


def test_run_fills_every_view(qtbot, fake_window):
    w = fake_window
    run_to_end(qtbot, w)
    assert w.loss_plot.batch_data().shape[0] == 10
    assert w.loss_plot.epoch_data().shape[0] == 2
    assert w.strips.images[0].image is not None
    assert len(w.scatter.points.data) > 0
    assert w.timeline.error is not None
    assert w.status.progress.value() == w.status.progress.maximum()
    assert len(w.history) == 2
    assert w.controls.start_button.isEnabled() and not w.controls.stop_button.isEnabled()


def test_scatter_click_after_run_inspects_and_changes_strips(qtbot, fake_window):
    w = fake_window
    run_to_end(qtbot, w)
    before = w.strips.snapshot
    i = next(j for j in range(len(w.scatter.frame_of)) if w.scatter.frame_of[j] > 0 and w.scatter.sequence_of[j] == 1)
    with qtbot.waitSignal(w.controller.snapshot, timeout=5000) as sig:
        w.scatter.select_index(i)
    snap = sig.args[0]
    assert (snap.sequence, snap.start) == (1, int(w.scatter.frame_of[i]))
    assert FakeSession.instances[-1].inspected[-1] == ("valid", 1, int(w.scatter.frame_of[i]))
    qtbot.waitUntil(lambda: w.strips.snapshot is not before and w.strips.snapshot.start == snap.start)
    assert w.strips.sequence.value() == 1
    assert w.scatter.selected_index == i


def test_selection_during_training_uses_request_snapshot(qtbot, fake_window):
    w = fake_window
    w.controller._factory = fake_factory(batch_s=0.02)
    cfg = w.config.replace(epochs=20)
    w.config = cfg
    w.controls.set_config(cfg)
    w.start_run()
    qtbot.waitUntil(lambda: w.scatter.latents is not None, timeout=5000)
    w.strips.select("valid", 1, 12)
    qtbot.waitUntil(lambda: w.strips.snapshot is not None and w.strips.snapshot.start == 12, timeout=5000)
    assert w.controller.running
    w.stop_run()
    qtbot.waitUntil(lambda: not w.controller.running, timeout=5000)


def test_window_change_during_run_restarts_after_confirmation(qtbot, fake_window):
    w = fake_window
    w.controller._factory = fake_factory(batch_s=0.02)
    w.config = w.config.replace(epochs=50)
    w.controls.set_config(w.config)
    asked = []
    w.confirm = lambda text: asked.append(text) or False
    with qtbot.waitSignal(w.controller.runStarted, timeout=5000):
        w.start_run()
    w.controls.window.setValue(6)                 # declined: the control goes back
    assert asked and w.controls.window.value() == 4 and w.controller.config.window == 4
    w.confirm = lambda text: True
    with qtbot.waitSignal(w.controller.runStarted, timeout=10000) as sig:
        w.controls.window.setValue(6)
    assert sig.args[0].config["window"] == 6
    assert w.loss_plot.earlier_runs == 1          # the first run's curves stay, faded
    assert w.strips.window == 6
    w.stop_run()
    qtbot.waitUntil(lambda: not w.controller.running, timeout=5000)


def test_stateful_toggle_restarts_convlstm(qtbot, fake_window):
    w = fake_window
    assert not w.controls.stateful.isEnabled()    # conv2d
    w.controller._factory = fake_factory(batch_s=0.02)
    w.config = w.config.replace(variant="convlstm", epochs=50)
    w.controls.set_config(w.config)
    assert w.controls.stateful.isEnabled()
    w.confirm = lambda text: True
    with qtbot.waitSignal(w.controller.runStarted, timeout=5000):
        w.start_run()
    with qtbot.waitSignal(w.controller.runStarted, timeout=10000) as sig:
        w.controls.stateful.setChecked(True)
    cfg = sig.args[0].config
    assert cfg["stateful"] and cfg["stride"] == cfg["window"]
    w.stop_run()
    qtbot.waitUntil(lambda: not w.controller.running, timeout=5000)


def test_pause_resume_stop(qtbot, fake_window):
    w = fake_window
    w.controller._factory = fake_factory(batch_s=0.02)
    w.config = w.config.replace(epochs=50)
    w.controls.set_config(w.config)
    with qtbot.waitSignal(w.controller.runStarted, timeout=5000):
        w.start_run()
    qtbot.mouseClick(w.controls.pause_button, Qt.MouseButton.LeftButton)
    assert FakeSession.instances[-1].paused and w.controls.pause_button.text() == "Resume"
    qtbot.mouseClick(w.controls.pause_button, Qt.MouseButton.LeftButton)
    assert not FakeSession.instances[-1].paused
    with qtbot.waitSignal(w.controller.runFinished, timeout=5000) as sig:
        qtbot.mouseClick(w.controls.stop_button, Qt.MouseButton.LeftButton)
    assert sig.args[0].reason == "stopped"


def test_close_during_training_stops_and_joins(qtbot, fake_window):
    w = fake_window
    w.controller._factory = fake_factory(batch_s=0.02)
    w.config = w.config.replace(epochs=50)
    w.controls.set_config(w.config)
    with qtbot.waitSignal(w.controller.runStarted, timeout=5000):
        w.start_run()
    w.close()
    assert w.isVisible()                          # waits for the run to stop first
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert not w.controller.running and FakeSession.instances[-1]._stop.is_set()


def test_errors_go_to_a_dialog_not_a_traceback(qtbot, fake_window):
    w = fake_window

    def broken(config, listener, sequences=None):
        raise VaeViewerError("data.npy: not a sequence of frames")

    w.controller._factory = broken
    with qtbot.waitSignal(w.controller.failed, timeout=5000):
        w.start_run()
    assert w.last_error == "data.npy: not a sequence of frames"
    qtbot.waitUntil(lambda: not w.controller.running)
    w.config = w.config.replace(valid_fraction=0.95)     # a bad setting from a settings file
    assert not w.start_run()
    assert "valid_fraction" in w.last_error and not w.controller.running


def test_settings_checkpoint_and_exports(qtbot, fake_window, tmp_path):
    w = fake_window
    run_to_end(qtbot, w)
    w.controls.latent_dim.setValue(9)
    w.save_settings(str(tmp_path / "s.json"))
    assert json.loads((tmp_path / "s.json").read_text())["latent_dim"] == 9
    w.controls.latent_dim.setValue(3)
    w.load_settings(str(tmp_path / "s.json"))
    assert w.controls.latent_dim.value() == 9
    with qtbot.waitSignal(w.controller.taskDone, timeout=5000):
        w.save_checkpoint(str(tmp_path / "m.keras"))
    assert (tmp_path / "m.keras").exists()
    w.export_strips_png(str(tmp_path / "strips.png"))
    assert (tmp_path / "strips.png").stat().st_size > 1000
    w.export_latents_csv(str(tmp_path / "z.csv"))
    assert len((tmp_path / "z.csv").read_text().splitlines()) == len(w.scatter.latents) + 1
    w.export_history_csv(str(tmp_path / "h.csv"))
    assert len((tmp_path / "h.csv").read_text().splitlines()) == 3
    w.grab().save("/tmp/vaeviewer_fake_window.png")


def test_gui_import_does_not_load_tensorflow():
    code = ("import sys; import vaeviewer.gui.app, vaeviewer.gui.main_window; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF loaded at GUI start'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_command_line_settings():
    import argparse

    import pytest

    from vaeviewer.gui.app import config_from_args

    cfg = config_from_args(argparse.Namespace(paths=[], demo=False, variant="convlstm", window=8, stride=None,
                                              stateful=True, frame_size="32x40", epochs=3))
    assert cfg.demo and (cfg.window, cfg.stride, cfg.stateful, cfg.frame_size, cfg.epochs) == (8, 8, True, (32, 40), 3)
    with pytest.raises(VaeViewerError, match="stateful"):
        config_from_args(argparse.Namespace(paths=[], demo=True, variant="conv2d", window=8, stateful=True))


# ---- a failed data load, bad settings files, atomic writes ------------------------------------


def test_failed_load_goes_back_to_the_loaded_data(qtbot, fake_window, tmp_path):
    w = fake_window
    qtbot.waitUntil(lambda: w.data_panel.sequences is not None, timeout=10000)
    before, good = w.data_panel.sequences, w.config
    bad = tmp_path / "junk.npy"
    bad.write_bytes(b"\x00 not numpy")
    with qtbot.waitSignal(w.data_panel.failed, timeout=10000):
        w.set_data([str(bad)], False)
    assert "junk.npy" in w.last_error and "junk.npy" in w.data_panel.summary.text()
    assert "junk.npy" not in w.data_panel.source.text() and "demo" in w.data_panel.source.text()
    assert (w.config.paths, w.config.demo, w.config.frame_size) == (good.paths, good.demo, good.frame_size)
    assert w.data_panel.sequences_for(w.current_config()) is before
    assert w.data_panel.loaded_config is not None and w.data_panel.loaded_config.demo


def test_choosing_the_loaded_data_again_drops_the_load_in_flight(qtbot, fake_window):
    w = fake_window
    qtbot.waitUntil(lambda: w.data_panel.sequences is not None, timeout=10000)
    before, good = w.data_panel.sequences, w.config
    w.data_panel.load(good.replace(demo_sequences=3))   # another load starts ...
    w.data_panel.load(good)                              # ... and the user goes back
    assert "loading" not in w.data_panel.summary.text()
    qtbot.waitUntil(lambda: not w.data_panel.loading, timeout=10000)
    qtbot.wait(50)
    assert w.data_panel.sequences is before and w.data_panel.sequences_for(good) is before


def test_refused_settings_file_keeps_the_settings(qtbot, fake_window, tmp_path):
    w = fake_window
    f = tmp_path / "s.json"
    f.write_text(json.dumps({**w.current_config().to_dict(), "window": "ten", "latent_dim": 2}))
    before = w.current_config()
    w.load_settings(str(f))
    assert "window" in w.last_error and w.current_config() == before


def test_settings_and_csv_writes_are_atomic(qtbot, fake_window, tmp_path, monkeypatch):
    import pathlib

    from vaeviewer.gui import exports

    w = fake_window
    s = tmp_path / "s.json"
    s.write_text("previous")
    real_write_text = pathlib.Path.write_text

    def half_then_full_disk(self, text, *args, **kwargs):
        real_write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", half_then_full_disk)
    w.save_settings(str(s))
    monkeypatch.undo()
    assert "s.json" in w.last_error and s.read_text() == "previous"
    w.save_settings(str(s))
    assert json.loads(s.read_text())["window"] == w.current_config().window

    h = tmp_path / "h.csv"
    h.write_text("previous")

    class Unprintable:
        def __str__(self):
            raise OSError(5, "I/O error")

    try:
        exports.write_history_csv(h, [{"epoch": 0, "loss": 1.0}, {"epoch": 1, "loss": Unprintable()}])
    except VaeViewerError as exc:
        assert "h.csv" in str(exc)
    else:
        raise AssertionError("a failed write must raise VaeViewerError")
    assert h.read_text() == "previous", "a failed export must leave the previous file whole"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"
    with pytest.raises(VaeViewerError):
        exports.write_history_csv(h / "under_a_file.csv", [])


def test_loaded_settings_the_controls_round_are_named(qtbot, fake_window, tmp_path):
    w = fake_window
    f = tmp_path / "s.json"
    f.write_text(json.dumps({**w.current_config().to_dict(), "learning_rate": 1e-7}))
    w.load_settings(str(f))
    assert "learning_rate" in w.status.currentMessage()
    assert w.current_config().learning_rate == w.controls.learning_rate.value()
