"""The sub-pixel transposed convolution computes exactly what Keras' Conv*DTranspose computes."""

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
    for kernel, stride in [(3, 2), (3, 1), (1, 1), (5, 2), (4, 2)]:
        sel, before, after = phase_taps(kernel, stride)
        assert sel.sum(axis=(0, 1)).tolist() == [1.0] * kernel
        assert before >= 0 and after >= 0


def test_config_round_trip():
    layer = SubPixelConvTranspose(4, (1, 3, 3), strides=(1, 2, 2), rank=3, activation="relu", name="d")
    clone = SubPixelConvTranspose.from_config(layer.get_config())
    assert clone.kernel_size == (1, 3, 3) and clone.strides == (1, 2, 2) and clone.rank == 3
