"""Shared fixtures for the model tests: quiet TensorFlow, restore the dtype policy, tiny sizes."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Tiny architecture: shape and plumbing are the point, not capacity.
TINY = {"filters": (2, 4), "inner_dim": 4, "latent_dim": 3}


@pytest.fixture(autouse=True)
def _restore_policy():
    previous = keras.mixed_precision.global_policy().name
    yield
    keras.mixed_precision.set_global_policy(previous)


def sample_batch(variant: str, frame_shape, window: int = 1, batch: int = 2, seed: int = 0) -> np.ndarray:
    """Float32 data in [0, 1] with the model's input layout."""
    rng = np.random.default_rng(seed)
    shape = (batch, *frame_shape, 1) if variant == "conv2d" else (batch, window, *frame_shape, 1)
    return rng.random(shape, dtype=np.float32)
