"""The frame strips on synthetic snapshots: the rows drawn, the scrubber's keys, enlarging a frame."""

import numpy as np
from PyQt6.QtCore import Qt

from vaeviewer.gui.frame_strips import GAP, FrameStrips

from .gui_fakes import H, W, make_snapshot
from .test_widgets import scene_click


def test_strips_show_window_with_shared_levels(qtbot):
    strips = FrameStrips()
    qtbot.addWidget(strips)
    strips.set_lengths([30, 30], [30, 30], 4)
    snap = make_snapshot("valid", 1, 6, t=4, with_latents=False)
    strips.show_snapshot(snap)
    img = strips.images[0].image
    assert img.shape == (H, 4 * W + 3 * GAP) and img.dtype == np.float32 and img.flags["C_CONTIGUOUS"]
    # input and reconstruction share one range: the window's 0.5..99.5th percentiles (auto)
    lo, hi = np.percentile(snap.inputs, [0.5, 99.5])
    assert np.allclose(strips.images[0].getLevels(), (lo, hi), rtol=1e-3)
    assert np.allclose(strips.images[1].getLevels(), strips.images[0].getLevels())
    assert tuple(strips.images[2].getLevels())[0] == 0.0
    assert strips.sequence.value() == 1 and strips.slider.value() == 6
    assert strips.slider.maximum() == 26
    assert "frames 6–9" in strips.info.text()


def test_strips_scrubber_keys_and_enlarge(qtbot):
    strips = FrameStrips()
    qtbot.addWidget(strips)
    strips.show()
    strips.set_lengths([30, 30], [30, 30], 4)
    strips.show_snapshot(make_snapshot("valid", 0, 0, t=4, with_latents=False))
    with qtbot.waitSignal(strips.windowRequested, timeout=2000) as sig:
        qtbot.keyClick(strips, Qt.Key.Key_PageDown)
    assert sig.args == ["valid", 0, 4]
    with qtbot.waitSignal(strips.windowRequested, timeout=2000) as sig:
        qtbot.keyClick(strips, Qt.Key.Key_Right)
    assert sig.args[2] == 5
    dialog = strips.enlarge(2)
    assert dialog.isVisible() and dialog.images[0].image.shape == (H, W)
    dialog.close()
    with qtbot.waitSignal(strips.frameEnlarged, timeout=2000) as sig:   # double-click on column 1
        scene_click(qtbot, strips.graphics, strips.view, (W + GAP) * 1 + W / 2, H / 2, double=True)
    assert sig.args == [1]
