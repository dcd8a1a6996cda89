"""Stateful ConvLSTM: state is carried across batches, reset on demand, and walked for inference."""

import numpy as np
import pytest

from vaeviewer.models import (
    build_vae,
    encode,
    encode_sequence_stateful,
    inference_twin,
    reconstruct,
    reset_states,
)
from vaeviewer.models.inference import is_stateful, stateful_layers

from .conftest import TINY, sample_batch

SHAPE = (12, 14)
T = 3


@pytest.fixture(scope="module")
def _shared_stateful_model():
    return build_vae("convlstm", SHAPE, window=T, stateful=True, batch_size=2, seed=3, **TINY)


@pytest.fixture
def stateful_model(_shared_stateful_model):
    """One stateful model for the tests here (its compiled train and predict steps are traced once),
    handed to each test with its carried state reset, as a fresh model has it. A test may train it:
    none depends on the weights' values."""
    reset_states(_shared_stateful_model)
    return _shared_stateful_model


def test_state_is_carried_and_reset(stateful_model):
    model = stateful_model
    x = sample_batch("convlstm", SHAPE, T, batch=2)
    assert len(stateful_layers(model)) == 2  # encoder and decoder ConvLSTM2D
    first = model.predict_on_batch(x)
    second = model.predict_on_batch(x)
    assert not np.allclose(first, second)  # same window, carried state -> different output

    fresh = build_vae("convlstm", SHAPE, window=T, stateful=True, batch_size=2, seed=99, **TINY)
    fresh.set_weights(model.get_weights())
    reset_states(model)
    np.testing.assert_array_equal(model.predict_on_batch(x), fresh.predict_on_batch(x))
    np.testing.assert_array_equal(model.predict_on_batch(x), second)  # history replays after reset


def test_train_on_batch_carries_state(stateful_model):
    model = stateful_model
    x = sample_batch("convlstm", SHAPE, T, batch=2)
    lstm = stateful_layers(model)[0]
    assert all(not np.any(s.numpy()) for s in lstm.states)
    model.train_on_batch(x)
    assert any(np.any(s.numpy()) for s in lstm.states)
    reset_states(model)
    assert all(not np.any(s.numpy()) for s in lstm.states)


def test_stateless_models_have_nothing_to_reset():
    model = build_vae("convlstm", SHAPE, window=T, seed=0, **TINY)
    assert not is_stateful(model)
    reset_states(model)  # no-op
    assert inference_twin(model) is model


def test_inference_twin_follows_the_model(stateful_model):
    model = stateful_model
    twin = inference_twin(model)
    assert twin is not model and twin.input_batch_size == 1 and is_stateful(twin)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = sample_batch("convlstm", SHAPE, T, batch=2)
    model.train_on_batch(x)
    twin_again = inference_twin(model)
    assert twin_again is twin  # cached, weights refreshed
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_single_windows_and_sequences(stateful_model):
    model = stateful_model
    windows = sample_batch("convlstm", SHAPE, T, batch=4, seed=5)
    # any batch size, each window from a reset state
    z = encode(model, windows)
    assert z.shape == (4, TINY["latent_dim"]) and z.dtype == np.float32
    assert encode(model, windows[0]).shape == (1, TINY["latent_dim"])  # a single window
    rec = reconstruct(model, windows[:3])
    assert rec.shape == windows[:3].shape
    # walking carries the state: window 0 is as if alone, later ones see the past
    zs, recs = encode_sequence_stateful(model, windows)
    assert zs.shape == (4, TINY["latent_dim"]) and recs.shape == windows.shape
    np.testing.assert_allclose(zs[0], z[0], atol=1e-6)
    assert not np.allclose(zs[1:], z[1:])
    # and is repeatable (reset at the start)
    zs2, _ = encode_sequence_stateful(model, windows)
    np.testing.assert_array_equal(zs, zs2)
    # the training model's own state is untouched by inference
    assert all(not np.any(s.numpy()) for s in stateful_layers(model)[0].states)


def test_encode_sequence_on_stateless_model():
    model = build_vae("conv3d", SHAPE, window=T, seed=0, **TINY)
    windows = sample_batch("conv3d", SHAPE, T, batch=3)
    zs, recs = encode_sequence_stateful(model, windows)
    np.testing.assert_allclose(zs, encode(model, windows), atol=1e-6)
    np.testing.assert_allclose(recs, reconstruct(model, windows), atol=1e-6)
