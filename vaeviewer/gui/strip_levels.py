"""Display ranges for the frame strips: the data's contrast limits and the |error| ladder.

Input and reconstruction share one grey range, by default the 0.5th and 99.5th percentiles of
the data (napari's contrast limits), so dim 16-bit frames use the whole grey scale instead of
showing black. The |error| range's top sits on a 1-2-5 ladder. No Qt here: plain numbers.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5
MAX_CONTRAST_SAMPLES = 1_000_000    # values read to measure the percentiles (evenly chosen frames)


def contrast_limits(frames, low: float = LOW_PERCENTILE, high: float = HIGH_PERCENTILE,
                    max_samples: int = MAX_CONTRAST_SAMPLES) -> tuple[float, float, float, float]:
    """Display range of frames in [0, 1] units: (low percentile, high percentile, min, max).

    Args:
        frames: one array (…, H, W) or a list of them (e.g. every sequence's frames); uint8
            arrays are read as value/255. At most `max_samples` values are read, from frames
            chosen evenly along each array, so 40,000 frames cost what a few hundred do.

    Returns:
        (lo, hi, min, max) with hi > lo always (a constant image gets a unit-wide range).
    """
    arrays = [frames] if isinstance(frames, np.ndarray) else list(frames)
    arrays = [np.asarray(a) for a in arrays if np.asarray(a).size]
    total = sum(a.size for a in arrays)
    samples = []
    for a in arrays:
        scale = 255.0 if a.dtype == np.uint8 else 1.0
        stack = a.reshape(-1, *a.shape[-2:]) if a.ndim >= 2 else a.reshape(1, 1, -1)
        share = max(1, int(max_samples * a.size / max(1, total)))
        n_frames = int(np.clip(share // max(1, stack[0].size), 1, len(stack)))
        pick = np.unique(np.linspace(0, len(stack) - 1, n_frames).round().astype(int))
        values = stack[pick].astype(np.float32).reshape(-1) / scale
        samples.append(values[np.isfinite(values)])
    values = np.concatenate(samples) if samples else np.zeros(0, np.float32)
    if values.size == 0:
        return 0.0, 1.0, 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(values, [low, high]))
    vmin, vmax = float(values.min()), float(values.max())
    if not hi > lo:
        lo, hi = vmin, vmax
    if not hi > lo:
        hi = lo + 1.0
    # Round to a thousandth of the range: a percentile of noisy float data can be 1.8e-21,
    # which reads as noise on the contrast control instead of 0.
    step = 10.0 ** np.floor(np.log10((hi - lo) / 1000.0))
    lo, hi = float(np.round(lo / step) * step), float(np.round(hi / step) * step)
    return lo, hi, min(vmin, lo), max(vmax, hi)


def contrast_text(lo: float, hi: float, how: str = "auto") -> str:
    """How the strips' contrast was set, in words (for the data panel and tooltips)."""
    if how == "auto":
        how = f"auto, {LOW_PERCENTILE:g}–{HIGH_PERCENTILE:g}th percentile"
    return f"display contrast {lo:.3g} … {hi:.3g} ({how})"


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is >= x (x > 0): steady, readable error ranges."""
    x = max(float(x), 1e-9)
    exp = np.floor(np.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        v = m * 10.0 ** exp
        if v >= x * (1 - 1e-9):
            return float(v)
    return float(10.0 ** (exp + 1))


def error_top(error: np.ndarray) -> Optional[float]:
    """The |error| range's top for these errors: their 99.5th percentile, up on the 1-2-5 ladder.

    None when no error is finite (nothing to follow).
    """
    error = np.asarray(error)
    finite = error[np.isfinite(error)]
    if finite.size == 0:
        return None
    return nice_ceil(max(float(np.percentile(finite, HIGH_PERCENTILE)), 1e-6))


def decimals_for(span: float) -> int:
    """Decimals that show a range of width `span` with about three significant digits."""
    return int(np.clip(np.ceil(-np.log10(max(span, 1e-9))) + 2, 3, 8))
