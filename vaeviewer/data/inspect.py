"""A JSON-ready summary of loaded sequences (for `vaeviewer inspect`)."""

from __future__ import annotations

import numpy as np

from vaeviewer.data.sources import Sequence
from vaeviewer.data.windows import _check_positive


def describe(sequences: list[Sequence], window: int | None = None, stride: int | None = None) -> dict:
    """Summarise sequences: counts, frame shape, dtype, value range and optional window count.

    Args:
        window: frames per window; when given, ``windows`` counts the windows with `stride`
            (default 1) and ``too_short`` names sequences shorter than the window.

    Returns:
        A dict of plain Python values (JSON-serialisable) with keys ``sequences``, ``frames``,
        ``frames_per_sequence``, ``frame_shape`` ([H, W] or None), ``dtype``, ``value_range``
        ([min, max] in [0, 1] units, or None), ``names``, ``memory_bytes`` and, when a window is
        given, ``window``, ``stride``, ``windows``, ``too_short``.
    """
    lengths = [len(s) for s in sequences]
    dtypes = sorted({str(s.frames.dtype) for s in sequences})
    lo, hi = np.inf, -np.inf
    for s in sequences:
        if len(s):
            scale = 255.0 if s.frames.dtype == np.uint8 else 1.0
            lo = min(lo, float(s.frames.min()) / scale)
            hi = max(hi, float(s.frames.max()) / scale)
    info: dict = {
        "sequences": len(sequences),
        "frames": int(sum(lengths)),
        "frames_per_sequence": lengths,
        "frame_shape": [int(v) for v in sequences[0].frames.shape[1:3]] if sequences else None,
        "dtype": ",".join(dtypes) if dtypes else None,
        "value_range": [lo, hi] if np.isfinite(lo) else None,
        "names": [s.name for s in sequences],
        "memory_bytes": int(sum(s.frames.nbytes for s in sequences)),
    }
    if window is not None:
        window = _check_positive("window", window)
        stride = _check_positive("stride", 1 if stride is None else stride)
        info["window"], info["stride"] = window, stride
        info["windows"] = int(sum((n - window) // stride + 1 for n in lengths if n >= window))
        info["too_short"] = [s.name for s in sequences if len(s) < window]
    return info
