"""`vaeviewer gui`: build the QApplication and the main window, then run the event loop.

Only Qt, pyqtgraph and numpy load here, so the window appears at once; TensorFlow is imported
by the training thread when a run starts.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

from PyQt6.QtCore import QThreadPool, QTimer
from PyQt6.QtWidgets import QApplication

from vaeviewer.config import config_from_args   # the `gui` arguments are a subset of train's

_APP: Optional[QApplication] = None   # the one QApplication this module made, kept alive


def ensure_app() -> QApplication:
    """The running QApplication, or a new one (kept referenced: PyQt deletes unreferenced ones)."""
    global _APP
    app = QApplication.instance()
    if app is None:
        app = _APP = QApplication(sys.argv[:1])
    app.setApplicationName("vaeviewer")
    app.setOrganizationName("vaeviewer")
    return app


def main_gui(args: Any) -> int:
    """Open the app; with `autostart` train at once; with `quit_after` close after that long.

    Raises:
        VaeViewerError: a bad command-line setting (the CLI prints it and exits 2).
    """
    config = config_from_args(args)
    app = ensure_app()
    from vaeviewer.gui.main_window import MainWindow   # pyqtgraph options are set on this import

    run_dir = getattr(args, "run", None)
    # With --run the panel loads the run's data when it opens: no demo data loaded for nothing first.
    window = MainWindow(config, load_data=not run_dir)
    window.show()
    if run_dir:
        def open_given_run() -> None:
            if not window.open_run(run_dir):
                window.data_panel.load(window.config)   # not a run: the data the settings name, as without --run
        QTimer.singleShot(0, open_given_run)
    elif getattr(args, "autostart", False):
        QTimer.singleShot(0, window.start_run)
    screenshot: Optional[str] = getattr(args, "screenshot", None)
    quit_after = getattr(args, "quit_after", None)

    def take_screenshot() -> None:
        if screenshot and not getattr(window, "_screenshot_taken", False):
            window._screenshot_taken = True
            if not window.grab().save(screenshot):
                print(f"vaeviewer: error: {screenshot}: could not save the screenshot", file=sys.stderr)

    def finish() -> None:
        take_screenshot()   # mid-training, before the run is stopped
        window.ask_close = lambda: "discard"   # --quit-after is scripted: close without asking
        window.close()      # stops a run first, then closes when its thread has ended

    if quit_after is not None:
        QTimer.singleShot(int(max(0.0, float(quit_after)) * 1000), finish)
    app.aboutToQuit.connect(take_screenshot)
    code = app.exec()
    window.controller.stop()
    window.controller.wait(60000)
    QThreadPool.globalInstance().waitForDone(30000)
    from vaeviewer.gui.workers import inspection_pool

    inspection_pool().waitForDone(30000)
    return int(code)
