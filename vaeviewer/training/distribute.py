"""Pick a tf.distribute strategy: data-parallel over every GPU when there are several."""

from __future__ import annotations

from typing import Any, Optional


def choose_strategy() -> Optional[Any]:
    """MirroredStrategy over all visible GPUs when there are two or more, else None."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) < 2:
        return None
    return tf.distribute.MirroredStrategy([g.name for g in gpus])
