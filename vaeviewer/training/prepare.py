"""Preparing a run's data: load the sequences a config names, split them, lay out the windows.

One place for the training session and the app: the app checks a changed setting against the
data it has loaded (`check_fits`) before it stops a running model for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError


@dataclass
class PreparedData:
    """Sequences split into train/validation, and how the model walks over them."""

    train: list
    valid: list
    frame_shape: tuple[int, int]
    train_index: Any = None      # WindowIndex (stateless)
    valid_index: Any = None      # WindowIndex, non-overlapping (stride T) so each frame counts once
    train_streams: Any = None    # StreamPlan (stateful)
    n_sources: int = 0


def load_run_sequences(cfg: RunConfig) -> list:
    """The sequences `cfg` names: the demo data or its files."""
    if cfg.demo:
        from vaeviewer.data.demo import demo_sequences

        size = cfg.frame_size or (64, 80)
        return demo_sequences(cfg.demo_sequences, cfg.demo_frames, frame_size=size, seed=cfg.seed)
    from vaeviewer.data.sources import load_sequences

    return load_sequences(cfg.paths, cfg.frame_size)


def prepare_data(cfg: RunConfig, sequences: list, note: Optional[Callable[[str], None]] = None) -> PreparedData:
    """Split `sequences` and index their windows as `cfg` asks (indices only: cheap).

    Raises:
        VaeViewerError: when the data cannot hold what the settings ask (a window longer than a
            part, too few frames for the stateful streams...), naming the setting to change.
    """
    from vaeviewer.data import windows as win

    if not sequences:
        raise VaeViewerError("no sequences were loaded")
    frame_shape = tuple(int(v) for v in sequences[0].frames.shape[1:3])
    t_model = cfg.model_window
    # The viewer shows `cfg.window` frames even for conv2d, so every part must hold a window.
    min_frames = max(cfg.window, t_model)
    train, valid = win.split_sequences(sequences, cfg.valid_fraction, cfg.split, min_frames=min_frames)
    data = PreparedData(train=train, valid=valid, frame_shape=frame_shape, n_sources=len(sequences))
    if cfg.stateful:
        data.train_streams = win.make_streams(train, t_model, cfg.batch_size)
        if data.train_streams.dropped_frames and note is not None:
            note(f"stateful streams: {data.train_streams.dropped_frames} frames at the ends of sequences do not "
                 "fill a window in every stream and are left out")
    else:
        stride = cfg.stride if cfg.uses_windows else 1
        data.train_index = win.make_windows(train, t_model, stride)
    if valid:
        data.valid_index = win.make_windows(valid, t_model, t_model)
    return data


def largest_stateful_batch(cfg: RunConfig, sequences: list) -> int:
    """The largest batch (streams per sequence) that stateful training with `cfg` fits; 0 if none."""
    from vaeviewer.data import windows as win

    try:
        train, _ = win.split_sequences(sequences, cfg.valid_fraction, cfg.split,
                                       min_frames=max(cfg.window, cfg.model_window))
    except VaeViewerError:
        return 0
    return min((len(s) // cfg.model_window for s in train), default=0)


def check_fits(cfg: RunConfig, sequences: list) -> None:
    """Raise VaeViewerError when `cfg` cannot train on `sequences` (validated settings, data layout)."""
    cfg.validate()
    prepare_data(cfg, sequences)
