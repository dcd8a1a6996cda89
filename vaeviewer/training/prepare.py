"""Preparing a run's data: load the sequences a config names, split them, lay out the windows.

One place for the training session and the app: the app checks a changed setting against the
data it has loaded (`check_fits`) before it stops a running model for it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np

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
    train_streams: Any = None    # StreamPlan (stateful): whole sequences per group, or streams
    split: str = "time"          # the split used ("time", "sequence"; "none" without validation)
    n_sources: int = 0
    intensity: Optional[tuple[float, float]] = None   # (lo, hi) stretched to 0..1 for training, or None

    def n_train_examples(self) -> int:
        """Training examples (windows, frames, or stream windows of the stateful layout)."""
        if self.train_streams is not None:
            return self.train_streams.n_batches() * self.train_streams.batch_size
        return len(self.train_index) if self.train_index is not None else 0

    def steps_per_epoch(self, cfg: RunConfig) -> int:
        """cfg.steps_per_epoch, else one pass over the training data but at least cfg.min_steps_per_epoch."""
        if self.train_streams is not None:
            full = self.train_streams.n_batches()
        else:
            full = math.ceil(len(self.train_index) / cfg.batch_size)
        return cfg.steps_per_epoch if cfg.steps_per_epoch else max(full, cfg.min_steps_per_epoch)

    def train_batches(self, cfg: RunConfig, rng: np.random.Generator) -> Iterator[tuple[bool, np.ndarray]]:
        """(reset the states before it, batch shaped for the model), pass after pass, endlessly.

        The epoch loop takes as many batches as an epoch has, so a small data set is walked again
        (reshuffled, or with fresh state resets) within one epoch.
        """
        from vaeviewer.data import windows as win

        while True:
            if self.train_streams is not None:
                # Whole-sequence groups are drawn afresh each pass (members, order), so the
                # S mod B sequences that sit out a pass differ from pass to pass.
                yield from self.train_streams.batches(self.train, rng)
                continue
            # Full batches only: a short last batch would retrace the compiled step (seconds on
            # a CPU). The order is reshuffled every pass, so no window is left out for good.
            full_only = len(self.train_index) >= cfg.batch_size
            for batch in win.iterate_batches(self.train, self.train_index, cfg.model_window, cfg.batch_size,
                                             shuffle=True, rng=rng, drop_remainder=full_only):
                yield False, model_batch(batch, cfg)


def model_batch(batch: np.ndarray, cfg: RunConfig) -> np.ndarray:
    """windows.gather() gives (B, T, H, W, 1); conv2d takes (B, H, W, 1)."""
    if not cfg.uses_windows:
        return batch.reshape(batch.shape[0], *batch.shape[2:])
    return batch


# Data whose values span less than this share of 0..1 is stretched (intensity "auto").
NARROW_RANGE = 0.5


def value_range(sequences: list) -> tuple[float, float]:
    """Smallest and largest value of the frames, in 0..1 units (uint8 read as /255), chunked."""
    lo, hi = np.inf, -np.inf
    for seq in sequences:
        frames = seq.frames
        scale = 255.0 if frames.dtype == np.uint8 else 1.0
        for i in range(0, len(frames), 4096):
            chunk = frames[i:i + 4096]
            lo, hi = min(lo, float(chunk.min()) / scale), max(hi, float(chunk.max()) / scale)
    return lo, hi


def stretch(sequences: list, lo: float, hi: float) -> list:
    """The sequences with values lo..hi mapped linearly to 0..1 (clipped), dtype kept.

    uint8 frames stay uint8 (0..255, rounded), so memory stays a quarter of float32's.
    """
    out = []
    for seq in sequences:
        frames = seq.frames
        if frames.dtype == np.uint8:
            a, b = lo * 255.0, hi * 255.0
            mapped = np.empty(frames.shape, np.uint8)
            for i in range(0, len(frames), 4096):
                part = (frames[i:i + 4096].astype(np.float32) - a) * (255.0 / (b - a))
                mapped[i:i + 4096] = np.clip(np.rint(part), 0, 255)
        else:
            mapped = np.empty(frames.shape, np.float32)
            for i in range(0, len(frames), 4096):
                mapped[i:i + 4096] = np.clip((frames[i:i + 4096] - lo) / (hi - lo), 0.0, 1.0)
        out.append(dataclasses.replace(seq, frames=mapped))
    return out


def load_run_sequences(cfg: RunConfig, progress: Optional[Callable[[int, int], None]] = None) -> list:
    """The sequences `cfg` names: the demo data or its files (`progress(done, total)` while files load)."""
    if cfg.demo:
        from vaeviewer.data.demo import demo_sequences

        size = cfg.frame_size or (64, 80)
        return demo_sequences(cfg.demo_sequences, cfg.demo_frames, frame_size=size, seed=cfg.seed)
    from vaeviewer.data.sources import load_sequences

    return load_sequences(cfg.paths, cfg.frame_size, progress=progress)


def prepare_data(cfg: RunConfig, sequences: list, note: Optional[Callable[[str], None]] = None,
                 rescale: bool = True) -> PreparedData:
    """Split `sequences`, stretch dim data (cfg.intensity) and index the windows as `cfg` asks.

    `rescale=False` skips the intensity stretch (a layout check only: indices, cheap).

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
    split = resolve_split(cfg, sequences)
    train, valid = win.split_sequences(sequences, cfg.valid_fraction, split, min_frames=min_frames)
    intensity = None
    if rescale and cfg.intensity == "auto":
        # Measured on a dim 16-bit clip (values 0.001..0.01): as loaded, the model ended 22 % above
        # the mean frame's error after 3 epochs (the decoder's output starts at the clipped mean
        # frame, 0.01, and its sigmoid barely moves down there); stretched, 17 % below PCA's.
        lo, hi = value_range(train)
        if hi > lo and hi - lo < NARROW_RANGE:
            intensity = (lo, hi)
            train, valid = stretch(train, lo, hi), stretch(valid, lo, hi)
            if note is not None:
                note(f"intensity: values {lo:.3g}..{hi:.3g} of the training frames stretched to 0..1 for training "
                     "(--intensity none keeps them as loaded)")
    data = PreparedData(train=train, valid=valid, frame_shape=frame_shape, n_sources=len(sequences),
                        intensity=intensity, split=split if valid else "none")
    if cfg.stateful:
        data.train_streams = win.make_stateful_plan(train, t_model, cfg.batch_size)
    else:
        stride = cfg.stride if cfg.uses_windows else 1
        data.train_index = win.make_windows(train, t_model, stride)
    if valid:
        data.valid_index = win.make_windows(valid, t_model, t_model)
    # Said once the layout is known to fit, so a refused setting stays a one-line error.
    if note is not None and valid:
        note(describe_split(cfg, sequences, split, train, valid))
    if note is not None and data.train_streams is not None:
        note(data.train_streams.describe())
    return data


