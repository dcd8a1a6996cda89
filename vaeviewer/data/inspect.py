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
        ([min, max] in [0, 1] units, or None), ``names``, ``memory_bytes``, ``sources`` (per
        sequence, what the file held and what was done to store it, or None), and ``window``,
        ``stride``, ``windows``, ``too_short`` (all None when no window is given).
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
        # What each file held and what was done to store it (16-bit kept as float32, colour to gray).
        "sources": [getattr(s, "source", "") or None for s in sequences],
        "window": None, "stride": None, "windows": None, "too_short": None,
    }
    if window is not None:
        window = _check_positive("window", window)
        stride = _check_positive("stride", 1 if stride is None else stride)
        info["window"], info["stride"] = window, stride
        info["windows"] = int(sum((n - window) // stride + 1 for n in lengths if n >= window))
        info["too_short"] = [s.name for s in sequences if len(s) < window]
    return info


def describe_text(info: dict) -> list[str]:
    """The lines `vaeviewer inspect` prints for describe()'s `info`."""
    if not info["sequences"]:
        return ["no sequences"]
    lines = [f"{info['sequences']} sequence(s), {info['frames']} frames of {info['frame_shape'][0]}x"
             f"{info['frame_shape'][1]}, stored as {info['dtype']}, values "
             f"{info['value_range'][0]:.3g}..{info['value_range'][1]:.3g}"]
    sources = info.get("sources") or []
    distinct = list(dict.fromkeys(s for s in sources if s))
    if len(distinct) == 1:
        lines.append(f"source: {distinct[0]}")
    window = info.get("window")
    short = set(info.get("too_short") or [])
    for k, (name, n) in enumerate(zip(info.get("names", []), info["frames_per_sequence"])):
        line = f"  {name}: {n} frames"
        if len(distinct) > 1 and k < len(sources) and sources[k]:
            line += f" ({sources[k]})"
        if name in short:
            line += f", shorter than the window of {window}: no windows"
        lines.append(line)
    if window:
        line = f"window {window}, stride {info['stride']}: {info['windows']} windows"
        if short:
            names = [n for n in info.get("names", []) if n in short]
            listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            if len(names) == 1:
                line += f"; {listed} is shorter than {window} frames and yields none"
            else:
                line += f"; {len(names)} sequences ({listed}) are shorter than {window} frames and yield none"
        lines.append(line)
    return lines
