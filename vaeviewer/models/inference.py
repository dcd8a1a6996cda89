"""Inference for the viewer: encode, reconstruct, KL per dimension, stateful walks, state resets.

Latents are z_mean, float32, shape (B, K) for every variant (convlstm has one latent per window;
see builders). A stateful model has its batch size fixed, so single windows go through an
*inference twin*: the same architecture with batch size 1, weights copied from the model (and
re-copied every time `inference_twin` is called, so it follows training). `encode`,
`reconstruct` and `kl_per_dim` treat every window on its own, from a reset state, exactly as a
stateless model does; `encode_sequence_stateful` walks windows in order carrying the state.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf

from vaeviewer.errors import VaeViewerError
from vaeviewer.models.base import VAE, kl_terms
from vaeviewer.models.precision import policy_scope

_CHUNK = 256
_twins: "weakref.WeakKeyDictionary[VAE, VAE]" = weakref.WeakKeyDictionary()
_infer_fns: "weakref.WeakKeyDictionary[VAE, object]" = weakref.WeakKeyDictionary()
_encode_fns: "weakref.WeakKeyDictionary[VAE, object]" = weakref.WeakKeyDictionary()


def _walk_layers(layer) -> Iterator[keras.layers.Layer]:
    yield layer
    for attr in ("layers",):
        for sub in getattr(layer, attr, None) or ():
            yield from _walk_layers(sub)
    inner = getattr(layer, "layer", None)  # wrappers (TimeDistributed, Bidirectional, ...)
    if isinstance(inner, keras.layers.Layer):
        yield from _walk_layers(inner)
    for attr in ("encoder", "decoder"):
        sub = getattr(layer, attr, None)
        if isinstance(sub, keras.layers.Layer):
            yield from _walk_layers(sub)


def stateful_layers(model) -> list[keras.layers.Layer]:
    """Every stateful recurrent layer inside `model` (encoder and decoder included)."""
    seen: set[int] = set()
    found = []
    for layer in _walk_layers(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if getattr(layer, "stateful", False) is True and hasattr(layer, "reset_state"):
            found.append(layer)
    return found


def is_stateful(model) -> bool:
    """True when the model holds recurrent state across batches."""
    return bool(stateful_layers(model))


def reset_states(model) -> None:
    """Zero the state of every stateful RNN layer in `model`; a no-op for stateless models."""
    for layer in stateful_layers(model):
        layer.reset_state()


def inference_twin(model: VAE) -> VAE:
    """A batch-1 copy of a stateful model with its current weights; stateless models: itself.

    The twin is cached per model and its weights are refreshed on every call, so calling this
    after each epoch keeps the viewer in step with training. The twin's state is not reset here.
    """
    if not is_stateful(model):
        return model
    twin = _twins.get(model)
    if twin is None:
        spec = dict(getattr(model, "spec", None) or {})
        if not spec.get("variant"):
            raise VaeViewerError("this stateful model carries no build spec; rebuild it with vaeviewer")
        spec["batch_size"] = 1
        # Models saved before the frame layers existed have none (and no such key in their spec).
        spec["frame_layers"] = any(layer.name == "frame_norm" for layer in model.encoder.layers)
        from vaeviewer.models.builders import build_vae  # local: builders imports this module

        with policy_scope(model.dtype_policy.name):
            twin = build_vae(**spec)
        _twins[model] = twin
    twin.set_weights(model.get_weights())
    return twin


def _as_input(model: VAE, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    sample_shape = tuple(model.encoder.inputs[0].shape[1:])
    if x.shape[1:] != sample_shape:
        if x.shape == sample_shape:
            x = x[None]
        else:
            raise VaeViewerError(
                f"input of shape {x.shape} does not fit this model, which takes (batch, *{sample_shape})"
            )
    return x


def _infer_fn(model: VAE):
    fn = _infer_fns.get(model)
    if fn is None:
        fn = tf.function(model.encode_decode, reduce_retracing=True)
        _infer_fns[model] = fn
    return fn


def _encode_fn(model: VAE):
    fn = _encode_fns.get(model)
    if fn is None:
        def run(x):
            z_mean, _ = model.encoder(x, training=False)
            return keras.ops.cast(z_mean, "float32")

        fn = tf.function(run, reduce_retracing=True)
        _encode_fns[model] = fn
    return fn


def _encode_decode_rows(model: VAE, x: np.ndarray, want_reconstruction: bool):
    """z_mean (and reconstructions) of independent windows; state reset before each window."""
    if is_stateful(model):
        twin = inference_twin(model)
        fn = _infer_fn(twin)
        zs, recs = [], []
        for row in x:
            reset_states(twin)
            z, r = fn(row[None])
            zs.append(z.numpy())
            if want_reconstruction:
                recs.append(r.numpy())
        reset_states(twin)
        z = np.concatenate(zs) if zs else np.zeros((0, model.latent_dim), np.float32)
        r = np.concatenate(recs) if recs else np.zeros((0,) + x.shape[1:], np.float32)
        return z, r
    zs, recs = [], []
    for start in range(0, len(x), _CHUNK):
        chunk = x[start:start + _CHUNK]
        if want_reconstruction:
            z, r = _infer_fn(model)(chunk)
            zs.append(z.numpy())
            recs.append(r.numpy())
        else:
            zs.append(_encode_fn(model)(chunk).numpy())
    z = np.concatenate(zs) if zs else np.zeros((0, model.latent_dim), np.float32)
    r = np.concatenate(recs) if recs else np.zeros((0,) + x.shape[1:], np.float32)
    return z.astype(np.float32), r.astype(np.float32)


def encode(model: VAE, x: np.ndarray) -> np.ndarray:
    """z_mean of each frame/window, float32 (B, K). Each window is encoded on its own."""
    x = _as_input(model, x)
    return _encode_decode_rows(model, x, want_reconstruction=False)[0]


def reconstruct(model: VAE, x: np.ndarray) -> np.ndarray:
    """The reconstruction (decoded from z_mean) of each frame/window, float32, shape of x."""
    x_in = np.asarray(x, dtype=np.float32)
    batched = _as_input(model, x_in)
    r = _encode_decode_rows(model, batched, want_reconstruction=True)[1]
    return r.reshape(x_in.shape)


def encode_sequence_stateful(model: VAE, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walk consecutive windows (N, T, H, W, 1) of one sequence in order, carrying the state.

    Uses the batch-1 twin, reset before the first window. Returns (z_mean (N, K),
    reconstructions (N, T, H, W, 1)), both float32. For a stateless model the windows are
    simply encoded one by one (there is no state to carry).
    """
    windows = _as_input(model, windows)
    if not is_stateful(model):
        return _encode_decode_rows(model, windows, want_reconstruction=True)
    twin = inference_twin(model)
    fn = _infer_fn(twin)
    reset_states(twin)
    zs, recs = [], []
    for window in windows:
        z, r = fn(window[None])
        zs.append(z.numpy())
        recs.append(r.numpy())
    reset_states(twin)
    if not zs:
        return np.zeros((0, model.latent_dim), np.float32), np.zeros((0,) + windows.shape[1:], np.float32)
    return np.concatenate(zs).astype(np.float32), np.concatenate(recs).astype(np.float32)


def kl_per_dim(model: VAE, x: np.ndarray) -> np.ndarray:
    """Mean KL divergence of each latent dimension over the samples in x, float32 (K,).

    A dimension whose KL stays near 0 carries no information (posterior collapse).
    """
    x = _as_input(model, x)
    target = inference_twin(model) if is_stateful(model) else model
    totals = np.zeros(model.latent_dim, np.float64)
    count = 0
    step = 1 if target is not model else _CHUNK
    for start in range(0, len(x), step):
        if target is not model:
            reset_states(target)
        z_mean, z_log_var = target.encoder(x[start:start + step], training=False)
        kl = keras.ops.convert_to_numpy(kl_terms(z_mean, z_log_var))
        totals += kl.sum(axis=0)
        count += kl.shape[0]
    if target is not model:
        reset_states(target)
    return (totals / max(count, 1)).astype(np.float32)
