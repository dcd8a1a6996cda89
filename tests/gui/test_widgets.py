"""Widget tests fed with synthetic events (no training, no TensorFlow)."""

import csv

import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError
from vaeviewer.gui import exports
from vaeviewer.gui.controls import ControlsPanel
from vaeviewer.gui.error_timeline import ErrorTimeline
from vaeviewer.gui.latent_scatter import LatentScatter, principal_components
from vaeviewer.gui.status import RunStatusBar, format_eta
from vaeviewer.training import events as ev

from .gui_fakes import H, W, make_snapshot


def started(**kw):
    base = dict(config=RunConfig(demo=True, window=4).to_dict(), device="CPU", precision="float32", n_sequences=2,
                frame_shape=(H, W), n_train=40, n_valid=10, steps_per_epoch=5, epochs=3,
                train_lengths=[30, 30], valid_lengths=[30, 30])
    base.update(kw)
    return ev.RunStarted(**base)


def batches(epoch, n=5):
    return [ev.BatchEnd(epoch, s, epoch * n + s + 1, 1.0 / (1 + s), 0.9, 0.1, 500.0, 3.0) for s in range(n)]


def scene_click(qtbot, widget, viewbox, x, y, double=False):
    """Click the pyqtgraph view at data coordinates (x, y)."""
    scene_pos = viewbox.mapViewToScene(QPointF(x, y))
    pos = widget.mapFromScene(scene_pos)
    left = Qt.MouseButton.LeftButton
    qtbot.mouseClick(widget.viewport(), left, pos=pos)
    if double:   # what Qt delivers for a real double-click: press, release, double-click, release
        qtbot.mouseDClick(widget.viewport(), left, pos=pos)
        qtbot.mouseRelease(widget.viewport(), left, pos=pos)


# ---- controls ---------------------------------------------------------------------------
def test_stateful_only_for_convlstm(qtbot):
    panel = ControlsPanel(RunConfig(demo=True, variant="conv2d"))
    qtbot.addWidget(panel)
    assert not panel.stateful.isEnabled()
    assert "only for convlstm" in panel.stateful.toolTip()
    panel.variant.setCurrentText("convlstm")
    assert panel.stateful.isEnabled()
    panel.stateful.setChecked(True)
    cfg = panel.config()
    assert cfg.stateful and cfg.stride == cfg.window          # stateful forces non-overlapping
    assert not panel.sliding.isEnabled()
    cfg.validate()
    panel.variant.setCurrentText("conv3d")
    assert not panel.stateful.isEnabled() and not panel.config().stateful


def test_controls_round_trip_and_signals(qtbot):
    cfg = RunConfig(demo=True, variant="conv3d", window=6, stride=2, latent_dim=4, beta=0.5, batch_size=16,
                    learning_rate=3e-4, epochs=7, precision="float32", dropout=0.4)
    panel = ControlsPanel(cfg)
    qtbot.addWidget(panel)
    out = panel.config()
    for name in ("variant", "window", "stride", "latent_dim", "beta", "dropout", "batch_size", "learning_rate",
                 "epochs", "precision"):
        assert getattr(out, name) == getattr(cfg, name), name
    with qtbot.waitSignal(panel.settingChanged) as sig:
        panel.window.setValue(8)
    assert sig.args == ["window"]
    panel.nonoverlap.setChecked(True)
    assert panel.config().stride == 8
    panel.set_running(True)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    # the beta control says how beta is read: relative to the data, or as it is (old settings)
    assert "relative to the data" in panel.beta.toolTip()
    panel.set_config(cfg.replace(beta_scale="none"))
    assert "as it is" in panel.beta.toolTip() and panel.config().beta_scale == "none"


