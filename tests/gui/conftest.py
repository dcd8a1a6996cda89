"""GUI test set-up: offscreen Qt (set before any Qt import) and window fixtures."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from vaeviewer.config import RunConfig  # noqa: E402

from .gui_fakes import FakeSession, fake_factory  # noqa: E402


@pytest.fixture
def fake_window(qtbot):
    """A main window on a fake session (no TensorFlow), with dialogs off."""
    from vaeviewer.gui.main_window import MainWindow

    FakeSession.instances.clear()
    cfg = RunConfig(demo=True, demo_sequences=2, demo_frames=60, frame_size=(16, 20), window=4, epochs=2,
                    steps_per_epoch=5, batch_size=4)
    window = MainWindow(cfg, session_factory=fake_factory())
    window.show_dialogs = False
    qtbot.addWidget(window)
    window.show()
    yield window
    window.controller.stop()
    window.controller.wait(10000)
