"""Stateful views from checkpointed states: same result as a full walk, bounded cost, invalidation."""

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.data.windows import frames_to_float
from vaeviewer.models import carried_state, inference
from vaeviewer.training.session import TrainingSession

T = 4


def stateful_config(**changes):
    base = dict(variant="convlstm", window=T, stride=T, stateful=True, batch_size=2, epochs=1, steps_per_epoch=2,
                demo_frames=200, restore_best=False)
    base.update(changes)
    return tiny_config(**base)


def trained_session(budget_states=3.0, **changes):
    """A finished tiny stateful run whose checkpoint budget holds about 1/budget_states of the windows."""
    cfg = stateful_config(**changes)
    session = TrainingSession(cfg)
    # The tiny model's state: h and c of two ConvLSTMs at 4x5x8, float32.
    state_bytes = 2 * 2 * 4 * 5 * 8 * 4
    n_valid_windows = sum(len(s) // T for s in session._prepare_data(cfg).valid)
    session.state_budget_bytes = int(n_valid_windows * state_bytes / budget_states)
    session.run()
    return session


def full_walk(model, frames, k):
    """z_mean and reconstruction of window k, walking every window from the sequence's start."""
    windows = frames_to_float(frames[: (k + 1) * T]).reshape(k + 1, T, *frames.shape[1:], 1)
    z, recon = inference.encode_sequence_stateful(model, windows)
    return z[-1], recon[-1]


class CountSteps:
    """Counts the windows a walk advances the state through (not the shown window's pass)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = carried_state.state_step_fn

        def counting(model):
            fn = real(model)

            def step(x):
                self.calls += 1
                return fn(x)

            return step

        monkeypatch.setattr(carried_state, "state_step_fn", counting)   # what walk_to_window calls


@pytest.fixture(scope="module")
def session():
    return trained_session()


@pytest.fixture(scope="module")
def other_session():
    """A second finished run with other weights (seed 7). The two tests that change a session's weights
    (a training step, a checkpoint load) share it; each holds in either order."""
    return trained_session(seed=7)


def test_view_from_checkpoints_equals_a_full_walk(session):
    frames = session.data.valid[0].frames
    last = len(frames) // T - 1
    cache = session.inspector.state_checkpoints
    assert cache is not None and cache.spacing("valid") >= 3, "the budget forces spacing > 1"
    for k in (0, 1, last - 1, last):
        snap = session.inspect("valid", 0, k * T)
        assert snap.start == k * T
        z_ref, recon_ref = full_walk(session.model, frames, k)
        np.testing.assert_allclose(snap.reconstruction, recon_ref[..., 0], rtol=1e-4, atol=1e-5)
        # The latents through the same checkpoints.
        twin = session.inspector.viewer_model()

        def window_at(j):
            return frames_to_float(frames[j * T:(j + 1) * T]).reshape(1, T, *frames.shape[1:], 1)

        z, _, _ = inference.walk_to_window(twin, window_at, k, inference.forward, cache, "valid", 0)
        np.testing.assert_allclose(z[0], z_ref, rtol=1e-4, atol=1e-5)


def test_a_deep_window_walks_at_most_the_checkpoint_spacing(session, monkeypatch):
    session.inspector.state_checkpoints.use(None)   # forget the views of other tests ...
    session.full_snapshot()                # ... and keep only what validation stores
    counter = CountSteps(monkeypatch)
    n = session.inspector.state_checkpoints.spacing("valid")
    last = len(session.data.valid[1].frames) // T - 1
    assert last > n
    for k in range(last + 1):
        session.inspector.state_checkpoints._recent.clear()   # the previous view's walk would help
        counter.calls = 0
        session.inspect("valid", 1, k * T)
        assert counter.calls == k % n, (k, n)
    # The next window after a view is one pass away (the walk's states are kept).
    session.inspect("valid", 1, (last - 2) * T)
    counter.calls = 0
    session.inspect("valid", 1, (last - 1) * T)
    assert counter.calls == 0


def test_training_split_checkpoints_are_built_on_first_view(session, monkeypatch):
    counter = CountSteps(monkeypatch)
    frames = session.data.train[0].frames
    last = len(frames) // T - 1
    session.inspect("train", 0, last * T)
    assert counter.calls == last, "the first view walks from the start"
    n = session.inspector.state_checkpoints.spacing("train")
    assert 1 <= n < last
    counter.calls = 0
    snap = session.inspect("train", 0, (last - 1) * T - T * n // 2)
    assert counter.calls < n
    k = snap.start // T
    np.testing.assert_allclose(snap.reconstruction, full_walk(session.model, frames, k)[1][..., 0], rtol=1e-4,
                               atol=1e-5)


def test_checkpoints_follow_the_weights(other_session):
    session = other_session
    frames = session.data.valid[0].frames
    k = len(frames) // T - 1
    before = session.inspect("valid", 0, k * T).reconstruction
    token = session.inspector.state_checkpoints.token
    # A training step after the last validation (as a run stopped mid-epoch leaves it).
    x = np.stack([frames_to_float(frames[:T])[..., None]] * 2)
    session.model.train_on_batch(x)
    session.global_step += 1
    after = session.inspect("valid", 0, k * T).reconstruction
    assert session.inspector.state_checkpoints.token != token
    np.testing.assert_allclose(after, full_walk(session.model, frames, k)[1][..., 0], rtol=1e-4, atol=1e-5)
    assert not np.allclose(after, before, atol=1e-6)


def test_checkpoints_follow_a_loaded_checkpoint(other_session, session, tmp_path):
    # The seed-1 run's weights are loaded into the seed-7 run (saving leaves the seed-1 run as it was).
    session.save_checkpoint(tmp_path / "other.keras")
    session = other_session
    frames = session.data.valid[0].frames
    k = len(frames) // T - 1
    before = session.inspect("valid", 0, k * T).reconstruction
    session.load_checkpoint(tmp_path / "other.keras")
    snap = session.inspect("valid", 0, k * T)
    np.testing.assert_allclose(snap.reconstruction, full_walk(session.model, frames, k)[1][..., 0], rtol=1e-4,
                               atol=1e-5)
    assert not np.allclose(snap.reconstruction, before, atol=1e-6), "the loaded weights differ: so must the view"


def test_the_view_after_restore_best_matches_the_kept_weights():
    # Training one more epoch that is forced to look worse makes restore-best set the weights back.
    session = TrainingSession(stateful_config(epochs=2, restore_best=True))
    real = session._validate

    def worse_second_epoch():
        terms, snap = real()
        if len(session.history) == 1 and terms:
            terms = dict(terms, loss=terms["loss"] + 1e6)
        return terms, snap

    session._validate = worse_second_epoch
    summary = session.run()
    assert summary["kept_epoch"] == 1
    frames = session.data.valid[0].frames
    k = len(frames) // T - 1
    snap = session.inspect("valid", 0, k * T)
    np.testing.assert_allclose(snap.reconstruction, full_walk(session.model, frames, k)[1][..., 0], rtol=1e-4,
                               atol=1e-5)


def test_checkpoint_spacing_fits_the_budget():
    cache = inference.StateCheckpoints(budget_bytes=1000)
    assert cache.plan("valid", 100, 10) == 1
    cache.use("w1")
    assert cache.plan("train", 100, 35) == 4   # 3500 bytes in 1000: every 4th window
    states = [np.zeros(8, np.float32)]
    for k in range(100):
        cache.store("train", 0, k, states)
    assert len(cache._points[("train", 0)]) == 24   # 4, 8, ..., 96: window 0 starts at zero state
    assert cache.nearest("train", 0, 7)[0] == 4 and cache.nearest("train", 0, 3) == (0, None)
    cache.use("w2")
    assert cache.nearest("train", 0, 7) == (0, None)


def test_view_bench_runs_small():
    import json

    from vaeviewer.benchmarks.training import bench_stateful_view

    report = bench_stateful_view(frames=400, repeats=1)
    json.dumps(report)
    assert report["windows"] == 40 and report["checkpoint_spacing"] >= 1
    for key in ("forward_s", "view_last_over_forward", "view_worst_over_forward", "state_step_over_forward"):
        assert report[key] > 0, key
