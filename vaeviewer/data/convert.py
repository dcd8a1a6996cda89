"""Turn raw decoded pixels (any dtype, gray or colour) into stored frames.

Stored frames are (N, H, W) arrays, C-contiguous, in one of two forms:

* ``uint8`` for 8-bit sources (uint8 and bool; integer arrays whose values all lie in
  0..255): kept at one byte per pixel and scaled to [0, 1] per batch by the window code.
* ``float32`` in [0, 1] for everything else:
  - 16-bit sources (uint16; integer arrays with values up to 65535) are divided by 65535.
    They are kept as float32 rather than squeezed into uint8 because 16-bit data (microscopy,
    scientific cameras) often uses a small part of the range, and 8 bits would throw away
    the detail the model is meant to learn; the price is 4 bytes per pixel.
  - float sources must be finite (NaN or inf is an error). Values already in [0, 1] are kept;
    otherwise the whole source (one file or array, not each frame) is rescaled linearly from
    its [min, max] to [0, 1], which keeps brightness changes between frames, and a warning is
    logged. A constant source outside [0, 1] becomes all zeros.
  - other integer sources with negative values or values above 65535 are refused.

Colour (last axis of 3 or 4 channels: RGB or RGBA) becomes gray with the ITU-R 601 luma
weights (0.299, 0.587, 0.114); alpha is ignored; two channels (gray + alpha) keep the first.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from vaeviewer.errors import VaeViewerError

log = logging.getLogger("vaeviewer.data")
# tifffile logs a warning for every damaged page before raising; we turn the failure into one
# VaeViewerError, so without a handler those extra lines would reach the user's terminal through
# logging's last-resort handler (the CLI promises one line per error). Apps that configure
# logging still receive them through the root logger.
logging.getLogger("tifffile").addHandler(logging.NullHandler())

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# frames converted per step when a whole array is converted: bounds the temporary memory
CHUNK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Plan:
    """How raw values of one source map to stored values: ``(x - lo) / (hi - lo)``."""

    stored: type  # np.uint8 or np.float32
    lo: float = 0.0
    hi: float = 1.0
    rescaled: bool = False  # floats outside [0, 1] were min-max rescaled


U8 = Plan(np.uint8, 0.0, 255.0)
U16 = Plan(np.float32, 0.0, 65535.0)
UNIT = Plan(np.float32, 0.0, 1.0)


def brief(exc: BaseException) -> str:
    """First line of an exception's message, at most 200 characters (messages stay one line)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text[:200]


def natural_key(name: str) -> list:
    """Sort key so that 'frame2' comes before 'frame10' (case-insensitive)."""
    parts = re.split(r"(\d+)", name.lower())
    # re.split alternates text and digits, so int and str never meet at one position
    return [int(p) if i % 2 else p for i, p in enumerate(parts)] + [name]


def check_dtype(dtype: np.dtype, label: str) -> None:
    """Refuse object, string, complex and structured dtypes before any data is read."""
    if dtype.hasobject:
        raise VaeViewerError(
            f"{label}: holds Python objects (a pickled object array); vaeviewer never unpickles "
            "files. Save a plain numeric array instead, e.g. np.save(path, frames.astype(np.uint8))"
        )
    if dtype.kind not in "buif" or dtype.fields is not None or dtype.subdtype is not None:
        raise VaeViewerError(
            f"{label}: values of type {dtype} are not pixel values; use unsigned integers "
            "(uint8, uint16) or floats in [0, 1]"
        )


