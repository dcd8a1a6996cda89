"""Every variant reconstructs exactly the input shape, for odd frame sizes and any window length."""

import numpy as np
import pytest

from vaeviewer.models import build_vae, encode, reconstruct
from vaeviewer.models.precision import policy_scope

from .conftest import TINY, sample_batch

SIZES = [(64, 78), (61, 77), (28, 28), (128, 160)]
WINDOWS = [1, 5, 10, 16]


# test_graph_and_eager_agree's models are among test_windowed_lengths': kept here once built.
GRAPH_AND_EAGER = [("conv3d", 10), ("conv3d", 16), ("convlstm", 10)]
_built: dict = {}


def _model(variant, frame_shape, window):
    if (variant, window) in GRAPH_AND_EAGER and frame_shape == (61, 77):
        if (variant, window) not in _built:
            _built[variant, window] = build_vae(variant, frame_shape, window=window, seed=0, **TINY)
        return _built[variant, window]
    return build_vae(variant, frame_shape, window=window, seed=0, **TINY)


def _check(variant, frame_shape, window):
    model = _model(variant, frame_shape, window)
    x = sample_batch(variant, frame_shape, window)
    out = model.predict_on_batch(x)
    assert out.shape == x.shape
    assert out.dtype == np.float32
    assert np.all((out >= 0) & (out <= 1))
    assert reconstruct(model, x).shape == x.shape
    assert encode(model, x).shape == (2, TINY["latent_dim"])
    logs = model.train_on_batch(x, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())


@pytest.mark.parametrize("frame_shape", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_conv2d_sizes(frame_shape):
    _check("conv2d", frame_shape, 1)


@pytest.mark.parametrize("variant", ["conv3d", "convlstm"])
@pytest.mark.parametrize("frame_shape", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_windowed_sizes(variant, frame_shape):
    _check(variant, frame_shape, 4)


@pytest.mark.parametrize("variant", ["conv3d", "convlstm"])
@pytest.mark.parametrize("window", WINDOWS, ids=lambda t: f"T{t}")
def test_windowed_lengths(variant, window):
    _check(variant, (61, 77), window)


@pytest.mark.parametrize("variant, window", [("conv2d", 1), ("conv3d", 10), ("convlstm", 5)])
def test_bfloat16_shapes_and_float32_outputs(variant, window):
    with policy_scope("mixed_bfloat16"):
        model = build_vae(variant, (61, 77), window=window, seed=0, **TINY)
    x = sample_batch(variant, (61, 77), window)
    out = model.predict_on_batch(x)
    assert out.shape == x.shape and out.dtype == np.float32
    z_mean, z_log_var = model.encoder(x)
    assert z_mean.dtype == "float32" and z_log_var.dtype == "float32"
    logs = model.train_on_batch(x, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())


@pytest.mark.parametrize("variant, window", GRAPH_AND_EAGER)
def test_graph_and_eager_agree(variant, window):
    """Guards against TF's Pad + Conv3D('same') graph-rewrite bug (shapes change inside tf.function)."""
    model = _model(variant, (61, 77), window)   # the weights need not be fresh: both paths use the same
    x = sample_batch(variant, (61, 77), window)
    np.testing.assert_allclose(model.predict_on_batch(x), model(x).numpy(), atol=1e-5)


def test_conv2d_default_is_the_original_architecture():
    model = build_vae("conv2d", (64, 80))
    names = [type(layer).__name__ for layer in model.encoder.layers]
    assert names.count("Conv2D") == 2
    convs = [layer for layer in model.encoder.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 64] and all(c.strides == (2, 2) for c in convs)
    assert model.encoder.get_layer("inner").units == 16
    assert model.latent_dim == 6
    assert model.encoder.outputs[0].shape[-1] == 6
    assert "ZeroPadding2D" not in names  # 64x80 needs no padding


def test_conv2d_ignores_window_and_bad_settings_are_user_errors():
    from vaeviewer.errors import VaeViewerError

    model = build_vae("conv2d", (28, 28), window=10, **TINY)
    assert model.sample_shape == (28, 28, 1)
    with pytest.raises(VaeViewerError, match="variant"):
        build_vae("conv4d", (28, 28))
    with pytest.raises(VaeViewerError, match="stateful"):
        build_vae("conv3d", (28, 28), window=4, stateful=True, batch_size=2)
    with pytest.raises(VaeViewerError, match="batch size"):
        build_vae("convlstm", (28, 28), window=4, stateful=True)
