"""Benchmarks of the training session: stateful vs stateless, and the session's own overhead."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.training import events as ev
from vaeviewer.training.session import TrainingSession


class _BatchClock:
    """Listener that timestamps every BatchEnd; the rate skips the first (tracing) batch."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.sizes: list[int] = []
        self.batch_size = 0

    def __call__(self, event: Any) -> None:
        if isinstance(event, ev.BatchEnd):
            self.times.append(time.perf_counter())

    def rate(self, batch_size: int) -> float:
        if len(self.times) < 3:
            return 0.0
        return (len(self.times) - 1) * batch_size / (self.times[-1] - self.times[0])


def _session_rate(cfg: RunConfig) -> float:
    clock = _BatchClock()
    TrainingSession(cfg, clock).run()
    return clock.rate(cfg.batch_size)


def bench_stateful(steps: int = 40, quick: bool = False) -> dict[str, Any]:
    """Stateful ConvLSTM samples/s as a ratio of stateless on the same non-overlapping windows."""
    steps = 8 if quick else steps
    base = RunConfig(demo=True, demo_sequences=2, demo_frames=1000, variant="convlstm", window=10, stride=10,
                     batch_size=8, epochs=1, steps_per_epoch=steps, valid_fraction=0.2, snapshot_interval_s=3600.0)
    stateless = _session_rate(base)
    stateful = _session_rate(base.replace(stateful=True))
    return {"stateless_samples_per_s": stateless, "stateful_samples_per_s": stateful,
            "stateful_over_stateless": stateful / stateless if stateless else None, "target": ">= 0.9"}


def bench_session_overhead(steps: int = 60, quick: bool = False) -> dict[str, Any]:
    """Session samples/s (with its events, prefetch and 1 s snapshots) over a bare `model.fit`."""
    import keras

    from vaeviewer.models import builders, precision
    from vaeviewer.data.windows import frames_to_float

    steps = 10 if quick else steps
    cfg = RunConfig(demo=True, demo_sequences=2, demo_frames=1500, variant="conv2d", batch_size=64, epochs=1,
                    steps_per_epoch=steps, valid_fraction=0.2, snapshot_interval_s=1.0)
    session_rate = _session_rate(cfg)

    # The bare reference: the same model, the same frames, as one array handed to fit().
    from vaeviewer.data.demo import demo_sequences

    precision.apply_precision(cfg.precision)
    model = builders.build_from_config(cfg, (64, 80))
    frames = np.concatenate([s.frames for s in demo_sequences(2, 1500, seed=cfg.seed)])
    x = frames_to_float(frames[: steps * cfg.batch_size + cfg.batch_size])[..., None]
    clock = _BatchClock()

    class Stamp(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            clock.times.append(time.perf_counter())

    model.fit(x, batch_size=cfg.batch_size, epochs=1, steps_per_epoch=steps, shuffle=True, verbose=0, callbacks=[Stamp()])
    fit_rate = clock.rate(cfg.batch_size)
    keras.mixed_precision.set_global_policy("float32")
    return {"session_samples_per_s": session_rate, "fit_samples_per_s": fit_rate,
            "overhead": 1 - session_rate / fit_rate if fit_rate else None, "target": "<= 0.05"}
