"""Lasso selection in the latent scatter: the polygon test itself, the widget's API and real mouse drags."""

import numpy as np
import pytest
from PyQt6.QtCore import QEvent, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication

from vaeviewer.gui.latent_scatter import LatentScatter
from vaeviewer.gui.scatter_selection import RING_MAX_POINTS, points_in_polygon
from vaeviewer.training import events as ev

# A concave polygon (an L with a notch) whose vertices sit on half-integers: grid points at integers
# are never on an edge, so the expected selection is exact even after pixel rounding of a drag.
L_SHAPE = [(0.5, 0.5), (7.5, 0.5), (7.5, 3.5), (3.5, 3.5), (3.5, 8.5), (0.5, 8.5)]


def _inside_l(x, y):
    return ((0.5 < x) & (x < 7.5) & (0.5 < y) & (y < 3.5)) | ((0.5 < x) & (x < 3.5) & (0.5 < y) & (y < 8.5))


def _brute_force(xy, poly):
    """Even-odd rule, every point against every edge."""
    x, y = xy[:, 0], xy[:, 1]
    inside = np.zeros(len(xy), bool)
    for i in range(len(poly)):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % len(poly)]
        crosses = ((y0 <= y) & (y < y1)) | ((y1 <= y) & (y < y0))
        with np.errstate(divide="ignore", invalid="ignore"):
            inside ^= crosses & (x < x0 + (y - y0) / (y1 - y0) * (x1 - x0))
    return inside


def test_points_in_polygon_matches_brute_force_and_shapes():
    rng = np.random.default_rng(3)
    xy = rng.normal(size=(20000, 2))
    theta = np.linspace(0, 2 * np.pi, 150, endpoint=False)
    r = 1 + 0.4 * np.sin(5 * theta)                      # a star: concave
    star = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    assert np.array_equal(points_in_polygon(xy, star), _brute_force(xy, star))
    # A self-crossing figure eight: even-odd, the crossing's two lobes are both inside.
    eight = np.array([(-1, -1), (1, 1), (1, -1), (-1, 1)], float)
    assert np.array_equal(points_in_polygon(xy, eight), _brute_force(xy, eight))
    grid = np.array([(x, y) for x in range(10) for y in range(10)], float)
    assert np.array_equal(points_in_polygon(grid, L_SHAPE), _inside_l(grid[:, 0], grid[:, 1]))
    assert not points_in_polygon(grid, L_SHAPE[:2]).any()   # two vertices: no area


def _grid_snapshot() -> ev.Snapshot:
    """100 points on the integer grid 0..9 x 0..9 as latents z0, z1 (one sequence, frame = row)."""
    z = np.array([(x, y) for x in range(10) for y in range(10)], np.float32)
    n = len(z)
    return ev.Snapshot(split="valid", sequence=0, start=0, inputs=np.zeros((1, 4, 4), np.float32),
                       reconstruction=np.zeros((1, 4, 4), np.float32), frame_error=np.zeros(1, np.float32),
                       latents=z, latent_sequence=np.zeros(n, np.int64), latent_frame=np.arange(n) * 2,
                       latent_split="valid")


@pytest.fixture
def grid_scatter(qtbot):
    scatter = LatentScatter()
    qtbot.addWidget(scatter)
    scatter.resize(600, 520)
    scatter.show()
    scatter.set_snapshot(_grid_snapshot())
    scatter.x_axis.setCurrentIndex(2)   # z0
    scatter.y_axis.setCurrentIndex(3)   # z1
    scatter.plot.getViewBox().setRange(xRange=(-1, 10), yRange=(-1, 10), padding=0)
    qtbot.waitExposed(scatter)
    return scatter


def _send(port, kind, pos, button, buttons, mods):
    QApplication.sendEvent(port, QMouseEvent(kind, QPointF(pos), QPointF(port.mapToGlobal(pos)), button, buttons, mods))


