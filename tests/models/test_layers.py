"""The sub-pixel transposed convolution computes exactly what Keras' Conv*DTranspose computes."""

import itertools

import keras
import numpy as np
import pytest

from vaeviewer.models.layers import SubPixelConvTranspose, phase_taps


@pytest.mark.parametrize(
    "rank, kernel, strides, shape",
    [
        (2, 3, 2, (2, 5, 7, 3)),
        (2, 3, 1, (2, 5, 7, 3)),
        (3, (3, 3, 3), (2, 2, 2), (2, 4, 5, 6, 3)),
        (3, (3, 3, 3), (1, 2, 2), (2, 5, 5, 6, 3)),
        (3, (1, 3, 3), (1, 2, 2), (2, 1, 5, 6, 3)),
        (3, (1, 3, 3), (1, 1, 1), (2, 3, 5, 6, 3)),
    ],
)
def test_matches_keras_conv_transpose(rank, kernel, strides, shape):
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    cls = keras.layers.Conv2DTranspose if rank == 2 else keras.layers.Conv3DTranspose
    reference = cls(4, kernel, strides=strides, padding="same", activation="relu")
    expected = reference(x).numpy()
    layer = SubPixelConvTranspose(4, kernel, strides=strides, rank=rank, activation="relu")
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())  # same weight layout
    got = layer(x).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert tuple(layer.compute_output_shape(x.shape)) == expected.shape


def test_phase_taps_cover_every_kernel_tap_once():
    cases = [(3, 2, 1), (3, 1, 1), (1, 1, 1), (5, 2, 1), (4, 2, 1), (3, 1, 2), (5, 1, 2)]
    for (kernel, stride, phases), mirrored in itertools.product(cases, (False, True)):
        sel, before, after = phase_taps(kernel, stride, phases, mirrored)
        assert sel.shape[0] == stride * phases and sel.shape[2] == phases
        # every (input phase, tap) pair lands in exactly one (output phase, window offset)
        assert np.all(sel.sum(axis=(0, 1)) == 1.0)
        assert before >= 0 and after >= 0


@pytest.mark.parametrize("rank", [2, 3])
def test_chained_without_shuffle_matches_keras(rank):
    """stride-2 stage left in phase layout + 1-channel stride-1 layer reading the phases."""
    shape = (2, 5, 7, 3) if rank == 2 else (2, 3, 5, 7, 3)
    strides = 2 if rank == 2 else (1, 2, 2)
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    cls = keras.layers.Conv2DTranspose if rank == 2 else keras.layers.Conv3DTranspose
    up = cls(4, 3, strides=strides, padding="same", activation="relu")
    out = cls(1, 3, padding="same")
    expected = out(up(x)).numpy()
    fast_up = SubPixelConvTranspose(4, 3, strides=strides, rank=rank, activation="relu", shuffle=False)
    fast_out = SubPixelConvTranspose(1, 3, strides=1, rank=rank, input_phases=strides)
    fast_up.build(x.shape)
    fast_up.set_weights(up.get_weights())
    phased = fast_up(x)
    assert phased.shape == (*x.shape[:-1], 4 * 4)  # 4 phases x 4 channels, coarse grid
    fast_out(phased)
    fast_out.set_weights(out.get_weights())
    got = fast_out(phased).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_config_round_trip():
    layer = SubPixelConvTranspose(4, (1, 3, 3), strides=(1, 2, 2), rank=3, activation="relu", name="d")
    clone = SubPixelConvTranspose.from_config(layer.get_config())
    assert clone.kernel_size == (1, 3, 3) and clone.strides == (1, 2, 2) and clone.rank == 3


def _mirror(x):
    return np.ascontiguousarray(x[(slice(None),) + (slice(None, None, -1),) * (x.ndim - 2)])


@pytest.mark.parametrize(
    "rank, kernel, strides, shape",
    [
        (2, 3, 2, (2, 5, 7, 3)),
        (2, 3, 1, (2, 5, 7, 3)),
        (2, 4, 2, (2, 5, 7, 3)),
        (2, 5, 2, (2, 4, 6, 3)),
        (3, (3, 3, 3), (2, 2, 2), (2, 4, 5, 6, 3)),
        (3, (1, 3, 3), (1, 2, 2), (2, 1, 5, 6, 3)),
    ],
)
def test_mirrored_is_the_same_layer_on_reversed_tensors(rank, kernel, strides, shape):
    """mirror(layer_mirrored(mirror(x))) == Keras' layer(x), with the same weights."""
    x = np.random.default_rng(2).random(shape, dtype=np.float32)
    cls = keras.layers.Conv2DTranspose if rank == 2 else keras.layers.Conv3DTranspose
    reference = cls(4, kernel, strides=strides, padding="same", activation="relu")
    expected = reference(x).numpy()
    layer = SubPixelConvTranspose(4, kernel, strides=strides, rank=rank, activation="relu", mirrored=True)
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())
    got = _mirror(layer(_mirror(x)).numpy())
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # the mirrored stride-2 window is TF's own 'SAME' one: no explicit padding left
    if rank == 2 and kernel == 3:
        assert all(p in ((0, 1), (1, 1), (0, 0)) for p in layer._pads)


@pytest.mark.parametrize("rank", [2, 3])
def test_mirrored_chain_matches_keras(rank):
    shape = (2, 5, 7, 3) if rank == 2 else (2, 4, 5, 7, 3)
    strides = 2 if rank == 2 else (2, 2, 2)
    x = np.random.default_rng(3).random(shape, dtype=np.float32)
    cls = keras.layers.Conv2DTranspose if rank == 2 else keras.layers.Conv3DTranspose
    up = cls(4, 3, strides=strides, padding="same", activation="relu")
    out = cls(1, 3, padding="same")
    expected = out(up(x)).numpy()
    fast_up = SubPixelConvTranspose(4, 3, strides=strides, rank=rank, activation="relu", shuffle=False, mirrored=True)
    fast_out = SubPixelConvTranspose(1, 3, strides=1, rank=rank, input_phases=strides, mirrored=True)
    fast_up.build(x.shape)
    fast_up.set_weights(up.get_weights())
    phased = fast_up(_mirror(x))
    fast_out(phased)
    fast_out.set_weights(out.get_weights())
    got = _mirror(fast_out(phased).numpy())
    np.testing.assert_allclose(got, expected, atol=1e-5)
