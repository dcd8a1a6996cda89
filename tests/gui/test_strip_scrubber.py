"""The strips' scrubber on its own: file frame numbers, whole windows when stateful, late answers."""

from PyQt6.QtCore import Qt

from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.gui.strip_scrubber import STATEFUL_SLIDER_TIP, StripScrubber

from .gui_fakes import make_snapshot

# The validation part is frames 320..399 of a 400-frame file "clip".
CLIP = FrameNames(offsets={"train": (0,), "valid": (320,)}, sources={"train": (0,), "valid": (0,)},
                  names=("clip",), lengths=(400,))


def test_slider_counts_file_frames_and_select_asks_at_once(qtbot):
    scrubber = StripScrubber()
    qtbot.addWidget(scrubber.slider)
    scrubber.set_lengths([320], [80], 10)
    scrubber.set_frame_names(CLIP)
    with qtbot.waitSignal(scrubber.windowRequested, timeout=1000) as sig:
        scrubber.select("valid", 0, 71)
    assert sig.args == ["valid", 0, 70]                   # clamped: the last whole window of the part
    assert (scrubber.slider.minimum(), scrubber.slider.maximum(), scrubber.slider.value()) == (320, 390, 390)
    assert scrubber.position() == 70 and scrubber.requested == ("valid", 0, 70)
    assert "clip" in scrubber.sequence.toolTip()
    with qtbot.assertNotEmitted(scrubber.windowRequested, wait=200):
        scrubber.move_to("train", 0, 5)                   # a window being shown: moved, not asked for
    assert (scrubber.split.currentText(), scrubber.slider.value()) == ("train", 5)


def test_stateful_moves_by_whole_windows_and_drops_late_snapshots(qtbot):
    scrubber = StripScrubber()
    qtbot.addWidget(scrubber.slider)
    scrubber.set_lengths([40], [40], 4, stateful=True)
    assert scrubber.key_step == 4 and scrubber.slider.toolTip() == STATEFUL_SLIDER_TIP
    scrubber.move_to("valid", 0, 0)
    scrubber.slider.setValue(6)                            # between windows: back to the window's start
    assert scrubber.slider.value() == 4
    assert scrubber.scrub_key(Qt.Key.Key_Right) and scrubber.position() == 8
    assert not scrubber.scrub_key(Qt.Key.Key_A)
    assert scrubber.requested == ("valid", 0, 8)
    assert not scrubber.answers_request(make_snapshot("valid", 0, 4, with_latents=False))    # asked for before
    assert scrubber.answers_request(make_snapshot("valid", 0, 8, with_latents=False))
    scrubber.set_lengths([40], [], 4)                     # a new run without validation data
    assert scrubber.requested is None and scrubber.split.currentText() == "train"
    assert scrubber.answers_request(make_snapshot("valid", 0, 4, with_latents=False))   # nothing asked yet
