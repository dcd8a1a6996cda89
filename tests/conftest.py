"""Shared test set-up: headless Qt, quiet TensorFlow, tiny run configs."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from vaeviewer.config import RunConfig  # noqa: E402


def tiny_config(**changes) -> RunConfig:
    """A run small enough to train in a second or two on a CPU: 16x20 frames, 4/8 filters."""
    base = dict(
        demo=True, demo_sequences=2, demo_frames=80, frame_size=(16, 20), variant="conv2d",
        window=4, stride=1, filters=(4, 8), inner_dim=8, latent_dim=2, batch_size=8,
        epochs=2, steps_per_epoch=3, precision="float32", valid_fraction=0.25,
        snapshot_interval_s=0.0, seed=1, min_steps_per_epoch=1,
    )
    base.update(changes)
    return RunConfig(**base)


@pytest.fixture
def tiny():
    return tiny_config


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished default tiny run, trained once for every test that only reads it.

    `tiny_config(epochs=2, out=...)`: .session (the finished TrainingSession), .summary, .events
    (everything it sent, in order) and .out (its run directory). A test that changes the session
    must undo the change (monkeypatch does).
    """
    from types import SimpleNamespace

    from vaeviewer.training.session import TrainingSession

    out = tmp_path_factory.mktemp("tiny-run") / "run"
    events: list = []
    session = TrainingSession(tiny_config(epochs=2, out=str(out)), events.append)
    summary = session.run()
    return SimpleNamespace(session=session, summary=summary, events=events, out=out)
