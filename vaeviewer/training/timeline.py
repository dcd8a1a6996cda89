"""The per-frame error along the data: which windows score a frame, and their average."""

from __future__ import annotations

from typing import Any

import numpy as np


def timeline_stride(window: int) -> int:
    """Stride of the windows whose errors the validation timeline averages, for window models.

    A frame at a window's edge is reconstructed worse than one in its middle, so the errors of
    non-overlapping windows make a sawtooth with the window's period. The timeline instead
    gives each frame the mean error of the windows, `window // 4` frames apart, that hold it (a
    frame then sits at about 4 positions, spread over the window). Measured on the demo data
    (2 sequences of 2000 frames, 800 validation frames, 64x80, T=10, default model after 150
    steps, 2 CPU cores): non-overlapping windows took 0.6 s (conv3d) and 1.0 s (convlstm) per
    validation, with the mean error at a window's first and last frames 24% and 27% above the
    middle ones; stride T//4 took 2.6 s and 5.1 s, with that difference down to 0.7% and 1.1%;
    stride 1 took 5.0 s and 11.6 s for no further gain (0.6% and 1.1%). The loss, MSE and
    latents stay on the non-overlapping windows (each frame counted once).
    """
    return max(1, int(window) // 4)


def timeline_index(seqs: list, index: Any, window: int, stride: int, with_tail: bool = False) -> tuple[Any, np.ndarray]:
    """Windows `stride` apart plus `index`'s, in order; and which rows are `index`'s.

    `with_tail` adds each sequence's last window (ending at its last frame), so that every
    frame of a sequence at least `window` long is held by some window.
    """
    from vaeviewer.data import windows as win

    dense = win.make_windows(seqs, window, stride)
    parts_seq = [dense.sequence, index.sequence]
    parts_start = [dense.start, index.start]
    if with_tail:
        tails = [(i, len(s) - window) for i, s in enumerate(seqs) if len(s) >= window]
        parts_seq.append(np.array([i for i, _ in tails], dtype=index.sequence.dtype))
        parts_start.append(np.array([a for _, a in tails], dtype=np.int64))
    seq = np.concatenate(parts_seq)
    start = np.concatenate(parts_start).astype(np.int64)
    span = int(start.max(initial=0)) + 1
    keys = seq.astype(np.int64) * span + start
    unique, first = np.unique(keys, return_index=True)
    merged = win.WindowIndex(sequence=seq[first].astype(index.sequence.dtype), start=start[first])
    scored = np.isin(unique, index.sequence.astype(np.int64) * span + index.start.astype(np.int64))
    return merged, scored


class TimelineAverage:
    """Per-frame error summed over every window that holds the frame, then averaged."""

    def __init__(self, lengths: list[int]):
        self.sums = [np.zeros(n, np.float64) for n in lengths]
        self.counts = [np.zeros(n, np.int64) for n in lengths]

    def add(self, sequences: np.ndarray, starts: np.ndarray, per_frame: np.ndarray) -> None:
        width = per_frame.shape[1]
        for s, a, e in zip(sequences.tolist(), starts.tolist(), per_frame):
            self.sums[s][a:a + width] += e
            self.counts[s][a:a + width] += 1

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sequence, frame, mean error) of every frame some window held, in order."""
        seqs, frames, errs = [], [], []
        for i, (total, count) in enumerate(zip(self.sums, self.counts)):
            held = np.flatnonzero(count)
            seqs.append(np.full(len(held), i, np.int64))
            frames.append(held.astype(np.int64))
            errs.append((total[held] / count[held]).astype(np.float32))
        return np.concatenate(seqs), np.concatenate(frames), np.concatenate(errs)


def even_sample(n: int, limit: int) -> np.ndarray:
    """At most `limit` indices spread evenly over range(n)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
