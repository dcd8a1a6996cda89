"""Inference for the viewer: encode, reconstruct, KL per dimension, stateful walks, state resets.

Latents are z_mean, float32, shape (B, K) for every variant (convlstm has one latent per window;
see builders). A stateful model has its batch size fixed, so single windows go through an
*inference twin*: the same architecture with batch size 1, weights copied from the model (and
re-copied every time `inference_twin` is called, so it follows training). `encode`,
`reconstruct` and `kl_per_dim` treat every window on its own, from a reset state, exactly as a
stateless model does; `encode_sequence_stateful` walks windows in order carrying the state.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterator
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from vaeviewer.errors import VaeViewerError
from vaeviewer.models.base import VAE, kl_terms, reconstruction_terms
from vaeviewer.models.precision import policy_scope

_CHUNK = 256
_twins: "weakref.WeakKeyDictionary[VAE, VAE]" = weakref.WeakKeyDictionary()
_infer_fns: "weakref.WeakKeyDictionary[VAE, object]" = weakref.WeakKeyDictionary()
_encode_fns: "weakref.WeakKeyDictionary[VAE, object]" = weakref.WeakKeyDictionary()
_stateful: "weakref.WeakKeyDictionary[VAE, tuple]" = weakref.WeakKeyDictionary()
_forward_fns: "weakref.WeakKeyDictionary[VAE, object]" = weakref.WeakKeyDictionary()
_decode_fns: "weakref.WeakKeyDictionary[VAE, object]" = weakref.WeakKeyDictionary()


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
    try:
        cached = _stateful.get(model)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None:
        return list(cached)
    seen: set[int] = set()
    found = []
    for layer in _walk_layers(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if getattr(layer, "stateful", False) is True and hasattr(layer, "reset_state"):
            found.append(layer)
    if isinstance(model, VAE) and model.built:  # a built model's layers stay as they are
        _stateful[model] = tuple(found)
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
        from vaeviewer.models.builders import build_vae

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


def forward(model: VAE, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z_mean, z_log_var, reconstruction decoded from z_mean) of a batch, float32 numpy.

    One compiled call per model, no state reset: the caller owns a stateful model's state
    (the views walk it window by window). `x` must already be a batch of the model's samples.
    """
    fn = _forward_fns.get(model)
    if fn is None:
        encoder, decoder = model.encoder, model.decoder

        def run(batch):
            z_mean, z_log_var = encoder(batch, training=False)[:2]
            recon = decoder(z_mean, training=False)
            return tf.cast(z_mean, tf.float32), tf.cast(z_log_var, tf.float32), tf.cast(recon, tf.float32)

        fn = tf.function(run, reduce_retracing=True)
        _forward_fns[model] = fn
    z_mean, z_log_var, recon = fn(x)
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
    fn = _decode_fns.get(target)
    if fn is None:
        decoder = target.decoder
        fn = tf.function(lambda batch: tf.cast(decoder(batch, training=False), tf.float32), reduce_retracing=True)
        _decode_fns[target] = fn
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


# ---- carried states: checkpoints of a stateful walk ------------------------------------------

#: Memory for the checkpointed states of one split (valid or train). At the default model
#: (64x80 frames, filters 32,64) one state is 320 KiB (h and c of both ConvLSTM layers at 16x20x64),
#: so 128 MiB holds 400 of them: every window of a 4,000-frame split at T=10, every 3rd of 10,000
#: frames, every 8th of 32,000.
STATE_BUDGET_BYTES = 128 * 2**20

_step_fns: "weakref.WeakKeyDictionary[VAE, object]" = weakref.WeakKeyDictionary()


def carried_states(model) -> list[np.ndarray]:
    """Copies of the recurrent state of every stateful layer of `model` (h and c of each)."""
    return [np.array(v.numpy()) for layer in stateful_layers(model) for v in (layer.states or ())]


def set_carried_states(model, states: list[np.ndarray]) -> None:
    """Put `states` (from `carried_states` of a model of the same build) back into `model`."""
    variables = [v for layer in stateful_layers(model) for v in (layer.states or ())]
    if len(variables) != len(states):
        raise ValueError(f"{len(states)} states for {len(variables)} state variables")
    for v, value in zip(variables, states):
        # The backend variable's own assign: Keras' wrapper costs 3x as much, which is a tenth
        # of a small model's forward pass for its four state variables.
        raw = getattr(v, "value", None)
        (raw if isinstance(raw, tf.Variable) else v).assign(value)


def state_nbytes(model) -> int:
    """Bytes of one copy of `model`'s carried state (0 when the state is not created yet)."""
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize
               for layer in stateful_layers(model) for v in (layer.states or ()))


def state_step_fn(model: VAE):
    """A compiled call that advances `model`'s carried state by one window and returns nothing useful.

    The state lives in the encoder's ConvLSTM and in the decoder's; what follows the decoder's
    ConvLSTM (the per-frame up-convolutions, 30-40% of a forward pass at 64x80 on 2 CPU cores) does not
    change it, so a walk towards a window skips it. Falls back to the whole forward pass for
    a model without a layer named ``decoder_lstm``.
    """
    fn = _step_fns.get(model)
    if fn is None:
        try:
            head = keras.Model(model.decoder.inputs, model.decoder.get_layer("decoder_lstm").output)
        except ValueError:
            head = None

        if head is None:
            fn = _infer_fn(model)
        else:
            def run(x):
                z_mean, _ = model.encoder(x, training=False)
                return head(z_mean, training=False)

            fn = tf.function(run, reduce_retracing=True)
        _step_fns[model] = fn
    return fn


