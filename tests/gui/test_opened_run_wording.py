"""An opened run in the real window: the status bar describes the run, the Data panel holds the run's
data (no demo load first with `gui --run`), and the counts are worded for frames or windows, one or many."""

import argparse

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.training.session import TrainingSession

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("worded")
    data = base / "clip.npy"
    np.save(data, (np.random.default_rng(0).random((96, 16, 20)) * 255).astype(np.uint8))
    out = base / "R"
    TrainingSession(tiny_config(demo=False, paths=[str(data)], frame_size=None, out=str(out), epochs=3,
                                batch_size=8)).run()
    return out


def make_window(qtbot, **kwargs):
    from vaeviewer.config import RunConfig
    from vaeviewer.gui.main_window import MainWindow

    w = MainWindow(RunConfig(demo=True), **kwargs)
    w.show_dialogs = False
    w.errors = []
    w.show_error = w.errors.append
    qtbot.addWidget(w)
    w.show()
    return w


def open_and_wait(qtbot, w, run_dir):
    with qtbot.waitSignal(w.controller.runFinished, timeout=120000) as done:
        assert w.open_run(str(run_dir))
    assert done.args[0].reason == "completed", done.args[0].message
    qtbot.waitUntil(lambda: not w.controller.running and w.scatter.latents is not None, timeout=30000)
    qtbot.waitUntil(lambda: not w.data_panel.loading, timeout=30000)
    return done.args[0]


def test_opened_run_status_describes_the_run_not_training_progress(qtbot, run_dir):
    w = make_window(qtbot)
    try:
        finished = open_and_wait(qtbot, w, run_dir)
        bar = w.status
        best = finished.summary.get("kept_epoch")
        assert isinstance(best, int)
        assert bar.epoch.text() == f"opened run: 3 epochs, best epoch {best}"
        assert "step" not in bar.step.text() and not bar.step.isVisible() and not bar.progress.isVisible()
        assert not bar.eta.isVisible() and not bar.rate.isVisible()
        assert not bar.currentMessage().startswith("run completed")   # nothing was trained here
        # A training run afterwards shows its progress figures again.
        from vaeviewer.training import events as ev

        bar.run_started(ev.RunStarted(config={}, device="CPU", precision="float32", n_sequences=1,
                                      frame_shape=(16, 20), n_train=8, n_valid=2, steps_per_epoch=4, epochs=2))
        assert bar.epoch.text() == "epoch 1/2" and bar.step.isVisible() and bar.progress.isVisible()
    finally:
        w.controller.stop()
        w.controller.wait(60000)


def test_loaded_checkpoint_status_names_the_checkpoint(qtbot, run_dir):
    w = make_window(qtbot)
    try:
        w._on_checkpoint_loaded(str(run_dir / "best.keras"))
        assert w.status.epoch.text() == "loaded checkpoint best.keras" and not w.status.step.isVisible()
    finally:
        w.controller.wait(60000)


def test_opened_run_data_panel_holds_the_runs_data_and_counts_are_worded(qtbot, run_dir):
    w = make_window(qtbot, load_data=False)
    try:
        assert w.data_panel.sequences is None and not w.data_panel.loading   # nothing loaded at startup
        open_and_wait(qtbot, w, run_dir)
        panel = w.data_panel
        clip = str(run_dir.parent / "clip.npy")
        assert panel.loaded_config is not None and not panel.loaded_config.demo
        assert [str(p) for p in panel.loaded_config.paths] == [clip]
        assert panel.source.text() == clip and "demo" not in panel.source.text()
        assert "96 frames" in panel.summary.text() and "shown on this data" in panel.summary.text()
        # conv2d: a latent point is a frame, and one selected point is one frame
        assert w.scatter.window == 1
        assert w.scatter.info.text().startswith(f"{len(w.scatter.latents)} valid frames")
        w.scatter._set_selection(np.array([0]))
        assert w.probe_panel.sel_label.text() == "1 valid frame selected"
        w.scatter._set_selection(np.array([0, 1]))
        assert w.probe_panel.sel_label.text() == "2 valid frames selected"
    finally:
        w.controller.stop()
        w.controller.wait(60000)


def test_selection_and_scatter_counts_for_windows():
    from vaeviewer.gui.selection_exports import selection_note

    assert selection_note(1, "valid", 6, "hint") == "1 valid window of 6 frames selected"
    assert selection_note(3, "valid", 6, "hint") == "3 valid windows of 6 frames selected"
    assert selection_note(1, "train", 1, "hint") == "1 train frame selected"
    assert selection_note(0, "valid", 6, "hint") == "hint"


def test_scatter_count_text_frames_and_windows(qtbot):
    from vaeviewer.gui.latent_scatter import LatentScatter

    s = LatentScatter()
    qtbot.addWidget(s)
    s.split, s.total = "valid", None
    s.latents = np.zeros((1, 2))
    assert s.count_text() == "1 valid frame"
    s.set_window(6)
    s.latents = np.zeros((80, 2))
    assert s.count_text() == "80 valid windows"
    s.total = 200
    assert s.count_text() == "80 of 200 valid windows (sample)"


def test_gui_run_loads_no_demo_data(qtbot, run_dir, tmp_path, monkeypatch):
    from vaeviewer.gui.app import main_gui
    from vaeviewer.gui.data_panel import DataPanel

    loads = []
    real_load = DataPanel.load
    monkeypatch.setattr(DataPanel, "load", lambda self, cfg: (loads.append(cfg), real_load(self, cfg))[1])
    shot = tmp_path / "opened.png"
    args = argparse.Namespace(paths=[], demo=False, run=str(run_dir), quit_after=12.0, screenshot=str(shot))
    assert main_gui(args) == 0
    assert loads and all(not c.demo and c.paths for c in loads)    # only the run's own data, never the demo
    assert shot.stat().st_size > 10000
