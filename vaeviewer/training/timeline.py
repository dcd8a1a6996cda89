"""The per-frame error along the data: which windows score a frame, and their average."""

from __future__ import annotations

from typing import Any, Optional

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


class WalkResult:
    """What one walk of the Inspector over a split collected: loss sums, latents and per-frame errors."""

    def __init__(self, split: str, window: int, loss: str):
        self.split, self.t, self.loss = split, window, loss
        self.rec_sum = self.kl_sum = 0.0
        self.n = 0
        self.kl_dim_sum: Optional[np.ndarray] = None
        self.latents: list = []
        self.lat_seq: list = []
        self.lat_frame: list = []
        self.err: list = []
        self.err_seq: list = []
        self.err_frame: list = []
        self.timeline: Optional[tuple[np.ndarray, np.ndarray, np.ndarray]] = None   # (seq, frame, error) averaged
        self.extra_timeline: list = []

    def add(self, x, recon, z_mean, z_log_var, sequences: np.ndarray, starts: np.ndarray) -> None:
        from vaeviewer.models import inference

        rec, kl, per_dim = inference.loss_terms(x, recon, z_mean, z_log_var, self.loss)
        self.rec_sum += float(rec.sum())
        self.kl_sum += float(kl.sum())
        self.n += len(x)
        self.kl_dim_sum = per_dim.sum(0) if self.kl_dim_sum is None else self.kl_dim_sum + per_dim.sum(0)
        sq = (x - recon) ** 2
        t = self.t
        per_frame = sq.reshape(len(x), -1, *sq.shape[-3:]).mean(axis=(2, 3, 4)) if t > 1 else sq.mean(axis=(1, 2, 3))[:, None]
        self.err.append(per_frame.reshape(-1))
        self.err_seq.append(np.repeat(sequences, per_frame.shape[1]))
        self.err_frame.append((starts[:, None] + np.arange(per_frame.shape[1])[None, :]).reshape(-1))
        if z_mean.ndim == 3:   # one latent per frame: one scatter point per frame
            self.lat_frame.append((starts[:, None] + np.arange(z_mean.shape[1])[None, :]).reshape(-1))
            self.lat_seq.append(np.repeat(sequences, z_mean.shape[1]))
            z_mean = z_mean.reshape(-1, z_mean.shape[-1])
        else:
            self.lat_frame.append(starts)
            self.lat_seq.append(sequences)
        self.latents.append(z_mean)

    def frame_errors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sequence, frame, error) of every frame scored, sorted by sequence and frame."""
        if self.timeline is not None:
            seq, frame, err = self.timeline
        else:
            seq, frame, err = np.concatenate(self.err_seq), np.concatenate(self.err_frame), np.concatenate(self.err)
        if self.extra_timeline:
            seq = np.concatenate([seq] + [e[0] for e in self.extra_timeline])
            frame = np.concatenate([frame] + [e[1] for e in self.extra_timeline])
            err = np.concatenate([err] + [e[2] for e in self.extra_timeline])
            order = np.lexsort((frame, seq))
            seq, frame, err = seq[order], frame[order], err[order]
        return seq.astype(np.int64), frame.astype(np.int64), err.astype(np.float32)

    def terms(self, model) -> dict[str, float]:
        kl_weight = float(model.kl_weight.numpy())
        rec_mean, kl_mean = self.rec_sum / self.n, self.kl_sum / self.n
        return {"loss": rec_mean + model.beta * kl_weight * kl_mean, "reconstruction": rec_mean, "kl": kl_mean,
                "mse": float(np.concatenate(self.err).mean())}

    def latent_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(z_mean (N, K), sequence (N,), first frame (N,)) of every window (or frame) walked."""
        return np.concatenate(self.latents), np.concatenate(self.lat_seq), np.concatenate(self.lat_frame)

    def fill(self, detail: Any, max_points: int) -> None:
        """Put the latents (an even sample of at most `max_points`), the timeline and KL per
        dimension into `detail`."""
        lat, lat_seq, lat_frame = self.latent_table()
        keep = even_sample(len(lat), max_points)
        detail.latents = lat[keep]
        detail.latent_total = len(lat)
        detail.latent_sequence = lat_seq[keep]
        detail.latent_frame = lat_frame[keep]
        detail.latent_split = self.split
        if self.timeline is not None:   # every window that holds a frame, averaged: see timeline_stride
            detail.timeline_sequence, detail.timeline_frame, detail.timeline_error = self.timeline
        else:
            detail.timeline_error = np.concatenate(self.err)
            detail.timeline_sequence = np.concatenate(self.err_seq)
            detail.timeline_frame = np.concatenate(self.err_frame)
        n_err = sum(len(e) for e in self.err)
        detail.kl_per_dim = (self.kl_dim_sum / n_err * (1 if self.t == 1 else self.t)) if self.kl_dim_sum is not None else None
