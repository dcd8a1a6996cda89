"""The validation error timeline: a frame's error does not depend on where it sits in a window."""

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.training import inspector as inspector_module
from vaeviewer.training.session import TrainingSession
from vaeviewer.training.timeline import timeline_stride

EDGE, MID = 0.3, 0.05


def edge_worse(monkeypatch, window):
    """Make the forward pass reconstruct a window's first and last frames worse."""
    from vaeviewer.models import inference

    real = inference.forward
    offset = np.full(window, MID, np.float32)
    offset[[0, -1]] = EDGE

    def forward(model, x):
        z_mean, z_log_var, recon = real(model, x)
        if x.ndim == 5:
            recon = x + offset[None, :, None, None, None]
        return z_mean, z_log_var, recon

    monkeypatch.setattr(inference, "forward", forward)


def position_profile(snap, window):
    """Mean timeline error at window-start positions and at mid-window positions (inner frames)."""
    frames, errors = snap.timeline_frame, snap.timeline_error
    ends = {s: frames[snap.timeline_sequence == s].max() + 1 for s in set(snap.timeline_sequence.tolist())}
    n = np.array([ends[s] for s in snap.timeline_sequence.tolist()])
    inner = (frames >= window) & (frames < n - window)
    pos = frames % window
    return errors[inner & (pos == 0)].mean(), errors[inner & (pos == window // 2)].mean()


@pytest.mark.parametrize("variant,window", [("conv3d", 8), ("convlstm", 4)])
def test_timeline_has_no_window_period(monkeypatch, variant, window):
    cfg = tiny_config(variant=variant, window=window, stride=1, epochs=1, steps_per_epoch=1, demo_frames=200)
    session = TrainingSession(cfg)
    session.run()
    edge_worse(monkeypatch, window)

    monkeypatch.setattr(inspector_module, "timeline_stride", lambda t: t)   # as before: non-overlapping
    before_terms, before = session._validate()
    monkeypatch.setattr(inspector_module, "timeline_stride", timeline_stride)
    after_terms, after = session._validate()

    start, mid = position_profile(before, window)
    assert start == pytest.approx(EDGE**2) and mid == pytest.approx(MID**2)   # the sawtooth
    start, mid = position_profile(after, window)
    assert start == pytest.approx(mid, rel=1e-5)                             # gone
    # Each frame once, in order; the loss and latents stay on the non-overlapping windows.
    keys = after.timeline_sequence * 10**6 + after.timeline_frame
    assert np.all(np.diff(keys) > 0)
    assert after_terms == pytest.approx(before_terms)
    assert after.latent_total == before.latent_total == len(session.data.valid_index)
    assert len(after.timeline_error) >= len(before.timeline_error)


def test_stateful_validation_keeps_non_overlapping_windows():
    cfg = tiny_config(variant="convlstm", window=4, stride=4, stateful=True, batch_size=2, epochs=1)
    session = TrainingSession(cfg)
    session.run()
    snap = session.full_snapshot()
    index = session.data.valid_index
    assert len(snap.timeline_error) == len(index) * 4
    assert np.all(snap.timeline_frame[::4] % 4 == 0)


def test_timeline_stride():
    assert [timeline_stride(t) for t in (1, 2, 4, 8, 10, 16)] == [1, 1, 1, 2, 2, 4]
