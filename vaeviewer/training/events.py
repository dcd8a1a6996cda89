"""What a training session reports to its listener: small, plain, picklable-free dataclasses.

A listener is any callable taking one event. The GUI turns them into Qt signals; the CLI prints
them; tests collect them in a list. Arrays in events are numpy arrays owned by the event (never
views into live model state), so a listener on another thread may keep them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class RunStarted:
    config: dict[str, Any]          # RunConfig.to_dict()
    device: str                     # e.g. "CPU" or "GPU:0 (NVIDIA H200)"
    precision: str                  # resolved policy: float32, mixed_bfloat16, mixed_float16
    n_sequences: int
    frame_shape: tuple[int, int]
    n_train: int                    # training examples (windows, frames or stream windows)
    n_valid: int
    steps_per_epoch: int
    epochs: int
    train_lengths: list[int] = field(default_factory=list)   # frames per training sequence
    valid_lengths: list[int] = field(default_factory=list)   # frames per validation sequence
    intensity: Optional[tuple[float, float]] = None   # loaded values (lo, hi) stretched to 0..1 for training
    # Where each split part comes from, so views name frames as in the file (0-based). Empty
    # lists (older callers) mean: unknown, number frames within the part.
    train_offsets: list[int] = field(default_factory=list)   # file frame of each part's frame 0
    valid_offsets: list[int] = field(default_factory=list)
    train_sources: list[int] = field(default_factory=list)   # loaded sequence (file) of each part
    valid_sources: list[int] = field(default_factory=list)
    source_names: list[str] = field(default_factory=list)    # per loaded sequence: its name
    source_lengths: list[int] = field(default_factory=list)  # per loaded sequence: frames in it


@dataclass
class Baselines:
    mean_frame_mse: float           # validation MSE of predicting the mean training frame
    pca_mse: float                  # validation MSE of PCA with latent_dim components per frame
    # Window models (conv3d, convlstm): validation MSE of PCA with latent_dim components per
    # window of `window` frames, the baseline at equal budget; None for conv2d.
    window_pca_mse: Optional[float] = None
    window: int = 1


@dataclass
class BatchEnd:
    epoch: int                      # 0-based
    step: int                       # 0-based within the epoch
    global_step: int
    loss: float
    reconstruction: float
    kl: float
    samples_per_s: float
    eta_s: float                    # estimated seconds left in the run


@dataclass
class EpochEnd:
    epoch: int
    train: dict[str, float]         # loss, reconstruction, kl
    valid: dict[str, float]         # loss, reconstruction, kl, mse (empty when no validation)
    seconds: float
    kl_per_dim: Optional[np.ndarray] = None   # (K,) mean KL of each latent dim on validation
    verdict: Any = None             # training.verdict.Verdict for this epoch (None without baselines)


@dataclass
class Snapshot:
    """What the viewer shows: one window in detail, latents for many windows, error timeline."""

    split: str                      # "train" or "valid"
    sequence: int                   # sequence index of the detailed window
    start: int                      # first frame of the detailed window
    inputs: np.ndarray              # (T, H, W) float32 in [0, 1]
    reconstruction: np.ndarray      # (T, H, W) float32
    frame_error: np.ndarray         # (T,) MSE per frame
    latents: Optional[np.ndarray] = None          # (N, K) z_mean for a sample of windows
    latent_split: str = "valid"                   # split the latent rows' (sequence, frame) refer to
    latent_sequence: Optional[np.ndarray] = None  # (N,) sequence index of each latent row
    latent_frame: Optional[np.ndarray] = None     # (N,) first frame of each latent row's window
    timeline_error: Optional[np.ndarray] = None   # (M,) per-frame MSE along the validation data
    timeline_sequence: Optional[np.ndarray] = None  # (M,)
    timeline_frame: Optional[np.ndarray] = None     # (M,)
    kl_per_dim: Optional[np.ndarray] = None
    latent_total: Optional[int] = None            # windows the latent rows were sampled from


@dataclass
class FirstLook:
    """A validation run once during the first epoch, for a first verdict before the epoch ends
    (config.first_look_s). Not a history row; training goes on unchanged."""

    epoch: int                      # 0-based
    step: int                       # batches of this epoch done
    fraction: float                 # of the epoch done
    seconds: float                  # since the run started
    valid: dict[str, float]         # loss, reconstruction, kl, mse
    verdict: Any = None             # training.verdict.Verdict


@dataclass
class RunFinished:
    reason: str                     # "completed", "stopped", "diverged" (NaN/inf), "error"
    message: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    text: str                       # progress text for a status bar (loading data, saving...)


Event = RunStarted | Baselines | BatchEnd | EpochEnd | FirstLook | Snapshot | RunFinished | Message
Listener = Callable[[Event], None]
