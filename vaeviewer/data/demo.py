"""Built-in demo data: deterministic sequences of moving, bouncing, overlapping shapes.

Every shape (disc or square; its own size and brightness) moves at a constant velocity and
bounces off the walls; shapes drawn later pass in front of earlier ones. Since velocity persists,
the next frame is predictable from the last few, but not from one frame alone: a window model can
beat a per-frame model. Edges are anti-aliased so sub-pixel motion is visible.

Sequence i depends only on (seed, i) and a frame only on its time index, so the data do not
change when n_sequences or n_frames change (a longer run extends a shorter one).
"""

from __future__ import annotations

import numpy as np

from vaeviewer.data.convert import check_memory
from vaeviewer.data.sources import Sequence
from vaeviewer.errors import VaeViewerError


def _fold(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Positions of a point moving freely along u, reflected between walls at lo and hi."""
    span = hi - lo
    if span <= 0:
        return np.full_like(u, lo)
    m = np.mod(u - lo, 2.0 * span)
    return lo + np.where(m > span, 2.0 * span - m, m)


def _draw_shape(img: np.ndarray, cy: np.ndarray, cx: np.ndarray, radius: float, square: bool, level: float) -> None:
    """Composite one shape onto every frame of img (N, H, W) at centres (cy[t], cx[t])."""
    n = img.shape[0]
    r_int = int(np.ceil(radius))
    p = 2 * r_int + 3
    offs = np.arange(p)
    y0 = np.floor(cy).astype(np.int64) - r_int - 1
    x0 = np.floor(cx).astype(np.int64) - r_int - 1
    yy = y0[:, None] + offs  # (N, P), inside the frame: centres stay >= r+1 from every wall
    xx = x0[:, None] + offs
    dy = np.abs(yy - cy[:, None]).astype(np.float32)[:, :, None]
    dx = np.abs(xx - cx[:, None]).astype(np.float32)[:, None, :]
    dist = np.maximum(dy, dx) if square else np.sqrt(dy * dy + dx * dx)
    alpha = np.clip(np.float32(radius + 0.5) - dist, 0.0, 1.0)
    t = np.arange(n)[:, None, None]
    rows, cols = yy[:, :, None], xx[:, None, :]
    under = img[t, rows, cols]
    img[t, rows, cols] = under + alpha * (np.float32(level) - under)


def _sequence(seed: int, i: int, n_frames: int, h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng([seed, i])
    t = np.arange(n_frames, dtype=np.float64)
    yg = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xg = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    background = np.float32(rng.uniform(0.03, 0.12)) + np.float32(0.06) * (
        np.float32(rng.uniform(0, 1)) * yg + np.float32(rng.uniform(0, 1)) * xg)
    img = np.empty((n_frames, h, w), dtype=np.float32)
    img[:] = background
    r_max = max(1.0, min(9.0, (min(h, w) - 4) / 4.0))
    n_shapes = int(rng.integers(3, 6))
    for _ in range(n_shapes):
        radius = float(rng.uniform(min(2.5, r_max), r_max))
        r_int = int(np.ceil(radius))
        lo_y, hi_y = r_int + 1.0, h - 2.0 - r_int
        lo_x, hi_x = r_int + 1.0, w - 2.0 - r_int
        speed = rng.uniform(0.4, 2.5)
        angle = rng.uniform(0, 2 * np.pi)
        cy = _fold(rng.uniform(lo_y, max(lo_y, hi_y)) + speed * np.sin(angle) * t, lo_y, hi_y)
        cx = _fold(rng.uniform(lo_x, max(lo_x, hi_x)) + speed * np.cos(angle) * t, lo_x, hi_x)
        _draw_shape(img, cy, cx, radius, square=bool(rng.integers(0, 2)), level=float(rng.uniform(0.35, 1.0)))
    np.multiply(img, 255.0, out=img)
    np.rint(img, out=img)
    return img.astype(np.uint8)


def demo_sequences(
    n_sequences: int = 4,
    n_frames: int = 1500,
    frame_size: tuple[int, int] = (64, 80),
    seed: int = 0,
) -> list[Sequence]:
    """Deterministic uint8 sequences of moving shapes, named demo0, demo1, ...

    Args:
        n_sequences: how many sequences.
        n_frames: frames per sequence.
        frame_size: (H, W), each at least 12.
        seed: the same seed gives the same data.
    """
    h, w = (int(v) for v in frame_size)
    if h < 12 or w < 12:
        raise VaeViewerError(f"demo frame size {h}x{w}: height and width must be at least 12")
    if n_sequences < 1 or n_frames < 1:
        raise VaeViewerError(f"demo data needs at least one sequence and one frame, not {n_sequences}x{n_frames}")
    # stored uint8 frames of every sequence, plus one sequence's float32 canvas while it is drawn
    need = (int(n_sequences) * n_frames + 5 * n_frames) * h * w
    check_memory(need, "demo data", f"{n_sequences} sequences of {n_frames} frames of {h}x{w}")
    return [
        Sequence(f"demo{i}", _sequence(seed, i, n_frames, h, w), source_index=i, offset=0)
        for i in range(n_sequences)
    ]
