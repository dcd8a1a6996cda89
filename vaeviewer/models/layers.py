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
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def phase_taps(kernel: int, stride: int, input_phases: int = 1, mirrored: bool = False) -> tuple[np.ndarray, int, int]:
    """How a 'same' transposed conv along one axis reads its input, per output phase.

    The input may itself be in phase layout: full-resolution index p * M + b is stored at coarse
    position M, phase b (p = input_phases). The output is produced in phase layout with
    q = stride * p phases: full-resolution index q * M + a. With pad_before = max(kernel -
    stride, 0) // 2 (the forward conv's 'same' padding), output phase a at M reads input phase b
    at M + d through tap k = a + pad_before - stride * b - q * d.

    With ``mirrored`` the same layer is described on reversed input and output (index n - 1 - i
    on both sides): reversing both is a transposed conv with the kernel reversed and the
    'same' crop moved to the other end, pad_before' = kernel - stride - pad_before. For the
    usual kernel 3, stride 2 that turns the window from offsets (-1, 0), which needs an
    explicit Pad, into (0, 1), which is exactly TensorFlow's own 'SAME' padding.

    Returns:
        (selection one-hot array (q, R, p, kernel): output phase a, window offset r = d - d_min,
         input phase b, tap k; pad_before, pad_after of the coarse window, -d_min and d_max).
    """
    pb = max(kernel - stride, 0) // 2
    if mirrored:
        pb = kernel - stride - pb
    q = stride * input_phases
    entries = []
    for a in range(q):
        for b in range(input_phases):
            for k in range(kernel):
                num = a + pb - stride * b - k
                if num % q == 0:
                    entries.append((a, num // q, b, kernel - 1 - k if mirrored else k))
    ds = [d for _, d, _, _ in entries]
    dmin, dmax = min(ds), max(ds)
    sel = np.zeros((q, dmax - dmin + 1, input_phases, kernel), np.float32)
    for a, d, b, k in entries:
        sel[a, d - dmin, b, k] = 1.0
    return sel, -dmin, dmax


def zero_pad(x, paddings):
    """Pad with zeros by concatenation (no Pad op; see SubPixelConvTranspose.call)."""
    for axis, (before, after) in enumerate(paddings):
        if not before and not after:
            continue
        parts = []
        shape = tf.shape(x)
        for n in (before, after):
            if n:
                zshape = tf.concat([shape[:axis], [n], shape[axis + 1:]], axis=0)
                parts.append(tf.zeros(zshape, dtype=x.dtype))
            else:
                parts.append(None)
        pieces = [p for p in (parts[0], x, parts[1]) if p is not None]
        x = tf.concat(pieces, axis=axis)
    return x


def _conv3d_filter_grad_by_taps(x, dy, kernel_shape, padding: str):
    """The filter gradient of a stride-1 Conv3D, as one Conv2D filter gradient per time tap.

    Time is folded into the batch: tap dt of the kernel correlates input frames t + dt with
    output frames t, which is a 2-D filter gradient over B*T frame pairs. Same sum, same
    result up to rounding; see conv3d_stride1 for why it is not left to Conv3DBackpropFilter.
    """
    kt, kh, kw, cin, cout = (int(v) for v in kernel_shape)
    if padding == "SAME":
        before = (kt - 1) // 2
        x = tf.concat([tf.zeros_like(x[:, :1])] * before + [x] + [tf.zeros_like(x[:, :1])] * (kt - 1 - before),
                      axis=1) if kt > 1 else x
    xs, ds = tf.shape(x), tf.shape(dy)
    t_out = ds[1]
    dy_frames = tf.reshape(dy, tf.concat([[ds[0] * t_out], ds[2:]], axis=0))
    taps = []
    for dt in range(kt):
        frames = tf.reshape(x[:, dt:dt + t_out], tf.concat([[xs[0] * t_out], xs[2:]], axis=0))
        taps.append(tf.raw_ops.Conv2DBackpropFilter(
            input=frames, filter_sizes=[kh, kw, cin, cout], out_backprop=dy_frames,
            strides=[1, 1, 1, 1], padding=padding))
    return tf.stack(taps, axis=0)


def conv3d_stride1(x, kernel, padding: str):
    """tf.nn.conv3d with stride 1, whose filter gradient is computed per time tap in 2-D.

    Why: TensorFlow 2.21's oneDNN Conv3DBackpropFilter returns NaN or garbage in bfloat16 for
    some shapes (measured: input (B, T, 32, 40, 64) with T of 1 to 4, kernel (2, 2, 2, 64, C)
    with C of 160 to 512, B >= 4: the sub-pixel stage of conv3d decoders whose window T is
    even). The forward convolution and the input gradient are right; so is the 2-D filter
    gradient. This made conv3d training turn NaN at step 3 for windows 2, 4, 6 and 8 under
    mixed bfloat16. Costs about 1.3x the native filter gradient for this one op.
    """
    if x.dtype != tf.bfloat16:
        return tf.nn.conv3d(x, kernel, strides=[1, 1, 1, 1, 1], padding=padding)

    @tf.custom_gradient
    def conv(x, kernel):
        y = tf.nn.conv3d(x, kernel, strides=[1, 1, 1, 1, 1], padding=padding)

        def grad(dy):
            dx = tf.raw_ops.Conv3DBackpropInputV2(
                input_sizes=tf.shape(x), filter=kernel, out_backprop=dy, strides=[1, 1, 1, 1, 1], padding=padding)
            return dx, _conv3d_filter_grad_by_taps(x, dy, kernel.shape, padding)

        return y, grad

    return conv(x, kernel)


def _is_same_padding(before: int, after: int) -> bool:
    """Whether a stride-1 window of before + after + 1 taps is padded like TF's 'SAME'."""
    total = before + after
    return before == total // 2 and after == total - total // 2


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
        elif all(_is_same_padding(*p) for p in self._pads):
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
