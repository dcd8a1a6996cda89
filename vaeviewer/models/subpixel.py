"""Transposed convolutions computed as sub-pixel convolutions: same weights, same function, faster.

`SubPixelConvTranspose` is a drop-in for Keras' Conv2DTranspose / Conv3DTranspose with
padding='same' (same kernel layout (*k, out, in), same bias, same outputs up to rounding). It
rewrites a stride-s transposed convolution as one ordinary stride-1 convolution producing
prod(s) x filters channels (one group per output phase, the kernel taps scattered into place),
followed by a pixel shuffle.

Why: on CPU, TensorFlow's oneDNN graph rewrite fuses Conv + BiasAdd + ReLU (and the bias gradient
into the filter gradient) but not Conv*BackpropInput* (the op behind a transposed convolution);
under mixed bfloat16 the unfused BiasAdd, ReLU and BiasAddGrad run as slow element-wise bf16
kernels over the decoder's largest tensors and cost more than the convolutions themselves.
The sub-pixel form does a little more multiply-add work (zeros in the phase kernels), which AMX
absorbs easily, and lets every one of those element-wise passes fuse.

`MirroredDense` is the decoder's first layer in the mirrored layout these stages read.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from vaeviewer.models.conv_ops import conv3d_stride1, is_same_padding, phase_taps, zero_pad


@keras.saving.register_keras_serializable(package="vaeviewer")
class SubPixelConvTranspose(keras.layers.Layer):
    """A 'same'-padded 2-D or 3-D transposed convolution computed as conv + pixel shuffle.

    Two of these can be chained without the pixel shuffle in between: the first with
    ``shuffle=False`` returns its output in phase layout (B, *n, prod(s) * filters), channels
    ordered (phase..., channel), and the next one takes it with ``input_phases=s``. The decoders
    use this for the last upsampling stage and the 1-channel output layer, whose filter gradient
    is slow on a full-resolution 1-channel tensor and fast on the phase layout.

    Args:
        filters: output channels.
        kernel_size: int or tuple (one per spatial axis).
        strides: int or tuple (one per spatial axis).
        rank: 2 for (B, H, W, C) inputs, 3 for (B, T, H, W, C).
        activation: applied after the bias (fused with the convolution where the backend can).
        input_phases: the phase factor of an input in phase layout (1: an ordinary input).
        shuffle: False to return the output in phase layout.
        mirrored: the input and output are stored reversed along every spatial axis; the
            weights keep Keras' layout and meaning. A stride-2 'same' layer then needs no Pad op
            in front (and no Slice in its gradient): TF's own 'SAME' padding is exactly the
            window it reads. The decoders run all their stages mirrored.
        reverse_input, reverse_output: reverse the spatial axes of the input before / of the
            output after the layer (to enter and leave the mirrored stages). Inside the layer
            rather than as layers of their own, so that a model's layers, and the order of its
            weights, are the same as with Keras' stock layers.
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        rank: int = 2,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        input_phases=1,
        shuffle: bool = True,
        mirrored: bool = False,
        reverse_input: bool = False,
        reverse_output: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.rank = int(rank)
        if self.rank not in (2, 3):
            raise ValueError("rank must be 2 or 3")
        self.filters = int(filters)
        self.kernel_size = self._tuple(kernel_size)
        self.strides = self._tuple(strides)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_phases = self._tuple(input_phases)
        self.shuffle = bool(shuffle)
        self.mirrored = bool(mirrored)
        self.reverse_input = bool(reverse_input)
        self.reverse_output = bool(reverse_output)
        if any(p > 1 and s > 1 for p, s in zip(self.input_phases, self.strides)):
            raise ValueError("input_phases > 1 is supported for stride-1 axes only")
        self.phases = tuple(s * p for s, p in zip(self.strides, self.input_phases))
        taps = [phase_taps(k, s, p, self.mirrored)
                for k, s, p in zip(self.kernel_size, self.strides, self.input_phases)]
        self._selections = [t[0] for t in taps]
        self._pads = [(t[1], t[2]) for t in taps]

    def _tuple(self, value) -> tuple[int, ...]:
        if isinstance(value, int):
            return (value,) * self.rank
        value = tuple(int(v) for v in value)
        if len(value) != self.rank:
            raise ValueError(f"expected {self.rank} values, got {value}")
        return value

    def build(self, input_shape):
        in_channels = int(input_shape[-1]) // int(np.prod(self.input_phases))
        # Same layout as Conv{2,3}DTranspose: (*kernel, out_channels, in_channels).
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, self.filters, in_channels),
            initializer=self.kernel_initializer,
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
        else:
            self.bias = None
        self._kernel_index = self._phase_kernel_index(in_channels)

    def compute_output_shape(self, input_shape):
        if not self.shuffle:
            return (*input_shape[:-1], int(np.prod(self.phases)) * self.filters)
        spatial = [None if n is None else n * q for n, q in zip(input_shape[1:-1], self.phases)]
        return (input_shape[0], *spatial, self.filters)

    def _phase_kernel_index(self, in_channels: int) -> np.ndarray:
        """For each entry of the stride-1 phase kernel, 1 + the flat index of the kernel weight it
        copies, or 0 for a structural zero. Shape (*R, in-phases x in, out-phases x out), channels
        ordered (phase..., channel)."""
        index = np.arange(1, int(np.prod(self.kernel_size)) * self.filters * in_channels + 1, dtype=np.float64)
        index = index.reshape(*self.kernel_size, self.filters, in_channels)
        sels = [s.astype(np.float64) for s in self._selections]
        # per axis sel: (out phase, window, in phase, tap); kernel: (*taps, out, in). One-hot
        # selections: every phase-kernel entry is exactly one weight or zero.
        if self.rank == 2:
            k = np.einsum("arxk,bcyj,kjoi->rcxyiabo", *sels, index)
        else:
            k = np.einsum("auxs,brym,dczj,smjoi->urcxyziabdo", *sels, index)
        windows = [s.shape[1] for s in self._selections]
        shape = (*windows, int(np.prod(self.input_phases)) * in_channels, int(np.prod(self.phases)) * self.filters)
        return np.rint(k).astype(np.int32).reshape(shape)

    def _phase_kernel(self):
        """The stride-1 phase kernel, gathered from the transposed-conv kernel (cheap, exact)."""
        flat = ops.reshape(ops.cast(self.kernel, self.compute_dtype), (-1,))
        flat = ops.concatenate([ops.zeros((1,), dtype=flat.dtype), flat], axis=0)
        return tf.gather(flat, self._kernel_index)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        spatial = list(range(1, self.rank + 1))
        if self.reverse_input:
            x = tf.reverse(x, axis=spatial)
        kernel = self._phase_kernel()
        paddings = [[0, 0]] + [list(p) for p in self._pads] + [[0, 0]]
        if all(p == [0, 0] for p in paddings):
            padding = "VALID"
        elif all(is_same_padding(*p) for p in self._pads):
            padding = "SAME"  # stride 1: TF's 'SAME' is exactly this window's padding
        elif self.rank == 2:
            # Not conv2d's explicit padding: TF's oneDNN path does not take it (falls back to
            # Eigen, 100x slower); Pad + VALID is fused into the oneDNN convolution.
            x = tf.pad(x, paddings)
            padding = "VALID"
        else:
            # For Conv3D a Pad op in front makes TF's graph remapper fail on the gradient graph
            # ("fanout ... exist for missing node .../Pad"), and a failed remapper drops every
            # fusion in the step; zeros concatenated in are left alone.
            x = zero_pad(x, paddings)
            padding = "VALID"
        if self.rank == 2:
            y = tf.nn.conv2d(x, kernel, strides=1, padding=padding)
        else:
            y = conv3d_stride1(x, kernel, padding)
        phases = int(np.prod(self.phases))
        if self.use_bias:
            y = tf.nn.bias_add(y, tf.tile(ops.cast(self.bias, y.dtype), [phases]))
        if self.activation is not None:
            y = self.activation(y)
        if phases > 1 and self.shuffle:
            y = self._shuffle(y)
        if self.reverse_output:
            y = tf.reverse(y, axis=spatial)
        return y

    def _shuffle(self, y):
        """(B, *n, prod(s) * C) with channels ordered (a_0.., C) -> (B, *(n * s), C)."""
        shape = tf.shape(y)
        n = [shape[1 + i] for i in range(self.rank)]
        y = tf.reshape(y, [shape[0], *n, *self.phases, self.filters])
        if self.rank == 2:
            y = tf.transpose(y, [0, 1, 3, 2, 4, 5])
        else:
            y = tf.transpose(y, [0, 1, 4, 2, 5, 3, 6, 7])
        return tf.reshape(y, [shape[0], *[ni * q for ni, q in zip(n, self.phases)], self.filters])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "rank": self.rank,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "input_phases": self.input_phases,
                "shuffle": self.shuffle,
                "mirrored": self.mirrored,
                "reverse_input": self.reverse_input,
                "reverse_output": self.reverse_output,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="vaeviewer")