def _mouse_path(qtbot, plot, points, mods, steps_per_edge=4):
    """A real left drag along the polygon's edges (closing back towards the first vertex)."""
    vb, port = plot.getViewBox(), plot.viewport()
    closed = list(points) + [points[0]]
    view_pts = [points[0]]
    for (x0, y0), (x1, y1) in zip(closed, closed[1:]):
        view_pts += [(x0 + f * (x1 - x0), y0 + f * (y1 - y0)) for f in np.linspace(0, 1, steps_per_edge + 1)[1:]]
    view_pts[-1] = (points[0][0] + 0.05, points[0][1])   # end just beside the start: the lasso closes itself
    px = [plot.mapFromScene(vb.mapViewToScene(QPointF(x, y))) for x, y in view_pts]
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(port, QEvent.Type.MouseMove, px[0], none, none, mods)
    _send(port, QEvent.Type.MouseButtonPress, px[0], left, left, mods)
    for p in px[1:]:
        qtbot.wait(20)   # past pyqtgraph's mouse-move rate limit
        _send(port, QEvent.Type.MouseMove, p, none, left, mods)
    qtbot.wait(20)
    _send(port, QEvent.Type.MouseButtonRelease, px[-1], left, none, mods)


def test_lasso_api_selects_exactly_the_points_inside(grid_scatter, qtbot):
    s = grid_scatter
    want = np.flatnonzero(_inside_l(s.xy[:, 0], s.xy[:, 1]))
    with qtbot.waitSignal(s.selectionChanged, timeout=1000):
        got = s.select_polygon(L_SHAPE)
    assert np.array_equal(got, want) and len(want) == 7 * 3 + 3 * 5
    seq, first = s.selected_windows()
    assert np.array_equal(first, s.frame_of[want]) and not seq.any()
    assert len(s.chosen.data) == len(want)              # ringed
    # drag_lasso, point by point (the mouse's path), selects the same on finish.
    s.clear_selection()
    for i, (x, y) in enumerate(L_SHAPE):
        s.drag_lasso(x, y, start=i == 0)
        assert s.lasso.isVisible() and not len(s.selection)   # nothing is selected while drawing
    s.drag_lasso(*L_SHAPE[0], finish=True)
    assert np.array_equal(s.selection, want)
    assert not s.lasso.isVisible()      # few points: the rings show the selection, the outline goes


@pytest.mark.parametrize("how", ["lasso mode", "ctrl+shift"])
def test_lasso_by_mouse_selects_exactly_the_points_inside(grid_scatter, qtbot, how):
    s = grid_scatter
    mods = Qt.KeyboardModifier.NoModifier
    if how == "lasso mode":
        s.drag.setCurrentIndex(s.DRAG_MODES.index("lasso"))
        assert s.drag_mode() == "lasso"
    else:
        mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    probed = []
    s.planeClicked.connect(lambda x, y: probed.append((x, y)))
    before = s.plot.getViewBox().viewRange()
    with qtbot.waitSignal(s.selectionChanged, timeout=2000):
        _mouse_path(qtbot, s.plot, L_SHAPE, mods)
    want = np.flatnonzero(_inside_l(s.xy[:, 0], s.xy[:, 1]))
    assert np.array_equal(s.selection, want)
    assert not probed                                        # a lasso drag never decodes
    assert s.plot.getViewBox().viewRange() == before         # nor pans
    if how == "lasso mode":                                  # a click beside the points clears it
        s._plane_click(QPointF(9.5, 9.5))
        assert not len(s.selection)


def test_large_lasso_keeps_its_outline_instead_of_rings(qtbot):
    s = LatentScatter()
    qtbot.addWidget(s)
    rng = np.random.default_rng(0)
    n = 3 * RING_MAX_POINTS
    snap = _grid_snapshot()
    snap.latents = rng.uniform(0, 9, (n, 2)).astype(np.float32)
    snap.latent_sequence, snap.latent_frame = np.zeros(n, np.int64), np.arange(n)
    s.set_snapshot(snap)
    s.x_axis.setCurrentIndex(2)
    s.y_axis.setCurrentIndex(3)
    for i, (x, y) in enumerate(L_SHAPE + [L_SHAPE[0]]):
        s.drag_lasso(x, y, start=i == 0, finish=i == len(L_SHAPE))
    assert len(s.selection) > RING_MAX_POINTS
    assert np.array_equal(s.selection, np.flatnonzero(points_in_polygon(s.xy, L_SHAPE)))
    assert s.lasso.isVisible() and len(s.chosen.data) == 0
    s.y_axis.setCurrentIndex(2)   # other axes: the outline no longer applies
    assert not s.lasso.isVisible()
