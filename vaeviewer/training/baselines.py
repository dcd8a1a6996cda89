"""Trivial reconstructions a VAE must beat: the mean training frame, PCA with K components per
frame, and (for window models) PCA with K components per window of T frames.

A window model encodes T frames into K numbers, conv2d encodes each frame into K: per-frame PCA
with K components is the fair baseline for conv2d and a harsh one for a window model (it spends
T*K numbers on a window). PCA over flattened windows with K components spends the same K numbers
per window as the model does: the baseline at equal budget.
"""

from __future__ import annotations

import numpy as np

from vaeviewer.data.sources import Sequence
from vaeviewer.data.windows import frames_to_float


def _as_float_rows(frames: np.ndarray) -> np.ndarray:
    return frames_to_float(frames.reshape(len(frames), -1))


def sample_frames(sequences: list[Sequence], max_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `max_frames` frames drawn evenly at random from all sequences, as float32 rows (N, H*W)."""
    lengths = np.array([len(s) for s in sequences])
    total = int(lengths.sum())
    if total == 0:
        return np.zeros((0, 0), np.float32)
    picks = np.sort(rng.choice(total, size=min(max_frames, total), replace=False))
    bounds = np.cumsum(lengths)
    seq_of = np.searchsorted(bounds, picks, side="right")
    local = picks - np.concatenate([[0], bounds[:-1]])[seq_of]
    return np.stack([_as_float_rows(sequences[s].frames[i : i + 1])[0] for s, i in zip(seq_of, local)])


def frame_statistics(train: list[Sequence], max_frames: int = 2000, seed: int = 0) -> tuple[np.ndarray, float]:
    """(mean frame (H, W), RMS deviation of the frames from it) over (a sample of) the training frames."""
    rows = sample_frames(train, max_frames, np.random.default_rng(seed))
    mean = rows.mean(axis=0)
    spread = float(np.sqrt(np.mean((rows - mean) ** 2)))
    return mean.reshape(train[0].frames.shape[1:3]), spread


def _principal_axes(centred: np.ndarray, k: int, rng: np.random.Generator, power_iterations: int = 6) -> np.ndarray:
    """The top-k principal axes (k, D) by a randomised range finder with power iterations.

    A full SVD of a 2000 x 5120 matrix costs tens of seconds on a busy 2-core machine; only k
    (a handful) of axes are needed, and a few power iterations find them to within round-off.
    """
    if k == 0:
        return np.zeros((0, centred.shape[1]), centred.dtype)
    sketch = min(centred.shape[0], k + 10)
    basis = centred @ rng.standard_normal((centred.shape[1], sketch)).astype(centred.dtype)
    for _ in range(power_iterations):
        basis, _ = np.linalg.qr(basis)
        basis = centred @ (centred.T @ basis)
    basis, _ = np.linalg.qr(basis)
    # The small problem: SVD of the data projected onto the found subspace.
    _, _, vt = np.linalg.svd(basis.T @ centred, full_matrices=False)
    return vt[:k]


def compute_baselines(
    train: list[Sequence],
    valid: list[Sequence],
    n_components: int,
    max_frames: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Return (mean_frame_mse, pca_mse) on the validation frames, per pixel, on [0, 1] data.

    The mean frame and the principal components are fit on (a sample of) the training frames;
    PCA reconstructs each validation frame from its projection on the first `n_components`.
    With no validation data the training sample is scored instead.
    """
    rng = np.random.default_rng(seed)
    fit = sample_frames(train, max_frames, rng)
    score = sample_frames(valid, max_frames, rng) if valid and sum(len(s) for s in valid) else fit
    mean = fit.mean(axis=0)
    mean_frame_mse = float(np.mean((score - mean) ** 2))
    centred = fit - mean
    k = max(0, min(n_components, centred.shape[0], centred.shape[1]))
    axes = _principal_axes(centred, k, rng)
    rebuilt = mean + ((score - mean) @ axes.T) @ axes
    pca_mse = float(np.mean((score - rebuilt) ** 2))
    return mean_frame_mse, pca_mse


# Window PCA: at most this many training windows are fitted, and at most this many float32 values
# (windows x T*H*W) are held at once (a 10-frame 64x80 window is 51,200 values; 40M values = 160 MB).
MAX_PCA_WINDOWS = 2000
MAX_PCA_VALUES = 40_000_000


def sample_windows(sequences: list[Sequence], window: int, stride: int, max_windows: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Up to `max_windows` windows of `window` frames, `stride` apart, drawn at random, as float32 rows (N, T*H*W).

    Windows never cross from one sequence into another; sequences shorter than a window give none.
    """
    from vaeviewer.data.windows import window_starts

    pairs = [(i, int(s)) for i, seq in enumerate(sequences) if len(seq) >= window
             for s in window_starts(len(seq), window, stride)]
    if not pairs or max_windows < 1:
        return np.zeros((0, 0), np.float32)
    picks = np.sort(rng.choice(len(pairs), size=min(max_windows, len(pairs)), replace=False))
    h, w = sequences[0].frames.shape[1:3]
    rows = np.empty((len(picks), window * h * w), np.float32)
    for r, p in enumerate(picks.tolist()):
        i, s = pairs[p]
        rows[r] = frames_to_float(sequences[i].frames[s : s + window]).reshape(-1)
    return rows


def compute_window_pca(
    train: list[Sequence],
    valid: list[Sequence],
    window: int,
    n_components: int,
    stride: int = 1,
    max_windows: int = MAX_PCA_WINDOWS,
    max_values: int = MAX_PCA_VALUES,
    seed: int = 0,
) -> float | None:
    """Per-pixel MSE of PCA with `n_components` over flattened windows of `window` frames.

    Fitted on (a random sample of) the training windows `stride` apart, as the model trains on
    them; scored on the non-overlapping validation windows (each frame once, as val_mse counts
    them), or on the training sample when there is no validation data. The per-pixel MSE is
    comparable with the model's val_mse and with the per-frame baselines. None when no part
    holds a whole window.
    """
    rng = np.random.default_rng(seed)
    h, w = (train or valid)[0].frames.shape[1:3] if (train or valid) else (0, 0)
    size = window * h * w
    if size == 0:
        return None
    cap = max(1, min(max_windows, max_values // size))
    fit = sample_windows(train, window, max(1, stride), cap, rng)
    if len(fit) == 0:
        return None
    mean = fit.mean(axis=0)
    fit -= mean   # in place: the sample may be hundreds of MB
    k = max(0, min(n_components, fit.shape[0], fit.shape[1]))
    axes = _principal_axes(fit, k, rng)
    del fit
    has_valid = bool(valid) and any(len(s) >= window for s in valid)
    score = sample_windows(valid, window, window, cap, rng) if has_valid else \
        sample_windows(train, window, window, cap, rng)
    if len(score) == 0:
        return None
    total = 0.0
    for lo in range(0, len(score), 256):   # chunked: no second copy of the whole sample
        part = score[lo : lo + 256] - mean
        part -= (part @ axes.T) @ axes
        total += float(np.einsum("ij,ij->", part, part, dtype=np.float64))
    return total / score.size
