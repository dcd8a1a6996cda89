"""PCA over whole windows (the baseline at equal budget) against a direct computation, and where it shows."""

import numpy as np
import pytest

from vaeviewer.data.sources import Sequence
from vaeviewer.training import events as ev
from vaeviewer.training.baselines import compute_baselines, compute_window_pca, sample_windows
from vaeviewer.training.verdict import BEATS_PCA, BELOW_PCA, assess


def _sequences(rng, n_frames=(90, 70), shape=(6, 5)):
    """Smooth random motion: each frame a mix of 3 patterns with slowly drifting weights."""
    patterns = rng.random((3, shape[0] * shape[1])).astype(np.float32)
    out = []
    for i, n in enumerate(n_frames):
        w = np.cumsum(0.1 * rng.standard_normal((n, 3)), axis=0)
        frames = (w @ patterns / 3 + 0.5 + 0.01 * rng.standard_normal((n, patterns.shape[1]))).clip(0, 1)
        out.append(Sequence(f"s{i}", frames.astype(np.float32).reshape(n, *shape)))
    return out


def _windows(seqs, t, stride):
    return np.stack([s.frames[a:a + t].reshape(-1) for s in seqs for a in range(0, len(s) - t + 1, stride)])


def test_window_pca_matches_exact_pca_over_windows():
    rng = np.random.default_rng(0)
    train, valid = _sequences(rng), _sequences(rng, (40, 33))
    t, k = 4, 3
    got = compute_window_pca(train, valid, t, k, stride=1, max_windows=10_000, max_values=10**9)
    fit, score = _windows(train, t, 1), _windows(valid, t, t)   # scored on non-overlapping windows
    mean = fit.mean(0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    exact = np.mean((score - mean - ((score - mean) @ vt[:k].T) @ vt[:k]) ** 2)
    assert abs(got - exact) / exact < 1e-3


def test_window_of_one_frame_is_per_frame_pca():
    rng = np.random.default_rng(1)
    train, valid = _sequences(rng), _sequences(rng, (30,))
    _, per_frame = compute_baselines(train, valid, n_components=2, max_frames=10_000)
    window = compute_window_pca(train, valid, 1, 2, max_windows=10_000, max_values=10**9)
    assert abs(window - per_frame) / per_frame < 1e-3


def test_windows_never_cross_sequences_and_respect_the_caps():
    rng = np.random.default_rng(2)
    seqs = _sequences(rng, (10, 7, 3))
    rows = sample_windows(seqs, 4, 1, 1000, rng)
    assert rows.shape == (7 + 4 + 0, 4 * 30)           # the 3-frame sequence holds no window
    assert len(sample_windows(seqs, 4, 1, 5, rng)) == 5
    # The value cap bounds the fitted sample, and the result stays a per-pixel MSE.
    small = compute_window_pca(seqs, seqs, 4, 2, max_values=4 * 30 * 3)
    assert small is not None and 0 <= small < 1
    assert compute_window_pca(seqs, seqs, 20, 2) is None   # no sequence holds a window


def test_equal_budget_verdict_for_window_models():
    v = assess(0.009, 0.012, 0.02, 6, window=10, window_pca_mse=0.015)
    assert v.kind == BEATS_PCA and v.equal_budget == "window_pca" and v.beats_equal_budget
    assert "6 components per frame, 60 per window" in v.text and "At equal budget" in v.text and "40% lower" in v.text
    v = assess(0.013, 0.012, 0.02, 6, window=10, window_pca_mse=0.011)
    assert v.kind == BELOW_PCA and v.beats_equal_budget is False and "does not beat window PCA" in v.text
    # conv2d: per-frame PCA is the equal-budget baseline; the text is as before.
    v = assess(0.009, 0.012, 0.02, 6)
    assert v.equal_budget == "pca" and v.beats_equal_budget and "equal budget" not in v.text
    assert v.as_dict()["equal_budget_baseline"] == "pca"


@pytest.mark.parametrize("variant", ["conv2d", "conv3d"])
def test_session_reports_window_pca(tiny, variant):
    from vaeviewer.training.session import TrainingSession

    events = []
    summary = TrainingSession(tiny(variant=variant, epochs=1, steps_per_epoch=2), events.append).run()
    (baselines,) = [e for e in events if isinstance(e, ev.Baselines)]
    if variant == "conv2d":
        assert baselines.window_pca_mse is None and summary["window_pca_mse"] is None
        assert summary["equal_budget_baseline"] == "pca"
    else:
        assert baselines.window == 4 and 0 < baselines.window_pca_mse < baselines.mean_frame_mse
        assert summary["window_pca_mse"] == baselines.window_pca_mse
        assert summary["equal_budget_baseline"] == "window_pca" and "equal budget" in summary["verdict_text"]