def memory_budget() -> int:
    """Bytes we allow one load to take: 80% of physical memory (16 GiB if unknown)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 16 * 2**30
    return int(total * 0.8)


def check_memory(n_bytes: int, label: str, what: str) -> None:
    """Raise before allocating more than the machine can hold."""
    budget = memory_budget()
    if n_bytes > budget:
        raise VaeViewerError(
            f"{label}: {what} would need {n_bytes / 2**30:.1f} GiB of memory, more than this "
            f"machine can give ({budget / 2**30:.1f} GiB); use fewer frames or a smaller "
            "--frame-size (e.g. --frame-size 64x80)"
        )


def stored_bytes(n_frames: int, frame_hw: tuple[int, int], plan_or_dtype) -> int:
    itemsize = 1 if getattr(plan_or_dtype, "stored", plan_or_dtype) is np.uint8 else 4
    return int(n_frames) * int(frame_hw[0]) * int(frame_hw[1]) * itemsize


def plan_for_dtype(dtype: np.dtype) -> Plan | None:
    """The plan that follows from the dtype alone, or None if the values must be looked at."""
    if dtype.kind == "b" or dtype == np.uint8:
        return U8
    if dtype == np.uint16:
        return U16
    return None


def plan_for_values(kind: str, lo: float, hi: float, label: str) -> Plan:
    """The plan for integer or float values whose range [lo, hi] has been measured."""
    if kind in "iu":
        if lo < 0 or hi > 65535:
            raise VaeViewerError(
                f"{label}: integer values from {lo:g} to {hi:g} are not 8- or 16-bit pixel values; "
                "save them as uint8/uint16 or as floats in [0, 1]"
            )
        return U8 if hi <= 255 else U16
    if lo >= 0.0 and hi <= 1.0:
        return UNIT
    log.warning("%s: float values run from %g to %g, outside [0, 1]; rescaled linearly to [0, 1]", label, lo, hi)
    return Plan(np.float32, float(lo), float(hi) if hi > lo else float(lo) + 1.0, rescaled=True)


def source_note(dtype: np.dtype, n_channels: int, plan: Plan) -> str:
    """In words: what the source held and what was done to store it (for `inspect` and the app).

    E.g. "16-bit gray, kept as float32 (divided by 65535) to keep the detail of dim data that
    8 bits would lose" or "8-bit colour (RGB), converted to gray (luma), stored as uint8".
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        depth = "1-bit (bool)"
    elif dtype.kind in "iu":
        depth = "16-bit" if plan is U16 else "8-bit"
        if dtype not in (np.uint8, np.uint16):
            depth += f" values in {dtype}"
    else:
        depth = f"{dtype} float"
    colour = {1: "gray", 2: "gray + alpha", 3: "colour (RGB)", 4: "colour (RGBA)"}.get(int(n_channels), "gray")
    done = []
    if n_channels >= 3:
        done.append("converted to gray (luma)")
    elif n_channels == 2:
        done.append("alpha dropped")
    if plan.stored is np.uint8:
        done.append("stored as uint8")
    elif plan is U16:
        done.append("kept as float32 (divided by 65535) to keep the detail of dim data that 8 bits would lose")
    elif plan.rescaled:
        done.append(f"rescaled from [{plan.lo:g}, {plan.hi:g}] to [0, 1], stored as float32")
    else:
        done.append("stored as float32")
    return f"{depth} {colour}, {', '.join(done)}"


def scan_values(arr: np.ndarray, label: str) -> tuple[float, float]:
    """Min and max of an array (possibly memory-mapped), in chunks; NaN/inf is an error."""
    lo, hi = np.inf, -np.inf
    n = arr.shape[0]
    step = chunk_frames(arr)
    for i in range(0, n, step):
        part = arr[i : i + step]
        if part.dtype.kind == "f" and not np.isfinite(part).all():
            bad = i + int(np.argwhere(~np.isfinite(part))[0][0])
            raise VaeViewerError(
                f"{label}: holds NaN or infinite values (first at index {bad} of the first axis); "
                "replace them (e.g. np.nan_to_num) before loading"
            )
        if part.size:
            lo = min(lo, float(part.min()))
            hi = max(hi, float(part.max()))
    return lo, hi


def check_finite(frame: np.ndarray, label: str) -> None:
    if frame.dtype.kind == "f" and not np.isfinite(frame).all():
        raise VaeViewerError(f"{label}: holds NaN or infinite values; replace them before loading")


def chunk_frames(arr: np.ndarray) -> int:
    """How many leading-axis items make about CHUNK_BYTES."""
    per = max(1, arr[:1].nbytes if arr.shape[0] else 1)
    return max(1, CHUNK_BYTES // per)


def to_gray(x: np.ndarray, channels: bool) -> np.ndarray:
    """Drop the channel axis: luma of RGB(A) as float32, first channel of gray+alpha."""
    if not channels:
        return x
    c = x.shape[-1]
    if c == 1 or c == 2:
        return x[..., 0]
    return np.tensordot(x[..., :3].astype(np.float32, copy=False), LUMA, axes=([-1], [0]))


def encode(x: np.ndarray, plan: Plan) -> np.ndarray:
    """Map raw (gray) values to stored values: uint8 as is, float32 in [0, 1]."""
    if plan.stored is np.uint8:
        if x.dtype == np.uint8:
            return x
        if x.dtype.kind == "b":
            return x.astype(np.uint8) * np.uint8(255)
        if x.dtype.kind == "f":  # luma of 8-bit colour
            return np.clip(np.rint(x), 0, 255).astype(np.uint8)
        return x.astype(np.uint8)
    y = x.astype(np.float32)
    if plan.lo != 0.0:
        y -= np.float32(plan.lo)
    if plan.hi - plan.lo != 1.0:
        y *= np.float32(1.0 / (plan.hi - plan.lo))
    return np.clip(y, 0.0, 1.0, out=y)


def resize_frames(x: np.ndarray, frame_size: tuple[int, int] | None) -> np.ndarray:
    """Resize every frame of (n, h, w) to (n, H, W) with Pillow's (antialiased) bilinear filter."""
    if frame_size is None or tuple(x.shape[1:]) == tuple(frame_size):
        return x
    h, w = frame_size
    out = np.empty((x.shape[0], h, w), dtype=x.dtype)
    for i in range(x.shape[0]):
        img = Image.fromarray(np.ascontiguousarray(x[i]))
        out[i] = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR))
    return out


