"""A model's reconstruction of whole sequences, every frame once, in chunks (the API and `export`)."""

from __future__ import annotations

from typing import Iterator

import numpy as np


def reconstruction_chunks(inspector, sequences: list, chunk: int = 64) -> Iterator[tuple[int, int, np.ndarray]]:
    """(sequence index, first frame, reconstructed frames (n, H, W)) along each sequence, every frame once.

    conv2d: frame by frame. Window models: the non-overlapping windows from frame 0, then the
    window ending at the last frame for the frames after the last whole one; a stateful model
    carries its state through the windows (the last, partial window from a reset state).
    """
    from vaeviewer.data.windows import frames_to_float
    from vaeviewer.models import inference

    cfg = inspector.config
    model = inspector.viewer_model()
    t = cfg.model_window
    for i, seq in enumerate(sequences):
        frames = seq.frames
        n = len(frames)
        if not cfg.uses_windows:
            for a in range(0, n, chunk):
                x = frames_to_float(frames[a:a + chunk])[..., None]
                yield i, a, inference.forward(model, x)[2][..., 0]
            continue
        whole = n // t
        if cfg.stateful:
            inference.reset_states(model)
            for k in range(whole):
                x = frames_to_float(frames[k * t:(k + 1) * t]).reshape(1, t, *frames.shape[1:], 1)
                yield i, k * t, inference.forward(model, x)[2][0, ..., 0]
        else:
            per = max(1, chunk // t)
            for k in range(0, whole, per):
                m = min(per, whole - k)
                x = frames_to_float(frames[k * t:(k + m) * t]).reshape(m, t, *frames.shape[1:], 1)
                yield i, k * t, inference.forward(model, x)[2][..., 0].reshape(m * t, *frames.shape[1:])
        if n % t and n >= t:
            if cfg.stateful:
                inference.reset_states(model)
            x = frames_to_float(frames[n - t:n]).reshape(1, t, *frames.shape[1:], 1)
            recon = inference.forward(model, x)[2][0, ..., 0]
            yield i, whole * t, recon[t - n % t:]
        if cfg.stateful:
            inference.reset_states(model)
