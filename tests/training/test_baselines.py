"""The baselines against a direct computation."""

import numpy as np

from vaeviewer.data.sources import Sequence
from vaeviewer.training.baselines import compute_baselines


def test_baselines_match_exact_pca():
    rng = np.random.default_rng(0)
    # Frames made of 3 patterns plus noise: PCA with 3 components leaves only the noise.
    patterns = rng.random((3, 12 * 10)).astype(np.float32)
    weights = rng.random((400, 3)).astype(np.float32)
    frames = (weights @ patterns / 3 + 0.01 * rng.standard_normal((400, 120))).clip(0, 1).astype(np.float32)
    train = [Sequence("a", frames[:300].reshape(300, 12, 10))]
    valid = [Sequence("b", frames[300:].reshape(100, 12, 10))]
    mean_mse, pca_mse = compute_baselines(train, valid, n_components=3, max_frames=1000)
    fit, score = frames[:300], frames[300:]
    mean = fit.mean(0)
    assert mean_mse == np.float32(np.mean((score - mean) ** 2)) or abs(mean_mse - np.mean((score - mean) ** 2)) < 1e-7
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    exact = np.mean((score - mean - ((score - mean) @ vt[:3].T) @ vt[:3]) ** 2)
    assert abs(pca_mse - exact) / exact < 1e-3
    assert pca_mse < 0.2 * mean_mse