def convert_chunk(raw: np.ndarray, channels: bool, plan: Plan, frame_size) -> np.ndarray:
    """Raw (n, h, w[, c]) pixels -> stored (n, H, W) frames."""
    return resize_frames(encode(to_gray(raw, channels), plan), frame_size)


def convert_array(raw: np.ndarray, channels: bool, plan: Plan, frame_size) -> np.ndarray:
    """Convert a whole (n, h, w[, c]) array chunk by chunk into one new stored array.

    The source may be memory-mapped; only the output and one chunk of temporaries are held.
    When nothing changes (uint8 gray, no resize) this is a single contiguous copy.
    """
    n = raw.shape[0]
    out_hw = tuple(frame_size) if frame_size is not None else tuple(raw.shape[1:3])
    out = np.empty((n, *out_hw), dtype=plan.stored)
    step = chunk_frames(raw)
    for i in range(0, n, step):
        out[i : i + step] = convert_chunk(raw[i : i + step], channels, plan, frame_size)
    return out


class FrameCollector:
    """Collects one sequence frame by frame (image folders, GIFs, video).

    The stored dtype is fixed by the first frame; later frames must match its dtype and size.
    Integer and float frames that are not 8/16-bit are kept raw as float32 and scaled once all
    frames are in (``finish``), since their range is only known then.
    """

    def __init__(self, label: str, frame_size, capacity: int = 0):
        self.label = label
        self.frame_size = frame_size
        self.capacity = capacity
        self.buf: np.ndarray | None = None
        self.n = 0
        self.first: tuple | None = None  # (shape, dtype, where)
        self.plan: Plan | None = None
        self.deferred = False
        self.lo, self.hi = np.inf, -np.inf
        self.n_channels = 1
        self.note = ""  # source_note(), set by finish()

    def add(self, frame: np.ndarray, where: str) -> None:
        """Add one decoded frame (h, w) or (h, w, c); `where` names it in messages."""
        if frame.ndim == 3 and frame.shape[-1] in (1, 2, 3, 4):
            channels = True
        elif frame.ndim == 2:
            channels = False
        else:
            raise VaeViewerError(
                f"{where}: a frame of shape {frame.shape} is not a 2-D gray or colour image "
                "(a multi-frame file inside a folder? pass such a file on its own)"
            )
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise VaeViewerError(f"{where}: empty image ({frame.shape[0]}x{frame.shape[1]} pixels)")
        if self.first is None:
            check_dtype(frame.dtype, where)
            self.first = (frame.shape[:2], frame.dtype, where)
            self.n_channels = int(frame.shape[-1]) if channels else 1
            self.plan = plan_for_dtype(frame.dtype)
            if self.plan is None:
                self.plan, self.deferred = UNIT, True
        else:
            shape0, dtype0, where0 = self.first
            if frame.shape[:2] != shape0 and self.frame_size is None:
                raise VaeViewerError(
                    f"{where}: frame size {frame.shape[0]}x{frame.shape[1]} differs from "
                    f"{shape0[0]}x{shape0[1]} of {where0}; all frames of one sequence must have "
                    "the same size (or pass --frame-size HxW to resize them all)"
                )
            if frame.dtype != dtype0:
                raise VaeViewerError(
                    f"{where}: pixel type {frame.dtype} differs from {dtype0} of {where0}; "
                    "all frames of one sequence must have the same bit depth"
                )
        check_finite(frame, where)
        if self.deferred:
            g = to_gray(frame, channels)
            self.lo = min(self.lo, float(g.min()))
            self.hi = max(self.hi, float(g.max()))
            stored = resize_frames(g.astype(np.float32)[None], self.frame_size)[0]
        else:
            stored = convert_chunk(frame[None], channels, self.plan, self.frame_size)[0]
        self._append(stored)

    def _append(self, stored: np.ndarray) -> None:
        if self.buf is None:
            cap = max(1, self.capacity)
            check_memory(stored_bytes(cap, stored.shape, stored.dtype.type), self.label, f"{cap} frames")
            self.buf = np.empty((cap, *stored.shape), dtype=stored.dtype)
        elif self.n == self.buf.shape[0]:
            cap = max(16, self.n * 2)
            check_memory(stored_bytes(self.n + cap, stored.shape, stored.dtype.type), self.label,
                         f"more than {self.n} frames")
            grown = np.empty((cap, *stored.shape), dtype=stored.dtype)
            grown[: self.n] = self.buf
            self.buf = grown
        self.buf[self.n] = stored
        self.n += 1

    def finish(self) -> np.ndarray:
        """The stored (N, H, W) frames; raises if no frame was added."""
        if self.n == 0 or self.buf is None:
            raise VaeViewerError(f"{self.label}: holds no frames")
        frames = self.buf[: self.n]
        if self.n < self.buf.shape[0]:
            frames = frames.copy() if self.n < 0.9 * self.buf.shape[0] else frames
        plan = self.plan
        if self.deferred:
            plan = plan_for_values(self.first[1].kind, self.lo, self.hi, self.label)
            frames = encode(frames, plan)
        self.note = source_note(self.first[1], self.n_channels, plan)
        return np.ascontiguousarray(frames)
