"""The conv3d variant: Conv3D stages over (T, H, W, 1) windows, one latent per window.

The time axis is strided by 2 in as many stages as T has factors of 2 (see
`builders.time_strides`), so after the stages `gt` = T / 2**k time steps remain. How the encoder
turns the last stage's (gt, gh, gw, f) features into its dense layer is the *head*:

- ``flatten`` (every run before the head became a setting): Flatten -> Dense(inner). The dense
  kernel has gt*gh*gw*f*inner weights: 13.1M of the 14.4M of the default model at 64x80, T=10,
  and with Adam's two moments most of a 173 MB checkpoint;
- ``pool``: the gt time steps are averaged (a mean over time, stock layers) before
  Flatten -> Dense(inner): the kernel shrinks by gt (gh*gw*f*inner, as conv2d's). What tells
  the frames of a window apart survives in the features, whose time kernel (3) sees each frame
  with its neighbours; the decoder is the same for both heads (its Dense from the small latent to
  the gt*gh*gw*f grid costs little and gives each time step its own map).

With gt = 1 (T = 1, or T a power of two with enough stages) both heads are the same model.
"""

from __future__ import annotations

import keras
from keras import layers

from vaeviewer.models.builders import (
    _conv_kwargs,
    _decoder_convs,
    _dense_head,
    _expand,
    _latent_heads,
    _output_stage,
    _padded,
    time_strides,
)
from vaeviewer.models import builders
from vaeviewer.models.layers import FrameNorm, ZeroPadEnd

HEADS = ("pool", "flatten")


def time_grid(window: int, stages: int) -> int:
    """Time steps left after the conv3d stages: T / 2**(stages strided in time)."""
    return window // (2 ** time_strides(window, stages).count(2))


def _pool_time(x, gt: int):
    """Average the encoder's (gt, gh, gw, f) features over time, flat: (gh * gw * f,).

    A mean over axis 1 (GlobalAveragePooling1D) rather than AveragePooling3D: TensorFlow has no
    float16 AvgPool3D kernel on CPU, so a float16 run would fail at its first step.
    """
    if gt == 1:
        return x
    x = layers.Reshape((gt, -1), name="time_rows")(x)
    return layers.GlobalAveragePooling1D(name="pool_time")(x)


def build_conv3d(frame_shape, window, filters, inner_dim, latent_dim, batch_size, seed, dropout=0.0,
                 frame_layers=True, head="flatten"):
    """(encoder, decoder) of the conv3d variant; `head`: 'pool' or 'flatten' (see the module doc)."""
    h, w = frame_shape
    m = 2 ** len(filters)
    hp, wp = _padded(h, m), _padded(w, m)
    pad = ((0, 0), (0, hp - h), (0, wp - w))
    t_strides = time_strides(window, len(filters))
    kt = 3 if window > 1 else 1
    gt = time_grid(window, len(filters))

    inp = keras.Input(shape=(window, h, w, 1), batch_size=batch_size, name="windows")
    # Not ZeroPadding3D: TF 2.21's CPU graph rewrite fuses Pad + Conv3D wrongly (a (10, 61, 77)
    # window comes out (4, 31, 39) instead of (5, 32, 40) inside tf.function, while eager mode is
    # right) and, with 'valid', fails on the gradient graph and drops every other fusion.
    x = FrameNorm(name="frame_norm")(inp) if frame_layers else inp
    x = ZeroPadEnd(pad, name="pad")(x) if pad != ((0, 0),) * 3 else x
    for i, (f, st) in enumerate(zip(filters, t_strides)):
        x = layers.Conv3D(f, (kt, 3, 3), strides=(st, 2, 2), padding="same", activation="relu",
                          name=f"conv_{i}", **_conv_kwargs(seed, i))(x)
    if head == "pool":
        x = _pool_time(x, gt)
    x = _dense_head(x, inner_dim, dropout, seed)
    encoder = keras.Model(inp, list(_latent_heads(x, latent_dim, seed)), name="encoder")

    gh, gw = hp // m, wp // m
    z = keras.Input(shape=(latent_dim,), batch_size=batch_size, name="z")
    y = _expand(z, (gt, gh, gw, filters[-1]), seed)
    y = _decoder_convs(y, filters, seed, rank=3, kernel=(kt, 3, 3),
                       stage_strides=[(st, 2, 2) for st in reversed(t_strides)], mirrored_input=builders._fast_decoder())   # looked up on the module: tests force it
    if pad != ((0, 0),) * 3:
        y = layers.Cropping3D(pad, name="crop")(y)
    out = _output_stage(y, z, (window, h, w, 1), seed, frame_layers)
    decoder = keras.Model(z, out, name="decoder")
    return encoder, decoder