# ---- latent scatter -----------------------------------------------------------------------
def test_scatter_click_selects_window(qtbot):
    scatter = LatentScatter()
    qtbot.addWidget(scatter)
    scatter.resize(500, 400)
    scatter.show()
    snap = make_snapshot("valid", 0, 0)
    snap.kl_per_dim = np.array([1.5, 0.01, 0.3])
    scatter.set_snapshot(snap)
    assert scatter.x_axis.itemText(2) == "z0 (KL 1.5)"
    assert len(scatter.points.data) == len(snap.latents)
    assert scatter.x_axis.count() == 2 + snap.latents.shape[1]
    scatter.plot.getViewBox().autoRange()
    i = 7
    x, y = scatter.xy[i]
    with qtbot.waitSignal(scatter.windowSelected, timeout=2000) as sig:
        scene_click(qtbot, scatter.plot, scatter.plot.getViewBox(), x, y)
    assert sig.args == ["valid", int(snap.latent_sequence[i]), int(snap.latent_frame[i])]
    assert scatter.selected_index == i
    assert np.allclose(scatter.selected.data["x"][0], x)
    scatter.x_axis.setCurrentIndex(2)     # z0 on x
    assert np.allclose(scatter.xy[:, 0], snap.latents[:, 0])
    scatter.colour.setCurrentIndex(1)


def test_principal_components_stable_sign():
    z = np.random.default_rng(0).normal(size=(50, 4)) * [3, 1, 0.5, 0.1]
    a = principal_components(z)
    b = principal_components(-z)
    assert a.shape == (50, 2)
    assert np.allclose(np.abs(a), np.abs(b))


# ---- error timeline, status, exports ---------------------------------------------------------
def test_timeline_click_jumps(qtbot):
    timeline = ErrorTimeline()
    qtbot.addWidget(timeline)
    timeline.resize(600, 200)
    timeline.show()
    snap = make_snapshot("valid", 1, 4, t=4)
    timeline.set_snapshot(snap)
    assert len(timeline.curve.getData()[0]) == 60
    assert timeline.current.isVisible()
    timeline.plot.getViewBox().autoRange()
    with qtbot.waitSignal(timeline.frameClicked, timeout=2000) as sig:
        scene_click(qtbot, timeline.plot, timeline.plot.getViewBox(), 35, float(snap.timeline_error[35]))
    assert sig.args == ["valid", 1, 5]


def test_status_bar(qtbot):
    bar = RunStatusBar()
    qtbot.addWidget(bar)
    bar.run_started(started())
    bar.batches(batches(1))
    assert bar.epoch.text() == "epoch 2/3" and bar.progress.value() == 10
    assert format_eta(3725) == "1:02:05" and format_eta(65) == "1:05" and format_eta(float("nan")) == "–"


def test_csv_exports(tmp_path):
    p = tmp_path / "z.csv"
    assert exports.write_latents_csv(p, "valid", [0, 1], [0, 4], np.ones((2, 3))) == 2
    rows = list(csv.reader(p.open()))
    assert rows[0] == ["split", "sequence", "frame_in_split", "source", "frame_in_source", "z0", "z1", "z2"]
    assert rows[2][:5] == ["valid", "1", "4", "valid sequence 1", "4"]    # no source map: within the part
    h = tmp_path / "h.csv"
    exports.write_history_csv(h, [{"epoch": 0, "loss": 1.0, "val_loss": 2.0, "seconds": 3}])
    rows = list(csv.DictReader(h.open()))
    assert rows[0]["val_loss"] == "2.0" and rows[0]["seconds"] == "3"


def test_empty_exports_are_refused_alike(tmp_path):
    """Nothing to export: both CSVs refuse with the same kind of message, and write no file."""
    z, h = tmp_path / "z.csv", tmp_path / "h.csv"
    with pytest.raises(VaeViewerError, match="no latents yet") as latent_err:
        exports.write_latents_csv(z, "valid", [], [], np.zeros((0, 3)))
    with pytest.raises(VaeViewerError, match="no loss history yet") as history_err:
        exports.write_history_csv(h, [])
    assert not z.exists() and not h.exists()
    for err in (latent_err, history_err):
        assert "after the first epoch" in str(err.value)


def test_conv2d_names_the_window_control_for_what_it_does(qtbot):
    from vaeviewer.gui.controls import ControlsPanel

    panel = ControlsPanel(RunConfig(demo=True, variant="conv3d"))
    qtbot.addWidget(panel)
    assert panel.window_label.text() == "window T" and panel.sliding.isEnabled()
    panel.variant.setCurrentText("conv2d")
    assert panel.window_label.text() == "frames shown"
    assert not panel.sliding.isEnabled() and not panel.stride.isEnabled()
