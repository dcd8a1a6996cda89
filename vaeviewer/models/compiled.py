"""Compiled calls per model: one tf.function per model and job, made on first use and dropped with the model."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import keras
import tensorflow as tf

_infer_fns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_encode_fns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_forward_fns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_decode_fns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def per_model(cache: weakref.WeakKeyDictionary, model, make: Callable[[], Callable]) -> Callable:
    """`cache`'s call for `model`, made by `make()` the first time."""
    fn = cache.get(model)
    if fn is None:
        fn = cache[model] = make()
    return fn


def infer_fn(model) -> Callable:
    """x -> (z_mean, reconstruction decoded from z_mean): `model.encode_decode`, compiled."""
    return per_model(_infer_fns, model, lambda: tf.function(model.encode_decode, reduce_retracing=True))


def encode_fn(model) -> Callable:
    """x -> z_mean as float32."""

    def run(x):
        z_mean, _ = model.encoder(x, training=False)
        return keras.ops.cast(z_mean, "float32")

    return per_model(_encode_fns, model, lambda: tf.function(run, reduce_retracing=True))


def forward_fn(model) -> Callable:
    """x -> (z_mean, z_log_var, reconstruction decoded from z_mean), all float32."""
    encoder, decoder = model.encoder, model.decoder

    def run(batch):
        z_mean, z_log_var = encoder(batch, training=False)[:2]
        recon = decoder(z_mean, training=False)
        return tf.cast(z_mean, tf.float32), tf.cast(z_log_var, tf.float32), tf.cast(recon, tf.float32)

    return per_model(_forward_fns, model, lambda: tf.function(run, reduce_retracing=True))


def decode_fn(model) -> Callable:
    """z -> the decoder's output as float32."""
    decoder = model.decoder
    return per_model(_decode_fns, model, lambda: tf.function(
        lambda batch: tf.cast(decoder(batch, training=False), tf.float32), reduce_retracing=True))
