"""The data panel's progress bar and Cancel: loading runs off the GUI thread, a cancel keeps the old data."""

import threading
import time

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from tests.conftest import tiny_config
from tests.gui.gui_fakes import FakeSession
from vaeviewer.data.sources import Sequence


class SlowLoader:
    """Stands in for load_sequences: 1000 frames at 5 ms each, reporting progress as the real one does."""

    def __init__(self, frames: int = 1000, per_frame_s: float = 0.005):
        self.frames, self.per_frame_s = frames, per_frame_s
        self.reached = 0
        self.threads: set[str] = set()
        self.stopped_by = None

    def __call__(self, paths, frame_size=None, progress=None):
        self.threads.add(threading.current_thread().name)
        try:
            for i in range(self.frames):
                time.sleep(self.per_frame_s)
                self.reached = i + 1
                if progress is not None and i % 10 == 0:
                    progress(i, self.frames)
        except Exception as exc:
            self.stopped_by = exc
            raise
        return [Sequence("slow", np.zeros((self.frames, 16, 20), np.uint8), source="test frames")]


@pytest.fixture
def panel(qtbot):
    from vaeviewer.gui.data_panel import DataPanel

    p = DataPanel()
    qtbot.addWidget(p)
    p.SHOW_PROGRESS_AFTER_S = 0.0
    p.show()
    with qtbot.waitSignal(p.loaded, timeout=20000):
        p.load(tiny_config())                        # the demo data: what a cancel must keep
    yield p
    qtbot.waitUntil(lambda: not p.loading, timeout=20000)


def files_config(tmp_path):
    path = tmp_path / "long.avi"
    path.write_bytes(b"")
    return tiny_config(demo=False, paths=[str(path)])


def test_cancel_stops_the_load_and_keeps_the_data_loaded_before(qtbot, panel, tmp_path, monkeypatch):
    import vaeviewer.data.sources as sources

    slow = SlowLoader()
    monkeypatch.setattr(sources, "load_sequences", slow)
    before, key, config = panel.sequences, panel.key, panel.loaded_config
    assert panel.progress_row.isHidden()
    panel.load(files_config(tmp_path))
    assert panel.loading and panel.summary.text() == "loading…"
    qtbot.waitUntil(lambda: not panel.progress_row.isHidden() and panel.progress.value() > 0, timeout=5000)
    assert panel.progress.maximum() == 1000 and "/ 1000 frames" in panel.progress.format()
    assert threading.main_thread().name not in slow.threads   # loaded in a pool thread

    with qtbot.waitSignal(panel.failed, timeout=2000) as sig:
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert "cancelled" in sig.args[0] and "kept" in sig.args[0] and "demo" in sig.args[0]
    assert panel.progress_row.isHidden()
    assert "loading cancelled" in panel.summary.text() and "sequence(s)" in panel.summary.text()
    assert panel.source.text().startswith("demo data")
    qtbot.waitUntil(lambda: not panel.loading, timeout=2000)  # the thread stops at its next report
    qtbot.wait(50)
    assert type(slow.stopped_by).__name__ == "LoadCancelled" and slow.reached < slow.frames
    assert panel.sequences is before and panel.key == key and panel.loaded_config is config
    assert panel.sequences_for(config) is before


def test_a_new_choice_stops_the_load_in_flight(qtbot, panel, tmp_path, monkeypatch):
    import vaeviewer.data.sources as sources

    slow = SlowLoader()
    monkeypatch.setattr(sources, "load_sequences", slow)
    panel.load(files_config(tmp_path))
    qtbot.waitUntil(lambda: slow.reached > 0, timeout=5000)
    panel.load(panel.loaded_config)                  # back to the loaded data: nothing to load
    assert panel.progress_row.isHidden() and "loading" not in panel.summary.text()
    qtbot.waitUntil(lambda: not panel.loading, timeout=2000)
    assert slow.reached < slow.frames


def test_a_load_that_finishes_hides_the_bar_and_is_adopted(qtbot, panel, tmp_path, monkeypatch):
    import vaeviewer.data.sources as sources

    monkeypatch.setattr(sources, "load_sequences", SlowLoader(frames=60, per_frame_s=0.005))
    config = files_config(tmp_path)
    with qtbot.waitSignal(panel.loaded, timeout=5000):
        panel.load(config)
    assert panel.progress_row.isHidden() and panel.sequences_for(config) is panel.sequences
    assert len(panel.sequences[0]) == 60


def test_a_short_load_shows_no_bar(qtbot, tmp_path):
    from vaeviewer.gui.data_panel import DataPanel

    p = DataPanel()
    qtbot.addWidget(p)
    p.show()
    shown = []
    p._poll.timeout.connect(lambda: shown.append(not p.progress_row.isHidden()))
    with qtbot.waitSignal(p.loaded, timeout=20000):
        p.load(tiny_config())
    assert not any(shown) and p.progress_row.isHidden()
    qtbot.waitUntil(lambda: not p.loading, timeout=20000)


def test_after_a_cancel_the_window_trains_on_the_data_loaded_before(qtbot, fake_window, tmp_path, monkeypatch):
    import vaeviewer.data.sources as sources

    w = fake_window
    qtbot.waitUntil(lambda: w.data_panel.sequences is not None, timeout=10000)
    before, good = w.data_panel.sequences, w.config
    slow = SlowLoader()
    monkeypatch.setattr(sources, "load_sequences", slow)
    w.data_panel.SHOW_PROGRESS_AFTER_S = 0.0
    w.set_data([str(tmp_path / "long.avi")], False)
    qtbot.waitUntil(lambda: not w.data_panel.progress_row.isHidden(), timeout=5000)
    w.data_panel.cancel()
    assert w.config.demo and not w.config.paths          # the window names the loaded data again
    assert "cancelled" in w.status.currentMessage()       # said in the status bar: the user asked for it
    assert "cancelled" not in (w.last_error or "")        # no error dialog
    qtbot.waitUntil(lambda: not w.data_panel.loading, timeout=2000)
    assert w.data_panel.sequences_for(w.current_config()) is before
    assert w.start_run()
    qtbot.waitUntil(lambda: not w.controller.running, timeout=10000)
    run = FakeSession.instances[-1].config                # the run trains on the demo data, not the file
    assert run.demo and not run.paths and slow.reached < slow.frames
