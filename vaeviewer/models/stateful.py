"""Stateful models: their recurrent layers, state resets, and the batch-1 inference twin.

A stateful model has its batch size fixed, so single windows go through an *inference twin*:
the same architecture with batch size 1, weights copied from the model (and re-copied every
time `inference_twin` is called, so it follows training).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import keras

from vaeviewer.errors import VaeViewerError
from vaeviewer.models.base import VAE
from vaeviewer.models.precision import policy_scope

_twins: "weakref.WeakKeyDictionary[VAE, VAE]" = weakref.WeakKeyDictionary()
_stateful: "weakref.WeakKeyDictionary[VAE, tuple]" = weakref.WeakKeyDictionary()


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