def resolve_split(cfg: RunConfig, sequences: list) -> str:
    """The split `cfg` uses on `sequences`: cfg.split, or for "auto" the one that fits (see
    `windows.choose_split`: by time when every validation part holds two windows and 10 frames,
    else by whole sequences)."""
    from vaeviewer.data import windows as win

    if cfg.split != "auto":
        return cfg.split
    return win.choose_split(sequences, cfg.valid_fraction, max(cfg.window, cfg.model_window))


def describe_split(cfg: RunConfig, sequences: list, split: str, train: list, valid: list) -> str:
    """The console/app line that says which split the run uses and, for auto, why."""
    if split == "sequence":
        text = f"split: by whole sequences, {len(train)} for training and {len(valid)} for validation"
    else:
        n_valid = sum(len(s) for s in valid)
        text = (f"split: by time, the last {cfg.valid_fraction:.0%} of each sequence for validation "
                f"({n_valid} frames in all)")
    if cfg.split == "auto":
        if split == "sequence":
            from vaeviewer.data import windows as win

            shortest = min(sequences, key=len)
            n_valid = int(round(len(shortest) * cfg.valid_fraction))
            window = max(cfg.window, cfg.model_window)
            useful = max(win.USEFUL_VALID_WINDOWS * window, win.USEFUL_VALID_FRAMES)
            text += (f" (auto: by time, the validation part of {shortest.name} would have {n_valid} frames, "
                     f"fewer than {useful} (two windows of {window}, and at least {win.USEFUL_VALID_FRAMES} frames); "
                     "--split time forces a split by time)")
        elif len(sequences) >= 2:
            text += " (auto; --split sequence holds out whole sequences instead)"
        else:
            text += " (auto)"
    return text


def largest_stateful_batch(cfg: RunConfig, sequences: list) -> int:
    """The largest stateful batch size that fits `cfg`'s layout on `sequences`; 0 if none.

    With B <= the number of training sequences every batch row is one whole sequence, so any
    B up to that number fits; with fewer sequences each is cut into B streams of at least one
    window, so B is at most the shortest sequence's windows. The larger of the two.
    """
    from vaeviewer.data import windows as win

    try:
        train, _ = win.split_sequences(sequences, cfg.valid_fraction, resolve_split(cfg, sequences),
                                       min_frames=max(cfg.window, cfg.model_window))
    except VaeViewerError:
        return 0
    if not train:
        return 0
    per_stream = min(len(s) // cfg.model_window for s in train)
    # Streams are used only while B > the number of sequences, so a per-stream limit at or
    # below that number adds nothing beyond the whole-sequence layout.
    return max(len(train), per_stream)


def check_fits(cfg: RunConfig, sequences: list) -> None:
    """Raise VaeViewerError when `cfg` cannot train on `sequences` (validated settings, data layout)."""
    cfg.validate()
    prepare_data(cfg, sequences, rescale=False)
