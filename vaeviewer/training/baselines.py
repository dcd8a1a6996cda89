"""Trivial reconstructions a VAE must beat: the mean training frame, and PCA with K components."""

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
