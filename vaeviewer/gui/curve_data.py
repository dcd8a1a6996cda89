"""The numbers behind the loss plot's curves: a growing array, finite points, the span to fit.

No Qt here: the plot (loss_plot) and its overlays (loss_overlays) draw what these return.
"""

from __future__ import annotations

import numpy as np


class GrowingArray:
    """An append-only float array that doubles its buffer (no per-append reallocation)."""

    def __init__(self, columns: int) -> None:
        self._data = np.empty((1024, columns), dtype=np.float64)
        self.n = 0

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self._data.shape[1])
        need = self.n + len(rows)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), self._data.shape[1]))
            grown[: self.n] = self._data[: self.n]
            self._data = grown
        self._data[self.n: need] = rows
        self.n = need

    def view(self) -> np.ndarray:
        return self._data[: self.n]

    def clear(self) -> None:
        self.n = 0


def finite_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points (x, y) whose y is finite (a curve through NaN would break there)."""
    keep = np.isfinite(y)
    return x[keep], y[keep]


def span(parts: list, log: bool, high: list | None = None) -> tuple[float, float] | None:
    """(min of `parts`, max of `high` or `parts`) over their finite values (log10 and > 0 in
    log mode); a zero-width span is widened; None when there is nothing to fit."""
    def values(ps):
        v = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1) for p in ps]) if ps else np.zeros(0)
        v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
        return np.log10(v) if log else v

    lo_v, hi_v = values(parts), values(high if high is not None else parts)
    if lo_v.size == 0 or hi_v.size == 0:
        return None
    lo, hi = float(lo_v.min()), float(hi_v.max())
    if not hi > lo:
        half = max(abs(lo) * 0.05, 1e-12) if not log else 0.1
        lo, hi = lo - half, hi + half
    return lo, hi
