"""Carried states: copies of a stateful model's recurrent state, checkpoints along a walk, and
`walk_to_window`, which shows window k of a sequence with the state carried from its start."""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from vaeviewer.models.base import VAE
from vaeviewer.models.compiled import infer_fn, per_model
from vaeviewer.models.stateful import stateful_layers

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

    def make():
        try:
            head = keras.Model(model.decoder.inputs, model.decoder.get_layer("decoder_lstm").output)
        except ValueError:
            return infer_fn(model)

        def run(x):
            z_mean, _ = model.encoder(x, training=False)
            return head(z_mean, training=False)

        return tf.function(run, reduce_retracing=True)

    return per_model(_step_fns, model, make)


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
