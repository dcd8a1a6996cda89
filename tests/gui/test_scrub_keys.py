"""The scrubber belongs to the user (issue 13 §4): late snapshots, keys anywhere, stateful steps."""

from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtWidgets import QApplication

from vaeviewer.config import RunConfig
from vaeviewer.gui.frame_strips import FrameStrips
from vaeviewer.training import events as ev

from .gui_fakes import FakeSession, H, W, make_snapshot

LENGTH = 100      # frames per validation sequence in these tests


def started(window=4, stateful=False, length=LENGTH) -> ev.RunStarted:
    cfg = RunConfig(demo=True, variant="convlstm", window=window, stride=window if stateful else 1,
                    stateful=stateful, batch_size=2)
    return ev.RunStarted(config=cfg.to_dict(), device="CPU", precision="float32", n_sequences=2,
                         frame_shape=(H, W), n_train=40, n_valid=10, steps_per_epoch=5, epochs=2,
                         train_lengths=[length, length], valid_lengths=[length, length])


def press(qtbot, widget, key, times=1, interval_ms=40):
    """`times` presses of `key` on `widget`, 25 a second (what a held key or a quick user gives)."""
    for _ in range(times):
        qtbot.keyClick(widget, key)
        qtbot.wait(interval_ms)


def shown(window) -> tuple:
    s = window.strips
    return s.split.currentText(), s.sequence.value(), s.slider.value()


def test_late_snapshots_never_move_the_scrubber_back(qtbot, fake_window):
    """20 presses of → from 10 end at 30, though each press is answered late, out of date."""
    w = fake_window
    w._on_run_started(started())
    w.controller.snapshot.emit(make_snapshot("valid", 0, 10, t=4, with_latents=False))
    w._render_snapshot_now()
    assert shown(w) == ("valid", 0, 10)
    requests = []
    w.strips.windowRequested.connect(lambda *args: requests.append(args))
    w.strips.setFocus()
    for i in range(20):
        qtbot.keyClick(w.strips, Qt.Key.Key_Right)
        # the answer to a request three presses back arrives only now, with latents (an epoch end)
        w.controller.snapshot.emit(make_snapshot("valid", 0, 10 + max(0, i - 2), t=4, with_latents=(i == 10)))
        qtbot.wait(40)
    assert shown(w) == ("valid", 0, 30)
    qtbot.waitUntil(lambda: requests and requests[-1] == ("valid", 0, 30), timeout=2000)
    w._render_snapshot_now()
    assert w.strips.snapshot.start == 10          # nothing stale was drawn
    assert w.scatter.latents is not None          # ... but the late snapshot's latents were kept
    # the answer to the last request is drawn; a later stale one is not
    w.controller.snapshot.emit(make_snapshot("valid", 0, 30, t=4, with_latents=False))
    w._render_snapshot_now()
    assert w.strips.snapshot.start == 30 and "frames 30–33" in w.strips.info.text()
    w.controller.snapshot.emit(make_snapshot("valid", 0, 27, t=4, with_latents=False))
    w._render_snapshot_now()
    assert w.strips.snapshot.start == 30 and shown(w) == ("valid", 0, 30)
    assert w.scatter._current == ("valid", 0, 30)        # the ring follows the window drawn


