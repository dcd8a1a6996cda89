"""Every variant trains under every precision at every window size, like float32 does.

The conv3d decoder's sub-pixel stage hit a TensorFlow/oneDNN bfloat16 bug (NaN filter
gradients from Conv3DBackpropFilter at some shapes): training turned NaN at step 3 for even
windows under the default precision. These tests pin the fix and the behaviour around it.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vaeviewer.models.builders import build_vae
from vaeviewer.models.layers import conv3d_stride1
from vaeviewer.models.precision import policy_scope

PRECISIONS = ("mixed_bfloat16", "mixed_float16")


def _filter_grad(fn, x, kernel, dtype):
    xx = tf.constant(x, dtype)
    kk = tf.Variable(tf.constant(kernel, dtype))

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            y = fn(xx, kk)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
        return tape.gradient(loss, kk)

    return tf.cast(run(), tf.float32).numpy()


@pytest.mark.parametrize("t, padding", [(2, "SAME"), (3, "SAME"), (5, "SAME"), (4, "VALID")])
def test_conv3d_filter_gradient_in_bfloat16_matches_float32(t, padding):
    # The shape of conv3d's last decoder stage for window 4/6 at 64x80: native bf16 gave NaN.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, t, 32, 40, 64)).astype(np.float32)
    kernel = (rng.normal(size=(2, 2, 2, 64, 256)) * 0.1).astype(np.float32)
    expected = _filter_grad(lambda a, k: tf.nn.conv3d(a, k, [1] * 5, padding), x, kernel, tf.float32)
    got = _filter_grad(lambda a, k: conv3d_stride1(a, k, padding), x, kernel, tf.bfloat16)
    assert np.isfinite(got).all()
    assert np.abs(got - expected).max() <= 0.02 * np.abs(expected).max()


def _loss_and_gradients(model, x):
    """The training loss (reconstruction of z_mean plus KL) and its gradients, computed eagerly."""
    from vaeviewer.models.base import kl_terms, reconstruction_terms

    with tf.GradientTape() as tape:
        z_mean, z_log_var = model.encoder(x, training=True)[:2]
        recon = model.decoder(z_mean, training=True)
        loss = tf.reduce_mean(reconstruction_terms(x, recon, "mse")) + tf.reduce_mean(
            tf.reduce_sum(kl_terms(z_mean, z_log_var), axis=-1))
    grads = tape.gradient(loss, model.trainable_variables)
    return float(loss), [None if g is None else tf.cast(g, tf.float32).numpy() for g in grads]


_FLOAT32_REFERENCES: dict = {}


def _float32_reference(variant, frame_shape, window, filters):
    """(weights, x, loss, gradients) of the float32 model: computed once, shared by both policies' checks."""
    key = (variant, tuple(frame_shape), window, tuple(filters))
    if key not in _FLOAT32_REFERENCES:
        with policy_scope("float32"):
            ref = build_vae(variant, frame_shape, window=window, filters=filters, inner_dim=8, latent_dim=3, seed=0)
        shape = (4, *frame_shape, 1) if variant == "conv2d" else (4, window, *frame_shape, 1)
        x = np.random.default_rng(1).random(shape, dtype=np.float32)
        _FLOAT32_REFERENCES[key] = (ref.get_weights(), x, *_loss_and_gradients(ref, x))
    return _FLOAT32_REFERENCES[key]


def _check_against_float32(variant, frame_shape, window, policy, filters=(4, 8)):
    weights, x, expected_loss, expected = _float32_reference(variant, frame_shape, window, filters)
    with policy_scope(policy):
        model = build_vae(variant, frame_shape, window=window, filters=filters, inner_dim=8, latent_dim=3, seed=0)
    model.set_weights(weights)
    loss, grads = _loss_and_gradients(model, x)
    where = f"{variant} T={window} {frame_shape} {policy}"
    assert np.isfinite(loss), where
    np.testing.assert_allclose(loss, expected_loss, rtol=0.02, err_msg=where)
    pairs = [(var, g, e) for var, g, e in zip(model.trainable_variables, grads, expected) if e is not None]
    total = np.sqrt(sum(float(np.sum(e * e)) for _, _, e in pairs))
    for var, g, e in pairs:
        assert np.isfinite(g).all(), f"{where}: {var.path} has a non-finite gradient"
        # 8 significant bits: a gradient that is a sum of many cancelling terms (a scalar bias)
        # may come out small and of either sign, so judge each against the whole gradient too.
        off = float(np.linalg.norm(g - e))
        assert off <= 0.3 * np.linalg.norm(e) + 0.03 * total, f"{where}: {var.path} gradient off by {off:.3g}"


@pytest.mark.parametrize("policy", PRECISIONS)
@pytest.mark.parametrize("variant", ["conv3d", "convlstm"])
def test_window_variants_at_every_window_size(variant, policy):
    for window in range(1, 17):
        _check_against_float32(variant, (16, 20), window, policy)


@pytest.mark.parametrize("policy", PRECISIONS)
@pytest.mark.parametrize("variant, frame_shape, window", [
    ("conv2d", (13, 9), 1), ("conv2d", (17, 23), 1),
    ("conv3d", (13, 9), 6), ("conv3d", (17, 23), 4),
    ("convlstm", (13, 9), 6), ("convlstm", (17, 23), 4),
])
def test_odd_frame_sizes(variant, frame_shape, window, policy):
    _check_against_float32(variant, frame_shape, window, policy)


def _train_losses(policy, frame_shape, window, steps, weights=None):
    with policy_scope(policy):
        model = build_vae("conv3d", frame_shape, window=window, seed=0)
    if weights is not None:
        model.set_weights(weights)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        x = rng.random((8, window, *frame_shape, 1), dtype=np.float32)
        losses.append(float(model.train_on_batch(x, return_dict=True)["loss"]))
    return model, np.array(losses)


@pytest.mark.slow
@pytest.mark.parametrize("window", [2, 4])
def test_default_conv3d_trains_under_bfloat16(window):
    # The default architecture at the demo's frame size, where the bug showed (NaN at step 3).
    ref, expected = _train_losses("float32", (64, 80), window, steps=4)
    model, got = _train_losses("mixed_bfloat16", (64, 80), window, steps=4)
    assert np.isfinite(got).all(), got
    assert all(np.isfinite(w).all() for w in model.get_weights())
    np.testing.assert_allclose(got, expected, rtol=0.05)
