"""Inference for the viewer: encode, reconstruct, decode, loss terms, KL per dimension, stateful walks.

Latents are z_mean, float32, shape (B, K) for every variant (convlstm has one latent per window;
see builders). A stateful model's single windows go through its batch-1 *inference twin*
(`vaeviewer.models.stateful`). `encode`, `reconstruct` and `kl_per_dim` treat every window on
its own, from a reset state, exactly as a stateless model does; `encode_sequence_stateful` walks
windows in order carrying the state. The carried states behind the views' stateful walks are in
`vaeviewer.models.carried_state`; both modules' names are importable from here too.
"""

from __future__ import annotations

import keras
import numpy as np

from vaeviewer.errors import VaeViewerError
from vaeviewer.models.base import VAE, kl_terms, reconstruction_terms
from vaeviewer.models.carried_state import (  # noqa: F401  (re-exported: inference is the one forward path)
    STATE_BUDGET_BYTES,
    StateCheckpoints,
    carried_states,
    set_carried_states,
    state_nbytes,
    state_step_fn,
    walk_to_window,
)
from vaeviewer.models.compiled import decode_fn, encode_fn, forward_fn, infer_fn
from vaeviewer.models.stateful import inference_twin, is_stateful, reset_states, stateful_layers  # noqa: F401

_CHUNK = 256


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


def _encode_decode_rows(model: VAE, x: np.ndarray, want_reconstruction: bool):
    """z_mean (and reconstructions) of independent windows; state reset before each window."""
    if is_stateful(model):
        twin = inference_twin(model)
        fn = infer_fn(twin)
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
            z, r = infer_fn(model)(chunk)
            zs.append(z.numpy())
            recs.append(r.numpy())
        else:
            zs.append(encode_fn(model)(chunk).numpy())
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


def forward(model: VAE, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z_mean, z_log_var, reconstruction decoded from z_mean) of a batch, float32 numpy.

    One compiled call per model, no state reset: the caller owns a stateful model's state
    (the views walk it window by window). `x` must already be a batch of the model's samples.
    """
    z_mean, z_log_var, recon = forward_fn(model)(x)
    return z_mean.numpy(), z_log_var.numpy(), recon.numpy()


def decode(model: VAE, z: np.ndarray) -> np.ndarray:
    """Decode latent points z (B, K) (or one point (K,)) into frames/windows, float32.

    Returns (B, *sample_shape), or sample_shape for a single point. A stateful model decodes
    through its batch-1 twin from a reset state, point by point.
    """
    z = np.asarray(z, dtype=np.float32)
    single = z.ndim == 1
    z = z[None] if single else z
    if z.ndim != 2 or z.shape[1] != model.latent_dim:
        raise VaeViewerError(f"latent points of shape {z.shape} do not fit this model's {model.latent_dim} dimensions")
    target = inference_twin(model) if is_stateful(model) else model
    fn = decode_fn(target)
    if target is model:
        out = np.concatenate([fn(z[i:i + _CHUNK]).numpy() for i in range(0, len(z), _CHUNK)]) if len(z) else \
            np.zeros((0,) + tuple(model.sample_shape), np.float32)
    else:
        parts = []
        for row in z:
            reset_states(target)
            parts.append(fn(row[None]).numpy())
        reset_states(target)
        out = np.concatenate(parts) if parts else np.zeros((0,) + tuple(model.sample_shape), np.float32)
    return out[0] if single else out


def loss_terms(x: np.ndarray, recon: np.ndarray, z_mean: np.ndarray, z_log_var: np.ndarray,
               kind: str = "mse") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reconstruction loss (B,), KL (B,), KL per dimension (B, K)) with the model's own formulas.

    The same functions the training step uses (`base.reconstruction_terms`, `base.kl_terms`),
    here on a decoded-from-z_mean batch. A latent with one vector per frame (B, T, K) gives KL
    summed over its frames, and per-dimension rows (B*T, K).
    """
    rec = np.asarray(reconstruction_terms(x, recon, kind).numpy(), np.float64)
    per_dim = np.asarray(kl_terms(z_mean, z_log_var).numpy(), np.float64)
    kl = per_dim.reshape(len(per_dim), -1).sum(axis=1)
    return rec, kl, per_dim.reshape(-1, per_dim.shape[-1])


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
    fn = infer_fn(twin)
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
