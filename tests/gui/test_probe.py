"""The Probe panel, decode-anywhere, interpolation, selection and the error threshold, on a real
tiny trained session in a real (offscreen) window."""

import csv

import numpy as np
import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication

from tests.conftest import tiny_config

pytestmark = pytest.mark.slow


@pytest.fixture
def trained(qtbot):
    """make(cfg): a shown main window whose tiny run has finished, with the panel filled."""
    from vaeviewer.gui.main_window import MainWindow
    from vaeviewer.gui.workers import _LIVE_WORKERS

    def settle(w):
        """Stop the run and let inspections and decodes under way answer before the window goes."""
        w.controller.stop()
        w.controller.wait(60000)
        qtbot.waitUntil(lambda: not _LIVE_WORKERS, timeout=30000)

    def make(cfg):
        w = MainWindow(cfg)
        w.show_dialogs = False
        w.resize(1400, 900)
        qtbot.addWidget(w, before_close_func=settle)
        w.show()
        with qtbot.waitSignal(w.controller.runFinished, timeout=120000) as done:
            assert w.start_run()
        assert done.args[0].reason == "completed", done.args[0].message
        qtbot.waitUntil(lambda: not w.controller.running and w.scatter.latents is not None, timeout=20000)
        p = w.probe_panel
        qtbot.waitUntil(lambda: p.base_z is not None and p.last_decoded is not None and not p.worker.busy,
                        timeout=20000)
        # The threshold's default from the training frames, scored on the worker once the run ended.
        qtbot.waitUntil(lambda: w.training_threshold.errors is not None, timeout=30000)
        return w

    return make


def _viewport_point(plot, x, y) -> QPoint:
    vb = plot.getViewBox()
    return plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))