class SlowAnswers(FakeSession):
    """A fake session with 100-frame sequences whose every answer is followed by a stale one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lengths = (LENGTH, LENGTH)
        self.asked: list = []

    def request_snapshot(self, split, sequence, start):
        self.asked.append((split, sequence, start))
        super().request_snapshot(split, sequence, start)
        if len(self.asked) > 3:      # ... then a request from three moves ago is answered again
            super().request_snapshot(*self.asked[-4])


def test_quick_presses_during_a_run_end_where_the_user_stopped(qtbot):
    """The real controller path: requests go to a (fake) session that answers late."""
    from vaeviewer.gui.main_window import MainWindow

    cfg = RunConfig(demo=True, demo_sequences=2, demo_frames=60, frame_size=(16, 20), window=4, epochs=3,
                    steps_per_epoch=40, batch_size=4)
    w = MainWindow(cfg, session_factory=lambda c, listener, seqs=None: SlowAnswers(c, listener, seqs, batch_s=0.02))
    w.show_dialogs = False
    qtbot.addWidget(w)
    w.show()
    try:
        assert w.start_run()
        qtbot.waitUntil(lambda: w.strips.snapshot is not None, timeout=10000)
        w.strips.select("valid", 0, 10)
        w.strips.setFocus()
        press(qtbot, w.strips, Qt.Key.Key_Right, 20)
        assert shown(w) == ("valid", 0, 30)
        # the answer to the last request is drawn, though stale answers (and epoch-end snapshots
        # of the session's older selection) come after it
        qtbot.waitUntil(lambda: w.strips.snapshot.start == 30, timeout=5000)
        session = FakeSession.instances[-1] if FakeSession.instances else None
        assert session is not None and session.asked[-1] == ("valid", 0, 30)
        qtbot.wait(700)
        assert shown(w) == ("valid", 0, 30) and w.strips.snapshot.start == 30
    finally:
        w.controller.stop()
        w.controller.wait(10000)


def click_scatter_point(qtbot, scatter, i):
    vb = scatter.plot.getViewBox()
    x, y = scatter.xy[i]
    pos = scatter.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(scatter.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_keys_scrub_after_a_click_in_the_scatter(qtbot, fake_window):
    w = fake_window
    w.activateWindow()
    w._on_run_started(started())
    snap = make_snapshot("valid", 0, 0, t=4)
    w.controller.snapshot.emit(snap)
    w._render_snapshot_now()
    w.scatter.plot.getViewBox().autoRange()
    qtbot.wait(50)
    i = next(j for j in range(len(snap.latent_frame)) if snap.latent_sequence[j] == 1 and snap.latent_frame[j] > 4)
    with qtbot.waitSignal(w.scatter.windowSelected, timeout=2000):
        click_scatter_point(qtbot, w.scatter, i)
    start = int(snap.latent_frame[i])
    assert shown(w) == ("valid", 1, start)
    w.scatter.plot.setFocus()            # what the click does on a real screen
    assert QApplication.focusWidget() is w.scatter.plot
    with qtbot.waitSignal(w.strips.windowRequested, timeout=2000) as sig:
        qtbot.keyClick(w.scatter.plot, Qt.Key.Key_Right)
    assert shown(w) == ("valid", 1, start + 1) and tuple(sig.args) == ("valid", 1, start + 1)
    press(qtbot, w.scatter.plot, Qt.Key.Key_PageDown)
    press(qtbot, w.timeline.plot, Qt.Key.Key_Left)     # from any plot
    press(qtbot, w.loss_plot, Qt.Key.Key_Left)
    assert shown(w) == ("valid", 1, start + 1 + 4 - 2)


def test_fields_that_edit_values_keep_their_arrow_keys(qtbot, fake_window):
    w = fake_window
    w.activateWindow()
    w._on_run_started(started())
    w.controller.snapshot.emit(make_snapshot("valid", 0, 10, t=4, with_latents=False))
    w._render_snapshot_now()
    for field in (w.strips.sequence, w.strips.error_max, w.controls.findChild(type(w.strips.sequence))):
        field.setFocus()
        press(qtbot, field, Qt.Key.Key_Right)
        press(qtbot, field, Qt.Key.Key_PageDown)
        assert w.strips.slider.value() == 10, field
    # the frame slider itself scrubs like the rest of the window
    press(qtbot, w.strips.slider._slider, Qt.Key.Key_Right)
    assert w.strips.slider.value() == 11


def test_stateful_keys_step_one_window(qtbot):
    strips = FrameStrips()
    qtbot.addWidget(strips)
    strips.show()
    strips.set_lengths([95, 95], [95, 95], 10, stateful=True)
    assert "one window" in strips.slider.toolTip() and "stateful" in strips.slider.toolTip()
    strips.show_snapshot(make_snapshot("valid", 0, 0, t=10, with_latents=False))
    with qtbot.waitSignal(strips.windowRequested, timeout=2000) as sig:
        qtbot.keyClick(strips, Qt.Key.Key_Right)
    assert sig.args == ["valid", 0, 10] and strips.slider.value() == 10
    press(qtbot, strips, Qt.Key.Key_Right, 3)
    assert strips.slider.value() == 40
    press(qtbot, strips, Qt.Key.Key_Left)
    assert strips.slider.value() == 30
    # the session shows whole windows only: a dragged slider lands on one, and the answer shows
    strips.slider.setValue(57)
    assert strips.slider.value() == 50 and strips.requested == ("valid", 0, 50)
    assert not strips.show_snapshot(make_snapshot("valid", 0, 30, t=10, with_latents=False))
    assert strips.show_snapshot(make_snapshot("valid", 0, 50, t=10, with_latents=False))
    # at the end: the last whole window (95 frames: 80-89), never a partial one
    press(qtbot, strips, Qt.Key.Key_Right, 5)
    assert strips.slider.value() == 80


def test_stateful_run_in_the_window_steps_by_windows(qtbot, fake_window):
    w = fake_window
    w.activateWindow()
    w._on_run_started(started(window=10, stateful=True))
    w.controller.snapshot.emit(make_snapshot("valid", 0, 0, t=10, with_latents=False))
    w._render_snapshot_now()
    w.timeline.plot.setFocus()
    press(qtbot, w.timeline.plot, Qt.Key.Key_Right, 2)
    assert shown(w) == ("valid", 0, 20)
    # a click in the timeline shows the whole window holding the clicked frame
    w._on_timeline_click("valid", 1, 37)
    assert shown(w) == ("valid", 1, 30)
