"""The per-frame layers around every variant: input standardisation (FrameNorm), the decoder's
frame bias (FrameBias), folding time into the batch (FoldTime, UnfoldTime) and Conv3D's zero
padding (ZeroPadEnd). Registered under package "vaeviewer" (saved models name them so)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from vaeviewer.models.conv_ops import zero_pad


@keras.saving.register_keras_serializable(package="vaeviewer")
class FrameBias(keras.layers.Layer):
    """A learned per-pixel offset added to the decoder's logits, just before the sigmoid.

    Set to logit(mean training frame) before training (`set_frame_statistics`), the decoder outputs
    the mean frame from the first step, so the latent only has to explain how a frame departs
    from it. Without it a static background (a fixed camera) has to be learned through the
    bottleneck and the transposed convolutions, and small latents settle on a blurred mean.
    Broadcast over the batch and, for windows, over time.
    """

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=tuple(input_shape[-3:]), initializer="zeros", name="bias")

    def call(self, inputs):
        return keras.ops.cast(inputs, "float32") + self.bias

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="vaeviewer")
class FrameNorm(keras.layers.Layer):
    """The encoder's input standardisation: (x - mean frame) * scale, in float32.

    `mean` is a per-pixel (H, W, 1) frame and `scale` one number, both non-trainable and saved
    with the model; `set_frame_statistics` sets them from the training frames before training
    (mean frame, 1 / RMS deviation from it). A fresh layer is the identity (mean 0, scale 1).
    Why: in a static-camera clip the background is nearly all of every frame; what moves is a
    few percent of the pixel values. Left as it is, the encoder's features barely differ from
    frame to frame, the first Adam steps switch off most units of its dense layer, and the latent
    stays unused for epochs (measured on OpenCV's vtest.avi). Standardised, what departs from the
    mean frame is what the encoder sees, at unit scale. Broadcast over the batch and, for windows,
    over time.
    """

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.mean = self.add_weight(shape=tuple(input_shape[-3:]), initializer="zeros", trainable=False,
                                    name="mean")
        self.scale = self.add_weight(shape=(), initializer="ones", trainable=False, name="scale")

    def call(self, inputs):
        return (keras.ops.cast(inputs, "float32") - self.mean) * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="vaeviewer")
class ZeroPadEnd(keras.layers.Layer):
    """Zero padding given as ((before, after), ...) per non-batch, non-channel axis, by concatenation.

    Used in front of Conv3D instead of ZeroPadding3D: TF's CPU graph rewrite mishandles
    Pad + Conv3D (wrong 'same' shapes, or a failed remapper that drops all fusions).
    """

    def __init__(self, padding, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = tuple(tuple(int(v) for v in p) for p in padding)

    def call(self, inputs):
        return zero_pad(inputs, [(0, 0), *self.padding, (0, 0)])

    def compute_output_shape(self, input_shape):
        spatial = [None if n is None else n + a + b for n, (a, b) in zip(input_shape[1:-1], self.padding)]
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["padding"] = [list(p) for p in self.padding]
        return config


@keras.saving.register_keras_serializable(package="vaeviewer")
class FoldTime(keras.layers.Layer):
    """(B, T, H, W, C) -> (B*T, H, W, C): run per-frame 2-D layers on every frame at once.

    Cheaper than TimeDistributed (a Python loop over T in Keras 3) and than Conv3D with a
    (1, k, k) kernel (the 2-D oneDNN path fuses bias, activation and the bias gradient).
    """

    def call(self, inputs):
        shape = tf.shape(inputs)
        return tf.reshape(inputs, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))

    def compute_output_shape(self, input_shape):
        b, t = input_shape[0], input_shape[1]
        return (None if b is None or t is None else b * t, *input_shape[2:])


@keras.saving.register_keras_serializable(package="vaeviewer")
class UnfoldTime(keras.layers.Layer):
    """(B*T, H, W, C) -> (B, T, H, W, C), the inverse of FoldTime."""

    def __init__(self, window: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window = int(window)

    def call(self, inputs):
        shape = tf.shape(inputs)
        return tf.reshape(inputs, tf.concat([[shape[0] // self.window, self.window], shape[1:]], axis=0))

    def compute_output_shape(self, input_shape):
        b = input_shape[0]
        return (None if b is None else b // self.window, self.window, *input_shape[1:])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["window"] = self.window
        return config
