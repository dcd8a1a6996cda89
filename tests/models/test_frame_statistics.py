"""The encoder's input standardisation (FrameNorm), the decoder's linear path, and encoder dropout."""

import keras
import numpy as np
import pytest

from vaeviewer.models import build_vae, load_model, save_model
from vaeviewer.models.builders import set_frame_statistics

from .conftest import TINY, sample_batch


@pytest.mark.parametrize("variant, window", [("conv2d", 1), ("conv3d", 4), ("convlstm", 4)])
def test_encoder_sees_the_standardised_frames(variant, window):
    model = build_vae(variant, (12, 10), window=window, seed=0, **TINY)
    norm = model.encoder.get_layer("frame_norm")
    x = sample_batch(variant, (12, 10), window, batch=3)
    probe = keras.Model(model.encoder.inputs, norm.output)
    np.testing.assert_allclose(probe.predict(x, verbose=0), x, atol=1e-7)   # fresh: the identity
    mean = np.random.default_rng(1).random((12, 10), dtype=np.float32)
    set_frame_statistics(model, mean, spread=0.25)
    expected = (x - mean[..., None]) / 0.25          # broadcast over batch (and time)
    np.testing.assert_allclose(probe.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    # The decoder starts at the mean frame: frame bias = logit(mean), clipped away from 0 and 1.
    p = np.clip(mean, 0.01, 0.99)
    bias = np.asarray(model.decoder.get_layer("frame_bias").bias).reshape(12, 10)
    np.testing.assert_allclose(bias, np.log(p / (1 - p)), rtol=1e-5, atol=1e-5)
    # The statistics are fixed, not trained.
    assert norm.trainable_weights == [] and len(norm.non_trainable_weights) == 2


def test_statistics_survive_save_and_load(tmp_path):
    model = build_vae("conv2d", (12, 10), seed=0, **TINY)
    set_frame_statistics(model, np.full((12, 10), 0.3, np.float32), spread=0.1)
    save_model(model, tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    norm = loaded.encoder.get_layer("frame_norm")
    assert float(norm.scale.numpy()) == pytest.approx(10.0)
    np.testing.assert_allclose(np.asarray(norm.mean), 0.3, rtol=1e-6)
    x = sample_batch("conv2d", (12, 10), batch=2)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_the_latent_reaches_every_pixel_through_the_linear_path():
    model = build_vae("conv2d", (12, 10), seed=0, **TINY)
    lin = model.decoder.get_layer("pixels_linear")
    assert tuple(lin.kernel.shape) == (TINY["latent_dim"], 12 * 10)
    # With the convolution path switched off, the output still moves with z.
    for w in model.decoder.get_layer("to_pixels").weights:
        w.assign(np.zeros(w.shape, w.dtype))
    z = np.array([[0, 0, 0], [2, -1, 1]], np.float32)
    out = model.decoder.predict(z, verbose=0)
    assert np.abs(out[0] - out[1]).max() > 1e-3


def test_dropout_acts_in_training_only():
    x = sample_batch("conv2d", (12, 10), batch=4)
    plain = build_vae("conv2d", (12, 10), seed=0, **TINY)
    assert not any(isinstance(l, keras.layers.Dropout) for l in plain.encoder.layers)
    model = build_vae("conv2d", (12, 10), seed=0, dropout=0.5, **TINY)
    assert [l.name for l in model.encoder.layers if isinstance(l, keras.layers.Dropout)] == ["drop_features", "drop_inner"]
    a, b = (np.asarray(model.encoder(x, training=True)[0]) for _ in range(2))
    assert np.abs(a - b).max() > 0
    c, d = (np.asarray(model.encoder(x, training=False)[0]) for _ in range(2))
    np.testing.assert_array_equal(c, d)
    assert model.spec["dropout"] == 0.5


def test_a_stateful_model_saved_before_the_frame_layers_still_gets_its_viewer_twin(tmp_path):
    from vaeviewer.models import inference_twin

    # The architecture of models saved before FrameNorm and the linear path existed; their spec
    # has no 'frame_layers' key.
    old = build_vae("convlstm", (12, 10), window=4, stateful=True, batch_size=2, seed=0,
                    frame_layers=False, **TINY)
    del old.spec["frame_layers"]
    save_model(old, tmp_path / "old.keras")
    loaded = load_model(tmp_path / "old.keras")
    twin = inference_twin(loaded)
    assert twin.input_batch_size == 1
    assert not any(layer.name == "frame_norm" for layer in twin.encoder.layers)
    x = sample_batch("convlstm", (12, 10), 4, batch=1)
    assert twin.predict(x, verbose=0).shape == x.shape