def _mouse(widget, kind, pos: QPoint, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def _drag(qtbot, plot, points, modifiers=Qt.KeyboardModifier.NoModifier):
    """A real left drag through view points (press, moves spaced past pyqtgraph's rate limit, release)."""
    port = plot.viewport()
    px = [_viewport_point(plot, x, y) for x, y in points]
    left = Qt.MouseButton.LeftButton
    _mouse(port, QEvent.Type.MouseMove, px[0], Qt.MouseButton.NoButton, modifiers)
    _mouse(port, QEvent.Type.MouseButtonPress, px[0], left, modifiers)
    for p in px[1:]:
        qtbot.wait(30)
        _mouse(port, QEvent.Type.MouseMove, p, left, modifiers)
    qtbot.wait(30)
    _mouse(port, QEvent.Type.MouseButtonRelease, px[-1], Qt.MouseButton.NoButton, modifiers)


def test_probe_panel_on_a_trained_conv2d_model(qtbot, trained, tmp_path):
    w = trained(tiny_config(latent_dim=3))
    p, s, tl = w.probe_panel, w.scatter, w.timeline
    insp = w.controller.session.inspector
    assert p.inspector is insp and len(p.sliders) == 3
    # Sliders ordered by KL, largest first; the panel starts at the selected window's z mean.
    kl = insp.last_kl_per_dim
    assert [int(d) for d in np.argsort(-kl, kind="stable")] == p.order
    from vaeviewer.gui.probe_panel import UNUSED_KL

    assert [("unused" in p._rows[d][0].text()) for d in range(3)] == list(kl < UNUSED_KL)
    sel = w.strips.snapshot
    assert np.allclose(p.base_z, insp.window_z(sel.split, sel.sequence, sel.start), atol=1e-5)
    assert p.last_decoded.shape == (16, 20, 1)

    # Moving a slider decodes at once (conv2d: on the GUI thread) and the scatter marks the point.
    before = p.last_decoded.copy()
    p.sliders[p.order[0]].setValue(250)
    assert p.z[p.order[0]] == pytest.approx(2.5)
    assert np.allclose(p.last_decoded, insp.decode(p.z), atol=1e-5)
    assert not np.allclose(p.last_decoded, before, atol=1e-4)
    assert s.probe_marker.data["x"].size == 1

    # A real click on empty scatter space (latent dims on both axes) decodes that point.
    s.x_axis.setCurrentIndex(2)
    s.y_axis.setCurrentIndex(3)
    vb = s.plot.getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    x, y = x0 + 0.04 * (x1 - x0), y1 - 0.04 * (y1 - y0)
    assert np.min(np.hypot(s.xy[:, 0] - x, s.xy[:, 1] - y)) > 0.02 * (x1 - x0)   # empty there
    base = p.base_z.copy()
    with qtbot.waitSignal(p.decoded, timeout=5000):
        qtbot.mouseClick(s.plot.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_point(s.plot, x, y))
    assert p.z[0] == pytest.approx(x, abs=0.02 * (x1 - x0)) and p.z[1] == pytest.approx(y, abs=0.02 * (y1 - y0))
    assert p.z[2] == pytest.approx(base[2])   # the other dimension stays at the selected window's
    assert np.allclose(p.last_decoded, insp.decode(p.z), atol=1e-5)
    # PCA axes map back through the PCA: the point lands where it was clicked, off-plane kept.
    s.x_axis.setCurrentIndex(0)
    s.y_axis.setCurrentIndex(1)
    z = s.latent_at(0.3, -0.2, base)
    assert s.axis_values(z) == pytest.approx((0.3, -0.2), abs=1e-5)
    off = np.cross(*s.pca_axes) if len(base) == 3 else None
    assert off @ z == pytest.approx(off @ base, abs=1e-5)

    # Interpolation between two shift-clicked windows: N frames, ends = decodes of their z means.
    p.steps.setValue(5)
    a, b = 0, len(s.frame_of) - 1
    ends = [(s.split, int(s.sequence_of[i]), int(s.frame_of[i])) for i in (a, b)]
    s.windowPicked.emit(*ends[0])
    with qtbot.waitSignal(p.interpolated, timeout=20000) as got:
        tl.framePicked.emit(*ends[1])   # a timeline frame as B (conv2d: that frame)
    frames = got.args[0]
    assert frames.shape == (5, 16, 20, 1)
    assert np.allclose(frames[0], insp.decode(insp.window_z(*ends[0])), atol=1e-4)
    assert np.allclose(frames[-1], insp.decode(insp.window_z(*ends[1])), atol=1e-4)

    # Box selection (a real Ctrl+drag) exports the selected points' frame indices.
    xs, ys = s.xy[:, 0], s.xy[:, 1]
    box = (np.percentile(xs, 20), np.percentile(ys, 20), np.percentile(xs, 80), np.percentile(ys, 80))
    _drag(qtbot, s.plot, [(box[0], box[1]), ((box[0] + box[2]) / 2, box[3]), (box[2], box[3])],
          Qt.KeyboardModifier.ControlModifier)
    tol = 1e-3
    expect = np.flatnonzero((xs >= box[0] - tol) & (xs <= box[2] + tol) & (ys >= box[1] - tol) & (ys <= box[3] + tol))
    assert 0 < len(s.selection) and set(s.selection) <= set(expect) and len(expect) - len(s.selection) <= 2
    assert len(tl.highlighted_rows()) == len(s.selection)   # conv2d: one frame a point
    out = tmp_path / "sel.csv"
    p.ask_path = lambda *_a: str(out)
    p.sel_csv.click()
    rows = list(csv.DictReader(out.open()))
    got_rows = sorted((r["split"], int(r["sequence"]), int(r["first_frame"]), int(r["last_frame"])) for r in rows)
    want = sorted((s.split, int(s.sequence_of[i]), int(s.frame_of[i]), int(s.frame_of[i])) for i in s.selection)
    assert got_rows == want

    # A lasso (a real Ctrl+Shift drag around the middle of the cloud) selects the points inside it,
    # and the timeline shades them as it does a box selection.
    from vaeviewer.gui.scatter_selection import points_in_polygon

    cx, cy = np.median(xs), np.median(ys)
    rx, ry = np.percentile(xs, 90) - cx, np.percentile(ys, 90) - cy
    poly = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 9)[:-1]]
    with qtbot.waitSignal(s.selectionChanged, timeout=5000):
        _drag(qtbot, s.plot, poly + [poly[0]], Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    expect = np.flatnonzero(points_in_polygon(s.xy, poly))
    assert 0 < len(s.selection) and len(set(s.selection) ^ set(expect)) <= 2   # pixel rounding at the edges
    assert len(tl.highlighted_rows()) == len(s.selection)
    assert len(p.selection_rows()) == len(s.selection)

    # The selection's frames: a PNG of input over reconstruction rows and a video, written on the worker.
    import imageio.v2 as imageio

    sel_frames = len(p.selection_rows())
    png = tmp_path / "sel.png"
    with qtbot.waitSignal(p.exported, timeout=30000):
        assert p.export_selection_png(str(png)) == min(sel_frames, 128)
    strip = imageio.imread(png)
    assert strip.ndim == 2 and strip.shape[1] >= 16 * 20 and strip.shape[0] >= 2 * 16
    from PIL import Image

    assert f"of {sel_frames:,} selected frames" in Image.open(png).info["Description"]
    for name in ("sel.gif", "sel.mp4"):
        video = tmp_path / name
        with qtbot.waitSignal(p.exported, timeout=60000):
            p.export_selection_video(str(video))
        reader = imageio.get_reader(str(video))
        frames = [f for f in reader]
        reader.close()
        assert len(frames) == sel_frames, name   # conv2d: one frame a selected point
        assert frames[0].shape[1] >= 3 * 20      # input | reconstruction | error

    # Traversal grid: dims x steps, as a PNG of the right size.
    grid = tmp_path / "trav.png"
    with qtbot.waitSignal(p.exported, timeout=20000):
        p.export_traversal(str(grid))
    from PyQt6.QtGui import QImage

    img = QImage(str(grid))
    steps = p.trav_steps.value()
    assert (img.width(), img.height()) == (steps * 20 + (steps - 1) * 3, 3 * 16 + 2 * 3)

    # The threshold: default mean + 3 SD of the training frames' errors (as vaeviewer export), its
    # tooltip says so; draggable; stepping visits exactly the frames above it.
    err = tl.error
    train_err = insp.walk("train", cover_all=True).frame_errors()[2]
    assert len(train_err) == sum(len(q) for q in insp.data.train) and len(train_err) != len(err)
    assert tl.threshold == pytest.approx(float(train_err.mean() + 3 * train_err.std()), rel=1e-6)
    assert "training frames" in tl.threshold_line.toolTip() and "training frames" in tl.threshold_basis
    assert tl.threshold_line.label.toPlainText() == f"threshold {tl.threshold:.3g}"   # the label follows
    level = float(np.quantile(err, 0.9))
    vb = tl.plot.getViewBox()
    xr = vb.viewRange()[0]
    xm = xr[0] + 0.6 * (xr[1] - xr[0])
    _drag(qtbot, tl.plot, [(xm, tl.threshold), (xm, (tl.threshold + level) / 2), (xm, level)])
    assert tl.threshold == pytest.approx(level, rel=0.15) and tl._threshold_moved
    tl.set_threshold(level)
    above = tl.rows_above()
    assert len(above) == int((err > level).sum()) > 0
    visited = []
    with qtbot.waitSignals([tl.frameClicked] * 1, timeout=1000):
        tl.next_above.click()
    visited.append(tl.stepped_row)
    for _ in range(len(above) - 1):
        visited.append(tl.step_above(+1))
    assert visited == list(above)
    assert tl.step_above(+1) == above[0]          # wraps
    assert tl.step_above(-1) == above[-1]
    assert tl.threshold == pytest.approx(level)   # a new snapshot keeps the user's threshold
    w.grab().save(str(tmp_path / "probe_window.png"))


def test_probe_panel_decodes_windows_off_the_gui_thread(qtbot, trained, tmp_path):
    w = trained(tiny_config(variant="conv3d", window=4, stride=4, latent_dim=2))
    p, insp = w.probe_panel, w.controller.session.inspector
    assert len(p.sliders) == 2 and p.last_decoded.shape == (4, 16, 20, 1)
    with qtbot.waitSignal(p.decoded, timeout=20000):
        p.sliders[0].setValue(-200)
    assert np.allclose(p.last_decoded, insp.decode(p.z), atol=1e-5)
    # A 4-frame window shows as a strip of 4 frames.
    assert p.decoded_image.image.shape == (16, 4 * 20 + 3)
    # Newest wins: of many quick moves, the last one is what shows in the end.
    for v in range(-100, 101, 20):
        p.sliders[1].setValue(v)
    qtbot.waitUntil(lambda: not p.worker.busy, timeout=20000)
    assert p.z[1] == pytest.approx(1.0) and np.allclose(p.last_decoded, insp.decode(p.z), atol=1e-5)

    # Selected windows export whole: the PNG holds each window's 4 frames over their reconstructions
    # (as the strips show them), the gif 4 frames a window.
    import imageio.v2 as imageio

    s = w.scatter
    s.select_polygon([(-1e3, -1e3), (1e3, -1e3), (1e3, 1e3), (-1e3, 1e3)])   # everything
    rows = p.selection_rows()
    assert len(rows) == len(s.latents) and all(b - a == 3 for _sp, _q, a, b in rows)
    from vaeviewer.gui.selection_exports import selected_frames, strip_image

    pairs = selected_frames(insp, rows[:2])
    snap = insp.window(*rows[1][:3])
    assert np.allclose(pairs[1][1], snap.reconstruction) and np.allclose(pairs[1][0], snap.inputs)
    assert strip_image(pairs).shape == (2 * 16 + 2, 8 * 20 + 6 + 4)   # 2 windows of 4 in one band
    gif = tmp_path / "sel.gif"
    with qtbot.waitSignal(p.exported, timeout=60000):
        assert p.export_selection_video(str(gif)) == len(rows)
    assert len(imageio.mimread(str(gif))) == 4 * len(rows)


def test_bench_probe_runs_small():
    from vaeviewer.benchmarks.probe import slider_latency, stall_with_many_points

    from vaeviewer.config import RunConfig

    small = dict(demo=True, demo_sequences=1, demo_frames=40, frame_size=(16, 20), filters=(4, 8), inner_dim=8,
                 latent_dim=2, precision="float32")

    got = slider_latency(RunConfig(variant="conv2d", window=4, **small), moves=5, warmup=2)
    assert got["moves"] == 5 and got["p99_ms"] >= got["p50_ms"] > 0
    stalls = stall_with_many_points(3000, moves=6, probe_cfg=RunConfig(variant="conv2d", window=4, **small))
    assert stalls["selected_points"] > 0 and stalls["threshold_moved"] and stalls["probe_decoded"]
    assert stalls["timer_ticks"] > 10
    assert stalls["per_drag"]["lasso"]["selected_points"] > 0 and stalls["per_drag"]["lasso"]["stall_p99_ms"] > 0


def test_the_training_threshold_walk_gives_way_to_a_probe_decode(qtbot, trained, monkeypatch):
    """The walk over every training frame for the threshold runs on the one inspection worker; a
    slider's decode asked meanwhile is answered before the walk ends (the walk stops, and resumes later)."""
    import time

    from vaeviewer.gui import training_threshold as tt

    w = trained(tiny_config(latent_dim=3))
    p, th = w.probe_panel, w.training_threshold
    gave_way, walk_done_at_decode = [], []
    give_way = tt._give_way

    def slow_give_way():       # a long walk: each batch takes 50 ms more
        time.sleep(0.05)
        try:
            give_way()
        except tt.GaveWay:
            gave_way.append(True)
            raise

    monkeypatch.setattr(tt, "_give_way", slow_give_way)
    before = th.errors
    th.errors = None
    th.update()
    qtbot.wait(200)                                   # the walk is under way
    p.decoded.connect(lambda _sample: walk_done_at_decode.append(th.errors is not None))
    p.request_decode(background=True)
    qtbot.waitUntil(lambda: th.errors is not None, timeout=30000)
    assert walk_done_at_decode == [False] and gave_way
    np.testing.assert_allclose(th.errors, before)     # the walk started again gives the same errors
