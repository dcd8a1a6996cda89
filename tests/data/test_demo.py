"""The built-in demo data: deterministic, fast, moving shapes whose motion is learnable."""

from __future__ import annotations

import time

import numpy as np
import pytest

from vaeviewer.data.demo import _draw_shape, _fold, demo_sequences
from vaeviewer.errors import VaeViewerError


def test_shape_dtype_names_and_speed():
    t0 = time.perf_counter()
    seqs = demo_sequences()
    elapsed = time.perf_counter() - t0
    assert [s.name for s in seqs] == ["demo0", "demo1", "demo2", "demo3"]
    assert [s.source_index for s in seqs] == [0, 1, 2, 3]
    for s in seqs:
        assert s.frames.shape == (1500, 64, 80) and s.frames.dtype == np.uint8 and s.frames.flags.c_contiguous
    assert elapsed < 3.0  # about 0.15 s alone; generous for a shared machine


def test_deterministic_and_prefix_stable():
    a = demo_sequences(2, 200, (32, 40), seed=5)
    b = demo_sequences(3, 300, (32, 40), seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.frames, y.frames[:200])
    c = demo_sequences(2, 200, (32, 40), seed=6)
    assert not np.array_equal(a[0].frames, c[0].frames)
    assert not np.array_equal(a[0].frames, a[1].frames)


def test_every_sequence_moves_and_is_not_blank():
    for s in demo_sequences(4, 120):
        f = s.frames.astype(np.int16)
        moving = np.abs(np.diff(f, axis=0)).reshape(119, -1).max(axis=1) > 20
        assert moving.mean() > 0.9
        assert f.max() > 80 and f.min() < 40


def test_a_second_frame_predicts_the_next_frame_better():
    """Linear next-pixel predictors: frames t-1 and t beat frame t alone (motion persists)."""
    f = demo_sequences(1, 300)[0].frames.astype(np.float64) / 255.0
    rng = np.random.default_rng(0)
    n = 6000
    t, y, x = rng.integers(1, 299, n), rng.integers(2, 62, n), rng.integers(2, 78, n)
    o = np.arange(-2, 3)

    def patch(tt):
        return f[tt[:, None, None], (y[:, None] + o)[:, :, None], (x[:, None] + o)[:, None, :]].reshape(n, -1)

    target = f[t + 1, y, x]

    def fit_mse(features):
        X = np.hstack([features, np.ones((n, 1))])
        w = np.linalg.solve(X.T @ X + 1e-6 * np.eye(X.shape[1]), X.T @ target)
        return float(np.mean((X @ w - target) ** 2))

    one, two = fit_mse(patch(t)), fit_mse(np.hstack([patch(t), patch(t - 1)]))
    assert two < 0.8 * one


def test_fold_bounces_between_walls_at_constant_speed():
    u = 3.0 + 1.7 * np.arange(500)
    p = _fold(u, 2.0, 20.0)
    assert p.min() >= 2.0 and p.max() <= 20.0
    steps = np.abs(np.diff(p))
    assert np.mean(np.isclose(steps, 1.7)) > 0.85  # only steps across a bounce differ


def test_later_shapes_occlude_earlier_ones():
    img = np.zeros((1, 30, 30), np.float32)
    _draw_shape(img, np.array([15.0]), np.array([15.0]), 6.0, square=True, level=0.4)
    _draw_shape(img, np.array([15.0]), np.array([15.0]), 3.0, square=False, level=1.0)
    assert img[0, 15, 15] == pytest.approx(1.0) and img[0, 15, 10] == pytest.approx(0.4)
    assert img[0, 0, 0] == 0.0


def test_bad_demo_settings():
    with pytest.raises(VaeViewerError, match="at least 12"):
        demo_sequences(1, 10, (8, 80))
    with pytest.raises(VaeViewerError, match="at least one"):
        demo_sequences(0, 10)


def test_small_frames_keep_shapes_inside():
    (s,) = demo_sequences(1, 400, (12, 12))
    assert s.frames.shape == (400, 12, 12)
