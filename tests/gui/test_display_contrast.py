"""Dim data is visible: the strips' contrast comes from the data, not a fixed 0..1 (issue 13 §1)."""

import numpy as np
import pytest
from PyQt6.QtGui import QImage

from vaeviewer.data.sources import Sequence
from vaeviewer.gui.data_panel import DataPanel
from vaeviewer.gui.frame_strips import FrameStrips
from vaeviewer.training import events as ev

SIZE = 96


def dim_blobs(n=10, seed=0, low=100, high=400):
    """16-bit-like frames: blobs from `low` to `high` of 65535 with a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    frames = np.empty((n, SIZE, SIZE), np.float32)
    for i in range(n):
        img = np.full((SIZE, SIZE), float(low))
        for k in range(2):
            cy, cx = 48 + 28 * np.sin(0.3 * i + 2 * k), 48 + 28 * np.cos(0.2 * i + k)
            img += (high - low) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 9.0 ** 2))
        frames[i] = np.clip(img + rng.normal(0, 4, img.shape), low, high) / 65535.0
    return frames


def dim_snapshot(start=0, n=10, seed=0, **kw):
    x = dim_blobs(n, seed=seed, **kw)
    recon = (0.8 * x + 0.2 * x.mean(axis=0)).astype(np.float32)
    return ev.Snapshot("valid", 0, start, x, recon, ((x - recon) ** 2).mean(axis=(1, 2)))


def rendered(item) -> np.ndarray:
    """The ImageItem as drawn: (H, W) gray values 0..255 of its QImage (gaps excluded)."""
    item.render()
    qimage = item.qimage.convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(qimage.constBits().asstring(qimage.sizeInBytes()), np.uint8)
    arr = arr.reshape(qimage.height(), qimage.bytesPerLine() // 4, 4)[:, : qimage.width()]
    return arr[..., :3].mean(axis=2)[np.isfinite(item.image)]


@pytest.fixture
def strips(qtbot):
    widget = FrameStrips()
    qtbot.addWidget(widget)
    widget.resize(900, 360)
    widget.show()
    widget.set_lengths([80], [80], 10)
    return widget


def test_dim_frames_span_the_display_range(strips):
    snap = dim_snapshot()
    strips.show_snapshot(snap)
    lo, hi = np.percentile(snap.inputs, [0.5, 99.5])
    assert np.allclose(strips.images[0].getLevels(), (lo, hi), rtol=1e-3)
    assert np.allclose(strips.images[1].getLevels(), (lo, hi), rtol=1e-3)   # one range for both rows
    shown = rendered(strips.images[0])
    assert shown.max() > 230 and shown.min() < 25            # black to white, not solid black
    assert np.percentile(shown, 99) - np.percentile(shown, 1) > 180
    assert rendered(strips.images[1]).max() > 150            # the reconstruction too
    # the |error| row follows the errors: its top is within a 1-2-5 step of their 99.5th percentile
    err = np.abs(snap.inputs - snap.reconstruction)
    top = strips.images[2].getLevels()[1]
    assert np.percentile(err, 99.5) <= top <= 2.5 * np.percentile(err, 99.5)
    assert rendered(strips.images[2]).max() > 100
    # the enlarged frame uses the same ranges
    dialog = strips.enlarge(3)
    assert np.allclose(dialog.images[0].getLevels(), (lo, hi), rtol=1e-3)
    assert rendered(dialog.images[0]).max() > 230
    dialog.close()


def test_grab_of_dim_window_is_not_black(strips, qtbot):
    strips.show_snapshot(dim_snapshot())
    qtbot.wait(20)
    image = strips.graphics.grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    arr = arr.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), :3].mean(axis=2)
    # the input row as drawn on screen (its gaps are the white background)
    row = strips.graphics.mapFromScene(strips.images[0].sceneBoundingRect()).boundingRect()
    pixels = arr[row.top() + 2: row.bottom() - 1, row.left() + 2: row.right() - 1]
    assert (pixels < 30).mean() > 0.3                          # black background of the frames
    assert ((pixels > 60) & (pixels < 200)).mean() > 0.05      # the blobs' grey flanks
    assert (pixels > 200).mean() > 0.03                        # their bright centres (and the gaps)


def test_contrast_is_measured_once_per_run_not_per_window(strips):
    strips.show_snapshot(dim_snapshot(0))
    first = tuple(strips.images[0].getLevels())
    strips.show_snapshot(dim_snapshot(10, high=800, seed=3))     # a brighter window: no flicker
    assert tuple(strips.images[0].getLevels()) == first
    strips.set_lengths([80], [80], 10)                            # a new run measures again
    strips.show_snapshot(dim_snapshot(10, high=800, seed=3))
    assert strips.images[0].getLevels()[1] > 1.5 * first[1]


def test_data_contrast_wins_and_manual_range_turns_auto_off(strips, qtbot):
    frames = dim_blobs(40, seed=5)
    strips.set_data_contrast(frames)
    strips.show_snapshot(dim_snapshot(0, high=250))
    lo, hi = np.percentile(frames, [0.5, 99.5])
    assert np.allclose(strips.images[0].getLevels(), (lo, hi), rtol=1e-2)
    assert "percentile" in strips.contrast_note and "the data" in strips.contrast_note
    # dragging the range slider is a manual range: auto goes off, both rows follow
    strips.contrast.setValue((0.002, 0.004))
    assert not strips.auto_contrast.isChecked()
    assert np.allclose(strips.images[0].getLevels(), (0.002, 0.004))
    assert np.allclose(strips.images[1].getLevels(), (0.002, 0.004))
    strips.show_snapshot(dim_snapshot(5))
    assert np.allclose(strips.images[0].getLevels(), (0.002, 0.004))   # kept while scrubbing
    strips.auto_contrast.setChecked(True)                               # asked: back to the data's
    assert np.allclose(strips.images[0].getLevels(), (lo, hi), rtol=1e-2)
    # the |error| top typed by hand holds; auto takes over again when ticked
    strips.error_max.setValue(0.01)
    assert not strips.auto_error.isChecked() and strips.images[2].getLevels()[1] == pytest.approx(0.01)
    strips.auto_error.setChecked(True)
    assert strips.images[2].getLevels()[1] < 0.005


def test_error_range_has_hysteresis(strips):
    snap = dim_snapshot()
    strips.show_snapshot(snap)
    top = strips.error_levels[1]
    slightly_better = ev.Snapshot("valid", 0, 1, snap.inputs, (snap.inputs + 0.7 * (snap.reconstruction - snap.inputs)),
                                  snap.frame_error)
    strips.show_snapshot(slightly_better)
    assert strips.error_levels[1] == top                 # 30% smaller errors: the range stays
    much_better = ev.Snapshot("valid", 0, 2, snap.inputs, (snap.inputs + 0.05 * (snap.reconstruction - snap.inputs)),
                              snap.frame_error)
    strips.show_snapshot(much_better)
    assert strips.error_levels[1] < top / 4              # 20x smaller: it follows


def test_data_panel_says_how_the_data_is_shown(qtbot):
    from vaeviewer.config import RunConfig

    panel = DataPanel()
    qtbot.addWidget(panel)
    frames = dim_blobs(30)
    panel._loading_key = ("dim",)
    panel._on_loaded(("dim",), [Sequence("dim16", frames)], RunConfig(paths=["dim16.tif"]))
    lo, hi = np.percentile(frames, [0.5, 99.5])
    assert panel.contrast is not None and np.allclose(panel.contrast[:2], (lo, hi), rtol=1e-2)
    text = panel.summary.text()
    assert "display contrast" in text and f"{lo:.3g}" in text and "99.5th percentile" in text
