"""Numeric precision: map the user's choice to a Keras dtype policy and describe the device.

`auto` picks what is fast *and* safe on the machine at hand:

- a visible GPU -> ``mixed_float16`` (tensor cores; the optimizer gets a loss scale),
- a CPU with native bfloat16 (Intel AMX or AVX512-BF16; oneDNN then runs the convolutions and
  matrix products in bf16) -> ``mixed_bfloat16`` (same exponent range as float32: no loss scale),
- anything else -> ``float32`` (emulated bf16 would be slower than float32).

Under a mixed policy the variables stay float32; the VAE computes its loss, sampling and KL in
float32 (see `vaeviewer.models.base`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import keras

from vaeviewer.errors import VaeViewerError

PRECISION_TO_POLICY = {
    "float32": "float32",
    "bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
}

_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo_path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The feature flags of the first CPU listed in /proc/cpuinfo (empty where unreadable)."""
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags") and ":" in line:
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_model_name(cpuinfo_path: str = "/proc/cpuinfo") -> str:
    """The CPU's model name from /proc/cpuinfo, or '' where unreadable."""
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name") and ":" in line:
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return ""


def cpu_has_native_bf16(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU computes bfloat16 natively (AMX or AVX512-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in _BF16_FLAGS)


@functools.lru_cache(maxsize=1)
def _gpus() -> tuple:
    try:
        import tensorflow as tf

        return tuple(tf.config.list_physical_devices("GPU"))
    except Exception:  # no TF, or a broken driver: behave as CPU-only
        return ()


def gpu_visible() -> bool:
    """True when TensorFlow sees at least one GPU."""
    return bool(_gpus())


def resolve_precision(name: str) -> str:
    """Map 'auto' | 'float32' | 'bfloat16' | 'float16' to a Keras dtype-policy name.

    Raises:
        VaeViewerError: for any other name.
    """
    if name in PRECISION_TO_POLICY:
        return PRECISION_TO_POLICY[name]
    if name != "auto":
        raise VaeViewerError(
            f"setting precision: {name!r} is not one of auto, float32, bfloat16, float16"
        )
    if gpu_visible():
        return "mixed_float16"
    if cpu_has_native_bf16():
        return "mixed_bfloat16"
    return "float32"


def apply_precision(name: str) -> str:
    """Set the global Keras dtype policy for `name` (see resolve_precision); return the policy name.

    Models must be built *after* this call: a layer takes its policy when it is created.
    """
    policy = resolve_precision(name)
    keras.mixed_precision.set_global_policy(policy)
    return policy


@contextlib.contextmanager
def precision_scope(name: str) -> Iterator[str]:
    """Apply a precision for the duration of a `with` block, then restore the previous policy."""
    previous = keras.mixed_precision.global_policy().name
    try:
        yield apply_precision(name)
    finally:
        keras.mixed_precision.set_global_policy(previous)


@contextlib.contextmanager
def policy_scope(policy: str) -> Iterator[str]:
    """Set a Keras policy name (e.g. 'mixed_bfloat16') for a `with` block, then restore."""
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(previous)


def device_description() -> str:
    """One line naming the compute device, e.g. 'CPU (AMX bf16)' or 'GPU:0 NVIDIA H200'."""
    gpus = _gpus()
    if gpus:
        name = ""
        try:
            import tensorflow as tf

            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
        except Exception:
            pass
        more = f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else ""
        return f"GPU:0 {name}".rstrip() + more
    flags = cpu_flags()
    if "amx_bf16" in flags:
        kind = "CPU (AMX bf16)"
    elif "avx512_bf16" in flags:
        kind = "CPU (AVX512-BF16)"
    else:
        kind = "CPU"
    model = cpu_model_name()
    return f"{kind} {model}".rstrip()
