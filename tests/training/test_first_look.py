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
