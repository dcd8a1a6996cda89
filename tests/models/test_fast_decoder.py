"""The bf16 decoder's fast form (sub-pixel, mirrored, MirroredDense) is the stock model's function.

Built here at float32 with the fast form forced on, so that the comparison with Keras' stock
layers is exact to float32 rounding; the weights are copied one to one (same layers, same order).
"""

import keras
import numpy as np
import pytest

from vaeviewer.models import builders
from vaeviewer.models.builders import build_vae
from vaeviewer.models.layers import MirroredDense, SubPixelConvTranspose


def _pair(monkeypatch, variant, frame_shape, window, filters=(3, 4)):
    kw = dict(window=window, filters=filters, inner_dim=5, latent_dim=2, seed=0)
    stock = build_vae(variant, frame_shape, **kw)
    monkeypatch.setattr(builders, "_fast_decoder", lambda: True)
    fast = build_vae(variant, frame_shape, **kw)
    monkeypatch.undo()
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.3, w.shape).astype(np.float32) for w in stock.get_weights()]
    stock.set_weights(weights)
    fast.set_weights(weights)
    return stock, fast


@pytest.mark.parametrize(
    "variant, frame_shape, window, filters",
    [
        ("conv2d", (64, 80), 1, (3, 4)),
        ("conv2d", (13, 9), 1, (3, 4)),
        ("conv2d", (17, 23), 1, (2, 3, 4)),
        ("conv3d", (9, 11), 1, (3, 4)),
        ("conv3d", (9, 11), 5, (3, 4)),
        ("conv3d", (8, 10), 10, (3, 4)),
        ("conv3d", (8, 10), 16, (3, 4)),
        ("convlstm", (9, 11), 3, (3, 4)),
    ],
)
def test_fast_decoder_matches_the_stock_layers(monkeypatch, variant, frame_shape, window, filters):
    stock, fast = _pair(monkeypatch, variant, frame_shape, window, filters)
    assert any(isinstance(layer, SubPixelConvTranspose) and layer.mirrored for layer in fast.decoder.layers)
    assert not any(isinstance(layer, SubPixelConvTranspose) for layer in stock.decoder.layers)
    shape = (2, *frame_shape, 1) if variant == "conv2d" else (2, window, *frame_shape, 1)
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    expected = stock(x).numpy()
    got = fast(x).numpy()
    assert got.shape == expected.shape == shape
    # a decoder output flipped on any axis would differ by ~0.1 here
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_mirrored_dense_is_dense_then_reversed():
    grid = (3, 4, 2)
    x = np.random.default_rng(2).normal(size=(5, 6)).astype(np.float32)
    plain = keras.layers.Dense(24, activation="relu")
    expected = plain(x).numpy().reshape(5, *grid)[:, ::-1, ::-1, :]
    layer = MirroredDense(24, grid, activation="relu")
    layer.build(x.shape)
    layer.set_weights(plain.get_weights())
    got = layer(x).numpy().reshape(5, *grid)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    clone = MirroredDense.from_config(layer.get_config())
    assert clone.grid == grid
    with pytest.raises(ValueError, match="grid"):
        MirroredDense(25, grid)
