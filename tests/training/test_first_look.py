"""The first look: one validation before the first epoch ends gives an early verdict and changes no training."""

import numpy as np

from tests.conftest import tiny_config
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession


def run(first_look_s, **changes):
    got = []
    session = TrainingSession(tiny_config(first_look_s=first_look_s, epochs=2, steps_per_epoch=4, **changes), got.append)
    session.run()
    return session, got


def test_a_first_look_comes_once_before_the_first_epoch_and_training_is_unchanged():
    looked, got = run(1e-6)   # due at once: after the first batch
    kinds = [type(e).__name__ for e in got]
    assert kinds.count("FirstLook") == 1
    look = next(e for e in got if isinstance(e, ev.FirstLook))
    assert kinds.index("FirstLook") < kinds.index("EpochEnd")
    assert (look.epoch, look.step, look.fraction) == (0, 1, 0.25)
    assert look.verdict is not None and np.isfinite(look.valid["mse"])
    assert len(looked.history) == 2                        # not a history row
    plain, got_plain = run(0.0)
    assert not any(isinstance(e, ev.FirstLook) for e in got_plain)
    for a, b in zip(looked.model.get_weights(), plain.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert abs(looked.history[-1]["val_mse"] - plain.history[-1]["val_mse"]) < 1e-6


def test_no_first_look_when_the_first_epoch_ends_in_time():
    _, got = run(3600.0)
    assert not any(isinstance(e, ev.FirstLook) for e in got)


def test_the_first_look_walks_only_non_overlapping_windows_with_the_same_terms(monkeypatch):
    """A window model's first look skips the dense timeline (windows T/4 apart): same loss terms, fewer windows."""
    from vaeviewer.models import inference

    session = TrainingSession(tiny_config(variant="conv3d", window=4, epochs=1, steps_per_epoch=1), lambda e: None)
    session.run()
    seen = []
    forward = inference.forward

    def counting(model, x):
        seen.append(len(x))
        return forward(model, x)

    monkeypatch.setattr(inference, "forward", counting)
    dense_terms, dense = session.inspector.validate()
    dense_windows = sum(seen)
    seen.clear()
    quick_terms, quick = session.inspector.validate(dense_timeline=False)
    assert sum(seen) * 2 <= dense_windows           # stride T/4 = 1 against T = 4 apart
    for key, value in dense_terms.items():
        assert abs(quick_terms[key] - value) <= 1e-5 * max(1.0, abs(value)), key
    assert quick is not None and quick.timeline_error is not None and len(quick.timeline_error) > 0
