"""TensorFlow ops behind the fast decoder: phase taps, zero padding by concatenation, a Conv3D with a
per-tap filter gradient. Used by `vaeviewer.models.subpixel` and `vaeviewer.models.frame_layers`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


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
    """Pad with zeros by concatenation (no Pad op; see subpixel.SubPixelConvTranspose.call)."""
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


def is_same_padding(before: int, after: int) -> bool:
    """Whether a stride-1 window of before + after + 1 taps is padded like TF's 'SAME'."""
    total = before + after
    return before == total // 2 and after == total - total // 2