class MirroredDense(keras.layers.Dense):
    """A Dense layer whose output, read as a grid (*spatial, channels), comes out mirrored.

    Same weights, same meaning as a plain Dense followed by Reshape(grid) and a reversal of the
    grid's spatial axes (what SubPixelConvTranspose(mirrored=True) reads). The reversal is applied
    to the kernel's and bias's columns (a few thousand values per step) instead of to the
    activation (batch times as many).
    """

    def __init__(self, units: int, grid, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.grid = tuple(int(v) for v in grid)
        if int(np.prod(self.grid)) != self.units:
            raise ValueError(f"grid {self.grid} does not hold {self.units} units")

    def _mirrored(self, weight, lead: tuple[int, ...]):
        w = tf.reshape(ops.cast(weight, self.compute_dtype), (*lead, *self.grid))
        w = tf.reverse(w, axis=[len(lead) + i for i in range(len(self.grid) - 1)])
        return tf.reshape(w, (*lead, self.units))

    def call(self, inputs):
        kernel = self._mirrored(self.kernel, (int(self.kernel.shape[0]),))
        y = ops.matmul(ops.cast(inputs, self.compute_dtype), kernel)
        if self.use_bias:
            y = ops.add(y, self._mirrored(self.bias, ()))
        return self.activation(y) if self.activation is not None else y

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["grid"] = list(self.grid)
        return config
