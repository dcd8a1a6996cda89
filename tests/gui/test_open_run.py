"""File > Open run and Apply run to data in the real window: the run's views without training, DIR untouched."""

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.training.session import TrainingSession

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("opened")
    data = base / "clip.npy"
    np.save(data, (np.random.default_rng(0).random((120, 16, 20)) * 255).astype(np.uint8))
    out = base / "R"
    TrainingSession(tiny_config(demo=False, paths=[str(data)], frame_size=None, out=str(out), epochs=2)).run()
    return out


@pytest.fixture
def window(qtbot):
    from vaeviewer.config import RunConfig
    from vaeviewer.gui.main_window import MainWindow

    w = MainWindow(RunConfig(demo=True))
    w.show_dialogs = False
    errors = []
    w.show_error = errors.append
    w.errors = errors
    qtbot.addWidget(w)
    w.show()
    yield w
    w.controller.stop()
    w.controller.wait(60000)


def files_of(folder):
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()}


def test_open_run_shows_its_history_views_and_verdict_and_writes_nothing(qtbot, window, run_dir):
    before = files_of(run_dir)
    with qtbot.waitSignal(window.controller.runFinished, timeout=120000) as done:
        assert window.open_run(str(run_dir))
    finished = done.args[0]
    assert finished.reason == "completed" and "opened" in finished.message and "2 epochs trained" in finished.message
    qtbot.waitUntil(lambda: not window.controller.running and window.scatter.latents is not None, timeout=20000)
    assert window.loss_plot.epoch_data().shape[0] == 2        # the history curves, from history.jsonl
    assert window.strips.images[1].image is not None and window.timeline.error is not None
    assert "opened" in window.windowTitle() and run_dir.name in window.windowTitle()
    assert not window._has_unsaved_model()                    # its best.keras is on disk
    # Inspect another window after opening: the viewer answers like a finished session.
    with qtbot.waitSignal(window.controller.snapshot, timeout=30000) as sig:
        window.controller.request_window("train", 0, 12)
    assert (sig.args[0].split, sig.args[0].start) == ("train", 12)
    assert files_of(run_dir) == before


def test_moved_data_is_asked_for_and_other_data_is_scored_whole(qtbot, window, run_dir, tmp_path):
    moved = tmp_path / "moved.npy"
    original = run_dir.parent / "clip.npy"
    moved.write_bytes(original.read_bytes())
    original.rename(tmp_path / "hidden.npy")
    try:
        asked = []
        window.ask_data_paths = lambda missing: (asked.append(missing), [str(moved)])[1]
        with qtbot.waitSignal(window.controller.runFinished, timeout=120000) as done:
            assert window.open_run(str(run_dir))
        assert done.args[0].reason == "completed", done.args[0].message
        assert asked and asked[0][0].endswith("clip.npy")
    finally:
        (tmp_path / "hidden.npy").rename(original)
    qtbot.waitUntil(lambda: not window.controller.running, timeout=20000)
    other = tmp_path / "other.npy"
    np.save(other, np.random.default_rng(1).random((50, 16, 20)).astype(np.float32))
    said = []
    window.controller.message.connect(said.append)
    with qtbot.waitSignal(window.controller.runFinished, timeout=120000) as done:
        assert window.open_run(str(run_dir), other_paths=[str(other)])
    assert done.args[0].reason == "completed", done.args[0].message
    assert any("resized to the model's 16x20" in text for text in said)   # never silently
    qtbot.waitUntil(lambda: not window.controller.running and window.timeline.error is not None, timeout=20000)
    assert len(window.timeline.error) == 50                   # every frame of the other data, none held out
    assert "applied to other data" in window.windowTitle()


def test_a_directory_that_is_not_a_run_gets_a_dialog(window, tmp_path):
    assert not window.open_run(str(tmp_path))
    assert window.errors and "not a vaeviewer run directory" in window.errors[-1]