class StateCheckpoints:
    """The carried state of a stateful model at the start of every n-th window of each sequence.

    Window k of a sequence then shows after restoring the nearest checkpoint at or before k and
    walking the at most n - 1 windows in between, instead of walking k windows from the start.
    Keys are (split, sequence); window k starts at frame k * T of its sequence and the state at
    the start of window 0 is zero (not stored).

    Memory: the checkpoints of one split take at most `budget_bytes` (n is chosen per split from
    its number of windows and the size of one state); besides them the states of the last walk
    (at most n + 1) are kept, so that stepping to the next or previous window costs one pass.

    The states belong to one set of weights, named by a `token` the owner chooses (e.g. the
    training step and a counter bumped whenever weights are set): `use(token)` drops everything
    computed under another token.
    """

    def __init__(self, budget_bytes: int = STATE_BUDGET_BYTES):
        self.budget_bytes = int(budget_bytes)
        self.token: object = None
        self._spacing: dict[str, int] = {}
        self._points: dict[tuple[str, int], dict[int, list[np.ndarray]]] = {}
        self._recent: dict[tuple[str, int], dict[int, list[np.ndarray]]] = {}

    def use(self, token: object) -> None:
        """Make `token` current; forget every state computed under another one."""
        if token != self.token:
            self.clear()
            self.token = token

    def clear(self) -> None:
        self.token = None
        self._spacing.clear()
        self._points.clear()
        self._recent.clear()

    def plan(self, split: str, n_windows: int, state_bytes: int) -> int:
        """Fix (once per token) and return the spacing n of `split`'s checkpoints.

        n = ceil(n_windows * state_bytes / budget_bytes): the split's checkpoints fit the budget.
        """
        n = self._spacing.get(split)
        if n is None:
            total = max(1, int(n_windows)) * max(1, int(state_bytes))
            n = max(1, math.ceil(total / max(1, self.budget_bytes)))
            self._spacing[split] = n
        return n

    def spacing(self, split: str) -> int:
        return self._spacing.get(split, 1)

    def nbytes(self) -> int:
        """Bytes held now (checkpoints and the last walk)."""
        return sum(a.nbytes for group in (self._points, self._recent) for states in group.values()
                   for s in states.values() for a in s)

    def store(self, split: str, sequence: int, k: int, states: list[np.ndarray] | Callable) -> None:
        """Keep the state at the start of window k if k is a checkpoint (states may be a callable)."""
        if k > 0 and k % self.spacing(split) == 0:
            self._points.setdefault((split, int(sequence)), {})[int(k)] = states() if callable(states) else states

    def remember(self, split: str, sequence: int, k: int, states: list[np.ndarray]) -> None:
        """Keep a state of the current walk (the walk's states replace the previous walk's)."""
        key = (split, int(sequence))
        recent = self._recent.get(key)
        if recent is None or len(recent) > self.spacing(split):
            self._recent = {key: {}}
            recent = self._recent[key]
        recent[int(k)] = states

    def nearest(self, split: str, sequence: int, k: int) -> tuple[int, Optional[list[np.ndarray]]]:
        """(j, state at the start of window j) for the largest known j <= k; (0, None) = zero state."""
        key = (split, int(sequence))
        best, states = 0, None
        for group in (self._points.get(key, {}), self._recent.get(key, {})):
            for j, s in group.items():
                if best < j <= k:
                    best, states = j, s
        return best, states


def walk_to_window(model, window_at: Callable[[int], np.ndarray], k: int, forward: Callable,
                   checkpoints: Optional[StateCheckpoints] = None, split: str = "valid", sequence: int = 0,
                   store: bool = True):
    """`forward(model, window k)` with the state carried from the start of the sequence.

    Restores the nearest checkpointed state at or before window k (or zero), advances the state
    through the windows in between with `state_step_fn`, storing checkpoints on the way (when
    `store`), then runs `forward` on window k. `window_at(j)` gives window j as (1, T, H, W, 1).
    The model's state is left at the end of window k (every user of a twin sets or resets the
    state before it runs; a reset here would cost a tenth of a small model's pass). Returns
    what `forward` returns.
    """
    j, states = (0, None) if checkpoints is None else checkpoints.nearest(split, sequence, k)
    if states is None:
        states = _zero_states(model)
    set_carried_states(model, states)
    step = state_step_fn(model)
    while j < k:
        step(window_at(j))
        j += 1
        if checkpoints is not None and store:
            now = carried_states(model)
            checkpoints.store(split, sequence, j, now)
            checkpoints.remember(split, sequence, j, now)
    out = forward(model, window_at(k))
    if checkpoints is not None and store:
        checkpoints.remember(split, sequence, k + 1, carried_states(model))
    return out


def _zero_states(model) -> list[np.ndarray]:
    return [np.zeros(tuple(v.shape), np.dtype(v.dtype)) for layer in stateful_layers(model)
            for v in (layer.states or ())]
